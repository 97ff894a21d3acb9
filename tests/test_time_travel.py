"""Answers as of any instant, on SQLite and PostgreSQL: a scenario issues, suspends, reinstates,
revokes, endorses, withdraws, rotates and reports a compromise through the real use cases, then
checks every answer now and at the instants between the steps (also after a rebuild, and through
the command line). Every answer reflects the command that returned just before (read-your-writes)."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest

from registry.application import Award
from registry.cli import main
from registry.domain import NotFound
from registry.projections import moment

from test_projections import ACTOR, LEARNER_DID, app, environment  # noqa: F401  (fixtures)


def instant() -> datetime:
    """A moment strictly between the events logged before and after it."""
    time.sleep(0.002)
    now = datetime.now(timezone.utc)
    time.sleep(0.002)
    return now


def define(app, name: str, issuer: str = "acme") -> str:
    return app.define_achievement(issuer=issuer, actor=ACTOR, definition={
        "name": name, "description": f"Shows {name}.", "criteria": {"narrative": name}}).id


@pytest.fixture
def story(app):
    """The scenario; returns the ids and the instants between its steps."""
    s: dict = {}
    app.register_issuer(slug="acme", name="Acme Academy", actor=ACTOR)
    app.register_issuer(slug="beta", name="Beta Guild", actor=ACTOR)
    app.register_issuer(slug="gamma", name="Gamma Union", actor=ACTOR)
    s["t_registered"] = instant()
    s["old_key"] = app.issuer("acme").active_key.verification_method
    s["badge"] = define(app, "Teamwork")
    s["c1"] = app.issue_credential(Award(LEARNER_DID, s["badge"]), actor=ACTOR).id
    s["c2"] = app.issue_credential(Award("learner@example.org", s["badge"]), actor=ACTOR).id
    s["c3"] = app.issue_credential(Award(LEARNER_DID, s["badge"], valid_until=datetime.now(timezone.utc)
                                         + timedelta(days=1)), actor=ACTOR).id
    s["t_issued"] = instant()
    app.suspend_credential(s["c1"], reason="under review", actor=ACTOR)
    s["t_suspended"] = instant()
    app.reinstate_credential(s["c1"], reason="review passed", actor=ACTOR)
    s["t_reinstated"] = instant()
    app.revoke_credential(s["c1"], reason="fraud found", actor=ACTOR)
    s["t_revoked"] = instant()
    s["e_acme"] = app.endorse(by="beta", subject="acme", comment="Solid school", actor=ACTOR).id
    s["e_badge"] = app.endorse(by="gamma", subject=s["badge"], comment="Good badge", actor=ACTOR).id
    s["e_c2"] = app.endorse(by="beta", subject=s["c2"], comment="Met them", actor=ACTOR).id
    s["t_endorsed"] = instant()
    app.withdraw_endorsement(s["e_acme"], reason="partnership ended", actor=ACTOR)
    s["t_withdrawn"] = instant()
    s["new_key"] = app.rotate_key("acme", actor=ACTOR).id
    s["t_rotated"] = instant()
    app.report_key_compromise("acme", verification_method=s["old_key"], since=s["t_reinstated"], actor=ACTOR)
    s["t_reported"] = instant()
    return s


def statuses(app, credential, *instants):
    return [(a.status, a.reason, a.valid) for a in (app.credential_status(credential, at) for at in instants)]


def test_a_revoked_credential_was_valid_before(app, story):
    s = story
    assert statuses(app, s["c1"], None, s["t_registered"], s["t_issued"], s["t_suspended"],
                    s["t_reinstated"], s["t_revoked"]) == [
        ("revoked", "fraud found", False),
        ("not-issued", None, False),
        ("active", None, True),
        ("suspended", "under review", False),
        ("active", "review passed", True),
        ("revoked", "fraud found", False),
    ]
    now = app.credential_status(s["c1"])
    assert now.at is None and now.since == app.credential_status(s["c1"], s["t_revoked"]).since
    assert s["t_reinstated"] < datetime.fromisoformat(now.since) < s["t_revoked"]
    earlier = app.credential_status(f"urn:uuid:{s['c1']}", s["t_issued"])
    assert earlier.at == moment(s["t_issued"]) and earlier.since == earlier.issued_at
    assert statuses(app, s["c2"], None, s["t_revoked"]) == [("active", None, True)] * 2


def test_expiry_is_derived_from_valid_until(app, story):
    c3 = story["c3"]
    assert app.credential_status(c3).status == "active"
    later = datetime.now(timezone.utc) + timedelta(days=2)
    expired = app.credential_status(c3, later)
    assert (expired.status, expired.expired, expired.valid) == ("expired", True, False)
    assert expired.since == expired.valid_until
    # Revoked stays revoked after expiry; the expiry still shows.
    app.revoke_credential(c3, reason="mistake", actor=ACTOR)
    gone = app.credential_status(c3, later)
    assert (gone.status, gone.expired, gone.reason) == ("revoked", True, "mistake")


def test_a_withdrawn_endorsement_still_shows_for_the_time_it_stood(app, story):
    s = story
    acme_id = str(app.issuer("acme").id)

    def ids(found):
        return [e.id for e in found]

    everything = app.endorsements(of="acme")
    assert ids(everything) == [s["e_acme"]]
    (withdrawn,) = everything
    assert (withdrawn.standing, withdrawn.withdrawn_reason, withdrawn.endorser) == (False, "partnership ended", "beta")
    assert ids(app.endorsements(of="acme", at=s["t_endorsed"])) == [s["e_acme"]]
    assert app.endorsements(of="acme", at=s["t_endorsed"])[0].standing is True
    assert ids(app.endorsements(of="acme", at=s["t_withdrawn"])) == []
    assert ids(app.endorsements(of="acme", at=s["t_revoked"])) == []  # not given yet
    assert ids(app.endorsements(of=app.issuer("acme").did)) == [s["e_acme"]]
    assert ids(app.endorsements(by="beta")) == [s["e_acme"], s["e_c2"]]
    assert ids(app.endorsements(by="beta", at=s["t_withdrawn"])) == [s["e_c2"]]
    (badge,) = app.endorsements(of=s["badge"])
    (c2,) = app.endorsements(of=f"urn:uuid:{s['c2']}")
    assert (badge.subject_kind, badge.subject_issuer_id) == ("achievement", acme_id)
    assert (c2.subject_kind, c2.subject_issuer_id, c2.comment) == ("credential", acme_id, "Met them")
    assert withdrawn.subject_issuer_id == acme_id
    with pytest.raises(NotFound, match="unknown endorsement subject 'nobody'"):
        app.endorsements(of="nobody")
    with pytest.raises(NotFound, match="no issuer with slug 'nobody'"):
        app.endorsements(by="nobody")
    with pytest.raises(ValueError, match="name either the subject"):
        app.endorsements(of="acme", by="beta")


def test_keys_with_their_state_at_each_instant(app, story):
    s = story

    def states(at=None):
        return [(k.verification_method, k.state) for k in app.key_history("acme", at)]

    old, new = s["old_key"], s["new_key"]
    assert states() == [(old, "compromised"), (new, "active")]
    assert states(s["t_registered"]) == [(old, "active")]
    # Compromised from `since` on, which lies before the report.
    assert states(s["t_reinstated"]) == [(old, "compromised")]
    assert states(s["t_rotated"]) == [(old, "compromised"), (new, "active")]
    assert states(datetime(2000, 1, 1, tzinfo=timezone.utc)) == []
    (first, second) = app.key_history("acme")
    assert first.compromised_since == moment(s["t_reinstated"])
    assert s["t_rotated"] < datetime.fromisoformat(first.compromise_reported_at) < s["t_reported"]
    assert s["t_withdrawn"] < datetime.fromisoformat(first.retired_at) < s["t_rotated"]
    assert second.added_at == first.retired_at
    with pytest.raises(NotFound, match="no issuer with slug 'nobody'"):
        app.key_history("nobody")


def test_answers_are_the_same_after_a_rebuild(app, story):
    s = story
    instants = [None, s["t_issued"], s["t_suspended"], s["t_reinstated"], s["t_revoked"], s["t_withdrawn"]]

    def answers():
        return ([app.credential_status(c, at) for c in (s["c1"], s["c2"], s["c3"]) for at in instants],
                [app.key_history("acme", at) for at in instants],
                [app.endorsements(by=slug, at=at) for slug in ("beta", "gamma") for at in instants])

    before = answers()
    app.rebuild_projection()
    assert answers() == before


def test_every_query_reflects_the_command_just_returned(app):
    app.register_issuer(slug="acme", name="Acme", actor=ACTOR)
    assert [k.state for k in app.key_history("acme")] == ["active"]
    app.rotate_key("acme", actor=ACTOR)
    assert [k.state for k in app.key_history("acme")] == ["retired", "active"]
    badge = define(app, "Kindness")
    for _ in range(3):
        credential = app.issue_credential(Award(LEARNER_DID, badge), actor=ACTOR).id
        assert app.credential_status(credential).status == "active"
        app.suspend_credential(credential, reason="check", actor=ACTOR)
        assert app.credential_status(credential).status == "suspended"
    with pytest.raises(NotFound, match="no credential"):
        app.credential_status("5f8a6b2f-b561-4c08-8891-7bda79d7047f")


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


def test_the_current_status_reflects_each_write_at_once(app):
    # On PostgreSQL "now" answers come from one statement that checks freshness and looks the
    # credential up together; a write that has returned must still show in the very next answer.
    app.register_issuer(slug="acme", name="Acme", actor=ACTOR)
    achievement = app.define_achievement(issuer="acme", actor="test", definition={
        "name": "Teamwork", "description": "Works with others.", "criteria": {"narrative": "Peers."}}).id
    credential = app.issue_credential(Award("did:example:x", achievement), actor="test").id
    assert app.credential_status(credential).status == "active"
    app.suspend_credential(credential, reason="checking", actor="test")
    assert app.credential_status(credential).status == "suspended"
    app.revoke_credential(credential, reason="fraud", actor="test")
    answer = app.credential_status(credential)
    assert (answer.status, answer.reason, answer.valid) == ("revoked", "fraud", False)
