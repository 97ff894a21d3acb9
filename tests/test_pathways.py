"""Ladders (levels by score band, OB 3.0 resultDescription/rubricCriterionLevel) and pathways
(requirements at a minimum level, awarded automatically when completed), through the commands and
queries the CLI and HTTP use, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from registry.commands import Actor, Award
from registry.domain import Credential, DomainError
from registry.vc import schema

OPERATOR = Actor("operator")
EMAIL = "learner@example.org"
LEVELS = [{"name": "Sufficient", "points": "60"}, {"name": "Good", "points": "71"},
          {"name": "Excellent", "points": "85"}]

@pytest.fixture
def store_kind() -> str:
    """These rules do not depend on the store: SQLite, except the tests marked BOTH_STORES."""
    return "sqlite"


BOTH_STORES = pytest.mark.parametrize("store_kind", ["sqlite", "postgres"])



@pytest.fixture
def acme(registry) -> str:
    registry.commands.issuers.register(slug="acme", name="Acme Academy", actor=OPERATOR)
    return "acme"


def ladder(name: str) -> dict:
    return {"name": name, "description": f"{name}, at three levels.", "criteria": {"narrative": "Scored."},
            "resultDescription": [{"name": "Score", "resultType": "Percent", "valueMin": "0", "valueMax": "100",
                                   "rubricCriterionLevel": [dict(level) for level in LEVELS]}]}


def define_ladder(registry, name: str) -> str:
    return registry.commands.achievements.define(issuer="acme", actor=OPERATOR, definition=ladder(name)).id


def issue(registry, recipient: str, achievement: str, **award):
    return registry.commands.credentials.issue(Award(recipient, achievement, **award), actor=OPERATOR)


def result_of(written) -> dict:
    return written.document["credentialSubject"]["result"][0]


@pytest.mark.parametrize("score, level", [("60", "Sufficient"), ("70", "Sufficient"), ("70.9", "Sufficient"),
                                          ("71", "Good"), ("84", "Good"), ("85", "Excellent"), ("100", "Excellent")])
def test_a_score_picks_its_level_and_the_result_names_it(registry, acme, score, level):
    badge = define_ladder(registry, "Teamwork")
    document = registry.queries.achievement_document(badge)
    levels = {lv["name"]: lv["id"] for lv in document["resultDescription"][0]["rubricCriterionLevel"]}
    written = issue(registry, EMAIL, badge, score=score)
    result = result_of(written)
    assert result == {"type": ["Result"], "resultDescription": document["resultDescription"][0]["id"],
                      "achievedLevel": levels[level], "value": score}
    assert registry.queries.verify(written.document).valid
    assert schema.check(written.document).ok


def test_levels_get_ids_under_the_achievement_and_keep_them_across_revisions(registry, acme):
    badge = define_ladder(registry, "Teamwork")
    first = registry.queries.achievement_document(badge)
    url = first["id"]
    description = first["resultDescription"][0]
    assert description["id"] == f"{url}#score" and description["type"] == ["ResultDescription"]
    assert [lv["id"] for lv in description["rubricCriterionLevel"]] == [f"{url}#sufficient", f"{url}#good", f"{url}#excellent"]
    current = {k: v for k, v in first.items() if k not in ("id", "type", "creator", "version", "@context")}
    current["description"] = "Revised."
    registry.commands.achievements.revise(badge, actor=OPERATOR, definition=current)
    assert registry.queries.achievement_document(badge)["resultDescription"] == first["resultDescription"]


@pytest.mark.parametrize("score, message", [
    ("59", "reaches no level: the lowest, Sufficient, starts at 60"),
    ("101", "above this ladder's maximum 100"),
    ("-1", "below this ladder's minimum 0"),
    ("eighty", "must be a number"),
    ("NaN", "finite number"),
    ("1e400", "finite number"),
])
def test_a_score_outside_the_ladder_is_refused_and_stores_nothing(registry, acme, score, message):
    badge = define_ladder(registry, "Teamwork")
    before = registry.store.max_position()
    with pytest.raises(DomainError, match=message):
        issue(registry, EMAIL, badge, score=score)
    assert registry.store.max_position() == before


def test_a_score_needs_a_ladder_and_excludes_a_free_result(registry, acme):
    plain = registry.commands.achievements.define(issuer="acme", actor=OPERATOR, definition={
        "name": "Plain", "description": "No levels.", "criteria": {"narrative": "Done."}}).id
    with pytest.raises(DomainError, match="has no levels to pick by score"):
        issue(registry, EMAIL, plain, score="90")
    with pytest.raises(DomainError, match="a score or a result, not both"):
        issue(registry, EMAIL, define_ladder(registry, "Teamwork"), score="90", result="90%")


@pytest.mark.parametrize("levels, message", [
    ([{"name": "A", "points": "60"}, {"name": "B", "points": "60"}], "two levels start at the same score"),
    ([{"name": "A", "points": "60"}, {"name": "a", "points": "70"}], "level names must differ"),
    ([{"name": "A", "points": "60"}, {"name": "B"}], "every level gives its lowest score"),
    ([{"name": "A", "points": "sixty"}], "must be a number"),
    ([{"name": "A", "points": "120"}], "starts above valueMax"),
])
def test_a_malformed_ladder_is_refused(registry, acme, levels, message):
    definition = ladder("Teamwork")
    definition["resultDescription"][0]["rubricCriterionLevel"] = levels
    with pytest.raises(DomainError, match=message):
        registry.commands.achievements.define(issuer="acme", actor=OPERATOR, definition=definition)


@BOTH_STORES
def test_a_pathway_is_awarded_automatically_by_the_award_that_completes_it(registry, acme):
    modules = [define_ladder(registry, name) for name in ("Teamwork", "Creativity", "Planning")]
    super_badge = registry.commands.achievements.define(
        issuer="acme", actor=OPERATOR, automatic=True, requires=[f"{m}@Excellent" for m in modules],
        definition={"name": "Super Badge", "description": "All at Excellent.", "criteria": {"narrative": "All."}}).id
    assert registry.queries.achievement(super_badge).automatic

    assert issue(registry, EMAIL, modules[0], score="90").also_awarded == []
    assert issue(registry, EMAIL, modules[1], score="80").also_awarded == []  # Good: not enough
    assert issue(registry, EMAIL, modules[2], score="86").also_awarded == []
    completing = issue(registry, EMAIL, modules[1], score="95")  # now Excellent on all three
    assert len(completing.also_awarded) == 1
    awarded = registry.queries.credential_status(completing.also_awarded[0])
    document = json.loads(registry.queries.credential(awarded.credential_id).document)
    assert awarded.achievement_id == super_badge and awarded.status == "active"
    # The same learner, identified as in the completing award (the address itself is never kept).
    assert document["credentialSubject"]["identifier"] == completing.document["credentialSubject"]["identifier"]
    assert registry.queries.verify(document).valid
    # The fact records what caused it.
    issued = [e for e in registry.store.events_of(Credential.Issued) if str(e.originator_id) == awarded.credential_id]
    assert [e.caused_by for e in issued] == [__import__("uuid").UUID(completing.id)]
    # Held once: another Excellent award completes nothing new.
    assert issue(registry, EMAIL, modules[0], score="99").also_awarded == []


@BOTH_STORES
def test_a_batch_awards_pathways_inside_its_one_transaction(registry, acme):
    modules = [define_ladder(registry, name) for name in ("Teamwork", "Creativity")]
    pathway = registry.commands.achievements.define(
        issuer="acme", actor=OPERATOR, automatic=True, requires=[f"{modules[0]}@Good", modules[1]],
        definition={"name": "Pathway", "description": "Both.", "criteria": {"narrative": "Both."}}).id
    written = registry.commands.credentials.issue_batch(
        [Award(EMAIL, modules[0], score="75"), Award("other@example.org", modules[0], score="65"),
         Award(EMAIL, modules[1], score="61"), Award("other@example.org", modules[1], score="99")], actor=OPERATOR)
    assert len(written.also_awarded) == 1  # the other learner is only Sufficient on the first
    assert registry.queries.credential_status(written.also_awarded[0]).achievement_id == pathway


def test_a_manual_pathway_checks_levels_and_names_what_is_missing(registry, acme):
    module = define_ladder(registry, "Teamwork")
    employee = registry.commands.achievements.define(
        issuer="acme", actor=OPERATOR, requires=[{"achievement": module, "level": "good"}],
        definition={"name": "Good Employee", "description": "At least Good.", "criteria": {"narrative": "Good."}}).id
    issue(registry, EMAIL, module, score="65")
    with pytest.raises(DomainError, match="requires Teamwork at level Good or higher"):
        issue(registry, EMAIL, employee)
    issue(registry, EMAIL, module, score="72")
    assert issue(registry, EMAIL, employee).id


def test_requirements_are_checked_when_defined(registry, acme):
    plain = registry.commands.achievements.define(issuer="acme", actor=OPERATOR, definition={
        "name": "Plain", "description": "No levels.", "criteria": {"narrative": "Done."}}).id
    module = define_ladder(registry, "Teamwork")
    definition = {"name": "P", "description": "P.", "criteria": {"narrative": "P."}}
    with pytest.raises(DomainError, match="has no levels"):
        registry.commands.achievements.define(issuer="acme", actor=OPERATOR, definition=definition,
                                              requires=[f"{plain}@Good"])
    with pytest.raises(DomainError, match="no level 'Brilliant' in Score: its levels are Sufficient, Good, Excellent"):
        registry.commands.achievements.define(issuer="acme", actor=OPERATOR, definition=definition,
                                              requires=[f"{module}@Brilliant"])
    with pytest.raises(DomainError, match="only an achievement with requirements"):
        registry.commands.achievements.define(issuer="acme", actor=OPERATOR, definition=definition, automatic=True)


def test_a_revoked_requirement_does_not_count(registry, acme):
    modules = [define_ladder(registry, name) for name in ("Teamwork", "Creativity")]
    registry.commands.achievements.define(
        issuer="acme", actor=OPERATOR, automatic=True, requires=modules,
        definition={"name": "Both", "description": "Both.", "criteria": {"narrative": "Both."}})
    first = issue(registry, EMAIL, modules[0], score="70")
    registry.commands.credentials.revoke(first.id, reason="wrong learner", actor=OPERATOR)
    assert issue(registry, EMAIL, modules[1], score="70").also_awarded == []


@pytest.mark.parametrize("topic, version, newer, expected", [
    ("Issuer.Registered", 1, ("kind", "image", "phone", "address", "other_identifier"),
     {"kind": None, "image": None, "phone": None, "address": None, "other_identifier": None}),
    ("Issuer.Registered", 2, ("phone", "address", "other_identifier"),
     {"kind": "education", "phone": None, "address": None, "other_identifier": None}),
    ("Issuer.ProfileUpdated", 1, ("kind", "image", "phone", "address", "other_identifier"), {"kind": None, "phone": None}),
    ("Achievement.Defined", 1, ("minimum_levels", "automatic"), {"minimum_levels": {}, "automatic": False}),
    ("Achievement.Revised", 1, ("minimum_levels", "automatic"), {"minimum_levels": {}, "automatic": False}),
    ("Credential.Issued", 2, ("caused_by",), {"caused_by": None}),
])
def test_events_stored_before_these_fields_existed_still_decode(registry, topic, version, newer, expected):
    """Stores written by earlier releases hold older event versions: the upcasters fill in what
    those did not say, so aggregates and projections read them as before."""
    registry.commands.issuers.register(slug="uni", name="Uni", kind="education", actor=OPERATOR)
    registry.commands.issuers.update_profile("uni", name="Uni 2", actor=OPERATOR)
    badge = registry.commands.achievements.define(issuer="uni", actor=OPERATOR, definition=ladder("Teamwork")).id
    registry.commands.achievements.revise(badge, actor=OPERATOR, definition=ladder("Teamwork 2"))
    registry.commands.credentials.issue(Award(EMAIL, badge, score="90"), actor=OPERATOR)
    store = registry.store
    [notification] = [n for n in store.recorder.select_notifications(start=1, limit=1000) if n.topic.endswith(topic)]
    state = json.loads(notification.state)
    for field in newer:
        del state[field]
    state["class_version"] = version
    old = type(notification)(id=notification.id, originator_id=notification.originator_id,
                             originator_version=notification.originator_version, topic=notification.topic,
                             state=json.dumps(state).encode())
    event = store.mapper.to_domain_event(old)
    assert {name: getattr(event, name) for name in expected} == expected
