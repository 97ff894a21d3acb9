"""Chains of trust over the endorsements read model: the shortest chain of standing endorsements
between organisations (registry.trust.chains searches; Edges reads), as of any instant."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import msgspec

from registry.domain import DomainError
from registry.projections.directory import issuer_column
from registry.projections.endorsements import Edges
from registry.store import Database
from registry.trust.chains import shortest_chain

DEFAULT_MAX_DEPTH = 6
# Beyond this a "chain of trust" says little, and the frontiers cover most of a large graph.
MAX_DEPTH_LIMIT = 10


class Hop(msgspec.Struct, frozen=True):
    """One link of a chain: `endorser` stands behind `subject` through these endorsements."""

    endorser: str  # slugs
    subject: str
    endorser_id: str
    subject_id: str
    endorsements: list[str]


def check_depth(max_depth: int) -> None:
    if not 1 <= max_depth <= MAX_DEPTH_LIMIT:
        raise DomainError(f"the depth limit must be between 1 and {MAX_DEPTH_LIMIT}, not {max_depth}")


def chain(db: Database, sources: Sequence[str], target: str, max_depth: int,
          at: datetime | None = None) -> list[Hop] | None:
    """The shortest chain from any of `sources` to `target` ([] when the target is a source), or
    None when none is within `max_depth` hops."""
    check_depth(max_depth)
    links = shortest_chain(Edges(db, at), sources, target, max_depth)
    if links is None:
        return None
    names = issuer_column(db, "slug", [l.endorser_id for l in links] + [l.subject_id for l in links])
    return [Hop(names[l.endorser_id], names[l.subject_id], l.endorser_id, l.subject_id,
                list(l.endorsement_ids)) for l in links]
