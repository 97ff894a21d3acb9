"""Builders for Open Badges 3.0 documents: plain dicts, unsigned, shaped as the 1EdTech JSON Schemas
expect (`type` and every other multi-valued property as an array, even with one member).

Credentials carry `credentialSchema` with type `1EdTechJsonSchemaValidator2019`. That term is not in
the VC 2.0 or OB 3.0 contexts, only in the OB extensions context, and without it the type would be
an undefined term that JSON-LD drops, so a signature would not cover it. Credentials therefore list
contexts.OB_V3P0_EXTENSIONS after the two contexts OB 3.0 requires first (as 1EdTech's own examples do)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime, timezone

from registry.vc import contexts
from registry.vc.errors import DocumentError
from registry.vc.report import Summary

CREDENTIAL_CONTEXTS = [*contexts.OB_CONTEXTS, contexts.OB_V3P0_EXTENSIONS]

SCHEMA_VALIDATOR_TYPE = "1EdTechJsonSchemaValidator2019"
ACHIEVEMENT_CREDENTIAL_SCHEMA = (
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
)
ENDORSEMENT_CREDENTIAL_SCHEMA = (
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_endorsementcredential_schema.json"
)

# OB 3.0 DateTimeZ: an RFC 3339 date-time that always carries its offset.
_DATETIMEZ = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$", re.ASCII
)


def parse_datetimez(value: object, what: str = "date-time") -> datetime:
    """A timezone-aware datetime from an OB DateTimeZ string; DocumentError for anything else."""
    if not isinstance(value, str) or not _DATETIMEZ.match(value):
        raise DocumentError(
            f"{what} {value!r} is not an ISO 8601 date-time with an offset (e.g. 2024-01-31T12:00:00Z)"
        )
    try:
        moment = datetime.fromisoformat(value.upper())
        moment.astimezone(timezone.utc)  # 9999-12-31T23:59:59-23:59 is past year 9999 in UTC
    except ValueError as exc:
        raise DocumentError(f"{what} {value!r} is not a valid date-time: {exc}") from None
    except OverflowError:
        raise DocumentError(f"{what} {value!r} is out of range (years 1 to 9999 in UTC)") from None
    return moment


def is_vc_1_1(document: dict) -> bool:
    """An OB 3.0.0-3.0.2 credential on the VC 1.1 data model (first context VC 1.1's): dated by
    issuanceDate and expirationDate instead of validFrom and validUntil."""
    first = document.get("@context")
    return isinstance(first, list) and bool(first) and first[0] == contexts.VC_V1


def validity(document: dict, end: str) -> tuple[object, str]:
    """The value and name of the credential's validity start ("from") or end ("until")."""
    if is_vc_1_1(document):
        name = "issuanceDate" if end == "from" else "expirationDate"
    else:
        name = "validFrom" if end == "from" else "validUntil"
    return document.get(name), name


# Values that name something (IRIs): only these schemes. `javascript:`, `data:` and the like in a
# badge's link would run or smuggle content wherever a wallet or page shows it.
IRI_KEYS = frozenset({"id", "url", "image", "targetUrl", "statusListCredential", "verificationMethod",
                      "issuer", "creator", "source"})
SAFE_SCHEMES = frozenset({"http", "https", "urn", "did", "mailto"})
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_DID = re.compile(r"^did:[a-z0-9]+:(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})*(?::(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})*)*"
                  r"(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})(?:[/?#].*)?$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_DEPTH = 32


def unsafe_content(document: object) -> list[str]:
    """What the registry neither issues nor accepts in a document, by JSON path: a JSON-LD keyword
    other than the top-level @context (an inline @context or @vocab would let a document define
    its own terms past the pinned contexts), control characters (NUL above all: PostgreSQL cannot
    store it), an IRI with a scheme other than http(s), urn, did or mailto (an image may be a
    data:image/ URL), a DID that is not one (a bare `did:`), and nesting deeper than MAX_DEPTH."""
    problems: list[str] = []

    # Paths are kept as tuples and written out only for a problem: most documents have none, and
    # formatting a path for every member was a tenth of a verification.
    def render(path: tuple) -> str:
        return "$" + "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in path)

    def walk(value: object, path: tuple, depth: int) -> None:
        if len(problems) >= 5:
            return
        if depth > MAX_DEPTH:
            problems.append(f"{render(path)} is nested more than {MAX_DEPTH} levels deep")
            return
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str) or _CONTROL.search(key):
                    problems.append(f"{render(path)} has a key with control characters")
                    continue
                if key[:1] == "@" and not (key == "@context" and depth == 0):
                    problems.append(f"{render((*path, key))}: JSON-LD keywords other than the top-level "
                                    "@context are not allowed")
                    continue
                if key in IRI_KEYS and isinstance(item, str):
                    iri_problem(item, (*path, key))
                if isinstance(item, (dict, list)):
                    walk(item, (*path, key), depth + 1)
                elif isinstance(item, str) and _CONTROL.search(item):
                    problems.append(f"{render((*path, key))} contains a control character (such as NUL)")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, (dict, list)):
                    walk(item, (*path, index), depth + 1)
                elif isinstance(item, str) and _CONTROL.search(item):
                    problems.append(f"{render((*path, index))} contains a control character (such as NUL)")
        elif isinstance(value, str) and _CONTROL.search(value):
            problems.append(f"{render(path)} contains a control character (such as NUL)")

    def iri_problem(text: str, path: tuple) -> None:
        match = _SCHEME.match(text)
        if match and match.group(1).lower() == "data" and "image" in path and text[:11].lower() == "data:image/":
            return  # OB 3.0: an Image's id may be a data URL of the image itself
        if match and match.group(1).lower() not in SAFE_SCHEMES:
            problems.append(f"{render(path)}: the scheme {match.group(1)!r} is not allowed (http, https, urn, did, mailto)")
        elif text.startswith("did:") and not _DID.match(text):
            problems.append(f"{render(path)}: {text!r} is not a DID")

    walk(document, (), 0)
    return problems


