"""The use cases of the registry's commands and the queries that read what they wrote, on SQLite and
on PostgreSQL (the `registry` fixture, built by the composition root).

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

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.persistence import IntegrityError

from registry.bootstrap import Registry
from registry.commands import Actor, Award, Written, parse_batch_csv
from registry.domain import AlreadyExists, DomainError, InvalidTransition, NotAuthorised, NotFound
from registry.domain.identity import endorsement_id
from registry.keystore import Keystore
from registry.projections import EndorsementView, EventRecord, KeyState
from registry.store import ConflictError
from registry.vc import did as dids
from registry.vc import identity, openbadges, proofs, schema
from registry.vc.errors import DocumentError, ProofError
from registry.vc.openbadges import xsd_datetime

OPERATOR = Actor("test")
PUBLIC_URL = "https://badges.test"
LEARNER_DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"


def acting_for(slug: str) -> Actor:
    """The operator's name, acting only for one organisation (was `as_issuer=slug`)."""
    return Actor(OPERATOR.name, issuer=slug)


@pytest.fixture
def acme(registry) -> str:
    registry.commands.issuers.register(slug="acme", name="Acme Academy", url="https://acme.example",
                                       actor=OPERATOR)
    return "acme"


@contextmanager
def nothing_stored(registry: Registry, keys_dir: Path | None = None):
    before = registry.store.max_position()
    key_files = sorted(keys_dir.glob("*.key.json")) if keys_dir else None
    yield
    assert registry.store.max_position() == before, "a refused command stored events"
    if keys_dir is not None:
        assert sorted(keys_dir.glob("*.key.json")) == key_files, "a refused command generated a key"


def definition(name: str, **extra) -> dict:
    return {"name": name, "description": f"The holder shows {name.lower()}.",
            "criteria": {"narrative": f"Assessed on {name.lower()}."}, **extra}


def define(registry: Registry, name: str, issuer: str = "acme", requires=()) -> str:
    return registry.commands.achievements.define(issuer=issuer, actor=OPERATOR, definition=definition(name),
                                                 requires=list(requires)).id


def issue(registry: Registry, recipient: str, achievement: str, **award) -> Written:
    return registry.commands.credentials.issue(Award(recipient, achievement, **award), actor=OPERATOR)


def valid(registry: Registry, document: dict) -> bool:
    return registry.queries.verify(document).valid


def events(registry: Registry) -> list[EventRecord]:
    return list(registry.queries.export())


def topics(registry: Registry, originator_id: str | None = None) -> list[str]:
    return [e.topic.rsplit(".", 1)[-1] for e in events(registry)
            if originator_id is None or e.originator_id == originator_id]


def active_key(registry: Registry, slug: str) -> KeyState:
    """The organisation's one active key (there is exactly one)."""
    [key] = [k for k in registry.queries.keys(slug) if k.state == "active"]
    return key


def endorsement(registry: Registry, endorsement_id: str) -> EndorsementView:
    [found] = [e for e in registry.queries.endorsements().items if e.id == endorsement_id]
    return found


def now() -> datetime:
    return datetime.now(timezone.utc)


class DidKeyPartner:
    """An organisation that keeps its own Ed25519 key and signs its own endorsements."""

    def __init__(self, name: str = "Partner Network") -> None:
        self._private = Ed25519PrivateKey.generate()
        self.did = dids.did_key(self._private.public_key().public_bytes_raw())
        self.verification_method = f"{self.did}#{self.did.removeprefix('did:key:')}"
        self.name = name

    def sign(self, data: bytes) -> bytes:
        return self._private.sign(data)

    def unsigned(self, subject_iri: str, *, issuer_did: str | None = None,
                 comment: str = "We recommend this badge.", doc_id: str | None = None) -> dict:
        return openbadges.endorsement_credential(
            doc_id or f"https://partner.example/endorsements/{uuid4()}",
            openbadges.profile(issuer_did or self.did, self.name), subject_iri, comment,
            valid_from=xsd_datetime(now()))

    def endorsement(self, subject_iri: str, **kwargs) -> str:
        signed = proofs.sign(self.unsigned(subject_iri, **kwargs), self, created=xsd_datetime(now()))
        return json.dumps(signed, indent=2)


# --- register --------------------------------------------------------------------------------------


