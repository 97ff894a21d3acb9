"""Open Badges 2.0 badges as OB 3.0 (the OB 3.0 Implementation Guide, "Migrating from OB 2.0"): what a
re-issue (registry.commands.imports) signs anew for the organisation that proved control of the old
issuer Profile. Pure: from the documents the badge's verification rested on (registry.vc.ob2)."""

from __future__ import annotations

from registry.vc.errors import DocumentError
from registry.vc.ob2 import is_http, types_of


def badge_class_of(assertion: dict, documents: dict) -> dict:
    """The BadgeClass an assertion names, from the documents its verification rested on (or
    embedded in it)."""
    ref = assertion.get("badge")
    url = ref if isinstance(ref, str) else ref.get("id") if isinstance(ref, dict) else None
    found = documents.get(url) if isinstance(url, str) else None
    if isinstance(found, dict):
        return found
    if isinstance(ref, dict):
        return ref
    raise DocumentError("the BadgeClass of the assertion is not among the documents it was verified with")


def achievement_definition(badge_class: dict) -> dict:
    """An OB 3.0 Achievement definition with the BadgeClass's name, description, criteria,
    alignments, tags and image, and the BadgeClass's id as an identifier (linking old and new)."""
    criteria = badge_class.get("criteria")
    if isinstance(criteria, dict):
        narrative = criteria.get("narrative") if isinstance(criteria.get("narrative"), str) else None
        url = criteria.get("id") if is_http(criteria.get("id")) else None
    else:
        narrative, url = None, criteria if is_http(criteria) else None
    mapped_criteria = {"narrative": narrative or (f"See {url}" if url else "As the issuer's Open Badges 2.0 BadgeClass says.")}
    if url:
        mapped_criteria["id"] = url
    definition: dict = {"name": badge_class.get("name"), "description": badge_class.get("description"),
                        "criteria": mapped_criteria, "achievementType": "Badge",
                        "otherIdentifier": [{"type": "IdentifierEntry", "identifier": badge_class.get("id"),
                                             "identifierType": "identifier"}]}
    image = badge_class.get("image")
    image_url = image if isinstance(image, str) else image.get("id") if isinstance(image, dict) else None
    if isinstance(image_url, str) and (image_url.startswith(("https://", "http://", "data:image/"))):
        definition["image"] = {"id": image_url, "type": "Image"}
        if isinstance(image, dict) and isinstance(image.get("caption"), str):
            definition["image"]["caption"] = image["caption"]
    alignments = badge_class.get("alignment")
    alignments = alignments if isinstance(alignments, list) else [] if alignments is None else [alignments]
    mapped = []
    for alignment in alignments:
        if isinstance(alignment, dict) and isinstance(alignment.get("targetName"), str) and is_http(alignment.get("targetUrl")):
            entry = {"type": ["Alignment"], "targetName": alignment["targetName"], "targetUrl": alignment["targetUrl"]}
            for name in ("targetDescription", "targetCode", "targetFramework"):
                if isinstance(alignment.get(name), str):
                    entry[name] = alignment[name]
            mapped.append(entry)
    if mapped:
        definition["alignment"] = mapped
    tags = [t for t in types_of(badge_class.get("tags")) if t.strip()]
    if tags:
        definition["tag"] = tags
    return definition


_IDENTITY_TYPES = {"email": "emailAddress", "url": "url", "telephone": "phone"}


def recipient_of(assertion: dict) -> tuple[str | None, dict | None]:
    """(a plain e-mail address, or an OB 3.0 IdentityObject carrying the hashed one as it is)."""
    recipient = assertion.get("recipient") if isinstance(assertion.get("recipient"), dict) else {}
    kind = _IDENTITY_TYPES.get(recipient.get("type"))
    identity = recipient.get("identity")
    if kind is None or not isinstance(identity, str):
        raise DocumentError(f"the recipient type {recipient.get('type')!r} has no OB 3.0 counterpart "
                            "(email, url or telephone)")
    if recipient.get("hashed") is not True:
        if kind == "emailAddress":
            return identity, None
        return None, {"type": "IdentityObject", "identityHash": identity, "identityType": kind, "hashed": False}
    carried = {"type": "IdentityObject", "identityHash": identity, "identityType": kind, "hashed": True}
    if isinstance(recipient.get("salt"), str):
        carried["salt"] = recipient["salt"]
    return None, carried


def evidence_of(assertion: dict) -> list[dict]:
    """OB 3.0 Evidence from the assertion's evidence and narrative, and one entry naming the
    original assertion (the link from the new credential to the badge it re-issues)."""
    given = assertion.get("evidence")
    items = given if isinstance(given, list) else [] if given is None else [given]
    mapped = []
    for item in items:
        if isinstance(item, str) and is_http(item):
            mapped.append({"id": item, "type": ["Evidence"]})
        elif isinstance(item, dict):
            entry = {"type": ["Evidence"]}
            if is_http(item.get("id")):
                entry["id"] = item["id"]
            for name in ("narrative", "name", "description", "genre", "audience"):
                if isinstance(item.get(name), str) and item[name].strip():
                    entry[name] = item[name]
            if len(entry) > 1:
                mapped.append(entry)
    if isinstance(assertion.get("narrative"), str) and assertion["narrative"].strip():
        mapped.append({"type": ["Evidence"], "narrative": assertion["narrative"]})
    original = {"type": ["Evidence"], "name": "The Open Badges 2.0 assertion this credential re-issues",
                "genre": "Open Badges 2.0 assertion"}
    if is_http(assertion.get("id")):
        original["id"] = assertion["id"]
    else:
        original["description"] = str(assertion.get("id"))
    mapped.append(original)
    return mapped
