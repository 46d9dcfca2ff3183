#!/usr/bin/env bash
# Creates the example project's virtualenv (test/fixtures/example/.venv) with its
# requirements. Skips the work when the requirements have not changed.
set -euo pipefail
cd "$(dirname "$0")/../test/fixtures/example"
PY="${PYTHON:-python3}"
stamp=".venv/.heavy-requirements"
want="$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)"
if [ -x .venv/bin/python ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
echo "Preparing the example project's virtualenv (.venv)..." >&2
"$PY" -m venv .venv
# pypi.org is out of reach on these machines: fail over to the configured mirror at once.
log="$(mktemp)"
if ! .venv/bin/python -m pip install --retries 0 --disable-pip-version-check -r requirements-dev.txt >"$log" 2>&1; then
  cat "$log" >&2; rm -f "$log"; exit 1
fi
rm -f "$log"
echo "$want" > "$stamp"
