"""Verifying a document with what the registry knows and what the issuer publishes: OB 3.0's checks
(registry.vc.verification) plus the facts of the log as the read models hold them (the issuer's key
history, the credential's status, whether the presented bytes are the ones logged, who endorses its
achievement and issuer, whether a chain of endorsements reaches the issuer from a trust anchor),
and, for an issuer this registry does not know, its did:web DID document and its status or
revocation list, fetched through registry.network.

Nothing here signs, and nothing replays an aggregate: a status list the registry publishes is read
as the revoked entries it is made from, and a logged document is one stored event. What could not
be had makes its check indeterminate, never a pass."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import msgspec

from registry.domain import Credential, Endorsement
from registry.domain.credential import ACTIVE
from registry.domain.identity import endorsement_id, submitted_credential_id
from registry.domain.status_list import LIST_SIZE, REVOCATION
from registry.log import tree
from registry.projections import credentials, directory, endorsements, issuer_keys, trust, trust_anchors
from registry.projections.directory import IssuerView
from registry.projections.projection import instant
from registry.settings import Config
from registry.store import Database, EventStore
from registry.network import Fetcher, FetchError, FetchGone
from registry.vc import did, identity, multikey, ob2, proofs, status_list, vc_jwt, verification
from registry.vc.errors import DocumentError
from registry.vc.openbadges import parse_datetimez, validity
from registry.vc.report import Check, IssuerKnowledge, KeyInterval, VerificationReport


class Verifier:
    def __init__(self, store: EventStore, db: Database, config: Config,
                 clock: Callable[[], datetime], fetcher: Fetcher,
                 passed_over: Callable[[str], str | None] = lambda aggregate_id: None,
                 log: Any = None) -> None:
        self.store = store
        self.log = log  # registry.log.service.TransparencyLog
        self.passed_over = passed_over  # why answers about an aggregate are withheld, or None
        self.db = db
        self.config = config
        self.clock = clock
        self.fetcher = fetcher

    def verify(self, document: object, documents: Mapping[str, bytes | dict] | None = None,
               recipient: str | None = None, *, offline: bool = False) -> VerificationReport:
        """The full report (the read models must be fresh). `documents` are documents the verifier
        holds, by the URL they would be fetched from (DID documents, status lists, revocation
        lists): used instead of fetching. `offline`: fetch nothing. With `recipient` (an e-mail
        address or a DID) the report also says whether the credential was issued to it."""
        if ob2.is_ob2_text(document):
            return self.verify_ob2(document, documents, recipient, offline=offline).report
        now = self.clock()
        jws = None
        if vc_jwt.is_compact(document):  # a VC-JWT: its credential is checked like any other
            try:
                jws = vc_jwt.parse(document)
            except DocumentError as exc:
                return VerificationReport.of(None, None, [Check("document", "fail", f"VC-JWT: {exc}")])
            document = jws.credential
        if not isinstance(document, dict):
            return verification.verify(document, now=now, issuer=None)
        fetcher = self.fetcher.configured(offline=offline, documents=documents)
        issuer = self._issuer_of(document)
        knowledge = None if issuer is None else self._knowledge(issuer)
        resolve = _Resolver(fetcher)
        event, status = self._logged(document) if jws is None else (None, None)
        logged_at = None if event is None else event.timestamp
        if event is None:
            status = self._status(document, issuer, knowledge, fetcher, resolve, now)
            log_check, checkpointed_at = Check("log", "skip", "not logged by this registry", code="log.not-logged"), None
        else:
            log_check, checkpointed_at = self._log_check(event.originator_id)
            if status is not None and status.outcome == "pass" and self._names_a_foreign_list(document):
                # Logged here, and its issuer (signing for itself) keeps its own list too: the
                # registry's record and that list must both say it stands.
                own = self._status(document, issuer, knowledge, fetcher, resolve, now)
                if own is not None and own.outcome not in ("pass", "warn"):
                    status = own
        report = verification.verify(document, now=now, issuer=knowledge, resolve=resolve,
                                     logged_at=logged_at, checkpointed_at=checkpointed_at, status=status, jws=jws,
                                     resolve_jwk=resolve.public_key, assertion_keys=resolve.assertion_keys)
        if report.checks[0].outcome == "fail":  # not a document at all: nothing more to ask
            return report
        checks = report.checks + [log_check, self._endorsement_check(document, issuer), self._trust_check(issuer)]
        if recipient is not None:
            checks.append(_recipient_check(document, recipient))
        return VerificationReport.of(report.credential_id, report.issuer_id, checks, report.summary)

    def verify_ob2(self, given: object, documents: Mapping[str, bytes | dict] | None = None,
                   recipient: str | None = None, *, offline: bool = False) -> ob2.Ob2Badge:
        """An Open Badges 2.0 assertion (its JSON, a signed JWS, or a hosted assertion's URL),
        verified by the OB 2.0 rules with the documents it names fetched through the one network
        client (or taken from `documents`), and every document it rests on."""
        fetcher = self.fetcher.configured(offline=offline, documents=documents)

        def fetch(url: str, what: str) -> object:
            try:
                return fetcher.json(url, what).document
            except FetchGone as gone:
                raise ob2.Gone(str(gone), gone.document) from None
            except FetchError as exc:
                raise ob2.Unavailable(str(exc)) from None

        if not isinstance(given, (str, dict)):
            return ob2.Ob2Badge("hosted", VerificationReport.of(None, None, [
                Check("document", "fail", f"an assertion is a JSON object, got {type(given).__name__}")]))
        try:
            return ob2.verify(given, fetch=fetch, now=self.clock(), recipient=recipient)
        except DocumentError as exc:
            return ob2.Ob2Badge("hosted", VerificationReport.of(None, None, [Check("document", "fail", str(exc))]))

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

    def _logged(self, document: dict) -> tuple[Any, Check | None]:
        """The event that logged exactly this document, and its status here. A document that
        differs from the logged one (even if validly signed) gets neither."""
        doc_id = document.get("id")
        if not isinstance(doc_id, str):
            return None, None
        # Endorsements partners signed are logged under an id derived from theirs, what the registry
        # signed under its urn:uuid: ask first where the document's type says it will be.
        lookups = [lambda: endorsement_id(doc_id), lambda: submitted_credential_id(doc_id)]
        if doc_id.startswith("urn:uuid:"):
            lookups.append(lambda: UUID(doc_id[len("urn:uuid:"):]))
        types = document.get("type")
        if not (isinstance(types, list) and "EndorsementCredential" in types):
            lookups.reverse()
        event: Any = None
        for aggregate_id in lookups:
            try:
                event = self.store.created(aggregate_id())
            except ValueError:  # not a UUID after urn:uuid:
                continue
            if event is not None:
                break
        if not isinstance(event, (Credential.Issued, Endorsement.Endorsed)):
            return None, None
        if json.loads(event.document) != document:
            return None, None
        withheld = self.passed_over(str(event.originator_id))
        if withheld is not None:
            return event, Check("status", "indeterminate", f"status unknown: {withheld}",
                                          code="status.unknown")
        if isinstance(event, Credential.Issued):
            found = credentials.status(self.db, str(event.originator_id), covered_at=None if self.log is None else self.log.covered_at)
            return event, None if found is None else _registry_status(found)
        withdrawn = endorsements.withdrawn_at(self.db, str(event.originator_id))
        if withdrawn is None:
            return event, Check("status", "pass", "the endorsement stands in this registry", code="status.active")
        return event, Check("status", "fail", f"the endorsement was withdrawn on {withdrawn[:10]}",
                                      code="status.withdrawn", params={"when": withdrawn[:10]})

    def _log_check(self, aggregate: UUID) -> tuple[Check, datetime | None]:
        """Whether the logged document is in a signed checkpoint: its leaf index, the first
        checkpoint that includes it (and when that was signed), proven with an inclusion proof
        from the stored tree against the signed root."""
        inclusion = None if self.log is None else self.log.inclusion_of(aggregate)
        if inclusion is None:
            return Check("log", "indeterminate", "logged, but in no signed checkpoint of the registry's log yet",
                         code="log.unsigned"), None
        checkpoint = inclusion.checkpoint
        try:
            tree.verify_inclusion(inclusion.index, inclusion.size, tree.leaf_hash(inclusion.entry),
                                  inclusion.hashes, checkpoint.root)
        except tree.ProofError as exc:
            return Check("log", "fail", f"the log's inclusion proof fails: {exc}", code="log.proof"), None
        signed = checkpoint.time
        when = signed.isoformat()
        return Check("log", "pass", f"entry {inclusion.index} of the log, included in the checkpoint of size "
                                    f"{inclusion.size} signed at {when}", code="log.included",
                     params={"index": str(inclusion.index), "size": str(inclusion.size), "when": when}), signed

    def _status(self, document: dict, issuer: IssuerView | None, knowledge: IssuerKnowledge | None,
                fetcher: Fetcher, resolve: _Resolver, now: datetime) -> Check | None:
        """The status check of a credential the registry did not log: its entry read from the
        registry's own records when the list is one the registry publishes, else from the list (or
        revocation list) fetched from its URL. None when it has no status entry."""
        try:
            entry = status_list.status_entry(document)
        except status_list.StatusListError as exc:
            return Check("status", "fail", str(exc), code="status.malformed")
        if entry is None:
            return None
        if entry.kind == status_list.ENTRY_TYPE and entry.url not in fetcher.documents \
                and self.config.status_list_of(entry.url) is not None:
            ok, reason = self._own_list_status(entry, issuer)
            return _with_notes(ok, reason, entry.notes)
        what = "the status list" if entry.kind == status_list.ENTRY_TYPE else "the revocation list"
        try:
            fetched = fetcher.json(entry.url, what)
        except FetchError as exc:
            return Check("status", "indeterminate", f"status unknown: {exc}", code="status.unknown")
        if entry.kind == status_list.REVOCATION_LIST_TYPE:
            ok, reason = status_list.check_revocation_list(document, entry, fetched.document)
            return _with_notes(ok, reason, entry.notes)
        expired = _expired(fetched.document, self.clock())  # the list may be signed while it is fetched
        if expired:
            return Check("status", "indeterminate", f"status unknown: {entry.url} {expired}", code="status.unknown")
        keys = _registered_keys(knowledge) if knowledge is not None else resolve.key_bytes
        try:
            ok, reason = status_list.check_bitstring(document, entry, fetched.document, keys)
        except status_list.StatusUnavailable as exc:
            return Check("status", "indeterminate", f"status unknown: {exc}", code="status.unknown")
        return _with_notes(ok, reason, entry.notes)

    def _names_a_foreign_list(self, document: dict) -> bool:
        """Whether the credential's status entry is a list this registry does not publish."""
        try:
            entry = status_list.status_entry(document)
        except status_list.StatusListError:
            return True  # malformed: _status says so
        return entry is not None and self.config.status_list_of(entry.url) is None

    def _own_list_status(self, entry: status_list.StatusEntry, issuer: IssuerView | None) -> tuple[bool, str]:
        """A list this registry publishes is made from the credentials projection's revoked
        entries: asking the projection answers what the signed list would say."""
        url, index, purpose = entry.url, entry.index, entry.purpose
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
            return Check("endorsements", "skip", "no endorsements of its achievement or issuer are recorded here",
                         code="endorsements.none")
        names = sorted({f"{e['endorser']} ({e['of']}, since {e['given_at'][:10]})" for e in standing})
        withdrawn = len(found) - len(standing)
        reason = f"endorsed by {', '.join(names) or 'nobody now'}"
        if withdrawn:
            reason += f"; {withdrawn} endorsement(s) withdrawn"
        return Check("endorsements", "pass" if standing else "warn", reason, found,
                     code="endorsements.by" if standing else "endorsements.withdrawn",
                     params={"endorsers": ", ".join(names), "withdrawn": str(withdrawn)})

    def _trust_check(self, issuer: IssuerView | None) -> Check:
        """Whether a chain of active endorsements reaches the issuer from a trust anchor. Reported,
        not enforced: trust anchors are this registry's policy, not a property of the credential."""
        anchors = trust_anchors.anchors(self.db)
        if not anchors:
            return Check("trust-chain", "skip", "no trust anchors are configured", code="trust.no-anchors")
        if issuer is None:
            return Check("trust-chain", "warn", "the issuer is not registered here, so no chain can reach it",
                         code="trust.unregistered")
        hops = trust.chain(self.db, [a.issuer_id for a in anchors], issuer.id, trust.DEFAULT_MAX_DEPTH)
        if hops is None:
            return Check("trust-chain", "warn", f"no chain of active endorsements reaches {issuer.slug} "
                                                f"from an anchor ({', '.join(a.slug for a in anchors)})",
                         code="trust.none", params={"issuer": issuer.slug})
        if not hops:
            return Check("trust-chain", "pass", f"{issuer.slug} is a trust anchor", code="trust.anchor",
                         params={"issuer": issuer.slug})
        path = " -> ".join([hops[0].endorser] + [hop.subject for hop in hops])
        return Check("trust-chain", "pass", f"chain of active endorsements: {path}",
                     [msgspec.to_builtins(hop) for hop in hops], code="trust.chain", params={"path": path})


