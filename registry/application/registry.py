"""The registry application: the event store plus the use cases, wired to a keystore and config.

Each use case loads aggregates, asks the keystore to sign when a document must be signed, saves all
new events in one transaction and returns what it created with the notification position."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from registry.application.config import Config
from registry.application.results import ConflictError
from registry.domain import DidClaim, Issuer, NotFound
from registry.domain.identity import did_claim_id, issuer_id
from registry.keystore import Keystore
from registry.vc import openbadges

T = TypeVar("T")
A = TypeVar("A")

# A conflicting write (another process saved the same aggregate first) is retried from a fresh
# load: the loser then sees the winner's state, and the domain rule answers (e.g. "already revoked").
MAX_ATTEMPTS = 5
PAGE = 500
# No credential or endorsement comes near this; a larger body is refused before it is parsed.
MAX_DOCUMENT_BYTES = 256 * 1024


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def xsd_datetime(moment: datetime) -> str:
    """Seconds precision with Z: the form OB examples and the W3C vectors use."""
    return moment.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def document_text(document: dict) -> str:
    """The exact JSON text the registry stores and hands out for a signed document."""
    return json.dumps(document, ensure_ascii=False, indent=2)


class RegistryCore(Application):
    """The event-sourced application (its name gives the PostgreSQL table: registry_events)."""

    name = "Registry"

    def __init__(self, *, config: Config, keystore: Keystore, env: dict[str, str],
                 clock: Callable[[], datetime] = utc_now) -> None:
        super().__init__(env=env)
        self.config = config
        self.keystore = keystore
        self.clock = clock
        self.store_description = "in memory"  # set by the composition root

    # --- persistence helpers ---------------------------------------------------------------------

    def commit(self, *aggregates) -> int:
        """Save in one transaction; the notification position of the last event written."""
        recordings = self.save(*aggregates)
        return max((r.notification.id for r in recordings), default=self.max_position())

    def max_position(self) -> int:
        return self.recorder.max_notification_id() or 0

    def attempt(self, use_case: Callable[[], T]) -> T:
        for _ in range(MAX_ATTEMPTS):
            try:
                return use_case()
            except IntegrityError:
                continue
        raise ConflictError(f"the write conflicted {MAX_ATTEMPTS} times with concurrent writes; nothing was stored")

    def load(self, aggregate_id: UUID, kind: type[A], what: str) -> A:
        try:
            aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(f"no {what} {aggregate_id}") from None
        if not isinstance(aggregate, kind):
            raise NotFound(f"no {what} {aggregate_id}")
        return aggregate

    def events_of(self, *event_classes: type) -> Iterator:
        """Every stored event of these classes, in log order (a scan of the notification log;
        the read side's projections answer such questions without one)."""
        topics = [get_topic(cls) for cls in event_classes]
        start = 1
        while True:
            page = self.recorder.select_notifications(start=start, limit=PAGE, topics=topics)
            for notification in page:
                yield self.mapper.to_domain_event(notification)
            if len(page) < PAGE:
                return
            start = page[-1].id + 1

    def find(self, aggregate_id: UUID):
        """The aggregate, or None: one read (`in repository` would read it too)."""
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def exists(self, aggregate_id: UUID) -> bool:
        return aggregate_id in self.repository

    # --- lookups shared by use cases -----------------------------------------------------------

    def issuer(self, slug: str) -> Issuer:
        try:
            return self.repository.get(issuer_id(slug))
        except AggregateNotFoundError:
            raise NotFound(f"no issuer with slug {slug!r}") from None

    def issuer_by_uuid(self, issuer_uuid: UUID) -> Issuer:
        return self.load(issuer_uuid, Issuer, "issuer")

    def issuer_by_did(self, did: str) -> Issuer | None:
        try:
            claim: DidClaim = self.repository.get(did_claim_id(did))
        except AggregateNotFoundError:
            return None
        return self.issuer(claim.slug)

    @staticmethod
    def issuer_profile(issuer: Issuer) -> dict:
        """The OB Profile embedded as `issuer` / `creator` in the documents the registry makes."""
        return openbadges.profile(issuer.did, issuer.name, url=issuer.url, email=issuer.email,
                                  description=issuer.description)

    def parse_uuid(self, text: str, what: str) -> UUID:
        value = text.strip()
        if value.startswith("urn:uuid:"):
            value = value[len("urn:uuid:"):]
        elif value.startswith(self.config.public_url + "/"):
            value = value.rstrip("/").rsplit("/", 1)[-1]
        try:
            return UUID(value)
        except ValueError:
            raise NotFound(f"{text!r} is not a {what} id (a UUID)") from None
