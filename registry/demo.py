"""`registry demo`: a realistic ecosystem from the SoftSkills4EU badge design, built with the
registry's own features, as a programme would use them.

The consortium defines five skill modules as ladders (levels by score band: Sufficient 60-70%, Good
71-84%, Excellent 85%+), the Super Badge (an automatic pathway: awarded by the registry when all five
modules are held at Excellent), the Mentor Badge and the Good Employee Badge (requires three modules
at Good, confirmed by an employer). A training institute runs a life-skills pathway: four skills at
four levels, and a Life Skills Passport awarded when all four are held at Competent. Partner
organisations endorse achievements and the consortium; learners are issued badges by score; one
credential is revoked; the consortium rotates its key, after which old and new credentials verify."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from registry.bootstrap import Registry
from registry.commands import Actor, Award
from registry.domain import NotFound
from registry.vc import did as dids
from registry.vc import openbadges, proofs
from registry.vc.openbadges import xsd_datetime

ACTOR = Actor("demo")
CONSORTIUM = "softskills4eu"
MODULES = {
    "Co-operative skills": "works with others towards a shared goal, shares tasks and supports team members",
    "Creative Thinking skills": "generates new ideas, looks at problems from several angles and tries new approaches",
    "Personal skills": "knows own strengths, manages time and stress, and takes responsibility for own learning",
    "Social skills": "communicates clearly, listens actively and deals respectfully with different people",
    "Organisational skills": "plans, sets priorities, keeps agreements and organises work and resources",
}
# (level, lowest score): each band runs up to the next level's lowest score.
LEVELS = (("Sufficient", 60), ("Good", 71), ("Excellent", 85))
PARTNERS = (
    ("techbouw", "Techbouw B.V.", "https://techbouw.example", "an employer in construction technology", "employer"),
    ("gemeente-rivierstad", "Gemeente Rivierstad", "https://rivierstad.example", "a municipality", "government"),
    ("stichting-samen", "Stichting Samen Vrijwillig", "https://samen.example", "a volunteer foundation", "civil-society"),
    ("leerhuis-oost", "Leerhuis Oost", "https://leerhuis-oost.example", "a training institute", "education"),
)
# learner -> scores per module, in MODULES order (a score under 60 earns no badge)
LEARNERS = {
    "amira.el-idrissi@example.org": (92, 88, 95, 90, 87),
    "bram.de.vries@example.org": (74, 66, 81, 78, 70),
    "chloe.janssen@example.org": (61, 85, 72, 59, 88),
    "daan.bakker@example.org": (86, 79, 65, 91, 73),
    "eva.smit@example.org": (68, 73, 90, 84, 62),
    "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK": (77, 91, 86, 70, 80),
}
# The life-skills pathway of Leerhuis Oost: four skills, four levels each.
LIFE_SKILLS = {
    "Digital skills": "uses digital services safely: online banking, government portals, video calls",
    "Money matters": "keeps a budget, understands payslips and bills, and knows where to find help with debts",
    "Health and wellbeing": "looks after sleep, food, exercise and stress, and knows when and where to seek care",
    "Working together in the neighbourhood": "takes part in the community, volunteers and solves conflicts calmly",
}
LIFE_LEVELS = (("Starter", 40), ("Developing", 55), ("Competent", 70), ("Expert", 85))
LIFE_LEARNERS = {
    "fatima.yilmaz@example.org": (78, 72, 81, 88),
    "gert.jansen@example.org": (58, 74, 66, 45),
    "hanna.peters@example.org": (91, 70, 73, 76),
}


def run_demo(registry: Registry, *, as_json: bool = False) -> int:
    try:
        registry.queries.issuer(CONSORTIUM)
        already = True
    except NotFound:
        already = False
        build(registry)
    summary = summarise(registry, already)
    if as_json:
        print(json.dumps(summary, indent=2))
    else:
        print("\n".join(f"{key.replace('_', ' ')}: {value}" for key, value in summary.items()))
    return 0


def ladder(levels, what: str) -> dict:
    """An OB ResultDescription whose levels start at a score (see registry.domain.ladder)."""
    return {"name": f"{what} score", "resultType": "Percent", "valueMin": "0", "valueMax": "100",
            "rubricCriterionLevel": [{"name": name, "points": str(lowest),
                                      "description": f"A score of {lowest}% or more."}
                                     for name, lowest in levels]}


def build(registry: Registry) -> None:
    say = lambda text: print(text, file=sys.stderr)  # noqa: E731 - progress, not output
    issued = 0
    registry.commands.issuers.register(
        slug=CONSORTIUM, name="SoftSkills4EU Consortium", url="https://softskills4eu.example", kind="education",
        description="European partnership recognising soft skills learned at work, in volunteering and in courses.",
        actor=ACTOR)
    for slug, name, url, what, kind in PARTNERS:
        registry.commands.issuers.register(slug=slug, name=name, url=url, description=f"{name}, {what}.",
                                           kind=kind, actor=ACTOR)
    say("registered the consortium and four partner organisations")

    modules: dict[str, str] = {}
    for module, criteria in MODULES.items():
        modules[module] = registry.commands.achievements.define(issuer=CONSORTIUM, actor=ACTOR, definition={
            "name": module,
            "description": f"The holder {criteria}. Awarded at level Sufficient (60-70%), Good (71-84%) or Excellent (85% or more).",
            "criteria": {"narrative": f"Scored 60% or more on the SoftSkills4EU {module} assessment; "
                                      "the score decides the level."},
            "tag": ["soft skills", module.lower()],
            "resultDescription": [ladder(LEVELS, "Assessment")],
        }).id
    super_badge = registry.commands.achievements.define(
        issuer=CONSORTIUM, actor=ACTOR, automatic=True,
        requires=[f"{modules[m]}@Excellent" for m in MODULES], definition={
            "name": "SoftSkills4EU Super Badge",
            "description": "Awarded to holders of all five SoftSkills4EU modules at level Excellent.",
            "criteria": {"narrative": "Hold every one of the five modules at level Excellent; the registry "
                                      "awards it as soon as the fifth is reached."}}).id
    mentor = registry.commands.achievements.define(issuer=CONSORTIUM, actor=ACTOR, definition={
        "name": "SoftSkills4EU Mentor Badge",
        "description": "The holder has mentored at least three learners through a SoftSkills4EU module.",
        "criteria": {"narrative": "Mentored three or more learners to a module badge, confirmed by their coach."}}).id
    employee = registry.commands.achievements.define(
        issuer=CONSORTIUM, actor=ACTOR,
        requires=[f"{modules[m]}@Good" for m in ("Co-operative skills", "Personal skills", "Organisational skills")],
        definition={
            "name": "SoftSkills4EU Good Employee Badge",
            "description": "The holder shows the soft skills employers ask for in daily work.",
            "criteria": {"narrative": "At least Good on Co-operative, Personal and Organisational skills, "
                                      "confirmed by an employer."}}).id

    life: dict[str, str] = {}
    for skill, criteria in LIFE_SKILLS.items():
        life[skill] = registry.commands.achievements.define(issuer="leerhuis-oost", actor=ACTOR, definition={
            "name": f"Life skills: {skill}",
            "description": f"The holder {criteria}.",
            "criteria": {"narrative": f"Assessed in the Leerhuis Oost life-skills course on {skill.lower()}; "
                                      "the score decides the level (Starter, Developing, Competent, Expert)."},
            "tag": ["life skills", skill.lower()],
            "resultDescription": [ladder(LIFE_LEVELS, "Course")],
        }).id
    passport = registry.commands.achievements.define(
        issuer="leerhuis-oost", actor=ACTOR, automatic=True, requires=[f"{life[s]}@Competent" for s in LIFE_SKILLS],
        definition={"name": "Life Skills Passport",
                    "description": "All four life skills held at level Competent or higher.",
                    "criteria": {"narrative": "Hold the four Leerhuis Oost life skills at Competent or higher; "
                                              "awarded automatically when the last one is reached."}}).id
    say(f"defined {len(MODULES) + 3 + len(LIFE_SKILLS) + 1} achievements: two ladders of skills and their pathways")

    # Scores go in as they are; each achievement's own bands pick the level (scores under 60 earn none).
    awards = [Award(learner, modules[module], score=str(score))
              for learner, scores in LEARNERS.items()
              for module, score in zip(MODULES, scores) if score >= LEVELS[0][1]]
    first = registry.commands.credentials.issue_batch(awards, actor=ACTOR)  # one transaction
    issued += len(first.ids) + len(first.also_awarded)
    mentor_award = registry.commands.credentials.issue(Award("daan.bakker@example.org", mentor), actor=ACTOR)
    issued += 1 + len(mentor_award.also_awarded)
    life_awards = [Award(learner, life[skill], score=str(score))
                   for learner, scores in LIFE_LEARNERS.items()
                   for skill, score in zip(LIFE_SKILLS, scores) if score >= LIFE_LEVELS[0][1]]
    second = registry.commands.credentials.issue_batch(life_awards, actor=ACTOR)
    issued += len(second.ids) + len(second.also_awarded)
    say(f"issued {issued} credentials by score, {len(first.also_awarded) + len(second.also_awarded)} of them "
        "awarded automatically (pathways completed)")

    for slug, _, _, _, _ in PARTNERS:
        registry.commands.endorsements.endorse(by=slug, subject=CONSORTIUM, actor=ACTOR,
                                               comment="A trustworthy partner whose badges we recognise.")
    registry.commands.endorsements.endorse(by="techbouw", subject=employee, actor=ACTOR,
                                           comment="We look for exactly these skills when we hire.")
    registry.commands.endorsements.endorse(by="gemeente-rivierstad", subject=modules["Social skills"], actor=ACTOR,
                                           comment="Recognised in our participation and re-integration programmes.")
    registry.commands.endorsements.endorse(by="gemeente-rivierstad", subject=passport, actor=ACTOR,
                                           comment="Accepted as proof of self-reliance in our social support programme.")
    registry.commands.endorsements.endorse(by="stichting-samen", subject=mentor, actor=ACTOR,
                                           comment="Our volunteer coaches earn this badge.")
    withdrawn = registry.commands.endorsements.endorse(by="stichting-samen", subject=modules["Creative Thinking skills"],
                                                       actor=ACTOR, comment="Aligned with our volunteers' creativity course.")
    registry.commands.endorsements.withdraw(withdrawn.id, reason="the course was discontinued", actor=ACTOR)
    submit_self_signed_endorsement(registry, subject=super_badge)
    say("partners endorsed the consortium and six achievements (one withdrawn, one self-signed)")

    registry.commands.credentials.revoke(first.ids[1], reason="assessment found to be incomplete", actor=ACTOR)
    registry.commands.issuers.rotate_key(CONSORTIUM, actor=ACTOR)
    # Confirmed by an employer: at least Good on the three modules, which this learner holds.
    after = registry.commands.credentials.issue(Award(next(reversed(LEARNERS)), employee), actor=ACTOR)
    issued += 1 + len(after.also_awarded)
    say(f"revoked one credential, rotated the consortium's key, issued after the rotation: {issued} credentials in all")


def submit_self_signed_endorsement(registry: Registry, subject: str) -> None:
    """A partner that keeps its own key (did:key) signs an endorsement itself and submits it; the
    registry never sees its private key."""
    private = Ed25519PrivateKey.generate()
    partner_did = dids.did_key(private.public_key().public_bytes_raw())
    registry.commands.issuers.register(slug="europees-jongerenwerk", name="Europees Jongerenwerk Netwerk",
                                       did=partner_did, url="https://jongerenwerk.example", kind="civil-society",
                                       actor=ACTOR)

    class PartnerSigner:
        verification_method = f"{partner_did}#{partner_did.removeprefix('did:key:')}"

        @staticmethod
        def sign(data: bytes) -> bytes:
            return private.sign(data)

    now = datetime.now(timezone.utc)
    document = openbadges.endorsement_credential(
        "https://jongerenwerk.example/endorsements/super-badge-2026",
        openbadges.profile(partner_did, "Europees Jongerenwerk Netwerk"),
        registry.settings.config.achievement_url(subject),
        "We recommend the Super Badge to youth workers across Europe.", valid_from=xsd_datetime(now))
    signed = proofs.sign(document, PartnerSigner(), created=xsd_datetime(now))
    # The partner acts for itself: an actor that may act only for europees-jongerenwerk.
    partner = Actor("demo:europees-jongerenwerk", issuer="europees-jongerenwerk")
    registry.commands.endorsements.submit(json.dumps(signed, indent=2), actor=partner)


def summarise(registry: Registry, already: bool) -> dict:
    counts: dict[str, int] = {}
    for event in registry.queries.export():
        name = event.topic.rsplit(".", 1)[-1]
        counts[name] = counts.get(name, 0) + 1
    keys = registry.queries.keys(CONSORTIUM)
    old_key = keys[0].verification_method
    new_key = next(k.verification_method for k in keys if k.state == "active")
    samples = {}
    for event in registry.queries.export():
        if not event.topic.endswith(":Credential.Issued"):
            continue
        credential = registry.queries.credential(event.originator_id)
        if credential.status != "active":
            continue
        signed_with = json.loads(credential.document)["proof"][0]["verificationMethod"]
        samples.setdefault("signed_with_retired_key" if signed_with == old_key else "signed_with_new_key", credential)
    checks = {
        name: f"{c.id} -> {'VALID' if registry.queries.verify(json.loads(c.document)).valid else 'INVALID'}"
        for name, c in samples.items()
    }
    return {
        "status": "demo data already present (nothing added)" if already else "demo data loaded",
        "issuers": counts.get("Registered", 0),
        "achievements": counts.get("Defined", 0),
        "credentials_issued": counts.get("Issued", 0),
        "credentials_revoked": counts.get("Revoked", 0),
        "endorsements": counts.get("Endorsed", 0),
        "endorsements_withdrawn": counts.get("Withdrawn", 0),
        "key_rotations": counts.get("KeyRotated", 0),
        "consortium_did": registry.queries.issuer(CONSORTIUM).did,
        "retired_key": old_key,
        "active_key": new_key,
        **{f"verify_{k}": v for k, v in checks.items()},
        "events_stored": sum(counts.values()),
        "data": registry.description,
        "keys": str(registry.settings.keys_dir),
    }
