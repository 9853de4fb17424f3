"""MSC persona extraction: does the profile hold the persona facts the user revealed?

Multi-Session Chat (Xu et al., 2022, ParlAI) episodes are fed through the public
MemoryManager API; the profile's facts are then compared with the dataset's gold persona
summaries. One episode = one line of ``msc/msc_dialogue/session_<S>/<split>.txt``:

- **sessions**: each of its ``previous_dialogs`` is one session (dated ``time_back`` before the
  current one), then its ``dialog`` is the last session. Utterances alternate, Speaker 1
  first (checked against the persona summaries: even utterances are ``personas[0]``'s);
- **the user** is one of the two speakers (``--speaker``; by default chosen per episode by a
  seeded coin): their utterances are user messages, the other speaker's are the assistant's.
  Each user utterance is recorded with the reply that follows it; an opening line of the
  other speaker is not recorded (``record`` takes user-then-assistant exchanges, and profile
  extraction reads only user messages) and a last user line without a reply gets
  ``NO_REPLY``;
- **gold**: that speaker's persona summary sentences of every session: ``personas[k]`` of each
  previous dialog plus, for the current dialog, the per-utterance summaries of
  ``msc/msc_personasummary/session_<S>/<split>.txt`` (same ``initial_data_id``), split into
  sentences, exact duplicates (case, punctuation) removed;
- **facts**: ``MemoryManager.profile().facts`` after the last session, except the standing
  instructions section (rules for the assistant, not persona).

Matching rule: a fact and a gold sentence match when the cosine similarity of their E5
embeddings (``embed_documents``, the embedder the manager uses) is at least ``THRESHOLD``; a
fact whose value lists several items ("Likes: papaya, apple crumble") is also compared item by
item ("Likes: papaya", ...) and its best similarity counts.
Recall = gold sentences matched by some fact / gold sentences; precision = facts matching
some gold sentence / facts (both pooled over all episodes; an empty set scores 0).
``THRESHOLD`` is calibrated on a hand-checked sample (``--calibrate``).

    python -m benchmarks.eval_msc --threads 1                         # default model, 30 episodes
    python -m benchmarks.eval_msc --threads 1 --model qwen2.5-0.5b     # cost of the 0.5B model
    python -m benchmarks.eval_msc --fake-llm --episodes 2              # plumbing, no model
    python -m benchmarks.eval_msc --calibrate                          # threshold from the labels

The store is cached per model in ``benchmarks/cache/msc-<model>/`` (resumable: ended sessions
are skipped). Results per model merge into ``benchmarks/results/msc.json`` (+ ``msc.md``).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import random
import re
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.lib.ingesting import record_session
from benchmarks.lib.models import add_model_args, make_llm
from benchmarks.lib.paths import BENCHMARKS, CACHE, DEFAULT_DATA, RESULTS, cache_dir
from benchmarks.lib.results import describe, read_json, write_json
from memory_agent import Embedder, MemoryManager, ProfileDocument
from memory_agent.core.llm import LLM

LABELS = BENCHMARKS / "data" / "msc_match_labels.jsonl"
DEFAULT_MODEL_KEY = "default"

# Cosine similarity (E5 documents) at or above which a fact and a gold sentence state the
# same thing. Calibrated on the 111 hand-checked pairs in benchmarks/data/msc_match_labels.jsonl
# (agreement 0.892; of the rule's matches 80% are true, of the true matches it finds 57%);
# `python -m benchmarks.eval_msc --calibrate` recomputes it. See benchmarks/README.md.
THRESHOLD = 0.886

NO_REPLY = "(no reply: the conversation ended here)"
EXCLUDED_SECTIONS = frozenset({"Standing instructions"})
CURRENT_SESSION_AT = datetime(2024, 6, 1, 18, 0, tzinfo=timezone.utc)  # dates are relative
SECONDS_PER_UTTERANCE = 60


# --- episodes ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Session:
    id: str
    at: datetime
    utterances: tuple[str, ...]  # alternating, Speaker 1 first


@dataclass(frozen=True)
class Episode:
    id: str  # initial_data_id
    sessions: tuple[Session, ...]
    gold: tuple[tuple[str, ...], tuple[str, ...]]  # gold sentences of Speaker 1, Speaker 2


_ABBREVIATIONS = frozenset({"dr", "mr", "mrs", "ms", "st", "jr", "sr", "vs", "mt", "prof"})
_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*\s+")


def split_sentences(text: str) -> list[str]:
    """Sentences of a persona summary ("I like to read. I've read 20 books." -> two).

    A period after a title ("Dr. Seuss") does not end a sentence.
    """
    out: list[str] = []
    start = 0
    for end in _SENTENCE_END.finditer(text):
        before = re.findall(r"[A-Za-z]+$", text[start:end.start()])
        if before and before[0].lower() in _ABBREVIATIONS and text[end.start()] == ".":
            continue
        out.append(text[start:end.end()].strip())
        start = end.end()
    out.append(text[start:].strip())
    return [s for s in out if re.search(r"[A-Za-z0-9]", s)]


def _normal(sentence: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", sentence.lower().replace("\u2019", "'")))


def gold_sentences(summaries: Iterable[str]) -> tuple[str, ...]:
    """Persona summaries -> sentences, first occurrence kept of exact (normalised) repeats."""
    seen: set[str] = set()
    out: list[str] = []
    for summary in summaries:
        for sentence in split_sentences(summary):
            key = _normal(sentence)
            if key and key not in seen:
                seen.add(key)
                out.append(sentence)
    return tuple(out)


_TIME_PART = re.compile(r"(\d+)\s*(minute|hour|day|week|month|year)s?", re.IGNORECASE)
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400,
                 "month": 30 * 86400, "year": 365 * 86400}


def parse_time_back(text: str) -> timedelta:
    """'6 days 3 hours ago' -> 6 days 3 hours. Raises ValueError if no amount is found."""
    parts = _TIME_PART.findall(text)
    if not parts:
        msg = f"cannot read a time from {text!r}"
        raise ValueError(msg)
    return timedelta(seconds=sum(int(n) * _UNIT_SECONDS[u.lower()] for n, u in parts))


def current_gold(summary_record: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Per-speaker persona summaries of the current dialog (msc_personasummary record).

    Each utterance with a summary has ``problem_data.persona`` (or ``persona_text``);
    ``bot_0`` is Speaker 1.
    """
    by_speaker: tuple[list[str], list[str]] = ([], [])
    for utterance in summary_record["dialog"]:
        data = utterance.get("problem_data") or {}
        text = data.get("persona") or utterance.get("persona_text")
        if text:
            by_speaker[0 if utterance["id"] == "bot_0" else 1].append(text)
    return by_speaker


