"""Writes: profile edits (through ``edit_profile`` with the version check), forgetting.

Every handler first checks the CSRF field (``checked_form``); the token itself was checked
by the guard. Edits never bypass the validated path ``memory-agent profile edit`` uses.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from memory_agent.apps.inspect import views
from memory_agent.apps.inspect.app import _url, call, inspector_of
from memory_agent.apps.inspect.pages import profile_context
from memory_agent.apps.inspect.security import checked_form, user_id_of
from memory_agent.core.profile import ProfileDocument
from memory_agent.engine.manager import MemoryManager
from memory_agent.errors import (
    InvalidInputError,
    ProfileBudgetError,
    ProfileConflictError,
    ProfileParseError,
)

CONFLICT = ("Not saved: the profile changed since you opened it (it is now version {now}; "
            "you started from version {base}), probably by a background update after a "
            "session ended. Nothing was overwritten. The page below shows the current "
            "profile: apply your change again.")


async def _form(request: Request) -> tuple[FormData, str, MemoryManager]:
    inspector = inspector_of(request)
    form = await checked_form(request, inspector.token)
    user = user_id_of(form.get("user"))
    return form, user, await call(inspector.workspace.manager, user)


def _field(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


def _base_version(form: FormData) -> int:
    text = _field(form, "base_version")
    if not text.isdigit():
        msg = "the form has no profile version; reload the page"
        raise InvalidInputError(msg)
    return int(text)


async def _save(request: Request, form: FormData, user: str, memory: MemoryManager,
                change: Callable[[ProfileDocument], str], saved: str) -> Response:
    """Apply ``change`` to the current document and save it with the form's base version;
    on a conflict or an invalid edit, show the profile again with the reason."""
    inspector = inspector_of(request)
    base = _base_version(form)

    def run() -> None:
        memory.edit_profile(change(memory.profile()), base_version=base)

    try:
        await call(run)
    except ProfileConflictError:
        now = await call(memory.profile_version)
        context = await call(profile_context, memory)
        return inspector.page(request, "profile.html", 409, user=user, saved=None,
                              error=CONFLICT.format(now=now, base=base), conflict=True,
                              **context)
    except (ProfileParseError, ProfileBudgetError, InvalidInputError) as error:
        context = await call(profile_context, memory)
        return inspector.page(request, "profile.html", 400, user=user, saved=None,
                              error=f"Not saved: {error}", **context)
    return RedirectResponse(_url("/profile", user=user, saved=saved), status_code=303)


async def edit_fact(request: Request) -> Response:
    form, user, memory = await _form(request)
    fact_id, text = _field(form, "fact_id"), _field(form, "text")
    return await _save(request, form, user, memory,
                       lambda doc: views.reworded(doc, fact_id, text), saved=fact_id)


async def add_fact(request: Request) -> Response:
    form, user, memory = await _form(request)
    section, text = _field(form, "section"), _field(form, "text")
    return await _save(request, form, user, memory,
                       lambda doc: views.with_new_fact(doc, section, text), saved="new")


async def remove_fact(request: Request) -> Response:
    form, user, memory = await _form(request)
    fact_id = _field(form, "fact_id")
    return await _save(request, form, user, memory, lambda doc: views.without(doc, fact_id),
                       saved="removed")


async def save_document(request: Request) -> Response:
    form, user, memory = await _form(request)
    markdown = _field(form, "markdown").replace("\r\n", "\n")
    return await _save(request, form, user, memory, lambda doc: markdown, saved="document")


async def forget_fact(request: Request) -> Response:
    form, user, memory = await _form(request)
    fact_id = _field(form, "fact_id")

    def run() -> tuple[object, list[str]]:
        fact = memory.profile().get(fact_id)
        return fact, memory.forget_fact(fact_id)

    fact, queued = await call(run)
    return inspector_of(request).page(request, "forgotten.html", user=user, fact=fact,
                                      fact_id=fact_id, queued=queued, whole_user=False)


async def forget_user(request: Request) -> Response:
    form, user, memory = await _form(request)
    if _field(form, "confirm") != user:
        msg = "type the user id to confirm forgetting everything about this user"
        raise InvalidInputError(msg)
    inspector = inspector_of(request)

    def run() -> object:
        summary = memory.summary()
        nodes = len(memory.tree())
        memory.forget()
        inspector.workspace.drop(user)
        return summary, nodes

    summary, nodes = await call(run)
    return inspector.page(request, "forgotten.html", user=user, summary=summary, nodes=nodes,
                          whole_user=True, hide_nav=True)  # the user's pages are gone
