"""Verify an Open Badges 3.0 credential against the pinned standards and what is known of its issuer:
the registry's key history for an issuer registered here, else the keys its DID resolves to.

Every question is answered by a Check in a fixed order (document, schema, proof, issuer-match,
issuer-known, key-history, valid-from, valid-until, status); nothing a document contains raises.
The verdict is VALID only when no check failed and none that had to be answered was left
unanswered (INDETERMINATE: a DID document or status list could not be had). The signing time used
against key history is the registry's log time when it has one: a proof's `created` is written by
the signer, so it cannot date a signature made with a leaked key."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlsplit

import msgspec

from registry.vc import contexts, did, multikey, proofs, schema, vc_jwt
from registry.vc.errors import DocumentError
from registry.vc.openbadges import is_vc_1_1, parse_datetimez, summarise, unsafe_content, validity
from registry.vc.report import Check, IssuerKnowledge, KeyInterval, VerificationReport

_STATUS_FAILURES = ("revoked", "suspended")

_FRAGMENT_NOTE = (
    "the key was read from the verification method's fragment, not from a document its controller "
    "publishes, so this shows only that the signer holds that key"
)


class _SigningTime(msgspec.Struct, frozen=True):
    at: datetime | None
    source: str  # says where `at` came from, for reasons
    logged: bool  # True when the registry's log dates the signature (the signer cannot choose it)
    problem: str | None = None
    # When a checkpoint of the registry's log first included it (the key-compromise cut-off)
    checkpointed_at: datetime | None = None


KeyResolver = Callable[[str], "did.ResolvedKey | None"]  # may raise proofs.KeyUnavailable


def verify(
    document: dict,
    *,
    now: datetime,
    issuer: IssuerKnowledge | None,
    resolve: KeyResolver | None = None,
    logged_at: datetime | None = None,
    checkpointed_at: datetime | None = None,
    registry_status: str | None = None,
    status: Check | None = None,
    jws: vc_jwt.Jws | None = None,
    resolve_jwk: JwkResolver | None = None,
    assertion_keys: AssertionKeys | None = None,
) -> VerificationReport:
    """The verification report of `document` at `now`. `issuer` is the registry's knowledge of the
    credential's issuer (None when not registered); for an issuer not registered, `resolve` finds
    a verification method's key (default: offline, did:key and https-URL fragments only).
    `logged_at` is when the registry logged this credential, `registry_status` its status in the
    registry ("active", "revoked", "suspended"), `status` the status check already answered from a
    status list (else: indeterminate when the credential has a credentialStatus).

    With `jws` (a VC-JWT; `document` is then its credential) the proof is the JWS: its key comes
    from `resolve_jwk` (for a kid) or, for a key in its header, is bound to the issuer through
    `assertion_keys` (the keys the issuer's DID document lists); both default to offline."""
    _require_aware(now, "now")
    if logged_at is not None:
        _require_aware(logged_at, "logged_at")

    document_check = _document_check(document)
    if document_check.outcome == "fail":
        return VerificationReport.of(None, None, [document_check])
    credential_id = document.get("id") if isinstance(document.get("id"), str) else None
    issuer_id = _issuer_id(document)

    resolved: dict[str, did.ResolvedKey] = {}
    if jws is None:
        proof_result, proof_check = _proof_check(document, issuer, resolve or offline_resolver, resolved)
        match = None
    else:
        proof_result, proof_check, match = _jws_check(jws, issuer, issuer_id, resolve_jwk or offline_jwk,
                                                      assertion_keys or offline_assertion_keys, resolved)
    vm = proof_result.verification_method
    signing = _signing_time(logged_at, proof_result.created, checkpointed_at)
    checks = [
        document_check,
        _schema_check(document),
        proof_check,
        match or _issuer_match(vm, issuer_id),
        _issuer_known(issuer, issuer_id, signing),
        _key_history(issuer, vm, signing, resolved.get(vm or "")),
        _valid_from(*validity(document, "from"), now),
        _valid_until(*validity(document, "until"), now),
        _status(registry_status, status, document.get("credentialStatus") is not None),
    ]
    return VerificationReport.of(credential_id, issuer_id, checks, summarise(document))


def offline_resolver(vm: str) -> did.ResolvedKey | None:
    """Keys that need no network: a did:key, an https issuer URL's `#z6Mk...` fragment. Any other
    DID needs its DID document: that is not known offline, so the proof cannot be decided."""
    found = did.resolve_verification_method(vm)
    if found is None and vm.startswith("did:") and not vm.startswith("did:key:"):
        raise proofs.KeyUnavailable(f"the key of {vm} is in its DID document, which was not fetched (offline)")
    return found


JwkResolver = Callable[[str], "tuple[vc_jwt.PublicKey, str]"]  # kid -> (key, source); may raise KeyUnavailable
AssertionKeys = Callable[[str], "list[tuple[str, vc_jwt.PublicKey]]"]  # DID -> its assertion methods' keys

_HEADER_KEY_NOTE = (
    "the key was taken from the token's own header, and an issuer named by an https URL publishes no "
    "document to check it against, so this shows only that the signer holds that key"
)


def offline_jwk(kid: str) -> tuple[vc_jwt.PublicKey, str]:
    """A VC-JWT key that needs no network: a did:key. Anything else is not known offline."""
    if kid.startswith("did:key:"):
        try:
            return vc_jwt.ed25519_key(did.public_key_from_did_key(kid)), "did:key"
        except DocumentError as exc:
            raise proofs.KeyRefused(str(exc)) from None
    raise proofs.KeyUnavailable(f"the key {kid} is published elsewhere and was not fetched (offline)")


def offline_assertion_keys(issuer_did: str) -> list[tuple[str, vc_jwt.PublicKey]]:
    raise proofs.KeyUnavailable(f"the DID document of {issuer_did} was not fetched (offline)")


def _jws_check(jws: vc_jwt.Jws, issuer: IssuerKnowledge | None, issuer_id: str | None, resolve_jwk: JwkResolver,
               assertion_keys: AssertionKeys, resolved: dict[str, did.ResolvedKey],
               ) -> tuple[proofs.ProofCheck, Check, Check | None]:
    """The proof of a VC-JWT (OB 3.0 section 8.2.4): the key (named by kid, or given in the header
    and then bound to the issuer), the signature, and the claims against the credential. Also
    the issuer-match check when the key's binding is not a DID's (None: the usual one applies)."""
    alg = jws.header.get("alg")
    created = vc_jwt.signed_at(jws)
    suite = f"VC-JWT {alg}"

    def outcome(ok: bool, reason: str, vm: str | None = None, *, indeterminate: bool = False, code: str | None = None,
                notes: list[str] | None = None) -> tuple[proofs.ProofCheck, Check]:
        result = proofs.ProofCheck(ok, reason, vm, created, suite, notes or [], indeterminate)
        if indeterminate:
            return result, Check("proof", "indeterminate", reason, code="proof.unavailable")
        if not ok:
            return result, Check("proof", "fail", reason, code=code or "proof.malformed")
        if notes:
            return result, Check("proof", "warn", f"{reason}; " + "; ".join(notes))
        return result, Check("proof", "pass", reason, code="proof.verified", params={"method": vm or ""})

    problem = vc_jwt.header_problem(jws)
    if problem:
        return (*outcome(False, problem), None)
    header = jws.header
    try:
        header_key = vc_jwt.key_from_jwk(header["jwk"]) if "jwk" in header else None
    except DocumentError as exc:
        return (*outcome(False, str(exc)), None)
    match = None
    try:
        if "kid" in header:
            vm = _absolute_kid(header["kid"], issuer_id)
            key, source = _kid_key(vm, issuer, issuer_id, resolve_jwk)
            if header_key is not None and not vc_jwt.same_key(header_key, key):
                return (*outcome(False, f"the jwk in the header is not the key {vm} names", vm,
                                 code="proof.key-not-issuers"), None)
        else:
            key, (vm, source) = header_key, _bind_header_key(header_key, issuer, issuer_id, assertion_keys)
    except proofs.KeyUnavailable as exc:
        return (*outcome(False, str(exc), indeterminate=True), None)
    except (proofs.KeyRefused, DocumentError) as exc:
        return (*outcome(False, str(exc), code="proof.key-not-issuers"), None)
    if source == "issuer-host":
        match = Check("issuer-match", "pass", f"the key {vm} is published on the issuer's own host ({issuer_id})",
                      code="issuer-match.pass", params={"issuer": issuer_id or ""})
    elif source == "header":
        match = Check("issuer-match", "warn", f"nothing binds the key in the token's header to issuer {issuer_id}")
    problem = vc_jwt.signature_problem(jws, key)
    if problem:
        code = "proof.mismatch" if "does not match" in problem else "proof.malformed"
        return (*outcome(False, f"{problem} (key {vm or 'in its header'})", vm, code=code), match)
    claims = vc_jwt.claim_problems(jws)
    if claims:
        return (*outcome(False, "the JWT's claims disagree with its credential: " + "; ".join(claims), vm), match)
    if source in ("did-document", "did:key"):
        resolved[vm] = did.ResolvedKey(b"", source)
    notes = [_HEADER_KEY_NOTE] if source == "header" else []
    reason = (f"{vc_jwt.summary_of_form(jws)} signed by {vm or 'the key in its header'} verified; "
              "its claims agree with the credential")
    return (*outcome(True, reason, vm, notes=notes), match)


def _absolute_kid(kid: str, issuer_id: str | None) -> str:
    """A kid relative to a DID issuer (`#key-1` or `key-1`) names one of that DID's keys
    (VC-JOSE-COSE, kid); an absolute one stands as it is."""
    if issuer_id and issuer_id.startswith("did:") and ":" not in kid:
        return f"{issuer_id}#{kid.removeprefix('#')}"
    return kid


def _kid_key(vm: str, issuer: IssuerKnowledge | None, issuer_id: str | None,
             resolve_jwk: JwkResolver) -> tuple[vc_jwt.PublicKey, str]:
    if issuer is not None:
        # A registered issuer's signatures count only with keys it registered here.
        for key in issuer.keys:
            if key.verification_method == vm:
                return vc_jwt.ed25519_key(multikey.decode_public_key(key.public_key_multibase)), "registry"
        raise proofs.KeyRefused(f"{vm} is not a key registered for {issuer.issuer_id} (only keys registered "
                                f"for {issuer.issuer_id} are accepted)")
    if vm.startswith("did:"):
        if issuer_id is None or vm.split("#", 1)[0] != issuer_id:
            raise proofs.KeyRefused(f"{vm} is a key of {vm.split('#', 1)[0]}, not of issuer {issuer_id}")
    elif not _same_origin(vm, issuer_id):
        # A key published at a URL speaks for the issuer only from the issuer's own host.
        raise proofs.KeyRefused(f"{vm} is not on the host of issuer {issuer_id}")
    key, source = resolve_jwk(vm)
    return key, "issuer-host" if source == "url" else source


def _same_origin(url: str, issuer_id: str | None) -> bool:
    if not issuer_id or not url.startswith(("https://", "http://")):
        return False
    a, b = urlsplit(url), urlsplit(issuer_id)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


def _bind_header_key(key: vc_jwt.PublicKey, issuer: IssuerKnowledge | None, issuer_id: str | None,
                     assertion_keys: AssertionKeys) -> tuple[str | None, str]:
    """(verification method, source) of a key the token carries in its header, if it is the
    issuer's: a key registered here, the issuer's did:key, or an assertion method of its DID
    document. An issuer named by an https URL has nothing to check it against ("header")."""
    if issuer is not None:
        for registered in issuer.keys:
            if vc_jwt.same_key(key, vc_jwt.ed25519_key(multikey.decode_public_key(registered.public_key_multibase))):
                return registered.verification_method, "registry"
        raise proofs.KeyRefused(f"the jwk in the header is not a key registered for {issuer.issuer_id}")
    if issuer_id and issuer_id.startswith("did:key:"):
        own, source = offline_jwk(issuer_id)
        if vc_jwt.same_key(key, own):
            return f"{issuer_id}#{issuer_id[len('did:key:'):]}", source
        raise proofs.KeyRefused(f"the jwk in the header is not the key of {issuer_id}")
    if issuer_id and issuer_id.startswith("did:"):
        for vm, listed in assertion_keys(issuer_id):
            if vc_jwt.same_key(key, listed):
                return vm, "did-document"
        raise proofs.KeyRefused(f"the jwk in the header is not an assertion method of {issuer_id}")
    return None, "header"


def _require_aware(value: datetime, what: str) -> None:
    # A caller bug, not a property of the document: comparing naive and aware instants is meaningless.
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got {value!r}")


def _document_check(document: object) -> Check:
    if not isinstance(document, dict):
        return Check("document", "fail", f"a credential is a JSON object, got {type(document).__name__}")
    types = document.get("type")
    if types is None:
        return Check("document", "fail", "credential has no type")
    if isinstance(types, str):
        types = [types]
    if not isinstance(types, list) or not types or not all(isinstance(t, str) for t in types):
        return Check("document", "fail", f"type must be a string or a non-empty list of strings, got {types!r}")
    unsafe = unsafe_content(document)
    if unsafe:
        return Check("document", "fail", "; ".join(unsafe), code="document.unsafe")
    return Check("document", "pass", f"a JSON object of type {', '.join(types)}", code="document.ok",
                 params={"types": ", ".join(types)})


def _issuer_id(document: dict) -> str | None:
    issuer = document.get("issuer")
    if isinstance(issuer, dict):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) and issuer else None


