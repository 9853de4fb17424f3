"""The scripted demo: a user reveals facts mostly implicitly over several sessions; then
questions that need memory are answered with and without it, side by side."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from memory_agent.apps.chat import answer
from memory_agent.engine.manager import MemoryManager

Say = Callable[[str], None]


@dataclass(frozen=True)
class DemoQuestion:
    question: str
    expected: tuple[str, ...]  # any of these in the answer counts as remembering...
    forbidden: tuple[str, ...] = ()  # ...unless the answer also contains one of these

    def remembered(self, answer: str) -> bool:
        text = answer.lower()
        return any(e in text for e in self.expected) and not any(f in text for f in self.forbidden)


SESSIONS: list[tuple[str, datetime, list[tuple[str, str]]]] = [
    ("mon-evening", datetime(2026, 3, 2, 19, 5, tzinfo=timezone.utc), [
        ("Quick dinner idea for tonight? No meat or fish for me, as usual.",
         "How about a chickpea and spinach curry with rice? About 25 minutes."),
        ("Great. Also my daughter Maya turns 7 on Saturday and right now she only eats pasta.",
         "Happy early birthday to Maya! A tomato pasta bar could be a fun party dish."),
        ("Keep your answers short please, I read them on my phone between shifts.",
         "Understood: short answers from now on."),
    ]),
    ("thu-morning", datetime(2026, 3, 5, 5, 50, tzinfo=timezone.utc), [
        ("I have to leave the house at 6:30 for my 7am shift at the hospital. "
         "Any breakfast I can eat on the bus?",
         "Overnight oats in a jar or a banana with peanut butter toast travel well."),
        ("As a nurse manager I barely get a lunch break. "
         "Something I can pack the night before, no meat again?",
         "A lentil and feta salad or a veggie wrap keeps well overnight."),
    ]),
    ("sun-afternoon", datetime(2026, 3, 8, 15, 30, tzinfo=timezone.utc), [
        ("We moved to Lyon last month. Where do people here usually buy fresh vegetables?",
         "The Croix-Rousse market and the Quai Saint-Antoine market are favourites."),
        ("Maya's party went great, the tomato pasta was a hit!",
         "Wonderful, glad Maya enjoyed her party."),
        ("I'm training for the Lyon half marathon in October, running three times a week.",
         "Nice goal! A plan with one long run and two easy runs a week works well."),
    ]),
]

SESSION_IDS = frozenset(session_id for session_id, _, _ in SESSIONS)

QUESTIONS: list[DemoQuestion] = [
    DemoQuestion("What should I cook for dinner tonight?",
                 ("vegetarian", "vegan", "meat-free", "meatless", "no meat", "tofu", "lentil",
                  "chickpea", "veggie"),
                 ("chicken", "beef", "pork", "salmon", "tuna", "shrimp", "bacon", "steak",
                  "turkey", "lamb", "ham ", "fish")),
    DemoQuestion("How old is my daughter turning, and what's her name?", ("maya",)),
    DemoQuestion("What time do I have to leave home on shift days?",
                 ("6:30", "6.30", "six thirty")),
    DemoQuestion("Which race am I training for?", ("half marathon", "half-marathon")),
]


def play(memory: MemoryManager, say: Say) -> None:
    """Record the scripted sessions; end each one (update work shows progress)."""
    for n, (session_id, start, turns) in enumerate(SESSIONS, start=1):
        say(f"\n== Session {n}/{len(SESSIONS)}: {session_id} ({start:%a %d %b %Y}) ==")
        for i, (user, assistant) in enumerate(turns):
            at = start.replace(minute=min(59, start.minute + 2 * i))
            memory.record(user, assistant, session_id=session_id, at=at)
            say(f"  user: {user}\n  assistant: {assistant}")
        t0 = time.perf_counter()
        memory.end_session(session_id)
        say(f"  (session ended; memory updated in {time.perf_counter() - t0:.1f} s)")


def print_tree(memory: MemoryManager, say: Say) -> None:
    tree = memory.tree()
    root = tree.root
    if root is None:
        say("(empty tree)")
        return

    def show(node_id: str, depth: int) -> None:
        node = tree.get(node_id)
        span = f"{node.start:%Y-%m-%d}..{node.end:%Y-%m-%d}"
        label = (f"session {node.session_id}" if node.level == 1
                 else f"{node.id} (level {node.level})")
        say(f"{'  ' * depth}- {label} [{span}]: {node.summary[:220]}")
        if node.level > 1:
            for child in node.children:
                show(child, depth + 1)

    show(root.id, 0)


def run(memory: MemoryManager, say: Say = print) -> dict[str, object]:
    """Play the demo on ``memory`` (a fresh user); return timings and the scores."""
    started = time.perf_counter()
    play(memory, say)
    failures = memory.flush()
    for failure in failures:
        say(f"  ! update failed: {failure.error}")
    say("\n== Profile document ==")
    say(memory.profile_markdown())
    say("== Summary tree ==")
    print_tree(memory, say)
    say("\n== Questions that need memory: answers without and with memory ==")
    remembered = {"without": 0, "with": 0}
    for q in QUESTIONS:
        context = memory.recall(q.question, token_budget=800)
        plain = answer(memory.llm, q.question, None)
        helped = answer(memory.llm, q.question, context)
        hit_plain = q.remembered(plain)
        hit_helped = q.remembered(helped)
        remembered["without"] += hit_plain
        remembered["with"] += hit_helped
        say(f"\nQ: {q.question}   (memory context: {context.tokens_used} tokens)")
        say(f"  without memory [{'ok' if hit_plain else '--'}]: {plain}")
        say(f"  with memory    [{'ok' if hit_helped else '--'}]: {helped}")
    elapsed = time.perf_counter() - started
    say(f"\nRemembered: {remembered['with']}/{len(QUESTIONS)} with memory, "
        f"{remembered['without']}/{len(QUESTIONS)} without (answer contains the expected detail).")
    say(f"Demo wall time: {elapsed:.0f} s")
    return {"seconds": elapsed, **remembered, "questions": len(QUESTIONS)}
