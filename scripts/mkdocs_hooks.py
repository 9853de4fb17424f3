"""MkDocs hooks: the docs show benchmark plots kept outside docs/ (benchmarks/results);
these files are added to the site under benchmarks/ and the links rewritten."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]
OUTSIDE = re.compile(r"\]\(\.\./(benchmarks/[^)\s]+)\)")


def on_files(files: Files, config: Any) -> Files:
    for path in sorted((ROOT / "benchmarks" / "results").glob("*.png")):
        files.append(File(str(path.relative_to(ROOT)), src_dir=str(ROOT),
                          dest_dir=config["site_dir"], use_directory_urls=False))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    return OUTSIDE.sub(r"](\1)", markdown)
