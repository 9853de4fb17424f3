"""The inspector's ASGI app: routes, templates and static files (see ``create_app``)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from memory_agent.apps.inspect.security import Guard, cookie_name, csrf_value, new_token
from memory_agent.apps.workspace import Workspace
from memory_agent.core.render import fmt_day, fmt_span
from memory_agent.errors import MemoryAgentError, NotFoundError


def _url(path: str, **params: object) -> str:
    """A link with its query escaped (ids are data, never path segments)."""
    query = urlencode({k: v for k, v in params.items() if v is not None and v != ""})
    return f"{path}?{query}" if query else path


@dataclass
class Inspector:
    """What every handler needs: the memory, the token and the templates."""

    workspace: Workspace
    token: str
    env: Environment

    def page(self, request: Request, name: str, status: int = 200, **context: Any) -> Response:
        html = self.env.get_template(name).render(csrf=csrf_value(self.token),
                                                  request=request, **context)
        return HTMLResponse(html, status_code=status)


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("memory_agent.apps.inspect", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.globals["url"] = _url
    env.filters["day"] = fmt_day
    env.filters["span"] = fmt_span
    env.filters["when"] = lambda dt: dt.strftime("%Y-%m-%d %H:%M") if dt else "—"
    return env


def create_app(
    workspace: Workspace, *, token: str | None = None, port: int | None = None,
    hosts: Collection[str] = (),
) -> Starlette:
    """The inspector over ``workspace``. ``token`` (random if None) must come with the first
    request (``/?token=...``); ``hosts`` are host names served besides the loopback ones."""
    from memory_agent.apps.inspect import actions, pages

    inspector = Inspector(workspace, token or new_token(), _environment())
    routes = [
        Route("/", pages.users),
        Route("/profile", pages.profile),
        Route("/profile/edit", pages.profile_document),
        Route("/profile/edit", actions.save_document, methods=["POST"]),
        Route("/profile/fact", actions.edit_fact, methods=["POST"]),
        Route("/profile/add", actions.add_fact, methods=["POST"]),
        Route("/profile/remove", actions.remove_fact, methods=["POST"]),
        Route("/fact/forget", pages.confirm_forget_fact),
        Route("/fact/forget", actions.forget_fact, methods=["POST"]),
        Route("/user/forget", pages.confirm_forget_user),
        Route("/user/forget", actions.forget_user, methods=["POST"]),
        Route("/tree", pages.tree),
        Route("/recall", pages.recall),
        Route("/sessions", pages.sessions),
        Route("/session", pages.session),
        Mount("/static", StaticFiles(packages=[("memory_agent.apps.inspect", "static")]),
              name="static"),
    ]

    async def not_found(request: Request, error: Exception) -> Response:
        return inspector.page(request, "error.html", 404, message=str(error))

    async def bad(request: Request, error: Exception) -> Response:
        return inspector.page(request, "error.html", 400,
                              message=f"{type(error).__name__}: {error}")

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        return inspector.page(request, "error.html", error.status_code, message=error.detail)

    app = Starlette(
        routes=routes,
        middleware=[Middleware(Guard, token=inspector.token, hosts=hosts,
                               cookie=cookie_name(port))],
        exception_handlers={NotFoundError: not_found, MemoryAgentError: bad,
                            HTTPException: http_error},
    )
    app.state.inspector = inspector
    return app


def inspector_of(request: Request) -> Inspector:
    found = request.app.state.inspector
    assert isinstance(found, Inspector)
    return found


async def call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a (blocking) memory call off the event loop."""
    return await run_in_threadpool(fn, *args, **kwargs)
