"""Many concurrent reads of one kind answered by one call: the hot reads on PostgreSQL (a
credential's status, the log's version a status list is signed as of), where one round trip per
request, not the work, is what limits a host (bench/http_load.py).

Every request is answered by a call that began after the request arrived, so it reflects every write
acknowledged before then, on any host, exactly as a call of its own would (the ReadIndex batching
of consensus stores). A request arriving while fewer than CALLS calls run starts one at once (a call
of its own when the host is idle: no added wait); while CALLS run, requests wait together for the
next, made as soon as one returns. Under load a call answers a whole batch."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from typing import Any

import anyio.to_thread

BATCH = 512  # keys per call: PostgreSQL takes them as one array parameter
# Calls at once per process: one strictly at a time doubled the median wait at 1,000 req/s (a request
# arriving during a call waited for it and then its own); more would take the connections (4 per
# pool) other reads need.
CALLS = 2


class Batched:
    def __init__(self, fetch: Callable[[list[Any]], dict[Any, Any]]) -> None:
        """`fetch(keys) -> {key: answer}`, blocking (run in a worker thread); a key it leaves out,
        or a call that raised, answers None: the caller then asks on its own and meets the reason."""
        self._fetch = fetch
        self._waiting: dict[Hashable, list[asyncio.Future]] = {}
        self._calls: set[asyncio.Task] = set()

    async def ask(self, key: Hashable) -> Any:
        future = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append(future)
        if len(self._calls) < CALLS:
            self._start()
        return await future

    def _start(self) -> None:
        task = asyncio.get_running_loop().create_task(self._call())
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)

    async def _call(self) -> None:
        # Only those waiting now: a key arriving later is answered by a call that begins later.
        keys = list(self._waiting)[:BATCH]
        batch = {key: self._waiting.pop(key) for key in keys}
        try:
            found = await anyio.to_thread.run_sync(self._fetch, keys) if keys else {}
        except Exception:  # each caller asks again alone and gets its own answer or problem
            found = {}
        for key, futures in batch.items():
            answer = found.get(key)
            for future in futures:
                if not future.done():  # a request that went away
                    future.set_result(answer)
        if self._waiting:  # those that arrived while CALLS ran: this call's place is theirs
            self._start()
