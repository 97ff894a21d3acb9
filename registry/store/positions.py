"""Read-your-writes across hosts by log position. A write answers with the log position it reached;
a read that names a position is answered only from a read side that has applied it. The API keeps
one `Consistency` per request (registry.api.positions) in a context variable that worker threads
inherit: the event store records into it what a request wrote, and a replica's read model waits
for what it asks for."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

# The largest position anyone may name: PostgreSQL's bigint notification ids.
MAX_POSITION = 2**63 - 1


@dataclass
class Consistency:
    after: int = 0  # answer only from a read side that has applied this position
    written: int = 0  # the last log position this request's writes reached


current: ContextVar[Consistency | None] = ContextVar("registry_consistency", default=None)


def wrote(position: int) -> None:
    """The event store committed up to `position` for whoever asks now."""
    found = current.get()
    if found is not None and position > found.written:
        found.written = position


def required() -> int:
    """The position the current request's reads must reflect (0: none named)."""
    found = current.get()
    return found.after if found is not None else 0
