"""PrefEval: does a small local reader follow a preference revealed many turns earlier?

PrefEval (Zhao et al., "Do LLMs Recognize Your Preferences?", ICLR 2025) reveals a user's
preference in a conversation, inserts N unrelated chat turns, then asks a question whose good
answer depends on the preference. Here the question is the benchmark's multiple-choice form
(``mcq_options/*.json``: four options, the FIRST one is the preference-following answer; they
are shuffled per record with a fixed seed, the same order for every form and system).

Forms (what reveals the preference; same records in each):
- ``explicit``: the user states it (``explicit_preference``: ``preference``); the assistant
  answers with the fixed acknowledgement ``ACK``. (PrefEval lets the evaluated model write
  that reply; a fixed one keeps the history identical for every system and costs no calls.)
- ``choice``: ``implicit_preference/choice-based``: the user asks, the assistant lists options,
  the user picks one and says why, the assistant acknowledges (2 turns).
- ``persona``: ``implicit_preference/persona-driven``: 4-7 turns of a persona's chat in which
  the preference comes up in passing.

A **turn** is one user message plus the assistant's reply: one ``MemoryManager.record()`` call,
as in PrefEval (N inter turns = 2N messages). Distractor turns are PrefEval's own: the
conversations of ``filtered_inter_turns.json`` concatenated in file order, so the first N
turns are exactly the N turns PrefEval inserts (at most 316 turns in the dev file).

How histories are built (amortised; one history per form, shared by all its questions):
1. each selected record's revealing conversation is its own session (``pref-<topic>-<i>``),
   in the order of the record selection, one session per simulated day;
2. then the distractor turns, in sessions of ``--session-size`` (10) turns, also cut at every
   checkpoint N (ids ``distract-<first>-<end>``), one session per day;
3. at each checkpoint N in ``--distractors`` (0, 10, 70, 300) every selected record's question
   is asked, so the question of a record revealed in session k comes after the later records'
   reveal sessions and N distractor turns. Exchanges within a session are 2 minutes apart.

Systems, all read by the same local model (``LlamaCppLLM``, ``n_ctx`` 4,096, temperature 0,
at most ``ANSWER_TOKENS`` answer tokens), all with the same system prompt and question:
- ``no_memory``: the question and options only (does not depend on form or N: asked once per
  record, the same cell is reported under every form and N);
- ``raw_history``: the history as chat messages, the most recent whole turns that fit in the
  context window with the longest question of the run and the answer (the same window for
  every question at a (form, N), so llama.cpp reuses its prefix);
- ``memory_agent``: memory-agent fed the same history (``record``, ``end_session``: summaries,
  tree and profile really made by the model), then ``recall(question + options,
  token_budget=--budget)`` put in the system prompt;
- ``ceiling``: the explicit preference and ``ACK`` just before the question (PrefEval's
  explicit form at N = 0): reported under form ``explicit``, N ``0`` only.

Accuracy per (system, form, N) with Wilson 95% intervals, the reader's mean prompt tokens, and
the goal check (at N >= 70, memory_agent within 5 points of the ceiling and 15 points above
raw_history) go to ``results/prefeval.json`` (cells of other forms/systems already there are
kept) and a table to ``results/prefeval.md``.

Resumable: the store lives in ``<cache>/prefeval-<model>/`` (ended sessions are skipped) and
answers in its ``answers.jsonl`` keyed by (system, form, N, record, prompt hash).

    python -m benchmarks.eval_prefeval --threads 1                  # 40 records, all forms
    python -m benchmarks.eval_prefeval --records 2 --forms explicit --distractors 0,10 \\
        --out /tmp/prefeval.json --cache /tmp/prefeval-cache --threads 1   # smoke run
    python -m benchmarks.eval_prefeval --fake-llm --out /tmp/p.json --cache /tmp/c  # plumbing

Forms can run in parallel (each with its own ``--cache`` and ``--out``, ``--threads 1``); then
``--merge A.json B.json`` merges their results into ``--out`` (later files win a cell).
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.lib.answers import AnswerCache, prompt_sha, prompt_tokens
from benchmarks.lib.ingesting import record_session, session_stats
from benchmarks.lib.models import add_model_args, make_llm
from benchmarks.lib.paths import CACHE, DEFAULT_DATA, RESULTS, cache_dir
from benchmarks.lib.results import describe, read_json, write_json
from benchmarks.lib.stats import wilson
from memory_agent.backends.llm.fake import FakeLLM
from memory_agent.core.config import MemoryConfig
from memory_agent.core.llm import LLM
from memory_agent.core.text import content_words
from memory_agent.core.types import Message
from memory_agent.errors import ModelError

if TYPE_CHECKING:
    from memory_agent.core.embedder import Embedder
    from memory_agent.core.store import MemoryStore
    from memory_agent.engine.manager import MemoryManager

FORMS = ("explicit", "choice", "persona")
FORM_DIRS = {
    "explicit": "explicit_preference",
    "choice": "implicit_preference/choice-based",
    "persona": "implicit_preference/persona-driven",
}
MCQ_DIR = "mcq_options"
DISTRACTOR_FILE = "filtered_inter_turns.json"
SYSTEMS = ("ceiling", "no_memory", "raw_history", "memory_agent")
DISTRACTORS = (0, 10, 70, 300)
LETTERS = "ABCD"
GOAL_MIN_N = 70
GOAL_CEILING_GAP = 0.05
GOAL_RAW_MARGIN = 0.15

ACK = "Thanks for telling me. I'll keep that in mind."
READER_SYSTEM = "You are a helpful assistant."
MCQ_TEMPLATE = (
    "{question}\n\n"
    "I'm trying to decide on this, and here are 4 options:\n{options}\n\n"
    "Pick the one option (A, B, C or D) that best matches my preferences. "
    "Answer with the letter only."
)
ANSWER_TOKENS = 16
MESSAGE_OVERHEAD = 6  # chat-template tokens around one message (estimate; checked exactly)
START = datetime(2024, 3, 4, 9, 0, tzinfo=timezone.utc)
EXCHANGE_GAP = timedelta(minutes=2)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
HISTORY_NOTE = (
    "One history per form: each selected record's revealing conversation is its own session "
    "(in selection order, one per simulated day); then PrefEval's distractor turns "
    "(filtered_inter_turns.json concatenated in file order) in sessions of {size} turns, also "
    "cut at every checkpoint; at each checkpoint N every selected record's question is asked. "
    "A turn is one user message + the assistant's reply (one record() call). Explicit form: "
    "the assistant's reply to the stated preference is the fixed acknowledgement {ack!r}."
)


# -- data (pure) ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Exchange:
    user: str
    assistant: str


@dataclass(frozen=True)
class Record:
    id: str  # "<topic>/<index in the dev file>"
    topic: str
    preference: str  # the explicit form's statement
    question: str
    options: tuple[str, ...]  # as in mcq_options: the first is the preference-following one
    reveal: dict[str, tuple[Exchange, ...]] = field(compare=False)


def prefeval_dir(data: Path) -> Path:
    """``data/prefeval`` if it exists (``--data ../shared/data``), else ``data`` itself."""
    return data / "prefeval" if (data / "prefeval").is_dir() else data


def sanitize(text: str) -> str:
    """Text with control characters (which ``record()`` rejects) replaced by spaces."""
    return _CONTROL.sub(" ", text)


def choice_exchanges(conversation: dict[str, str]) -> tuple[Exchange, ...]:
    return (Exchange(conversation["query"], conversation["assistant_options"]),
            Exchange(conversation["user_selection"], conversation["assistant_acknowledgment"]))


def persona_exchanges(conversation: dict[str, dict[str, str]]) -> tuple[Exchange, ...]:
    return tuple(Exchange(turn["user"], turn["assistant"])
                 for _, turn in sorted(conversation.items(), key=lambda kv: int(kv[0])))


def _read(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text())
    if not isinstance(data, list):
        msg = f"{path}: expected a JSON list of records"
        raise ValueError(msg)
    return data


def load_records(root: Path) -> list[Record]:
    """Records present (same index, same question) in the MCQ file and all three forms."""
    mcq_files = sorted((root / MCQ_DIR).glob("*.json"))
    if not mcq_files:
        msg = f"no {MCQ_DIR}/*.json under {root}: pass the PrefEval folder (or its parent)"
        raise FileNotFoundError(msg)
    records: list[Record] = []
    for path in mcq_files:
        topic = path.stem
        mcq = _read(path)
        by_form = {f: _read(root / d / path.name) for f, d in FORM_DIRS.items()}
        for i, item in enumerate(mcq):
            rows = {f: items[i] for f, items in by_form.items() if i < len(items)}
            options = tuple(item.get("classification_task_options") or ())
            if (len(rows) < len(FORMS) or len(options) != len(LETTERS)
                    or any(r.get("question") != item["question"] for r in rows.values())):
                continue
            reveal = {
                "explicit": (Exchange(rows["explicit"]["preference"], ACK),),
                "choice": choice_exchanges(rows["choice"]["conversation"]),
                "persona": persona_exchanges(rows["persona"]["conversation"]),
            }
            records.append(Record(id=f"{topic}/{i}", topic=topic,
                                  preference=rows["explicit"]["preference"],
                                  question=item["question"], options=options, reveal=reveal))
    return records


def load_distractors(root: Path) -> list[Exchange]:
    """PrefEval's inter turns: all conversations' messages in file order, paired into turns
    (a user message and the assistant message right after it)."""
    messages = [m for conv in _read(root / DISTRACTOR_FILE) for m in conv["conversation"]]
    turns: list[Exchange] = []
    for first, second in itertools.pairwise(messages):
        if first["role"] == "user" and second["role"] == "assistant":
            user, assistant = sanitize(first["content"]), sanitize(second["content"])
            if user.strip() and assistant.strip():
                turns.append(Exchange(user, assistant))
    return turns


def select_records(records: Sequence[Record], n: int, seed: int) -> list[Record]:
    """``n`` records spread evenly over the topics (at most one more from any topic than
    from another), chosen and ordered by a seeded RNG: round-robin over shuffled topics."""
    rng = random.Random(seed)
    by_topic: dict[str, list[Record]] = defaultdict(list)
    for record in sorted(records, key=lambda r: r.id):
        by_topic[record.topic].append(record)
    topics = sorted(by_topic)
    rng.shuffle(topics)
    for topic in topics:
        rng.shuffle(by_topic[topic])
    picked: list[Record] = []
    depth = 0
    while len(picked) < n and any(len(by_topic[t]) > depth for t in topics):
        for topic in topics:
            if len(picked) < n and len(by_topic[topic]) > depth:
                picked.append(by_topic[topic][depth])
        depth += 1
    return picked


def shuffle_options(record: Record, seed: int) -> tuple[list[str], str]:
    """The record's options in a seeded order and the letter of the correct (first) one."""
    order = list(range(len(record.options)))
    random.Random(f"prefeval-options:{seed}:{record.id}").shuffle(order)
    return [record.options[i] for i in order], LETTERS[order.index(0)]


