"""Verifying a document with what the registry knows: OB 3.0's checks (registry.vc.verification)
plus the facts of the log as the read models hold them: the issuer's key history, the credential's
status, whether the presented bytes are the ones logged, who endorses its achievement and issuer,
and whether a chain of endorsements reaches the issuer from a trust anchor.

Nothing here signs, and nothing replays an aggregate: a status list the registry publishes is read
as the revoked entries it is made from, and a logged document is one stored event."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from registry.domain import Credential, Endorsement
from registry.domain.credential import ACTIVE
from registry.domain.identity import endorsement_id
from registry.domain.status_list import LIST_SIZE, REVOCATION
from registry.projections import credentials, directory, endorsements, issuer_keys, trust, trust_anchors
from registry.projections.directory import IssuerView
from registry.projections.projection import instant
from registry.settings import Config
from registry.store import Database, EventStore
from registry.vc import did, identity, multikey, status_list, verification
from registry.vc.errors import DocumentError
from registry.vc.report import Check, IssuerKnowledge, KeyInterval, VerificationReport


class Verifier:
    def __init__(self, store: EventStore, db: Database, config: Config,
                 clock: Callable[[], datetime]) -> None:
        self.store = store
        self.db = db
        self.config = config
        self.clock = clock

    def verify(self, document: object, status_lists: dict[str, dict] | None = None,
               recipient: str | None = None) -> VerificationReport:
        """The full report (the read models must be fresh). `status_lists` are
        BitstringStatusListCredentials the verifier holds, by URL; the registry's own lists are
        read from its records and need not be given. With `recipient` (an e-mail address or a DID)
        the report also says whether the credential was issued to it."""
        now = self.clock()
        if not isinstance(document, dict):
            return verification.verify(document, now=now, issuer=None)
        issuer = self._issuer_of(document)
        logged_at, registry_status = self._logged(document)
        list_status = None
        if registry_status is None:
            list_status = self._list_status(document, issuer, status_lists or {})
        report = verification.verify(
            document, now=now, issuer=None if issuer is None else self._knowledge(issuer),
            logged_at=logged_at, registry_status=registry_status, list_status=list_status,
        )
        if report.checks[0].outcome == "fail":  # not a document at all: nothing more to ask
            return report
        checks = report.checks + [self._endorsement_check(document, issuer), self._trust_check(issuer)]
        if recipient is not None:
            checks.append(_recipient_check(document, recipient))
        return VerificationReport(not any(c.outcome == "fail" for c in checks),
                                  report.credential_id, report.issuer_id, checks)

    # --- what the registry logged ----------------------------------------------------------------

    def _issuer_of(self, document: dict) -> IssuerView | None:
        ref = document.get("issuer")
        found = ref.get("id") if isinstance(ref, dict) else ref
        if not isinstance(found, str) or not found.startswith("did:"):
            return None
        return directory.issuer_by(self.db, "did", found)

    def _knowledge(self, issuer: IssuerView) -> IssuerKnowledge:
        """The issuer's key history as the verification report needs it."""
        return IssuerKnowledge(
            issuer_id=issuer.did,
            keys=[KeyInterval(verification_method=k.verification_method,
                              public_key_multibase=k.public_key_multibase,
                              added_at=instant(k.added_at), retired_at=instant(k.retired_at),
                              compromised_since=instant(k.compromised_since))
                  for k in issuer_keys.keys(self.db, issuer.id)],
            deactivated_at=instant(issuer.deactivated_at),
        )

    def _logged(self, document: dict) -> tuple[datetime | None, str | None]:
        """When the registry logged exactly this document, and its status here. A document that
        differs from the logged one (even if validly signed) gets neither."""
        doc_id = document.get("id")
        if not isinstance(doc_id, str):
            return None, None
        event: Any = self.store.created(endorsement_id(doc_id))  # endorsements partners signed
        if event is None and doc_id.startswith("urn:uuid:"):  # what the registry signed
            try:
                event = self.store.created(UUID(doc_id[len("urn:uuid:"):]))
            except ValueError:
                return None, None
        if not isinstance(event, (Credential.Issued, Endorsement.Endorsed)):
            return None, None
        if json.loads(event.document) != document:
            return None, None
        if isinstance(event, Credential.Issued):
            found = credentials.status(self.db, str(event.originator_id))
            return event.timestamp, None if found is None else found.status
        withdrawn = endorsements.withdrawn_at(self.db, str(event.originator_id))
        return event.timestamp, ACTIVE if withdrawn is None else "withdrawn"

    def _list_status(self, document: dict, issuer: IssuerView | None,
                     given: dict[str, dict]) -> tuple[bool, str] | None:
        """The credential's status entry: read from the registry's records when the list is one it
        publishes, else checked against a list credential the verifier gave."""
        entries = document.get("credentialStatus")
        if entries is None:
            return None
        entry = entries[0] if isinstance(entries, list) and len(entries) == 1 else entries
        url = entry.get("statusListCredential") if isinstance(entry, dict) else None
        if isinstance(url, str) and url not in given and self.config.status_list_of(url) is not None:
            return self._own_list_status(document, url, issuer)
        return self._given_list_status(document, issuer, given) if given else None

    def _own_list_status(self, document: dict, url: str, issuer: IssuerView | None) -> tuple[bool, str]:
        """A list this registry publishes is made from the credentials projection's revoked
        entries: asking the projection answers what the signed list would say."""
        try:
            purpose, index, _ = status_list.read_entry(document)
        except status_list.StatusListError as exc:
            return False, str(exc)
        slug, number = self.config.status_list_of(url)
        owner = credentials.status_list_issuer(self.db, url)
        if issuer is None or issuer.slug != slug or owner not in (None, issuer.id):
            return False, f"status list {url} does not belong to the credential's issuer"
        # List 1 of a hosted issuer always exists (it may be empty); a later one once an entry of
        # it was issued. A self-signing issuer has none here: the registry cannot sign its list.
        if owner is None and not (number == 1 and issuer.hosted):
            return False, f"status list {url} is not published by this registry"
        if purpose != REVOCATION:
            return False, f"{url} lists revocation, the entry's purpose is {purpose!r}"
        if index >= LIST_SIZE:
            return False, f"statusListIndex {index} is outside the {LIST_SIZE} entries of {url}"
        if credentials.entry_revoked(self.db, url, index):
            return False, f"revocation: entry {index} of {url} is set"
        return True, f"not revoked: entry {index} of {url} is clear"

    def _given_list_status(self, document: dict, issuer: IssuerView | None,
                           given: dict[str, dict]) -> tuple[bool, str]:
        """Against list credentials the verifier holds: their proofs count only with keys the
        issuer registered here, or, for an issuer unknown here, keys resolved offline from its DID."""
        if issuer is not None:
            registered = {k.verification_method: k.public_key_multibase
                          for k in issuer_keys.keys(self.db, issuer.id)}

            def resolve(vm: str) -> bytes | None:
                try:
                    return multikey.decode_public_key(registered[vm]) if vm in registered else None
                except DocumentError:
                    return None
        else:
            def resolve(vm: str) -> bytes | None:
                resolved = did.resolve_verification_method(vm)
                return None if resolved is None else resolved.public_key
        return status_list.check_entry(document, given, resolve)

    # --- what others say about it ----------------------------------------------------------------

    def _endorsement_check(self, document: dict, issuer: IssuerView | None) -> Check:
        """Who endorses the credential's achievement and its issuer (informational: never fails)."""
        subjects = []
        subject = document.get("credentialSubject")
        achievement = subject.get("achievement") if isinstance(subject, dict) else None
        if isinstance(achievement, dict) and isinstance(achievement.get("id"), str):
            uuid = self.config.id_in(achievement["id"])
            if uuid is not None and directory.achievement(self.db, str(uuid)) is not None:
                subjects.append(("achievement", str(uuid)))
        if issuer is not None:
            subjects.append(("issuer", issuer.id))
        found = []
        for kind, subject_id in subjects:
            found += [{"of": kind, **_endorsement_fields(view)}
                      for view in endorsements.endorsements(self.db, {"subject_id": subject_id})]
        standing = [e for e in found if e["standing"]]
        if not found:
            return Check("endorsements", "skip", "no endorsements of its achievement or issuer are recorded here")
        names = sorted({f"{e['endorser']} ({e['of']}, since {e['given_at'][:10]})" for e in standing})
        withdrawn = len(found) - len(standing)
        reason = f"endorsed by {', '.join(names) or 'nobody now'}"
        if withdrawn:
            reason += f"; {withdrawn} endorsement(s) withdrawn"
        return Check("endorsements", "pass" if standing else "warn", reason, found)

    def _trust_check(self, issuer: IssuerView | None) -> Check:
        """Whether a chain of active endorsements reaches the issuer from a trust anchor. Reported,
        not enforced: trust anchors are this registry's policy, not a property of the credential."""
        anchors = trust_anchors.anchors(self.db)
        if not anchors:
            return Check("trust-chain", "skip", "no trust anchors are configured")
        if issuer is None:
            return Check("trust-chain", "warn", "the issuer is not registered here, so no chain can reach it")
        hops = trust.chain(self.db, [a.issuer_id for a in anchors], issuer.id, trust.DEFAULT_MAX_DEPTH)
        if hops is None:
            return Check("trust-chain", "warn", f"no chain of active endorsements reaches {issuer.slug} "
                                                f"from an anchor ({', '.join(a.slug for a in anchors)})")
        if not hops:
            return Check("trust-chain", "pass", f"{issuer.slug} is a trust anchor")
        path = " -> ".join([hops[0].endorser] + [hop.subject for hop in hops])
        return Check("trust-chain", "pass", f"chain of active endorsements: {path}",
                     [msgspec.to_builtins(hop) for hop in hops])


def _recipient_check(document: dict, recipient: str) -> Check:
    """Whether the credential names this recipient: a DID as the subject's id, an e-mail address
    in one of its identifiers (the salted hash OB 3.0 uses, or the plain address)."""
    subject = document.get("credentialSubject")
    subject = subject if isinstance(subject, dict) else {}
    wanted = recipient.strip()
    if wanted.startswith("did:"):
        found = subject.get("id") == wanted
    else:
        identifiers = subject.get("identifier")
        identifiers = identifiers if isinstance(identifiers, list) else [identifiers]
        found = any(identity.matches_email(i, wanted) for i in identifiers)
    if found:
        return Check("recipient", "pass", f"issued to {wanted}")
    return Check("recipient", "fail", f"not issued to {wanted}: the credential names another recipient")


_ENDORSEMENT_FIELDS = ("id", "endorser_id", "endorser", "subject_kind", "subject_id", "subject_iri",
                       "subject_issuer_id", "comment", "custodial", "given_at", "withdrawn_at",
                       "withdrawn_reason", "standing")


def _endorsement_fields(view: endorsements.EndorsementView) -> dict:
    return {name: getattr(view, name) for name in _ENDORSEMENT_FIELDS}