def test_register_hosted_issuer_gets_a_did_web_and_a_key_the_keystore_holds(registry, tmp_path):
    written = registry.commands.issuers.register(slug="acme", name=" Acme Academy ", actor=OPERATOR,
                                                 url="https://acme.example", email="badges@acme.example")
    assert written.id == "acme" and written.position == registry.store.max_position() > 0
    issuer = registry.queries.issuer("acme")
    assert issuer.did == "did:web:badges.test:issuers:acme"
    assert issuer.hosted and issuer.name == "Acme Academy"
    [key] = registry.queries.keys("acme")
    assert key.state == "active" and key.verification_method == f"{issuer.did}#{key.public_key_multibase}"
    assert Keystore(tmp_path / "keys").holds(key.public_key_multibase)
    assert registry.queries.issuer_of_did(issuer.did).slug == "acme"
    document = registry.queries.did_document("acme")
    assert document["id"] == issuer.did
    assert [m["publicKeyMultibase"] for m in document["verificationMethod"]] == [key.public_key_multibase]
    assert document["assertionMethod"] == [key.verification_method]
    assert [i.slug for i in registry.queries.issuers().items] == ["acme"]


def test_register_external_did_key_issuer(registry, tmp_path):
    partner = DidKeyPartner()
    registry.commands.issuers.register(slug="partner", name="Partner", did=partner.did, actor=OPERATOR)
    issuer = registry.queries.issuer("partner")
    assert not issuer.hosted and issuer.did == partner.did
    key = active_key(registry, "partner")
    assert key.verification_method == partner.verification_method
    assert not Keystore(tmp_path / "keys").holds(key.public_key_multibase)
    log_key = registry.queries.log.reader.state()["public_key"]  # the transparency log's own key
    assert [p.name for p in (tmp_path / "keys").glob("*.key.json")] == [f"{log_key}.key.json"]  # none for it
    assert registry.queries.did_document("partner")["id"] == partner.did
    with nothing_stored(registry, tmp_path / "keys"), pytest.raises(InvalidTransition, match="own DID"):
        registry.commands.issuers.rotate_key("partner", actor=OPERATOR)


def test_duplicate_slug_is_refused_and_nothing_is_stored(registry, acme, tmp_path):
    register = registry.commands.issuers.register
    with nothing_stored(registry, tmp_path / "keys"), pytest.raises(AlreadyExists, match="acme"):
        register(slug="acme", name="Another Acme", actor=OPERATOR)
    with nothing_stored(registry, tmp_path / "keys"), pytest.raises(AlreadyExists, match="acme"):
        register(slug="acme", name="Another Acme", did=DidKeyPartner().did, actor=OPERATOR)
    assert registry.queries.issuer("acme").name == "Acme Academy"


def test_duplicate_did_is_refused_and_nothing_is_stored(registry, tmp_path):
    partner = DidKeyPartner()
    registry.commands.issuers.register(slug="partner", name="Partner", did=partner.did, actor=OPERATOR)
    with nothing_stored(registry, tmp_path / "keys"), pytest.raises(AlreadyExists, match="DID"):
        registry.commands.issuers.register(slug="impostor", name="Impostor", did=partner.did, actor=OPERATOR)
    with pytest.raises(NotFound):
        registry.queries.issuer("impostor")
    assert registry.queries.issuer_of_did(partner.did).slug == "partner"


@pytest.mark.parametrize("slug, did, error", [
    ("Bad_Slug", None, "invalid slug"),
    ("acme\n", None, "invalid slug"),
    ("web", "did:web:elsewhere.example", "needs its public key"),
    ("ours", "did:web:badges.test:issuers:x", "this registry's own host"),
    ("broken", "did:key:z6MkNotAKey", "invalid did:key"),
    ("blank", "did:key:", "invalid did:key"),
])
def test_invalid_registrations_store_nothing(registry, tmp_path, slug, did, error):
    with nothing_stored(registry, tmp_path / "keys"), pytest.raises(DomainError, match=error):
        registry.commands.issuers.register(slug=slug, name="Org", did=did, actor=OPERATOR)


# --- keys ------------------------------------------------------------------------------------------


def test_rotation_keeps_old_and_new_credentials_verifying(registry, acme):
    badge = define(registry, "Teamwork")
    old = issue(registry, LEARNER_DID, badge)
    old_vm = active_key(registry, acme).verification_method
    rotated = registry.commands.issuers.rotate_key(acme, actor=OPERATOR)
    assert rotated.id == active_key(registry, acme).verification_method != old_vm
    assert [k.state for k in registry.queries.keys(acme)] == ["retired", "active"]
    new = issue(registry, LEARNER_DID, badge)
    assert old.document["proof"][0]["verificationMethod"] == old_vm
    assert new.document["proof"][0]["verificationMethod"] == rotated.id
    assert valid(registry, old.document) and valid(registry, new.document)
    assert registry.queries.did_document(acme)["assertionMethod"] == [old_vm, rotated.id]