def mcq_text(question: str, options: Sequence[str]) -> str:
    lines = "\n".join(f"{LETTERS[i]}. {opt}" for i, opt in enumerate(options))
    return MCQ_TEMPLATE.format(question=question, options=lines)


def recall_query(question: str, options: Sequence[str]) -> str:
    """What memory-agent is asked to recall for: the question and its options."""
    return question + "\n" + "\n".join(f"{LETTERS[i]}. {o}" for i, o in enumerate(options))


# -- answers (pure) ---------------------------------------------------------------------------

_TAGGED = re.compile(r"<choice>\s*\(?\s*([A-Da-d])\b")
_ONLY_LETTER = re.compile(r"^[\W_]*([A-Da-d])[\W_]*$")
_LEADING = re.compile(r"^[\W_]*([A-D])(?:[.):\]*,]|\s*$|\s+-)")
_PHRASE = re.compile(
    r"(?i:\b(?:answer|choice|option|recommendation|recommend|pick|choose|go with|select)\b)"
    r"[\s:*\"'(]*(?:(?i:is|would be|be)\b[\s:*\"'(]*)?(?:(?i:option)\s*)?\(?([A-D])\b"
)
_OPTION_WORD = re.compile(r"\b(?i:option|choice)\s*\(?([a-d])\b")
_LOOSE = re.compile(r"(?<![A-Za-z])(?:([B-D])(?![A-Za-z'])|(A)(?=[.):\]]|\s*$))")


