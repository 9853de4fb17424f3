"""What the upkeep after a session costs, before and after a change, measured alternately.

Two worker processes (``benchmarks/upkeep_worker.py``) each run one version of memory-agent:
*before* from another checkout (``--before``, e.g. main's, by ``PYTHONPATH``), *after* from
this one. Both record and end the same sessions, in turn (A,B then B,A for the next
session, so contention on a shared machine hits both alike), with an in-memory store and
the hashing embedder (so the figures are the model's and the upkeep's, not E5's). Per
session: model calls, prompt tokens (in full and as evaluated by llama.cpp, which reuses
the previous prompt's prefix), generated tokens, model seconds, wall seconds.

- **real**: the first ``--sessions`` sessions of one LoCoMo conversation on the local model;
- **growth**: ``--growth`` synthetic sessions (ten exchanges each, four days apart) with the
  fake model, counting calls per session: how cost changes with the size of the history
  is a property of the structure, not of the model.

    python -m benchmarks.bench_upkeep --threads 1 --before /work/main
    python -m benchmarks.bench_upkeep --growth-only --before /work/main   # fake model only
    python -m benchmarks.bench_upkeep --growth-real 50 --threads 2   # one long real history

``--growth-real N`` runs this checkout alone on the first N sessions of the dev
conversations chained as one user's history (``chained_sessions``), and reports the first
and last fifth: does a session cost more when much is already stored?

Writes ``benchmarks/results/upkeep.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from benchmarks.datasets import exchanges, load
from benchmarks.lib.paths import BENCHMARKS, DEFAULT_DATA, RESULTS
from benchmarks.lib.results import describe, write_json

WORKER = BENCHMARKS / "upkeep_worker.py"
HERE = BENCHMARKS.parent  # this checkout
METRICS = ("calls", "prompt_tokens", "prefill_tokens", "completion_tokens", "model_seconds",
           "wall_seconds")

Exchanges = list[tuple[str, str, str]]


class Worker:
    """One worker process running the memory-agent found at ``root``."""

    def __init__(self, name: str, root: Path, args: Sequence[str]) -> None:
        self.name = name
        paths = [str(root), str(root / "integrations" / "langchain")]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
        self.process = subprocess.Popen(
            [sys.executable, str(WORKER), *args], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, env=env, cwd=str(root))
        self.ready = self._read()

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("@@"):
                return dict(json.loads(line[2:]))
        msg = f"worker {self.name} ended (exit {self.process.wait()})"
        raise RuntimeError(msg)

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return self._read()

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
        self.process.stdin.close()
        self.process.wait(timeout=120)


def alternate(workers: Sequence[Worker], sessions: Sequence[tuple[str, Exchanges]],
              *, verbose: bool = True) -> dict[str, list[dict[str, Any]]]:
    """Each session to every worker, the order reversed from one session to the next."""
    rows: dict[str, list[dict[str, Any]]] = {w.name: [] for w in workers}
    for i, (session_id, turns) in enumerate(sessions):
        for worker in workers if i % 2 == 0 else list(reversed(workers)):
            row = worker.ask({"cmd": "session", "id": session_id, "exchanges": turns})
            row["exchanges"] = len(turns)
            rows[worker.name].append(row)
            if verbose:
                print(f"  {worker.name} {session_id}: {row['calls']} calls, "
                      f"{row['model_seconds']:.1f} s model, {row['wall_seconds']:.1f} s wall, "
                      f"prefill {row['prefill_tokens']}/{row['prompt_tokens']}", flush=True)
    return rows


def mean_of(rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    return {k: round(statistics.fmean(r[k] for r in rows), 2) for k in (*METRICS, "exchanges")}


def locomo_sessions(data: Path, conversation: int, count: int) -> list[tuple[str, Exchanges]]:
    conv = load("locomo", data)[conversation]
    return [(s.id, [(e.user, e.assistant, e.at.isoformat()) for e in exchanges(s)])
            for s in conv.sessions[:count]]


def synthetic_sessions(count: int) -> list[tuple[str, Exchanges]]:
    """Ten exchanges a session, a session every four days (about seven a month)."""
    start = datetime(2026, 1, 1, 18, tzinfo=timezone.utc)
    out = []
    for s in range(count):
        at = start + timedelta(days=4 * s)
        out.append((f"s{s + 1}", [
            (f"Day {s}, note {i}: I ran {s + i} km and cooked dinner for Ana.", "Nice work.",
             (at + timedelta(minutes=i)).isoformat()) for i in range(10)]))
    return out


def chained_sessions(data: Path, count: int) -> list[tuple[str, Exchanges]]:
    """The first ``count`` sessions of the dev conversations one after another (LoCoMo's,
    then REALTALK's), as one user's history: each conversation is moved in time to start a
    week after the previous one ended, so the dates keep rising."""
    out: list[tuple[str, Exchanges]] = []
    last: datetime | None = None
    for dataset in ("locomo", "realtalk"):
        for conv in load(dataset, data):
            first = exchanges(conv.sessions[0])[0].at
            shift = timedelta(0) if last is None else last + timedelta(days=7) - first
            for s in conv.sessions:
                if len(out) == count:
                    return out
                turns = [(e.user, e.assistant, (e.at + shift).isoformat()) for e in exchanges(s)]
                out.append((f"{conv.id}-{s.id}", turns))
                last = exchanges(s)[-1].at + shift
    return out


def real_growth(args: argparse.Namespace) -> dict[str, Any]:
    """One worker (this checkout) on ``--growth-real`` chained real sessions."""
    sessions = chained_sessions(args.data, args.growth_real)
    model = ["--threads", str(args.threads)] + (["--model", args.model] if args.model else [])
    worker = Worker("after", HERE, model)
    try:
        rows = alternate([worker], sessions)["after"]
    finally:
        worker.close()
    fifth = max(1, len(rows) // 5)
    parts = {"first": rows[:fifth], "last": rows[-fifth:]}
    out: dict[str, Any] = {"sessions": [s for s, _ in sessions], "llm": worker.ready["llm"],
                           "per_session": rows, "mean_per_session": mean_of(rows)}
    for name, part in parts.items():
        out[f"{name}_{fifth}"] = {
            **mean_of(part),
            "model_seconds_per_exchange": round(sum(r["model_seconds"] for r in part)
                                                / sum(r["exchanges"] for r in part), 2)}
        print(f"sessions {name} {fifth}: {out[f'{name}_{fifth}']}")
    return out


def growth(before: Path, count: int) -> dict[str, Any]:
    workers = [Worker("before", before, ["--fake-llm"]), Worker("after", HERE, ["--fake-llm"])]
    try:
        rows = alternate(workers, synthetic_sessions(count), verbose=False)
    finally:
        for w in workers:
            w.close()
    out: dict[str, Any] = {}
    for name, table in rows.items():
        calls = [r["calls"] for r in table]
        out[name] = {"calls_per_session": calls,
                     "mean_calls_sessions_1_10": statistics.fmean(calls[:10]),
                     "mean_calls_last_10": statistics.fmean(calls[-10:]),
                     "mean_calls": round(statistics.fmean(calls), 2), "max_calls": max(calls)}
        print(f"growth {name}: sessions 1-10 {out[name]['mean_calls_sessions_1_10']:.1f} calls, "
              f"last 10 {out[name]['mean_calls_last_10']:.1f}, max {max(calls)}")
    return out


def real(before: Path, args: argparse.Namespace) -> dict[str, Any]:
    sessions = locomo_sessions(args.data, args.conversation, args.sessions)
    model = ["--threads", str(args.threads)] + (["--model", args.model] if args.model else [])
    workers = [Worker("before", before, model), Worker("after", HERE, model)]
    try:
        rows = alternate(workers, sessions)
        dumps = {w.name: w.ask({"cmd": "dump"}) for w in workers}
    finally:
        for w in workers:
            w.close()
    out: dict[str, Any] = {"sessions": [s for s, _ in sessions], "llm": workers[1].ready["llm"]}
    for name, table in rows.items():
        out[name] = {"mean_per_session": mean_of(table), "per_session": table,
                     "profile": dumps[name]["profile"], "tree_verify": dumps[name]["verify"],
                     "nodes": dumps[name]["nodes"]}
    b, a = out["before"]["mean_per_session"], out["after"]["mean_per_session"]
    out["after_over_before"] = {k: round(a[k] / b[k], 3) if b[k] else None for k in METRICS}
    for k in METRICS:
        print(f"{k:>18}: before {b[k]:8.1f}  after {a[k]:8.1f}  ratio "
              f"{out['after_over_before'][k]}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, default=None,
                        help="checkout of the code to compare with (e.g. /work/main)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--conversation", type=int, default=0, help="LoCoMo dev conversation")
    parser.add_argument("--sessions", type=int, default=6)
    parser.add_argument("--growth", type=int, default=60, help="synthetic sessions (fake model)")
    parser.add_argument("--growth-only", action="store_true")
    parser.add_argument("--growth-real", type=int, default=0, metavar="N",
                        help="instead: this checkout alone on the first N dev sessions "
                             "chained as one history (real model; --out upkeep_growth.json)")
    parser.add_argument("--model", default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS / "upkeep.json")
    args = parser.parse_args()
    if args.growth_real:
        out = args.out if args.out != RESULTS / "upkeep.json" else RESULTS / "upkeep_growth.json"
        write_json(out, {"what": "upkeep cost per session over one long history on the real "
                                 "model: the dev conversations' sessions chained, in-memory "
                                 "store, hashing embedder",
                         "real_model": real_growth(args), "run": describe()})
        print(f"wrote {out}")
        return
    if args.before is None:
        parser.error("--before is required (except with --growth-real)")
    result: dict[str, Any] = {
        "what": "upkeep cost per session (record + end_session: summary, profile form, "
                "roll-ups), before vs after, alternating on the same sessions; in-memory "
                "store and hashing embedder; prefill_tokens = prompt tokens llama.cpp "
                "evaluated (the rest came from its prompt cache)",
        "before": str(args.before), "growth_fake_model": growth(args.before, args.growth)}
    if not args.growth_only:
        result["real_model"] = real(args.before, args)
    result["run"] = describe()
    result["run"]["before_commit"] = subprocess.run(
        ["git", "-C", str(args.before), "rev-parse", "--short", "HEAD"], capture_output=True,
        text=True, check=False).stdout.strip()
    write_json(args.out, result)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
