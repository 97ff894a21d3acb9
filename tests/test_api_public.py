"""Public reads through HTTP, on SQLite and PostgreSQL: standard documents with their media types
and caching headers, paged lists, credential status at a moment, verification, the event feed and
its live stream."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta, timezone

import msgspec

from registry.commands import Actor
from test_api_support import LEARNER_DID, PUBLIC_URL, api, api_factory, assert_problem, definition  # noqa: F401


def test_did_document_is_cacheable_with_etag_and_304(api):
    api.register("acme")
    response = api.client.get("/issuers/acme/did.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/did+json")
    assert response.headers["cache-control"].startswith("public")
    assert response.json()["id"] == "did:web:badges.test:issuers:acme" == api.registry.queries.issuer("acme").did
    etag = response.headers["etag"]
    again = api.client.get("/issuers/acme/did.json", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    api.registry.commands.issuers.rotate_key("acme", actor=Actor("test"))  # a new key: a new document, a new tag
    changed = api.client.get("/issuers/acme/did.json", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert len(changed.json()["assertionMethod"]) == 2
    assert_problem(api.client.get("/issuers/nobody/did.json"), 404, detail="nobody")


def test_profile_and_issuer_list_with_cursor_pagination(api):
    for slug in ("acme", "beta", "gamma"):
        api.register(slug)
    profile = api.client.get("/issuers/acme/profile")
    assert profile.headers["content-type"].startswith("application/ld+json")
    assert profile.json()["type"] == ["Profile"] and profile.json()["@context"][0].startswith("https://www.w3.org/")
    first = api.client.get("/issuers", params={"limit": 2}).json()
    assert [i["slug"] for i in first["items"]] == ["acme", "beta"] and first["next_cursor"]
    # a keyset cursor: the log position of the last organisation on the page
    assert first["next_cursor"] == str(api.registry.queries.issuer("beta").position)
    second = api.client.get("/issuers", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [i["slug"] for i in second["items"]] == ["gamma"] and second["next_cursor"] is None
    assert api.client.get("/issuers/beta").json()["keys"][0]["state"] == "active"
    assert_problem(api.client.get("/issuers", params={"cursor": "i:2"}), 400, field="cursor")
    assert_problem(api.client.get("/issuers", params={"limit": 0}), 400, field="limit")


def test_achievement_latest_and_every_version(api):
    acme = api.register("acme")
    achievement = api.define(acme, "Teamwork")
    api.ok(f"/achievements/{achievement}/versions", {"definition": definition("Team work")}, acme, 201)
    latest = api.client.get(f"/achievements/{achievement}")
    assert latest.headers["content-type"].startswith("application/ld+json")
    assert latest.json()["id"] == f"{PUBLIC_URL}/achievements/{achievement}"
    assert latest.json()["name"] == "Team work" and latest.json()["version"] == "2"
    first = api.client.get(f"/achievements/{achievement}/versions/1")
    assert first.json()["name"] == "Teamwork" and "immutable" in first.headers["cache-control"]
    assert_problem(api.client.get(f"/achievements/{achievement}/versions/3"), 404, detail="latest is 2")
    assert_problem(api.client.get("/achievements/not-a-uuid"), 404)
    listed = api.client.get("/achievements", params={"issuer": "acme"}).json()["items"]
    assert [(a["id"], a["version"], a["issuer"]) for a in listed] == [(achievement, 2, "acme")]


def test_credential_status_now_and_at_a_moment(api):
    acme = api.register("acme")
    credential = api.issue(acme, api.define(acme))["id"]
    active = api.client.get(f"/credentials/{credential}/status")
    assert (active.json()["status"], active.json()["since"]) == ("active", active.json()["issued_at"])
    etag = active.headers["etag"]
    assert active.headers["cache-control"] == "public, no-cache"
    unchanged = api.client.get(f"/credentials/{credential}/status", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.content == b""
    before_revocation = datetime.now(timezone.utc)
    time.sleep(0.01)
    api.ok(f"/credentials/{credential}/revoke", {"reason": "issued in error"}, acme)
    revoked = api.client.get(f"/credentials/{credential}/status", headers={"If-None-Match": etag})
    assert revoked.status_code == 200 and revoked.headers["etag"] != etag
    now = revoked.json()
    assert (now["status"], now["reason"], now["valid"], now["expired"], now["at"]) == (
        "revoked", "issued in error", False, False, None)
    then = api.client.get(f"/credentials/{credential}/status", params={"at": before_revocation.isoformat()}).json()
    assert (then["status"], then["valid"]) == ("active", True)
    early = (before_revocation - timedelta(days=1)).isoformat()
    assert_problem(api.client.get(f"/credentials/{credential}/status", params={"at": early}), 404, detail="not issued yet")
    assert_problem(api.client.get(f"/credentials/{credential}/status", params={"at": "2026-01-01T00:00:00"}), 400, field="at")


def test_endorsements_by_subject_endorser_and_moment(api):
    acme = api.register("acme")
    partner = api.register("partner")
    third = api.register("third")
    achievement = api.define(acme)
    on_issuer = api.ok("/endorsements", {"subject": "acme", "comment": "Good"}, partner, 201)["id"]
    on_badge = api.ok("/endorsements", {"subject": achievement, "comment": "Rigorous"}, third, 201)["id"]
    standing = datetime.now(timezone.utc)
    time.sleep(0.01)
    api.ok(f"/endorsements/{on_issuer}/withdraw", {"reason": "ended"}, partner)

    def ids(**params) -> list[str]:
        return [e["id"] for e in api.client.get("/endorsements", params=params).json()["items"]]

    assert ids() == [on_issuer, on_badge]
    assert ids(of="acme") == [on_issuer] and ids(of=achievement) == [on_badge]
    assert ids(by="third") == [on_badge]
    assert ids(of="acme", by="partner") == [on_issuer] and ids(of="acme", by="third") == []
    first = api.client.get("/endorsements", params={"limit": 1}).json()
    assert first["next_cursor"] == str(api.registry.queries.endorsements(of="acme").items[0].position)
    second = api.client.get("/endorsements", params={"limit": 1, "cursor": first["next_cursor"]}).json()
    assert [e["id"] for e in first["items"] + second["items"]] == [on_issuer, on_badge]
    assert second["next_cursor"] is None
    withdrawn = first["items"][0]
    assert (withdrawn["standing"], withdrawn["withdrawn_reason"], withdrawn["subject_kind"]) == (False, "ended", "issuer")
    assert ids(at=standing.isoformat()) == [on_issuer, on_badge]
    assert ids(at=datetime.now(timezone.utc).isoformat()) == [on_badge]
    document = api.client.get(f"/endorsements/{on_badge}")
    assert document.headers["content-type"].startswith("application/vc+ld+json")
    assert document.text == api.registry.queries.endorsement_document(on_badge)
    assert_problem(api.client.get("/endorsements", params={"of": "nobody"}), 404)


def test_verify_reports_valid_and_each_check(api):
    acme = api.register("acme")
    issued = api.issue(acme, api.define(acme), LEARNER_DID)
    report = api.client.post("/verify", json=issued["document"]).json()
    assert report["valid"] is True and report["checks"]
    tampered = {**issued["document"], "validFrom": "2001-01-01T00:00:00Z"}
    report = api.client.post("/verify", json=tampered).json()
    assert report["valid"] is False and any(c["outcome"] == "fail" for c in report["checks"])
    assert_problem(api.client.post("/verify", json=["not", "an", "object"]), 422)


def test_moments_out_of_range_are_refused_naming_the_field(api):
    acme = api.register("acme")
    badge = api.define(acme)
    beyond = "9999-12-31T23:59:59-23:59"  # year 10000 in UTC
    issued = api.issue(acme, badge, LEARNER_DID)["id"]
    for path in ("/endorsements?of=acme&at=", "/trust/anchors?at=", "/trust/paths?from=acme&to=acme&at=",
                 f"/credentials/{issued}/status?at="):
        assert_problem(api.client.get(path + beyond.replace("+", "%2B")), 400, field="at", detail="out of range")
    before = api.registry.store.max_position()
    refused = api.post("/credentials", {"recipient": LEARNER_DID, "achievement": badge, "valid_until": beyond}, acme)
    assert refused.status_code in (400, 422) and "out of range" in refused.json()["detail"], refused.text
    assert api.registry.store.max_position() == before  # nothing stored


def test_event_feed_pages_every_event_in_log_order_without_secrets(api):
    acme = api.register("acme")
    api.issue(acme, api.define(acme), "ada@example.org")
    page = api.client.get("/events", params={"after": 0, "limit": 2}).json()
    assert [e["position"] for e in page["events"]] == [1, 2]
    assert page["last_position"] == api.registry.store.max_position()
    rest = api.client.get("/events", params={"after": 2, "limit": 1000}).json()["events"]
    positions = [e["position"] for e in rest]
    assert positions == list(range(3, api.registry.store.max_position() + 1))
    exported = [msgspec.to_builtins(e) for e in api.registry.queries.export()]
    assert page["events"] + rest == exported
    text = json.dumps(exported)
    assert "ada@example.org" not in text and api.admin not in text


def test_event_stream_delivers_a_revocation(api_factory):
    api = api_factory(stream_seconds=1.2, poll_seconds=0.1)
    acme = api.register("acme")
    credential = api.issue(acme, api.define(acme))["id"]
    start = api.registry.store.max_position()

    def revoke_soon() -> None:
        time.sleep(0.4)
        api.registry.commands.credentials.revoke(credential, reason="fraud", actor=Actor("test"))

    threading.Thread(target=revoke_soon).start()
    response = api.client.get("/events/stream", params={"after": start})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [json.loads(line[len("data: "):]) for line in response.text.splitlines() if line.startswith("data: ")]
    assert [e["topic"].rsplit(".", 1)[-1] for e in events] == ["Revoked"]
    assert events[0]["originator_id"] == credential and events[0]["state"]["reason"] == "fraud"
    assert f"id: {start + 1}" in response.text
    # Last-Event-ID resumes after the last event seen: nothing new, so no events.
    resumed = api.client.get("/events/stream", headers={"Last-Event-ID": str(start + 1)})
    assert "data: " not in resumed.text


def test_openapi_schema_and_unknown_routes_are_problems(api):
    schema = api.client.get("/schema/openapi.json").json()
    assert {"/issuers/{slug}/did.json", "/credentials/batch", "/events/stream", "/verify"} <= set(schema["paths"])
    assert "apiKey" in schema["components"]["securitySchemes"]
    assert_problem(api.client.get("/nowhere"), 404)
    assert_problem(api.client.delete("/issuers"), 405)
