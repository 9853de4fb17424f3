"""The documentation is executed: every ```python block of README.md and docs/ runs (the
blocks of a page in order, in one namespace, in a temporary data directory), or is an
excerpt of an example file that its own test runs (first line ``# excerpt of PATH``: each
line, indentation aside, must be in that file, in order); every ``memory-agent ...`` line
of a ```bash block parses as a command of the real parser; and the site builds with
warnings as errors."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```", re.M | re.S)
EXCERPT = re.compile(r"^# excerpt of (\S+)")
REAL = ("MemoryManager.open(", "LlamaCppLLM(", ".local(")  # blocks that need the local model


def blocks(page: Path, language: str) -> list[str]:
    return [code for lang, code in BLOCK.findall(page.read_text()) if lang == language]


def python_pages() -> list[object]:
    params = []
    for page in PAGES:
        code = [b for b in blocks(page, "python") if not EXCERPT.match(b)]
        if code:
            real = any(marker in b for b in code for marker in REAL)
            params.append(pytest.param(page, code, id=page.name,
                                       marks=[pytest.mark.real] if real else []))
    return params


@pytest.mark.parametrize(("page", "code"), python_pages())
def test_python_examples_run(page: Path, code: list[str], tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MEMORY_AGENT_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    for i, source in enumerate(code, start=1):
        exec(compile(source, f"{page.name}, python block {i}", "exec"), namespace)
    capsys.readouterr()


def excerpts() -> list[object]:
    return [pytest.param(page, code, id=f"{page.name}:{EXCERPT.match(code)[1]}")  # type: ignore[index]
            for page in PAGES for code in blocks(page, "python") if EXCERPT.match(code)]


@pytest.mark.parametrize(("page", "code"), excerpts())
def test_excerpts_are_taken_from_their_example(page: Path, code: list[str]):
    source_path = EXCERPT.match(code)[1]  # type: ignore[index]
    source = [line.strip() for line in (ROOT / source_path).read_text().splitlines()]
    at = 0
    for line in code.splitlines()[1:]:
        if not line.strip():
            continue
        try:
            at = source.index(line.strip(), at) + 1
        except ValueError:
            pytest.fail(f"{page.name}: {line!r} is not in {source_path} (in this order)")


def command_lines() -> list[object]:
    lines = []
    for page in PAGES:
        for code in blocks(page, "bash"):
            for line in code.splitlines():
                line = re.split(r"\s#", line)[0].strip()
                if line.startswith("memory-agent "):
                    lines.append(pytest.param(line, id=f"{page.name}:{line[13:50]}"))
    return lines


@pytest.mark.parametrize("line", command_lines())
def test_command_examples_parse(line: str):
    from memory_agent.apps.cli.main import cli

    args = shlex.split(line)[1:]
    command: click.Command = cli
    with cli.make_context("memory-agent", list(args), resilient_parsing=True) as ctx:
        while isinstance(command, click.Group) and ctx.protected_args + ctx.args:
            name, *rest = ctx.protected_args + ctx.args
            sub = command.get_command(ctx, name)
            assert sub is not None, f"{line}: no command {name!r}"
            ctx = sub.make_context(name, rest, parent=ctx)  # unknown options raise here
            command = sub


@pytest.mark.skipif(shutil.which("mkdocs") is None and not (Path(sys.executable).parent
                    / "mkdocs").exists(), reason="mkdocs is not installed (dev extra)")
def test_docs_site_builds_with_warnings_as_errors(tmp_path):
    mkdocs = Path(sys.executable).parent / "mkdocs"
    done = subprocess.run([str(mkdocs if mkdocs.exists() else "mkdocs"), "build", "--strict",
                           "--site-dir", str(tmp_path / "site")], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env={**__import__("os").environ,
                                                       "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "site" / "cli" / "index.html").read_text().count("memory-agent") > 10
