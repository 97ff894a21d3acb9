"""The use cases of the Registry application, on SQLite and on PostgreSQL (the `store_env` fixture).

Every refusal is also checked to have stored nothing: the notification log's last position is the
same before and after."""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from uuid import uuid4

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.persistence import IntegrityError

from registry.application import Award, Config, ConflictError, Registry, Written, parse_batch_csv
from registry.application.registry import xsd_datetime
from registry.domain import AlreadyExists, DomainError, InvalidTransition, NotAuthorised, NotFound
from registry.domain.identity import endorsement_id
from registry.keystore import Keystore
from registry.store.append_only import enforce_append_only
from registry.vc import did as dids
from registry.vc import identity, openbadges, proofs, schema
from registry.vc.errors import DocumentError, ProofError

ACTOR = "test"
PUBLIC_URL = "https://badges.test"
LEARNER_DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"


def new_registry(store_env: dict[str, str], tmp_path: Path) -> Registry:
    registry = Registry(config=Config(public_url=PUBLIC_URL, keys_dir=tmp_path / "keys"),
                        keystore=Keystore(tmp_path / "keys"), env=store_env)
    enforce_append_only(registry)
    return registry


@pytest.fixture
def app(store_env, tmp_path) -> Registry:
    return new_registry(store_env, tmp_path)


@pytest.fixture
def acme(app) -> str:
    app.register_issuer(slug="acme", name="Acme Academy", url="https://acme.example", actor=ACTOR)
    return "acme"


@contextmanager
def nothing_stored(app: Registry, keys_dir: Path | None = None):
    before = app.max_position()
    key_files = sorted(keys_dir.glob("*.key.json")) if keys_dir else None
    yield
    assert app.max_position() == before, "a refused command stored events"
    if keys_dir is not None:
        assert sorted(keys_dir.glob("*.key.json")) == key_files, "a refused command generated a key"


def definition(name: str, **extra) -> dict:
    return {"name": name, "description": f"The holder shows {name.lower()}.",
            "criteria": {"narrative": f"Assessed on {name.lower()}."}, **extra}


def define(app: Registry, name: str, issuer: str = "acme", requires=()) -> str:
    return app.define_achievement(issuer=issuer, actor=ACTOR, definition=definition(name),
                                  requires=list(requires)).id


def issue(app: Registry, recipient: str, achievement: str, **award) -> Written:
    return app.issue_credential(Award(recipient, achievement, **award), actor=ACTOR)


def valid(app: Registry, document: dict) -> bool:
    return app.verify_document(document).valid


def events(app: Registry) -> list[dict]:
    return list(app.export_events())


def topics(app: Registry, originator_id: str | None = None) -> list[str]:
    return [e["topic"].rsplit(".", 1)[-1] for e in events(app)
            if originator_id is None or e["originator_id"] == originator_id]


class DidKeyPartner:
    """An organisation that keeps its own Ed25519 key and signs its own endorsements."""

    def __init__(self, name: str = "Partner Network") -> None:
        self._private = Ed25519PrivateKey.generate()
        self.did = dids.did_key(self._private.public_key().public_bytes_raw())
        self.verification_method = f"{self.did}#{self.did.removeprefix('did:key:')}"
        self.name = name

    def sign(self, data: bytes) -> bytes:
        return self._private.sign(data)

    def unsigned(self, app: Registry, subject_iri: str, *, issuer_did: str | None = None,
                 comment: str = "We recommend this badge.", doc_id: str | None = None) -> dict:
        return openbadges.endorsement_credential(
            doc_id or f"https://partner.example/endorsements/{uuid4()}",
            openbadges.profile(issuer_did or self.did, self.name), subject_iri, comment,
            valid_from=xsd_datetime(app.clock()))

    def endorsement(self, app: Registry, subject_iri: str, **kwargs) -> str:
        signed = proofs.sign(self.unsigned(app, subject_iri, **kwargs), self,
                             created=xsd_datetime(app.clock()))
        return json.dumps(signed, indent=2)


# --- register --------------------------------------------------------------------------------------


def test_register_hosted_issuer_gets_a_did_web_and_a_key_the_keystore_holds(app, tmp_path):
    written = app.register_issuer(slug="acme", name=" Acme Academy ", actor=ACTOR,
                                  url="https://acme.example", email="badges@acme.example")
    assert written.id == "acme" and written.position == app.max_position() > 0
    issuer = app.issuer("acme")
    assert issuer.did == "did:web:badges.test:issuers:acme"
    assert issuer.hosted and issuer.name == "Acme Academy"
    [key] = issuer.keys
    assert key.state == "active" and key.verification_method == f"{issuer.did}#{key.public_key_multibase}"
    assert app.keystore.holds(key.public_key_multibase)
    assert app.issuer_by_did(issuer.did).slug == "acme"
    document = app.did_document("acme")
    assert document["id"] == issuer.did
    assert [m["publicKeyMultibase"] for m in document["verificationMethod"]] == [key.public_key_multibase]
    assert document["assertionMethod"] == [key.verification_method]
    assert [i.slug for i in app.list_issuers()] == ["acme"]