def refuse_unsafe(document: object, what: str) -> None:
    problems = unsafe_content(document)
    if problems:
        raise DocumentError(f"{what}: {'; '.join(problems)}")


def xsd_datetime(moment: datetime) -> str:
    """Seconds precision with Z: the form OB examples and the W3C vectors use."""
    try:
        utc = moment.astimezone(timezone.utc)
    except OverflowError:  # a moment given from outside, e.g. 9999-12-31T23:59:59-23:59
        raise DocumentError(f"{moment.isoformat()} is out of range (years 1 to 9999 in UTC)") from None
    return utc.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def document_text(document: dict) -> str:
    """The exact JSON text the registry stores and hands out for a signed document."""
    return json.dumps(document, ensure_ascii=False, indent=2)


def _without_none(**fields) -> dict:
    return {key: value for key, value in fields.items() if value is not None}


def _required_text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DocumentError(f"{what} must be a non-empty string, got {value!r}")
    return value


def image(url: str, caption: str | None = None) -> dict:
    """An OB `Image` (its `type` is a plain string in the schema, unlike every other class)."""
    return _without_none(id=_required_text(url, "image id"), type="Image", caption=caption)


def _image(value: str | dict | None) -> dict | None:
    return image(value) if isinstance(value, str) else value


def profile(
    issuer_id: str,
    name: str,
    *,
    url: str | None = None,
    email: str | None = None,
    description: str | None = None,
    image: str | dict | None = None,
    phone: str | None = None,
    address: dict | None = None,
    other_identifier: list[dict] | None = None,
) -> dict:
    """An OB `Profile` (an issuer, endorser or achievement creator), to be embedded in documents."""
    return _without_none(
        id=_required_text(issuer_id, "profile id"),
        type=["Profile"],
        name=_required_text(name, "profile name"),
        url=url,
        phone=phone,
        description=description,
        image=_image(image),
        email=email,
        address=None if address is None else {"type": ["Address"], **address},
        otherIdentifier=None if not other_identifier else [{"type": "IdentifierEntry", **i} for i in other_identifier],
    )


def alignment(
    target_name: str,
    target_url: str,
    *,
    target_code: str | None = None,
    target_description: str | None = None,
    target_framework: str | None = None,
    target_type: str | None = None,
) -> dict:
    """An OB `Alignment` to a competency or framework item."""
    return _without_none(
        type=["Alignment"],
        targetName=_required_text(target_name, "alignment targetName"),
        targetUrl=_required_text(target_url, "alignment targetUrl"),
        targetCode=target_code,
        targetDescription=target_description,
        targetFramework=target_framework,
        targetType=target_type,
    )


def result_description(
    description_id: str,
    name: str,
    result_type: str,
    *,
    allowed_values: Iterable[str] = (),
    required_value: str | None = None,
    value_min: str | None = None,
    value_max: str | None = None,
) -> dict:
    """An OB `ResultDescription`: what a level or score on an achievement means."""
    return _without_none(
        id=_required_text(description_id, "resultDescription id"),
        type=["ResultDescription"],
        name=_required_text(name, "resultDescription name"),
        resultType=_required_text(result_type, "resultDescription resultType"),
        allowedValue=list(allowed_values) or None,
        requiredValue=required_value,
        valueMin=value_min,
        valueMax=value_max,
    )


