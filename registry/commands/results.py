"""What commands hand back: the ids they created or changed and the notification position of the
write, so a caller can ask the read side for an answer that reflects it (read-your-writes)."""

from __future__ import annotations

from datetime import datetime, timezone

import msgspec


class Written(msgspec.Struct, frozen=True):
    id: str
    position: int
    document: dict | None = None  # the signed credential or endorsement, when one was made
    also_awarded: list[str] = []  # credentials of automatic pathways this award completed


class BatchWritten(msgspec.Struct, frozen=True):
    ids: list[str]
    position: int
    documents: list[dict]
    also_awarded: list[str] = []


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