def test_register_external_did_key_issuer(app, tmp_path):
    partner = DidKeyPartner()
    app.register_issuer(slug="partner", name="Partner", did=partner.did, actor=ACTOR)
    issuer = app.issuer("partner")
    assert not issuer.hosted and issuer.did == partner.did
    assert issuer.active_key.verification_method == partner.verification_method
    assert not app.keystore.holds(issuer.active_key.public_key_multibase)
    assert list((tmp_path / "keys").glob("*.key.json")) == []  # the registry made no key for it
    assert app.did_document("partner")["id"] == partner.did
    with nothing_stored(app, tmp_path / "keys"), pytest.raises(InvalidTransition, match="own DID"):
        app.rotate_key("partner", actor=ACTOR)


def test_duplicate_slug_is_refused_and_nothing_is_stored(app, acme, tmp_path):
    with nothing_stored(app, tmp_path / "keys"), pytest.raises(AlreadyExists, match="acme"):
        app.register_issuer(slug="acme", name="Another Acme", actor=ACTOR)
    with nothing_stored(app, tmp_path / "keys"), pytest.raises(AlreadyExists, match="acme"):
        app.register_issuer(slug="acme", name="Another Acme", did=DidKeyPartner().did, actor=ACTOR)
    assert app.issuer("acme").name == "Acme Academy"


def test_duplicate_did_is_refused_and_nothing_is_stored(app, tmp_path):
    partner = DidKeyPartner()
    app.register_issuer(slug="partner", name="Partner", did=partner.did, actor=ACTOR)
    with nothing_stored(app, tmp_path / "keys"), pytest.raises(AlreadyExists, match="DID"):
        app.register_issuer(slug="impostor", name="Impostor", did=partner.did, actor=ACTOR)
    with pytest.raises(NotFound):
        app.issuer("impostor")
    assert app.issuer_by_did(partner.did).slug == "partner"


@pytest.mark.parametrize("slug, did, error", [
    ("Bad_Slug", None, "invalid slug"),
    ("acme\n", None, "invalid slug"),
    ("web", "did:web:elsewhere.example", "did:key"),
    ("broken", "did:key:z6MkNotAKey", "invalid did:key"),
    ("blank", "did:key:", "invalid did:key"),
])
def test_invalid_registrations_store_nothing(app, tmp_path, slug, did, error):
    with nothing_stored(app, tmp_path / "keys"), pytest.raises(DomainError, match=error):
        app.register_issuer(slug=slug, name="Org", did=did, actor=ACTOR)


# --- keys ------------------------------------------------------------------------------------------


def test_rotation_keeps_old_and_new_credentials_verifying(app, acme):
    badge = define(app, "Teamwork")
    old = issue(app, LEARNER_DID, badge)
    old_vm = app.issuer(acme).active_key.verification_method
    rotated = app.rotate_key(acme, actor=ACTOR)
    issuer = app.issuer(acme)
    assert rotated.id == issuer.active_key.verification_method != old_vm
    assert [k.state for k in issuer.keys] == ["retired", "active"]
    new = issue(app, LEARNER_DID, badge)
    assert old.document["proof"][0]["verificationMethod"] == old_vm
    assert new.document["proof"][0]["verificationMethod"] == rotated.id
    assert valid(app, old.document) and valid(app, new.document)
    assert app.did_document(acme)["assertionMethod"] == [old_vm, rotated.id]


def test_compromise_distrusts_signatures_from_since_and_a_fresh_key_takes_over(app, acme):
    badge = define(app, "Teamwork")
    before = issue(app, LEARNER_DID, badge)
    time.sleep(0.01)
    since = datetime.now(timezone.utc)
    time.sleep(0.01)
    after = issue(app, LEARNER_DID, badge)
    leaked = app.issuer(acme).active_key
    assert valid(app, before.document) and valid(app, after.document)

    reported = app.report_key_compromise(acme, verification_method=leaked.public_key_multibase,
                                         since=since, actor=ACTOR)
    assert reported.id == leaked.verification_method
    issuer = app.issuer(acme)
    assert [k.state for k in issuer.keys] == ["compromised", "active"]
    assert issuer.keys[0].compromised_since == since

    assert valid(app, before.document)  # logged before `since`
    report = app.verify_document(after.document)
    assert not report.valid
    assert report.find("key-history").outcome == "fail"
    assert "compromised" in report.find("key-history").reason

    fresh = issue(app, LEARNER_DID, badge)
    assert fresh.document["proof"][0]["verificationMethod"] == issuer.active_key.verification_method
    assert valid(app, fresh.document)

    document = app.did_document(acme)
    assert document["assertionMethod"] == [issuer.active_key.verification_method]
    assert document["verificationMethod"][0]["revoked"]


