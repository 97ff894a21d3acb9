"""Authenticated writes through HTTP, on SQLite and PostgreSQL: every write endpoint, 401 without
a key, 403 for another issuer's key on every write, idempotent replays, limits (413, 429) and
malformed input (400/422 naming the field), all as problem details."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from registry.access import IdempotencyConflict
from registry.access.idempotency import IN_PROGRESS_SECONDS, request_hash
from registry.commands import Actor, Award
from registry.domain.identity import issuer_id
from registry.projections import EndorsementView, KeyState
from registry.vc import did as dids
from registry.vc import openbadges, proofs
from registry.vc.multikey import encode_public_key
from test_api_support import LEARNER_DID, PROBLEM, Api, api, api_factory, assert_problem, definition  # noqa: F401


def key_of(api: Api, slug: str, verification_method: str | None = None) -> KeyState:
    """The organisation's key with this verification method, or its one active key."""
    found = [k for k in api.registry.queries.keys(slug)
             if (k.verification_method == verification_method if verification_method else k.state == "active")]
    assert len(found) == 1, found
    return found[0]


def endorsement_of(api: Api, endorsement_id: str) -> EndorsementView:
    found = [e for e in api.registry.queries.endorsements().items if e.id == endorsement_id]
    assert len(found) == 1, found
    return found[0]


def test_every_write_endpoint_works_for_the_issuers_own_key(api):
    acme = api.register("acme")
    partner = api.register("partner")
    first_key = key_of(api, "acme").verification_method

    rotated = api.ok("/issuers/acme/keys/rotate", {}, acme)
    assert rotated["position"] > 0 and rotated["id"] != first_key
    compromised = api.ok("/issuers/acme/keys/compromise",
                         {"key": first_key, "since": "2020-01-01T00:00:00Z"}, acme)
    assert compromised["id"] == first_key
    assert key_of(api, "acme", first_key).state == "compromised"

    achievement = api.define(acme, "Teamwork")
    revised = api.ok(f"/achievements/{achievement}/versions", {"definition": definition("Team work")}, acme, 201)
    assert revised["id"] == achievement and api.registry.queries.achievement(achievement).version == 2
    other = api.define(acme, "Listening")
    assert api.ok(f"/achievements/{other}/retire", {"reason": "replaced"}, acme)["id"] == other

    issued = api.issue(acme, achievement, LEARNER_DID)
    assert issued["document"]["credentialSubject"]["id"] == LEARNER_DID
    assert issued["position"] == api.registry.store.max_position()
    batch = api.ok("/credentials/batch", {"awards": [
        {"recipient": "a@example.org", "achievement": achievement, "result": "87%"},
        {"recipient": "b@example.org", "achievement": achievement, "valid_until": "2099-01-01T00:00:00Z"},
    ]}, acme, 201)
    assert len(batch["ids"]) == len(batch["documents"]) == 2
    credential = batch["ids"][0]
    api.ok(f"/credentials/{credential}/suspend", {}, acme)
    api.ok(f"/credentials/{credential}/reinstate", {"reason": "cleared"}, acme)
    api.ok(f"/credentials/{credential}/revoke", {"reason": "error"}, acme)
    assert api.registry.queries.credential(credential).status == "revoked"

    endorsed = api.ok("/endorsements", {"subject": "acme", "comment": "Solid programme"}, partner, 201)
    assert endorsed["document"]["credentialSubject"]["id"] == api.registry.queries.issuer("acme").did
    api.ok(f"/endorsements/{endorsed['id']}/withdraw", {"reason": "expired partnership"}, partner)
    assert endorsement_of(api, endorsed["id"]).withdrawn_reason == "expired partnership"
    assert endorsement_of(api, endorsed["id"]).withdrawn_at is not None
    registered = api.registry.store.repository.get(issuer_id("acme"))
    assert registered.registered_by == f"api:{api.admin[:11]}"


