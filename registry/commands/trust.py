"""Commands about the registry's trust anchors: the organisations it trusts without being told to
by anyone else (the operator's decision). Chains of endorsements are answered by the read side."""

from __future__ import annotations

from registry.commands.policy import Actor, authorise
from registry.commands.records import Records
from registry.commands.results import Written
from registry.domain import NotFound
from registry.domain.trust import TrustAnchors, trust_anchors_id


class TrustCommands:
    def __init__(self, records: Records) -> None:
        self.records = records
        self.store = records.store

    def add_anchor(self, issuer: str, *, actor: Actor) -> Written:
        authorise(actor, None, "add trust anchors")

        def use_case() -> Written:
            found = self.records.issuer(issuer)
            anchors = self.store.find(trust_anchors_id())
            if not isinstance(anchors, TrustAnchors):
                anchors = TrustAnchors.start(actor=actor.name)
            anchors.add(found, actor=actor.name)
            return Written(id=str(found.id), position=self.store.commit(anchors))

        return self.store.attempt(use_case)

    def remove_anchor(self, issuer: str, *, reason: str, actor: Actor) -> Written:
        authorise(actor, None, "remove trust anchors")

        def use_case() -> Written:
            found = self.records.issuer(issuer)
            anchors = self.store.find(trust_anchors_id())
            if not isinstance(anchors, TrustAnchors):
                raise NotFound(f"{found.slug} is not a trust anchor")
            anchors.remove(found, reason=reason, actor=actor.name)
            return Written(id=str(found.id), position=self.store.commit(anchors))

        return self.store.attempt(use_case)
