"""Where the command's settings come from: flags, then environment, then a TOML file.

The file is ``$MEMORY_AGENT_CONFIG`` if set, else ``config.toml`` in the data directory.
It may set ``model``, ``threads``, ``n_ctx``, ``budget`` and ``server_url``; an unknown key
or a bad value is an error that names the file. Environment variables
(``MEMORY_AGENT_MODEL``, ``MEMORY_AGENT_THREADS``, ``MEMORY_AGENT_N_CTX``,
``MEMORY_AGENT_BUDGET``, ``MEMORY_AGENT_CHROMA_URL``) override the file; flags override both.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from memory_agent.core.config import ENV_CHROMA_URL, ENV_HOME, default_data_dir
from memory_agent.errors import InvalidInputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ENV_CONFIG = "MEMORY_AGENT_CONFIG"
ENV_KEYS = {  # setting -> environment variable
    "model": "MEMORY_AGENT_MODEL",
    "threads": "MEMORY_AGENT_THREADS",
    "n_ctx": "MEMORY_AGENT_N_CTX",
    "budget": "MEMORY_AGENT_BUDGET",
    "server_url": ENV_CHROMA_URL,
}
CONFIG_FILE = "config.toml"


class CliSettings(BaseModel):
    """The resolved settings of one command run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data_dir: Path
    server_url: str | None = None
    model: str | None = Field(default=None, description="registry key or .gguf path")
    threads: int | None = Field(default=None, ge=1, le=256)
    n_ctx: int = Field(default=4096, ge=256, le=131072)
    budget: int = Field(default=1000, ge=50, le=100000)
    config_file: Path | None = None  # the file that was read, if any


def config_path(data_dir: Path, environ: Mapping[str, str]) -> Path:
    explicit = environ.get(ENV_CONFIG)
    return Path(explicit).expanduser() if explicit else data_dir / CONFIG_FILE


def read_config_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            values = tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as error:
        msg = f"cannot read the config file {path}: {error}"
        raise InvalidInputError(msg) from error
    unknown = sorted(set(values) - set(ENV_KEYS))
    if unknown:
        msg = (f"unknown setting(s) {', '.join(unknown)} in {path}; known: "
               f"{', '.join(sorted(ENV_KEYS))}")
        raise InvalidInputError(msg)
    return values


def resolve(flags: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> CliSettings:
    """Flags (None = not given) over environment over the config file over the defaults."""
    data_dir = (Path(flags["data_dir"]).expanduser() if flags.get("data_dir")
                else Path(environ[ENV_HOME]).expanduser() if environ.get(ENV_HOME)
                else default_data_dir())
    path = config_path(data_dir, environ)
    values: dict[str, Any] = read_config_file(path)
    values.update({k: environ[v] for k, v in ENV_KEYS.items() if environ.get(v)})
    values.update({k: v for k, v in flags.items() if k in ENV_KEYS and v is not None})
    try:
        return CliSettings(data_dir=data_dir, config_file=path if path.exists() else None,
                           **values)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                             for e in error.errors())
        msg = f"bad setting ({problems}); from flags, environment or {path}"
        raise InvalidInputError(msg) from None
