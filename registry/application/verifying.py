"""Verifying documents: OB 3.0's checks plus what only the registry knows (key history as logged,
the credential's status, whether the presented bytes are the ones it logged)."""

from __future__ import annotations

import json
from uuid import UUID

from registry.application.registry import RegistryCore
from registry.domain import Credential, Endorsement, Issuer
from registry.domain.credential import ACTIVE
from registry.domain.identity import endorsement_id
from registry.vc import verification
from registry.vc.report import IssuerKnowledge, KeyInterval, VerificationReport


class VerificationUseCases(RegistryCore):
    def verify_document(self, document: object) -> VerificationReport:
        now = self.clock()
        if not isinstance(document, dict):
            return verification.verify(document, now=now, issuer=None)
        issuer = self._issuer_of(document)
        logged_at, status = self._logged(document)
        return verification.verify(
            document, now=now, issuer=None if issuer is None else knowledge(issuer),
            logged_at=logged_at, registry_status=status,
        )

    def _issuer_of(self, document: dict) -> Issuer | None:
        ref = document.get("issuer")
        did = ref.get("id") if isinstance(ref, dict) else ref
        return self.issuer_by_did(did) if isinstance(did, str) and did.startswith("did:") else None

    def _logged(self, document: dict) -> tuple[object, str | None]:
        """When the registry logged exactly this document, and its status here. A document that
        differs from the logged one (even if validly signed) gets neither."""
        doc_id = document.get("id")
        if not isinstance(doc_id, str):
            return None, None
        aggregate = self.find(endorsement_id(doc_id))  # endorsements partners signed themselves
        if aggregate is None and doc_id.startswith("urn:uuid:"):  # what the registry signed
            try:
                aggregate = self.find(UUID(doc_id[len("urn:uuid:"):]))
            except ValueError:
                return None, None
        if not isinstance(aggregate, (Credential, Endorsement)):
            return None, None
        if json.loads(aggregate.document) != document:
            return None, None
        if isinstance(aggregate, Credential):
            return aggregate.created_on, aggregate.status
        return aggregate.created_on, (ACTIVE if aggregate.withdrawn_at is None else "withdrawn")


def knowledge(issuer: Issuer) -> IssuerKnowledge:
    """The issuer's key history as the verification report needs it."""
    return IssuerKnowledge(
        issuer_id=issuer.did,
        keys=[
            KeyInterval(
                verification_method=key.verification_method,
                public_key_multibase=key.public_key_multibase,
                added_at=key.added_at,
                retired_at=key.retired_at,
                compromised_since=key.compromised_since,
            )
            for key in issuer.keys
        ],
        deactivated_at=issuer.deactivated_at,
    )
