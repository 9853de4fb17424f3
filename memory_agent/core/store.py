"""The storage interface: turns, sessions, tree nodes, profiles (+ history), jobs, users.

``MemoryStore`` is composed of small roles, one per record kind: ``TurnStore``,
``SessionStore``, ``TreeStore``, ``ProfileStore``, ``JobStore``, ``UserStore``. Code that
needs one role can type its parameter with that role instead of the whole store.

Optional methods are **declared**: a store lists what it implements in ``capabilities``
(a frozenset of ``Capability``), and callers check ``Capability.X in store.capabilities``
instead of calling and catching NotImplementedError. Each capability names one method
(``CAPABILITY_METHODS``); a subclass declaring a capability must override that method.

Every method is scoped by ``user_id``: no call reads or writes another user's records.
Vectors are computed by the caller (memory-agent's embedder) and passed in.
The shared rules every store applies (validation, ordering, payload encoding) are in
``memory_agent.core.store_rules``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar

from memory_agent.core.types import Node, SessionInfo, StoredProfile, Turn

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

Vector = Sequence[float]


class Capability(str, Enum):
    """An optional ``MemoryStore`` method a store implements (see ``CAPABILITY_METHODS``)."""

    TURN_VECTORS = "turn_vectors"  # get_turn_vectors: recall keeps an in-memory turn index
    TURN_VERSIONS = "turn_versions"  # turn_versions: a cheap "did the turns change" check
    HISTORY_DELETE = "history_delete"  # delete_history: forget_fact removes kept entries


CAPABILITY_METHODS: Mapping[Capability, str] = {
    Capability.TURN_VECTORS: "get_turn_vectors",
    Capability.TURN_VERSIONS: "turn_versions",
    Capability.HISTORY_DELETE: "delete_history",
}


@dataclass(frozen=True)
class Job:
    """A journaled unit of background work (e.g. 'update after session X ended')."""

    id: str
    user_id: str
    kind: str
    payload: dict[str, Any]
    created: datetime


@dataclass(frozen=True)
class HistoryEntry:
    """A profile fact that was superseded or removed, kept with its validity span."""

    user_id: str
    fact_id: str
    section: str
    text: str
    marker: str  # the provenance marker as it stood in the document
    valid_from: datetime
    valid_to: datetime
    reason: str  # "superseded by f7", "removed by user edit", "dropped to fit budget", ...


@dataclass(frozen=True)
class TurnVectors:
    """The ids of a user's stored turns, and the vectors of those the caller did not know."""

    ids: list[str]  # every stored turn of the user (turn ids, e.g. ``day-1#3``)
    new_ids: list[str]  # the ids not in ``known``, one per row of ``vectors``
    vectors: npt.NDArray[np.float32]  # shape (len(new_ids), dim), as stored


class TurnStore(ABC):
    """Conversation turns, with the caller's vectors."""

    @abstractmethod
    def add_turns(self, turns: Sequence[Turn], vectors: Sequence[Vector]) -> None:
        """Durably store turns (ids must be new) before returning."""

    @abstractmethod
    def get_turns(
        self, user_id: str, *, session_id: str | None = None, ids: Sequence[str] | None = None
    ) -> list[Turn]:
        """Turns of the user, optionally of one session or with the given ids, in order."""

    @abstractmethod
    def search_turns(
        self,
        user_id: str,
        vector: Vector,
        *,
        k: int,
        session_ids: Sequence[str] | None = None,
    ) -> list[tuple[Turn, float]]:
        """The ``k`` turns most similar to ``vector`` (cosine similarity, higher is closer)."""

    def get_turn_vectors(self, user_id: str, *, known: Collection[str] = ()) -> TurnVectors:
        """The ids of every stored turn of the user, and the vectors of those not in ``known``.

        Capability ``TURN_VECTORS``. Lets ``TurnIndex`` load a user's turn vectors once and
        later fetch only new ones; without it recall searches with :meth:`search_turns`.
        """
        msg = f"{type(self).__name__} cannot list turn vectors (no Capability.TURN_VECTORS)"
        raise NotImplementedError(msg)

    def turn_versions(self, user_id: str) -> Mapping[str, int] | None:
        """How many ``add_turns`` calls stored turns of the user, per writer key.

        Capability ``TURN_VERSIONS``. A cheap check that the user's turns changed
        (``TurnIndex``): every ``add_turns`` call raises its writer's count by one after the
        turns are stored. ``forget_user`` removes the counts, and a writer whose count was
        removed starts again under a new key, so a key that vanishes means turns were
        deleted. None: the store cannot tell (the default, without the capability).
        """
        return None


