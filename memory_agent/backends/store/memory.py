"""``InMemoryStore``: the reference ``MemoryStore``, kept in dicts (nothing survives the process).

It defines the behaviour every store must match (``tests/test_store_contract.py`` runs the
same suite against each):

- ordering: turns by session (sessions by their earliest turn) then index; sessions by
  start; nodes by level, start, id; history by ``valid_to`` then insertion; jobs by
  ``created`` then id;
- ``add_turns`` rejects ids already stored (StoreError); ``put_nodes`` and ``add_job``
  replace records with the same id;
- ``mark_session_ended`` raises UnknownSessionError for a session without turns;
- ``list_users`` lists users who wrote anything since their last ``forget_user``;
- vectors of one kind (turns, nodes) must all have the same dimension (StoreError);
- it declares every ``Capability`` (``get_turn_vectors``, ``turn_versions``, ``delete_history``);
- ``turn_versions`` counts the ``add_turns`` calls that stored turns of the user (one
  writer here); ``forget_user`` removes the count, and counting starts again under a new
  writer key (a count never carries on across a forget);
- datetimes come back as aware UTC datetimes (naive ones are taken as UTC).
"""

from __future__ import annotations

import dataclasses
import json
import threading
import uuid
from collections.abc import Collection, Mapping, Sequence

import numpy as np
import numpy.typing as npt

from memory_agent.core.store import (
    Capability,
    HistoryEntry,
    Job,
    MemoryStore,
    TurnVectors,
    Vector,
)
from memory_agent.core.store_rules import (
    check_lengths,
    check_profile_version,
    check_turns,
    encode_payload,
    node_order,
    ordered_turns,
)
from memory_agent.core.types import Node, SessionInfo, StoredProfile, Turn, utc, validate_id
from memory_agent.errors import StoreError, UnknownSessionError

FloatArray = npt.NDArray[np.float64]