def _schema_check(document: dict) -> Check:
    if is_vc_1_1(document):
        return _vc_1_1_schema_check(document)
    result = schema.check(document)
    if not result.ok:
        return Check("schema", "fail", "; ".join(result.errors), code="schema.fails")
    if result.warnings:
        return Check("schema", "warn", f"conforms to {result.schema}, but " + "; ".join(result.warnings))
    return Check("schema", "pass", f"conforms to {result.schema}", code="schema.conforms",
                 params={"schema": result.schema})


def _vc_1_1_schema_check(document: dict) -> Check:
    # 1EdTech publishes its JSON Schemas for OB 3.0.3 (VC 2.0) only. The OB structure is the same in
    # 3.0.0-3.0.2, so the document is checked as VC 2.0 would say it: VC 2.0's context first, its
    # dates under their VC 2.0 names. Said as a caveat, not a pass: no schema of its own version exists.
    if "validFrom" in document or "validUntil" in document:
        return Check("schema", "fail", "a VC 1.1 credential is dated by issuanceDate and expirationDate; "
                                       "validFrom and validUntil are VC 2.0 terms")
    if "issuanceDate" not in document:
        return Check("schema", "fail", "$: 'issuanceDate' is a required property of a VC 1.1 credential")
    view = {**document, "@context": [contexts.VC_V2, *document["@context"][1:]]}
    renamed = {"issuanceDate": "validFrom", "expirationDate": "validUntil"}
    view = {renamed.get(key, key): value for key, value in view.items()}
    result = schema.check(view)
    if not result.ok:
        return Check("schema", "fail", "; ".join(result.errors), code="schema.fails")
    caveats = ["the credential is VC 1.1 (OB 3.0.0-3.0.2), for which 1EdTech publishes no schema: "
               "checked as VC 2.0, with issuanceDate as validFrom and expirationDate as validUntil",
               *result.warnings]
    return Check("schema", "warn", f"conforms to {result.schema}, but " + "; ".join(caveats))


