"""Result files: read what is there, write JSON, each result stamped with ``describe()``
(command, date, git commit, machine and package versions; see ``machine``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.lib.machine import describe

__all__ = ["describe", "read_json", "write_json"]


def read_json(path: Path) -> dict[str, Any]:
    """The results already in ``path`` (to merge into), or an empty dict."""
    return json.loads(path.read_text()) if path.exists() else {}


def write_json(path: Path, data: Any, *, indent: int = 1) -> None:
    """``data`` as indented JSON with a final newline; the folder is made if missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=indent) + "\n")
