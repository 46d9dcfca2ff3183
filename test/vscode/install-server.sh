#!/usr/bin/env bash
# Installs the VS Code server shipped in the npm package code-server into a cache
# folder, without its install scripts (they download from the internet), and builds
# its native modules against the local Node. Idempotent: a finished install is kept.
set -euo pipefail
VERSION="${CODE_SERVER_VERSION:-4.100.3}"
DIR="${HEAVY_VSCODE_SERVER_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/.vscode-test/code-server-$VERSION}"
STAMP="$DIR/.installed"
if [ -f "$STAMP" ]; then echo "$DIR"; exit 0; fi
mkdir -p "$DIR"
echo "installing code-server $VERSION into $DIR" >&2
npm install --no-save --no-package-lock --prefix "$DIR" --ignore-scripts "code-server@$VERSION" >&2
cd "$DIR/node_modules/code-server/lib/vscode"
npm install --omit=dev --ignore-scripts --no-package-lock >&2
for m in node-pty @parcel/watcher @vscode/spdlog kerberos native-watchdog @vscode/deviceid; do
  if [ -d "node_modules/$m" ]; then
    (cd "node_modules/$m" && npx --yes node-gyp rebuild >&2)
  fi
done
mkdir -p node_modules/@vscode/ripgrep/bin
cp "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
ln -sfn node_modules node_modules.asar
touch "$STAMP"
echo "$DIR"