def result(
    *,
    result_description: str | None = None,
    achieved_level: str | None = None,
    value: str | None = None,
    status: str | None = None,
) -> dict:
    """An OB `Result` of an awarded achievement; `result_description` is the id it refers to."""
    if value is None and achieved_level is None and status is None:
        raise DocumentError("a result needs a value, an achievedLevel or a status")
    return _without_none(
        type=["Result"],
        resultDescription=result_description,
        achievedLevel=achieved_level,
        value=value,
        status=status,
    )


def evidence(
    *,
    evidence_id: str | None = None,
    narrative: str | None = None,
    name: str | None = None,
    description: str | None = None,
    genre: str | None = None,
    audience: str | None = None,
) -> dict:
    """An OB `Evidence`: a link to, or a narrative of, the work that earned the achievement."""
    if evidence_id is None and narrative is None:
        raise DocumentError("evidence needs an id (where it is) or a narrative (what it is)")
    return _without_none(
        id=evidence_id,
        type=["Evidence"],
        narrative=narrative,
        name=name,
        description=description,
        genre=genre,
        audience=audience,
    )


def achievement(
    achievement_id: str,
    *,
    name: str,
    description: str,
    criteria_narrative: str,
    creator: dict | None,
    achievement_type: str = "Badge",
    image: str | dict | None = None,
    tags: Iterable[str] = (),
    alignments: Iterable[dict] = (),
    result_descriptions: Iterable[dict] = (),
    version: str | None = None,
    extra: dict | None = None,
    types: Iterable[str] = (),
) -> dict:
    """An OB `Achievement`. `extra` adds further OB properties (humanCode, fieldOfStudy, ...);
    `types` are more types beside "Achievement" (defined by an extension context)."""
    document = _without_none(
        id=_required_text(achievement_id, "achievement id"),
        type=["Achievement", *(t for t in types if t != "Achievement")],
        achievementType=achievement_type,
        name=_required_text(name, "achievement name"),
        description=_required_text(description, "achievement description"),
        criteria={"narrative": _required_text(criteria_narrative, "criteria narrative")},
        creator=creator,
        image=_image(image),
        tag=list(tags) or None,
        alignment=list(alignments) or None,
        resultDescription=list(result_descriptions) or None,
        version=version,
    )
    clashes = sorted(set(extra or {}) & (set(document) | {"@context"}))
    if clashes:
        raise DocumentError(f"extra achievement properties {clashes} would replace ones the builder sets")
    return {**document, **(extra or {})}


def published_achievement(achievement: dict, extension_contexts: Iterable[str] = ()) -> dict:
    """An achievement as the registry stores and publishes it. One that uses terms of extension
    contexts carries its whole @context (the credential contexts, then those), so the stored text
    is the published document; others are stored without one and published under
    CREDENTIAL_CONTEXTS, as they always were."""
    extension_contexts = list(extension_contexts)
    if not extension_contexts:
        return dict(achievement)
    return {"@context": [*CREDENTIAL_CONTEXTS, *extension_contexts], **achievement}


def achievement_parts(published: dict) -> tuple[dict, list[str]]:
    """A stored achievement as a credential embeds it (without @context: a nested @context is no
    part of what OB credentials carry) and the extension contexts the credential must list."""
    given = published.get("@context")
    if given is None:
        return published, []
    extension = [url for url in given if url not in CREDENTIAL_CONTEXTS]
    return {key: value for key, value in published.items() if key != "@context"}, extension


def _issuer_id(issuer: dict) -> str:
    if not isinstance(issuer, dict):
        raise DocumentError(f"issuer must be a Profile object, got {type(issuer).__name__}")
    return _required_text(issuer.get("id"), "issuer id")


def _validity(valid_from: str, valid_until: str | None) -> None:
    start = parse_datetimez(valid_from, "validFrom")
    if valid_until is not None and parse_datetimez(valid_until, "validUntil") <= start:
        raise DocumentError(f"validUntil {valid_until} is not after validFrom {valid_from}")


def _achievement_subject(recipient: dict) -> dict:
    """credentialSubject fields for a recipient given as {"id": did} and/or {"identifier": [...]}."""
    if not isinstance(recipient, dict) or not recipient:
        raise DocumentError("recipient must be {'id': ...} or {'identifier': [IdentityObject, ...]}")
    unknown = sorted(set(recipient) - {"id", "identifier"})
    if unknown:
        raise DocumentError(f"recipient has unknown fields {unknown}; expected 'id' and/or 'identifier'")
    subject: dict = {}
    if "id" in recipient:
        subject["id"] = _required_text(recipient["id"], "recipient id")
    if "identifier" in recipient:
        identifiers = recipient["identifier"]
        if isinstance(identifiers, dict):
            identifiers = [identifiers]
        if not identifiers or not all(isinstance(i, dict) for i in identifiers):
            raise DocumentError("recipient identifier must be a non-empty list of IdentityObjects")
        subject["identifier"] = list(identifiers)
    return subject


