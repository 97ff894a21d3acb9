"""What use cases hand back: the ids they created or changed and the notification position of the
write, so a caller can wait for projections to reach it (read-your-writes)."""

from __future__ import annotations

import msgspec


class Written(msgspec.Struct, frozen=True):
    id: str
    position: int
    document: dict | None = None  # the signed credential or endorsement, when one was made


class BatchWritten(msgspec.Struct, frozen=True):
    ids: list[str]
    position: int
    documents: list[dict]


class ConflictError(Exception):
    """Concurrent writes kept colliding; nothing was stored by this command."""
