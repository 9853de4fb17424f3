"""Loading LoCoMo and REALTALK conversations (same schema family) for the benchmarks.

A conversation is a list of dated sessions of messages between two people. To replay it
through ``MemoryManager.record(user_message, assistant_message)``, each session is cut into
exchanges: a run of consecutive messages by one speaker, then the next speaker's run (names
kept in the text, e.g. "Caroline: ..."). Each message keeps its ``dia_id`` so evidence can be
scored verbatim.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from benchmarks.lib.paths import DEFAULT_DATA

NO_REPLY = "(no reply)"
DATASETS = ("locomo", "realtalk")
HALVES = ("tune", "check")
SPLIT_SEED = 0  # the one split of the dev conversations into a tuning and a check half


def add_dataset_args(parser: argparse.ArgumentParser) -> None:
    """``--dataset`` (required) and ``--data``, the folder holding it."""
    parser.add_argument("--dataset", choices=list(DATASETS), required=True)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)


@dataclass(frozen=True)
class Message:
    dia_id: str
    speaker: str
    text: str
    at: datetime


@dataclass(frozen=True)
class Session:
    id: str  # "s1", "s2", ... (valid memory-agent session ids)
    at: datetime
    messages: list[Message]


@dataclass(frozen=True)
class QA:
    question: str
    answer: str
    evidence: list[str]
    category: int


@dataclass
class Conversation:
    dataset: str
    id: str
    sessions: list[Session]
    qa: list[QA]
    messages: dict[str, Message] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.messages = {m.dia_id: m for s in self.sessions for m in s.messages}


@dataclass(frozen=True)
class Exchange:
    user: str
    assistant: str
    at: datetime
    dia_ids: tuple[str, ...]


def _text(raw: dict[str, object], key: str) -> str:
    text = str(raw.get(key) or "").strip()
    caption = raw.get("blip_caption")
    if caption:
        text = f"{text} [shares a photo: {caption}]".strip()
    return " ".join(text.split())


def _locomo_time(value: str) -> datetime:
    # "1:56 pm on 8 May, 2023"
    return datetime.strptime(value.strip(), "%I:%M %p on %d %B, %Y").replace(tzinfo=timezone.utc)


def _realtalk_time(value: str) -> datetime:
    # "29.12.2023, 22:42:04"
    return datetime.strptime(value.strip(), "%d.%m.%Y, %H:%M:%S").replace(tzinfo=timezone.utc)


def _numbered(keys: Iterable[str]) -> list[int]:
    return sorted(int(m.group(1)) for k in keys if (m := re.fullmatch(r"session_(\d+)", k)))


def _qa(items: list[dict[str, object]]) -> list[QA]:
    out = []
    for q in items:
        answer = q.get("answer", q.get("adversarial_answer", ""))
        evidence = [str(e) for e in q.get("evidence", []) or []]  # type: ignore[union-attr]
        out.append(QA(str(q["question"]), str(answer), evidence, int(q.get("category", 0))))  # type: ignore[call-overload]
    return out


def load_locomo(path: Path) -> list[Conversation]:
    records = json.loads(path.read_text())
    conversations = []
    for record in records:
        conv = record["conversation"]
        sessions = []
        for n in _numbered(conv):
            start = _locomo_time(conv[f"session_{n}_date_time"])
            messages = [
                Message(m["dia_id"], m["speaker"], _text(m, "text"),
                        start + timedelta(seconds=30 * i))
                for i, m in enumerate(conv[f"session_{n}"])
            ]
            sessions.append(Session(f"s{n}", start, messages))
        conversations.append(
            Conversation("locomo", record["sample_id"], sessions, _qa(record["qa"])))
    return conversations


def load_realtalk(paths: Iterable[Path]) -> list[Conversation]:
    conversations = []
    for path in sorted(paths):
        data = json.loads(path.read_text())
        sessions = []
        for n in _numbered(data):
            raw = data[f"session_{n}"]
            if not raw:
                continue
            messages = [
                Message(m["dia_id"], str(m["speaker"]).capitalize(), _text(m, "clean_text"),
                        _realtalk_time(m["date_time"]))
                for m in raw
            ]
            key = f"session_{n}_date_time"
            start = _realtalk_time(data[key]) if key in data else messages[0].at
            sessions.append(Session(f"s{n}", start, messages))
        conv_id = path.stem.replace("_", "-").lower()
        conversations.append(Conversation("realtalk", conv_id, sessions, _qa(data.get("qa", []))))
    return conversations


def load(dataset: str, data_dir: Path) -> list[Conversation]:
    if dataset == "locomo":
        return load_locomo(data_dir / "locomo" / "locomo_dev.json")
    if dataset == "realtalk":
        return load_realtalk((data_dir / "realtalk").glob("Chat_*.json"))
    msg = f"unknown dataset {dataset!r} (locomo, realtalk)"
    raise ValueError(msg)


def exchanges(session: Session) -> list[Exchange]:
    """Cut a session into (run of one speaker, next speaker's run) exchanges."""
    runs: list[list[Message]] = []
    for message in session.messages:
        if not message.text:
            continue
        if runs and runs[-1][0].speaker == message.speaker:
            runs[-1].append(message)
        else:
            runs.append([message])

    def said(run: list[Message]) -> str:
        return f"{run[0].speaker}: " + " ".join(m.text for m in run)

    out = []
    for i in range(0, len(runs), 2):
        first = runs[i]
        second = runs[i + 1] if i + 1 < len(runs) else None
        ids = tuple(m.dia_id for m in first + (second or []))
        out.append(Exchange(said(first), said(second) if second else NO_REPLY, first[0].at, ids))
    return out


def halves(conversations: Iterable[Conversation], seed: int = SPLIT_SEED) -> dict[str, str]:
    """Conversation id -> ``"tune"`` or ``"check"``: a seeded shuffle of the ids, the first
    half (rounded up) to tune on, the rest only to check. Tune rules and settings on the
    first; report both (a change earns its place only if the check half agrees)."""
    ids = sorted(c.id for c in conversations)
    random.Random(seed).shuffle(ids)
    cut = (len(ids) + 1) // 2
    return {cid: HALVES[0] if i < cut else HALVES[1] for i, cid in enumerate(ids)}