def parse_episode(record: dict[str, Any], summary_record: dict[str, Any],
                  *, now: datetime = CURRENT_SESSION_AT) -> Episode:
    """One msc_dialogue line (+ its msc_personasummary line) -> an Episode."""
    episode_id = record["metadata"]["initial_data_id"]
    if summary_record.get("initial_data_id") != episode_id:
        other = summary_record.get("initial_data_id")
        msg = f"persona summary of {other!r} given for {episode_id!r}"
        raise ValueError(msg)
    if len(summary_record["dialog"]) != len(record["dialog"]):
        msg = f"{episode_id}: the persona summary covers another dialog"
        raise ValueError(msg)
    sessions: list[Session] = []
    gold: tuple[list[str], list[str]] = ([], [])
    for k, previous in enumerate(record["previous_dialogs"], 1):
        at = now - parse_time_back(previous["time_back"])
        sessions.append(Session(f"s{k}", at, tuple(u["text"] for u in previous["dialog"])))
        for speaker in (0, 1):
            gold[speaker].extend(previous["personas"][speaker])
    sessions.append(Session(f"s{len(sessions) + 1}", now,
                            tuple(u["text"] for u in record["dialog"])))
    for speaker, texts in enumerate(current_gold(summary_record)):
        gold[speaker].extend(texts)
    return Episode(episode_id, tuple(sessions), (gold_sentences(gold[0]), gold_sentences(gold[1])))


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_episodes(data: Path, *, session: int = 3, split: str = "valid") -> list[Episode]:
    """Episodes of ``<data>/msc`` (or ``data`` itself if it holds msc_dialogue/), file order."""
    root = data / "msc" if (data / "msc").is_dir() else data
    dialogues = root / "msc_dialogue" / f"session_{session}" / f"{split}.txt"
    summaries = root / "msc_personasummary" / f"session_{session}" / f"{split}.txt"
    for path in (dialogues, summaries):
        if not path.is_file():
            msg = f"{path} not found (--data: a folder with msc/msc_dialogue, msc_personasummary)"
            raise SystemExit(msg)
    by_id = {r["initial_data_id"]: r for r in _read_jsonl(summaries)}
    episodes = []
    for record in _read_jsonl(dialogues):
        episode_id = record["metadata"]["initial_data_id"]
        if episode_id not in by_id:
            msg = f"{summaries} has no persona summary for {episode_id}"
            raise SystemExit(msg)
        episodes.append(parse_episode(record, by_id[episode_id]))
    return episodes


