#!/usr/bin/env bash
# Set up (first run only) and run every test, including those on the real local model
# and real Chroma (embedded and server). Extra arguments go to pytest, e.g. one lane alone
# (every test is in exactly one; see docs/testing.md):
#   bash scripts/test.sh -m unit          # fakes only, seconds
#   bash scripts/test.sh -m integration   # real Chroma (embedded, server) and E5
#   bash scripts/test.sh -m real          # the real local model; slow
#   bash scripts/test.sh -m crash         # crash trials (tests/test_crash_*.py)
#   bash scripts/test.sh -m packaging     # wheel built and installed in a clean venv
#   bash scripts/test.sh -m "not real"    # everything but the real model
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh local,dev,inspect
# shellcheck disable=SC1091
. .venv/bin/activate
echo "==> ruff and mypy (strict) on the core and the LangChain integration"
ruff check memory_agent tests benchmarks integrations/langchain
mypy memory_agent
(cd integrations/langchain && mypy)
echo "==> pytest"
set +e
python -m pytest -ra "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then   # pytest: no tests were collected (e.g. a -k filter matched none)
  echo "pytest collected no tests (exit 5); treating as success"
  exit 0
fi
exit "$status"
