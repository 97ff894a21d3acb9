"""The domain's rules, on the aggregates alone (no store, no keystore, no crypto)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from uuid import uuid4

import pytest

from registry.domain import (
    Achievement,
    AlreadyExists,
    Credential,
    DidClaim,
    DomainError,
    Endorsement,
    InvalidTransition,
    Issuer,
    NotFound,
    Recipient,
)
from registry.domain.identity import did_claim_id, issuer_id, recipient_id

# Syntactically valid Multikeys (the domain does not decode them, it only compares them).
KEY_1 = "z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
KEY_2 = "z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG"
KEY_3 = "z6MknGc3ocHs3zdPiJbnaaqDi58NGb4pk1Sp9WxWufuXSdxf"
ACTOR = "test"


def hosted(slug: str = "acme") -> Issuer:
    issuer = Issuer.register(slug=slug, name=f"{slug} org", did=f"did:web:badges.test:issuers:{slug}",
                             hosted=True, actor=ACTOR)
    issuer.add_key(public_key_multibase=KEY_1, actor=ACTOR)
    return issuer


def achievement_of(issuer: Issuer, name: str = "Team work", requires=()) -> Achievement:
    return Achievement.define(id=Achievement.new_id(), issuer_id=issuer.id, name=name,
                              document=f'{{"name": "{name}", "version": "1"}}', requires=tuple(requires),
                              actor=ACTOR)


def issued(issuer: Issuer, achievement: Achievement, **overrides) -> Credential:
    now = datetime.now(timezone.utc)
    fields = dict(id=Credential.new_id(), issuer=issuer, achievement=achievement,
                  recipient="did:key:z6MkexampleRecipient", document="{}",
                  valid_from=now, valid_until=None, actor=ACTOR)
    fields.update(overrides)
    if "verification_method" not in fields:
        fields["verification_method"] = issuer.active_key.verification_method
    return Credential.issue(**fields)


def endorsement(endorser: Issuer, subject_kind: str, subject_id, **overrides) -> Endorsement:
    fields = dict(id=Endorsement.new_id(), endorser=endorser, subject_kind=subject_kind,
                  subject_id=subject_id, subject_iri="urn:example:subject", comment="Trustworthy.",
                  document="{}", custodial=True, actor=ACTOR)
    fields.update(overrides)
    if "verification_method" not in fields:
        fields["verification_method"] = endorser.active_key.verification_method
    return Endorsement.give(**fields)


def event_names(aggregate) -> list[str]:
    return [type(e).__name__ for e in aggregate.collect_events()]


# --- issuer: slugs and registration ----------------------------------------------------------------


@pytest.mark.parametrize("slug", ["a", "acme", "a-b", "softskills4eu", "9lives", "x" * 64,
                                  "a" + "-" * 62 + "b"])
def test_valid_slugs_are_accepted(slug):
    issuer = Issuer.register(slug=slug, name="Org", did="did:web:badges.test:issuers:x", hosted=True,
                             actor=ACTOR)
    assert issuer.slug == slug
    assert issuer.id == issuer_id(slug)


@pytest.mark.parametrize("slug", ["", "-acme", "acme-", "Acme", "ac_me", "ac me", "acmé", "x" * 65,
                                  "ac.me", "ac/me", "acme\n", "\nacme"])
def test_invalid_slugs_are_refused(slug):
    with pytest.raises(DomainError, match="invalid slug"):
        Issuer.register(slug=slug, name="Org", did="did:web:badges.test:issuers:x", hosted=True,
                        actor=ACTOR)


def test_registration_needs_a_name_and_a_did():
    with pytest.raises(DomainError, match="name"):
        Issuer.register(slug="acme", name="  ", did="did:web:x", hosted=True, actor=ACTOR)
    with pytest.raises(DomainError, match="invalid DID"):
        Issuer.register(slug="acme", name="Acme", did="https://acme.example", hosted=True, actor=ACTOR)


def test_identities_are_deterministic_and_distinct():
    assert issuer_id("acme") == issuer_id("acme") != issuer_id("acme2")
    assert recipient_id("did:key:z6Mk1") != recipient_id("did:key:z6Mk2")
    claim = DidClaim.claim(did="did:key:z6Mk1", slug="acme")
    assert claim.id == did_claim_id("did:key:z6Mk1")
    assert (claim.did, claim.slug) == ("did:key:z6Mk1", "acme")


# --- issuer: keys ----------------------------------------------------------------------------------


def test_first_key_is_active_and_named_after_the_did():
    issuer = hosted()
    key = issuer.active_key
    assert key.verification_method == f"{issuer.did}#{KEY_1}"
    assert key.state == "active"
    assert issuer.require_signing_key() is key
    assert event_names(issuer) == ["Registered", "KeyAdded"]


def test_a_second_key_cannot_be_added_while_one_is_active():
    issuer = hosted()
    with pytest.raises(InvalidTransition, match="rotate"):
        issuer.add_key(public_key_multibase=KEY_2, actor=ACTOR)
    assert len(issuer.keys) == 1


def test_rotation_retires_the_old_key_which_stays_listed():
    issuer = hosted()
    old = issuer.active_key
    new = issuer.rotate_key(public_key_multibase=KEY_2, actor=ACTOR)
    assert [k.public_key_multibase for k in issuer.keys] == [KEY_1, KEY_2]
    assert issuer.key(old.verification_method).state == "retired"
    assert issuer.key(old.verification_method).retired_at is not None
    assert issuer.active_key is new and new.state == "active"
    assert new.verification_method == f"{issuer.did}#{KEY_2}"
    assert issuer.require_signing_key() is new


def test_a_key_cannot_be_reused():
    issuer = hosted()
    issuer.rotate_key(public_key_multibase=KEY_2, actor=ACTOR)
    with pytest.raises(AlreadyExists):
        issuer.rotate_key(public_key_multibase=KEY_1, actor=ACTOR)
    assert issuer.active_key.public_key_multibase == KEY_2


def test_external_issuers_keys_are_not_rotated_here():
    issuer = Issuer.register(slug="partner", name="Partner", did=f"did:key:{KEY_1}", hosted=False,
                             actor=ACTOR)
    issuer.add_key(public_key_multibase=KEY_1, actor=ACTOR)
    with pytest.raises(InvalidTransition, match="brings its own DID"):
        issuer.rotate_key(public_key_multibase=KEY_2, actor=ACTOR)


def test_unknown_key_is_not_found():
    with pytest.raises(NotFound):
        hosted().key("did:web:badges.test:issuers:acme#nope")


def test_compromise_marks_and_retires_the_key_and_a_new_key_can_be_added():
    issuer = hosted()
    vm = issuer.active_key.verification_method
    since = datetime.now(timezone.utc) - timedelta(days=3)
    issuer.report_compromise(verification_method=vm, since=since, actor=ACTOR)
    key = issuer.key(vm)
    assert key.state == "compromised"
    assert key.compromised_since == since
    assert key.retired_at is not None and key.compromise_reported_at is not None
    assert issuer.active_key is None
    with pytest.raises(InvalidTransition, match="no active signing key"):
        issuer.require_signing_key()

    new = issuer.add_key(public_key_multibase=KEY_2, actor=ACTOR)
    assert issuer.active_key is new
    assert [k.state for k in issuer.keys] == ["compromised", "active"]


def test_compromise_of_a_retired_key_keeps_its_retirement_time():
    issuer = hosted()
    old_vm = issuer.active_key.verification_method
    issuer.rotate_key(public_key_multibase=KEY_2, actor=ACTOR)
    retired_at = issuer.key(old_vm).retired_at
    issuer.report_compromise(verification_method=old_vm, since=retired_at - timedelta(days=1), actor=ACTOR)
    assert issuer.key(old_vm).retired_at == retired_at
    assert issuer.key(old_vm).state == "compromised"
    assert issuer.active_key.public_key_multibase == KEY_2  # the active key is untouched


def test_compromise_needs_a_timezone_and_can_only_move_earlier():
    issuer = hosted()
    vm = issuer.active_key.verification_method
    with pytest.raises(DomainError, match="timezone"):
        issuer.report_compromise(verification_method=vm, since=datetime(2026, 1, 1), actor=ACTOR)
    since = datetime(2026, 1, 10, tzinfo=timezone.utc)
    issuer.report_compromise(verification_method=vm, since=since, actor=ACTOR)
    for later in (since, since + timedelta(days=1)):
        with pytest.raises(InvalidTransition, match="already compromised"):
            issuer.report_compromise(verification_method=vm, since=later, actor=ACTOR)
    earlier = since - timedelta(days=5)
    issuer.report_compromise(verification_method=vm, since=earlier, actor=ACTOR)
    assert issuer.key(vm).compromised_since == earlier


def test_compromise_of_an_unknown_key_is_refused():
    with pytest.raises(NotFound):
        hosted().report_compromise(verification_method="did:web:x#nope",
                                   since=datetime.now(timezone.utc), actor=ACTOR)


def test_a_deactivated_issuer_cannot_sign_or_change():
    issuer = hosted()
    other = hosted("other")
    achievement = achievement_of(issuer)
    vm = issuer.active_key.verification_method
    issuer.deactivate(reason="left the consortium", actor=ACTOR)
    assert not issuer.is_active
    assert issuer.key(vm).retired_at is not None and issuer.active_key is None
    with pytest.raises(InvalidTransition, match="deactivated"):
        issuer.require_signing_key()
    with pytest.raises(InvalidTransition, match="deactivated"):
        issued(issuer, achievement, verification_method=vm)
    with pytest.raises(InvalidTransition, match="deactivated"):
        endorsement(issuer, "issuer", other.id, verification_method=vm)
    with pytest.raises(InvalidTransition, match="deactivated"):
        issuer.add_key(public_key_multibase=KEY_2, actor=ACTOR)
    with pytest.raises(InvalidTransition, match="deactivated"):
        issuer.rotate_key(public_key_multibase=KEY_2, actor=ACTOR)
    with pytest.raises(InvalidTransition, match="deactivated"):
        issuer.update_profile(actor=ACTOR, name="New name")
    with pytest.raises(InvalidTransition):
        issuer.deactivate(reason="again", actor=ACTOR)


def test_profile_update_changes_only_given_fields():
    issuer = hosted()
    issuer.update_profile(actor=ACTOR, url="https://acme.example")
    assert (issuer.name, issuer.url) == ("acme org", "https://acme.example")
    with pytest.raises(DomainError):
        issuer.update_profile(actor=ACTOR, name=" ")


# --- achievement -----------------------------------------------------------------------------------


def test_revise_adds_versions_and_old_versions_stay_readable():
    achievement = achievement_of(hosted(), "Team work")
    first = achievement.document
    assert achievement.current_version == 1
    version = achievement.revise(name="Teamwork", document='{"name": "Teamwork", "version": "2"}',
                                 requires=(), actor=ACTOR)
    assert version == achievement.current_version == 2
    assert achievement.name == "Teamwork"
    assert achievement.versions == [first, achievement.document] and achievement.document != first


def test_retired_achievement_cannot_be_awarded_or_revised():
    issuer = hosted()
    achievement = achievement_of(issuer)
    achievement.retire(reason="replaced", actor=ACTOR)
    assert achievement.retired_reason == "replaced"
    with pytest.raises(InvalidTransition, match="retired"):
        achievement.require_awardable()
    with pytest.raises(InvalidTransition, match="retired"):
        achievement.revise(name="X", document="{}", requires=(), actor=ACTOR)
    with pytest.raises(InvalidTransition, match="retired"):
        issued(issuer, achievement)
    with pytest.raises(InvalidTransition, match="already retired"):
        achievement.retire(reason="again", actor=ACTOR)
    assert achievement.current_version == 1


def test_achievement_needs_a_name_and_cannot_require_itself():
    issuer = hosted()
    with pytest.raises(DomainError, match="name"):
        achievement_of(issuer, " ")
    own = uuid4()
    with pytest.raises(DomainError, match="itself"):
        Achievement.define(id=own, issuer_id=issuer.id, name="X", document="{}", requires=(own,),
                           actor=ACTOR)
    achievement = achievement_of(issuer)
    with pytest.raises(DomainError, match="itself"):
        achievement.revise(name="X", document="{}", requires=(achievement.id,), actor=ACTOR)


# --- credential ------------------------------------------------------------------------------------


def test_credential_issue_rules():
    issuer, other = hosted(), hosted("other")
    achievement = achievement_of(issuer)
    credential = issued(issuer, achievement)
    assert credential.status == "active"
    assert credential.achievement_version == 1
    with pytest.raises(InvalidTransition, match="not the active key"):
        issued(issuer, achievement, verification_method=f"{issuer.did}#{KEY_2}")
    with pytest.raises(DomainError, match="another issuer"):
        issued(other, achievement)
    now = datetime.now(timezone.utc)
    with pytest.raises(DomainError, match="validUntil"):
        issued(issuer, achievement, valid_from=now, valid_until=now)
    old_vm = issuer.active_key.verification_method
    issuer.rotate_key(public_key_multibase=KEY_2, actor=ACTOR)
    with pytest.raises(InvalidTransition, match="not the active key"):
        issued(issuer, achievement, verification_method=old_vm)


def test_credential_records_the_achievement_version():
    issuer = hosted()
    achievement = achievement_of(issuer)
    achievement.revise(name="v2", document="{}", requires=(), actor=ACTOR)
    assert issued(issuer, achievement).achievement_version == 2


def test_suspend_and_reinstate():
    issuer = hosted()
    credential = issued(issuer, achievement_of(issuer))
    with pytest.raises(InvalidTransition, match="only a suspended"):
        credential.reinstate(reason="no", actor=ACTOR)
    credential.suspend(reason="under review", actor=ACTOR)
    assert (credential.status, credential.reason) == ("suspended", "under review")
    with pytest.raises(InvalidTransition, match="only an active"):
        credential.suspend(reason="again", actor=ACTOR)
    credential.reinstate(reason="review passed", actor=ACTOR)
    assert credential.status == "active"
    assert event_names(credential) == ["Issued", "Suspended", "Reinstated"]


@pytest.mark.parametrize("suspend_first", [False, True])
def test_revoked_is_final(suspend_first):
    issuer = hosted()
    credential = issued(issuer, achievement_of(issuer))
    if suspend_first:
        credential.suspend(reason="review", actor=ACTOR)
    credential.revoke(reason="fraud", actor=ACTOR)
    assert credential.status == "revoked" and credential.revoked_at is not None
    for change in (credential.revoke, credential.suspend, credential.reinstate):
        with pytest.raises(InvalidTransition):
            change(reason="again", actor=ACTOR)
    assert credential.status == "revoked"


def test_revocation_needs_a_reason():
    issuer = hosted()
    credential = issued(issuer, achievement_of(issuer))
    with pytest.raises(DomainError, match="reason"):
        credential.revoke(reason="  ", actor=ACTOR)
    assert credential.status == "active"


def test_validity_window():
    issuer = hosted()
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    end = start + timedelta(days=30)
    credential = issued(issuer, achievement_of(issuer), valid_from=start, valid_until=end)
    assert not credential.is_valid_at(start - timedelta(seconds=1))
    assert credential.is_valid_at(start)
    assert not credential.is_valid_at(end)
    credential.suspend(reason="x", actor=ACTOR)
    assert not credential.is_valid_at(start + timedelta(days=1))


# --- endorsement -----------------------------------------------------------------------------------


def test_endorsement_can_be_withdrawn_once():
    endorser, subject = hosted("partner"), hosted()
    given = endorsement(endorser, "issuer", subject.id)
    with pytest.raises(DomainError, match="reason"):
        given.withdraw(reason=" ", actor=ACTOR)
    given.withdraw(reason="no longer", actor=ACTOR)
    assert given.withdrawn_at is not None and given.withdrawn_reason == "no longer"
    with pytest.raises(InvalidTransition, match="already withdrawn"):
        given.withdraw(reason="again", actor=ACTOR)


def test_endorser_cannot_endorse_itself():
    endorser = hosted("partner")
    with pytest.raises(DomainError, match="cannot endorse itself"):
        endorsement(endorser, "issuer", endorser.id)
    # its own achievements and credentials are other subjects
    achievement = achievement_of(endorser)
    assert endorsement(endorser, "achievement", achievement.id).subject_kind == "achievement"


def test_endorsement_rules():
    endorser, subject = hosted("partner"), hosted()
    with pytest.raises(DomainError, match="cannot endorse a 'recipient'"):
        endorsement(endorser, "recipient", subject.id)
    with pytest.raises(DomainError, match="comment"):
        endorsement(endorser, "issuer", subject.id, comment=" ")
    with pytest.raises(InvalidTransition, match="not the active key"):
        endorsement(endorser, "issuer", subject.id, verification_method=f"{endorser.did}#{KEY_3}")
    endorser.report_compromise(verification_method=endorser.active_key.verification_method,
                               since=datetime.now(timezone.utc), actor=ACTOR)
    with pytest.raises(InvalidTransition, match="no active signing key"):
        endorsement(endorser, "issuer", subject.id, verification_method=f"{endorser.did}#{KEY_1}")


# --- recipient -------------------------------------------------------------------------------------


def test_recipient_tracks_awards_per_achievement():
    recipient = Recipient.enrol("email-hmac:abc")
    assert recipient.id == recipient_id("email-hmac:abc")
    a, b = uuid4(), uuid4()
    c1, c2, c3 = uuid4(), uuid4(), uuid4()
    recipient.award(credential_id=c1, achievement_id=a)
    recipient.award(credential_id=c2, achievement_id=b)
    recipient.award(credential_id=c3, achievement_id=a)
    assert recipient.credentials_for(a) == [c1, c3]
    assert recipient.credentials_for(b) == [c2]
    assert recipient.credentials_for(uuid4()) == []
