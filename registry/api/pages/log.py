"""The event log as a person reads it: pages of events in log order after a position, filtered by
event type (the store selects by topic) and by organisation (events of the organisation and of its
achievements, credentials, endorsements and status-list entries).

The organisation filter decodes each event and asks the read side who owns the others; one
request reads at most SCAN_BUDGET events, and the next-page link continues where it stopped, so a
rare match far down a long log costs several clicks, never an unbounded request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.domain import CanMutateAggregate
from eventsourcing.utils import get_topic

from registry.api.pages import reads
from registry.application import Registry
from registry.domain import Achievement, Credential, DidClaim, Endorsement, Issuer
from registry.domain.recipient import Recipient
from registry.domain.status_list import StatusListSlot
from registry.domain.trust import TrustAnchors

PAGE_SIZE = 50
SCAN_BUDGET = 2000
BATCH = 250
AGGREGATES = (Issuer, DidClaim, Achievement, Credential, Endorsement, Recipient, StatusListSlot, TrustAnchors)
# Attributes shown in the details column, in this order. Documents are left out (they are the
# signed JSON, public at their own URLs); recipients are shown only as stored: a DID or a hash.
DETAILS = ("slug", "name", "did", "reason", "comment", "subject_kind", "verification_method",
           "retired_verification_method", "since", "achievement_version", "recipient",
           "list_number", "index")
MAX_DETAIL = 140


def event_types() -> dict[str, str]:
    """'Issuer.Registered' -> its topic, for every event class of the registry's aggregates."""
    found = {}
    for aggregate in AGGREGATES:
        for value in vars(aggregate).values():
            # `Event` and `Created` are the bases the library makes for each aggregate: never stored.
            if (isinstance(value, type) and issubclass(value, CanMutateAggregate)
                    and value.__name__ not in ("Event", "Created")):
                topic = get_topic(value)
                found[topic.split(":", 1)[1]] = topic
    return dict(sorted(found.items()))


EVENT_TYPES = event_types()


@dataclass(frozen=True)
class LogRow:
    position: int
    at: datetime
    type_name: str  # 'Credential.Revoked'
    concerning: str  # a label: an organisation's slug, an achievement's name, or an id
    concerning_path: str | None  # a page about it, if there is one
    actor: str
    details: list[tuple[str, str]]


@dataclass(frozen=True)
class LogPage:
    rows: list[LogRow]
    after: int
    next_after: int | None  # where the next page starts, None at the end of the log
    last_position: int  # the log's newest position when read


def read(registry: Registry, *, after: int, type_name: str | None, issuer: Issuer | None,
         prefix: str) -> LogPage:
    topics = [EVENT_TYPES[type_name]] if type_name else []
    last = registry.max_position()
    position, scanned, at_end = after, 0, False
    found: list[tuple[Any, Any]] = []
    while len(found) < PAGE_SIZE and scanned < SCAN_BUDGET:
        batch = registry.recorder.select_notifications(start=position + 1, limit=BATCH, topics=topics)
        if not batch:
            at_end = True
            break
        events = [(n, registry.mapper.to_domain_event(n)) for n in batch]
        kept = {n.id for n, _ in (events if issuer is None else _of_issuer(registry, events, issuer))}
        for notification, event in events:
            position = notification.id
            if notification.id in kept:
                found.append((notification, event))
                if len(found) == PAGE_SIZE:
                    break
        scanned += len(batch)
        if len(batch) < BATCH and len(found) < PAGE_SIZE:
            at_end = True
            break
    rows = _rows(registry, found, prefix)
    return LogPage(rows, after, None if at_end or position >= last else position, last)


def _of_issuer(registry: Registry, events: list, issuer: Issuer) -> list:
    """The events that concern `issuer`: its own, and those of aggregates it owns."""
    own = issuer.id
    direct, unknown = [], []
    for notification, event in events:
        if (event.originator_id == own or getattr(event, "issuer_id", None) == own
                or getattr(event, "endorser_id", None) == own
                or (isinstance(event, DidClaim.Claimed) and event.slug == issuer.slug)):
            direct.append((notification, event))
        else:
            unknown.append((notification, event))
    refs = {str(ref) for _, e in unknown for ref in (e.originator_id, getattr(e, "credential_id", None)) if ref}
    owned = {ref for ref, owner in reads.owners(registry, refs).items() if owner == str(own)}
    matched = [(n, e) for n, e in unknown
               if str(e.originator_id) in owned or str(getattr(e, "credential_id", "")) in owned]
    return direct + matched


def _rows(registry: Registry, found: list, prefix: str) -> list[LogRow]:
    """Each event with the organisation it concerns: named in the event, or the owner of its
    aggregate (a credential's issuer, an endorsement's endorser) from the read side."""
    named = {str(ref) for _, e in found for ref in (getattr(e, "issuer_id", None), getattr(e, "endorser_id", None)) if ref}
    named |= {str(e.originator_id) for _, e in found if isinstance(e, Issuer.Event)}
    owned = reads.owners(registry, {str(ref) for _, e in found
                                    for ref in (e.originator_id, getattr(e, "credential_id", None)) if ref})
    slugs = reads.slugs(registry, named | set(owned.values()))
    achievements = reads.names(registry, {str(e.originator_id) for _, e in found if isinstance(e, Achievement.Event)})
    rows = []
    for notification, event in found:
        type_name = notification.topic.split(":", 1)[1]
        rows.append(LogRow(notification.id, event.timestamp, type_name,
                           *_concerning(event, achievements, owned, slugs, prefix),
                           getattr(event, "actor", "") or "", _details(event)))
    return rows


def _concerning(event, achievements: dict, owned: dict, slugs: dict, prefix: str) -> tuple[str, str | None]:
    originator = str(event.originator_id)
    if isinstance(event, Achievement.Event) and originator in achievements:
        return achievements[originator][1], f"{prefix}/achievements/{originator}"
    if isinstance(event, Issuer.Event) and originator in slugs:
        return slugs[originator], f"{prefix}/issuers/{slugs[originator]}"
    if isinstance(event, DidClaim.Claimed):
        return event.slug, f"{prefix}/issuers/{event.slug}"
    owner = str(getattr(event, "issuer_id", None) or getattr(event, "endorser_id", None)
                or owned.get(originator) or owned.get(str(getattr(event, "credential_id", ""))) or "")
    if owner in slugs:  # a credential, an endorsement, a status-list entry: name its organisation
        return f"{slugs[owner]} \u00b7 {originator[:8]}", f"{prefix}/issuers/{slugs[owner]}"
    return originator, None


def _details(event) -> list[tuple[str, str]]:
    details = []
    for name in DETAILS:
        value = getattr(event, name, None)
        if value is None or value == "":
            continue
        text = value.isoformat() if isinstance(value, datetime) else str(value)
        if len(text) > MAX_DETAIL:
            text = text[:MAX_DETAIL - 1] + "\u2026"
        details.append((name, text))
    return details