def _resolver(issuer: IssuerKnowledge | None, resolve: KeyResolver,
              resolved: dict[str, did.ResolvedKey]) -> Callable[[str], bytes | None]:
    if issuer is not None:
        # A registered issuer's signatures count only with keys it registered here.
        registered: dict[str, str] = {}
        for key in issuer.keys:
            registered.setdefault(key.verification_method, key.public_key_multibase)

        def resolve_registered(vm: str) -> bytes | None:
            try:
                return multikey.decode_public_key(registered[vm]) if vm in registered else None
            except DocumentError:
                return None

        return resolve_registered

    def resolve_elsewhere(vm: str) -> bytes | None:
        found = resolve(vm)  # may raise KeyUnavailable: the proof is then undecided
        if found is None:
            return None
        resolved[vm] = found
        return found.public_key

    return resolve_elsewhere


def _proof_check(document: dict, issuer: IssuerKnowledge | None, resolve: KeyResolver,
                 resolved: dict[str, did.ResolvedKey]) -> tuple[proofs.ProofCheck, Check]:
    try:
        result = proofs.verify(document, _resolver(issuer, resolve, resolved))
    except DocumentError as exc:
        result = proofs.ProofCheck(False, str(exc))
    if result.indeterminate:
        code = "proof.unknown-context" if result.reason.startswith("unknown JSON-LD context") else "proof.unavailable"
        return result, Check("proof", "indeterminate", result.reason, code=code)
    if not result.ok:
        reason = result.reason
        if issuer is not None and result.verification_method is not None and not any(
            key.verification_method == result.verification_method for key in issuer.keys
        ):
            reason += f" (only keys registered for {issuer.issuer_id} are accepted)"
        return result, Check("proof", "fail", reason, code=_proof_failure(result.reason))
    notes = list(result.warnings)
    if any(found.source == "fragment" for found in resolved.values()):
        notes.append(_FRAGMENT_NOTE)
    if notes:
        return result, Check("proof", "warn", f"{result.reason}; " + "; ".join(notes))
    return result, Check("proof", "pass", result.reason, code="proof.verified",
                        params={"method": result.verification_method or ""})