def test_compromise_distrusts_signatures_from_since_and_a_fresh_key_takes_over(registry, acme):
    badge = define(registry, "Teamwork")
    before = issue(registry, LEARNER_DID, badge)
    time.sleep(0.01)
    since = datetime.now(timezone.utc)
    time.sleep(0.01)
    after = issue(registry, LEARNER_DID, badge)
    leaked = active_key(registry, acme)
    assert valid(registry, before.document) and valid(registry, after.document)

    reported = registry.commands.issuers.report_compromise(
        acme, verification_method=leaked.public_key_multibase, since=since, actor=OPERATOR)
    assert reported.id == leaked.verification_method
    keys = registry.queries.keys(acme)
    assert [k.state for k in keys] == ["compromised", "active"]
    assert keys[0].verification_method == leaked.verification_method
    assert datetime.fromisoformat(keys[0].compromised_since) == since

    assert valid(registry, before.document)  # logged before `since`
    report = registry.queries.verify(after.document)
    assert not report.valid
    assert report.find("key-history").outcome == "fail"
    assert "compromised" in report.find("key-history").reason

    fresh = issue(registry, LEARNER_DID, badge)
    fresh_key = active_key(registry, acme)
    assert fresh.document["proof"][0]["verificationMethod"] == fresh_key.verification_method
    assert valid(registry, fresh.document)

    document = registry.queries.did_document(acme)
    assert document["assertionMethod"] == [fresh_key.verification_method]
    assert document["verificationMethod"][0]["revoked"]


def test_compromise_of_an_unknown_key_or_without_timezone_stores_nothing(registry, acme, tmp_path):
    report = registry.commands.issuers.report_compromise
    with nothing_stored(registry, tmp_path / "keys"), pytest.raises(DomainError, match="no key"):
        report(acme, verification_method="z6MkUnknown", since=datetime.now(timezone.utc), actor=OPERATOR)
    key = active_key(registry, acme).verification_method
    with nothing_stored(registry, tmp_path / "keys"), pytest.raises(DomainError, match="timezone"):
        report(acme, verification_method=key, since=datetime(2026, 1, 1), actor=OPERATOR)


# --- achievements ----------------------------------------------------------------------------------


def test_revise_adds_a_version_and_old_versions_stay_readable(registry, acme):
    badge = define(registry, "Teamwork")
    before = issue(registry, LEARNER_DID, badge)
    written = registry.commands.achievements.revise(badge, actor=OPERATOR, definition=definition("Team work"))
    assert written.id == badge
    assert registry.queries.achievement(badge).version == 2
    v1, v2 = (registry.queries.achievement_document(badge, version=v) for v in (1, 2))
    assert (v1["name"], v1["version"]) == ("Teamwork", "1")
    assert (v2["name"], v2["version"]) == ("Team work", "2")
    assert v1["id"] == v2["id"] == f"{PUBLIC_URL}/achievements/{badge}"
    after = issue(registry, LEARNER_DID, badge)
    assert before.document["credentialSubject"]["achievement"]["version"] == "1"
    assert after.document["credentialSubject"]["achievement"]["version"] == "2"
    assert registry.queries.credential_status(after.id).achievement_version == 2
    assert valid(registry, before.document) and valid(registry, after.document)


def test_retired_achievement_cannot_be_awarded_or_revised(registry, acme):
    achievements = registry.commands.achievements
    badge = define(registry, "Teamwork")
    achievements.retire(badge, reason="replaced", actor=OPERATOR)
    with nothing_stored(registry), pytest.raises(InvalidTransition, match="retired"):
        issue(registry, LEARNER_DID, badge)
    with nothing_stored(registry), pytest.raises(InvalidTransition, match="retired"):
        registry.commands.credentials.issue_batch([Award(LEARNER_DID, badge)], actor=OPERATOR)
    with nothing_stored(registry), pytest.raises(InvalidTransition, match="retired"):
        achievements.revise(badge, actor=OPERATOR, definition=definition("Again"))
    with nothing_stored(registry), pytest.raises(InvalidTransition, match="already retired"):
        achievements.retire(badge, reason="again", actor=OPERATOR)


@pytest.mark.parametrize("bad, error", [
    ({"id": "urn:x", **definition("X")}, "may not set"),
    ({"name": "X", "description": "d"}, "criteria.narrative"),
    ({"name": "X", "description": "d", "criteria": {"narrative": 5}}, "criteria.narrative"),
    ({"name": 5, "description": "d", "criteria": {"narrative": "n"}}, "name"),
    ({"name": "X", "description": "", "criteria": {"narrative": "n"}}, "description"),
    (definition("X", madeUpTerm="not in any context"), "madeUpTerm"),
    (["not", "an", "object"], "JSON object"),
])
def test_bad_achievement_definitions_store_nothing(registry, acme, bad, error):
    with nothing_stored(registry), pytest.raises(DocumentError, match=error):
        registry.commands.achievements.define(issuer=acme, actor=OPERATOR, definition=bad)


