"""Durability under SIGKILL: acknowledged turns survive, journaled work resumes, memory stays sound.

A child process (tests/crash_child.py) records conversations with background updates on
embedded Chroma + the turn journal and prints every turn id ``record()`` acknowledged; the
parent kills it with SIGKILL at a random moment. The next child restarts on the same data
dir, drains the journal, finishes pending jobs and reports what is stored, before writing
again; the parent checks every acknowledged turn is stored, no job is left, the profile
parses within its budget and the tree verifies. Trials run in two lanes (two data dirs).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHILD = Path(__file__).with_name("crash_child.py")
TRIALS = 50
LANES = 2
SEED = 20260301


def _start(data: Path, seed: int, trial: int, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ANONYMIZED_TELEMETRY": "False"}
    return subprocess.Popen(
        [sys.executable, str(CHILD), str(data), str(seed), str(trial), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )


def _read_report(proc: subprocess.Popen[str]) -> dict[str, Any]:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("REPORT "):
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"child did not report (got {line!r}):\n{err[-3000:]}")
    report: dict[str, Any] = json.loads(line[len("REPORT "):])
    return report


def _check(report: dict[str, Any], acked: set[str], where: str) -> list[str]:
    problems = []
    lost = sorted(acked - set(report["turns"]))
    if lost:
        problems.append(f"{where}: {len(lost)} acknowledged turns lost: {lost[:10]}")
    if len(report["turns"]) != len(set(report["turns"])):
        problems.append(f"{where}: duplicate turn ids")
    if report["journal"] or report["pending_jobs"] or report["failures"]:
        problems.append(f"{where}: left over: journal={report['journal']} "
                        f"jobs={report['pending_jobs']} failures={report['failures']}")
    if not report["profile_parses"] or report["profile_tokens"] > 250:
        problems.append(f"{where}: profile parses={report['profile_parses']} "
                        f"tokens={report['profile_tokens']}")
    if report["tree_problems"] or report["stale"]:
        problems.append(f"{where}: tree {report['tree_problems']} stale {report['stale']}")
    return problems


def _lane(data: Path, rng: random.Random, trials: list[int], out: dict[str, Any]) -> None:
    acked: set[str] = set()
    problems: list[str] = out.setdefault("problems", [])
    for trial in trials:
        proc = _start(data, rng.randrange(1 << 30), trial)
        try:
            report = _read_report(proc)  # the restart: drained, resumed, flushed
            problems += _check(report, acked, f"before trial {trial}")
            time.sleep(rng.uniform(0.05, 0.8))
            os.kill(proc.pid, signal.SIGKILL)
            assert proc.stdout is not None
            rest, _ = proc.communicate()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        # a line cut by the kill was not acknowledged to the parent: keep whole lines only
        lines = rest.split("\n")
        acked.update(line[4:] for line in lines[:-1] if line.startswith("ACK "))
        out.setdefault("killed_after_acks", []).append(
            sum(1 for x in lines if x.startswith("ACK ")))
    final = _start(data, 0, -1, "--check-only")
    try:
        report = _read_report(final)
        final.communicate(timeout=120)
    finally:
        if final.poll() is None:
            final.kill()
            final.communicate()
    problems += _check(report, acked, "final restart")
    out["acked"] = len(acked)
    out["stored"] = len(report["turns"])


def test_sigkill_at_random_points_loses_no_acknowledged_turn(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    results: list[dict[str, Any]] = [{} for _ in range(LANES)]
    lanes = [
        threading.Thread(target=_lane, args=(tmp_path / f"lane{i}", random.Random(rng.random()),
                                             list(range(i, TRIALS, LANES)), results[i]))
        for i in range(LANES)
    ]
    for lane in lanes:
        lane.start()
    for lane in lanes:
        lane.join()
    problems = [p for r in results for p in r.get("problems", ["lane crashed"])]
    assert not problems, "\n".join(problems)
    assert sum(len(r["killed_after_acks"]) for r in results) == TRIALS
    assert all(r["acked"] > 0 and r["stored"] >= r["acked"] for r in results)