def test_compromise_of_an_unknown_key_or_without_timezone_stores_nothing(app, acme, tmp_path):
    with nothing_stored(app, tmp_path / "keys"), pytest.raises(DomainError, match="no key"):
        app.report_key_compromise(acme, verification_method="z6MkUnknown",
                                  since=datetime.now(timezone.utc), actor=ACTOR)
    key = app.issuer(acme).active_key.verification_method
    with nothing_stored(app, tmp_path / "keys"), pytest.raises(DomainError, match="timezone"):
        app.report_key_compromise(acme, verification_method=key, since=datetime(2026, 1, 1), actor=ACTOR)


# --- achievements ----------------------------------------------------------------------------------


def test_revise_adds_a_version_and_old_versions_stay_readable(app, acme):
    badge = define(app, "Teamwork")
    before = issue(app, LEARNER_DID, badge)
    written = app.revise_achievement(badge, actor=ACTOR, definition=definition("Team work"))
    assert written.id == badge
    achievement = app.achievement(badge)
    assert achievement.current_version == 2
    v1, v2 = (json.loads(achievement.version_document(v)) for v in (1, 2))
    assert (v1["name"], v1["version"]) == ("Teamwork", "1")
    assert (v2["name"], v2["version"]) == ("Team work", "2")
    assert v1["id"] == v2["id"] == f"{PUBLIC_URL}/achievements/{badge}"
    after = issue(app, LEARNER_DID, badge)
    assert before.document["credentialSubject"]["achievement"]["version"] == "1"
    assert after.document["credentialSubject"]["achievement"]["version"] == "2"
    assert app.credential(after.id).achievement_version == 2
    assert valid(app, before.document) and valid(app, after.document)


def test_retired_achievement_cannot_be_awarded_or_revised(app, acme):
    badge = define(app, "Teamwork")
    app.retire_achievement(badge, reason="replaced", actor=ACTOR)
    with nothing_stored(app), pytest.raises(InvalidTransition, match="retired"):
        issue(app, LEARNER_DID, badge)
    with nothing_stored(app), pytest.raises(InvalidTransition, match="retired"):
        app.issue_batch([Award(LEARNER_DID, badge)], actor=ACTOR)
    with nothing_stored(app), pytest.raises(InvalidTransition, match="retired"):
        app.revise_achievement(badge, actor=ACTOR, definition=definition("Again"))
    with nothing_stored(app), pytest.raises(InvalidTransition, match="already retired"):
        app.retire_achievement(badge, reason="again", actor=ACTOR)


@pytest.mark.parametrize("bad, error", [
    ({"id": "urn:x", **definition("X")}, "may not set"),
    ({"name": "X", "description": "d"}, "criteria.narrative"),
    ({"name": "X", "description": "d", "criteria": {"narrative": 5}}, "criteria.narrative"),
    ({"name": 5, "description": "d", "criteria": {"narrative": "n"}}, "name"),
    ({"name": "X", "description": "", "criteria": {"narrative": "n"}}, "description"),
    (definition("X", madeUpTerm="not in any context"), "madeUpTerm"),
    (["not", "an", "object"], "JSON object"),
])
def test_bad_achievement_definitions_store_nothing(app, acme, bad, error):
    with nothing_stored(app), pytest.raises(DocumentError, match=error):
        app.define_achievement(issuer=acme, actor=ACTOR, definition=bad)


def test_achievement_lookups_and_ownership(app, acme):
    app.register_issuer(slug="other", name="Other", actor=ACTOR)
    mine = define(app, "Teamwork")
    theirs = define(app, "Other badge", issuer="other")
    assert [str(a.id) for a in app.list_achievements("acme")] == [mine]
    assert {str(a.id) for a in app.list_achievements()} == {mine, theirs}
    assert str(app.achievement(f"{PUBLIC_URL}/achievements/{mine}").id) == mine
    with nothing_stored(app), pytest.raises(DomainError, match="another issuer"):
        app.define_achievement(issuer=acme, actor=ACTOR, definition=definition("S"), requires=[theirs])
    with nothing_stored(app), pytest.raises(NotFound):
        app.define_achievement(issuer="nobody", actor=ACTOR, definition=definition("S"))
    with pytest.raises(NotFound):
        app.achievement(str(uuid4()))
    with pytest.raises(NotFound):
        app.achievement("not-a-uuid")


# --- issuing ---------------------------------------------------------------------------------------


