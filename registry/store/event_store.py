"""The event store: eventsourcing's Application over the configured recorder, with what both sides
need of it. Commands save aggregates and retry conflicting writes; projections and queries read the
notification log through `notifications()`, the one loop that pages through it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, Notification
from eventsourcing.utils import get_topic

from registry.domain import NotFound
from registry.store import positions
from registry.store.recorders import Held
from registry.store.settings import RECONNECT_SECONDS

T = TypeVar("T")
A = TypeVar("A")

# A conflicting write (another process saved the same aggregate first) is retried from a fresh
# load: the loser then sees the winner's state, and the domain rule answers (e.g. "already revoked").
MAX_ATTEMPTS = 5
PAGE = 1000
# The write transaction held open for the caller in this context (see `holding`), if any.
_held: ContextVar[Held | None] = ContextVar("registry_held_write", default=None)


class ConflictError(Exception):
    """Concurrent writes kept colliding; nothing was stored by this command."""


class EventStore(Application):
    """The application's name gives the PostgreSQL tables their names (registry_events)."""

    name = "Registry"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Run after every write transaction commits (the transparency log signs a checkpoint).
        self.after_commit: list[Callable[[], None]] = []
        pool = getattr(getattr(self.recorder, "datastore", None), "pool", None)
        if hasattr(pool, "reconnect_timeout"):  # PostgreSQL: psycopg_pool (see store.settings)
            pool.reconnect_timeout = RECONNECT_SECONDS

    # --- writing -------------------------------------------------------------------------------

    def commit(self, *aggregates: Any) -> int:
        """Save in one transaction; the notification position of the last event written."""
        held = _held.get()
        recordings = self.save(*aggregates, held=held) if held is not None else self.save(*aggregates)
        if held is None and recordings:
            self.committed()
        position = max((r.notification.id for r in recordings), default=0) or self.max_position()
        positions.wrote(position)
        return position

    def committed(self) -> None:
        for hook in self.after_commit:
            hook()

    @contextmanager
    def holding(self) -> Iterator[Held]:
        """Within this block, what commands commit stays in one open transaction until the caller
        records its answer in it (`held.finish(...)`, which commits both); left without
        finishing, or by an exception, it is rolled back: nothing was written."""
        held = Held()
        token = _held.set(held)
        try:
            yield held
        finally:
            _held.reset(token)
            held.abandon()
        if held.committed:
            self.committed()

    def attempt(self, use_case: Callable[[], T]) -> T:
        """Run a use case, again from a fresh load when its write collided with another."""
        for _ in range(MAX_ATTEMPTS):
            try:
                return use_case()
            except IntegrityError:
                continue
        raise ConflictError(
            f"the write conflicted {MAX_ATTEMPTS} times with concurrent writes; nothing was stored")

    # --- aggregates ----------------------------------------------------------------------------

    def load(self, aggregate_id: UUID, kind: type[A], what: str) -> A:
        found = self.find(aggregate_id)
        if not isinstance(found, kind):
            raise NotFound(f"no {what} {aggregate_id}")
        return found

    def find(self, aggregate_id: UUID) -> Any:
        """The aggregate, or None: one read (`in repository` would read it too)."""
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def exists(self, aggregate_id: UUID) -> bool:
        return aggregate_id in self.repository

    def created(self, aggregate_id: UUID) -> Any:
        """The aggregate's first event (its creation, which never changes), or None: one read of
        one stored event, where `find` replays them all."""
        stored = self.recorder.select_events(aggregate_id, limit=1)
        return self.mapper.to_domain_event(stored[0]) if stored else None

    # --- the notification log ------------------------------------------------------------------

    def max_position(self) -> int:
        return self.recorder.max_notification_id() or 0

    def notifications(self, after: int = 0, *, topics: Iterable[str] = (), stop: int | None = None,
                      page: int = PAGE) -> Iterator[Notification]:
        """Stored events after position `after` (up to `stop`), in log order, of these topics
        (all when none), read a page at a time."""
        topics = list(topics)
        start = after + 1
        while stop is None or start <= stop:
            batch = self.recorder.select_notifications(start=start, limit=page, stop=stop, topics=topics)
            yield from batch
            if len(batch) < page:
                return
            start = batch[-1].id + 1

    def events_of(self, *event_classes: type, after: int = 0, stop: int | None = None) -> Iterator[Any]:
        """The domain events of these classes after `after`, in log order."""
        topics = [get_topic(cls) for cls in event_classes]
        for notification in self.notifications(after, topics=topics, stop=stop):
            yield self.mapper.to_domain_event(notification)
