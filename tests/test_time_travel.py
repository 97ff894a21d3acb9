"""Answers as of any instant, on SQLite and PostgreSQL: a scenario issues, suspends, reinstates,
revokes, endorses, withdraws, rotates and reports a compromise through the real use cases, then
checks every answer now and at the instants between the steps (also after a rebuild, and through
the command line). Every answer reflects the command that returned just before (read-your-writes)."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest

from registry.cli import main
from registry.commands import Award
from registry.domain import NotFound
from registry.domain.identity import issuer_id
from registry.projections.projection import moment

from test_projections import LEARNER_DID, OPERATOR, environment  # noqa: F401  (fixture)


def instant() -> datetime:
    """A moment strictly between the events logged before and after it."""
    time.sleep(0.002)
    now = datetime.now(timezone.utc)
    time.sleep(0.002)
    return now


def define(registry, name: str, issuer: str = "acme") -> str:
    return registry.commands.achievements.define(issuer=issuer, actor=OPERATOR, definition={
        "name": name, "description": f"Shows {name}.", "criteria": {"narrative": name}}).id


def issue(registry, award: Award) -> str:
    return registry.commands.credentials.issue(award, actor=OPERATOR).id


def active_key(registry, slug: str) -> str:
    (key,) = [k for k in registry.queries.keys(slug) if k.state == "active"]
    return key.verification_method


@pytest.fixture
def story(registry):
    """The scenario; returns the ids and the instants between its steps."""
    s: dict = {}
    commands = registry.commands
    commands.issuers.register(slug="acme", name="Acme Academy", actor=OPERATOR)
    commands.issuers.register(slug="beta", name="Beta Guild", actor=OPERATOR)
    commands.issuers.register(slug="gamma", name="Gamma Union", actor=OPERATOR)
    s["t_registered"] = instant()
    s["old_key"] = active_key(registry, "acme")
    s["badge"] = define(registry, "Teamwork")
    s["c1"] = issue(registry, Award(LEARNER_DID, s["badge"]))
    s["c2"] = issue(registry, Award("learner@example.org", s["badge"]))
    s["c3"] = issue(registry, Award(LEARNER_DID, s["badge"], valid_until=datetime.now(timezone.utc)
                                    + timedelta(days=1)))
    s["t_issued"] = instant()
    commands.credentials.suspend(s["c1"], reason="under review", actor=OPERATOR)
    s["t_suspended"] = instant()
    commands.credentials.reinstate(s["c1"], reason="review passed", actor=OPERATOR)
    s["t_reinstated"] = instant()
    commands.credentials.revoke(s["c1"], reason="fraud found", actor=OPERATOR)
    s["t_revoked"] = instant()
    s["e_acme"] = commands.endorsements.endorse(by="beta", subject="acme", comment="Solid school",
                                                actor=OPERATOR).id
    s["e_badge"] = commands.endorsements.endorse(by="gamma", subject=s["badge"], comment="Good badge",
                                                 actor=OPERATOR).id
    s["e_c2"] = commands.endorsements.endorse(by="beta", subject=s["c2"], comment="Met them", actor=OPERATOR).id
    s["t_endorsed"] = instant()
    commands.endorsements.withdraw(s["e_acme"], reason="partnership ended", actor=OPERATOR)
    s["t_withdrawn"] = instant()
    s["new_key"] = commands.issuers.rotate_key("acme", actor=OPERATOR).id
    s["t_rotated"] = instant()
    commands.issuers.report_compromise("acme", verification_method=s["old_key"], since=s["t_reinstated"],
                                       actor=OPERATOR)
    s["t_reported"] = instant()
    return s


def statuses(registry, credential, *instants):
    return [(a.status, a.reason, a.valid)
            for a in (registry.queries.credential_status(credential, at) for at in instants)]


def test_a_revoked_credential_was_valid_before(registry, story):
    s = story
    queries = registry.queries
    assert statuses(registry, s["c1"], None, s["t_registered"], s["t_issued"], s["t_suspended"],
                    s["t_reinstated"], s["t_revoked"]) == [
        ("revoked", "fraud found", False),
        ("not-issued", None, False),
        ("active", None, True),
        ("suspended", "under review", False),
        ("active", "review passed", True),
        ("revoked", "fraud found", False),
    ]
    now = queries.credential_status(s["c1"])
    assert now.at is None and now.since == queries.credential_status(s["c1"], s["t_revoked"]).since
    assert s["t_reinstated"] < datetime.fromisoformat(now.since) < s["t_revoked"]
    earlier = queries.credential_status(f"urn:uuid:{s['c1']}", s["t_issued"])
    assert earlier.at == moment(s["t_issued"]) and earlier.since == earlier.issued_at
    assert statuses(registry, s["c2"], None, s["t_revoked"]) == [("active", None, True)] * 2


def test_expiry_is_derived_from_valid_until(registry, story):
    c3 = story["c3"]
    queries = registry.queries
    assert queries.credential_status(c3).status == "active"
    later = datetime.now(timezone.utc) + timedelta(days=2)
    expired = queries.credential_status(c3, later)
    assert (expired.status, expired.expired, expired.valid) == ("expired", True, False)
    assert expired.since == expired.valid_until
    # Revoked stays revoked after expiry; the expiry still shows.
    registry.commands.credentials.revoke(c3, reason="mistake", actor=OPERATOR)
    gone = queries.credential_status(c3, later)
    assert (gone.status, gone.expired, gone.reason) == ("revoked", True, "mistake")


def test_a_withdrawn_endorsement_still_shows_for_the_time_it_stood(registry, story):
    s = story
    acme_id = str(issuer_id("acme"))

    def endorsements(**asked):
        return registry.queries.endorsements(**asked).items

    def ids(found):
        return [e.id for e in found]

    everything = endorsements(of="acme")
    assert ids(everything) == [s["e_acme"]]
    (withdrawn,) = everything
    assert (withdrawn.standing, withdrawn.withdrawn_reason, withdrawn.endorser) == (False, "partnership ended", "beta")
    assert ids(endorsements(of="acme", at=s["t_endorsed"])) == [s["e_acme"]]
    assert endorsements(of="acme", at=s["t_endorsed"])[0].standing is True
    assert ids(endorsements(of="acme", at=s["t_withdrawn"])) == []
    assert ids(endorsements(of="acme", at=s["t_revoked"])) == []  # not given yet
    assert ids(endorsements(of=registry.queries.issuer("acme").did)) == [s["e_acme"]]
    assert ids(endorsements(by="beta")) == [s["e_acme"], s["e_c2"]]
    assert ids(endorsements(by="beta", at=s["t_withdrawn"])) == [s["e_c2"]]
    (badge,) = endorsements(of=s["badge"])
    (c2,) = endorsements(of=f"urn:uuid:{s['c2']}")
    assert (badge.subject_kind, badge.subject_issuer_id) == ("achievement", acme_id)
    assert (c2.subject_kind, c2.subject_issuer_id, c2.comment) == ("credential", acme_id, "Met them")
    assert withdrawn.subject_issuer_id == acme_id
    with pytest.raises(NotFound, match="unknown endorsement subject 'nobody'"):
        endorsements(of="nobody")
    with pytest.raises(NotFound, match="no issuer with slug 'nobody'"):
        endorsements(by="nobody")
    # Both named: the endorsements of that subject by that organisation.
    assert ids(endorsements(of="acme", by="beta")) == [s["e_acme"]]
    assert ids(endorsements(of="acme", by="gamma")) == []
    assert ids(endorsements(of=s["c2"], by="beta", at=s["t_withdrawn"])) == [s["e_c2"]]
    assert ids(endorsements(of="acme", by="beta", at=s["t_withdrawn"])) == []


def test_keys_with_their_state_at_each_instant(registry, story):
    s = story
    keys = registry.queries.keys

    def states(at=None):
        return [(k.verification_method, k.state) for k in keys("acme", at)]

    old, new = s["old_key"], s["new_key"]
    assert states() == [(old, "compromised"), (new, "active")]
    assert states(s["t_registered"]) == [(old, "active")]
    # Compromised from `since` on, which lies before the report.
    assert states(s["t_reinstated"]) == [(old, "compromised")]
    assert states(s["t_rotated"]) == [(old, "compromised"), (new, "active")]
    assert states(datetime(2000, 1, 1, tzinfo=timezone.utc)) == []
    (first, second) = keys("acme")
    assert first.compromised_since == moment(s["t_reinstated"])
    assert s["t_rotated"] < datetime.fromisoformat(first.compromise_reported_at) < s["t_reported"]
    assert s["t_withdrawn"] < datetime.fromisoformat(first.retired_at) < s["t_rotated"]
    assert second.added_at == first.retired_at
    with pytest.raises(NotFound, match="no issuer with slug 'nobody'"):
        keys("nobody")


def test_answers_are_the_same_after_a_rebuild(registry, story):
    s = story
    queries = registry.queries
    instants = [None, s["t_issued"], s["t_suspended"], s["t_reinstated"], s["t_revoked"], s["t_withdrawn"]]

    def answers():
        return ([queries.credential_status(c, at) for c in (s["c1"], s["c2"], s["c3"]) for at in instants],
                [queries.keys("acme", at) for at in instants],
                [queries.endorsements(by=slug, at=at).items for slug in ("beta", "gamma") for at in instants])

    before = answers()
    queries.read_model.runner.rebuild()
    assert answers() == before


def test_every_query_reflects_the_command_just_returned(registry):
    commands, queries = registry.commands, registry.queries
    commands.issuers.register(slug="acme", name="Acme", actor=OPERATOR)
    assert [k.state for k in queries.keys("acme")] == ["active"]
    commands.issuers.rotate_key("acme", actor=OPERATOR)
    assert [k.state for k in queries.keys("acme")] == ["retired", "active"]
    badge = define(registry, "Kindness")
    for _ in range(3):
        credential = issue(registry, Award(LEARNER_DID, badge))
        assert queries.credential_status(credential).status == "active"
        commands.credentials.suspend(credential, reason="check", actor=OPERATOR)
        assert queries.credential_status(credential).status == "suspended"
    with pytest.raises(NotFound, match="no credential"):
        queries.credential_status("5f8a6b2f-b561-4c08-8891-7bda79d7047f")


# --- the command line ------------------------------------------------------------------------------


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_answers_as_of_an_instant(environment, capsys):  # noqa: F811
    assert run(capsys, "issuer", "register", "--slug", "acme", "--name", "Acme")[0] == 0
    assert run(capsys, "issuer", "register", "--slug", "beta", "--name", "Beta")[0] == 0
    registered = instant().isoformat()
    badge = run(capsys, "achievement", "define", "--issuer", "acme", "--name", "X", "--description", "d",
                "--criteria", "n")[1].strip()
    credential = run(capsys, "issue", "--achievement", badge, "--recipient", LEARNER_DID)[1].strip()
    endorsement = run(capsys, "endorse", "--by", "beta", "--subject", "acme", "--comment", "good")[1].strip()
    issued = instant().isoformat()
    assert run(capsys, "revoke", credential, "--reason", "fraud")[0] == 0
    assert run(capsys, "endorsement", "withdraw", endorsement, "--reason", "ended")[0] == 0
    assert run(capsys, "keys", "rotate", "acme")[0] == 0

    code, out, _ = run(capsys, "status", credential)
    assert code == 1 and out.startswith("revoked since ") and out.rstrip().endswith(": fraud")
    code, out, _ = run(capsys, "status", credential, "--at", issued, "--json")
    assert code == 0 and json.loads(out)["status"] == "active" and json.loads(out)["valid"] is True
    code, out, _ = run(capsys, "keys", "acme", "--json")
    assert code == 0 and [k["state"] for k in json.loads(out)] == ["retired", "active"]
    code, out, _ = run(capsys, "keys", "acme", "--at", issued)
    assert code == 0 and out.startswith("active\t") and len(out.splitlines()) == 1
    assert run(capsys, "keys", "show", "acme", "--at", issued)[1] == out
    assert run(capsys, "keys", "acme", "--at", "2000-01-01T00:00:00Z")[0] == 1
    code, out, _ = run(capsys, "endorsements", "--of", "acme", "--at", issued)
    assert code == 0 and out.startswith(f"{endorsement}\tbeta\tissuer ")
    code, out, _ = run(capsys, "endorsements", "--by", "beta", "--json")
    assert code == 0 and json.loads(out)[0]["withdrawn_reason"] == "ended"
    assert run(capsys, "endorsements", "--by", "beta", "--at", registered)[0] == 1
    code, _, err = run(capsys, "status", credential, "--at", "yesterday")
    assert code == 2 and err.startswith("registry: --at 'yesterday' is not an ISO 8601")
    code, _, err = run(capsys, "endorsements", "--of", "acme", "--by", "beta")
    assert code == 2 and "not allowed with argument" in err
    code, _, err = run(capsys, "keys", "nobody")
    assert (code, err) == (2, "registry: no issuer with slug 'nobody'\n")


def test_the_current_status_reflects_each_write_at_once(registry):
    # On PostgreSQL "now" answers come from one statement that checks freshness and looks the
    # credential up together; a write that has returned must still show in the very next answer.
    commands, queries = registry.commands, registry.queries
    commands.issuers.register(slug="acme", name="Acme", actor=OPERATOR)
    achievement = commands.achievements.define(issuer="acme", actor=OPERATOR, definition={
        "name": "Teamwork", "description": "Works with others.", "criteria": {"narrative": "Peers."}}).id
    credential = commands.credentials.issue(Award("did:example:x", achievement), actor=OPERATOR).id
    assert queries.credential_status(credential).status == "active"
    commands.credentials.suspend(credential, reason="checking", actor=OPERATOR)
    assert queries.credential_status(credential).status == "suspended"
    commands.credentials.revoke(credential, reason="fraud", actor=OPERATOR)
    answer = queries.credential_status(credential)
    assert (answer.status, answer.reason, answer.valid) == ("revoked", "fraud", False)
