"""The memory inspector: a local web app to see, check and correct what is remembered.

``memory-agent inspect`` runs it (see docs/inspector.md). From Python::

    from memory_agent.apps.inspect import InspectorServer, Workspace
    server = InspectorServer(Workspace(store, open_manager)).start()
    print(server.url)

Needs the ``inspect`` extra (Starlette, Jinja2, uvicorn, python-multipart).
"""

from __future__ import annotations

from memory_agent.apps.inspect.app import create_app
from memory_agent.apps.inspect.server import InspectorServer
from memory_agent.apps.workspace import Workspace, open_workspace

__all__ = ["InspectorServer", "Workspace", "create_app", "open_workspace"]
