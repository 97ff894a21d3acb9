"""What a projection is: its tables (DDL), the event classes it consumes, and how each event becomes
row changes. Handlers only queue statements; the runner executes them, batch by batch, in the
transaction that also advances the projection's position."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

_ZERO = timedelta(0)


class Writes:
    """Statements to run for a batch of events. Within a phase they run in event order, consecutive
    runs of one statement as one executemany; phases run one after the other. A projection puts
    inserts in an earlier phase than the updates that may touch the inserted rows, so a batch of
    mixed events still runs as a few executemany calls."""

    def __init__(self) -> None:
        self.phases: dict[int, list[tuple[str, list[Sequence[Any]]]]] = {}
        self._seen: set[Hashable] = set()

    def add(self, sql: str, params: Sequence[Any], phase: int = 0) -> None:
        runs = self.phases.setdefault(phase, [])
        if runs and runs[-1][0] is sql:
            runs[-1][1].append(params)
        else:
            runs.append((sql, [params]))

    def first(self, key: Hashable) -> bool:
        """True the first time `key` is seen in this batch: a row many events share (a status
        list) is written once per batch, not once per event."""
        if key in self._seen:
            return False
        self._seen.add(key)
        return True

    def flush(self, cursor: Any) -> None:
        for phase in sorted(self.phases):
            for sql, rows in self.phases[phase]:
                cursor.executemany(sql, rows)
        self.phases.clear()
        self._seen.clear()


class EventLog:
    """What a handler may read besides its event: the creation event of another aggregate (immutable,
    and logged before anything can refer to it)."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def created(self, originator_id: UUID) -> Any:
        event = self.store.created(originator_id)
        if event is None:
            raise LookupError(f"no events of aggregate {originator_id} in the event store")
        return event


# handler(writes, position, event, log): queue the row changes for one event.
Handler = Callable[[Writes, int, Any, EventLog], None]


@dataclass(frozen=True)
class Projection:
    name: str
    # The table layout's version: a projection stored at another version is dropped and rebuilt
    # from the log when the read side is prepared (`registry init`, or any start with DDL rights).
    version: int
    tables: tuple[str, ...]  # dropped and recreated by a rebuild
    ddl: tuple[str, ...]  # CREATE ... IF NOT EXISTS, in order (tables, then indexes)
    handlers: dict[type, Handler]
    topics: tuple[str, ...] = field(init=False)
    _by_topic: dict[str, Handler] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        by_topic = {get_topic(cls): handler for cls, handler in self.handlers.items()}
        object.__setattr__(self, "_by_topic", by_topic)
        object.__setattr__(self, "topics", tuple(sorted(by_topic)))

    def handler(self, topic: str) -> Handler:
        return self._by_topic[topic]


def text(value: Any) -> str | None:
    """UUIDs and other ids are stored as their text form."""
    return None if value is None else str(value)


def moment(when: datetime) -> str:
    """Sortable UTC text with microseconds, e.g. 2026-05-01T12:00:00.000000+00:00: the read models'
    form of an instant, so "as of T" is an exact string comparison on both databases."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"the instant {when.isoformat()} has no timezone")
    if when.utcoffset() != _ZERO:
        when = when.astimezone(timezone.utc)
    return when.isoformat(timespec="microseconds")


def optional_moment(when: datetime | None) -> str | None:
    return None if when is None else moment(when)


def instant(text_value: str | None) -> datetime | None:
    """The datetime of a stored moment."""
    return None if text_value is None else datetime.fromisoformat(text_value)