def _proof_failure(reason: str) -> str:
    """The kind of a proof failure, for the page's words: forged or tampered, a key its issuer
    does not vouch for, or a proof that is not one."""
    if "signature does not match" in reason:
        return "proof.mismatch"
    if "not an assertion method" in reason or "could not be resolved" in reason or "only keys registered" in reason:
        return "proof.key-not-issuers"
    if "not defined by the pinned contexts" in reason:
        return "proof.undefined-terms"
    return "proof.malformed"


def _issuer_match(vm: str | None, issuer_id: str | None) -> Check:
    if issuer_id is None:
        return Check("issuer-match", "fail", "credential has no issuer id")
    if vm is None:
        return Check("issuer-match", "skip", "no proof verification method to compare with the issuer")
    controller = vm.split("#", 1)[0]  # a did:key without fragment is its own controller
    if controller == issuer_id:
        return Check("issuer-match", "pass", f"verification method {vm} is controlled by issuer {issuer_id}",
                     code="issuer-match.pass", params={"issuer": issuer_id})
    if not _bindable(issuer_id):
        # An issuer named by a URN (urn:uuid:...) has no keys anyone can look up, so no key can be
        # bound to it; 1EdTech's validator accepts such credentials (simple-did-key-method.json).
        # Say plainly that the signer is not tied to the issuer instead of failing.
        return Check(
            "issuer-match", "warn",
            f"issuer {issuer_id} cannot be resolved to keys; the credential is signed by {controller}, "
            "which nothing binds to that issuer",
        )
    return Check(
        "issuer-match", "fail", f"verification method {vm} is controlled by {controller}, not by issuer {issuer_id}"
    )


