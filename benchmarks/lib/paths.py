"""Where benchmark data, caches and results live, and how a cache folder is named."""

from __future__ import annotations

import re
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1]
DEFAULT_DATA = BENCHMARKS.parent.parent / "shared" / "data"
CACHE = BENCHMARKS / "cache"
RESULTS = BENCHMARKS / "results"


def cache_dir(root: Path, dataset: str, model_name: str) -> Path:
    """``<root>/<dataset>-<model>``, the model name reduced to letters, digits and dots."""
    return root / f"{dataset}-{re.sub(r'[^A-Za-z0-9.]+', '_', model_name)}"
