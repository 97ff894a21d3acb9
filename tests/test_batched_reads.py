"""PostgreSQL's hot reads (a credential's status, a signed status list) answered in batches by one
round trip (registry.api.batching): under hundreds of concurrent requests every answer is the right
credential's, and a read that began after a revocation was acknowledged is never answered by a
round trip that began before it (the batch it joins starts after it arrived)."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest

from registry.api import create_app
from registry.commands import Actor, Award
from registry.vc import status_list

OPERATOR = Actor("test")


@pytest.fixture
def store_kind() -> str:
    return "postgres"


@pytest.fixture
def issued(registry):
    registry.commands.issuers.register(slug="acme", name="Acme Academy", actor=OPERATOR)
    badge = registry.commands.achievements.define(issuer="acme", actor=OPERATOR, definition={
        "name": "Welding", "description": "Welds.", "criteria": {"narrative": "Passed."}}).id
    found = [registry.commands.credentials.issue(Award(f"l{n}@example.org", badge, "8"), actor=OPERATOR)
             for n in range(12)]
    for written in found[:4]:
        registry.commands.credentials.revoke(written.id, reason=f"revoked {written.id}", actor=OPERATOR)
    return found


def run(coroutine):
    return asyncio.run(coroutine)


def test_concurrent_status_reads_each_get_their_own_credential(registry, issued):
    app = create_app(registry)

    async def main():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://registry") as client:
            asks = [issued[n % len(issued)].id for n in range(300)] + ["not-a-credential", issued[0].id.upper()]
            answers = await asyncio.gather(*(client.get(f"/credentials/{ref}/status") for ref in asks))
            return asks, answers

    asks, answers = run(main())
    revoked = {w.id for w in issued[:4]}
    for ref, answer in zip(asks[:300], answers[:300]):
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["id"].endswith(ref) or body.get("credential_id", ref) == ref, body
        assert body["status"] == ("revoked" if ref in revoked else "active"), (ref, body)
        if ref in revoked:
            assert body["reason"] == f"revoked {ref}"
    assert answers[300].status_code in (400, 404)  # asked alone, with its own problem
    assert answers[301].status_code == 200 and answers[301].json()["status"] == "revoked"


def test_a_read_begun_after_an_acknowledged_revocation_sees_it(registry, issued, open_registry):
    """Reads of one credential stream through host B while host A revokes it: every read that began
    after A acknowledged has it revoked, the signed list too."""
    other = open_registry()  # host A, same database
    target = issued[6]
    app = create_app(registry)
    acknowledged: list[float] = []
    index = int(target.document["credentialStatus"]["statusListIndex"])

    def revoke() -> None:
        time.sleep(1.0)
        other.commands.credentials.revoke(target.id, reason="late", actor=OPERATOR)
        acknowledged.append(time.monotonic())

    async def main():
        seen: list[tuple[float, str, bool]] = []
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://registry") as client:
            async def reader() -> None:
                deadline = time.monotonic() + 2.0
                while time.monotonic() < deadline:
                    began = time.monotonic()
                    status = (await client.get(f"/credentials/{target.id}/status")).json()["status"]
                    listed = (await client.get("/status-lists/acme/1")).json()
                    bits = status_list.decode(listed["credentialSubject"]["encodedList"])
                    seen.append((began, status, status_list.is_set(bits, index)))

            writer = threading.Thread(target=revoke)
            writer.start()
            await asyncio.gather(*(reader() for _ in range(20)))
            writer.join()
        return seen

    seen = run(main())
    assert acknowledged, "the revocation did not return"
    after = [(status, listed) for began, status, listed in seen if began > acknowledged[0]]
    before = [(status, listed) for began, status, listed in seen if began < acknowledged[0] - 0.1]
    assert len(after) > 20 and len(before) > 20, (len(after), len(before))
    assert all(s == "revoked" and listed for s, listed in after), [a for a in after if a != ("revoked", True)][:5]
    assert all(s == "active" and not listed for s, listed in before)


def test_every_answer_comes_from_a_call_begun_after_the_question():
    """Batched itself, deterministically: each call numbers itself when it begins; an answer must
    carry a number above the count of calls begun before the question was asked. Questions arrive
    while calls run (10 ms each), so joining a call in flight would be caught."""
    import random

    from registry.api.batching import CALLS, Batched

    began = [0]
    most = [0]
    running = [0]
    lock = threading.Lock()

    def fetch(keys):
        with lock:
            began[0] += 1
            number = began[0]
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.01)
        with lock:
            running[0] -= 1
        return dict.fromkeys(keys, number)

    async def main():
        batched = Batched(fetch)
        late: list[tuple[int, int]] = []

        async def question(key: str) -> None:
            await asyncio.sleep(random.random() * 0.2)
            before = began[0]
            late.append((before, await batched.ask(key)))

        await asyncio.gather(*(question(random.choice("abcde")) for _ in range(400)))
        return late

    answers = run(main())
    assert len(answers) == 400
    assert all(answer > before for before, answer in answers), [a for a in answers if a[1] <= a[0]][:5]
    assert began[0] < 400 and most[0] <= CALLS  # questions shared calls, never more than CALLS at once
