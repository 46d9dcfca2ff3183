#!/usr/bin/env bash
# npm start: on a fresh machine, builds Heavy Dev, prepares the bundled example project
# and runs the main job on it: its profiles, its tests, and the .vsix to install.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
node scripts/build.mjs
bash scripts/setup-example.sh
example=test/fixtures/example

echo
echo "== heavy profiles --root $example"
node dist/heavy.js profiles --root "$example"

echo
echo "== the example's tests, through the warm test daemon (heavy test)"
node dist/heavy.js test --root "$example" -q
echo
# dist/heavy.js itself, as `npm link` installs it (its launcher line skips Node's CA bundle parsing).
echo "== again, warm: one test"
time dist/heavy.js test --root "$example" -q tests/test_logic.py::test_slugify
sleep 1
echo
echo "== the same test once more: the daemon prepared pytest for it (a primed run)"
time dist/heavy.js test --root "$example" -q tests/test_logic.py::test_slugify
node dist/heavy.js daemon status --root "$example"
node dist/heavy.js daemon stop --root "$example"

echo
echo "== packaging"
npm run --silent package >/dev/null
echo "Built dist/heavy-dev.vsix. Install it with:"
echo "    code --install-extension dist/heavy-dev.vsix"
echo "then open $example (or your own project) and look in Run and Debug."
