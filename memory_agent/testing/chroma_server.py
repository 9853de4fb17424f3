"""A local Chroma server as a child process (for tests, benchmarks and trying server mode).

    with LocalChromaServer(path) as server:          # chroma run on 127.0.0.1, a free port
        store = ChromaStore.http(server.host, server.port)

It listens on 127.0.0.1 only and is stopped by its own process id, never by name.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType

from memory_agent.errors import StoreError


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def chroma_executable() -> str | None:
    """The ``chroma`` command installed beside this Python, or on PATH."""
    beside = Path(sys.executable).with_name("chroma")
    return str(beside) if beside.exists() else shutil.which("chroma")


class LocalChromaServer:
    """``chroma run --path PATH --host 127.0.0.1 --port PORT``, started and stopped by pid."""

    host = "127.0.0.1"

    def __init__(self, path: str | Path, port: int | None = None, *,
                 log: str | Path | None = None, timeout: float = 60.0) -> None:
        self.path = Path(path)
        self.port = port if port is not None else free_port()
        self.log = Path(log) if log is not None else self.path.parent / f"chroma-{self.port}.log"
        self.timeout = timeout
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        """Start the server and wait until its heartbeat answers (StoreError if it does not)."""
        exe = chroma_executable()
        if exe is None:
            msg = "the chroma command is not installed (pip install chromadb)"
            raise StoreError(msg)
        self.path.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [exe, "run", "--path", str(self.path), "--host", self.host,
                 "--port", str(self.port)], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=1) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                code = self.proc.poll()
                self.stop()
                msg = f"chroma run did not answer on port {self.port} (exit {code}); see {self.log}"
                raise StoreError(msg)
            time.sleep(0.1)

    def stop(self) -> None:
        """Terminate the server by its own process id (kill if it does not stop)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=20)
        self.proc = None

    def __enter__(self) -> LocalChromaServer:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