def test_a_self_signed_endorsement_is_stored_byte_for_byte(api):
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes_raw()
    did = dids.did_key(public)
    api.ok("/issuers", {"slug": "outside", "name": "Outside Org", "did": did}, status=201)
    outside = api.key_for("outside")
    api.register("acme")
    vm = f"{did}#{encode_public_key(public)}"
    document = openbadges.endorsement_credential(
        "urn:uuid:9b6f6f0e-2f5e-4c1a-9a57-3f7d2b1c0a11", openbadges.profile(did, "Outside Org"),
        api.registry.queries.issuer("acme").did, "We vouch for Acme", valid_from="2026-01-01T00:00:00Z")
    signed = proofs.sign(document, _Signer(private, vm), created="2026-01-01T00:00:00Z")
    text = json.dumps(signed, indent=4)  # not the registry's own layout: the exact text must be kept
    response = api.client.post("/endorsements/submitted", content=text.encode(),
                               headers=api.auth(outside, **{"content-type": "application/json"}))
    assert response.status_code == 201, response.text
    assert api.registry.queries.endorsement_document(response.json()["id"]) == text


class _Signer:
    def __init__(self, private, verification_method: str) -> None:
        self.private, self.verification_method = private, verification_method

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data)


def test_writes_need_a_valid_key(api):
    for path, body in (("/issuers", {"slug": "x", "name": "X"}), ("/credentials", {"recipient": "a@b.c", "achievement": "x"})):
        response = api.client.post(path, json=body)
        assert_problem(response, 401, detail="Authorization: Bearer")
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert_problem(api.client.post(path, json=body, headers=api.auth("rk_not-a-key")), 401, detail="unknown or revoked")
    key_id = api.keys.records()[0].id
    api.keys.revoke(key_id)
    assert_problem(api.post("/issuers", {"slug": "x", "name": "X"}), 401)


def test_another_issuers_key_gets_403_for_every_write(api):
    acme = api.register("acme")
    partner = api.register("partner")
    intruder = api.register("intruder")
    achievement = api.define(acme)
    credential = api.issue(acme, achievement)["id"]
    endorsement = api.ok("/endorsements", {"subject": "acme", "comment": "good"}, partner, 201)["id"]
    vm = key_of(api, "acme").verification_method
    before = api.registry.store.max_position()
    writes = [
        ("/issuers", {"slug": "newco", "name": "New Co"}),
        ("/issuers/acme/keys/rotate", {}),
        ("/issuers/acme/keys/compromise", {"key": vm, "since": "2026-01-01T00:00:00Z"}),
        ("/achievements", {"issuer": "acme", "definition": definition("Stolen")}),
        (f"/achievements/{achievement}/versions", {"definition": definition("Changed")}),
        (f"/achievements/{achievement}/retire", {"reason": "no"}),
        ("/credentials", {"recipient": "eve@example.org", "achievement": achievement}),
        ("/credentials/batch", {"awards": [{"recipient": "eve@example.org", "achievement": achievement}]}),
        (f"/credentials/{credential}/revoke", {"reason": "spite"}),
        (f"/credentials/{credential}/suspend", {}),
        (f"/credentials/{credential}/reinstate", {}),
        ("/endorsements", {"by": "partner", "subject": "acme", "comment": "forged"}),
        (f"/endorsements/{endorsement}/withdraw", {}),
    ]
    for path, body in writes:
        assert_problem(api.post(path, body, intruder), 403)
    # A document signed by another organisation cannot be submitted with this key either.
    submitted = api.registry.queries.endorsement_document(endorsement)
    response = api.client.post("/endorsements/submitted", content=submitted.encode(),
                               headers=api.auth(intruder, **{"content-type": "application/json"}))
    assert response.status_code in (403, 422), response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert api.registry.store.max_position() == before, "a refused write stored events"


