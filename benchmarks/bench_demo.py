"""Wall time and peak memory of `memory-agent demo` on the default local model.

Runs the demo in a child process with a fresh data directory and records its wall time, its
peak resident memory (ru_maxrss of the child: model + Chroma + embedder), the model calls it
made, and how many memory questions it answered with and without memory.

    python -m benchmarks.bench_demo [--model qwen2.5-1.5b]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.lib.paths import RESULTS
from benchmarks.lib.results import describe, write_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=None)
    parser.add_argument("--out", type=Path, default=RESULTS / "demo.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "MEMORY_AGENT_HOME": home}
        command = [sys.executable, "-m", "memory_agent.apps.cli"]
        if args.model:
            command += ["--model", args.model]
        command.append("demo")
        started = time.perf_counter()
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
        lines = []
        assert proc.stdout is not None
        for line in proc.stdout:  # show the demo as it runs
            print(line, end="", flush=True)
            lines.append(line)
        status = proc.wait()
        wall = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    output = "".join(lines)
    found = re.search(r"Remembered: (\d+)/(\d+) with memory, (\d+)/\d+ without", output)
    result = {
        "what": ("memory-agent demo, end to end "
                 "(model load, 3 sessions of updates, 4 questions x 2 answers)"),
        "exit_status": status,
        "wall_seconds": round(wall, 1),
        "peak_rss_mb": round(peak_mb),
        "remembered_with_memory": int(found.group(1)) if found else None,
        "remembered_without_memory": int(found.group(3)) if found else None,
        "questions": int(found.group(2)) if found else None,
        "model": args.model or "qwen2.5-1.5b (default)",
        "targets": {"wall_seconds": "< 300", "peak_rss_mb": "<= 2560"},
        **describe(),
    }
    write_json(args.out, result, indent=2)
    summary_keys = ("wall_seconds", "peak_rss_mb",
                    "remembered_with_memory", "remembered_without_memory")
    print(json.dumps({k: result[k] for k in summary_keys}))
    sys.exit(status)


if __name__ == "__main__":
    main()
