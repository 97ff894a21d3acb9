"""Verifying documents: OB 3.0's checks plus what only the registry knows (key history as logged,
the credential's status, whether the presented bytes are the ones it logged, who endorses its
achievement and issuer, and whether a chain of endorsements reaches the issuer from a trust anchor)."""

from __future__ import annotations

import json
from uuid import UUID

import msgspec

from registry.application.registry import RegistryCore
from registry.domain import Credential, DomainError, Endorsement, Issuer
from registry.domain.credential import ACTIVE
from registry.domain.identity import endorsement_id
from registry.vc import verification
from registry.vc.errors import DocumentError
from registry.vc.report import Check, IssuerKnowledge, KeyInterval, VerificationReport


class VerificationUseCases(RegistryCore):
    def verify_document(self, document: object,
                        status_lists: dict[str, dict] | None = None) -> VerificationReport:
        """The full report. `status_lists` are BitstringStatusListCredentials the verifier holds, by
        URL; lists of issuers the registry hosts are its own and need not be given."""
        now = self.clock()
        if not isinstance(document, dict):
            return verification.verify(document, now=now, issuer=None)
        issuer = self._issuer_of(document)
        logged_at, status = self._logged(document)
        list_status = None if status is not None else self._list_status(document, status_lists or {})
        report = verification.verify(
            document, now=now, issuer=None if issuer is None else knowledge(issuer),
            logged_at=logged_at, registry_status=status, list_status=list_status,
        )
        if report.checks[0].outcome == "fail":  # not a document at all: nothing more to ask
            return report
        extra = [self._endorsement_check(document, issuer), self._trust_check(issuer)]
        checks = report.checks + extra
        return VerificationReport(not any(c.outcome == "fail" for c in checks),
                                  report.credential_id, report.issuer_id, checks)

    # --- what the registry logged ----------------------------------------------------------------

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

    def _list_status(self, document: dict, given: dict[str, dict]) -> tuple[bool, str] | None:
        """The credential's status entry read from a status list: one the verifier gave, or one the
        registry holds for an issuer it hosts."""
        entries = document.get("credentialStatus")
        if entries is None:
            return None
        lists = dict(given)
        for entry in entries if isinstance(entries, list) else [entries]:
            url = entry.get("statusListCredential") if isinstance(entry, dict) else None
            if isinstance(url, str) and url not in lists:
                held = self._held_list(url)
                if held is not None:
                    lists[url] = held
        return self.check_status(document, lists) if lists else None

    def _held_list(self, url: str) -> dict | None:
        prefix = f"{self.config.public_url}/status-lists/"
        if not url.startswith(prefix):
            return None
        slug, _, number = url[len(prefix):].partition("/")
        try:
            return self.status_list_credential(slug, int(number))
        except (DomainError, DocumentError, ValueError):
            return None

    # --- what others say about it ----------------------------------------------------------------

    def _endorsement_check(self, document: dict, issuer: Issuer | None) -> Check:
        """Who endorses the credential's achievement and its issuer (informational: never fails)."""
        subjects = []
        achievement = (document.get("credentialSubject") or {}).get("achievement") if isinstance(
            document.get("credentialSubject"), dict) else None
        if isinstance(achievement, dict) and isinstance(achievement.get("id"), str):
            subjects.append(("achievement", achievement["id"]))
        if issuer is not None:
            subjects.append(("issuer", issuer.did))
        found = []
        for kind, ref in subjects:
            try:
                views = self.endorsements(of=ref)
            except (DomainError, ValueError):
                continue  # not a subject the registry knows
            found += [{"of": kind, **msgspec.to_builtins(view)} for view in views]
        standing = [e for e in found if e["standing"]]
        if not found:
            return Check("endorsements", "skip", "no endorsements of its achievement or issuer are recorded here")
        names = sorted({f"{e['endorser']} ({e['of']}, since {e['given_at'][:10]})" for e in standing})
        withdrawn = len(found) - len(standing)
        reason = f"endorsed by {', '.join(names) or 'nobody now'}"
        if withdrawn:
            reason += f"; {withdrawn} endorsement(s) withdrawn"
        return Check("endorsements", "pass" if standing else "warn", reason, found)

    def _trust_check(self, issuer: Issuer | None) -> Check:
        """Whether a chain of active endorsements reaches the issuer from a trust anchor. Reported,
        not enforced: trust anchors are this registry's policy, not a property of the credential."""
        anchors = self.trust_anchors()
        if not anchors:
            return Check("trust-chain", "skip", "no trust anchors are configured")
        if issuer is None:
            return Check("trust-chain", "warn", "the issuer is not registered here, so no chain can reach it")
        chain = self.chain_from_anchors(issuer.slug)
        if chain is None:
            return Check("trust-chain", "warn", f"no chain of active endorsements reaches {issuer.slug} "
                                                f"from an anchor ({', '.join(a.slug for a in anchors)})")
        if not chain:
            return Check("trust-chain", "pass", f"{issuer.slug} is a trust anchor")
        path = " -> ".join([chain[0].endorser] + [hop.subject for hop in chain])
        return Check("trust-chain", "pass", f"chain of active endorsements: {path}",
                     [msgspec.to_builtins(hop) for hop in chain])


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