def open_badge_credential(
    credential_id: str,
    issuer: dict,
    achievement: dict,
    recipient: dict,
    *,
    valid_from: str,
    valid_until: str | None = None,
    result: list | None = None,
    evidence: list | None = None,
    name: str | None = None,
    awarded_date: str | None = None,
) -> dict:
    """An unsigned OpenBadgeCredential awarding `achievement` to `recipient`.

    `name` defaults to the achievement's name: OB 3.0 requires a display name on the credential.
    An achievement as published with extension contexts (published_achievement) is embedded
    without its @context, and those contexts follow the credential's own, so the signature covers
    the extension terms."""
    _issuer_id(issuer)
    achievement, extension_contexts = achievement_parts(achievement)
    _validity(valid_from, valid_until)
    if awarded_date is not None:
        parse_datetimez(awarded_date, "awardedDate")
    subject = {"type": ["AchievementSubject"], **_achievement_subject(recipient), "achievement": achievement}
    if result:
        subject["result"] = list(result)
    return _without_none(
        **{"@context": [*CREDENTIAL_CONTEXTS, *extension_contexts]},
        id=_required_text(credential_id, "credential id"),
        type=["VerifiableCredential", "OpenBadgeCredential"],
        name=name if name is not None else achievement.get("name"),
        issuer=issuer,
        validFrom=valid_from,
        validUntil=valid_until,
        awardedDate=awarded_date,
        credentialSubject=subject,
        evidence=list(evidence) if evidence else None,
        credentialSchema=[{"id": ACHIEVEMENT_CREDENTIAL_SCHEMA, "type": SCHEMA_VALIDATOR_TYPE}],
    )


def endorsement_credential(
    credential_id: str,
    endorser: dict,
    subject_id: str,
    comment: str,
    *,
    valid_from: str,
    valid_until: str | None = None,
    name: str | None = None,
) -> dict:
    """An unsigned EndorsementCredential in which `endorser` vouches for `subject_id`
    (an issuer, an achievement or a credential)."""
    endorser_id = _issuer_id(endorser)
    _validity(valid_from, valid_until)
    return _without_none(
        **{"@context": list(CREDENTIAL_CONTEXTS)},
        id=_required_text(credential_id, "credential id"),
        type=["VerifiableCredential", "EndorsementCredential"],
        name=name if name is not None else f"Endorsement by {endorser.get('name') or endorser_id}",
        issuer=endorser,
        validFrom=valid_from,
        validUntil=valid_until,
        credentialSubject={
            "id": _required_text(subject_id, "endorsement subject id"),
            "type": ["EndorsementSubject"],
            "endorsementComment": _required_text(comment, "endorsementComment"),
        },
        credentialSchema=[{"id": ENDORSEMENT_CREDENTIAL_SCHEMA, "type": SCHEMA_VALIDATOR_TYPE}],
    )


def summarise(document: object) -> Summary:
    """What a credential or endorsement says, for a person reading a verification report: never
    raises, whatever the document holds."""
    if not isinstance(document, dict):
        return Summary("document", None, None, None, None, None, None)
    types = document.get("type")
    types = types if isinstance(types, list) else [types]
    kind = ("endorsement" if "EndorsementCredential" in types else
            "credential" if {"OpenBadgeCredential", "AchievementCredential"} & set(types) else "document")
    issuer = document.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    issuer_name = issuer.get("name") if isinstance(issuer, dict) else None
    subject = document.get("credentialSubject")
    subject = subject if isinstance(subject, dict) else {}
    achievement = subject.get("achievement") if isinstance(subject.get("achievement"), dict) else {}
    name = achievement.get("name") or document.get("name")
    recipient = subject.get("id") if isinstance(subject.get("id"), str) else None
    if recipient is None:
        identifiers = subject.get("identifier")
        identifiers = identifiers if isinstance(identifiers, list) else [identifiers]
        for identity in identifiers:
            if isinstance(identity, dict):
                kind_of = str(identity.get("identityType") or "identifier")
                recipient = f"hashed {kind_of}" if identity.get("hashed") is True else \
                    f"{kind_of} {identity.get('identityHash')}"
                break
    results = []
    for result in subject.get("result") or []:
        if isinstance(result, dict) and isinstance(result.get("value"), str):
            results.append(result["value"])
    text = lambda v: v if isinstance(v, str) else None  # noqa: E731
    return Summary(
        kind, text(name), text(issuer_id), text(issuer_name), recipient,
        text(validity(document, "from")[0]), text(validity(document, "until")[0]), results,
        subject=text(subject.get("id")) if kind == "endorsement" else None,
        comment=text(subject.get("endorsementComment")) if kind == "endorsement" else None)
