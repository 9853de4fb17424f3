"""The connection: an embedded ``PersistentClient`` or an ``HttpClient``, and how it is chosen.

The environment variables and the default data dir are ``memory_agent.core.config``'s
(``ENV_CHROMA_URL``, ``default_chroma_url``, ``default_data_dir``); nothing here restates
them. Telemetry is off for every client made here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import chromadb
from chromadb.config import Settings

from memory_agent.core.config import ENV_CHROMA_URL, default_chroma_url, default_data_dir
from memory_agent.errors import InvalidInputError, StoreError

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

DEFAULT_PREFIX = "memory_agent"
SQLITE_FILE = "chroma.sqlite3"  # Chroma's file in an embedded data dir (scrubbed by forget)
_PREFIX_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_-]|\.(?!\.)){0,400}$")


@dataclass(frozen=True)
class Target:
    """Where the configured store lives: a server (``url``) or an embedded data dir."""

    url: str | None = None
    path: Path | None = None  # the Chroma directory (``<data dir>/chroma``)


def check_prefix(prefix: str) -> None:
    """Raise InvalidInputError unless ``prefix`` can start Chroma collection names."""
    if not _PREFIX_RE.match(prefix):
        msg = (
            f"invalid collection prefix {prefix!r}: start with a letter or digit, then use "
            "letters, digits, '_', '-' and single '.'"
        )
        raise InvalidInputError(msg)


def open_persistent(path: str | Path) -> tuple[ClientAPI, Path, str]:
    """An embedded client on directory ``path`` (created if needed): client, dir, location."""
    where = Path(path).expanduser()
    location = f"Chroma data dir {where}"
    try:
        where.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(
            path=str(where), settings=Settings(anonymized_telemetry=False)
        )
    except Exception as exc:
        msg = f"cannot open the {location}: {exc} (check that it is a writable directory)"
        raise StoreError(msg) from exc
    return client, where, location


def open_http(host: str, port: int, **client_kwargs: Any) -> tuple[ClientAPI, str]:
    """A client of the Chroma server at ``host:port``: client, location.

    ``client_kwargs`` go to ``chromadb.HttpClient`` (``ssl``, ``headers``, ``tenant``,
    ``database``, ``settings``).
    """
    scheme = "https" if client_kwargs.get("ssl") else "http"
    location = f"Chroma server at {scheme}://{host}:{port}"
    client_kwargs.setdefault("settings", Settings(anonymized_telemetry=False))
    try:
        client = chromadb.HttpClient(host=host, port=port, **client_kwargs)
    except Exception as exc:
        msg = (
            f"cannot reach the {location}: {exc} (start it with `chroma run --path DIR "
            f"--host {host} --port {port}`, or unset {ENV_CHROMA_URL} to store locally)"
        )
        raise StoreError(msg) from exc
    return client, location


def resolve(data_dir: str | Path | None, server_url: str | None) -> Target:
    """The configured store: explicit arguments, then the environment, then the default.

    ``server_url``, then ``data_dir``, then ``$MEMORY_AGENT_CHROMA_URL``, then the default
    data dir (``$MEMORY_AGENT_HOME`` or ``~/.local/share/memory-agent``). Chroma's files go
    in the ``chroma`` folder of the data dir.
    """
    if data_dir is not None and server_url is not None:
        msg = "pass data_dir (embedded Chroma) or server_url (Chroma server), not both"
        raise InvalidInputError(msg)
    if data_dir is not None:
        return Target(path=Path(data_dir).expanduser() / "chroma")
    url = server_url if server_url is not None else default_chroma_url()
    if url is not None:
        return Target(url=url)
    return Target(path=default_data_dir() / "chroma")


def parse_server_url(url: str) -> tuple[str, int, bool]:
    """``http://host:port`` -> (host, port, ssl); the port defaults to 8000 (443 for https)."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        msg = f"invalid Chroma server URL {url!r}: use the form http://127.0.0.1:8000"
        raise InvalidInputError(msg)
    try:
        port = parts.port
    except ValueError as exc:
        msg = f"invalid port in Chroma server URL {url!r}"
        raise InvalidInputError(msg) from exc
    ssl = parts.scheme == "https"
    return parts.hostname, port or (443 if ssl else 8000), ssl


def close_client(client: ClientAPI) -> None:
    """Release ``client``: its HTTP connection pools, then its shared Chroma system."""
    _close_http_pools(client)
    close = getattr(client, "close", None)
    if callable(close):
        close()


def _close_http_pools(client: ClientAPI) -> None:
    """Close the ``httpx`` pools of an ``HttpClient`` and of its internal admin client.

    No public API does this: ``Client.close()`` stops the shared system, but the HTTP
    server component (``chromadb.api.fastapi.FastAPI``) has no ``stop`` of its own, so its
    ``_session`` (an ``httpx.Client``) stays open. Checked on chromadb 1.5.9 (the installed
    version; ``api/client.py``, ``api/fastapi.py``). The private attributes are read with
    ``getattr`` defaults, so a chromadb without them is left to its own ``close``.
    """
    for part in (client, getattr(client, "_admin_client", None)):
        session = getattr(getattr(part, "_server", None), "_session", None)
        if session is not None and callable(getattr(session, "close", None)):
            session.close()
