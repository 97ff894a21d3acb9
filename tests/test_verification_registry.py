"""The registry's own additions to the verification report: status read from a Bitstring Status
List (one the registry holds, or one a verifier gives), the endorsements of the credential's
achievement and issuer, and the chain of endorsements from a trust anchor."""

from __future__ import annotations

import pytest

from registry.application import Award, Config, Registry
from registry.keystore import Keystore
from registry.store.append_only import enforce_append_only

ACTOR = "test"


def new_registry(env: dict[str, str], tmp_path, name: str, public_url: str) -> Registry:
    keys = tmp_path / name / "keys"
    registry = Registry(config=Config(public_url=public_url, keys_dir=keys), keystore=Keystore(keys), env=env)
    enforce_append_only(registry)
    return registry


def sqlite_env(tmp_path, name: str) -> dict[str, str]:
    (tmp_path / name).mkdir(parents=True, exist_ok=True)
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(tmp_path / name / "registry.sqlite"),
            "MAPPER_TOPIC": "registry.store.encoding:MsgspecMapper",
            "TRANSCODER_TOPIC": "registry.store.encoding:PassThroughTranscoder"}


@pytest.fixture
def app(store_env, tmp_path) -> Registry:
    registry = new_registry(store_env, tmp_path, "main", "https://badges.test")
    for slug, name in (("acme", "Acme Academy"), ("partner", "Partner B.V."), ("city", "Gemeente Rivierstad")):
        registry.register_issuer(slug=slug, name=name, actor=ACTOR)
    return registry


def badge(app: Registry) -> str:
    return app.define_achievement(issuer="acme", actor=ACTOR, definition={
        "name": "Social skills: Good", "description": "Communicates clearly.",
        "criteria": {"narrative": "Scored 71-84%."}}).id


def check(report, name: str):
    found = report.find(name)
    assert found is not None, [c.name for c in report.checks]
    return found


def test_endorsements_of_the_achievement_and_issuer_are_reported(app):
    achievement = badge(app)
    document = app.issue_credential(Award("did:example:learner", achievement), actor=ACTOR).document
    assert check(app.verify_document(document), "endorsements").outcome == "skip"

    app.endorse(by="partner", subject=achievement, comment="We hire on this.", actor=ACTOR)
    withdrawn = app.endorse(by="city", subject="acme", comment="A good partner.", actor=ACTOR)
    endorsements = check(app.verify_document(document), "endorsements")
    assert endorsements.outcome == "pass"
    assert "partner (achievement" in endorsements.reason and "city (issuer" in endorsements.reason
    assert {e["endorser"] for e in endorsements.details} == {"partner", "city"}

    app.withdraw_endorsement(withdrawn.id, reason="programme ended", actor=ACTOR)
    endorsements = check(app.verify_document(document), "endorsements")
    assert "city" not in endorsements.reason and "1 endorsement(s) withdrawn" in endorsements.reason
    assert app.verify_document(document).valid  # endorsements inform, they do not invalidate


def test_trust_chain_from_an_anchor(app):
    document = app.issue_credential(Award("did:example:learner", badge(app)), actor=ACTOR).document
    assert check(app.verify_document(document), "trust-chain").outcome == "skip"

    app.add_trust_anchor("city", actor=ACTOR)
    no_chain = check(app.verify_document(document), "trust-chain")
    assert no_chain.outcome == "warn" and "no chain" in no_chain.reason

    app.endorse(by="city", subject="partner", comment="Trusted.", actor=ACTOR)
    app.endorse(by="partner", subject="acme", comment="Trusted too.", actor=ACTOR)
    chain = check(app.verify_document(document), "trust-chain")
    assert chain.outcome == "pass" and chain.reason.endswith("city -> partner -> acme")
    assert [hop["subject"] for hop in chain.details] == ["partner", "acme"]


def test_status_from_the_registrys_own_list_for_a_credential_it_did_not_log(app):
    issued = app.issue_credential(Award("did:example:learner", badge(app)), actor=ACTOR)
    assert check(app.verify_document(issued.document), "status").reason == "credential is active in this registry"
    # A copy that differs from the logged document is not the registry's record (its proof fails
    # too); its status entry is still answered, from the issuer's list the registry holds.
    altered = {**issued.document, "name": "Renamed"}
    before = check(app.verify_document(altered), "status")
    assert before.outcome == "pass" and "in this registry" not in before.reason
    app.revoke_credential(issued.id, reason="issued in error", actor=ACTOR)
    assert check(app.verify_document(altered), "status").outcome == "fail"


def test_status_from_a_list_the_verifier_gives(app, tmp_path):
    achievement = badge(app)
    kept = app.issue_credential(Award("did:example:a", achievement), actor=ACTOR)
    revoked = app.issue_credential(Award("did:example:b", achievement), actor=ACTOR)
    app.revoke_credential(revoked.id, reason="issued in error", actor=ACTOR)
    entry = revoked.document["credentialStatus"]
    entry = entry[0] if isinstance(entry, list) else entry
    number = int(entry["statusListCredential"].rsplit("/", 1)[1])
    status_list = app.status_list_credential("acme", number)

    # Another registry, which knows nothing of acme, verifies with the list a verifier holds.
    elsewhere = new_registry(sqlite_env(tmp_path, "elsewhere"), tmp_path, "elsewhere", "https://other.test")
    lists = {status_list["id"]: status_list}
    assert check(elsewhere.verify_document(revoked.document), "status").outcome == "skip"
    revoked_report = elsewhere.verify_document(revoked.document, lists)
    assert check(revoked_report, "status").outcome == "fail" and not revoked_report.valid
    kept_report = elsewhere.verify_document(kept.document, lists)
    assert check(kept_report, "status").outcome == "pass"
    assert check(kept_report, "issuer-known").outcome == "warn"


def test_the_did_document_agrees_with_the_key_projection(app):
    from datetime import datetime, timezone

    app.rotate_key("acme", actor=ACTOR)
    first = app.issuer("acme").keys[0].verification_method
    app.report_key_compromise("acme", verification_method=first,
                              since=datetime(2020, 1, 1, tzinfo=timezone.utc), actor=ACTOR)
    app.rotate_key("acme", actor=ACTOR)

    document = app.did_document("acme")
    projected = {k.verification_method: k for k in app.key_history("acme")}
    listed = {vm["id"]: vm for vm in document["verificationMethod"]}
    assert set(listed) == set(projected) and len(listed) == 3
    for vm, key in projected.items():
        assert listed[vm]["publicKeyMultibase"] == key.public_key_multibase
        assert ("revoked" in listed[vm]) == (key.state == "compromised")
        assert (vm in document["assertionMethod"]) == (key.state != "compromised")
    assert sorted(k.state for k in projected.values()) == ["active", "compromised", "retired"]