def select(n_records: int, k: int, *, seed: int, skip: int = 0) -> list[int]:
    """Indices ``skip`` .. ``skip + k`` of a seeded permutation of the records.

    Different ``skip`` ranges are disjoint: the calibration sample was drawn after the
    evaluation's episodes (``--skip 30``) of the same permutation.
    """
    order = list(range(n_records))
    random.Random(seed).shuffle(order)
    return order[skip:skip + k]


HALVES = ("tune", "check")


def half_of(position: int) -> str:
    """The half of the dev episodes an episode is in, by its position in the seeded order
    (:func:`select`): even positions are the tuning half, odd ones the check half. Rules may
    be written from the tuning half's episodes; the check half says whether they generalise.
    Any ``--episodes N`` thus takes about N/2 of each half, and a larger N grows both."""
    return HALVES[position % 2]


def select_half(n_records: int, k: int, *, seed: int, skip: int = 0,
                half: str = "all") -> list[tuple[int, int]]:
    """(position, record index) of positions ``skip`` .. ``skip + k`` of the seeded order
    (:func:`select`), only those of ``half`` ("tune", "check" or "all")."""
    chosen = select(n_records, k, seed=seed, skip=skip)
    return [(skip + i, r) for i, r in enumerate(chosen)
            if half == "all" or half_of(skip + i) == half]


def speaker_for(episode_id: str, *, seed: int, choice: str = "random") -> int:
    """0 (Speaker 1) or 1 (Speaker 2): fixed by ``choice`` or a coin seeded by the episode."""
    if choice in ("1", "2"):
        return int(choice) - 1
    return random.Random(f"{seed}:{episode_id}").randrange(2)


def exchanges(utterances: Sequence[str], speaker: int) -> list[tuple[str, str]]:
    """(user, assistant) pairs when the user is ``speaker`` (0: even utterances, 1: odd)."""
    out = []
    for i in range(speaker, len(utterances), 2):
        reply = utterances[i + 1] if i + 1 < len(utterances) else NO_REPLY
        out.append((utterances[i], reply))
    return out


def user_id_for(episode: Episode, speaker: int, *, session: int, split: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.@-]", "-", f"msc{session}-{split}-{episode.id}-spk{speaker + 1}")


# --- matching ------------------------------------------------------------------------------
@dataclass
class Score:
    n_gold: int = 0
    n_facts: int = 0
    recalled: int = 0  # gold sentences some fact matches
    precise: int = 0  # facts that match some gold sentence

    @property
    def recall(self) -> float:
        return self.recalled / self.n_gold if self.n_gold else 0.0

    @property
    def precision(self) -> float:
        return self.precise / self.n_facts if self.n_facts else 0.0

    def __iadd__(self, other: Score) -> Score:
        self.n_gold += other.n_gold
        self.n_facts += other.n_facts
        self.recalled += other.recalled
        self.precise += other.precise
        return self


def fact_views(fact: str) -> list[str]:
    """A fact's text, plus "Label: item" for each item of a comma-separated value.

    "Likes: papaya, apple crumble" -> itself, "Likes: papaya", "Likes: apple crumble": one
    profile bullet may list several things the gold states one sentence each.
    """
    label, sep, value = fact.partition(": ")
    items = [i.strip() for i in re.split(r"[,;]", value) if i.strip()] if sep else []
    return [fact, *(f"{label}: {i}" for i in items)] if len(items) > 1 else [fact]