def test_email_recipient_appears_nowhere_in_plain(app, acme):
    address = "Amira.El-Idrissi@Example.org"
    badge = define(app, "Teamwork")
    written = issue(app, address, badge, result="92%")
    document = written.document
    # case-sensitive on purpose: lower-casing would let base58 signatures match short forms by chance
    forms = (address, address.lower(), "Amira.El-Idrissi", "amira.el-idrissi", "El-Idrissi", "el-idrissi",
             "Example.org", "example.org")
    text = json.dumps(document)
    assert not [form for form in forms if form in text]
    [hashed] = document["credentialSubject"]["identifier"]
    assert hashed["hashed"] is True and hashed["identityType"] == "emailAddress"
    assert identity.matches_email(hashed, address)
    assert not identity.matches_email(hashed, "someone.else@example.org")
    stored = app.credential(written.id)
    assert stored.recipient.startswith("email-hmac:") and json.loads(stored.document) == document
    log = json.dumps(events(app))
    assert not [form for form in forms if form in log]
    assert valid(app, document)


def test_did_recipient(app, acme):
    written = issue(app, LEARNER_DID, define(app, "Teamwork"), evidence="https://evidence.example/1",
                    valid_until=datetime.now(timezone.utc) + timedelta(days=365))
    subject = written.document["credentialSubject"]
    assert subject["id"] == LEARNER_DID and "identifier" not in subject
    assert written.document["evidence"][0]["id"] == "https://evidence.example/1"
    assert "validUntil" in written.document
    assert app.credential(written.id).recipient == LEARNER_DID
    assert valid(app, written.document)


@pytest.mark.parametrize("recipient", ["not an address", "", "@example.org"])
def test_unrecognised_recipient_is_refused(app, acme, recipient):
    badge = define(app, "Teamwork")
    with nothing_stored(app), pytest.raises(DocumentError):
        issue(app, recipient, badge)


def test_credential_for_an_external_issuer_cannot_be_signed_here(app):
    partner = DidKeyPartner()
    app.register_issuer(slug="partner", name="Partner", did=partner.did, actor=ACTOR)
    badge = define(app, "Partner badge", issuer="partner")
    with nothing_stored(app), pytest.raises(Exception, match="no private key"):
        issue(app, LEARNER_DID, badge)


def test_batch_from_csv_issues_every_row_in_one_write(app, acme):
    teamwork, creativity = define(app, "Teamwork"), define(app, "Creativity")
    text = ("recipient,achievement,result,valid_until,evidence\n"
            f"bram@example.org,{teamwork},74%,,https://evidence.example/bram\n"
            f"{LEARNER_DID},{creativity},,2031-01-01T00:00:00Z,\n"
            f"chloe@example.org,{PUBLIC_URL}/achievements/{creativity},88%,,\n")
    before = app.max_position()
    result = app.issue_batch(parse_batch_csv(text), actor=ACTOR)
    assert len(result.ids) == len(result.documents) == 3
    assert result.position == app.max_position()
    assert topics(app)[before:].count("Issued") == 3
    assert all(valid(app, d) for d in result.documents)
    assert result.documents[0]["credentialSubject"]["result"][0]["value"] == "74%"
    assert result.documents[1]["validUntil"] == "2031-01-01T00:00:00Z"
    assert "bram@example.org" not in json.dumps(result.documents)


def test_batch_is_all_or_nothing_and_names_the_row(app, acme):
    badge = define(app, "Teamwork")
    app.retire_achievement(retired := define(app, "Old"), reason="old", actor=ACTOR)
    rows = [f"a@example.org,{badge}", f"b@example.org,{badge}"]
    for bad, error, kind in (
        (f"c@example.org,{uuid4()}", "row 4: no achievement", NotFound),
        (f"c@example.org,{retired}", "row 4: .*retired", InvalidTransition),
        (f"nobody,{badge}", "row 4: recipient", DocumentError),
    ):
        awards = parse_batch_csv("\n".join(["recipient,achievement", *rows, bad]) + "\n")
        with nothing_stored(app), pytest.raises(kind, match=error):
            app.issue_batch(awards, actor=ACTOR)
    with pytest.raises(DomainError, match="empty"):
        app.issue_batch([], actor=ACTOR)


@pytest.mark.parametrize("text, error", [
    ("", "empty"),
    ("who,what\nx,y\n", "missing"),
    ("recipient,achievement,colour\nx,y,z\n", "unknown"),
    ("recipient,achievement\na@example.org,\n", "row 2"),
    ("recipient,achievement,valid_until\na@example.org,x,\nb@example.org,y,tomorrow\n", "row 3"),
    # an unquoted comma must not silently shift or drop a value ("8,5" read as result "8")
    ("recipient,achievement,result\na@example.org,x,80%\nb@example.org,y,8,5\n", "row 3: wrong number"),
    ("recipient,achievement\na@example.org,x,surprise\n", "row 2: wrong number"),
])
def test_batch_csv_errors_name_the_problem(text, error):
    with pytest.raises(DocumentError, match=error):
        parse_batch_csv(text)