class _Resolver:
    """Keys for an issuer this registry does not know: a did:key, an https issuer URL's fragment
    (weaker), or a did:web's DID document, fetched (over http only for REGISTRY_INSECURE_HOSTS).
    A document that cannot be had leaves the proof undecided (KeyUnavailable); one that does not
    vouch for the key refuses it (KeyRefused)."""

    def __init__(self, fetcher: Fetcher) -> None:
        self.fetcher = fetcher

    def __call__(self, vm: str) -> did.ResolvedKey | None:
        found = did.resolve_verification_method(vm)
        if found is not None:
            return found
        controller = vm.split("#", 1)[0]
        if controller.startswith("did:web:"):
            try:
                return did.key_in_did_document(self._did_document(controller), controller, vm)
            except DocumentError as exc:
                raise proofs.KeyRefused(str(exc)) from None
        if controller.startswith("did:"):
            raise proofs.KeyUnavailable(_unresolvable(controller))
        return None

    def public_key(self, kid: str) -> tuple[vc_jwt.PublicKey, str]:
        """A VC-JWT's key by its kid: a did:key, an assertion method of a did:web's DID document,
        or a JWK (or a JWKS entry) published at an https URL ("url": the caller decides whether
        that host speaks for the issuer)."""
        controller = kid.split("#", 1)[0]
        try:
            if controller.startswith("did:key:"):
                return vc_jwt.ed25519_key(did.public_key_from_did_key(kid)), "did:key"
            if controller.startswith("did:web:"):
                method = did.assertion_method(self._did_document(controller), controller, kid)
                return vc_jwt.key_from_method(method, kid), "did-document"
            if controller.startswith("did:"):
                raise proofs.KeyUnavailable(_unresolvable(controller))
            return vc_jwt.key_from_jwk(self._jwk_at(kid)), "url"
        except DocumentError as exc:
            raise proofs.KeyRefused(str(exc)) from None

    def assertion_keys(self, issuer_did: str) -> list[tuple[str, vc_jwt.PublicKey]]:
        """The keys a did:web's DID document makes assertion methods of the DID."""
        if not issuer_did.startswith("did:web:"):
            raise proofs.KeyUnavailable(_unresolvable(issuer_did))
        try:
            document = self._did_document(issuer_did)
            methods = did.assertion_methods(document, issuer_did)
        except DocumentError as exc:
            raise proofs.KeyRefused(str(exc)) from None
        keys = []
        for vm, method in methods:
            try:
                keys.append((vm, vc_jwt.key_from_method(method, vm)))
            except DocumentError:
                continue  # a key of a type this verifier does not read cannot be the token's
        return keys

    def _did_document(self, controller: str) -> object:
        try:
            url = did.did_web_url(controller)
        except DocumentError as exc:
            raise proofs.KeyRefused(str(exc)) from None
        parts = urlsplit(url)
        if f"{parts.hostname}:{parts.port or 443}" in self.fetcher.insecure_hosts or \
                f"{parts.hostname}:{parts.port or 80}" in self.fetcher.insecure_hosts:
            url = "http" + url[len("https"):]  # a listed test or demo host, as the operator allowed
        try:
            return self.fetcher.json(url, f"the DID document of {controller}").document
        except FetchError as exc:
            raise proofs.KeyUnavailable(str(exc)) from None

    def _jwk_at(self, kid: str) -> object:
        url, _, fragment = kid.partition("#")
        try:
            document = self.fetcher.json(url, f"the key {kid}").document
        except FetchError as exc:
            raise proofs.KeyUnavailable(str(exc)) from None
        if isinstance(document, dict) and isinstance(document.get("keys"), list):  # a JWK Set
            named = [k for k in document["keys"] if isinstance(k, dict) and k.get("kid") in (kid, fragment)]
            if len(named) == 1:
                return named[0]
            raise DocumentError(f"the JWK Set at {url} has {len(named)} keys with kid {fragment or kid!r}")
        return document

    def key_bytes(self, vm: str) -> bytes | None:
        found = self(vm)
        return None if found is None else found.public_key