def similarity_matrix(embedder: Embedder, facts: Sequence[str],
                      gold: Sequence[str]) -> np.ndarray:
    """facts x gold: the best cosine similarity of any view of the fact (:func:`fact_views`)
    with the gold sentence (E5 document vectors are unit length)."""
    if not facts or not gold:
        return np.zeros((len(facts), len(gold)), dtype=np.float32)
    views = [fact_views(f) for f in facts]
    flat = [v for vs in views for v in vs]
    v = np.asarray(embedder.embed_documents(flat), dtype=np.float32)
    g = np.asarray(embedder.embed_documents(list(gold)), dtype=np.float32)
    by_view = v @ g.T
    owner = np.repeat(np.arange(len(facts)), [len(vs) for vs in views])
    out = np.full((len(facts), len(gold)), -1.0, dtype=np.float32)
    np.maximum.at(out, owner, by_view)
    return out


def score(similarity: np.ndarray, threshold: float) -> Score:
    """Recall and precision counts from a facts x gold similarity matrix."""
    n_facts, n_gold = similarity.shape
    hits = similarity >= threshold
    return Score(n_gold=n_gold, n_facts=n_facts,
                 recalled=int(hits.any(axis=0).sum()) if n_facts else 0,
                 precise=int(hits.any(axis=1).sum()) if n_gold else 0)


def persona_facts(doc: ProfileDocument) -> list[str]:
    return [f.text for f in doc.facts if f.section not in EXCLUDED_SECTIONS]


def nearest_pairs(facts: Sequence[str], gold: Sequence[str],
                  similarity: np.ndarray) -> list[dict[str, Any]]:
    """Each fact with its nearest gold sentence and each gold sentence with its nearest fact
    (the pairs the rule decides on), without repeats: candidates for hand labelling."""
    pairs: dict[tuple[int, int], str] = {}
    if similarity.size:
        for i in range(len(facts)):
            pairs.setdefault((i, int(similarity[i].argmax())), "fact->gold")
        for j in range(len(gold)):
            pairs.setdefault((int(similarity[:, j].argmax()), j), "gold->fact")
    return [{"fact": facts[i], "gold": gold[j], "similarity": round(float(similarity[i, j]), 4),
             "direction": d} for (i, j), d in pairs.items()]


# --- calibration ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Calibration:
    threshold: float
    agreement: float  # share of labelled pairs the rule decides as the label does
    precision: float  # of the pairs the rule matches, the share labelled a match
    recall: float  # of the pairs labelled a match, the share the rule matches
    n: int
    n_positive: int


def rule_agreement(scores: Sequence[float], labels: Sequence[int],
                   threshold: float) -> Calibration:
    predicted = [s >= threshold for s in scores]
    tp = sum(p and bool(y) for p, y in zip(predicted, labels, strict=True))
    n_pred, n_pos = sum(predicted), sum(1 for y in labels if y)
    agree = sum(p == bool(y) for p, y in zip(predicted, labels, strict=True))
    return Calibration(threshold=threshold, agreement=agree / len(labels) if labels else 0.0,
                       precision=tp / n_pred if n_pred else 0.0,
                       recall=tp / n_pos if n_pos else 0.0, n=len(labels), n_positive=n_pos)


