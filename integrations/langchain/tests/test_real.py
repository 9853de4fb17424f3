"""End to end on the REAL local model (llama.cpp, memory-agent's default GGUF), E5 embeddings
and embedded Chroma. Marked ``real`` (they run in CI; skip locally with ``-m "not real"``).

Kept short (small prompts, ``max_tokens`` small) so the whole file fits in a few minutes
on 2 cores. Assertions on the model's wording are limited to what a 1.5B model says
reliably; the memory that was injected is checked exactly.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompt_values import PromptValue
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda
from memory_agent import ChromaStore, E5Embedder, LlamaCppLLM, MemoryManager

from langchain_memory_agent import ChatLocalLlama, ManagerPool, with_memory

pytestmark = pytest.mark.real
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
MARK = "--- memory used ---"


def run_example(*args: str) -> tuple[str, str]:
    """Run offline_agent.py in a new process; (answer, memory block it injected)."""
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False", "PYTHONWARNINGS": "ignore"}
    started = time.monotonic()
    done = subprocess.run([sys.executable, str(EXAMPLES / "offline_agent.py"), *args],
                          capture_output=True, text=True, timeout=900, cwd=EXAMPLES, env=env,
                          check=False)
    print(f"offline_agent.py took {time.monotonic() - started:.0f}s")
    assert done.returncode == 0, done.stderr[-3000:]
    answer, sep, memory = done.stdout.partition(MARK)
    assert sep, done.stdout
    return answer.strip(), memory.strip()


def test_offline_agent_remembers_across_two_processes(tmp_path: Path) -> None:
    """Two runs of the example, two processes, one data dir, the real default model."""
    data = str(tmp_path / "data")
    common = ("--data-dir", data, "--max-tokens", "24", "--show-memory")
    _, memory1 = run_example(*common, "Hi! I live in Lyon and I am vegetarian.")
    assert memory1 == "(none)"  # a new user: nothing to inject
    answer, memory2 = run_example(*common, "--keep-session", "Which city do I live in?")
    print("answer:", answer, "\nmemory:", memory2)
    assert "Lyon" in memory2  # recalled from the first process's run (turn and/or profile)
    assert "lyon" in answer.lower()
    # the first session was ended in process 1: its summary and profile are on disk
    manager = MemoryManager.open("alice", data_dir=data, background=False, resume=False)
    try:  # (the model is loaded lazily: not here)
        sessions = manager.sessions()
        assert len(sessions) == 2 and sessions[0].ended and not sessions[1].ended
        node = manager.tree().session_node(sessions[0].session_id)
        assert node is not None
        assert "lyon" in (manager.profile_markdown() + node.summary).lower()
    finally:
        manager.close()


@pytest.fixture(scope="module")
def llm() -> Iterator[LlamaCppLLM]:
    model = LlamaCppLLM()
    yield model
    model.close()


def test_lcel_chain_with_memory_on_the_real_model(tmp_path: Path, llm: LlamaCppLLM) -> None:
    pool = ManagerPool(lambda user_id: MemoryManager(
        user_id=user_id, store=ChromaStore.persistent(tmp_path / "chroma"), llm=llm,
        embedder=E5Embedder(), background=False))
    prompts: list[str] = []

    def spy(value: PromptValue) -> PromptValue:
        prompts.append(value.to_string())
        return value

    prompt = ChatPromptTemplate.from_messages(
        [("system", "You are a helpful assistant. Answer in one short sentence.\n\n{memory}"),
         ("human", "{input}")])
    model = ChatLocalLlama(llm=llm, max_tokens=24)
    chain = with_memory(prompt | RunnableLambda(spy) | model | StrOutputParser(), pool,
                        token_budget=300)
    day1: Any = {"configurable": {"user_id": "priya", "session_id": "day-1"}}
    day2: Any = {"configurable": {"user_id": "priya", "session_id": "day-2"}}
    try:
        first = chain.invoke({"input": "My dog is called Biscuit."}, config=day1)
        assert first.strip()
        streamed = "".join(chain.stream({"input": "What is my dog called?"}, config=day2))
        print("answer:", streamed)
        assert "Biscuit" in prompts[-1]  # day 1 was recalled into day 2's prompt
        assert "biscuit" in streamed.lower()
        turns = pool.get("priya").store.get_turns("priya")
        assert [(t.session_id, t.user_message) for t in turns] == [
            ("day-1", "My dog is called Biscuit."), ("day-2", "What is my dog called?")]
        assert turns[1].assistant_message == streamed.strip()
    finally:
        pool.close()


def test_local_model_streams_tokens_and_calls_a_memory_tool(tmp_path: Path,
                                                            llm: LlamaCppLLM) -> None:
    """Real streaming (many chunks), and an agent on the local model using a memory tool."""
    from langchain.agents import create_agent

    from langchain_memory_agent import memory_tools

    chunks = list(ChatLocalLlama(llm=llm, max_tokens=16).stream("Count from 1 to 5."))
    assert len(chunks) > 3 and "".join(str(c.content) for c in chunks).strip()

    pool = ManagerPool(lambda user_id: MemoryManager(
        user_id=user_id, store=ChromaStore.persistent(tmp_path / "chroma"), llm=llm,
        embedder=E5Embedder(), background=False))
    try:
        agent = create_agent(ChatLocalLlama(llm=llm, max_tokens=120),
                             tools=memory_tools(pool, include=("remember_fact",)))
        agent.invoke({"messages": [("user", "Please remember that I'm allergic to peanuts.")]},
                     config={"configurable": {"user_id": "ravi"}, "recursion_limit": 6})
        assert "peanut" in pool.get("ravi").profile_markdown().lower()
    finally:
        pool.close()
