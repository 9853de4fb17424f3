"""The examples run (fake models), as separate processes sharing a temp data dir."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(script: str, *args: str) -> str:
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run([sys.executable, str(EXAMPLES / script), *args], capture_output=True,
                          text=True, timeout=300, cwd=EXAMPLES, env=env, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_offline_agent_remembers_across_process_restarts(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    first = run("offline_agent.py", "--fake", "--data-dir", data,
                "I'm vegetarian. What should I cook tonight?")
    assert "What do you like to eat?" in first  # nothing known yet
    second = run("offline_agent.py", "--fake", "--data-dir", data, "Any dinner idea for me?")
    assert "You told me you are vegetarian" in second
    other_user = run("offline_agent.py", "--fake", "--data-dir", data, "--user", "bob",
                     "Any dinner idea for me?")
    assert "What do you like to eat?" in other_user


def test_lcel_chain_example(tmp_path: Path) -> None:
    out = run("lcel_chain.py", "--fake", "--data-dir", str(tmp_path / "d"))
    assert "day 2: You told me you are vegetarian" in out
    assert "Diet: vegetarian" in out
    again = run("lcel_chain.py", "--fake", "--data-dir", str(tmp_path / "d"))  # same data dir
    assert "day 2: You told me you are vegetarian" in again  # new sessions, no SessionStateError


def test_memory_tools_example(tmp_path: Path) -> None:
    out = run("memory_tools_agent.py", "--fake", "--data-dir", str(tmp_path / "d"))
    assert "Remembered as f1: Diet: vegetarian" in out
    assert "Corrected f1: now f2: Diet: vegan" in out
    assert "Diet: vegan {#f2 slot= src=tool" in out or "- Diet: vegan {#f2" in out
