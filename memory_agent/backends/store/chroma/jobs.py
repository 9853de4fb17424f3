"""The ``jobs`` collection: the journal of background work, keyed by the (global) job id.

The payload is the document (JSON); user, kind and creation time are metadata.
"""

from __future__ import annotations

from memory_agent.backends.store.chroma import codec
from memory_agent.backends.store.chroma.access import Collections
from memory_agent.backends.store.chroma.users import UserRepository
from memory_agent.core.store import Job
from memory_agent.core.store_rules import encode_payload
from memory_agent.core.types import utc, validate_id


class JobRepository:
    """Journaled jobs of one store object's collections."""

    def __init__(self, db: Collections, users: UserRepository) -> None:
        self._db = db
        self._users = users

    def add_job(self, job: Job) -> None:
        validate_id(job.user_id, "user_id")
        payload = encode_payload(job.payload)
        created = utc(job.created)
        with self._db.lock:
            self._users.register({job.user_id})
        meta: codec.Meta = {
            "user_id": job.user_id,
            "kind": job.kind,
            "created": created.isoformat(),
            "created_ts": created.timestamp(),
        }
        with self._db.guard("journal a job"):
            self._db["jobs"].upsert(
                ids=[job.id],
                embeddings=codec.constant_vectors(1),
                documents=[payload],
                metadatas=codec.metas([meta]),
            )

    def pending_jobs(self, user_id: str | None = None) -> list[Job]:
        where = None if user_id is None else {"user_id": user_id}
        with self._db.guard("read the job journal"):
            found = self._db.get_all("jobs", where, ["documents", "metadatas"])
        jobs = [
            Job(
                id=rid,
                user_id=codec.text_field(meta, "user_id"),
                kind=codec.text_field(meta, "kind"),
                payload=codec.json_object(doc or "{}"),
                created=codec.time_field(meta, "created"),
            )
            for rid, doc, meta, _ in found
        ]
        return sorted(jobs, key=lambda j: (j.created, j.id))

    def complete_job(self, job_id: str) -> None:
        with self._db.guard("complete a job"):
            self._db["jobs"].delete(ids=[job_id])
