"""Many concurrent reads of one kind answered by one call: the hot reads on PostgreSQL (a
credential's status, the log's version a status list is signed as of), where one round trip per
request, not the work, is what limits a host (bench/http_load.py).

Every request is answered by a call that began after the request arrived, so it reflects every write
acknowledged before then, on any host, exactly as a call of its own would (the ReadIndex batching
of consensus stores). While a call runs, requests arriving wait for the next one, made as soon as it
returns; under load a call answers a whole batch, idle it answers one request, at once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from typing import Any

import anyio.to_thread

BATCH = 512  # keys per call: PostgreSQL takes them as one array parameter


class Batched:
    def __init__(self, fetch: Callable[[list[Any]], dict[Any, Any]]) -> None:
        """`fetch(keys) -> {key: answer}`, blocking (run in a worker thread); a key it leaves out,
        or a call that raised, answers None: the caller then asks on its own and meets the reason."""
        self._fetch = fetch
        self._waiting: dict[Hashable, list[asyncio.Future]] = {}
        self._task: asyncio.Task | None = None

    async def ask(self, key: Hashable) -> Any:
        future = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append(future)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())
        return await future

    async def _run(self) -> None:
        try:
            while self._waiting:
                keys = list(self._waiting)[:BATCH]  # those beyond wait for the next call: it begins later still
                batch = {key: self._waiting.pop(key) for key in keys}
                try:
                    found = await anyio.to_thread.run_sync(self._fetch, keys)
                except Exception:  # each caller asks again alone and gets its own answer or problem
                    found = {}
                for key, futures in batch.items():
                    answer = found.get(key)
                    for future in futures:
                        if not future.done():  # a request that went away
                            future.set_result(answer)
        finally:
            self._task = None
