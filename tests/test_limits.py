"""Limits that hold across workers and hosts: two registries (two workers, or two hosts) over one
database share every bucket. Reads are limited per client address, writes per API key, both with
429 and Retry-After; a worker's unspent lease goes back to the shared bucket."""

from __future__ import annotations

import itertools
import threading

from litestar.testing import TestClient

from registry.access import RateLimiter
from registry.api import create_app
from test_api_support import assert_problem, definition


def clients(open_registry, **env: str) -> tuple[list[TestClient], object]:
    """Two apps, each over its own registry (its own connections, pools, leases), one database;
    and the first registry's access (to make API keys)."""
    made, registries = [], []
    for _ in range(2):
        registries.append(open_registry(**env))
        client = TestClient(create_app(registries[-1]))
        client.__enter__()
        made.append(client)
    return made, registries[0].access


def test_reads_are_limited_per_client_across_workers(open_registry):
    workers, access = clients(open_registry, REGISTRY_READ_RATE_PER_MINUTE="60", REGISTRY_READ_BURST="6")
    admin = access.keys.create(issuer=None)[0]
    workers[0].post("/issuers", json={"slug": "acme", "name": "Acme"}, headers={"Authorization": f"Bearer {admin}"})
    answers = [client.get("/issuers/acme") for client in itertools.islice(itertools.cycle(workers), 20)]
    admitted = [a for a in answers if a.status_code == 200]
    refused = [a for a in answers if a.status_code == 429]
    assert 1 <= len(admitted) <= 6 and len(admitted) + len(refused) == 20, [a.status_code for a in answers]
    problem = assert_problem(refused[0], 429, detail="read rate limit")
    assert int(refused[0].headers["retry-after"]) >= 1 and problem["status"] == 429
    # A verification costs ten reads: a burst of six admits none after the reads above.
    assert workers[1].post("/verify", json={"not": "a credential"}).status_code == 429
    for client in workers:
        client.__exit__(None, None, None)


def test_writes_are_limited_per_key_across_workers(open_registry):
    workers, access = clients(open_registry, REGISTRY_API_RATE_PER_MINUTE="60", REGISTRY_API_BURST="4")
    keys = access.keys
    admin = keys.create(issuer=None)[0]
    workers[1].post("/issuers", json={"slug": "acme", "name": "Acme"}, headers={"Authorization": f"Bearer {admin}"})
    acme = {"Authorization": f"Bearer {keys.create(issuer='acme')[0]}"}
    answers = [client.post("/achievements", json={"definition": definition(f"Badge {i}")}, headers=acme)
               for i, client in zip(range(12), itertools.cycle(workers))]
    codes = [a.status_code for a in answers]
    assert 1 <= codes.count(201) <= 4 and codes.count(201) + codes.count(429) == 12, codes
    assert int(next(a for a in answers if a.status_code == 429).headers["retry-after"]) >= 1
    for client in workers:
        client.__exit__(None, None, None)


def test_a_steady_client_within_its_rate_is_never_refused(open_registry):
    """Leases grow for a busy client and shrink for a slow one; unspent requests go back, so a
    client keeping to its rate is never refused, however the requests fall on the workers."""
    registry = open_registry()
    db = registry.access.limiter.db  # where the limits live (SQLite: a file of their own)
    now = [1_000_000.0]
    workers = [RateLimiter(db, 60, burst=10, name="steady", clock=lambda: now[0]) for _ in range(3)]
    for i in range(200):  # one a second, the rate
        now[0] += 1.0
        assert workers[i % 3].take("client") is None, i
    # Faster than the rate: the burst, then refusals with the wait until the next is due.
    refused = [w.take("client") for w in itertools.islice(itertools.cycle(workers), 30)]
    assert refused.count(None) <= 10 and all(r is None or r >= 1 for r in refused)


def test_the_event_stream_cap_is_exact_across_workers(open_registry):
    """Forty openings race on four workers (each with its own connections) for a cap of three:
    exactly three slots are taken. The API answers 503 with Retry-After while the cap is reached,
    and a stream that ends gives its slot back."""
    registries = [open_registry(REGISTRY_MAX_EVENT_STREAMS="3") for _ in range(4)]
    taken: list[str | None] = []
    start = threading.Barrier(40)

    def open_one(index: int) -> None:
        start.wait()
        taken.append(registries[index % 4].access.streams.take())

    threads = [threading.Thread(target=open_one, args=(i,)) for i in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    held = [slot for slot in taken if slot is not None]
    assert len(taken) == 40 and len(held) == 3, taken

    client = TestClient(create_app(registries[0], stream_seconds=0.3, poll_seconds=0.05))
    with client:
        full = client.get("/events/stream", params={"after": 0})
        assert_problem(full, 503, detail="3 event streams are open")
        assert full.headers["retry-after"]
        registries[1].access.streams.release(held.pop())
        served = client.get("/events/stream", params={"after": 0})  # ends after 0.3 s
        assert served.status_code == 200 and served.headers["content-type"].startswith("text/event-stream")
        # Its slot was given back: one more can be taken, and then none
        assert registries[2].access.streams.take() is not None and registries[3].access.streams.take() is None