def test_domain_refusals_map_to_status_codes(api):
    acme = api.register("acme")
    assert_problem(api.post("/issuers", {"slug": "acme", "name": "Again"}), 409, detail="already registered")
    assert_problem(api.post("/issuers", {"slug": "Not A Slug", "name": "X"}), 422, detail="invalid slug")
    assert_problem(api.post("/credentials/7f1d2c3b-0000-4000-8000-000000000000/revoke", {"reason": "x"}, acme), 404)
    achievement = api.define(acme)
    credential = api.issue(acme, achievement)["id"]
    api.ok(f"/credentials/{credential}/revoke", {"reason": "x"}, acme)
    assert_problem(api.post(f"/credentials/{credential}/revoke", {"reason": "again"}, acme), 409, detail="already revoked")
    assert_problem(api.post("/achievements", {"definition": {"name": "No criteria"}}, acme), 422, detail="criteria")
    assert_problem(api.post("/achievements", {"definition": definition("X")}), 400, field="issuer")


def test_idempotency_key_replays_the_first_answer(api):
    acme = api.register("acme")
    achievement = api.define(acme)
    body = {"recipient": "ada@example.org", "achievement": achievement}
    first = api.post("/credentials", body, acme, **{"Idempotency-Key": "order-17"})
    assert first.status_code == 201, first.text
    position = api.registry.store.max_position()
    again = api.post("/credentials", body, acme, **{"Idempotency-Key": "order-17"})
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert api.registry.store.max_position() == position, "a replay stored events"
    changed = api.post("/credentials", {**body, "result": "90%"}, acme, **{"Idempotency-Key": "order-17"})
    assert_problem(changed, 422, detail="different request")
    # A refused write keeps nothing: the same key may be used once the request is fixed.
    refused = api.post("/credentials", {**body, "achievement": "nope"}, acme, **{"Idempotency-Key": "order-18"})
    assert_problem(refused, 404)
    fixed = api.post("/credentials", body, acme, **{"Idempotency-Key": "order-18"})
    assert fixed.status_code == 201, fixed.text
    # Keys are per API key: another key's "order-17" is a different record.
    other = api.post("/credentials", body, api.admin, **{"Idempotency-Key": "order-17"})
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]


def _claim(api, key: str, idempotency_key: str, body: bytes, seconds_ago: float) -> None:
    """What a worker killed mid-write leaves: its claim of this request, in progress, taken
    `seconds_ago`."""
    taken = (datetime.now(timezone.utc) - timedelta(seconds=seconds_ago)).isoformat(timespec="microseconds")
    key_id = api.keys.authenticate(key).key_id
    with api.registry.access.idempotency.db.transaction() as cursor:
        cursor.execute("INSERT INTO api_idempotency (key_id, idempotency_key, request_hash, status, created_at)"
                       " VALUES (?, ?, ?, 0, ?)",
                       (key_id, idempotency_key, request_hash("POST", "/credentials", body), taken))


def test_a_claim_left_by_a_dead_worker_expires_and_the_retry_performs_the_write(api):
    acme = api.register("acme")
    achievement = api.define(acme)
    body = json.dumps({"recipient": "ada@example.org", "achievement": achievement}).encode()

    def send(idempotency_key: str):
        return api.client.post("/credentials", content=body, headers=api.auth(
            acme, **{"Idempotency-Key": idempotency_key, "content-type": "application/json"}))

    before = api.registry.store.max_position()
    # A claim taken a moment ago: the first request may still be running.
    _claim(api, acme, "busy", body, seconds_ago=1)
    busy = send("busy")
    assert_problem(busy, 409, detail="still being processed")
    assert 1 <= int(busy.headers["retry-after"]) <= IN_PROGRESS_SECONDS and "expires" in busy.json()["detail"]
    assert api.registry.store.max_position() == before
    # A claim older than IN_PROGRESS_SECONDS: its worker is gone; the retry writes, once.
    _claim(api, acme, "orphan", body, seconds_ago=IN_PROGRESS_SECONDS + 1)
    taken_over = send("orphan")
    assert taken_over.status_code == 201, taken_over.text
    replayed = send("orphan")
    assert replayed.json() == taken_over.json() and replayed.headers["idempotent-replayed"] == "true"
    assert api.registry.queries.credential(taken_over.json()["id"]).status == "active"
    assert api.registry.store.max_position() == taken_over.json()["position"]