def test_prerequisites_must_be_held_active(app, acme):
    first, second = define(app, "Teamwork: Excellent"), define(app, "Creativity: Excellent")
    super_badge = define(app, "Super Badge", requires=[first, second])
    learner = "amira@example.org"
    with nothing_stored(app), pytest.raises(DomainError, match="requires Teamwork: Excellent"):
        issue(app, learner, super_badge)
    issue(app, "Amira@Example.org", first)  # the same learner, written differently
    with nothing_stored(app), pytest.raises(DomainError, match="requires Creativity: Excellent"):
        issue(app, learner, super_badge)
    held = issue(app, learner, second)
    awarded = issue(app, " AMIRA@example.org ", super_badge)
    assert valid(app, awarded.document)

    app.suspend_credential(held.id, reason="review", actor=ACTOR)
    with nothing_stored(app), pytest.raises(DomainError, match="requires Creativity"):
        issue(app, learner, super_badge)
    app.reinstate_credential(held.id, reason="ok", actor=ACTOR)
    issue(app, learner, super_badge)
    app.revoke_credential(held.id, reason="fraud", actor=ACTOR)
    with nothing_stored(app), pytest.raises(DomainError, match="requires Creativity"):
        issue(app, learner, super_badge)
    # someone else holding both does not help this learner
    issue(app, LEARNER_DID, first), issue(app, LEARNER_DID, second)
    with nothing_stored(app), pytest.raises(DomainError, match="requires Creativity"):
        issue(app, learner, super_badge)


def test_prerequisites_earlier_in_the_same_batch_count(app, acme):
    first, second = define(app, "Teamwork: Excellent"), define(app, "Creativity: Excellent")
    super_badge = define(app, "Super Badge", requires=[first, second])
    out_of_order = [Award("eva@example.org", super_badge), Award("eva@example.org", first),
                    Award("eva@example.org", second)]
    with nothing_stored(app), pytest.raises(DomainError, match="row 2: .*requires"):
        app.issue_batch(out_of_order, actor=ACTOR)
    result = app.issue_batch(out_of_order[1:] + out_of_order[:1], actor=ACTOR)
    assert len(result.ids) == 3 and all(valid(app, d) for d in result.documents)


# --- status changes --------------------------------------------------------------------------------


def test_suspend_reinstate_revoke(app, acme):
    written = issue(app, LEARNER_DID, define(app, "Teamwork"))
    with nothing_stored(app), pytest.raises(InvalidTransition, match="only a suspended"):
        app.reinstate_credential(written.id, reason="no", actor=ACTOR)
    app.suspend_credential(written.id, reason="under review", actor=ACTOR)
    report = app.verify_document(written.document)
    assert not report.valid and report.find("status").outcome == "fail"
    app.reinstate_credential(f"urn:uuid:{written.id}", reason="cleared", actor=ACTOR)
    assert valid(app, written.document)
    revoked = app.revoke_credential(written.id, reason="fraud", actor=ACTOR)
    assert revoked.position == app.max_position()
    assert not valid(app, written.document)
    for change in (app.revoke_credential, app.suspend_credential, app.reinstate_credential):
        with nothing_stored(app), pytest.raises(InvalidTransition):
            change(written.id, reason="again", actor=ACTOR)
    assert topics(app, written.id) == ["Issued", "Suspended", "Reinstated", "Revoked"]
    assert app.credential(written.id).reason == "fraud"
    with pytest.raises(NotFound):
        app.revoke_credential(str(uuid4()), reason="x", actor=ACTOR)


