"""``ChromaStore``: the default ``MemoryStore``, on Chroma (embedded on disk or a server).

Layout: one collection per record kind, named ``<prefix>_<kind>``: ``turns`` and ``nodes``
hold the caller's vectors (cosine space); ``sessions``, ``profiles``, ``profile_history``,
``jobs`` and ``users`` have no meaningful vector and carry the constant ``[1.0]``.
``profiles`` holds ``<user_id>/v<version>`` per version ever written: the current one carries
``live_for``, older ones are kept without text so no version is claimed twice. ``users``
also holds, per user, one record for each store object that wrote turns: ``<user_id>/<key>``
with its number of ``add_turns`` calls (``turn_versions``). Every
record has a ``user_id`` metadata field; record ids are ``<user_id>/<id>`` (user ids cannot
contain ``/``), so two users' records never collide (profiles and users are keyed by the
user id, jobs by their globally unique job id). Every read is scoped to one user:
by a ``where`` on ``user_id``, or by user-prefixed ids (never both at once: Chroma 1.5.9
scans the whole collection per id when ``get`` has ids and a ``where``).
Datetimes are stored as ISO strings, plus epoch floats (``*_ts``) where a filter may need
them. Fields nobody filters on are packed into one JSON string (``data``): Chroma's ``get``
costs grow with the number of metadata keys (10,000 nodes: 0.4 s with ten keys, 0.2 s
with five).

Chroma's default embedding function downloads a model at run time: every collection is
opened with ``embedding_function=None`` and every write passes vectors. Telemetry is off.

Not transactional: a write touching two collections (turns + their session summary, then
the turn-write counter) is several writes, guarded by a process-local lock. Another process
writing the same user's session concurrently can lose a session-summary update (never a
turn). Run one writer per user (the manager does), or use the Chroma server with one
writing process.

Modules: ``client`` (the connection and how it is configured), ``access`` (collections,
paging, chunking, error mapping), ``codec`` (record encoding), one repository per record
kind (``turns``, ``sessions``, ``nodes``, ``profiles``, ``jobs``, ``users``), ``scrub``
(forensic scrubbing after forget) and ``store`` (``ChromaStore`` over them).
"""

from memory_agent.backends.store.chroma.client import DEFAULT_PREFIX, parse_server_url
from memory_agent.backends.store.chroma.store import ChromaStore

__all__ = ["DEFAULT_PREFIX", "ChromaStore", "parse_server_url"]