def test_achievement_lookups_and_ownership(registry, acme):
    registry.commands.issuers.register(slug="other", name="Other", actor=OPERATOR)
    mine = define(registry, "Teamwork")
    theirs = define(registry, "Other badge", issuer="other")
    assert [a.id for a in registry.queries.achievements(issuer="acme").items] == [mine]
    assert {a.id for a in registry.queries.achievements().items} == {mine, theirs}
    assert registry.queries.achievement(f"{PUBLIC_URL}/achievements/{mine}").id == mine
    with nothing_stored(registry), pytest.raises(DomainError, match="another issuer"):
        registry.commands.achievements.define(issuer=acme, actor=OPERATOR, definition=definition("S"),
                                              requires=[theirs])
    with nothing_stored(registry), pytest.raises(NotFound):
        registry.commands.achievements.define(issuer="nobody", actor=OPERATOR, definition=definition("S"))
    with pytest.raises(NotFound):
        registry.queries.achievement(str(uuid4()))
    with pytest.raises(NotFound):
        registry.queries.achievement("not-a-uuid")


# --- issuing ---------------------------------------------------------------------------------------


def test_email_recipient_appears_nowhere_in_plain(registry, acme):
    address = "Amira.El-Idrissi@Example.org"
    badge = define(registry, "Teamwork")
    written = issue(registry, address, badge, result="92%")
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
    assert registry.queries.credential_status(written.id).recipient.startswith("email-hmac:")
    assert json.loads(registry.queries.credential(written.id).document) == document
    log = msgspec.json.encode(events(registry)).decode()
    assert not [form for form in forms if form in log]
    assert valid(registry, document)


def test_did_recipient(registry, acme):
    written = issue(registry, LEARNER_DID, define(registry, "Teamwork"), evidence="https://evidence.example/1",
                    valid_until=datetime.now(timezone.utc) + timedelta(days=365))
    subject = written.document["credentialSubject"]
    assert subject["id"] == LEARNER_DID and "identifier" not in subject
    assert written.document["evidence"][0]["id"] == "https://evidence.example/1"
    assert "validUntil" in written.document
    assert registry.queries.credential_status(written.id).recipient == LEARNER_DID
    assert valid(registry, written.document)


@pytest.mark.parametrize("recipient", ["not an address", "", "@example.org"])
def test_unrecognised_recipient_is_refused(registry, acme, recipient):
    badge = define(registry, "Teamwork")
    with nothing_stored(registry), pytest.raises(DocumentError):
        issue(registry, recipient, badge)


def test_credential_for_an_external_issuer_cannot_be_signed_here(registry):
    partner = DidKeyPartner()
    registry.commands.issuers.register(slug="partner", name="Partner", did=partner.did, actor=OPERATOR)
    badge = define(registry, "Partner badge", issuer="partner")
    with nothing_stored(registry), pytest.raises(Exception, match="no private key"):
        issue(registry, LEARNER_DID, badge)


def test_batch_from_csv_issues_every_row_in_one_write(registry, acme):
    teamwork, creativity = define(registry, "Teamwork"), define(registry, "Creativity")
    text = ("recipient,achievement,result,valid_until,evidence\n"
            f"bram@example.org,{teamwork},74%,,https://evidence.example/bram\n"
            f"{LEARNER_DID},{creativity},,2031-01-01T00:00:00Z,\n"
            f"chloe@example.org,{PUBLIC_URL}/achievements/{creativity},88%,,\n")
    before = registry.store.max_position()
    result = registry.commands.credentials.issue_batch(parse_batch_csv(text), actor=OPERATOR)
    assert len(result.ids) == len(result.documents) == 3
    assert result.position == registry.store.max_position()
    assert topics(registry)[before:].count("Issued") == 3
    assert all(valid(registry, d) for d in result.documents)
    assert result.documents[0]["credentialSubject"]["result"][0]["value"] == "74%"
    assert result.documents[1]["validUntil"] == "2031-01-01T00:00:00Z"
    assert "bram@example.org" not in json.dumps(result.documents)


def test_batch_is_all_or_nothing_and_names_the_row(registry, acme):
    badge = define(registry, "Teamwork")
    registry.commands.achievements.retire(retired := define(registry, "Old"), reason="old", actor=OPERATOR)
    rows = [f"a@example.org,{badge}", f"b@example.org,{badge}"]
    for bad, error, kind in (
        (f"c@example.org,{uuid4()}", "row 4: no achievement", NotFound),
        (f"c@example.org,{retired}", "row 4: .*retired", InvalidTransition),
        (f"nobody,{badge}", "row 4: recipient", DocumentError),
    ):
        awards = parse_batch_csv("\n".join(["recipient,achievement", *rows, bad]) + "\n")
        with nothing_stored(registry), pytest.raises(kind, match=error):
            registry.commands.credentials.issue_batch(awards, actor=OPERATOR)
    with pytest.raises(DomainError, match="empty"):
        registry.commands.credentials.issue_batch([], actor=OPERATOR)


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


