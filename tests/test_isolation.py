"""Isolation: many users, interleaved sessions, one store: nobody sees another user's memory."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from memory_agent import HashingEmbedder, InMemoryStore, MemoryManager
from memory_agent.backends.store.chroma import ChromaStore
from memory_agent.core.store import MemoryStore

from .fakes import TaskLLM, scripted_extraction

USERS = [f"user{i}" for i in range(6)]
SEED = 4242


def secret(user: str) -> str:
    return f"zq{user}token"  # a word only this user ever says


@pytest.fixture(params=["memory", "chroma"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> MemoryStore:
    return InMemoryStore() if request.param == "memory" else ChromaStore.persistent(tmp_path / "c")


def test_randomized_users_never_see_each_other(store: MemoryStore, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    managers = {
        u: MemoryManager(user_id=u, store=store, embedder=HashingEmbedder(), background=False,
                         llm=TaskLLM([scripted_extraction({"hobbies": secret(u)})] * 10))
        for u in USERS
    }
    open_sessions: dict[str, int] = dict.fromkeys(USERS, 0)
    for _ in range(90):  # interleaved: users take turns at random, sessions end at random
        user = rng.choice(USERS)
        session = f"s{open_sessions[user]}"  # the same session ids for every user
        managers[user].record(f"My hobby is {secret(user)} and today was fine.",
                              "Nice.", session_id=session)
        if rng.random() < 0.25:
            managers[user].end_session(session)
            open_sessions[user] += 1
    others = {u: [secret(v) for v in USERS if v != u] for u in USERS}
    for user, memory in managers.items():
        for query in [secret(user), *rng.sample(others[user], 2), "hobby today fine"]:
            prompt = memory.recall(f"what about {query}?", token_budget=2000).to_prompt()
            leaked = [s for s in others[user] if s in prompt]
            assert not leaked, (user, query, leaked)
        assert secret(user) in memory.recall(secret(user), token_budget=2000).to_prompt()
        archive = memory.export(tmp_path / "exports" / user)
        dumped = "".join(p.read_text() for p in archive.iterdir())
        assert not [s for s in others[user] if s in dumped]
        assert json.loads((archive / "manifest.json").read_text())["user_id"] == user
        assert all(t.user_id == user for t in store.get_turns(user))
    for memory in managers.values():
        memory.close()


def test_langchain_retriever_and_tools_stay_in_their_user(store: MemoryStore) -> None:
    lc = pytest.importorskip("langchain_memory_agent")
    managers = {u: MemoryManager(user_id=u, store=store, llm=TaskLLM(),
                                 embedder=HashingEmbedder(), background=False)
                for u in USERS[:4]}
    for user, memory in managers.items():
        for n in range(3):
            memory.record(f"I collect {secret(user)} number {n}", "ok", session_id="s1")
    for user, memory in managers.items():
        others = [secret(v) for v in managers if v != user]
        retriever = lc.MemoryRetriever(manager=memory, k=20)
        for query in [*others, secret(user)]:
            docs = retriever.invoke(f"do I collect {query}?")
            text = " ".join(d.page_content for d in docs)
            assert not [s for s in others if s in text], (user, query)
        search = next(t for t in lc.memory_tools(memory) if isinstance(t, lc.SearchMemoryTool))
        out = str(search.invoke({"query": " ".join(others)}))
        assert not [s for s in others if s in out]