def race(first: tuple[Registry, object], second: tuple[Registry, object]) -> dict[str, object]:
    """Run two commands in two threads on two Registry instances (two processes on one store);
    neither saves before both have loaded what they need. Returns each command's result or error."""
    both_loaded = threading.Barrier(2, timeout=20)
    outcomes: dict[str, object] = {}

    def run(name: str, registry: Registry, command) -> None:
        commit, waiting = registry.commit, [True]

        def gated(*aggregates):
            if waiting[0]:  # the first attempt only: a retry after a conflict goes straight on
                waiting[0] = False
                both_loaded.wait()
            return commit(*aggregates)

        registry.commit = gated
        try:
            outcomes[name] = command(registry)
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test checks
            outcomes[name] = exc
        finally:
            del registry.commit

    threads = [threading.Thread(target=run, args=(name, *pair))
               for name, pair in (("first", first), ("second", second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert set(outcomes) == {"first", "second"}, "a racing command did not finish"
    return outcomes


def split(outcomes: dict[str, object]) -> tuple[list[str], list[Exception]]:
    winners = [name for name, outcome in outcomes.items() if isinstance(outcome, Written)]
    losers = [outcome for outcome in outcomes.values() if not isinstance(outcome, Written)]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    return winners, losers


def test_two_concurrent_revocations_store_one_revoked_event(app, acme, store_env, tmp_path):
    credential = issue(app, LEARNER_DID, define(app, "Teamwork")).id
    other = new_registry(store_env, tmp_path)  # a second process on the same store

    def revoke(by: str):
        return lambda registry: registry.revoke_credential(credential, reason=f"revoked by {by}", actor=by)

    [winner], [loser] = split(race((app, revoke("first")), (other, revoke("second"))))
    assert isinstance(loser, InvalidTransition) and "already revoked" in str(loser)
    assert topics(app, credential).count("Revoked") == 1
    assert app.credential(credential).reason == f"revoked by {winner}"


def test_two_organisations_racing_for_one_did_end_with_one_owner(app, store_env, tmp_path):
    partner = DidKeyPartner()
    other = new_registry(store_env, tmp_path)

    def register(slug: str):
        return lambda registry: registry.register_issuer(slug=slug, name=slug, did=partner.did, actor=slug)

    [winner], [loser] = split(race((app, register("first-org")), (other, register("second-org"))))
    assert isinstance(loser, AlreadyExists) and partner.did in str(loser)
    assert app.issuer_by_did(partner.did).slug == f"{winner}-org"
    assert [i.slug for i in app.list_issuers()] == [f"{winner}-org"]
    assert topics(app).count("Registered") == 1


def test_a_replayed_endorsement_racing_itself_is_stored_once(app, acme, store_env, tmp_path):
    partner = DidKeyPartner()
    app.register_issuer(slug="partner", name=partner.name, did=partner.did, actor=ACTOR)
    text = partner.endorsement(app, app.issuer(acme).did)
    other = new_registry(store_env, tmp_path)

    def submit(registry):
        return registry.submit_endorsement(text, actor="partner")

    _, [loser] = split(race((app, submit), (other, submit)))
    assert isinstance(loser, DomainError) and "already submitted" in str(loser)
    assert topics(app).count("Endorsed") == 1


def test_endless_conflicts_end_in_a_conflict_error_and_store_nothing(app, acme):
    credential = issue(app, LEARNER_DID, define(app, "Teamwork")).id

    def always_conflicting(*aggregates):
        raise IntegrityError("simulated concurrent write")

    app.commit = always_conflicting
    with nothing_stored(app), pytest.raises(ConflictError, match="nothing was stored"):
        app.revoke_credential(credential, reason="x", actor=ACTOR)


# --- endorsements ----------------------------------------------------------------------------------


def test_custodial_endorsements_of_issuer_achievement_and_credential(app, acme):
    app.register_issuer(slug="techbouw", name="Techbouw B.V.", actor=ACTOR)
    badge = define(app, "Teamwork")
    credential = issue(app, LEARNER_DID, badge)
    for subject, kind, iri in (
        (acme, "issuer", app.issuer(acme).did),
        (app.issuer(acme).did, "issuer", app.issuer(acme).did),
        (badge, "achievement", f"{PUBLIC_URL}/achievements/{badge}"),
        (credential.id, "credential", f"urn:uuid:{credential.id}"),
    ):
        written = app.endorse(by="techbouw", subject=subject, comment="We recognise these.", actor=ACTOR)
        document = written.document
        assert "EndorsementCredential" in document["type"]
        assert document["issuer"]["id"] == app.issuer("techbouw").did
        assert document["credentialSubject"]["id"] == iri
        assert document["credentialSubject"]["endorsementComment"] == "We recognise these."
        endorsement = app.endorsement(written.id)
        assert (endorsement.subject_kind, endorsement.custodial) == (kind, True)
        assert valid(app, document)


def test_endorsement_refusals_store_nothing(app, acme):
    partner = DidKeyPartner()
    app.register_issuer(slug="partner", name="Partner", did=partner.did, actor=ACTOR)
    with nothing_stored(app), pytest.raises(DomainError, match="cannot endorse itself"):
        app.endorse(by=acme, subject=acme, comment="We are great.", actor=ACTOR)
    with nothing_stored(app), pytest.raises(DomainError, match="unknown endorsement subject"):
        app.endorse(by=acme, subject=str(uuid4()), comment="Hm.", actor=ACTOR)
    with nothing_stored(app), pytest.raises(DomainError, match="unknown endorsement subject"):
        app.endorse(by=acme, subject="no-such-org", comment="Hm.", actor=ACTOR)
    with nothing_stored(app), pytest.raises(NotAuthorised, match="signs its own"):
        app.endorse(by="partner", subject=acme, comment="Good.", actor=ACTOR)
    with nothing_stored(app), pytest.raises(NotFound):
        app.endorse(by="nobody", subject=acme, comment="Good.", actor=ACTOR)


def test_self_signed_endorsement_from_a_did_key_partner(app, acme):
    partner = DidKeyPartner()
    app.register_issuer(slug="partner", name=partner.name, did=partner.did, actor=ACTOR)
    badge = define(app, "Super Badge")
    doc_id = "https://partner.example/endorsements/super-badge"
    text = partner.endorsement(app, f"{PUBLIC_URL}/achievements/{badge}", doc_id=doc_id)
    written = app.submit_endorsement(text, actor="partner")
    assert written.id == str(endorsement_id(doc_id))
    endorsement = app.endorsement(written.id)
    assert (endorsement.subject_kind, str(endorsement.subject_id)) == ("achievement", badge)
    assert endorsement.custodial is False
    assert endorsement.document == text  # the exact bytes submitted
    assert endorsement.verification_method == partner.verification_method
    report = app.verify_document(json.loads(text))
    assert report.valid, report.failures

    with nothing_stored(app), pytest.raises(DomainError, match="already submitted"):
        app.submit_endorsement(text, actor="partner")


def test_withdrawing_a_submitted_endorsement_shows_in_verification(app, acme):
    partner = DidKeyPartner()
    app.register_issuer(slug="partner", name=partner.name, did=partner.did, actor=ACTOR)
    text = partner.endorsement(app, app.issuer(acme).did)
    written = app.submit_endorsement(text, actor="partner")
    assert app.verify_document(json.loads(text)).find("status").outcome == "pass"
    app.withdraw_endorsement(written.id, reason="changed our mind", actor="partner")
    report = app.verify_document(json.loads(text))
    assert not report.valid and report.find("status").outcome == "fail"


def test_tampered_endorsement_is_refused_with_the_reason(app, acme):
    partner = DidKeyPartner()
    app.register_issuer(slug="partner", name=partner.name, did=partner.did, actor=ACTOR)
    document = json.loads(partner.endorsement(app, app.issuer(acme).did))
    document["credentialSubject"]["endorsementComment"] = "Something they never said."
    with nothing_stored(app), pytest.raises(ProofError, match="does not verify.*partner's active key: .+"):
        app.submit_endorsement(json.dumps(document), actor="partner")


def test_endorsement_signed_by_an_unregistered_key_is_refused(app, acme):
    partner, stranger = DidKeyPartner(), DidKeyPartner("Stranger")
    app.register_issuer(slug="partner", name=partner.name, did=partner.did, actor=ACTOR)
    subject = app.issuer(acme).did
    # an unregistered organisation
    with nothing_stored(app), pytest.raises(DomainError, match="not a registered issuer"):
        app.submit_endorsement(stranger.endorsement(app, subject), actor="stranger")
    # a registered organisation's name, someone else's key
    forged = stranger.endorsement(app, subject, issuer_did=partner.did)
    with nothing_stored(app), pytest.raises(ProofError, match="does not verify"):
        app.submit_endorsement(forged, actor="stranger")


def test_submitted_documents_that_are_not_acceptable(app, acme):
    partner = DidKeyPartner()
    app.register_issuer(slug="partner", name=partner.name, did=partner.did, actor=ACTOR)
    subject = app.issuer(acme).did
    signed = json.loads(partner.endorsement(app, subject))
    unknown_context = {**signed, "@context": [*signed["@context"], "https://evil.example/context.jsonld"]}
    not_endorsement = {**signed, "type": ["VerifiableCredential", "OpenBadgeCredential"]}
    no_issuer = {k: v for k, v in signed.items() if k != "issuer"}
    unknown_subject = json.loads(partner.endorsement(app, f"urn:uuid:{uuid4()}"))
    for text, error in (
        (json.dumps(unknown_context), "evil.example"),
        (json.dumps(not_endorsement), "EndorsementCredential"),
        (json.dumps(no_issuer), "issuer"),
        ("{not json", "malformed JSON"),
        ("[1, 2]", "JSON object"),
    ):
        with nothing_stored(app), pytest.raises(DocumentError, match=error):
            app.submit_endorsement(text, actor="partner")
    with nothing_stored(app), pytest.raises(DomainError, match="unknown endorsement subject"):
        app.submit_endorsement(json.dumps(unknown_subject), actor="partner")


def test_withdraw_an_endorsement_once(app, acme):
    app.register_issuer(slug="techbouw", name="Techbouw B.V.", actor=ACTOR)
    written = app.endorse(by="techbouw", subject=acme, comment="Trusted.", actor=ACTOR)
    assert valid(app, written.document)
    app.withdraw_endorsement(written.id, reason="partnership ended", actor=ACTOR)
    endorsement = app.endorsement(written.id)
    assert endorsement.withdrawn_at is not None and endorsement.withdrawn_reason == "partnership ended"
    report = app.verify_document(written.document)
    assert not report.valid and report.find("status").outcome == "fail"
    with nothing_stored(app), pytest.raises(InvalidTransition, match="already withdrawn"):
        app.withdraw_endorsement(written.id, reason="again", actor=ACTOR)
    with pytest.raises(NotFound):
        app.withdraw_endorsement(str(uuid4()), reason="x", actor=ACTOR)


# --- authorisation ---------------------------------------------------------------------------------


def test_acting_for_another_issuer_is_not_authorised(app, acme):
    partner = DidKeyPartner()
    app.register_issuer(slug="other", name="Other", actor=ACTOR)
    app.register_issuer(slug="partner", name=partner.name, did=partner.did, actor=ACTOR)
    badge = define(app, "Teamwork")
    credential = issue(app, LEARNER_DID, badge).id
    app.suspend_credential(credential, reason="review", actor=ACTOR, as_issuer=acme)
    endorsement = app.endorse(by="other", subject=acme, comment="Trusted.", actor=ACTOR).id
    submitted = partner.endorsement(app, app.issuer(acme).did)
    refused = {
        "revoke": lambda: app.revoke_credential(credential, reason="x", actor=ACTOR, as_issuer="other"),
        "suspend": lambda: app.suspend_credential(credential, reason="x", actor=ACTOR, as_issuer="other"),
        "reinstate": lambda: app.reinstate_credential(credential, reason="x", actor=ACTOR, as_issuer="other"),
        "issue": lambda: app.issue_credential(Award(LEARNER_DID, badge), actor=ACTOR, as_issuer="other"),
        "batch": lambda: app.issue_batch([Award(LEARNER_DID, badge)], actor=ACTOR, as_issuer="other"),
        "revise": lambda: app.revise_achievement(badge, actor=ACTOR, definition=definition("X"),
                                                 as_issuer="other"),
        "retire": lambda: app.retire_achievement(badge, reason="x", actor=ACTOR, as_issuer="other"),
        "endorse": lambda: app.endorse(by="other", subject=badge, comment="x", actor=ACTOR, as_issuer=acme),
        "withdraw": lambda: app.withdraw_endorsement(endorsement, reason="x", actor=ACTOR, as_issuer=acme),
        "submit": lambda: app.submit_endorsement(submitted, actor=ACTOR, as_issuer=acme),
    }
    for name, command in refused.items():
        with nothing_stored(app), pytest.raises(NotAuthorised):
            command()
    # the owner itself may
    app.reinstate_credential(credential, reason="ok", actor=ACTOR, as_issuer=acme)
    app.withdraw_endorsement(endorsement, reason="ok", actor=ACTOR, as_issuer="other")
    app.submit_endorsement(submitted, actor=ACTOR, as_issuer="partner")
    app.revoke_credential(credential, reason="done", actor=ACTOR, as_issuer=acme)


# --- conformance -----------------------------------------------------------------------------------


def test_signed_documents_conform_to_the_1edtech_schemas(app, acme):
    app.register_issuer(slug="techbouw", name="Techbouw B.V.", actor=ACTOR)
    app.register_issuer(slug="partner", name="Partner", did=(partner := DidKeyPartner()).did, actor=ACTOR)
    badge = app.define_achievement(issuer=acme, actor=ACTOR, definition=definition(
        "Teamwork", tag=["soft skills"], achievementType="Competency")).id
    documents = [
        issue(app, "x@example.org", badge, result="87%").document,
        issue(app, LEARNER_DID, badge, evidence="https://evidence.example/1",
              valid_until=datetime.now(timezone.utc) + timedelta(days=30)).document,
        *app.issue_batch([Award("y@example.org", badge)], actor=ACTOR).documents,
        app.endorse(by="techbouw", subject=acme, comment="Trusted.", actor=ACTOR).document,
        app.endorse(by="techbouw", subject=badge, comment="Useful.", actor=ACTOR).document,
        app.submit_endorsement(partner.endorsement(app, app.issuer(acme).did), actor=ACTOR).document,
    ]
    for document in documents:
        result = schema.check(document)
        assert result.ok, result.errors
        assert result.warnings == [], result.warnings
        assert result.schema == schema.schema_for(document)
    assert {schema.schema_for(d) for d in documents} == {schema.ACHIEVEMENT_CREDENTIAL,
                                                         schema.ENDORSEMENT_CREDENTIAL}


def test_export_is_ordered_and_holds_every_write(app, acme):
    badge = define(app, "Teamwork")
    issue(app, LEARNER_DID, badge)
    exported = events(app)
    positions = [e["position"] for e in exported]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    assert positions[-1] == app.max_position()
    assert [e["topic"].rsplit(".", 1)[-1] for e in exported[:2]] == ["Registered", "KeyAdded"]
    assert list(app.export_events(after=positions[-2])) == exported[-1:]