def test_an_attempt_whose_claim_was_taken_over_stores_nothing(api):
    """The first worker was only slow: by the time it answers, a retry took its claim over. Its
    write and its answer share one transaction, so both are rolled back."""
    acme = api.register("acme")
    achievement = api.define(acme)
    idempotency = api.registry.access.idempotency
    key_id = api.keys.authenticate(acme).key_id
    claim = idempotency.begin(key_id, "slow", "d" * 64)
    before = api.registry.store.max_position()

    def slow_write():
        with idempotency.db.transaction() as cursor:  # meanwhile, a retry takes the claim over
            cursor.execute("UPDATE api_idempotency SET created_at = ? WHERE key_id = ? AND idempotency_key = ?",
                           ("2000-01-01T00:00:00.000000+00:00", key_id, "slow"))
        return api.registry.commands.credentials.issue(Award("ada@example.org", achievement), actor=Actor("api:x"))

    with pytest.raises(IdempotencyConflict, match="taken over"):
        idempotency.perform(claim, slow_write, 201)
    assert api.registry.store.max_position() == before, "the slow attempt's events were kept"


def test_bodies_over_256_kib_are_refused(api):
    acme = api.register("acme")
    big = {"definition": {**definition("Big"), "description": "x" * (256 * 1024)}}
    assert_problem(api.post("/achievements", big, acme), 413)


def test_rate_limit_per_key_answers_429_with_retry_after(api_factory):
    api = api_factory({"REGISTRY_API_RATE_PER_MINUTE": "60", "REGISTRY_API_BURST": "3"})
    acme = api.register("acme")  # the admin key's first request
    for _ in range(3):
        assert api.post("/issuers/acme/keys/rotate", {}, acme).status_code == 200
    limited = api.post("/issuers/acme/keys/rotate", {}, acme)
    assert_problem(limited, 429, detail="rate limit")
    assert int(limited.headers["retry-after"]) >= 1
    # Another key has its own bucket.
    assert api.post("/issuers", {"slug": "other", "name": "Other"}).status_code == 201


def test_malformed_input_is_400_or_422_naming_the_field(api):
    acme = api.register("acme")
    headers = api.auth(acme, **{"content-type": "application/json"})
    assert_problem(api.client.post("/credentials", content=b'{"recipient": ', headers=headers), 400, detail="not valid JSON")
    assert_problem(api.client.post("/credentials", content=b'{"recipient": "\xff"}', headers=headers), 400)
    assert_problem(api.post("/credentials", {"recipient": 5, "achievement": "x"}, acme), 422, field="recipient")
    assert_problem(api.post("/credentials", {"achievement": "x"}, acme), 422, field="recipient")
    assert_problem(api.post("/credentials", {"recipient": "a@b.c", "achievement": "x", "colour": 1}, acme), 422, field="colour")
    assert_problem(api.post("/credentials/batch", {"awards": [{"recipient": "a@b.c", "achievement": 1}]}, acme),
                   422, field="awards[0].achievement")
    assert_problem(api.post("/credentials", {"recipient": "a@b.c", "achievement": "x", "valid_until": "2030-01-01T00:00:00"}, acme),
                   422, field="valid_until")
    assert_problem(api.post("/issuers/acme/keys/compromise", {"key": "k", "since": "yesterday"}, acme), 422, field="since")
    assert_problem(api.client.post("/credentials", json=[1, 2], headers=api.auth(acme)), 422)
