#!/usr/bin/env bash
# Set up (first run only) and run the demo: local model, embedded Chroma, fully offline.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh local,inspect   # inspect: so `memory-agent inspect` works after it
# shellcheck disable=SC1091
. .venv/bin/activate
exec memory-agent demo "$@"