class _Vectors:
    """Unit vectors of one record kind, with the dimension fixed by the first one."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.dim: int | None = None

    def normalise(self, vector: Vector) -> FloatArray:
        array = np.asarray(vector, dtype=np.float64)
        if array.ndim != 1 or array.size == 0:
            msg = f"a {self.kind} vector must be a non-empty flat sequence of floats"
            raise StoreError(msg)
        if self.dim is not None and array.size != self.dim:
            msg = (
                f"{self.kind} vectors here have dimension {self.dim}, got {array.size}: "
                "the store was built with another embedder"
            )
            raise StoreError(msg)
        norm = float(np.linalg.norm(array))
        return array / norm if norm > 0.0 else array

    def fix(self, arrays: Sequence[FloatArray]) -> None:
        if arrays and self.dim is None:
            self.dim = int(arrays[0].size)


class InMemoryStore(MemoryStore):
    """Every record in process memory, guarded by one lock. For tests, demos and as the spec."""

    capabilities = frozenset(Capability)

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._turns: dict[tuple[str, str], tuple[Turn, FloatArray]] = {}
        self._turn_vectors = _Vectors("turn")
        self._turn_writes: dict[str, tuple[str, int]] = {}  # user -> (writer key, count)
        self._ended: set[tuple[str, str]] = set()
        self._nodes: dict[tuple[str, str], tuple[Node, list[float]]] = {}
        self._node_vectors = _Vectors("node")
        self._profiles: dict[str, StoredProfile] = {}
        self._history: list[tuple[HistoryEntry, int]] = []
        self._history_seq = 0
        self._jobs: dict[str, tuple[Job, str]] = {}
        self._users: set[str] = set()

    # --- turns ---------------------------------------------------------------------------
    def add_turns(self, turns: Sequence[Turn], vectors: Sequence[Vector]) -> None:
        check_lengths(turns, vectors, "turns")
        check_turns(turns)
        arrays = [self._turn_vectors.normalise(v) for v in vectors]
        keys = [(t.user_id, t.id) for t in turns]
        with self._lock:
            taken = sorted(tid for uid, tid in keys if (uid, tid) in self._turns)
            if taken:
                msg = f"turn ids already stored: {', '.join(taken)} (turn ids must be new)"
                raise StoreError(msg)
            self._turn_vectors.fix(arrays)
            for t, key, array in zip(turns, keys, arrays, strict=True):
                self._turns[key] = (dataclasses.replace(t, at=utc(t.at)), array)
                self._users.add(t.user_id)
            for user_id in {t.user_id for t in turns}:
                writer, count = self._turn_writes.get(user_id, (uuid.uuid4().hex[:8], 0))
                self._turn_writes[user_id] = (writer, count + 1)

    def get_turns(
        self, user_id: str, *, session_id: str | None = None, ids: Sequence[str] | None = None
    ) -> list[Turn]:
        wanted = None if ids is None else set(ids)
        with self._lock:
            found = [
                t
                for (uid, tid), (t, _) in self._turns.items()
                if uid == user_id
                and (session_id is None or t.session_id == session_id)
                and (wanted is None or tid in wanted)
            ]
        return ordered_turns(found)

    def search_turns(
        self,
        user_id: str,
        vector: Vector,
        *,
        k: int,
        session_ids: Sequence[str] | None = None,
    ) -> list[tuple[Turn, float]]:
        if k <= 0:
            return []
        query = self._turn_vectors.normalise(vector)
        sessions = None if session_ids is None else set(session_ids)
        with self._lock:
            candidates = [
                (t, v)
                for (uid, _), (t, v) in self._turns.items()
                if uid == user_id and (sessions is None or t.session_id in sessions)
            ]
        if not candidates:
            return []
        scores = np.stack([v for _, v in candidates]) @ query
        best = np.argsort(-scores, kind="stable")[:k]
        return [(candidates[i][0], float(scores[i])) for i in best]

    def get_turn_vectors(self, user_id: str, *, known: Collection[str] = ()) -> TurnVectors:
        with self._lock:
            mine = [(tid, v) for (uid, tid), (_, v) in self._turns.items() if uid == user_id]
            dim = self._turn_vectors.dim or 0
        new = [(tid, v) for tid, v in mine if tid not in known]
        vectors = (np.stack([v for _, v in new]).astype(np.float32) if new
                   else np.zeros((0, dim), dtype=np.float32))
        return TurnVectors([tid for tid, _ in mine], [tid for tid, _ in new], vectors)

    def turn_versions(self, user_id: str) -> Mapping[str, int] | None:
        with self._lock:
            written = self._turn_writes.get(user_id)
        return {} if written is None else {written[0]: written[1]}

    # --- sessions ------------------------------------------------------------------------
    def list_sessions(self, user_id: str) -> list[SessionInfo]:
        with self._lock:
            turns = [t for (uid, _), (t, _) in self._turns.items() if uid == user_id]
            ended = {sid for uid, sid in self._ended if uid == user_id}
        by_session: dict[str, list[Turn]] = {}
        for t in turns:
            by_session.setdefault(t.session_id, []).append(t)
        infos = [
            SessionInfo(
                session_id=sid,
                n_turns=len(group),
                start=min(t.at for t in group),
                end=max(t.at for t in group),
                ended=sid in ended,
            )
            for sid, group in by_session.items()
        ]
        return sorted(infos, key=lambda s: (s.start, s.session_id))

    def mark_session_ended(self, user_id: str, session_id: str) -> None:
        with self._lock:
            if not any(
                uid == user_id and t.session_id == session_id
                for (uid, _), (t, _) in self._turns.items()
            ):
                raise UnknownSessionError.no_turns(user_id, session_id)
            self._ended.add((user_id, session_id))

    # --- tree nodes ----------------------------------------------------------------------
    def put_nodes(self, nodes: Sequence[Node], vectors: Sequence[Vector]) -> None:
        check_lengths(nodes, vectors, "nodes")
        arrays = [self._node_vectors.normalise(v) for v in vectors]
        for n in nodes:
            validate_id(n.user_id, "user_id")
        with self._lock:
            self._node_vectors.fix(arrays)
            for n, vector in zip(nodes, vectors, strict=True):
                stored = dataclasses.replace(n, start=utc(n.start), end=utc(n.end))
                self._nodes[(n.user_id, n.id)] = (stored, [float(x) for x in vector])
                self._users.add(n.user_id)

    def get_nodes(self, user_id: str) -> list[Node]:
        with self._lock:
            nodes = [n for (uid, _), (n, _) in self._nodes.items() if uid == user_id]
        return sorted(nodes, key=node_order)

    def get_node_vectors(self, user_id: str, ids: Sequence[str]) -> dict[str, list[float]]:
        with self._lock:
            return {
                nid: list(self._nodes[(user_id, nid)][1])
                for nid in ids
                if (user_id, nid) in self._nodes
            }

    def delete_nodes(self, user_id: str, ids: Sequence[str]) -> None:
        with self._lock:
            for nid in ids:
                self._nodes.pop((user_id, nid), None)

    # --- profile -------------------------------------------------------------------------
    def get_profile(self, user_id: str) -> StoredProfile | None:
        with self._lock:
            return self._profiles.get(user_id)

    def put_profile(self, user_id: str, markdown: str, *, expected_version: int) -> int:
        validate_id(user_id, "user_id")
        with self._lock:
            current = self._profiles.get(user_id)
            version = current.version if current is not None else 0
            check_profile_version(user_id, version, expected_version)
            self._profiles[user_id] = StoredProfile(markdown, version + 1)
            self._users.add(user_id)
            return version + 1

    def add_history(self, entries: Sequence[HistoryEntry]) -> None:
        for e in entries:
            validate_id(e.user_id, "user_id")
        with self._lock:
            for e in entries:
                self._history_seq += 1
                stored = dataclasses.replace(
                    e, valid_from=utc(e.valid_from), valid_to=utc(e.valid_to)
                )
                self._history.append((stored, self._history_seq))
                self._users.add(e.user_id)

    def get_history(self, user_id: str) -> list[HistoryEntry]:
        with self._lock:
            kept = [(e, seq) for e, seq in self._history if e.user_id == user_id]
        kept.sort(key=lambda item: (item[0].valid_to, item[1]))
        return [e for e, _ in kept]

    def delete_history(self, user_id: str, fact_ids: Sequence[str]) -> None:
        doomed = set(fact_ids)
        with self._lock:
            self._history = [item for item in self._history
                             if not (item[0].user_id == user_id and item[0].fact_id in doomed)]

    # --- journal -------------------------------------------------------------------------
    def add_job(self, job: Job) -> None:
        validate_id(job.user_id, "user_id")
        payload = encode_payload(job.payload)
        with self._lock:
            self._jobs[job.id] = (dataclasses.replace(job, created=utc(job.created)), payload)
            self._users.add(job.user_id)

    def pending_jobs(self, user_id: str | None = None) -> list[Job]:
        with self._lock:
            jobs = [
                dataclasses.replace(job, payload=json.loads(payload))
                for job, payload in self._jobs.values()
                if user_id is None or job.user_id == user_id
            ]
        return sorted(jobs, key=lambda j: (j.created, j.id))

    def complete_job(self, job_id: str) -> None:
        with self._lock:
            self._jobs.pop(job_id, None)

    # --- users ---------------------------------------------------------------------------
    def list_users(self) -> list[str]:
        with self._lock:
            return sorted(self._users)

    def forget_user(self, user_id: str) -> None:
        with self._lock:
            self._turns = {k: v for k, v in self._turns.items() if k[0] != user_id}
            self._turn_writes.pop(user_id, None)
            self._ended = {k for k in self._ended if k[0] != user_id}
            self._nodes = {k: v for k, v in self._nodes.items() if k[0] != user_id}
            self._profiles.pop(user_id, None)
            self._history = [item for item in self._history if item[0].user_id != user_id]
            self._jobs = {k: v for k, v in self._jobs.items() if v[0].user_id != user_id}
            self._users.discard(user_id)

