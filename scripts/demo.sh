#!/usr/bin/env bash
# One command for the README's main job: `bash scripts/demo.sh [APP_DIR]` sets up what a fresh
# machine lacks (scripts/setup.sh, npm run package, scripts/setup-pack.sh: podman, pack, the
# builders), `pack build`s APP_DIR (default examples/flask-app) with the full builder through
# podman, runs the image with `podman run --network host` and serves it on
# http://127.0.0.1:${PORT:-8080}/ (scripts/demo-pack.ts says how).
# Fallback, for machines where no container engine can run (setup-pack.sh fails): the same app
# built by the real CNB lifecycle on host directories and started by its launcher
# (scripts/demo.ts); the demo says so when it falls back. DEMO_HOST_LIFECYCLE=1 forces it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
APP_DIR="$(realpath "${1:-examples/flask-app}")"
[ -d "$APP_DIR" ] || { echo "demo: $APP_DIR is not a directory (usage: bash scripts/demo.sh [APP_DIR])" >&2; exit 2; }
bash scripts/setup.sh
bundle() { # <entry> <out>: two levels below the repo root, like test/, whose __dirname-relative paths it bundles
  npx esbuild "$1" --bundle --platform=node --target=node20 --log-level=warning --outfile="$2"
}
if [ "${DEMO_HOST_LIFECYCLE:-0}" != 1 ]; then
  npm run package --silent
  if bash scripts/setup-pack.sh; then
    # shellcheck source=scripts/pack-env.sh
    . scripts/pack-env.sh
    trap 'pack_services_stop' EXIT
    pack_services_start
    bundle scripts/demo-pack.ts .cache/demo/demo-pack.js
    node .cache/demo/demo-pack.js "$APP_DIR"
    exit $?
  fi
  echo "demo: no usable container engine here (scripts/setup-pack.sh failed, see above): falling back to the host-directory lifecycle" >&2
fi
echo "demo: building with the real CNB lifecycle on host directories (fallback; no container engine)" >&2
npm run build --silent
bundle scripts/demo.ts .cache/demo/demo.js
exec node .cache/demo/demo.js "$APP_DIR"
