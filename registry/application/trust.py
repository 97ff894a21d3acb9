"""Use cases for trust: the registry's trust anchors (event-sourced facts), and chains of standing
endorsements between organisations (answered from the read side, as of any instant)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from registry.application.registry import RegistryCore
from registry.application.results import Written
from registry.domain import DomainError, Issuer, NotFound
from registry.domain.trust import AnchorInterval, TrustAnchors, trust_anchors_id
from registry.projections import queries
from registry.projections.read_model import read_model
from registry.trust import Link, SqlEdges, shortest_chain, slugs

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


class TrustUseCases(RegistryCore):
    # --- anchors -------------------------------------------------------------------------------

    def add_trust_anchor(self, issuer: str, *, actor: str) -> Written:
        def use_case() -> Written:
            found = self.find_issuer(issuer)
            anchors = self.find(trust_anchors_id())
            if not isinstance(anchors, TrustAnchors):
                anchors = TrustAnchors.start(actor=actor)
            anchors.add(found, actor=actor)
            return Written(id=str(found.id), position=self.commit(anchors))

        return self.attempt(use_case)

    def remove_trust_anchor(self, issuer: str, *, reason: str, actor: str) -> Written:
        def use_case() -> Written:
            found = self.find_issuer(issuer)
            anchors = self.find(trust_anchors_id())
            if not isinstance(anchors, TrustAnchors):
                raise NotFound(f"{found.slug} is not a trust anchor")
            anchors.remove(found, reason=reason, actor=actor)
            return Written(id=str(found.id), position=self.commit(anchors))

        return self.attempt(use_case)

    def trust_anchors(self, at: datetime | None = None) -> list[AnchorInterval]:
        """The anchors standing at `at` (now when None), by slug."""
        anchors = self.find(trust_anchors_id())
        return anchors.at(at) if isinstance(anchors, TrustAnchors) else []

    # --- chains --------------------------------------------------------------------------------

    def trust_path(self, from_issuer: str, to_issuer: str, *, max_depth: int = DEFAULT_MAX_DEPTH,
                   at: datetime | None = None) -> list[Hop] | None:
        """The shortest chain of endorsements standing at `at` from one organisation to another
        ([] from an organisation to itself), or None when there is none within `max_depth` hops."""
        check_depth(max_depth)
        read = read_model(self)
        read.fresh()  # read-your-writes: every endorsement logged before this call counts
        source = self._directory_id(read.store, from_issuer)
        target = self._directory_id(read.store, to_issuer)
        return self._hops(read.store, shortest_chain(SqlEdges(read.store, at), [source], target, max_depth))

    def chain_from_anchors(self, issuer: str | UUID, at: datetime | None = None, *,
                           max_depth: int = DEFAULT_MAX_DEPTH) -> list[Hop] | None:
        """For the verification report: the shortest chain from any anchor standing at `at` to the
        issuer ([] when it is an anchor itself); None when no chain reaches it or there are no
        anchors (ask `trust_anchors(at)` to tell the two apart)."""
        check_depth(max_depth)
        anchors = [str(a.issuer_id) for a in self.trust_anchors(at)]
        read = read_model(self)
        read.fresh()
        target = self._directory_id(read.store, str(issuer))
        return self._hops(read.store, shortest_chain(SqlEdges(read.store, at), anchors, target, max_depth))

    # --- helpers -------------------------------------------------------------------------------

    def find_issuer(self, ref: str) -> Issuer:
        """An issuer aggregate by slug, id (UUID or urn:uuid:) or DID (for commands)."""
        ref = ref.strip()
        if ref.startswith("did:"):
            found = self.issuer_by_did(ref)
            if found is None:
                raise NotFound(f"no issuer with DID {ref}")
            return found
        try:
            uuid = UUID(ref.removeprefix("urn:uuid:"))
        except ValueError:
            return self.issuer(ref)
        found = self.find(uuid)
        return found if isinstance(found, Issuer) else self.issuer(ref)

    @staticmethod
    def _directory_id(store, ref: str) -> str:
        """An organisation's id from the directory, by slug, id (UUID or urn:uuid:) or DID (for queries)."""
        ref = ref.strip()
        if ref.startswith("did:"):
            found = queries.issuer_by(store, "did", ref)
            if found is None:
                raise NotFound(f"no issuer with DID {ref}")
            return found[0]
        found = queries.issuer_by(store, "slug", ref)
        if found is None:
            try:
                found = queries.issuer_by(store, "id", str(UUID(ref.removeprefix("urn:uuid:"))))
            except ValueError:
                pass
        if found is None:
            raise NotFound(f"no issuer with slug {ref!r}")
        return found[0]

    @staticmethod
    def _hops(store, links: list[Link] | None) -> list[Hop] | None:
        if links is None:
            return None
        names = slugs(store, [l.endorser_id for l in links] + [l.subject_id for l in links])
        return [Hop(names[l.endorser_id], names[l.subject_id], l.endorser_id, l.subject_id,
                    list(l.endorsement_ids)) for l in links]


def check_depth(max_depth: int) -> None:
    if not 1 <= max_depth <= MAX_DEPTH_LIMIT:
        raise DomainError(f"the depth limit must be between 1 and {MAX_DEPTH_LIMIT}, not {max_depth}")