def calibrate(scores: Sequence[float], labels: Sequence[int]) -> Calibration:
    """The threshold that agrees most with the hand labels.

    Candidates are midpoints between consecutive distinct scores (and the ends); when several
    tie, the middle one of them is taken. Rounded to 3 decimals.
    """
    if not scores:
        msg = "no labelled pairs to calibrate on"
        raise ValueError(msg)
    distinct = sorted(set(scores))
    candidates = ([distinct[0] - 1e-3]
                  + [(a + b) / 2 for a, b in itertools.pairwise(distinct)]
                  + [distinct[-1] + 1e-3])
    results = [rule_agreement(scores, labels, t) for t in candidates]
    best = max(r.agreement for r in results)
    tied = [r.threshold for r in results if r.agreement == best]
    return rule_agreement(scores, labels, round(tied[len(tied) // 2], 3))


def load_labels(path: Path) -> list[dict[str, Any]]:
    rows = _read_jsonl(path)
    for n, row in enumerate(rows, 1):
        if row.get("label") not in (0, 1) or not row.get("fact") or not row.get("gold"):
            msg = f"{path}:{n}: each line needs fact, gold and label (0 or 1)"
            raise ValueError(msg)
    return rows


def label_scores(embedder: Embedder, rows: Sequence[dict[str, Any]]) -> list[float]:
    """The rule's similarity for each labelled pair, recomputed with ``embedder``."""
    return [float(similarity_matrix(embedder, [r["fact"]], [r["gold"]])[0, 0]) for r in rows]


# --- ingestion -----------------------------------------------------------------------------
@dataclass
class SessionCost:
    seconds: float
    model_seconds: float
    model_calls: int
    prompt_tokens: int
    completion_tokens: int
    turns: int


def ingest_episode(memory: MemoryManager, episode: Episode, speaker: int, llm: LLM,
                   report: Callable[[str, SessionCost], None]) -> None:
    """Record and end every session not ended yet (resumable mid-session too)."""
    ended = {s.session_id for s in memory.sessions() if s.ended}
    for session in episode.sessions:
        if session.id in ended:
            continue
        pairs = exchanges(session.utterances, speaker)
        seconds, used = record_session(memory, llm, session.id, [
            (user, assistant,
             session.at + timedelta(seconds=SECONDS_PER_UTTERANCE * 2 * (i - 1)))
            for i, (user, assistant) in enumerate(pairs, 1)])
        report(session.id, SessionCost(
            seconds=seconds, model_seconds=used.seconds, model_calls=used.calls,
            prompt_tokens=used.prompt_tokens, completion_tokens=used.completion_tokens,
            turns=len(pairs)))


def profile_only() -> contextlib.ExitStack:
    """While entered, ending a session runs only its profile update: the session summary and
    the roll-ups are skipped (the profile step reads neither)."""
    from unittest import mock

    from memory_agent.engine import update_jobs

    stack = contextlib.ExitStack()
    for name in ("summarize_session", "rollup"):
        stack.enter_context(mock.patch.object(update_jobs, name, lambda *a, **k: None))
    return stack


# --- results -------------------------------------------------------------------------------
def cost_summary(sessions: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Mean (and median seconds) per session of the measured sessions."""
    if not sessions:
        return {"sessions_measured": 0}

    def mean(key: str) -> float:
        return round(statistics.fmean(s[key] for s in sessions), 1)

    return {"sessions_measured": len(sessions), "model_calls": mean("model_calls"),
            "prompt_tokens": mean("prompt_tokens"),
            "completion_tokens": mean("completion_tokens"), "seconds": mean("seconds"),
            "seconds_median": round(statistics.median(s["seconds"] for s in sessions), 1),
            "model_seconds": mean("model_seconds"), "turns": mean("turns")}


TOP_LEVEL = ("recall", "precision", "n", "n_episodes", "n_gold", "n_facts", "model")


def merge_results(old: dict[str, Any], model: str, entry: dict[str, Any]) -> dict[str, Any]:
    """Put ``entry`` under ``by_model[model]``; the top level shows the default model's
    figures (or, until it has run, the model just run). Other models' entries stay."""
    by_model = dict(old.get("by_model", {}))
    by_model[model] = entry
    top_key = DEFAULT_MODEL_KEY if DEFAULT_MODEL_KEY in by_model else model
    top = by_model[top_key]
    merged: dict[str, Any] = {"what": old.get("what", WHAT)}
    merged.update({k: top[k] for k in TOP_LEVEL})
    merged["threshold"] = top["threshold"]
    merged["cost"] = {m: e["cost"] for m, e in by_model.items()}
    merged["by_model"] = by_model
    merged["_run"] = top["_run"]
    return merged


WHAT = ("MSC persona extraction: profile facts after all sessions of an episode vs the user "
        "speaker's gold persona sentences; match = E5 cosine >= threshold; recall over gold "
        "sentences, precision over facts (pooled); n = gold sentences; cost per ingested session")


def markdown_table(results: dict[str, Any]) -> str:
    lines = [
        "| model | episodes | gold sentences | facts | recall | precision | model calls / session "
        "| prompt tokens / session | completion tokens / session | seconds / session |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for model, e in results["by_model"].items():
        c = e["cost"]
        lines.append(
            f"| {model} | {e['n_episodes']} | {e['n_gold']} | {e['n_facts']} | "
            f"{e['recall']:.2f} | {e['precision']:.2f} | {c.get('model_calls', '-')} | "
            f"{c.get('prompt_tokens', '-')} | {c.get('completion_tokens', '-')} | "
            f"{c.get('seconds', '-')} |")
    return "\n".join(lines) + "\n"


def markdown_page(results: dict[str, Any]) -> str:
    commands = "".join(f"- {m}: `{e['_run']['command']}` ({e['_run']['date']}, "
                       f"{e['_run']['wall_seconds'] / 60:.0f} min)\n"
                       for m, e in results["by_model"].items())
    return (f"# MSC persona extraction\n\nMatch: E5 cosine >= {results['threshold']} "
            "(see benchmarks/eval_msc.py). Recall over gold persona sentences, precision over "
            "profile facts; cost per ingested session.\n\n"
            f"{markdown_table(results)}\n{commands}")


def half_scores(per_episode: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Pooled recall and precision of each half's episodes (the halves present)."""
    out: dict[str, dict[str, Any]] = {}
    for name in HALVES:
        rows = [e for e in per_episode if e.get("half") == name]
        if not rows:
            continue
        s = Score()
        for e in rows:
            s += Score(e["n_gold"], e["n_facts"], e["recalled"], e["precise"])
        out[name] = {"n_episodes": len(rows), "recall": round(s.recall, 4),
                     "precision": round(s.precision, 4), "n_gold": s.n_gold,
                     "n_facts": s.n_facts, "recalled": s.recalled, "precise": s.precise}
    return out


# --- command line --------------------------------------------------------------------------
@dataclass
class Run:
    score: Score = field(default_factory=Score)
    per_episode: list[dict[str, Any]] = field(default_factory=list)
    pairs: list[dict[str, Any]] = field(default_factory=list)
    facts: list[dict[str, Any]] = field(default_factory=list)


def run_calibration(args: argparse.Namespace) -> None:
    from memory_agent import E5Embedder

    rows = load_labels(args.labels)
    scores = label_scores(E5Embedder(), rows)
    labels = [int(r["label"]) for r in rows]
    best = calibrate(scores, labels)
    current = rule_agreement(scores, labels, THRESHOLD)
    for name, c in (("calibrated", best), ("THRESHOLD in eval_msc.py", current)):
        print(f"{name}: threshold {c.threshold:.3f}: agreement {c.agreement:.3f}, "
              f"precision {c.precision:.3f}, recall {c.recall:.3f} "
              f"on {c.n} pairs ({c.n_positive} labelled a match)")
    if abs(best.threshold - THRESHOLD) > 1e-9:
        print(f"set THRESHOLD = {best.threshold} in benchmarks/eval_msc.py to use it")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="folder holding msc/ (default: ../shared/data)")
    parser.add_argument("--session", type=int, default=3,
                        help="msc_dialogue/session_<N> file: N-1 previous sessions + one")
    parser.add_argument("--split", default="valid", help="file name without .txt")
    parser.add_argument("--episodes", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip", type=int, default=0,
                        help="start at this position of the seeded order (calibration: 30)")
    parser.add_argument("--speaker", choices=["random", "1", "2"], default="random")
    parser.add_argument("--half", choices=["all", *HALVES], default="all",
                        help="only the tuning half (even positions of the seeded order) or "
                             "the check half (odd positions) of the selected episodes")
    parser.add_argument("--replay", action="store_true",
                        help="no model calls: every model reply comes from the recording "
                             "(--llm-cache) of an earlier run, into a fresh in-memory store, "
                             "so a change to the rules acting on the model's output is "
                             "re-scored in a minute (fails on a request not recorded)")
    parser.add_argument("--profile-only", action="store_true",
                        help="end_session runs only the profile step (no session summary, no "
                             "roll-ups): the profile does not read them, so the facts are the "
                             "same at about half the model time; cost figures then cover the "
                             "profile step only")
    parser.add_argument("--llm-cache", type=Path, default=None,
                        help="model replies recorded/replayed here (default: "
                             "<cache>/msc-<model>/llm_calls.jsonl)")
    add_model_args(parser, fake_help="no model: plumbing check")
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--out", type=Path, default=None,
                        help="results JSON (merged per model; a .md table is written beside "
                             "it; default results/msc.json, not written on --replay unless "
                             "given)")
    parser.add_argument("--sample-pairs", type=Path, default=None,
                        help="also write (fact, nearest gold) pairs here, for hand labelling")
    parser.add_argument("--calibrate", action="store_true",
                        help="recompute the threshold from the labelled pairs and exit")
    parser.add_argument("--labels", type=Path, default=LABELS)
    args = parser.parse_args()
    if args.calibrate:
        run_calibration(args)
        return

    from benchmarks.lib.llm_cache import RecordingLLM
    from memory_agent import ChromaStore, E5Embedder, InMemoryStore

    started = time.perf_counter()
    model = "fake" if args.fake_llm else (args.model or DEFAULT_MODEL_KEY)
    out_dir = cache_dir(args.cache, "msc", model)
    out_dir.mkdir(parents=True, exist_ok=True)
    episodes = load_episodes(args.data, session=args.session, split=args.split)
    positions = select_half(len(episodes), args.episodes, seed=args.seed, skip=args.skip,
                            half=args.half)
    chosen = [episodes[i] for _, i in positions]
    half_by_id = {episodes[i].id: half_of(p) for p, i in positions}
    total = sum(len(e.sessions) for e in chosen)
    print(f"MSC session_{args.session}/{args.split}: {len(chosen)} of {len(episodes)} episodes, "
          f"{total} sessions, model {model}, cache {out_dir}", flush=True)
    llm_cache = args.llm_cache or out_dir / "llm_calls.jsonl"
    llm = RecordingLLM(make_llm(fake=args.fake_llm, model=args.model, threads=args.threads),
                       llm_cache, replay_only=args.replay)
    print(f"model replies: {len(llm)} recorded in {llm_cache}"
          f"{' (replay only)' if args.replay else ''}", flush=True)
    store = InMemoryStore() if args.replay else ChromaStore.persistent(out_dir / "chroma")
    embedder = E5Embedder()
    stats_path = (out_dir / "ingest_stats_replay.json" if args.replay
                  else out_dir / "ingest_stats.json")
    if args.replay and stats_path.exists():
        stats_path.unlink()
    stats = json.loads(stats_path.read_text()) if stats_path.exists() else {"sessions": {}}
    run = Run()
    if args.profile_only:
        profile_only().__enter__()  # for the rest of the process
    measured: list[dict[str, Any]] = []
    done = 0
    for episode in chosen:
        speaker = speaker_for(episode.id, seed=args.seed, choice=args.speaker)
        user = user_id_for(episode, speaker, session=args.session, split=args.split)
        memory = MemoryManager(user_id=user, store=store, llm=llm, embedder=embedder,
                               background=False)

        def report(session_id: str, cost: SessionCost, user: str = user) -> None:
            stats["sessions"][f"{user}/{session_id}"] = {
                k: round(v, 1) if isinstance(v, float) else v for k, v in vars(cost).items()}
            stats_path.write_text(json.dumps(stats, indent=1))
            print(f"  {user}/{session_id}: {cost.turns} turns, {cost.seconds:.0f} s "
                  f"({cost.model_calls} model calls, {cost.prompt_tokens} prompt tokens); "
                  f"elapsed {(time.perf_counter() - started) / 60:.1f} min", flush=True)

        ingest_episode(memory, episode, speaker, llm, report)
        facts = persona_facts(memory.profile())
        memory.close()
        done += len(episode.sessions)
        measured += [stats["sessions"][f"{user}/{s.id}"] for s in episode.sessions
                     if f"{user}/{s.id}" in stats["sessions"]]
        gold = episode.gold[speaker]
        similarity = similarity_matrix(embedder, facts, gold)
        s = score(similarity, THRESHOLD)
        run.score += s
        run.per_episode.append({"episode": episode.id, "half": half_by_id[episode.id],
                                "speaker": speaker + 1, "n_gold": s.n_gold,
                                "n_facts": s.n_facts, "recalled": s.recalled,
                                "precise": s.precise})
        run.facts.append({"episode": episode.id, "half": half_by_id[episode.id],
                          "facts": facts, "gold": list(gold),
                          "fact_matches": [float(x) for x in similarity.max(axis=1)]
                          if similarity.size else [0.0] * len(facts),
                          "gold_matches": [float(x) for x in similarity.max(axis=0)]
                          if similarity.size else [0.0] * len(gold)})
        if args.sample_pairs is not None:
            for pair in nearest_pairs(facts, gold, similarity):
                run.pairs.append({"episode": episode.id, **pair})
        print(f"[{done}/{total}] {user}: {s.n_facts} facts, {s.n_gold} gold: "
              f"recall {s.recall:.2f}, precision {s.precision:.2f}", flush=True)
    wall = time.perf_counter() - started
    total_score = run.score
    print(f"recall {total_score.recall:.3f} ({total_score.recalled}/{total_score.n_gold} gold), "
          f"precision {total_score.precision:.3f} ({total_score.precise}/{total_score.n_facts} "
          f"facts), threshold {THRESHOLD}", flush=True)
    halves = half_scores(run.per_episode)
    for name, h in halves.items():
        print(f"  {name} half: {h['n_episodes']} episodes, recall {h['recall']:.3f} "
              f"({h['recalled']}/{h['n_gold']}), precision {h['precision']:.3f} "
              f"({h['precise']}/{h['n_facts']})", flush=True)
    print(f"model replies: {llm.hits} replayed, {llm.misses} from the model", flush=True)
    facts_path = out_dir / ("facts_replay.json" if args.replay else "facts.json")
    write_json(facts_path, run.facts)
    print(f"wrote the facts and gold of every episode to {facts_path}")
    if args.sample_pairs is not None:
        args.sample_pairs.write_text("".join(json.dumps(p) + "\n" for p in run.pairs))
        print(f"wrote {len(run.pairs)} pairs to {args.sample_pairs}")
    cost = cost_summary(measured)
    print(f"cost per session ({model}): {json.dumps(cost)}")
    if args.fake_llm:
        print("fake model: results not written")
        return
    if args.out is None and args.replay:
        print("replay: results not written (give --out to write them)")
        return
    out: Path = args.out or RESULTS / "msc.json"
    entry = {
        "model": model, "recall": round(total_score.recall, 4),
        "precision": round(total_score.precision, 4), "n": total_score.n_gold,
        "n_what": "gold persona sentences (recall's denominator; precision's is n_facts)",
        "n_episodes": len(chosen), "n_gold": total_score.n_gold, "n_facts": total_score.n_facts,
        "threshold": THRESHOLD, "halves": halves,
        "macro_recall": round(statistics.fmean(
            e["recalled"] / e["n_gold"] for e in run.per_episode if e["n_gold"]), 4)
        if any(e["n_gold"] for e in run.per_episode) else 0.0,
        "cost": {**cost, "what": "mean per ingested session (record + end_session), "
                 "sessions ingested in earlier runs included from the cache's stats"},
        "selection": {"file": f"msc_dialogue/session_{args.session}/{args.split}.txt",
                      "seed": args.seed, "skip": args.skip, "speaker": args.speaker,
                      "half": args.half, "replay": args.replay,
                      "profile_only": args.profile_only,
                      "episodes": [f"{e['episode']}/spk{e['speaker']}" for e in run.per_episode]},
        "per_episode": run.per_episode,
        "_run": {**describe(), "wall_seconds": round(wall, 1),
                 "llm": getattr(llm, "name", model), "threads": args.threads},
    }
    results = merge_results(read_json(out), model, entry)
    write_json(out, results)
    out.with_suffix(".md").write_text(markdown_page(results))
    print(f"wrote {out} and {out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
