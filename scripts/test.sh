#!/usr/bin/env bash
# npm test: every test there is. Type-check, unit tests (mocha), CLI tests against the
# built bundle, integration tests inside a real VS Code, and the end-to-end UI test.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n== %s\n' "$*"; }

step "type-check (tsc --noEmit)"
npx --no-install tsc --noEmit -p .
step "build"
node scripts/build.mjs
step "example project virtualenv"
bash scripts/setup-example.sh
step "unit and CLI tests (mocha)"
npx --no-install mocha
step "integration tests in a real VS Code"
node test/vscode/launch.mjs
step "end-to-end UI test"
node test/e2e/ui.mjs