def test_prerequisites_must_be_held_active(registry, acme):
    credentials = registry.commands.credentials
    first, second = define(registry, "Teamwork: Excellent"), define(registry, "Creativity: Excellent")
    super_badge = define(registry, "Super Badge", requires=[first, second])
    learner = "amira@example.org"
    with nothing_stored(registry), pytest.raises(DomainError, match="requires Teamwork: Excellent"):
        issue(registry, learner, super_badge)
    issue(registry, "Amira@Example.org", first)  # the same learner, written differently
    with nothing_stored(registry), pytest.raises(DomainError, match="requires Creativity: Excellent"):
        issue(registry, learner, super_badge)
    held = issue(registry, learner, second)
    awarded = issue(registry, " AMIRA@example.org ", super_badge)
    assert valid(registry, awarded.document)

    credentials.suspend(held.id, reason="review", actor=OPERATOR)
    with nothing_stored(registry), pytest.raises(DomainError, match="requires Creativity"):
        issue(registry, learner, super_badge)
    credentials.reinstate(held.id, reason="ok", actor=OPERATOR)
    issue(registry, learner, super_badge)
    credentials.revoke(held.id, reason="fraud", actor=OPERATOR)
    with nothing_stored(registry), pytest.raises(DomainError, match="requires Creativity"):
        issue(registry, learner, super_badge)
    # someone else holding both does not help this learner
    issue(registry, LEARNER_DID, first), issue(registry, LEARNER_DID, second)
    with nothing_stored(registry), pytest.raises(DomainError, match="requires Creativity"):
        issue(registry, learner, super_badge)


def test_prerequisites_earlier_in_the_same_batch_count(registry, acme):
    first, second = define(registry, "Teamwork: Excellent"), define(registry, "Creativity: Excellent")
    super_badge = define(registry, "Super Badge", requires=[first, second])
    out_of_order = [Award("eva@example.org", super_badge), Award("eva@example.org", first),
                    Award("eva@example.org", second)]
    with nothing_stored(registry), pytest.raises(DomainError, match="row 2: .*requires"):
        registry.commands.credentials.issue_batch(out_of_order, actor=OPERATOR)
    result = registry.commands.credentials.issue_batch(out_of_order[1:] + out_of_order[:1], actor=OPERATOR)
    assert len(result.ids) == 3 and all(valid(registry, d) for d in result.documents)


# --- status changes --------------------------------------------------------------------------------


def test_suspend_reinstate_revoke(registry, acme):
    credentials = registry.commands.credentials
    written = issue(registry, LEARNER_DID, define(registry, "Teamwork"))
    with nothing_stored(registry), pytest.raises(InvalidTransition, match="only a suspended"):
        credentials.reinstate(written.id, reason="no", actor=OPERATOR)
    credentials.suspend(written.id, reason="under review", actor=OPERATOR)
    report = registry.queries.verify(written.document)
    assert not report.valid and report.find("status").outcome == "fail"
    credentials.reinstate(f"urn:uuid:{written.id}", reason="cleared", actor=OPERATOR)
    assert valid(registry, written.document)
    revoked = credentials.revoke(written.id, reason="fraud", actor=OPERATOR)
    assert revoked.position == registry.store.max_position()
    assert not valid(registry, written.document)
    for change in (credentials.revoke, credentials.suspend, credentials.reinstate):
        with nothing_stored(registry), pytest.raises(InvalidTransition):
            change(written.id, reason="again", actor=OPERATOR)
    assert topics(registry, written.id) == ["Issued", "Suspended", "Reinstated", "Revoked"]
    assert registry.queries.credential(written.id).reason == "fraud"
    with pytest.raises(NotFound):
        credentials.revoke(str(uuid4()), reason="x", actor=OPERATOR)


def race(first: tuple[Registry, object], second: tuple[Registry, object]) -> dict[str, object]:
    """Run two commands in two threads on two registries (two processes on one store); neither
    saves before both have loaded what they need. Returns each command's result or error."""
    both_loaded = threading.Barrier(2, timeout=20)
    outcomes: dict[str, object] = {}

    def run(name: str, registry: Registry, command) -> None:
        store = registry.store
        commit, waiting = store.commit, [True]

        def gated(*aggregates):
            if waiting[0]:  # the first attempt only: a retry after a conflict goes straight on
                waiting[0] = False
                both_loaded.wait()
            return commit(*aggregates)

        store.commit = gated
        try:
            outcomes[name] = command(registry)
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test checks
            outcomes[name] = exc
        finally:
            del store.commit

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


def test_two_concurrent_revocations_store_one_revoked_event(registry, acme, open_registry):
    credential = issue(registry, LEARNER_DID, define(registry, "Teamwork")).id
    other = open_registry()  # a second process on the same store

    def revoke(by: str):
        return lambda r: r.commands.credentials.revoke(credential, reason=f"revoked by {by}", actor=Actor(by))

    [winner], [loser] = split(race((registry, revoke("first")), (other, revoke("second"))))
    assert isinstance(loser, InvalidTransition) and "already revoked" in str(loser)
    assert topics(registry, credential).count("Revoked") == 1
    assert registry.queries.credential(credential).reason == f"revoked by {winner}"