def _bindable(issuer_id: str) -> bool:
    """A DID or an http(s) URL names something whose keys can be looked up."""
    return issuer_id.startswith(("did:", "https://", "http://"))


def _signing_time(logged_at: datetime | None, created: str | None,
                  checkpointed_at: datetime | None = None) -> _SigningTime:
    if logged_at is not None:
        return _SigningTime(logged_at, f"logged at {logged_at.isoformat()}", logged=True,
                            checkpointed_at=checkpointed_at)
    if created is None:
        return _SigningTime(None, "proof created", False, "the proof has no created time and the registry never logged it")
    try:
        at = parse_datetimez(created, "proof created")
    except DocumentError as exc:
        return _SigningTime(None, "proof created", False, str(exc))
    return _SigningTime(at, f"proof created {created}, as claimed by the signer", logged=False)


def _issuer_known(issuer: IssuerKnowledge | None, issuer_id: str | None, signing: _SigningTime) -> Check:
    if issuer is None:
        return Check("issuer-known", "warn", "issuer is not registered here", code="issuer-known.elsewhere")
    if issuer.issuer_id != issuer_id:
        return Check(
            "issuer-known", "fail", f"registry knowledge is about {issuer.issuer_id}, the credential names issuer {issuer_id}"
        )
    if issuer.deactivated_at is None:
        return Check("issuer-known", "pass", f"issuer {issuer_id} is registered here", code="issuer-known.here")
    deactivated = issuer.deactivated_at.isoformat()
    # Like a leaked key: after deactivation the issuer could backdate `created`, so only the log dates.
    if not signing.logged:
        return Check(
            "issuer-known", "fail",
            f"issuer {issuer_id} was deactivated at {deactivated} and this credential is not in the registry's "
            "log, so when it was signed cannot be established",
        )
    if signing.at >= issuer.deactivated_at:
        return Check("issuer-known", "fail", f"issuer {issuer_id} was deactivated at {deactivated}, before it was {signing.source}")
    return Check("issuer-known", "pass", f"issuer {issuer_id} is registered here; {signing.source}, before its deactivation at {deactivated}")


def _key_history(issuer: IssuerKnowledge | None, vm: str | None, signing: _SigningTime,
                 resolved: did.ResolvedKey | None) -> Check:
    if vm is None:
        return Check("key-history", "skip", "no proof verification method to look up")
    if issuer is None:
        if resolved is not None and resolved.source == "did-document":
            return Check("key-history", "pass", f"{vm} is an assertion method of its controller's DID document, "
                                                "which does not mark it revoked (its history is not known here)")
        if resolved is not None and resolved.source == "did:key":
            return Check("key-history", "pass", f"{vm} is its own did:key, which cannot be rotated or revoked")
        return Check("key-history", "skip", "issuer is not registered here, so its key history is unknown",
                     code="key-history.unknown")
    intervals = [key for key in issuer.keys if key.verification_method == vm]
    if not intervals:
        return Check("key-history", "fail", f"{vm} was never registered for this issuer ({issuer.issuer_id})")
    if signing.problem is not None:
        return Check("key-history", "fail", f"signing time unknown: {signing.problem}")
    verdicts = [_within(key, signing) for key in intervals]
    passing = next((reason for ok, reason in verdicts if ok), None)
    if passing is not None:
        return Check("key-history", "pass", passing, code="key-history.in-interval")
    reason = verdicts[0][1]
    return Check("key-history", "fail", reason, code="key-history.compromised" if "compromised" in reason else
                 "key-history.outside")


