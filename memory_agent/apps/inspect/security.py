"""The inspector's security: a secret token, CSRF checks on writes, safe headers, safe ids.

- Every request needs the token: once from the URL printed at start (``/?token=...``, as
  Jupyter does), which sets an HttpOnly SameSite=Strict cookie and redirects to the same page
  without the token; then from the cookie.
- Every write (POST) also needs a form field ``csrf`` derived from the token, and a request
  from another origin (``Origin`` or ``Sec-Fetch-Site`` saying so) is refused.
- Only the loopback host names are served (no DNS rebinding), and every page is sent with a
  strict Content-Security-Policy (scripts and styles from this server only, no inline code).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, Collection

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp

from memory_agent.core.types import validate_id
from memory_agent.errors import InvalidIdError

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # never sent to another site; "no-referrer" makes
    # Chromium send "Origin: null" with same-site form posts, which the origin check refuses
    "Cache-Control": "no-store",
}


def new_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_value(token: str) -> str:
    """The value every form carries (derived, so the token itself is never in a page)."""
    return hmac.new(token.encode(), b"memory-agent inspect csrf", hashlib.sha256).hexdigest()


def cookie_name(port: int | None) -> str:
    return f"memory_agent_inspect_{port or 0}"


class Guard(BaseHTTPMiddleware):
    """Token, host and header checks around every request."""

    def __init__(self, app: ASGIApp, *, token: str, hosts: Collection[str], cookie: str) -> None:
        super().__init__(app)
        self.token = token
        self.hosts = frozenset(h.lower() for h in hosts) | LOOPBACK
        self.cookie = cookie

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await self._checked(request, call_next)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    async def _checked(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        host = (request.url.hostname or "").lower()
        if host not in self.hosts:
            return PlainTextResponse(f"host {host!r} is not served here", status_code=400)
        given = request.query_params.get("token")
        if given is not None and request.method == "GET":
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                return _refused()
            rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            target = request.url.replace_query_params(**dict(rest)) if rest else (
                request.url.replace(query=""))
            redirect = RedirectResponse(str(target.path) + (
                f"?{target.query}" if target.query else ""), status_code=303)
            redirect.set_cookie(self.cookie, self.token, httponly=True, samesite="strict",
                                path="/")
            return redirect
        cookie = request.cookies.get(self.cookie, "")
        if not hmac.compare_digest(cookie.encode(), self.token.encode()):
            return _refused()
        if request.method not in ("GET", "HEAD") and _cross_site(request):
            return PlainTextResponse("cross-site request refused", status_code=403)
        return await call_next(request)


def _refused() -> Response:
    return PlainTextResponse(
        "This memory inspector needs its token: open the URL that 'memory-agent inspect' "
        "printed (it ends with ?token=...).", status_code=403)


def _cross_site(request: Request) -> bool:
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return True
    origin = request.headers.get("origin")
    return origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}"


async def checked_form(request: Request, token: str) -> FormData:
    """The posted form, if it carries the right ``csrf`` field; else 403."""
    form = await request.form()
    sent = form.get("csrf")
    if not isinstance(sent, str) or not hmac.compare_digest(sent, csrf_value(token)):
        raise HTTPException(403, "missing or wrong CSRF field: reload the page and try again")
    return form


def user_id_of(value: object) -> str:
    """A user id from a request, validated (ids with slashes, ``..`` tricks or odd characters
    never reach the store; ids like ``a.b`` or ``..`` are just names scoped to themselves)."""
    try:
        return validate_id(value, "user id")
    except InvalidIdError as error:
        raise HTTPException(400, str(error)) from error