class SessionStore(ABC):
    """Per-session summaries of the stored turns (kept by the store as turns arrive)."""

    @abstractmethod
    def list_sessions(self, user_id: str) -> list[SessionInfo]:
        """Sessions with at least one turn, oldest first."""

    @abstractmethod
    def mark_session_ended(self, user_id: str, session_id: str) -> None:
        """Remember that the session ended (its update work has been queued)."""


class TreeStore(ABC):
    """The summary tree's nodes, with the caller's vectors."""

    @abstractmethod
    def put_nodes(self, nodes: Sequence[Node], vectors: Sequence[Vector]) -> None:
        """Insert or replace nodes (by id)."""

    @abstractmethod
    def get_nodes(self, user_id: str) -> list[Node]:
        """Every tree node of the user."""

    @abstractmethod
    def get_node_vectors(self, user_id: str, ids: Sequence[str]) -> dict[str, list[float]]:
        """The stored vectors of the given nodes."""

    @abstractmethod
    def delete_nodes(self, user_id: str, ids: Sequence[str]) -> None:
        """Remove nodes by id."""


class ProfileStore(ABC):
    """The profile document (versioned, compare-and-set) and its kept history."""

    @abstractmethod
    def get_profile(self, user_id: str) -> StoredProfile | None:
        """The current profile document, or None if the user has none yet."""

    @abstractmethod
    def put_profile(self, user_id: str, markdown: str, *, expected_version: int) -> int:
        """Write the profile if its stored version is ``expected_version`` (0 = none yet).

        Returns the new version; raises ProfileConflictError if the version moved on.
        The answer is exact, also between store objects and processes: a returned version
        holds this write, and after ProfileConflictError nothing of it was written (so the
        caller re-reads and applies its change again, once).
        """

    @abstractmethod
    def add_history(self, entries: Sequence[HistoryEntry]) -> None:
        """Keep superseded or removed facts."""

    @abstractmethod
    def get_history(self, user_id: str) -> list[HistoryEntry]:
        """Kept facts, oldest first."""

    def delete_history(self, user_id: str, fact_ids: Sequence[str]) -> None:
        """Remove the kept entries of these facts (``forget_fact``).

        Capability ``HISTORY_DELETE``; stores without it refuse.
        """
        msg = (f"{type(self).__name__} cannot delete profile history entries "
               "(no Capability.HISTORY_DELETE)")
        raise NotImplementedError(msg)


class JobStore(ABC):
    """The journal of background work."""

    @abstractmethod
    def add_job(self, job: Job) -> None:
        """Journal a unit of background work."""

    @abstractmethod
    def pending_jobs(self, user_id: str | None = None) -> list[Job]:
        """Jobs not yet completed, oldest first (all users if ``user_id`` is None)."""

    @abstractmethod
    def complete_job(self, job_id: str) -> None:
        """Mark a job done (remove it from the journal)."""


class UserStore(ABC):
    """Who has memory, and forgetting all of it."""

    @abstractmethod
    def list_users(self) -> list[str]:
        """Users with any stored memory."""

    @abstractmethod
    def forget_user(self, user_id: str) -> None:
        """Remove every record of the user."""


class MemoryStore(TurnStore, SessionStore, TreeStore, ProfileStore, JobStore, UserStore):
    """Where memory lives. See ``ChromaStore`` (default) and ``InMemoryStore`` (reference).

    ``capabilities`` lists the optional methods the store implements (none by default).
    """

    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for capability in cls.capabilities:
            method = CAPABILITY_METHODS[capability]
            if getattr(cls, method) is getattr(MemoryStore, method):
                msg = (f"{cls.__name__} declares {capability.value} but does not implement "
                       f"{method}: override it or drop the capability")
                raise TypeError(msg)
