"""The public event feed for auditors: every stored event in log order (no secrets: private keys
never enter events and e-mail recipients are stored hashed), page by page, and a live stream of new
events as Server-Sent Events, so verifiers learn of revocations without polling the registry.

The stream polls the notification log (SQLite has no subscriptions) every `poll_seconds`; each
event's SSE id is its log position, so a reconnecting client's Last-Event-ID resumes exactly. A
stream is bounded: it ends after `stream_seconds` (the client reconnects, as EventSource does), and
at most `access.streams.cap` are open at once, counted across all workers and hosts (the slot is
taken before the answer starts and given back when the stream ends, however it ends)."""

from __future__ import annotations

import threading
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated

import anyio
import anyio.to_thread
import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.params import HeaderParameter, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from registry.access import Access
from registry.api.http import READ_PROBLEMS
from registry.api.schemas import EventOut, EventPage
from registry.errors import InputError
from registry.projections import Queries

HEARTBEAT_SECONDS = 15.0
STREAM_BATCH = 100


@dataclass(frozen=True)
class Streaming:
    stream_seconds: float  # how long one event stream stays open before the client reconnects
    poll_seconds: float


def read_events(queries: Queries, after: int, limit: int) -> list[EventOut]:
    return [EventOut(position=e.position, originator_id=e.originator_id, originator_version=e.originator_version,
                     topic=e.topic, state=e.state) for e in queries.events(after=after, limit=limit)]


class EventController(Controller):
    path = "/events"
    tags = ["events"]

    @get("/", sync_to_thread=True, responses=READ_PROBLEMS, summary="Stored events after a position, in log order")
    def feed(self, queries: NamedDependency[Queries],
             after: Annotated[int, QueryParameter(ge=0, le=10**15, description="the last position already seen")] = 0,
             limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100) -> EventPage:
        last = queries.last_position()
        return EventPage(events=read_events(queries, after, limit), last_position=last)

    @get("/stream", responses=READ_PROBLEMS, media_type="text/event-stream",
         summary="New events as Server-Sent Events (id = log position; Last-Event-ID resumes)")
    async def stream(
        self, queries: NamedDependency[Queries], streaming: NamedDependency[Streaming], access: NamedDependency[Access],
        after: Annotated[int | None, QueryParameter(ge=0, le=10**15, description="start after this position (default: now)")] = None,
        last_event_id: Annotated[str | None, HeaderParameter(name="Last-Event-ID", required=False)] = None,
    ) -> ServerSentEvent:
        if last_event_id is not None:
            value = last_event_id.strip()
            if not value.isascii() or not value.isdigit() or len(value) > 15:
                raise InputError("Last-Event-ID", f"{last_event_id!r} is not an event position")
            after = int(value)
        if after is None:
            after = await anyio.to_thread.run_sync(queries.last_position)
        slots = access.streams
        slot = await anyio.to_thread.run_sync(slots.take)
        if slot is None:
            raise HTTPException(status_code=503, detail=f"{slots.cap} event streams are open; retry later",
                                headers={"Retry-After": "30"})
        release = _once(lambda: slots.release(slot))
        events = self._events(queries, streaming, after, lambda: slots.alive(slot), release)
        weakref.finalize(events, release)  # a stream never started still gives its slot back
        return ServerSentEvent(events, retry_duration=int(streaming.poll_seconds * 1000) or 500)

    @staticmethod
    async def _events(queries: Queries, streaming: Streaming, after: int, alive: Callable[[], None],
                      release: Callable[[], None]) -> AsyncIterator[ServerSentEventMessage]:
        try:
            now = anyio.current_time()
            deadline, heartbeat = now + streaming.stream_seconds, now + HEARTBEAT_SECONDS
            yield ServerSentEventMessage(comment=f"events after position {after}", data=None)
            while anyio.current_time() < deadline:
                batch = await anyio.to_thread.run_sync(read_events, queries, after, STREAM_BATCH)
                for event in batch:
                    yield ServerSentEventMessage(id=event.position, data=msgspec.json.encode(event).decode())
                    after = event.position
                if len(batch) == STREAM_BATCH:
                    continue
                if anyio.current_time() >= heartbeat:  # keeps proxies from closing an idle stream
                    heartbeat = anyio.current_time() + HEARTBEAT_SECONDS
                    await anyio.to_thread.run_sync(alive)  # the slot is still in use
                    yield ServerSentEventMessage(comment="idle", data=None)
                await anyio.sleep(streaming.poll_seconds)
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(release)


def _once(action: Callable[[], None]) -> Callable[[], None]:
    done = threading.Lock()

    def run() -> None:
        if done.acquire(blocking=False):
            action()
    return run
