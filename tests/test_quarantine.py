"""No event can poison a projection: events injected below the API (an event whose stored state
cannot be decoded; on PostgreSQL, text with NUL that its text columns refuse) are quarantined by
the projection that cannot apply them, shown in `/projections` and `registry projections status`,
and logged; every other question is still answered, and questions about the aggregate it belongs
to are withheld (503, INDETERMINATE), never answered falsely. A rebuild clears the quarantine."""

from __future__ import annotations

import json
import logging
from uuid import UUID, uuid4

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from registry.cli import main
from registry.commands import Actor
from registry.domain import Achievement, Credential
from registry.domain.identity import issuer_id
from test_api_support import LEARNER_DID, api, api_factory, assert_problem  # noqa: F401


def inject_undecodable(api, credential_id: str) -> int:
    """A Revoked event of the credential whose state is not an encoded event: only a process
    writing below the API (or a bug) could store it."""
    store = api.registry.store
    version = store.repository.get(UUID(credential_id)).version + 1
    store.recorder.insert_events([StoredEvent(
        originator_id=UUID(credential_id), originator_version=version,
        topic=get_topic(Credential.Revoked), state=b"\x00 not an encoded event")])
    return store.max_position()


def test_an_undecodable_event_is_quarantined_and_everything_else_still_answers(api, caplog, capsys, monkeypatch,
                                                                              registry_environ):
    acme = api.register("acme")
    badge = api.define(acme)
    poisoned = api.issue(acme, badge, LEARNER_DID)
    healthy = api.issue(acme, badge, "ada@example.org")["id"]
    with caplog.at_level(logging.ERROR, logger="registry.projections"):
        position = inject_undecodable(api, poisoned["id"])
        later = api.issue(acme, badge, "bob@example.org")["id"]  # written after the poison

    # The poisoned credential: withheld, never "active"
    withheld = assert_problem(api.client.get(f"/credentials/{poisoned['id']}/status"), 503,
                              detail=f"event at position {position}")
    assert "projections rebuild" in withheld["detail"]
    report = api.client.post("/verify", json=poisoned["document"]).json()
    assert report["verdict"] == "INDETERMINATE", report
    assert any(c["name"] == "status" and c["outcome"] == "indeterminate" for c in report["checks"])
    # Everything else: answered, including what was written after the poison
    for other in (healthy, later):
        assert api.client.get(f"/credentials/{other}/status").json()["status"] == "active"
    assert api.client.get("/endorsements?of=acme").status_code == 200
    # Seen where an operator looks, and alerted in the log
    health = {p["name"]: p for p in api.client.get("/projections").json()}
    held = health["credentials"]["quarantined"]
    assert [(q["position"], q["originator_id"]) for q in held] == [(position, poisoned["id"])]
    assert "Revoked" in held[0]["topic"] and held[0]["reason"]
    assert all(p["lag"] == 0 for p in health.values())
    assert any("quarantined the event at position" in r.getMessage() for r in caplog.records)

    for key, value in registry_environ.items():  # the command line, over the same store
        monkeypatch.setenv(key, value)
    assert main(["projections", "status"]) == 0
    shown = capsys.readouterr().out
    assert "credentials\tposition" in shown and "quarantined 1" in shown
    assert f"quarantined at position {position}: Credential.Revoked of {poisoned['id']}" in shown
    assert main(["status", poisoned["id"]]) == 75
    assert "cannot answer" in capsys.readouterr().err

    # A rebuild applies it again (it fails again: quarantined again, nothing else lost)
    api.registry.queries.read_model.runner.rebuild("credentials")
    again = {p.name: p for p in api.registry.queries.projection_status()}["credentials"].quarantined
    assert [q.position for q in again] == [position]
    assert api.client.get(f"/credentials/{later}/status").json()["status"] == "active"


def test_text_postgresql_cannot_hold_is_quarantined_not_fatal(api):
    """The poison of the issue: an achievement named with NUL, stored below the API's checks. On
    PostgreSQL the directory cannot write it and quarantines it; SQLite holds it."""
    acme = api.register("acme")
    store = api.registry.store
    poisoned = Achievement.define(id=uuid4(), issuer_id=issuer_id("acme"), name="\u0000",
                                  document=json.dumps({"name": "\u0000"}), requires=(), actor=Actor("test").name)
    position = store.commit(poisoned)
    badge = api.define(acme, "Listening")  # written after it, and still projected
    assert api.client.get(f"/achievements/{badge}").status_code == 200
    health = {p["name"]: p for p in api.client.get("/projections").json()}
    held = [q["position"] for q in health["directory"]["quarantined"]]
    if api.registry.queries.local:
        assert held == []
    else:
        assert held == [position]
        assert "NUL" in health["directory"]["quarantined"][0]["reason"]
    assert api.client.get("/issuers/acme").status_code == 200
    assert all(p["lag"] == 0 for p in health.values())
