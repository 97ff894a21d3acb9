"""`registry demo`: a realistic ecosystem from the SoftSkills4EU badge design.

The consortium issues five skill modules at three levels (Sufficient 60-70%, Good 71-84%,
Excellent 85%+), the Super Badge (all five at Excellent), the Mentor Badge and the Good Employee
Badge. Partner organisations endorse achievements and the consortium; learners earn badges by score;
one credential is revoked; the consortium rotates its key, after which old and new credentials verify."""

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
LEVELS = (("Sufficient", 60, 70), ("Good", 71, 84), ("Excellent", 85, 100))
PARTNERS = (
    ("techbouw", "Techbouw B.V.", "https://techbouw.example", "an employer in construction technology"),
    ("gemeente-rivierstad", "Gemeente Rivierstad", "https://rivierstad.example", "a municipality"),
    ("stichting-samen", "Stichting Samen Vrijwillig", "https://samen.example", "a volunteer foundation"),
    ("leerhuis-oost", "Leerhuis Oost", "https://leerhuis-oost.example", "a training institute"),
)
# learner -> scores per module, in MODULES order
LEARNERS = {
    "amira.el-idrissi@example.org": (92, 88, 95, 90, 87),
    "bram.de.vries@example.org": (74, 66, 81, 78, 70),
    "chloe.janssen@example.org": (61, 85, 72, 59, 88),
    "daan.bakker@example.org": (86, 79, 65, 91, 73),
    "eva.smit@example.org": (68, 73, 90, 84, 62),
    "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK": (77, 91, 86, 70, 80),
}


def level_for(score: int) -> str | None:
    for name, low, high in LEVELS:
        if low <= score <= high:
            return name
    return None


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


def build(registry: Registry) -> None:
    say = lambda text: print(text, file=sys.stderr)  # noqa: E731 - progress, not output
    registry.commands.issuers.register(
        slug=CONSORTIUM, name="SoftSkills4EU Consortium", url="https://softskills4eu.example",
        description="European partnership recognising soft skills learned at work, in volunteering and in courses.",
        actor=ACTOR)
    for slug, name, url, what in PARTNERS:
        registry.commands.issuers.register(slug=slug, name=name, url=url, description=f"{name}, {what}.", actor=ACTOR)
    say("registered the consortium and four partner organisations")

    badges: dict[tuple[str, str], str] = {}
    for module, criteria in MODULES.items():
        for level, low, high in LEVELS:
            range_text = f"{low}% or more" if high == 100 else f"{low}-{high}%"
            badges[(module, level)] = registry.commands.achievements.define(
                issuer=CONSORTIUM, actor=ACTOR, definition={
                    "name": f"{module}: {level}",
                    "description": f"The holder {criteria}, assessed at level {level} ({range_text}).",
                    "criteria": {"narrative": f"Scored {range_text} on the SoftSkills4EU {module} assessment."},
                    "tag": ["soft skills", module.lower(), level.lower()],
                }).id
    excellent = [badges[(m, "Excellent")] for m in MODULES]
    super_badge = registry.commands.achievements.define(
        issuer=CONSORTIUM, actor=ACTOR, requires=excellent, definition={
            "name": "SoftSkills4EU Super Badge",
            "description": "Awarded to holders of all five SoftSkills4EU modules at level Excellent.",
            "criteria": {"narrative": "Hold the Excellent badge of every one of the five modules."}}).id
    mentor = registry.commands.achievements.define(issuer=CONSORTIUM, actor=ACTOR, definition={
        "name": "SoftSkills4EU Mentor Badge",
        "description": "The holder has mentored at least three learners through a SoftSkills4EU module.",
        "criteria": {"narrative": "Mentored three or more learners to a module badge, confirmed by their coach."}}).id
    employee = registry.commands.achievements.define(issuer=CONSORTIUM, actor=ACTOR, definition={
        "name": "SoftSkills4EU Good Employee Badge",
        "description": "The holder shows the soft skills employers ask for in daily work.",
        "criteria": {"narrative": "At least Good on Co-operative, Personal and Organisational skills, confirmed by an employer."}}).id
    say(f"defined {len(badges) + 3} achievements")

    awards = [
        Award(learner, badges[(module, level_for(score))], f"{score}%")
        for learner, scores in LEARNERS.items()
        for module, score in zip(MODULES, scores)
        if level_for(score)
    ]
    first = registry.commands.credentials.issue_batch(awards, actor=ACTOR)  # one transaction
    top = next(iter(LEARNERS))
    registry.commands.credentials.issue(Award(top, super_badge), actor=ACTOR)
    registry.commands.credentials.issue(Award("daan.bakker@example.org", mentor), actor=ACTOR)
    say(f"issued {len(first.ids) + 2} credentials")

    for slug, _, _, _ in PARTNERS:
        registry.commands.endorsements.endorse(by=slug, subject=CONSORTIUM, actor=ACTOR,
                         comment="A trustworthy partner whose badges we recognise.")
    registry.commands.endorsements.endorse(by="techbouw", subject=employee, actor=ACTOR,
                     comment="We look for exactly these skills when we hire.")
    registry.commands.endorsements.endorse(by="gemeente-rivierstad", subject=badges[("Social skills", "Good")], actor=ACTOR,
                     comment="Recognised in our participation and re-integration programmes.")
    registry.commands.endorsements.endorse(by="stichting-samen", subject=mentor, actor=ACTOR,
                     comment="Our volunteer coaches earn this badge.")
    withdrawn = registry.commands.endorsements.endorse(by="leerhuis-oost", subject=badges[("Creative Thinking skills", "Sufficient")],
                                 actor=ACTOR, comment="Aligned with our creativity course.")
    registry.commands.endorsements.withdraw(withdrawn.id, reason="the course was discontinued", actor=ACTOR)
    submit_self_signed_endorsement(registry, subject=super_badge)
    say("partners endorsed the consortium and five achievements (one withdrawn, one self-signed)")

    registry.commands.credentials.revoke(first.ids[1], reason="assessment found to be incomplete", actor=ACTOR)
    registry.commands.issuers.rotate_key(CONSORTIUM, actor=ACTOR)
    registry.commands.credentials.issue(Award("bram.de.vries@example.org", employee), actor=ACTOR)
    say("revoked one credential, rotated the consortium's key, issued after the rotation")


def submit_self_signed_endorsement(registry: Registry, subject: str) -> None:
    """A partner that keeps its own key (did:key) signs an endorsement itself and submits it; the
    registry never sees its private key."""
    private = Ed25519PrivateKey.generate()
    partner_did = dids.did_key(private.public_key().public_bytes_raw())
    registry.commands.issuers.register(slug="europees-jongerenwerk", name="Europees Jongerenwerk Netwerk",
                             did=partner_did, url="https://jongerenwerk.example", actor=ACTOR)

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
