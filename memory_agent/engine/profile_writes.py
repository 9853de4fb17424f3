"""The one way the profile is written: the background update after a session, a person's
edit of the Markdown, edits planned by a tool, and forgetting a fact all go through
:class:`ProfileWrites` (compare-and-set on the stored version, retired facts to the
history)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime

from memory_agent.core.extraction import ExtractionOutcome
from memory_agent.core.facts import marker_sources
from memory_agent.core.history import FORGOTTEN, latest_entry, restore_edit
from memory_agent.core.profile import (
    ProfileDocument,
    ProfileEdit,
    Retired,
    as_datetime,
    diff_documents,
    parse_profile,
)
from memory_agent.core.store import HistoryEntry
from memory_agent.core.types import utc
from memory_agent.engine.profile_update import (
    ProfileUpdate,
    history_entries,
    load_profile,
    update_profile,
    write_profile_edits,
)
from memory_agent.engine.upkeep import Backends
from memory_agent.errors import (
    InvalidInputError,
    NotFoundError,
    ProfileBudgetError,
    ProfileConflictError,
)

log = logging.getLogger("memory_agent")
EditPlanner = Callable[[ProfileDocument], ExtractionOutcome]


class ProfileWrites:
    """Reads and writes the profile document of one user."""

    def __init__(self, backends: Backends, user_id: str) -> None:
        self.backends = backends
        self.user_id = user_id

    # --- reads ---------------------------------------------------------------------------
    def profile(self) -> ProfileDocument:
        return load_profile(self.backends.store, self.user_id)[0]

    def version(self) -> int:
        stored = self.backends.store.get_profile(self.user_id)
        return stored.version if stored else 0

    def history(self) -> list[HistoryEntry]:
        return self.backends.store.get_history(self.user_id)

    # --- writes --------------------------------------------------------------------------
    def update_from_session(self, session_id: str) -> ProfileUpdate:
        """The background update: facts the model extracts from one ended session."""
        return update_profile(self.backends, self.user_id, session_id, now=utc())

    def restore(self, fact_id: str) -> ProfileUpdate:
        """Bring fact ``fact_id`` back from the history (see core/history.py)."""
        entry = latest_entry(self.backends.store.get_history(self.user_id), fact_id)

        def plan(doc: ProfileDocument) -> ExtractionOutcome:
            return ExtractionOutcome([restore_edit(entry, doc)], [])

        return self.apply(plan)

    def apply(self, plan: EditPlanner) -> ProfileUpdate:
        """Edits planned against the current profile (re-planned if it changed meanwhile),
        validated, fitted to the budget."""
        return write_profile_edits(self.backends, self.user_id, plan,
                                   today=date.today(), now=utc())

    def edit(self, markdown: str, *, base_version: int | None = None) -> ProfileDocument:
        """A person's edit of the whole document (see :meth:`MemoryManager.edit_profile`)."""
        if not isinstance(markdown, str):
            msg = f"markdown must be str, got {type(markdown).__name__}"
            raise InvalidInputError(msg)
        store, config = self.backends.store, self.backends.config
        reserved = [h.fact_id for h in self.history()]
        stored = store.get_profile(self.user_id)
        old = parse_profile(stored.markdown) if stored else ProfileDocument()
        version = stored.version if stored else 0
        if base_version is not None and base_version != version:
            msg = (f"the profile changed (version {version}) since this edit started from "
                   f"version {base_version}; re-open it and edit again")
            raise ProfileConflictError(msg)
        new = parse_profile(markdown, today=date.today(), reserved=reserved)
        tokens = self.backends.count_tokens(new.render())
        if tokens > config.profile_token_budget:
            msg = (f"the edited profile is {tokens} tokens, over its budget of "
                   f"{config.profile_token_budget}; shorten it")
            raise ProfileBudgetError(msg)
        self._commit(new, expected_version=version, retired=diff_documents(old, new),
                     now=utc())
        return new

    def _commit(self, new: ProfileDocument, *, expected_version: int,
                retired: list[Retired], now: datetime) -> int:
        """Write ``new`` if the stored version is still ``expected_version`` (else
        ProfileConflictError), and the facts it retired to the history."""
        store = self.backends.store
        version = store.put_profile(self.user_id, new.render(), expected_version=expected_version)
        if retired:
            store.add_history(history_entries(self.user_id, retired, now))
        return version

    def forget_fact(self, fact_id: str) -> set[str]:
        """Remove fact ``fact_id`` from the profile and its history (a text-free tombstone
        keeps the id reserved). Returns the sessions its sources name. Raises NotFoundError
        if neither the profile nor the history has it."""
        if not isinstance(fact_id, str) or not fact_id:
            msg = f"fact_id must be a non-empty str such as 'f3', got {fact_id!r}"
            raise InvalidInputError(msg)
        store = self.backends.store
        kept = [h for h in self.history() if h.fact_id == fact_id]
        fact = self.profile().get(fact_id)
        if fact is None and not kept:
            msg = f"no fact {fact_id!r} in the profile or history of {self.user_id!r}"
            raise NotFoundError(msg)
        sources = list(fact.sources if fact is not None else ())
        for entry in kept:  # the marker names the turns a retired fact came from
            if not entry.marker:
                continue  # a tombstone
            try:
                sources += marker_sources(entry.marker)
            except ValueError:
                log.warning("history entry of %s has an unreadable src", fact_id)
        if fact is not None:
            def plan(doc: ProfileDocument) -> ExtractionOutcome:
                if doc.get(fact_id) is None:
                    return ExtractionOutcome([], [])
                return ExtractionOutcome(
                    [ProfileEdit(op="remove", fact_id=fact_id, reason="forgotten")], [])

            self.apply(plan)
        store.delete_history(self.user_id, [fact_id])  # also the entry remove just made
        first = fact.learned if fact is not None else None
        store.add_history([HistoryEntry(
            user_id=self.user_id, fact_id=fact_id,
            section=fact.section if fact is not None else kept[0].section, text=FORGOTTEN,
            marker="", valid_from=as_datetime(first) if first else kept[0].valid_from,
            valid_to=utc(), reason="forgotten at the user's request",
        )])
        return {src.split("#", 1)[0] for src in sources if "#" in src}