def _within(key: KeyInterval, signing: _SigningTime) -> tuple[bool, str]:
    at, vm = signing.at, key.verification_method
    if key.compromised_since is not None:
        since = key.compromised_since.isoformat()
        if not signing.logged:
            return False, (
                f"key {vm} is compromised since {since} and this signature is not in the registry's log, "
                f"so it cannot be dated ({signing.source})"
            )
        # The log, not the signer, dates it: only an issuance in a checkpoint signed before the
        # compromise began is known to predate it.
        covered = signing.checkpointed_at
        if covered is None:
            return False, (f"key {vm} is compromised since {since} and this signature is in no signed checkpoint "
                           "of the registry's log, so it cannot be shown to predate the compromise")
        if covered >= key.compromised_since:
            return False, (f"key {vm} is compromised since {since}; signature first in a checkpoint signed at "
                           f"{covered.isoformat()}")
    # A proof's `created` has whole seconds while the log has microseconds: a signature made in the
    # second the key was registered is not "before" it.
    registered = key.added_at if signing.logged else key.added_at.replace(microsecond=0)
    if at < registered and vm.startswith("did:key:"):
        # A did:key is its own key from the moment it exists: what its holder signed before the
        # organisation registered here is theirs just as it is for an issuer never registered here
        # (the badges an organisation brings in, signed on its old platform). A compromise, which
        # is what could make an early date a lie, was checked above.
        return True, (f"signature {signing.source}, before {vm} was registered here at {key.added_at.isoformat()}; "
                      "a did:key is its own key, which cannot be rotated or revoked")
    if at < registered:
        return False, f"signature {signing.source}, before key {vm} was registered at {key.added_at.isoformat()}"
    if key.retired_at is not None and at >= key.retired_at:
        return False, f"signature {signing.source}, at or after key {vm} was retired at {key.retired_at.isoformat()}"
    until = key.retired_at.isoformat() if key.retired_at is not None else "now"
    return True, f"key {vm} was registered from {key.added_at.isoformat()} until {until}; signature {signing.source}"


def _valid_from(value: object, name: str, now: datetime) -> Check:
    if value is None:
        return Check("valid-from", "fail", f"credential has no {name}")
    try:
        start = parse_datetimez(value, name)
    except DocumentError as exc:
        return Check("valid-from", "fail", str(exc))
    if now < start:
        return Check("valid-from", "fail", f"not valid before {value} (now is {now.isoformat()})",
                     code="valid-from.not-yet", params={"when": str(value)})
    return Check("valid-from", "pass", f"valid from {value}", code="valid-from.pass", params={"when": str(value)})


def _valid_until(value: object, name: str, now: datetime) -> Check:
    if value is None:
        return Check("valid-until", "pass", f"credential has no {name}, so it does not expire",
                     code="valid-until.never")
    try:
        end = parse_datetimez(value, name)
    except DocumentError as exc:
        return Check("valid-until", "fail", str(exc))
    if end <= now:
        return Check("valid-until", "fail", f"expired at {value} (now is {now.isoformat()})",
                     code="valid-until.expired", params={"when": str(value)})
    return Check("valid-until", "pass", f"valid until {value}", code="valid-until.pass", params={"when": str(value)})


def _status(registry_status: str | None, answered: Check | None, has_entry: bool) -> Check:
    if registry_status is None and answered is not None:
        return answered
    if registry_status is None:
        if has_entry:
            return Check("status", "indeterminate", "the credential has a credentialStatus that was not checked",
                         code="status.unknown")
        return Check("status", "skip", "the credential has no credentialStatus", code="status.none")
    if registry_status == "active":
        return Check("status", "pass", "credential is active in this registry", code="status.active")
    if registry_status in _STATUS_FAILURES:
        return Check("status", "fail", f"credential is {registry_status} in this registry",
                     code=f"status.{registry_status}")
    return Check("status", "fail", f"registry status {registry_status!r} is not one of active, revoked, suspended")