def test_two_organisations_racing_for_one_did_end_with_one_owner(registry, open_registry):
    partner = DidKeyPartner()
    other = open_registry()

    def register(slug: str):
        return lambda r: r.commands.issuers.register(slug=slug, name=slug, did=partner.did, actor=Actor(slug))

    [winner], [loser] = split(race((registry, register("first-org")), (other, register("second-org"))))
    assert isinstance(loser, AlreadyExists) and partner.did in str(loser)
    assert registry.queries.issuer_of_did(partner.did).slug == f"{winner}-org"
    assert [i.slug for i in registry.queries.issuers().items] == [f"{winner}-org"]
    assert topics(registry).count("Registered") == 1


def test_a_replayed_endorsement_racing_itself_is_stored_once(registry, acme, open_registry):
    partner = DidKeyPartner()
    registry.commands.issuers.register(slug="partner", name=partner.name, did=partner.did, actor=OPERATOR)
    text = partner.endorsement(registry.queries.issuer(acme).did)
    other = open_registry()

    def submit(r: Registry):
        return r.commands.endorsements.submit(text, actor=Actor("partner"))

    _, [loser] = split(race((registry, submit), (other, submit)))
    assert isinstance(loser, DomainError) and "already submitted" in str(loser)
    assert topics(registry).count("Endorsed") == 1


def test_endless_conflicts_end_in_a_conflict_error_and_store_nothing(registry, acme):
    credential = issue(registry, LEARNER_DID, define(registry, "Teamwork")).id

    def always_conflicting(*aggregates):
        raise IntegrityError("simulated concurrent write")

    registry.store.commit = always_conflicting
    with nothing_stored(registry), pytest.raises(ConflictError, match="nothing was stored"):
        registry.commands.credentials.revoke(credential, reason="x", actor=OPERATOR)


# --- endorsements ----------------------------------------------------------------------------------


def test_custodial_endorsements_of_issuer_achievement_and_credential(registry, acme):
    registry.commands.issuers.register(slug="techbouw", name="Techbouw B.V.", actor=OPERATOR)
    badge = define(registry, "Teamwork")
    credential = issue(registry, LEARNER_DID, badge)
    acme_did = registry.queries.issuer(acme).did
    for subject, kind, iri in (
        (acme, "issuer", acme_did),
        (badge, "achievement", f"{PUBLIC_URL}/achievements/{badge}"),
        (credential.id, "credential", f"urn:uuid:{credential.id}"),
    ):
        written = registry.commands.endorsements.endorse(by="techbouw", subject=subject,
                                                         comment="We recognise these.", actor=OPERATOR)
        document = written.document
        assert "EndorsementCredential" in document["type"]
        assert document["issuer"]["id"] == registry.queries.issuer("techbouw").did
        assert document["credentialSubject"]["id"] == iri
        assert document["credentialSubject"]["endorsementComment"] == "We recognise these."
        given = endorsement(registry, written.id)
        assert (given.subject_kind, given.custodial) == (kind, True)
        assert valid(registry, document)


def test_endorsement_refusals_store_nothing(registry, acme):
    partner = DidKeyPartner()
    registry.commands.issuers.register(slug="partner", name="Partner", did=partner.did, actor=OPERATOR)
    endorse = registry.commands.endorsements.endorse
    with nothing_stored(registry), pytest.raises(DomainError, match="cannot endorse itself"):
        endorse(by=acme, subject=acme, comment="We are great.", actor=OPERATOR)
    with nothing_stored(registry), pytest.raises(DomainError, match="unknown endorsement subject"):
        endorse(by=acme, subject=str(uuid4()), comment="Hm.", actor=OPERATOR)
    with nothing_stored(registry), pytest.raises(DomainError, match="unknown endorsement subject"):
        endorse(by=acme, subject="no-such-org", comment="Hm.", actor=OPERATOR)
    with nothing_stored(registry), pytest.raises(NotAuthorised, match="signs its own"):
        endorse(by="partner", subject=acme, comment="Good.", actor=OPERATOR)
    with nothing_stored(registry), pytest.raises(NotFound):
        endorse(by="nobody", subject=acme, comment="Good.", actor=OPERATOR)


