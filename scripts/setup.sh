#!/usr/bin/env bash
# Create .venv (if missing) and install memory-agent into it with the given extras.
# Usage: bash scripts/setup.sh local,dev
# Needs only PyPI. llama-cpp-python compiles from source (~5 min the first time; pip caches it).
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-local}"
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv with ${PYTHON:-python3}"
  "${PYTHON:-python3}" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
export CMAKE_ARGS="${CMAKE_ARGS:--DLLAVA_BUILD=OFF}"   # text-only llama.cpp: faster build
echo "==> installing memory-agent[${extras}] and langchain-memory-agent (llama-cpp-python compiles on first install: ~5 min)"
python -m pip install --progress-bar off -e ".[${extras}]" -e "integrations/langchain[test]" 2>&1 \
  | grep -Ev "^(Requirement already satisfied|  Using cached|WARNING: Location)" || true
python -c "import memory_agent" || { echo "install failed"; exit 1; }
