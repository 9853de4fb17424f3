#!/usr/bin/env bash
# The whole retrieval benchmark in one command: ingest (real model, resumable), evidence
# recall (default and small-profile budget split), answer F1, latency, tables and plots.
#   bash benchmarks/run_retrieval.sh [DATA_DIR] [THREADS]
# DATA_DIR holds locomo/locomo_dev.json and realtalk/Chat_*.json (default ../shared/data).
# Slow on 2 cores (hours: about 1 min per session to ingest, ~20 s per answer); every step
# caches its work under benchmarks/cache/, so an interrupted run resumes where it stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:-../shared/data}"
threads="${2:-1}"
py=".venv/bin/python"
split='{"profile_share": 0.2, "node_share": 0.1}'
for dataset in locomo realtalk; do
  echo "==> $dataset: ingest"
  "$py" -m benchmarks.ingest --dataset "$dataset" --data "$data" --threads "$threads"
  echo "==> $dataset: evidence recall"
  "$py" -m benchmarks.eval_retrieval --dataset "$dataset" --data "$data"
  "$py" -m benchmarks.eval_retrieval --dataset "$dataset" --data "$data" --config "$split" \
    --label "$dataset (profile_share 0.2, node_share 0.1)"
  echo "==> $dataset: answer F1"
  "$py" -m benchmarks.eval_answers --dataset "$dataset" --data "$data" --threads "$threads"
done
echo "==> latency"
"$py" -m benchmarks.bench_latency --sizes 100 1000 10000 --queries 60
echo "==> tables and plots"
"$py" -m benchmarks.report
