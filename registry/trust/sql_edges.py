"""Edges from the `endorsements` read model (registry.projections): one indexed query per frontier.

An edge is endorser_id -> subject_issuer_id for an endorsement of an issuer or of an achievement
(its issuer), standing at the instant asked about: given_at <= T and not withdrawn by T. Ids and
times are the read store's text forms (ISO 8601 UTC with microseconds compare exactly as text)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from registry.projections.store import ReadStore, moment
from registry.trust.chains import MemoryEdges, Neighbours

# Credential endorsements vouch for one award, not for the organisation behind it.
KINDS = "subject_kind IN ('issuer', 'achievement')"
STANDING_NOW = "withdrawn_at IS NULL"
STANDING_AT = "given_at <= ? AND (withdrawn_at IS NULL OR withdrawn_at > ?)"
# SQLite's default limit on host parameters is 32,766; frontiers are chunked well below it.
CHUNK = 2000

class SqlEdges:
    """The endorsement edges standing at `at` (now when None), ids as text."""

    def __init__(self, store: ReadStore, at: datetime | None = None) -> None:
        self.store = store
        self.at = None if at is None else moment(at)

    def successors(self, ids: Collection[str]) -> Neighbours:
        return self._select("endorser_id", "subject_issuer_id", ids)

    def predecessors(self, ids: Collection[str]) -> Neighbours:
        return self._select("subject_issuer_id", "endorser_id", ids)

    def snapshot(self) -> MemoryEdges:
        """Every standing edge, in one read: the whole graph in memory."""
        sql, params = self._standing()
        return MemoryEdges(self.store.query(
            f"SELECT endorser_id, subject_issuer_id, id FROM endorsements"
            f" WHERE {KINDS} AND {sql}", params))

    def _standing(self) -> tuple[str, tuple]:
        return (STANDING_NOW, ()) if self.at is None else (STANDING_AT, (self.at, self.at))

    def _select(self, key: str, other: str, ids: Collection[str]) -> Neighbours:
        standing, params = self._standing()
        found: dict[str, list[tuple[str, str]]] = {}
        ids = list(ids)
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            if self.store.kind == "postgres":
                match, keys = f"{key} = ANY(?)", (chunk,)
            else:
                match, keys = f"{key} IN ({','.join('?' * len(chunk))})", tuple(chunk)
            rows = self.store.query(
                f"SELECT {key}, {other}, id FROM endorsements"
                f" WHERE {match} AND {KINDS} AND {standing}", keys + params)
            for node, neighbour, endorsement in rows:
                if node != neighbour:  # endorsing one's own achievement vouches for nothing
                    found.setdefault(node, []).append((neighbour, endorsement))
        return found


def slugs(store: ReadStore, ids: Collection[str]) -> dict[str, str]:
    """The directory's slug of each organisation id."""
    keys = sorted(set(ids))
    if not keys:
        return {}
    return dict(store.query(f"SELECT id, slug FROM issuers WHERE id IN ({','.join('?' * len(keys))})",
                            keys))
