"""The `trust_anchors` projection: each time an organisation was one of the registry's trust
anchors, from when until when (and why it stopped), so the anchors at any instant are one read."""

from __future__ import annotations

from datetime import datetime

import msgspec

from registry.domain.trust import TrustAnchors
from registry.projections.projection import Projection, moment, text
from registry.store import Database

DDL = (
    "CREATE TABLE IF NOT EXISTS trust_anchors ("
    " issuer_id TEXT NOT NULL, slug TEXT NOT NULL, added_at TEXT NOT NULL, removed_at TEXT NULL,"
    " removed_reason TEXT NULL, position BIGINT NOT NULL, PRIMARY KEY (issuer_id, position))",
)
INSERT = "INSERT INTO trust_anchors (issuer_id, slug, added_at, position) VALUES (?, ?, ?, ?)"
REMOVE = ("UPDATE trust_anchors SET removed_at = ?, removed_reason = ?"
          " WHERE issuer_id = ? AND removed_at IS NULL")


# An organisation can be added, removed and added again in one batch: one phase, in log order.
def added(writes, position, event: TrustAnchors.AnchorAdded, log) -> None:
    writes.add(INSERT, (text(event.issuer_id), event.slug, moment(event.timestamp), position))


def removed(writes, position, event: TrustAnchors.AnchorRemoved, log) -> None:
    writes.add(REMOVE, (moment(event.timestamp), event.reason, text(event.issuer_id)))


TRUST_ANCHORS = Projection(
    name="trust_anchors",
    version=1,
    tables=("trust_anchors",),
    ddl=DDL,
    handlers={TrustAnchors.AnchorAdded: added, TrustAnchors.AnchorRemoved: removed},
)


class AnchorView(msgspec.Struct, frozen=True):
    """One time an organisation was a trust anchor: from `added_at` until `removed_at` (None: still)."""

    issuer_id: str
    slug: str
    added_at: str
    removed_at: str | None
    removed_reason: str | None


def anchors(db: Database, at: datetime | None = None) -> list[AnchorView]:
    """The anchors standing at `at` (now when None), by slug."""
    if at is None:
        rows = db.query("SELECT issuer_id, slug, added_at, removed_at, removed_reason FROM trust_anchors"
                        " WHERE removed_at IS NULL ORDER BY slug")
    else:
        asked = moment(at)
        rows = db.query("SELECT issuer_id, slug, added_at, removed_at, removed_reason FROM trust_anchors"
                        " WHERE added_at <= ? AND (removed_at IS NULL OR removed_at > ?) ORDER BY slug",
                        (asked, asked))
    return [AnchorView(*row) for row in rows]