def _normalized(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", text.lower()).split())


def parse_choice(text: str, options: Sequence[str] = ()) -> str | None:
    """The letter (A-D) a reader's answer picks, or None if it picks none.

    In order: ``<choice>X``; the answer is a lone letter; a leading letter with a delimiter
    ("B.", "(C)", "**D**"); "answer is X" / "option X"; exactly one option's text quoted; the
    first standalone B-D (or an "A" followed by punctuation: not the article).
    """
    text = text.strip()
    for pattern in (_TAGGED, _ONLY_LETTER, _LEADING, _PHRASE, _OPTION_WORD):
        found = pattern.search(text)
        if found:
            return found.group(1).upper()
    if options:
        said = _normalized(text)
        quoted = [LETTERS[i] for i, o in enumerate(options) if _normalized(o) and
                  _normalized(o) in said]
        if len(quoted) == 1:
            return quoted[0]
    loose = _LOOSE.search(text)
    if loose:
        return (loose.group(1) or loose.group(2)).upper()
    return None


def lexical_choice(messages: Sequence[Message], json_schema: dict[str, Any] | None) -> str:
    """A fake reader for ``--fake-llm``: the option sharing most content words with what
    precedes the question (ties: the earliest letter). Plumbing only, not a model."""
    question = messages[-1]["content"]
    context = content_words(" ".join(m["content"] for m in messages[:-1]))
    options = re.findall(r"^([A-D])\. (.+)$", question, flags=re.MULTILINE)
    if not options:
        return "A"
    best = max(options, key=lambda o: (len(content_words(o[1]) & context), -ord(o[0])))
    return str(best[0])


# -- history (pure) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedSession:
    id: str
    exchanges: tuple[Exchange, ...]
    at: datetime  # time of its first exchange
    distractors: int  # distractor turns in the history once this session is recorded
    record: str | None = None  # the record it reveals (None for distractor sessions)

    def times(self) -> list[datetime]:
        return [self.at + i * EXCHANGE_GAP for i in range(len(self.exchanges))]


def chunk_bounds(total: int, checkpoints: Iterable[int], size: int) -> list[tuple[int, int]]:
    """[start, end) of distractor sessions: every ``size`` turns and at every checkpoint."""
    cuts = {*range(size, total, size), *(c for c in checkpoints if 0 < c < total), total}
    bounds: list[tuple[int, int]] = []
    start = 0
    for cut in sorted(cuts):
        if cut > start:
            bounds.append((start, cut))
            start = cut
    return bounds


def session_id_for(record_id: str) -> str:
    return "pref-" + re.sub(r"[^A-Za-z0-9_.@-]", "-", record_id)[:120]


def plan_history(records: Sequence[Record], form: str, distractors: Sequence[Exchange],
                 checkpoints: Sequence[int], session_size: int,
                 start: datetime = START) -> list[PlannedSession]:
    """The sessions of one form's history, in order (see the module docstring)."""
    total = max(checkpoints, default=0)
    if total > len(distractors):
        msg = f"{total} distractor turns asked for, only {len(distractors)} in the data"
        raise ValueError(msg)
    plan = [PlannedSession(session_id_for(r.id), r.reveal[form], start + timedelta(days=k), 0,
                           r.id) for k, r in enumerate(records)]
    for j, (a, b) in enumerate(chunk_bounds(total, checkpoints, session_size)):
        plan.append(PlannedSession(f"distract-{a}-{b}", tuple(distractors[a:b]),
                                   start + timedelta(days=len(records) + j), b))
    return plan


def history_at(plan: Sequence[PlannedSession], n: int) -> list[Exchange]:
    """Every exchange recorded once the history holds ``n`` distractor turns."""
    return [ex for s in plan if s.distractors <= n for ex in s.exchanges]


def fit_recent(costs: Sequence[int], budget: int) -> int:
    """Start of the longest suffix of ``costs`` whose sum is at most ``budget``."""
    used, start = 0, len(costs)
    for i in range(len(costs) - 1, -1, -1):
        if used + costs[i] > budget:
            break
        used += costs[i]
        start = i
    return start


def ingested_prefix(plan_ids: Sequence[str], stored: dict[str, bool]) -> int:
    """How many planned sessions are already recorded and ended, given ``stored``
    ({session id: ended}). Raises ValueError if the store does not hold a prefix of the plan
    (another selection, seed or data was ingested there: use another cache)."""
    unknown = sorted(set(stored) - set(plan_ids))
    if unknown:
        msg = (f"the cache holds sessions this run does not plan ({', '.join(unknown[:3])}...): "
               "another --records/--seed/--data/--session-size; use another --cache")
        raise ValueError(msg)
    done = 0
    while done < len(plan_ids) and stored.get(plan_ids[done]):
        done += 1
    later = [pid for pid in plan_ids[done + 1:] if pid in stored]
    if later:
        msg = f"the cache holds {later[0]} but not the sessions before it; use another --cache"
        raise ValueError(msg)
    return done


# -- results (pure) ---------------------------------------------------------------------------


def cell(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy, n, Wilson 95% interval and mean prompt tokens of answered questions."""
    n = len(rows)
    right = sum(1 for r in rows if r["choice"] == r["correct"])
    lo, hi = wilson(right, n)
    out: dict[str, Any] = {
        "accuracy": round(right / n, 4) if n else 0.0, "n": n,
        "ci95": [round(lo, 4), round(hi, 4)],
        "prompt_tokens": round(sum(r["prompt_tokens"] for r in rows) / n, 1) if n else 0.0,
        "unparsed": sum(1 for r in rows if r["choice"] is None),
        "reader_seconds": round(sum(r.get("seconds", 0.0) for r in rows) / n, 2) if n else 0.0,
    }
    context = [r["context_tokens"] for r in rows if "context_tokens" in r]
    if context:
        out["context_tokens"] = round(sum(context) / len(context), 1)
    return out


def goals(results: dict[str, Any]) -> dict[str, Any]:
    """The issue's targets at N >= 70, per form: within 5 points of the ceiling and 15 points
    above raw history (on whatever cells ``results`` holds)."""
    ceiling = results.get("ceiling", {}).get("explicit", {}).get("0")
    out: dict[str, Any] = {}
    for form, cells in sorted(results.get("memory_agent", {}).items()):
        for n, ma in sorted(cells.items(), key=lambda kv: int(kv[0])):
            raw = results.get("raw_history", {}).get(form, {}).get(n)
            if int(n) < GOAL_MIN_N or ceiling is None or raw is None:
                continue
            out.setdefault(form, {})[n] = {
                "memory_agent": ma["accuracy"], "ceiling": ceiling["accuracy"],
                "raw_history": raw["accuracy"],
                "within_5_of_ceiling": ma["accuracy"] >= ceiling["accuracy"] - GOAL_CEILING_GAP
                - 1e-9,
                "15_above_raw": ma["accuracy"] >= raw["accuracy"] + GOAL_RAW_MARGIN - 1e-9,
            }
    return out


def merge_results(existing: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``existing`` with ``new``'s cells replacing the same (system, form, N) ones; other
    cells kept; ``_run`` is the new run's (earlier runs summarised in it); goals recomputed."""
    out = {k: v for k, v in existing.items() if not k.startswith("_")}
    for system, forms in new.items():
        if system.startswith("_"):
            continue
        for form, cells in forms.items():
            out.setdefault(system, {}).setdefault(form, {}).update(cells)
    out["_goals"] = goals(out)
    run = dict(new.get("_run", {}))
    previous = existing.get("_run")
    if previous:
        summary = {k: previous.get(k) for k in (
            "command", "date", "git_commit", "forms", "distractors", "records_selected", "seed",
            "config_overrides", "ingest_totals_all_runs", "profile_tokens_at_checkpoint")}
        run["earlier_runs"] = [*previous.get("earlier_runs", []), summary]
    out["_run"] = run
    return out


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def render_table(results: dict[str, Any]) -> str:
    """A Markdown table: one row per (system, form), one column per N."""
    ns = sorted({int(n) for s, forms in results.items() if not s.startswith("_")
                 for cells in forms.values() for n in cells})
    systems = [s for s in SYSTEMS if s in results] + sorted(
        s for s in results if s not in SYSTEMS and not s.startswith("_"))
    head = "| system | form | " + " | ".join(f"N = {n}" for n in ns) + " |"
    lines = [head, "|" + "---|" * (2 + len(ns))]
    for system in systems:
        forms = results[system]
        for form in [f for f in FORMS if f in forms] + sorted(set(forms) - set(FORMS)):
            row = [system, form]
            for n in ns:
                c = forms[form].get(str(n))
                row.append("" if c is None else
                           f"{_pct(c['accuracy'])} ({_pct(c['ci95'][0])}-{_pct(c['ci95'][1])}),"
                           f" n={c['n']}, {c['prompt_tokens']:.0f} tok")
            lines.append("| " + " | ".join(row) + " |")
    out = ["Accuracy % (Wilson 95% interval), questions, reader prompt tokens (mean).", "",
           *lines]
    goal_rows = results.get("_goals") or {}
    if goal_rows:
        out += ["", "| goal (N ≥ 70) | form | N | memory_agent | ceiling | raw_history | "
                "within 5 of ceiling | 15 above raw |", "|---|---|---|---|---|---|---|---|"]
        for form, by_n in goal_rows.items():
            for n, g in by_n.items():
                out.append(f"| | {form} | {n} | {_pct(g['memory_agent'])} | "
                           f"{_pct(g['ceiling'])} | {_pct(g['raw_history'])} | "
                           f"{'yes' if g['within_5_of_ceiling'] else 'no'} | "
                           f"{'yes' if g['15_above_raw'] else 'no'} |")
    return "\n".join(out) + "\n"


def results_page(results: dict[str, Any]) -> str:
    """The Markdown page written beside the results JSON: every run's command, then the table."""
    run = results.get("_run", {})
    runs = [*run.get("earlier_runs", []), run]
    commands = "\n".join(f"- `{r.get('command')}` ({r.get('date')}; forms "
                          f"{', '.join(r.get('forms') or [])}; N {r.get('distractors')})"
                          for r in runs if r.get("command"))
    return ("# PrefEval (multiple choice), written by benchmarks/eval_prefeval.py\n\n"
            f"Reader {run.get('reader')}, n_ctx {run.get('n_ctx')}. Runs merged here (a later "
            f"run's cells replace an earlier one's):\n\n{commands}\n\n"
            f"{run.get('history', '')}\n\n{render_table(results)}")


def merge_files(paths: Sequence[Path], out: Path) -> dict[str, Any]:
    """Merge results files (e.g. one per form, run in parallel) into ``out``, in order."""
    merged = read_json(out)
    for path in paths:
        merged = merge_results(merged, json.loads(path.read_text()))
    return merged


def write_results(results: dict[str, Any], out: Path) -> None:
    write_json(out, results)
    out.with_suffix(".md").write_text(results_page(results))


# -- running ----------------------------------------------------------------------------------


def _question_key(row: dict[str, Any]) -> tuple[str, str, int, str]:
    """An answer's question: (system, form, N, record); with the prompt hash, its cache key."""
    return (row["system"], row["form"], int(row["n"]), row["record"])


@dataclass
class Settings:
    forms: tuple[str, ...] = FORMS
    distractors: tuple[int, ...] = DISTRACTORS
    budget: int = 1000
    n_ctx: int = 4096
    session_size: int = 10
    limit_questions: int | None = None
    seed: int = 0


class Bench:
    """One run: histories recorded through MemoryManager and questions asked at checkpoints.

    Backends are passed in (``main`` builds the real ones; tests pass fakes). The memory's
    model and the reader may be the same instance.
    """

    def __init__(self, *, records: Sequence[Record], distractors: Sequence[Exchange],
                 settings: Settings, store: MemoryStore, embedder: Embedder, memory_llm: LLM,
                 reader: LLM, workdir: Path, config: MemoryConfig | None = None,
                 log: Callable[[str], None] = print) -> None:
        self.records = list(records)
        self.asked = self.records[:settings.limit_questions]
        self.distractors = list(distractors)
        self.s = settings
        self.store, self.embedder, self.memory_llm, self.reader = (store, embedder, memory_llm,
                                                                   reader)
        self.workdir = workdir
        self.config = config or MemoryConfig()
        self.log = log
        self.answers = AnswerCache(
            workdir / "answers.jsonl", key=lambda row: (*_question_key(row), row["sha"]),
            question=_question_key)
        self.stats_path = workdir / "ingest_stats.json"
        self.ingest_stats: dict[str, Any] = (json.loads(self.stats_path.read_text())
                                             if self.stats_path.exists() else {"sessions": {}})
        self.shuffled = {r.id: shuffle_options(r, settings.seed) for r in self.records}
        self.rows: dict[tuple[str, str, int], list[dict[str, Any]]] = defaultdict(list)
        self.phases: dict[str, float] = {}
        self.profile_sizes: dict[str, dict[str, int]] = defaultdict(dict)
        self.started = time.perf_counter()
        self.new_answers = 0
        self._costs: dict[str, int] = {}
        self._longest: tuple[int, Record] | None = None

    # -- helpers ----------------------------------------------------------------------------
    def elapsed(self) -> str:
        return f"{(time.perf_counter() - self.started) / 60:.1f} min"

    def prompt_tokens(self, messages: Sequence[Message]) -> int:
        """The reader's prompt tokens; a fake reader's estimate counts the template too."""
        return prompt_tokens(self.reader, messages, overhead=MESSAGE_OVERHEAD)

    def question(self, record: Record) -> str:
        return mcq_text(record.question, self.shuffled[record.id][0])

    def ask(self, system: str, form: str, n: int, record: Record, messages: list[Message],
            extra: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """The reader's answer (cached or new) as a row; None if it could not be made."""
        sha = prompt_sha(self.reader, messages)
        options, correct = self.shuffled[record.id]
        row = self.answers.get((system, form, n, record.id, sha))
        if row is not None:  # parse again: the parser may have improved since
            row = {**row, "choice": parse_choice(row["answer"], options)}
        else:
            t0 = time.perf_counter()
            try:
                text = self.reader.complete(messages, max_tokens=ANSWER_TOKENS,
                                            temperature=0.0)
            except ModelError as error:
                self.log(f"  ! {system} {form} N={n} {record.id}: {error}")
                return None
            seconds = time.perf_counter() - t0
            row = {"system": system, "form": form, "n": n, "record": record.id, "sha": sha,
                   "answer": text, "choice": parse_choice(text, options), "correct": correct,
                   "prompt_tokens": self.prompt_tokens(messages),
                   "seconds": round(seconds, 2), **(extra or {})}
            self.answers.put(row)
            self.new_answers += 1
            self.log(f"    {system} {form} N={n} {record.id}: {text.strip()[:24]!r} -> "
                     f"{row['choice']} (correct {correct}), {row['prompt_tokens']} prompt "
                     f"tokens, {seconds:.1f} s; elapsed {self.elapsed()}")
        self.rows[(system, form, n)].append(row)
        return row

    def summary(self, system: str, form: str, n: int) -> None:
        rows = self.rows[(system, form, n)]
        if rows:
            c = cell(rows)
            self.log(f"  {system:12} {form:8} N={n:<3}: {_pct(c['accuracy'])}% of {c['n']} "
                     f"({_pct(c['ci95'][0])}-{_pct(c['ci95'][1])}), {c['prompt_tokens']:.0f} "
                     f"prompt tokens; elapsed {self.elapsed()}")

    def timed(self, phase: str, t0: float) -> None:
        self.phases[phase] = round(self.phases.get(phase, 0.0) + time.perf_counter() - t0, 1)

    # -- systems that need no history -------------------------------------------------------
    def ask_independent(self) -> None:
        t0 = time.perf_counter()
        for record in self.asked:
            self.ask("ceiling", "explicit", 0, record, [
                Message(role="system", content=READER_SYSTEM),
                Message(role="user", content=record.preference),
                Message(role="assistant", content=ACK),
                Message(role="user", content=self.question(record))])
        self.summary("ceiling", "explicit", 0)
        for record in self.asked:
            self.ask("no_memory", "any", 0, record, [
                Message(role="system", content=READER_SYSTEM),
                Message(role="user", content=self.question(record))])
        self.summary("no_memory", "any", 0)
        self.timed("answer/ceiling+no_memory", t0)

    # -- raw history ------------------------------------------------------------------------
    def cost(self, text: str) -> int:
        if text not in self._costs:
            self._costs[text] = self.reader.count_tokens(text) + MESSAGE_OVERHEAD
        return self._costs[text]

    def longest_question(self) -> tuple[int, Record]:
        """The asked question whose prompt (system + question) takes most tokens."""
        if self._longest is None:
            tokens = [(self.prompt_tokens([
                Message(role="system", content=READER_SYSTEM),
                Message(role="user", content=self.question(r))]), r) for r in self.asked]
            self._longest = max(tokens, key=lambda t: t[0])
        return self._longest

    def raw_window(self, history: Sequence[Exchange]) -> list[Message]:
        """The most recent whole turns that fit with the longest question and the answer."""
        fixed, longest = self.longest_question()
        room = self.s.n_ctx - ANSWER_TOKENS - fixed
        costs = [self.cost(ex.user) + self.cost(ex.assistant) for ex in history]
        start = fit_recent(costs, room)
        while True:
            window: list[Message] = []
            for ex in history[start:]:
                window += [Message(role="user", content=ex.user),
                           Message(role="assistant", content=ex.assistant)]
            full = [Message(role="system", content=READER_SYSTEM), *window,
                    Message(role="user", content=self.question(longest))]
            if start >= len(history) or (self.prompt_tokens(full) + ANSWER_TOKENS
                                         <= self.s.n_ctx):
                return window
            start += 1

    # -- memory-agent -----------------------------------------------------------------------
    def manager(self, form: str) -> MemoryManager:
        from memory_agent.engine.manager import MemoryManager

        return MemoryManager(user_id=f"prefeval-{form}", store=self.store, llm=self.memory_llm,
                             embedder=self.embedder, config=self.config, background=False)

    def ingest(self, memory: MemoryManager, plan: Sequence[PlannedSession], upto: int) -> None:
        """Record and end every planned session with at most ``upto`` distractor turns."""
        stored = {s.session_id: s.ended for s in memory.sessions()}
        done = ingested_prefix([p.id for p in plan], stored)
        todo = [p for p in plan[done:] if p.distractors <= upto]
        for k, session in enumerate(todo, 1):
            seconds, used = record_session(
                memory, self.memory_llm, session.id,
                [(ex.user, ex.assistant, at)
                 for ex, at in zip(session.exchanges, session.times(), strict=True)])
            self.ingest_stats["sessions"][f"{memory.user_id}/{session.id}"] = session_stats(
                seconds, used, len(session.exchanges))
            self.stats_path.parent.mkdir(parents=True, exist_ok=True)
            self.stats_path.write_text(json.dumps(self.ingest_stats, indent=1))
            self.log(f"  [{memory.user_id} {k}/{len(todo)}] {session.id}: "
                     f"{len(session.exchanges)} turns, {seconds:.0f} s "
                     f"({used.calls} model calls); elapsed {self.elapsed()}")

    def beyond(self, memory: MemoryManager, plan: Sequence[PlannedSession], n: int) -> bool:
        """Whether the store already holds distractor turns past checkpoint ``n``."""
        later = {p.id for p in plan if p.distractors > n}
        return any(s.session_id in later for s in memory.sessions())

    def ask_memory(self, memory: MemoryManager, form: str, n: int, stale: bool) -> int:
        """memory_agent's questions at checkpoint n; returns how many could not be asked."""
        missing = 0
        for record in self.asked:
            if stale:  # the store is past n: only an earlier run's answer can stand
                row = self.answers.latest(("memory_agent", form, n, record.id))
                if row is None:
                    missing += 1
                else:
                    self.rows[("memory_agent", form, n)].append(row)
                continue
            options = self.shuffled[record.id][0]
            context = memory.recall(recall_query(record.question, options),
                                    token_budget=self.s.budget)
            system = READER_SYSTEM
            if context.to_prompt():
                system += "\n\n" + context.to_prompt()
            self.ask("memory_agent", form, n, record, [
                Message(role="system", content=system),
                Message(role="user", content=self.question(record))],
                extra={"context_tokens": context.tokens_used})
        return missing

    def run_form(self, form: str) -> None:
        plan = plan_history(self.records, form, self.distractors, self.s.distractors,
                            self.s.session_size)
        memory = self.manager(form)
        try:
            for n in sorted(self.s.distractors):
                t0 = time.perf_counter()
                stale = self.beyond(memory, plan, n)
                if not stale:
                    self.ingest(memory, plan, n)
                self.timed(f"ingest/{form}/N<={n}", t0)
                if not stale:  # the profile as the questions at this checkpoint see it
                    profile = memory.profile()
                    self.profile_sizes[form][str(n)] = memory.count_tokens(profile.render())
                    self.profile_sizes[form][f"{n}_facts"] = len(profile.facts)
                t0 = time.perf_counter()
                window = self.raw_window(history_at(plan, n))
                for record in self.asked:
                    self.ask("raw_history", form, n, record, [
                        Message(role="system", content=READER_SYSTEM), *window,
                        Message(role="user", content=self.question(record))],
                        extra={"history_turns": len(window) // 2})
                self.summary("raw_history", form, n)
                missing = self.ask_memory(memory, form, n, stale)
                if missing:
                    self.log(f"  ! memory_agent {form} N={n}: {missing} questions not asked: "
                             f"the store is past this checkpoint (use a fresh --cache)")
                self.summary("memory_agent", form, n)
                self.timed(f"answer/{form}/N={n}", t0)
        finally:
            memory.close()

    def run(self) -> dict[str, Any]:
        self.ask_independent()
        for form in self.s.forms:
            self.log(f"form {form}: {len(self.records)} reveal sessions, then distractor "
                     f"checkpoints {', '.join(map(str, sorted(self.s.distractors)))}")
            self.run_form(form)
        return self.results()

    def results(self) -> dict[str, Any]:
        out: dict[str, Any] = defaultdict(dict)
        ns = [str(n) for n in sorted(self.s.distractors)]
        for (system, form, n), rows in self.rows.items():
            if system == "no_memory":  # independent of form and N: the same cell everywhere
                for f in self.s.forms:
                    out[system][f] = {k: cell(rows) for k in ns}
            else:
                out[system].setdefault(form, {})[str(n)] = cell(rows)
        sessions = self.ingest_stats["sessions"]
        per_form = {}
        for form in self.s.forms:
            mine = [v for k, v in sessions.items() if k.startswith(f"prefeval-{form}/")]
            per_form[form] = {key: round(sum(v[key] for v in mine), 1) for key in
                              ("seconds", "model_calls", "prompt_tokens", "completion_tokens",
                               "turns")} | {"sessions": len(mine)}
        letters = Counter(self.shuffled[r.id][1] for r in self.asked)
        out["_run"] = {
            "reader": self.reader.name, "memory_model": self.memory_llm.name,
            "n_ctx": self.s.n_ctx, "answer_tokens": ANSWER_TOKENS, "budget": self.s.budget,
            "seed": self.s.seed, "forms": list(self.s.forms),
            "distractors": sorted(self.s.distractors), "session_size": self.s.session_size,
            "records_selected": [r.id for r in self.records],
            "questions_asked": [r.id for r in self.asked],
            "correct_letters": dict(sorted(letters.items())),
            "history": HISTORY_NOTE.format(size=self.s.session_size, ack=ACK),
            "notes": ("no_memory does not depend on form or N: one answer per record, the same "
                      "cell under every form and N. ceiling = explicit preference + ACK just "
                      "before the question (N = 0), under form 'explicit'. prompt_tokens = "
                      "the reader's prompt with its chat template."),
            "wall_seconds_this_run": round(time.perf_counter() - self.started, 1),
            "phase_seconds_this_run": self.phases,
            "new_reader_answers_this_run": self.new_answers,
            "ingest_totals_all_runs": per_form,
            "profile_tokens_at_checkpoint": dict(self.profile_sizes),
        }
        return dict(out)


# -- command line -----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="PrefEval folder, or a folder holding prefeval/ (default: "
                             "../shared/data)")
    parser.add_argument("--cache", type=Path, default=CACHE,
                        help="cache root; the store and answers go to <cache>/prefeval-<model>")
    parser.add_argument("--out", type=Path, default=RESULTS / "prefeval.json",
                        help="results JSON (merged into); the table goes beside it as .md")
    parser.add_argument("--records", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--forms", default=",".join(FORMS))
    parser.add_argument("--distractors", default=",".join(map(str, DISTRACTORS)),
                        help="checkpoints N (distractor turns before the questions)")
    parser.add_argument("--session-size", type=int, default=10,
                        help="distractor turns per session")
    parser.add_argument("--budget", type=int, default=1000, help="recall token budget")
    parser.add_argument("--limit-questions", type=int, default=None,
                        help="ask only the first K selected records' questions (smoke runs)")
    parser.add_argument("--config", default="{}", help="MemoryConfig overrides as JSON")
    parser.add_argument("--n-ctx", type=int, default=4096, help="reader context window")
    add_model_args(parser, fake_help="plumbing check: FakeLLM for memory, a lexical fake reader")
    parser.add_argument("--merge", type=Path, nargs="+", default=None, metavar="JSON",
                        help="no run: merge these results files (e.g. per-form runs made in "
                             "parallel with their own --cache and --out) into --out")
    args = parser.parse_args(argv)
    if args.merge:
        merged = merge_files(args.merge, args.out)
        write_results(merged, args.out)
        print(render_table(merged))
        print(f"merged {len(args.merge)} files into {args.out} and {args.out.with_suffix('.md')}")
        return
    forms = tuple(f for f in args.forms.split(",") if f)
    unknown = set(forms) - set(FORMS)
    if unknown:
        parser.error(f"unknown forms {sorted(unknown)}; choose from {', '.join(FORMS)}")
    settings = Settings(forms=forms, distractors=tuple(int(n) for n in args.distractors.split(",")),
                        budget=args.budget, n_ctx=args.n_ctx, session_size=args.session_size,
                        limit_questions=args.limit_questions, seed=args.seed)

    from memory_agent import ChromaStore, E5Embedder

    root = prefeval_dir(args.data)
    records = load_records(root)
    distractors = load_distractors(root)
    picked = select_records(records, args.records, args.seed)
    print(f"PrefEval at {root}: {len(records)} aligned records in "
          f"{len({r.topic for r in records})} topics, {len(distractors)} distractor turns; "
          f"selected {len(picked)} (seed {args.seed}) over {len({r.topic for r in picked})} "
          f"topics", flush=True)
    memory_llm: LLM
    reader: LLM
    if args.fake_llm:
        memory_llm, reader = make_llm(fake=True), FakeLLM(responder=lexical_choice)
        model_name = "fake"
    else:
        memory_llm = reader = make_llm(model=args.model, threads=args.threads, n_ctx=args.n_ctx)
        model_name = args.model or "default"
        print(f"reader and memory model: {reader.name}, n_ctx {args.n_ctx}, threads "
              f"{args.threads or 'all'} (loads on first use)", flush=True)
    workdir = cache_dir(args.cache, "prefeval", model_name)
    workdir.mkdir(parents=True, exist_ok=True)
    bench = Bench(records=picked, distractors=distractors, settings=settings,
                  store=ChromaStore.persistent(workdir / "chroma"), embedder=E5Embedder(),
                  memory_llm=memory_llm, reader=reader, workdir=workdir,
                  config=MemoryConfig(**json.loads(args.config)),
                  log=lambda line: print(line, flush=True))
    new = bench.run()
    new["_run"] |= {"data": str(root), "cache": str(workdir),
                    "config_overrides": json.loads(args.config), **describe()}
    merged = merge_results(read_json(args.out), new)
    write_results(merged, args.out)
    print(render_table(merged))
    print(f"wrote {args.out} and {args.out.with_suffix('.md')} "
          f"({bench.new_answers} new reader answers; {bench.elapsed()})", flush=True)


if __name__ == "__main__":
    main()