def test_self_signed_endorsement_from_a_did_key_partner(registry, acme):
    partner = DidKeyPartner()
    registry.commands.issuers.register(slug="partner", name=partner.name, did=partner.did, actor=OPERATOR)
    badge = define(registry, "Super Badge")
    doc_id = "https://partner.example/endorsements/super-badge"
    text = partner.endorsement(f"{PUBLIC_URL}/achievements/{badge}", doc_id=doc_id)
    written = registry.commands.endorsements.submit(text, actor=Actor("partner"))
    assert written.id == str(endorsement_id(doc_id))
    given = endorsement(registry, written.id)
    assert (given.subject_kind, given.subject_id) == ("achievement", badge)
    assert given.custodial is False
    assert registry.queries.endorsement_document(written.id) == text  # the exact bytes submitted
    # the proof was checked against the partner's registered key, and the log says which
    assert registry.store.find(endorsement_id(doc_id)).verification_method == partner.verification_method
    report = registry.queries.verify(json.loads(text))
    assert report.valid, report.failures

    with nothing_stored(registry), pytest.raises(DomainError, match="already submitted"):
        registry.commands.endorsements.submit(text, actor=Actor("partner"))


def test_withdrawing_a_submitted_endorsement_shows_in_verification(registry, acme):
    partner = DidKeyPartner()
    registry.commands.issuers.register(slug="partner", name=partner.name, did=partner.did, actor=OPERATOR)
    text = partner.endorsement(registry.queries.issuer(acme).did)
    written = registry.commands.endorsements.submit(text, actor=Actor("partner"))
    assert registry.queries.verify(json.loads(text)).find("status").outcome == "pass"
    registry.commands.endorsements.withdraw(written.id, reason="changed our mind", actor=Actor("partner"))
    report = registry.queries.verify(json.loads(text))
    assert not report.valid and report.find("status").outcome == "fail"


def test_tampered_endorsement_is_refused_with_the_reason(registry, acme):
    partner = DidKeyPartner()
    registry.commands.issuers.register(slug="partner", name=partner.name, did=partner.did, actor=OPERATOR)
    document = json.loads(partner.endorsement(registry.queries.issuer(acme).did))
    document["credentialSubject"]["endorsementComment"] = "Something they never said."
    with nothing_stored(registry), pytest.raises(ProofError, match="does not verify.*partner's active key: .+"):
        registry.commands.endorsements.submit(json.dumps(document), actor=Actor("partner"))


def test_endorsement_signed_by_an_unregistered_key_is_refused(registry, acme):
    partner, stranger = DidKeyPartner(), DidKeyPartner("Stranger")
    registry.commands.issuers.register(slug="partner", name=partner.name, did=partner.did, actor=OPERATOR)
    subject = registry.queries.issuer(acme).did
    # an unregistered organisation
    with nothing_stored(registry), pytest.raises(DomainError, match="is not a registered organisation"):
        registry.commands.endorsements.submit(stranger.endorsement(subject), actor=Actor("stranger"))
    # a registered organisation's name, someone else's key
    forged = stranger.endorsement(subject, issuer_did=partner.did)
    with nothing_stored(registry), pytest.raises(ProofError, match="does not verify"):
        registry.commands.endorsements.submit(forged, actor=Actor("stranger"))


def test_submitted_documents_that_are_not_acceptable(registry, acme):
    partner = DidKeyPartner()
    registry.commands.issuers.register(slug="partner", name=partner.name, did=partner.did, actor=OPERATOR)
    subject = registry.queries.issuer(acme).did
    signed = json.loads(partner.endorsement(subject))
    unknown_context = {**signed, "@context": [*signed["@context"], "https://evil.example/context.jsonld"]}
    not_endorsement = {**signed, "type": ["VerifiableCredential", "OpenBadgeCredential"]}
    no_issuer = {k: v for k, v in signed.items() if k != "issuer"}
    unknown_subject = json.loads(partner.endorsement(f"urn:uuid:{uuid4()}"))
    for text, error in (
        (json.dumps(unknown_context), "evil.example"),
        (json.dumps(not_endorsement), "EndorsementCredential"),
        (json.dumps(no_issuer), "issuer"),
        ("{not json", "malformed JSON"),
        ("[1, 2]", "JSON object"),
    ):
        with nothing_stored(registry), pytest.raises(DocumentError, match=error):
            registry.commands.endorsements.submit(text, actor=Actor("partner"))
    with nothing_stored(registry), pytest.raises(DomainError, match="unknown endorsement subject"):
        registry.commands.endorsements.submit(json.dumps(unknown_subject), actor=Actor("partner"))


def test_withdraw_an_endorsement_once(registry, acme):
    registry.commands.issuers.register(slug="techbouw", name="Techbouw B.V.", actor=OPERATOR)
    endorsements = registry.commands.endorsements
    written = endorsements.endorse(by="techbouw", subject=acme, comment="Trusted.", actor=OPERATOR)
    assert valid(registry, written.document)
    endorsements.withdraw(written.id, reason="partnership ended", actor=OPERATOR)
    withdrawn = endorsement(registry, written.id)
    assert withdrawn.withdrawn_at is not None and withdrawn.withdrawn_reason == "partnership ended"
    report = registry.queries.verify(written.document)
    assert not report.valid and report.find("status").outcome == "fail"
    with nothing_stored(registry), pytest.raises(InvalidTransition, match="already withdrawn"):
        endorsements.withdraw(written.id, reason="again", actor=OPERATOR)
    with pytest.raises(NotFound):
        endorsements.withdraw(str(uuid4()), reason="x", actor=OPERATOR)


