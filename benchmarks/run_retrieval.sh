#!/usr/bin/env bash
# The whole retrieval benchmark in one command: ingest (real model, resumable), evidence
# recall and answer coverage (every method; recall's settings side by side on the tuning
# and the check half), answer F1, latency, tables and plots.
#   bash benchmarks/run_retrieval.sh [DATA_DIR] [THREADS]
# DATA_DIR holds locomo/locomo_dev.json and realtalk/Chat_*.json (default ../shared/data).
# Slow on 2 cores (hours: about 1 min per session to ingest, ~20 s per answer); every step
# caches its work under benchmarks/cache/, so an interrupted run resumes where it stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:-../shared/data}"
threads="${2:-1}"
bash scripts/setup.sh local,dev,bench   # bench: matplotlib, for the plots
py=".venv/bin/python"
# the settings compared on the tuning half (docs/benchmarks.md, "The candidate pool")
grid='[{"node_weight": 0, "session_weight": 0, "expand_sessions": 0}, {}, {"node_weight": 1.0, "session_weight": 0.5}, {"session_weight": 0.1}, {"node_weight": 0}, {"session_weight": 0}, {"profile_share": 0.4, "node_share": 0.25}, {"profile_share": 0.15}]'
for dataset in locomo realtalk; do
  echo "==> $dataset: ingest"
  "$py" -m benchmarks.ingest --dataset "$dataset" --data "$data" --threads "$threads"
  echo "==> $dataset: evidence recall"
  "$py" -m benchmarks.eval_retrieval --dataset "$dataset" --data "$data"
  for half in tune check; do
    "$py" -m benchmarks.tune_recall --dataset "$dataset" --data "$data" --half "$half" --grid "$grid"
  done
  for half in tune check; do
    echo "==> $dataset: answer F1 ($half half)"
    "$py" -m benchmarks.eval_answers --dataset "$dataset" --data "$data" --threads "$threads" \
      --half "$half" --systems no_memory,flat,tree
  done
done
echo "==> latency"
"$py" -m benchmarks.bench_latency --sizes 100 1000 10000 --queries 60
echo "==> tables and plots"
"$py" -m benchmarks.report
