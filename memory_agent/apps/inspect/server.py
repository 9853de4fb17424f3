"""Running the inspector: a uvicorn server on a thread, started and stopped by its handle."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

from memory_agent.apps.inspect.app import create_app
from memory_agent.apps.inspect.security import new_token
from memory_agent.apps.workspace import Workspace


class InspectorServer:
    """The inspector over ``workspace`` on ``host:port`` (port 0: a free one)::

        server = InspectorServer(workspace).start()
        print(server.url)        # http://127.0.0.1:PORT/?token=...
        ...
        server.stop()
    """

    def __init__(self, workspace: Workspace, *, host: str = "127.0.0.1", port: int = 0,
                 token: str | None = None) -> None:
        self.workspace = workspace
        self.host = host
        self.token = token or new_token()
        self._socket = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.port: int = self._socket.getsockname()[1]
        hosts = () if host in ("127.0.0.1", "::1", "localhost") else (host,)
        self.app = create_app(workspace, token=self.token, port=self.port, hosts=hosts)
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def base(self) -> str:
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{shown}:{self.port}"

    @property
    def url(self) -> str:
        """The address to open: it carries the token."""
        return f"{self.base}/?token={self.token}"

    def start(self, timeout: float = 10.0) -> InspectorServer:
        self._thread = threading.Thread(target=self._server.run,
                                        kwargs={"sockets": [self._socket]},
                                        name="memory-agent-inspect", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                msg = f"the inspector did not start on {self.base}"
                raise RuntimeError(msg)
            time.sleep(0.02)
        return self

    def wait(self) -> None:
        """Block until the server stops (Ctrl-C in ``memory-agent inspect``)."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(0.5)

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        self._socket.close()