# --- authorisation ---------------------------------------------------------------------------------


def test_acting_for_another_issuer_is_not_authorised(registry, acme):
    commands = registry.commands
    partner = DidKeyPartner()
    commands.issuers.register(slug="other", name="Other", actor=OPERATOR)
    commands.issuers.register(slug="partner", name=partner.name, did=partner.did, actor=OPERATOR)
    badge = define(registry, "Teamwork")
    credential = issue(registry, LEARNER_DID, badge).id
    commands.credentials.suspend(credential, reason="review", actor=acting_for(acme))
    given = commands.endorsements.endorse(by="other", subject=acme, comment="Trusted.", actor=OPERATOR).id
    submitted = partner.endorsement(registry.queries.issuer(acme).did)
    other, as_acme = acting_for("other"), acting_for(acme)
    refused = {
        "revoke": lambda: commands.credentials.revoke(credential, reason="x", actor=other),
        "suspend": lambda: commands.credentials.suspend(credential, reason="x", actor=other),
        "reinstate": lambda: commands.credentials.reinstate(credential, reason="x", actor=other),
        "issue": lambda: commands.credentials.issue(Award(LEARNER_DID, badge), actor=other),
        "batch": lambda: commands.credentials.issue_batch([Award(LEARNER_DID, badge)], actor=other),
        "revise": lambda: commands.achievements.revise(badge, actor=other, definition=definition("X")),
        "retire": lambda: commands.achievements.retire(badge, reason="x", actor=other),
        "endorse": lambda: commands.endorsements.endorse(by="other", subject=badge, comment="x", actor=as_acme),
        "withdraw": lambda: commands.endorsements.withdraw(given, reason="x", actor=as_acme),
        "submit": lambda: commands.endorsements.submit(submitted, actor=as_acme),
    }
    for name, command in refused.items():
        with nothing_stored(registry), pytest.raises(NotAuthorised):
            command()
    # the owner itself may
    commands.credentials.reinstate(credential, reason="ok", actor=as_acme)
    commands.endorsements.withdraw(given, reason="ok", actor=other)
    commands.endorsements.submit(submitted, actor=acting_for("partner"))
    commands.credentials.revoke(credential, reason="done", actor=as_acme)


# --- conformance -----------------------------------------------------------------------------------


def test_signed_documents_conform_to_the_1edtech_schemas(registry, acme):
    commands = registry.commands
    commands.issuers.register(slug="techbouw", name="Techbouw B.V.", actor=OPERATOR)
    commands.issuers.register(slug="partner", name="Partner", did=(partner := DidKeyPartner()).did,
                              actor=OPERATOR)
    badge = commands.achievements.define(issuer=acme, actor=OPERATOR, definition=definition(
        "Teamwork", tag=["soft skills"], achievementType="Competency")).id
    documents = [
        issue(registry, "x@example.org", badge, result="87%").document,
        issue(registry, LEARNER_DID, badge, evidence="https://evidence.example/1",
              valid_until=datetime.now(timezone.utc) + timedelta(days=30)).document,
        *commands.credentials.issue_batch([Award("y@example.org", badge)], actor=OPERATOR).documents,
        commands.endorsements.endorse(by="techbouw", subject=acme, comment="Trusted.", actor=OPERATOR).document,
        commands.endorsements.endorse(by="techbouw", subject=badge, comment="Useful.", actor=OPERATOR).document,
        commands.endorsements.submit(partner.endorsement(registry.queries.issuer(acme).did),
                                     actor=OPERATOR).document,
    ]
    for document in documents:
        result = schema.check(document)
        assert result.ok, result.errors
        assert result.warnings == [], result.warnings
        assert result.schema == schema.schema_for(document)
    assert {schema.schema_for(d) for d in documents} == {schema.ACHIEVEMENT_CREDENTIAL,
                                                         schema.ENDORSEMENT_CREDENTIAL}


def test_export_is_ordered_and_holds_every_write(registry, acme):
    badge = define(registry, "Teamwork")
    issue(registry, LEARNER_DID, badge)
    exported = events(registry)
    positions = [e.position for e in exported]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    assert positions[-1] == registry.store.max_position()
    assert [e.topic.rsplit(".", 1)[-1] for e in exported[:2]] == ["Registered", "KeyAdded"]
    assert list(registry.queries.export(after=positions[-2])) == exported[-1:]
