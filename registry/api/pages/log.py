"""The event log as a person reads it: pages of events in log order after a position, filtered by
event type and by organisation (registry.projections.Queries.event_log reads them), each shown with
the organisation it concerns and the facts worth showing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from eventsourcing.domain import CanMutateAggregate
from eventsourcing.utils import get_topic

from registry.domain import Achievement, Credential, DidClaim, Endorsement, ExtensionContext, Issuer, StandingEndorsement
from registry.domain.recipient import Recipient
from registry.domain.status_list import StatusListSlot
from registry.domain.trust import TrustAnchors
from registry.projections import Queries

AGGREGATES = (Issuer, DidClaim, Achievement, Credential, Endorsement, StandingEndorsement, Recipient, StatusListSlot,
              TrustAnchors, ExtensionContext)
# Attributes shown in the details column, in this order. Documents are left out (they are the
# signed JSON, public at their own URLs); recipients are shown only as stored: a DID or a hash.
DETAILS = ("slug", "name", "did", "reason", "comment", "subject_kind", "verification_method",
           "retired_verification_method", "since", "achievement_version", "recipient",
           "list_number", "index", "sha256")
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
    leaf: int | None  # its index in the transparency log, linked to its inclusion proof


@dataclass(frozen=True)
class LogPage:
    rows: list[LogRow]
    after: int
    next_after: int | None  # where the next page starts, None at the end of the log
    last_position: int  # the log's newest position when read


def read(queries: Queries, *, after: int, type_name: str | None, issuer: str | None, prefix: str) -> LogPage:
    found = queries.event_log(after=after, topics=[EVENT_TYPES[type_name]] if type_name else [], issuer=issuer)
    leaves = queries.log.reader.leaves_of([entry.position for entry in found.entries])
    rows = [LogRow(entry.position, entry.event.timestamp, entry.topic.split(":", 1)[1],
                   *_concerning(entry, prefix), getattr(entry.event, "actor", "") or "",
                   _details(entry.event), leaves.get(entry.position))
            for entry in found.entries]
    return LogPage(rows, found.after, found.next_after, found.last_position)


def _concerning(entry, prefix: str) -> tuple[str, str | None]:
    event, originator = entry.event, str(entry.event.originator_id)
    if isinstance(event, Achievement.Event) and entry.achievement:
        return entry.achievement, f"{prefix}/achievements/{originator}"
    if isinstance(event, (Issuer.Event, DidClaim.Claimed)) and entry.owner:
        return entry.owner, f"{prefix}/issuers/{entry.owner}"
    if isinstance(event, Credential.Event) and entry.owner:  # the credential's own page
        return f"{entry.owner} \u00b7 {originator[:8]}", f"/credentials/{originator}"
    if entry.owner:  # a credential, an endorsement, a status-list entry: name its organisation
        return f"{entry.owner} \u00b7 {originator[:8]}", f"{prefix}/issuers/{entry.owner}"
    if isinstance(event, ExtensionContext.Registered):  # the pinned bytes, as the registry serves them
        return event.url, f"/contexts/{event.sha256}"
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
