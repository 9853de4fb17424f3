"""Read-only pages: users, profile, tree, recall playground, sessions and transcripts."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from memory_agent.apps.inspect import views
from memory_agent.apps.inspect.app import call, inspector_of
from memory_agent.apps.inspect.security import user_id_of
from memory_agent.core.types import validate_id
from memory_agent.engine.manager import MemoryManager
from memory_agent.errors import InvalidIdError, InvalidInputError


async def _manager(request: Request) -> tuple[str, MemoryManager]:
    user = user_id_of(request.query_params.get("user"))
    manager = await call(inspector_of(request).workspace.manager, user)
    return user, manager


async def users(request: Request) -> Response:
    inspector = inspector_of(request)

    def summaries() -> list[object]:
        ws = inspector.workspace
        return [ws.manager(u, must_exist=False).summary() for u in ws.users()]

    return inspector.page(request, "users.html", rows=await call(summaries))


def profile_context(memory: MemoryManager) -> dict[str, object]:
    doc = memory.profile()
    history = memory.profile_history()
    return {"sections": views.profile_sections(doc, history), "version": memory.profile_version(),
            "history": views.history_rows(history), "n_facts": len(doc.facts)}


async def profile(request: Request) -> Response:
    user, memory = await _manager(request)
    context = await call(profile_context, memory)
    saved = request.query_params.get("saved")
    return inspector_of(request).page(request, "profile.html", user=user, saved=saved,
                                      **context)


async def profile_document(request: Request) -> Response:
    user, memory = await _manager(request)
    markdown, version = await call(lambda: (memory.profile_markdown(), memory.profile_version()))
    return inspector_of(request).page(request, "profile_edit.html", user=user,
                                      markdown=markdown, version=version)


async def confirm_forget_fact(request: Request) -> Response:
    user, memory = await _manager(request)
    fact_id = request.query_params.get("fact", "")
    doc = await call(memory.profile)
    fact = doc.get(fact_id)
    if fact is None:
        raise HTTPException(404, f"no fact {fact_id!r} in the profile of {user!r}")
    return inspector_of(request).page(request, "forget_fact.html", user=user,
                                      row=views.FactRow(fact, views.sources_of(fact), ()))


async def confirm_forget_user(request: Request) -> Response:
    user, memory = await _manager(request)
    summary = await call(memory.summary)
    return inspector_of(request).page(request, "forget_user.html", user=user, summary=summary)


async def tree(request: Request) -> Response:
    user, memory = await _manager(request)
    snapshot = await call(memory.tree)
    return inspector_of(request).page(request, "tree.html", user=user,
                                      rows=views.tree_rows(snapshot),
                                      problems=snapshot.verify(), n_nodes=len(snapshot))


async def recall(request: Request) -> Response:
    user, memory = await _manager(request)
    query = request.query_params.get("q", "")
    budget_text = request.query_params.get("budget")
    context: dict[str, object] = {"user": user, "query": query,
                                  "budget": budget_text or memory.config.default_recall_budget}
    status = 200
    if query.strip():
        try:
            budget = views.parse_budget(budget_text, memory.config.default_recall_budget)
            trace = await call(memory.recall_trace, query, token_budget=budget)
            context.update(trace=trace, rows=views.trace_rows(trace))
        except InvalidInputError as error:
            context["error"] = str(error)
            status = 400
    return inspector_of(request).page(request, "recall.html", status, **context)


async def sessions(request: Request) -> Response:
    user, memory = await _manager(request)
    overview, jobs = await call(lambda: (memory.session_overview(), memory.job_log()))
    return inspector_of(request).page(request, "sessions.html", user=user, sessions=overview,
                                      jobs=list(reversed(jobs)))


async def session(request: Request) -> Response:
    user, memory = await _manager(request)
    session_id = request.query_params.get("session")
    try:
        validate_id(session_id, "session id")
    except InvalidIdError as error:
        raise HTTPException(400, str(error)) from error
    assert session_id is not None
    turn = request.query_params.get("turn", "")
    highlight = int(turn) if turn.isdigit() else None

    def load() -> tuple[object, object]:
        turns = memory.session_turns(session_id)
        overview = next((o for o in memory.session_overview()
                         if o.info.session_id == session_id), None)
        return turns, overview

    turns, overview = await call(load)
    assert isinstance(turns, list)
    return inspector_of(request).page(request, "session.html", user=user, session_id=session_id,
                                      rows=views.transcript(turns, highlight),
                                      overview=overview, highlight=highlight)