def _unresolvable(controller: str) -> str:
    method = controller.split(":", 2)[1] if controller.count(":") >= 2 else controller
    return f"DID method {method!r} cannot be resolved here (did:key and did:web can)"


def _registered_keys(knowledge: IssuerKnowledge) -> Callable[[str], bytes | None]:
    registered = {k.verification_method: k.public_key_multibase for k in knowledge.keys}

    def resolve(vm: str) -> bytes | None:
        try:
            return multikey.decode_public_key(registered[vm]) if vm in registered else None
        except DocumentError:
            return None

    return resolve


def _with_notes(ok: bool, reason: str, notes: list[str]) -> Check:
    if not ok:
        return Check("status", "fail", reason, code="status.revoked-list" if reason.startswith(("revocation:", "revoked:"))
                     else "status.list-refused")
    if notes:
        return Check("status", "warn", f"{reason}; " + "; ".join(notes), code="status.clear")
    return Check("status", "pass", reason, code="status.clear")


def _registry_status(found: credentials.CredentialStatus) -> Check:
    """The status check of a credential the registry logged, as its records say it now."""
    when = (found.since or "")[:10]
    if found.status in (ACTIVE, credentials.EXPIRED):  # expiry is the validity check's to say
        return Check("status", "pass", "credential is active in this registry", code="status.active")
    if found.status == credentials.COMPROMISED:
        return Check("status", "fail", f"credential is compromised in this registry: {found.reason}",
                     code="status.compromised", params={"when": when})
    return Check("status", "fail", f"credential is {found.status} in this registry since {when}"
                 + (f": {found.reason}" if found.reason else ""),
                 code=f"status.{found.status}", params={"when": when, "reason": found.reason or ""})


