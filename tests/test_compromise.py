"""A key compromise, end to end: every answer agrees (status through the queries, the CLI and HTTP,
and verification), `keys affected` lists what the compromise invalidates, and `reissue` signs fresh
copies with the new key and revokes the old ones in one transaction."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

from litestar.testing import TestClient

from registry import cli
from registry.api import create_app
from registry.commands import Actor, Award

OPERATOR = Actor("test")
LEARNER = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"


def test_a_compromise_invalidates_what_its_key_signed_since_and_reissue_restores_it(
        registry, registry_environ, monkeypatch, capsys):
    commands, queries = registry.commands, registry.queries
    commands.issuers.register(slug="acme", name="Acme", actor=OPERATOR)
    course = commands.achievements.define(issuer="acme", actor=OPERATOR, definition={
        "name": "Teamwork", "description": "Works in a team.", "criteria": {"narrative": "Peer-reviewed."}}).id
    before = commands.credentials.issue(Award(LEARNER, course, "80%"), actor=OPERATOR)
    time.sleep(0.01)
    since = datetime.now(timezone.utc)
    time.sleep(0.01)
    after = [commands.credentials.issue(Award(LEARNER, course, f"{90 + n}%"), actor=OPERATOR) for n in range(2)]
    leaked = next(k for k in queries.keys("acme") if k.state == "active").verification_method
    commands.issuers.report_compromise("acme", verification_method=leaked, since=since, actor=OPERATOR)
    reported = datetime.now(timezone.utc)

    # Status and verification agree: signed (logged) before the compromise began stands.
    assert queries.credential_status(before.id).valid
    assert queries.verify(before.document).verdict == "VALID"
    for written in after:
        status = queries.credential_status(written.id)
        assert (status.status, status.valid) == ("compromised", False)
        assert leaked in status.reason
        assert queries.verify(written.document).find("key-history").outcome == "fail"
    # As of a moment before the compromise was reported, the registry answered "active".
    assert queries.credential_status(after[0].id, since).status in ("active", "not-issued")

    affected = queries.affected("acme")
    assert [a.credential_id for a in affected] == [w.id for w in after]
    assert {a.verification_method for a in affected} == {leaked}

    # The same answers through the command line and HTTP.
    for name, value in registry_environ.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["status", after[0].id]) == 1
    assert capsys.readouterr().out.startswith("compromised since")
    assert cli.main(["--json", "keys", "affected", "acme"]) == 0
    assert [a["credential_id"] for a in json.loads(capsys.readouterr().out)] == [w.id for w in after]
    with TestClient(create_app(registry)) as client:
        assert client.get(f"/credentials/{after[1].id}/status").json()["status"] == "compromised"
        listed = client.get("/issuers/acme/keys/affected").json()
        assert [a["credential_id"] for a in listed] == [w.id for w in after]

    # Re-issue: fresh copies with the new key; the old ones revoked, in one transaction.
    position = queries.last_position()
    assert cli.main(["--json", "reissue", "--affected", "acme"]) == 0
    reissued = json.loads(capsys.readouterr().out)
    assert len(reissued["ids"]) == 2 and reissued["position"] > position
    for old, new_id, document in zip(after, reissued["ids"], reissued["documents"]):
        assert queries.credential_status(old.id).status == "revoked"
        assert new_id in queries.credential_status(old.id).reason
        assert queries.credential_status(new_id).valid
        report = queries.verify(document)
        assert report.verdict == "VALID", [c for c in report.checks if c.outcome != "pass"]
        assert document["proof"][0]["verificationMethod"] != leaked
        assert document["credentialSubject"] == old.document["credentialSubject"]
    assert {a.status for a in queries.affected("acme")} == {"revoked"}
    assert cli.main(["reissue", "--affected", "acme"]) == 2  # nothing left standing to re-issue
    # Only the issuer (or the operator) may re-issue, and nothing is stored when refused.
    import pytest
    from registry.domain import DomainError, NotAuthorised

    commands.issuers.register(slug="other", name="Other", actor=OPERATOR)
    position = queries.last_position()
    with pytest.raises(NotAuthorised):
        commands.credentials.reissue([before.id], actor=Actor("api:other", issuer="other"))
    with pytest.raises(DomainError, match="active key already"):
        commands.credentials.reissue([reissued["ids"][0]], actor=OPERATOR)
    assert queries.last_position() == position
