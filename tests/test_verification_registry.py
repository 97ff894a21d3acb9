"""The registry's own additions to the verification report: status read from a Bitstring Status
List (one the registry holds, or one a verifier gives), the endorsements of the credential's
achievement and issuer, and the chain of endorsements from a trust anchor."""

from __future__ import annotations

import pytest

from registry.commands import Actor, Award

ACTOR = Actor("test")  # the registry's operator


@pytest.fixture
def app(registry):
    for slug, name in (("acme", "Acme Academy"), ("partner", "Partner B.V."), ("city", "Gemeente Rivierstad")):
        registry.commands.issuers.register(slug=slug, name=name, actor=ACTOR)
    return registry


def badge(app) -> str:
    return app.commands.achievements.define(issuer="acme", actor=ACTOR, definition={
        "name": "Social skills: Good", "description": "Communicates clearly.",
        "criteria": {"narrative": "Scored 71-84%."}}).id


def issue(app, recipient: str, achievement: str):
    return app.commands.credentials.issue(Award(recipient, achievement), actor=ACTOR)


def check(report, name: str):
    found = report.find(name)
    assert found is not None, [c.name for c in report.checks]
    return found


def test_endorsements_of_the_achievement_and_issuer_are_reported(app):
    achievement = badge(app)
    document = issue(app, "did:example:learner", achievement).document
    assert check(app.queries.verify(document), "endorsements").outcome == "skip"

    app.commands.endorsements.endorse(by="partner", subject=achievement, comment="We hire on this.", actor=ACTOR)
    withdrawn = app.commands.endorsements.endorse(by="city", subject="acme", comment="A good partner.",
                                                  actor=ACTOR)
    endorsements = check(app.queries.verify(document), "endorsements")
    assert endorsements.outcome == "pass"
    assert "partner (achievement" in endorsements.reason and "city (issuer" in endorsements.reason
    assert {e["endorser"] for e in endorsements.details} == {"partner", "city"}

    app.commands.endorsements.withdraw(withdrawn.id, reason="programme ended", actor=ACTOR)
    endorsements = check(app.queries.verify(document), "endorsements")
    assert "city" not in endorsements.reason and "1 endorsement(s) withdrawn" in endorsements.reason
    assert app.queries.verify(document).valid  # endorsements inform, they do not invalidate


def test_trust_chain_from_an_anchor(app):
    document = issue(app, "did:example:learner", badge(app)).document
    assert check(app.queries.verify(document), "trust-chain").outcome == "skip"

    app.commands.trust.add_anchor("city", actor=ACTOR)
    no_chain = check(app.queries.verify(document), "trust-chain")
    assert no_chain.outcome == "warn" and "no chain" in no_chain.reason

    app.commands.endorsements.endorse(by="city", subject="partner", comment="Trusted.", actor=ACTOR)
    app.commands.endorsements.endorse(by="partner", subject="acme", comment="Trusted too.", actor=ACTOR)
    chain = check(app.queries.verify(document), "trust-chain")
    assert chain.outcome == "pass" and chain.reason.endswith("city -> partner -> acme")
    assert [hop["subject"] for hop in chain.details] == ["partner", "acme"]


def test_status_from_the_registrys_own_list_for_a_credential_it_did_not_log(app):
    issued = issue(app, "did:example:learner", badge(app))
    assert check(app.queries.verify(issued.document), "status").reason == "credential is active in this registry"
    # A copy that differs from the logged document is not the registry's record (its proof fails
    # too); its status entry is still answered, from the issuer's list the registry holds.
    altered = {**issued.document, "name": "Renamed"}
    before = check(app.queries.verify(altered), "status")
    assert before.outcome == "pass" and "in this registry" not in before.reason
    app.commands.credentials.revoke(issued.id, reason="issued in error", actor=ACTOR)
    assert check(app.queries.verify(altered), "status").outcome == "fail"


def test_status_from_a_list_the_verifier_gives(app, open_registry, tmp_path):
    achievement = badge(app)
    kept = issue(app, "did:example:a", achievement)
    revoked = issue(app, "did:example:b", achievement)
    app.commands.credentials.revoke(revoked.id, reason="issued in error", actor=ACTOR)
    entry = revoked.document["credentialStatus"]
    entry = entry[0] if isinstance(entry, list) else entry
    number = int(entry["statusListCredential"].rsplit("/", 1)[1])
    status_list = app.commands.status_lists.sign("acme", number)

    # Another registry, which knows nothing of acme, verifies with the list a verifier holds: its
    # own (empty, SQLite) store and keystore, another public URL.
    elsewhere = open_registry(REGISTRY_HOME=str(tmp_path / "elsewhere" / "home"),
                              REGISTRY_KEYS=str(tmp_path / "elsewhere" / "keys"),
                              REGISTRY_DATABASE_URL="", REGISTRY_PUBLIC_URL="https://other.test")
    assert elsewhere.store.max_position() == 0
    assert elsewhere.queries.issuer_of_did(kept.document["issuer"]["id"]) is None
    # Offline, with nothing given: neither the issuer's key nor the status can be had.
    unknown = elsewhere.queries.verify(revoked.document, offline=True)
    assert check(unknown, "status").outcome == "indeterminate" and unknown.verdict == "INDETERMINATE"
    assert check(unknown, "proof").outcome == "indeterminate"
    # The list alone is not enough: its proof counts only with a key the issuer's DID document lists.
    lists = {status_list["id"]: status_list}
    assert check(elsewhere.queries.verify(revoked.document, lists, offline=True), "status").outcome == "indeterminate"
    did_document = app.queries.did_document("acme")
    given = {**lists, "https://badges.test/issuers/acme/did.json": did_document}
    revoked_report = elsewhere.queries.verify(revoked.document, given, offline=True)
    assert check(revoked_report, "status").outcome == "fail" and revoked_report.verdict == "INVALID"
    kept_report = elsewhere.queries.verify(kept.document, given, offline=True)
    assert check(kept_report, "status").outcome == "pass" and kept_report.verdict == "VALID"
    assert check(kept_report, "issuer-known").outcome == "warn"
    assert check(kept_report, "key-history").outcome == "pass"  # an assertion method of its DID document


def test_the_did_document_agrees_with_the_key_projection(app):
    from datetime import datetime, timezone

    app.commands.issuers.rotate_key("acme", actor=ACTOR)
    first = app.queries.keys("acme")[0].verification_method  # the key acme registered with
    app.commands.issuers.report_compromise("acme", verification_method=first,
                                           since=datetime(2020, 1, 1, tzinfo=timezone.utc), actor=ACTOR)
    app.commands.issuers.rotate_key("acme", actor=ACTOR)

    document = app.queries.did_document("acme")
    projected = {k.verification_method: k for k in app.queries.keys("acme")}
    listed = {vm["id"]: vm for vm in document["verificationMethod"]}
    assert set(listed) == set(projected) and len(listed) == 3
    for vm, key in projected.items():
        assert listed[vm]["publicKeyMultibase"] == key.public_key_multibase
        assert ("revoked" in listed[vm]) == (key.state == "compromised")
        assert (vm in document["assertionMethod"]) == (key.state != "compromised")
    assert sorted(k.state for k in projected.values()) == ["active", "compromised", "retired"]
