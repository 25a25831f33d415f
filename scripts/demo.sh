#!/usr/bin/env bash
# One command for the README's main job: set up what a fresh machine lacks (the same steps as
# .ci/run, without the tests), then build examples/flask-app with the buildpack through the real
# CNB lifecycle and serve it on http://127.0.0.1:${PORT:-8080}/ (scripts/demo.ts says how).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
npm run build --silent
npx esbuild scripts/demo.ts --bundle --platform=node --target=node20 --log-level=warning --outfile=.cache/demo/demo.js
# Two levels below the repo root, like test/helpers/, whose __dirname-relative paths it bundles.
exec node .cache/demo/demo.js
