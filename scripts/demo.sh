#!/usr/bin/env bash
# Set up (first run only) and run the demo: local model, embedded Chroma, fully offline.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh local
# shellcheck disable=SC1091
. .venv/bin/activate
exec memory-agent demo "$@"
