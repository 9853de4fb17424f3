"""The inspector's handlers on the in-memory store: pages, edits, forgetting, security."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("starlette", reason="the inspector needs the 'inspect' extra")
from starlette.testclient import TestClient

from memory_agent import ProfileEdit
from memory_agent.apps.inspect import Workspace, create_app
from memory_agent.apps.inspect.security import csrf_value
from memory_agent.backends.store.memory import InMemoryStore
from memory_agent.core.extraction import ExtractionOutcome

from .inspect_seed import IMG, INJECTION, SCRIPT, open_manager_for, seed

TOKEN = "test-token-123"
BASE = "http://127.0.0.1"


@pytest.fixture
def workspace():
    store = InMemoryStore()
    seed(store, "alice")
    ws = Workspace(store, open_manager_for(store))
    for user, fact in (("..", "Dot-dot user fact"), ("a.b", "Dotted user fact")):
        ws.manager(user, must_exist=False).edit_profile(f"# Profile\n\n## About\n- {fact}\n")
    yield ws
    ws.close()


@pytest.fixture
def client(workspace):
    with TestClient(create_app(workspace, token=TOKEN), base_url=BASE) as c:
        assert c.get(f"/?token={TOKEN}").status_code == 200
        yield c


def post(client, path, **fields):
    return client.post(path, data={"csrf": csrf_value(TOKEN), **fields},
                       follow_redirects=False)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- pages -----------------------------------------------------------------------------
def test_users_page_lists_every_user(client):
    page = client.get("/").text
    for user in ("alice", "..", "a.b"):
        assert f">{user}</a>" in page
    assert "/profile?user=..\"" in page or "/profile?user=..&" in page or "user=.." in page


def test_profile_shows_provenance_history_and_supersession(client):
    page = client.get("/profile?user=alice").text
    assert 'href="/session?user=alice&amp;session=day-1&amp;turn=2#turn-2"' in page  # f3's source
    assert "evidence: asked for dinner ideas without meat" in page
    assert "confirmed</span> 2\u00d7" in page
    nurse = re.search(r'<article class="fact" id="fact-(f\d+)"[^>]*>(?:(?!</article>).)*'
                      r'Works as a nurse', page, re.S)
    assert nurse is not None
    block = page[nurse.start():page.index("</article>", nurse.start())]
    assert "superseded" in block and "Works at a bakery, early shifts" in block
    history = page[page.index('id="history"'):]
    assert "Works at a bakery, early shifts" in history and "new job" in history


def test_session_page_highlights_the_turn(client):
    page = client.get("/session?user=alice&session=day-1&turn=2").text
    assert '<li id="turn-2" class="turn highlight"' in page
    assert page.count("turn highlight") == 1
    assert "I don&#39;t eat meat" in page


def test_tree_page_shows_nodes_spans_and_verification(client):
    page = text_of(client.get("/tree?user=alice").text)
    assert "Verified" in page and "4 nodes" in page
    assert "S.day-1 session Monday 2 March 2026 3 turns" in page
    assert "root Monday 2 March 2026 to Wednesday 4 March 2026 3 children" in page


def test_recall_playground_shows_the_trace(client, workspace):
    page = client.get("/recall?user=alice&q=what+should+I+cook&budget=200").text
    assert 'id="part-tokens"' in page and 'id="items"' in page
    for part in ("framing", "standing instructions", "profile", "summaries", "turns"):
        assert f"<th>{part}</th>" in page
    assert "tree/session prior" in page and "over the" in page
    expected = workspace.manager("alice").recall("what should I cook", token_budget=200)
    shown = re.search(r'<pre class="context" id="context">(.*?)</pre>', page, re.S)
    assert shown is not None
    import html

    assert html.unescape(shown.group(1)) == expected.to_prompt()
    bad = client.get("/recall?user=alice&q=x&budget=lots")
    assert bad.status_code == 400 and "token budget" in bad.text


def test_sessions_page_shows_state_and_jobs(client):
    page = text_of(client.get("/sessions?user=alice").text)
    assert "day-1 3" in page and "summarised" in page


def test_unknown_user_and_session_are_404(client):
    assert client.get("/profile?user=nobody").status_code == 404
    assert client.get("/session?user=alice&session=nope").status_code == 404


# --- edits -----------------------------------------------------------------------------
def test_edit_a_fact_in_place(client, workspace):
    memory = workspace.manager("alice")
    version = memory.profile_version()
    response = post(client, "/profile/fact", user="alice", fact_id="f4",
                    text="Cooks every evening", base_version=str(version))
    assert response.status_code == 303
    assert memory.profile().get("f4").text == "Cooks every evening"
    assert memory.profile().get("f4").sources == ("day-1#1",)  # provenance kept
    assert memory.profile_version() == version + 1
    assert any(h.fact_id == "f4" and h.text == "Cooks most evenings"
               for h in memory.profile_history())
    page = client.get(response.headers["location"]).text
    assert 'value="Cooks every evening"' in page and 'id="saved"' in page


def test_an_edit_racing_a_background_update_is_refused(client, workspace):
    memory = workspace.manager("alice")
    version = memory.profile_version()

    def background(doc):
        return ExtractionOutcome([ProfileEdit(op="add", section="Goals", text="Run a marathon",
                                              sources=["day-3#2"])], [])

    memory.apply_profile_edits(background)  # lands first
    response = post(client, "/profile/fact", user="alice", fact_id="f4",
                    text="Cooks every evening", base_version=str(version))
    assert response.status_code == 409
    message = text_of(response.text)
    assert "Not saved: the profile changed since you opened it" in message
    assert f"now version {version + 1}; you started from version {version}" in message
    assert memory.profile().get("f4").text == "Cooks most evenings"
    assert "Run a marathon" in response.text  # the page shows the current profile


def test_add_and_remove_facts(client, workspace):
    memory = workspace.manager("alice")
    added = post(client, "/profile/add", user="alice", section="Goals",
                 text="Learn Italian", base_version=str(memory.profile_version()))
    assert added.status_code == 303
    fact = next(f for f in memory.profile().facts if f.text == "Learn Italian")
    assert fact.section == "Goals" and fact.sources == ("edit",)
    removed = post(client, "/profile/remove", user="alice", fact_id=fact.id,
                   base_version=str(memory.profile_version()))
    assert removed.status_code == 303 and memory.profile().get(fact.id) is None
    assert any(h.fact_id == fact.id for h in memory.profile_history())


def test_invalid_edits_are_refused_with_the_reason(client, workspace):
    memory = workspace.manager("alice")
    version = str(memory.profile_version())
    empty = post(client, "/profile/fact", user="alice", fact_id="f4", text="  ",
                 base_version=version)
    assert empty.status_code == 400 and "Not saved: the fact text is empty" in empty.text
    gone = post(client, "/profile/fact", user="alice", fact_id="f99", text="x",
                base_version=version)
    assert gone.status_code == 400 and "no fact" in gone.text
    broken = post(client, "/profile/edit", user="alice", markdown="- orphan bullet\n",
                  base_version=version)
    assert broken.status_code == 400 and "Not saved" in broken.text
    assert str(memory.profile_version()) == version


def test_whole_document_edit(client, workspace):
    memory = workspace.manager("alice")
    markdown = memory.profile_markdown().replace("Cooks most evenings", "Cooks on weekdays")
    response = post(client, "/profile/edit", user="alice", markdown=markdown,
                    base_version=str(memory.profile_version()))
    assert response.status_code == 303
    assert memory.profile().get("f4").text == "Cooks on weekdays"


# --- forgetting ------------------------------------------------------------------------
def test_forget_a_fact_with_confirmation(client, workspace):
    memory = workspace.manager("alice")
    confirm = client.get("/fact/forget?user=alice&fact=f3").text
    assert "Forget fact f3?" in confirm and "Vegetarian" in confirm
    assert memory.profile().get("f3") is not None  # nothing happens before confirming
    done = post(client, "/fact/forget", user="alice", fact_id="f3")
    assert done.status_code == 200
    removed = text_of(done.text)
    assert "from the profile: “Vegetarian” (Preferences)" in removed
    assert "summaries queued for rewriting: day-1" in removed
    assert memory.profile().get("f3") is None
    assert [h.text for h in memory.profile_history() if h.fact_id == "f3"] == ["(forgotten)"]
    memory.flush()
    assert "Vegetarian" not in client.get("/profile?user=alice").text


def test_forget_a_user_needs_the_typed_id(client, workspace):
    assert "Forget everything about" in client.get("/user/forget?user=alice").text
    wrong = post(client, "/user/forget", user="alice", confirm="alic")
    assert wrong.status_code == 400 and "alice" in workspace.users()
    done = post(client, "/user/forget", user="alice", confirm="alice")
    assert done.status_code == 200
    removed = text_of(done.text)
    assert "3 sessions and their 8 turns" in removed and "4 summary tree nodes" in removed
    assert "/profile?user=alice" not in done.text  # no links to pages that are gone
    assert "alice" not in workspace.users()
    assert ">alice</a>" not in client.get("/").text


# --- security --------------------------------------------------------------------------
def test_no_token_no_page(workspace):
    with TestClient(create_app(workspace, token=TOKEN), base_url=BASE) as c:
        assert c.get("/").status_code == 403
        assert c.get("/profile?user=alice").status_code == 403
        assert c.get("/?token=wrong").status_code == 403
        assert c.get("/static/inspector.css").status_code == 403
        assert c.post("/profile/fact", data={"csrf": csrf_value(TOKEN), "user": "alice"}
                      ).status_code == 403
        assert "Lyon" not in c.get("/profile?user=alice").text


def test_token_becomes_a_strict_cookie_and_leaves_the_url(workspace):
    with TestClient(create_app(workspace, token=TOKEN), base_url=BASE) as c:
        first = c.get(f"/profile?user=alice&token={TOKEN}", follow_redirects=False)
        assert first.status_code == 303 and first.headers["location"] == "/profile?user=alice"
        cookie = first.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        page = c.get(first.headers["location"]).text
        assert TOKEN not in page  # forms carry a derived CSRF value, not the token


def test_every_write_needs_the_csrf_field(client, workspace):
    memory = workspace.manager("alice")
    version = str(memory.profile_version())
    writes = {
        "/profile/fact": {"user": "alice", "fact_id": "f4", "text": "x", "base_version": version},
        "/profile/add": {"user": "alice", "section": "Goals", "text": "x",
                         "base_version": version},
        "/profile/remove": {"user": "alice", "fact_id": "f4", "base_version": version},
        "/profile/edit": {"user": "alice", "markdown": "# Profile\n", "base_version": version},
        "/fact/forget": {"user": "alice", "fact_id": "f4"},
        "/user/forget": {"user": "alice", "confirm": "alice"},
    }
    app_posts = {r.path for r in client.app.routes if "POST" in (getattr(r, "methods", None)
                                                                 or ())}
    assert app_posts == set(writes)
    for path, fields in writes.items():
        assert client.post(path, data=fields).status_code == 403, path
        assert client.post(path, data={**fields, "csrf": "0" * 64}).status_code == 403, path
        cross = client.post(path, data={**fields, "csrf": csrf_value(TOKEN)},
                            headers={"Origin": "http://evil.example"})
        assert cross.status_code == 403, path
        sites = client.post(path, data={**fields, "csrf": csrf_value(TOKEN)},
                            headers={"Sec-Fetch-Site": "cross-site"})
        assert sites.status_code == 403, path
    assert str(memory.profile_version()) == version and "alice" in workspace.users()
    assert memory.profile().get("f4").text == "Cooks most evenings"


def test_other_hosts_are_not_served(workspace):
    with TestClient(create_app(workspace, token=TOKEN), base_url="http://evil.example") as c:
        assert c.get(f"/?token={TOKEN}").status_code == 400


def test_pages_carry_a_strict_content_security_policy(client):
    headers = client.get("/profile?user=alice").headers
    policy = headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert headers["x-frame-options"] == "DENY" and headers["referrer-policy"] == "same-origin"


@pytest.mark.parametrize("path", [
    "/profile?user=alice", "/session?user=alice&session=day-2", "/tree?user=alice",
    "/recall?user=alice&q=note+script+instructions&budget=1500", "/fact/forget?user=alice&fact=f5",
])
def test_memory_text_is_escaped(client, path):
    page = client.get(path).text
    assert "<script>window" not in page and "<img src=x" not in page
    assert 'onerror="window' not in page
    assert "&lt;script&gt;window.__pwned = 1" in page
    assert "&lt;img src=x onerror=&#34;window.__pwned = 2&#34;&gt;" in page
    assert page.count("<script") == 1  # only the inspector's own file
    from markupsafe import escape

    assert str(escape(SCRIPT)) in page and str(escape(IMG)) in page  # shown, as text
    if "session=day-2" in path:
        assert str(escape(INJECTION)) in page


@pytest.mark.parametrize("user", ["../alice", "alice/../bob", "a/b", "%2e%2e%2falice", "", " ",
                                  "alice\x00", "x" * 200])
def test_bad_user_ids_are_refused(client, user):
    for page in ("/profile", "/tree", "/recall", "/sessions", "/session", "/user/forget"):
        response = client.get(page, params={"user": user, "session": "day-1"})
        assert response.status_code == 400, (page, user)
        assert "Lyon" not in response.text
    assert post(client, "/user/forget", user=user, confirm=user).status_code == 400


def test_dotted_ids_stay_in_their_own_scope(client, workspace):
    dots = client.get("/profile", params={"user": ".."}).text
    assert "Dot-dot user fact" in dots and "Lyon" not in dots and "Dotted user" not in dots
    dotted = client.get("/profile", params={"user": "a.b"}).text
    assert "Dotted user fact" in dotted and "Lyon" not in dotted
    assert "Dot-dot" not in client.get("/profile?user=alice").text
    done = post(client, "/user/forget", user="..", confirm="..")
    assert done.status_code == 200
    assert sorted(workspace.users()) == ["a.b", "alice"]
    assert workspace.manager("alice").profile().get("f1") is not None
