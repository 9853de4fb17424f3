"""The profile regression set (benchmarks/regression) on the default local model.

Every expectation not marked ``known_failure`` in its conversation file must pass. Slow (a
dozen model calls): marked ``real``. ``python -m benchmarks.regression`` prints the same
checks with the profiles."""

from __future__ import annotations

import pytest

from benchmarks import regression as rg
from benchmarks.regression.__main__ import run_conversation
from memory_agent import HashingEmbedder, LlamaCppLLM

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def llm():
    model = LlamaCppLLM(n_threads=1)
    yield model
    model.close()


@pytest.mark.parametrize("conversation", rg.load_conversations(), ids=lambda c: c.id)
def test_conversation_meets_its_expectations(conversation: rg.Conversation, llm) -> None:
    facts, messages, markdown = run_conversation(conversation, llm, HashingEmbedder())
    failed = [o for o in rg.check_all(conversation, facts, messages)
              if not o.passed and not o.expectation.known_failure]
    assert not failed, "\n".join([f"{o.expectation.what}: {o.why}" for o in failed] + [markdown])