# Another server's clock may run ahead of this one's: a list it signed "now" is not from the future.
CLOCK_SKEW = timedelta(minutes=5)


def _expired(list_credential: object, now: datetime) -> str | None:
    """Why a status list credential is out of its validity period, or None."""
    if not isinstance(list_credential, dict):
        return None
    for (value, field), late in ((validity(list_credential, "until"), True), (validity(list_credential, "from"), False)):
        if value is None:
            continue
        try:
            moment = parse_datetimez(value, field)
        except DocumentError:
            return f"has an unreadable {field} {value!r}"
        if late and moment <= now:
            return f"expired at {value}: a fresh list is needed"
        if not late and moment > now + CLOCK_SKEW:
            return f"is not valid before {value}"
    return None


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
        return Check("recipient", "pass", f"issued to {wanted}", code="recipient.yes", params={"recipient": wanted})
    return Check("recipient", "fail", f"not issued to {wanted}: the credential names another recipient",
                 code="recipient.no", params={"recipient": wanted})


_ENDORSEMENT_FIELDS = ("id", "endorser_id", "endorser", "subject_kind", "subject_id", "subject_iri",
                       "subject_issuer_id", "comment", "custodial", "given_at", "withdrawn_at",
                       "withdrawn_reason", "standing")


def _endorsement_fields(view: endorsements.EndorsementView) -> dict:
    return {name: getattr(view, name) for name in _ENDORSEMENT_FIELDS}
