"""What a projection is: its tables (DDL), the event classes it consumes, and how each event becomes
row changes. Handlers only queue statements; the runner executes them, batch by batch, in the
transaction that also advances the projection's position."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic


class Writes:
    """Statements to run for a batch of events. Within a phase they run in event order, consecutive
    runs of one statement as one executemany; phases run one after the other. A projection puts
    inserts in an earlier phase than the updates that may touch the inserted rows, so a batch of
    mixed events still runs as a few executemany calls."""

    def __init__(self) -> None:
        self.phases: dict[int, list[tuple[str, list[Sequence[Any]]]]] = {}

    def add(self, sql: str, params: Sequence[Any], phase: int = 0) -> None:
        runs = self.phases.setdefault(phase, [])
        if runs and runs[-1][0] is sql:
            runs[-1][1].append(params)
        else:
            runs.append((sql, [params]))

    def flush(self, cursor: Any) -> None:
        for phase in sorted(self.phases):
            for sql, rows in self.phases[phase]:
                cursor.executemany(sql, rows)
        self.phases.clear()


class EventLog:
    """What a handler may read besides its event: the creation event of another aggregate (immutable,
    and logged before anything can refer to it)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def created(self, originator_id: UUID) -> Any:
        stored = self.app.recorder.select_events(originator_id, limit=1)
        if not stored:
            raise LookupError(f"no events of aggregate {originator_id} in the event store")
        return self.app.mapper.to_domain_event(stored[0])


# handler(writes, position, event, log): queue the row changes for one event.
Handler = Callable[[Writes, int, Any, EventLog], None]


@dataclass(frozen=True)
class Projection:
    name: str
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
