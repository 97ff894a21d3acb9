"""Open Badges 2.0 verification (OB 2.0 "Verification", "HostedBadge Verification", "SignedBadge
Verification"): what organisations that join the registry already issued, from Badgr / Canvas
Credentials, Moodle or Open Badge Factory. Verified, never issued.

- Hosted: the assertion's `id` is the source of truth. The input only names that URL; the copy
  fetched from it is the assertion (a 410 Gone, or `revoked: true`, is a revocation). Its `id` must
  lie within the issuer Profile's verification scope: `verification.allowedOrigins` (host names)
  and `startsWith` (on the prefix's own host); without a `verification` object, the origin (host
  and port) of the Profile's own `id`, for the assertion and its BadgeClass alike. An id with . or
  .. path segments is outside any scope: it is fetched from another path than it names.
- Signed: a compact JWS, RS256 only (never `none` or an HMAC), whose payload is the assertion. The
  key must be listed in the Profile's `publicKey` (and be `verification.creator`, if that is
  given), its CryptographicKey document must name the Profile as `owner`, and it must be an RSA
  key of at least 2048 bits; at most MAX_KEYS listed keys are tried. Revocation: the Profile's
  `revocationList` (an entry naming the badge by id or uid).
- BadgeClass and Profile with an HTTP(S) `id` are fetched from it even when embedded: an embedded
  copy could claim any verification scope. Only those with an id that names no web address
  (urn:uuid) are taken as embedded; one that merely looks like a URL (HTTPS://..., https:/...) is
  neither.
- Endorsements (`endorsement` of the assertion, BadgeClass and Profile) are verified like hosted
  assertions and reported; they inform and never change the verdict.

Pure: documents come from the caller's `fetch(url, what)`, which raises Unavailable (the document
could not be had: INDETERMINATE) or Gone (HTTP 410)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import unquote, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.exceptions import InvalidTokenError

from registry.vc import json_text
from registry.vc.errors import DocumentError
from registry.vc.report import Check, Summary, VerificationReport

CONTEXT = "https://w3id.org/openbadges/v2"
OB1_CONTEXT = "https://w3id.org/openbadges/v1"
MIN_RSA_BITS = 2048
MAX_ENDORSEMENTS = 10  # fetched per badge at most: each is one or two requests
MAX_KEYS = 10  # keys of the issuer tried for one signature at most: each may be a request
CLOCK_SKEW = timedelta(minutes=5)
_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_HASH = re.compile(r"(sha256|md5)\$([0-9a-fA-F]+)")
HOSTED_TYPES = ("HostedBadge", "hosted")
SIGNED_TYPES = ("SignedBadge", "signed")


class Unavailable(Exception):
    """A document could not be had; the message says why, in one line."""


class Gone(Unavailable):
    """The server answered 410 Gone: for a hosted assertion, that is its revocation."""

    def __init__(self, reason: str, document: object = None) -> None:
        super().__init__(reason)
        self.document = document


Fetch = Callable[[str, str], object]  # (url, what a reason calls it) -> the parsed JSON


@dataclass
class Ob2Badge:
    """A verified (or not) OB 2.0 badge: the report, and every document it rests on."""

    form: str  # "hosted" or "signed"
    report: VerificationReport
    assertion: dict | None = None  # hosted: the copy fetched from its id
    badge_class: dict | None = None
    profile: dict | None = None
    token: str | None = None  # signed: the compact JWS
    endorsements: list[dict] = field(default_factory=list)  # the endorsements that verified
    documents: dict[str, object] = field(default_factory=dict)  # URL -> what was fetched from it


# --- recognising OB 2.0 input --------------------------------------------------------------------


def contexts_of(document: object) -> list:
    context = document.get("@context") if isinstance(document, dict) else None
    return context if isinstance(context, list) else [context]


def is_ob2(document: object) -> bool:
    """An OB 2.0 badge object: its @context is (or includes) the OB 2.0 context."""
    return CONTEXT in contexts_of(document)


def jws_payload(token: str) -> object:
    """The decoded (unverified) payload of a compact JWS, or None if it is not one."""
    parts = token.strip().split(".")
    if len(parts) != 3 or not _COMPACT.fullmatch(token.strip()):
        return None
    try:
        return json_text.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, UnicodeDecodeError, DocumentError):
        return None


def is_ob2_text(text: object) -> bool:
    """Whether text is an OB 2.0 assertion: JSON with the OB 2.0 context, or a JWS wrapping one."""
    if not isinstance(text, str):
        return is_ob2(text)
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            return is_ob2(json_text.loads(stripped))
        except DocumentError:
            return False
    return is_ob2(jws_payload(stripped))


# --- verification --------------------------------------------------------------------------------


def verify(given: str | dict, *, fetch: Fetch, now: datetime, recipient: str | None = None) -> Ob2Badge:
    """Verify an OB 2.0 assertion: its JSON (a dict or text), a compact JWS (signed), or the URL of
    a hosted assertion. DocumentError only for input that is none of these."""
    return _Verification(fetch, now).run(given, recipient)


class _Verification:
    def __init__(self, fetch: Fetch, now: datetime) -> None:
        self._fetch = fetch
        self.now = now
        self.documents: dict[str, object] = {}

    def fetch(self, url: str, what: str) -> object:
        if url in self.documents:
            return self.documents[url]
        document = self._fetch(url, what)
        self.documents[url] = document
        return document

    def run(self, given: str | dict, recipient: str | None) -> Ob2Badge:
        token = None
        if isinstance(given, str):
            text = given.strip()
            if text.startswith(("https://", "http://")) and not any(c.isspace() for c in text):
                given = {"id": text, "verification": {"type": "HostedBadge"}}
            elif text.startswith("{"):
                given = json_text.loads(text)
            elif jws_payload(text) is not None:
                token = text
                given = jws_payload(text)
            else:
                raise DocumentError("not an Open Badges 2.0 assertion: neither JSON, a compact JWS nor a URL")
        if not isinstance(given, dict):
            raise DocumentError(f"an assertion is a JSON object, got {type(given).__name__}")
        if OB1_CONTEXT in contexts_of(given):
            raise DocumentError("an Open Badges 1.x assertion: only 2.0 (and 3.0) badges can be verified")
        form = "signed" if token is not None else "hosted"
        verification = given.get("verification", given.get("verify"))
        declared = types_of(verification.get("type")) if isinstance(verification, dict) else []
        checks: list[Check] = []
        if token is None and set(declared) & set(SIGNED_TYPES):
            return self._report(form, [Check("proof", "fail", "the assertion declares SignedBadge verification "
                                             "but came without its JWS (the signature is the badge)")], given)
        if token is not None and not set(declared) & set(SIGNED_TYPES):
            return self._report(form, [Check("proof", "fail", "a JWS whose assertion does not declare "
                                             "SignedBadge verification")], given)
        if token is None and not set(declared) & set(HOSTED_TYPES):
            return self._report(form, [Check("document", "fail", "the assertion declares no verification "
                                             f"type (HostedBadge or SignedBadge), got {declared or 'none'}")], given)

        # The assertion itself: a hosted one is what its id serves now.
        assertion, status = given, None
        if form == "hosted":
            assertion, proof, status = self._hosted_copy(given)
            if proof is not None:
                checks.append(proof)
        document_check = _document_check(assertion, revoked=status is not None)
        badge_class, profile, parts = self._badge_class_and_profile(assertion)
        schema = _schema_check(assertion, badge_class, profile, parts, revoked=status is not None)
        checks[:0] = [document_check, schema]
        if form == "hosted" and not any(c.name == "proof" for c in checks):
            checks.append(Check("proof", "pass", f"served at its id {assertion.get('id')}", code="proof.hosted"))
        if form == "signed":
            checks.append(self._signature(token, assertion, profile))
            checks.append(_signed_scope(assertion, profile))
        else:
            checks.append(_hosted_scope(assertion, badge_class, profile))
        checks += [_issued_on(assertion, self.now), _expires(assertion, self.now)]
        checks.append(status or (self._revocation_list(assertion, profile) if form == "signed"
                                 else _hosted_status(assertion)))
        if recipient is not None:
            checks.append(_recipient_check(assertion, recipient))
        endorsement_check, endorsements = self._endorsements(assertion, badge_class, profile)
        checks.append(endorsement_check)
        badge = self._report(form, checks, assertion, badge_class, profile)
        badge.token, badge.endorsements = token, endorsements
        return badge

    def _report(self, form: str, checks: list[Check], assertion: dict, badge_class: dict | None = None,
                profile: dict | None = None) -> Ob2Badge:
        issuer_id = profile.get("id") if isinstance(profile, dict) and isinstance(profile.get("id"), str) else None
        assertion_id = assertion.get("id") if isinstance(assertion.get("id"), str) else None
        report = VerificationReport.of(assertion_id, issuer_id, checks, _summary(assertion, badge_class, profile))
        return Ob2Badge(form, report, assertion, badge_class, profile, documents=dict(self.documents))

    # --- hosted ---------------------------------------------------------------------------------

    def _hosted_copy(self, given: dict) -> tuple[dict, Check | None, Check | None]:
        """(the assertion, a failed proof check or None, a revoked status check or None)."""
        assertion_id = given.get("id")
        if not is_http(assertion_id):
            return given, Check("proof", "fail", f"a hosted assertion's id must be an HTTP(S) URL, got {assertion_id!r}"), None
        try:
            hosted = self.fetch(assertion_id, "the hosted assertion")
        except Gone as gone:
            body = gone.document if isinstance(gone.document, dict) else {}
            reason = body.get("revocationReason") if isinstance(body.get("revocationReason"), str) else None
            return given, None, Check("status", "fail", f"revoked: {assertion_id} answers 410 Gone"
                                      + (f" ({_line(reason)})" if reason else ""), code="status.revoked-hosted")
        except Unavailable as exc:
            return given, Check("proof", "indeterminate", str(exc), code="proof.unavailable"), None
        if not isinstance(hosted, dict):
            return given, Check("proof", "fail", f"{assertion_id} serves no assertion (a JSON object)"), None
        if hosted.get("id") != assertion_id:
            return given, Check("proof", "fail", f"{assertion_id} serves an assertion with another id "
                                f"({hosted.get('id')!r})"), None
        if hosted.get("revoked") is True:
            reason = hosted.get("revocationReason")
            return hosted, None, Check("status", "fail", "revoked: the hosted assertion says so"
                                       + (f" ({_line(reason)})" if isinstance(reason, str) else ""), code="status.revoked-hosted")
        return hosted, None, None

    def _badge_class_and_profile(self, assertion: dict) -> tuple[dict | None, dict | None, list[str]]:
        """The BadgeClass and issuer Profile, and what kept either from being had."""
        problems: list[str] = []
        badge_class = self._object(assertion.get("badge"), "the BadgeClass", problems)
        profile = None
        if badge_class is not None:
            profile = self._object(badge_class.get("issuer"), "the issuer Profile", problems)
        return badge_class, profile, problems

    def _object(self, ref: object, what: str, problems: list[str]) -> dict | None:
        """An object named by URL or embedded; one with an HTTP(S) id is what that id serves."""
        url = ref if isinstance(ref, str) else ref.get("id") if isinstance(ref, dict) else None
        if is_http(url):
            try:
                found = self.fetch(url, what)
            except Unavailable as exc:
                problems.append(f"unavailable: {exc}")
                return None
            if not isinstance(found, dict) or found.get("id") != url:
                problems.append(f"{what} at {url} is not a JSON object with that id")
                return None
            return found
        if isinstance(ref, dict):
            # Embedded is trusted only under an id that is no web address at all (urn:uuid): one
            # that merely looks like one (HTTPS://, " https://", https:/host) would be taken on the
            # document's word while the report names it as that issuer's URL.
            if url is not None and not _is_urn_like(url):
                problems.append(f"{what} has the id {url!r}: neither an HTTP(S) URL to fetch it from nor a URN")
                return None
            return ref
        problems.append(f"{what} is missing" if ref is None else f"{what} is neither embedded nor an HTTP(S) URL: {ref!r}")
        return None

    # --- signed ---------------------------------------------------------------------------------

    def _signature(self, token: str, assertion: dict, profile: dict | None) -> Check:
        try:
            header = jwt.get_unverified_header(token)
        except InvalidTokenError as exc:
            return Check("proof", "fail", f"the JWS header cannot be read: {exc}")
        alg = header.get("alg")
        if alg != "RS256":
            return Check("proof", "fail", f"a signed OB 2.0 badge is verified with RS256 only, the JWS says alg {alg!r}",
                         code="proof.malformed")
        if "crit" in header:
            return Check("proof", "fail", f"the JWS header has crit {header['crit']!r}: not understood")
        if profile is None:
            return Check("proof", "indeterminate", "the issuer Profile, which lists the keys, could not be had",
                         code="proof.unavailable")
        keys, problem = _listed_keys(assertion, profile)
        if problem:
            return Check("proof", "fail", problem)
        unavailable, unusable = [], []
        # Each listed key may be a fetch: a Profile listing thousands would have the registry
        # request them all (from any host) for one badge. Past MAX_KEYS, the badge names its key.
        for key_ref in keys[:MAX_KEYS]:
            try:
                public_key, key_id = self._key(key_ref, profile)
            except Unavailable as exc:
                unavailable.append(str(exc))
                continue
            except DocumentError as exc:  # another listed key may still be the one
                unusable.append(str(exc))
                continue
            try:
                jwt.PyJWS().decode_complete(token, key=public_key, algorithms=["RS256"])
            except InvalidTokenError:
                continue
            return Check("proof", "pass", f"JWS (RS256) signed with {key_id}, a key of issuer {profile.get('id')}",
                         code="proof.verified", params={"method": key_id})
        if unavailable:
            return Check("proof", "indeterminate", "; ".join(unavailable), code="proof.unavailable")
        if len(keys) > MAX_KEYS:
            return Check("proof", "indeterminate", f"the issuer Profile lists {len(keys)} keys and none of the first "
                         f"{MAX_KEYS} verifies: a badge signed with another names it (verification.creator)",
                         code="proof.unavailable")
        if unusable:
            return Check("proof", "fail", "; ".join(unusable))
        return Check("proof", "fail", "the JWS signature does not verify with any key of the issuer",
                     code="proof.mismatch")

    def _key(self, ref: object, profile: dict) -> tuple[rsa.RSAPublicKey, str]:
        key_id = ref if isinstance(ref, str) else ref.get("id") if isinstance(ref, dict) else None
        document = ref if isinstance(ref, dict) and isinstance(ref.get("publicKeyPem"), str) else None
        if document is None:
            if not is_http(key_id):
                raise DocumentError(f"the issuer's key {key_id!r} is neither embedded nor an HTTP(S) URL")
            document = self.fetch(key_id, "the issuer's CryptographicKey")
        if not isinstance(document, dict) or not isinstance(document.get("publicKeyPem"), str):
            raise DocumentError(f"the CryptographicKey {key_id} has no publicKeyPem")
        owner = document.get("owner")
        if owner != profile.get("id"):
            raise DocumentError(f"the CryptographicKey {key_id} names owner {owner!r}, not the issuer {profile.get('id')}")
        try:
            public_key = serialization.load_pem_public_key(document["publicKeyPem"].encode("ascii"))
        except (ValueError, UnicodeEncodeError, TypeError) as exc:
            raise DocumentError(f"the publicKeyPem of {key_id} is not a PEM public key ({exc})") from None
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise DocumentError(f"the key {key_id} is not an RSA key (RS256 needs one)")
        if public_key.key_size < MIN_RSA_BITS:
            raise DocumentError(f"the key {key_id} has {public_key.key_size} bits, fewer than {MIN_RSA_BITS}")
        return public_key, str(key_id or document.get("id"))

    def _revocation_list(self, assertion: dict, profile: dict | None) -> Check:
        if assertion.get("revoked") is True:
            return Check("status", "fail", "revoked: the assertion says so", code="status.revoked-hosted")
        if profile is None:
            return Check("status", "indeterminate", "the issuer Profile, which names the revocation list, could not be had",
                         code="status.unknown")
        url = profile.get("revocationList")
        if url is None:
            return Check("status", "pass", "the issuer publishes no revocation list", code="status.active")
        if not is_http(url):
            return Check("status", "fail", f"the issuer's revocationList is not an HTTP(S) URL: {url!r}")
        try:
            found = self.fetch(url, "the issuer's revocation list")
        except Unavailable as exc:
            return Check("status", "indeterminate", f"status unknown: {exc}", code="status.unknown")
        revoked = found.get("revokedAssertions") if isinstance(found, dict) else None
        if not isinstance(revoked, list) or "RevocationList" not in types_of(found.get("type")):
            return Check("status", "indeterminate", f"{url} is not a RevocationList with revokedAssertions",
                         code="status.unknown")
        keys = {("id", _revocation_key(assertion.get("id"))), ("uid", _revocation_key(assertion.get("uid")))} - \
            {("id", None), ("uid", None)}
        for entry in revoked:
            # An entry is an id, or an object naming the badge by id or (legacy) uid: either counts,
            # and a urn:uuid is the same UUID in capitals (RFC 9562 compares them without case).
            listed = {("id", _revocation_key(entry))} if isinstance(entry, str) else set()
            if isinstance(entry, dict):
                listed = {("id", _revocation_key(entry.get("id"))), ("uid", _revocation_key(entry.get("uid")))}
            if listed & keys:
                reason = entry.get("revocationReason") if isinstance(entry, dict) else None
                return Check("status", "fail", f"revoked: listed in {url}" + (f" ({_line(reason)})" if isinstance(reason, str) else ""),
                             code="status.revoked-list")
        return Check("status", "pass", f"not in the issuer's revocation list {url}", code="status.active")

    # --- endorsements ---------------------------------------------------------------------------

    def _endorsements(self, *objects: dict | None) -> tuple[Check, list[dict]]:
        refs = []
        for endorsed in objects:
            if not isinstance(endorsed, dict):
                continue
            found = endorsed.get("endorsement")
            for ref in found if isinstance(found, list) else [] if found is None else [found]:
                refs.append((ref, endorsed.get("id")))
        if not refs:
            return Check("endorsements", "skip", "no OB 2.0 endorsements"), []
        details, verified = [], []
        for ref, subject in refs[:MAX_ENDORSEMENTS]:
            outcome, reason, document = self._endorsement(ref, subject)
            details.append({"id": (document or {}).get("id") or (ref if isinstance(ref, str) else None),
                            "subject": subject, "outcome": outcome, "reason": reason})
            if outcome == "pass":
                verified.append(document)
        skipped = len(refs) - MAX_ENDORSEMENTS
        passed = len(verified)
        reason = f"{passed} of {min(len(refs), MAX_ENDORSEMENTS)} OB 2.0 endorsements verify" + \
            (f"; {skipped} more were not fetched" if skipped > 0 else "")
        return Check("endorsements", "pass" if passed == len(refs) else "warn", reason, details=details), verified

    def _endorsement(self, ref: object, subject: object) -> tuple[str, str, dict | None]:
        problems: list[str] = []
        endorsement = self._object(ref, "the endorsement", problems)
        if endorsement is None:
            return "indeterminate" if any(p.startswith("unavailable") for p in problems) else "fail", "; ".join(problems), None
        if "Endorsement" not in types_of(endorsement.get("type")):
            return "fail", "not of type Endorsement", endorsement
        claim = endorsement.get("claim")
        if not isinstance(claim, dict) or claim.get("id") != subject:
            return "fail", f"its claim is about {claim.get('id') if isinstance(claim, dict) else None!r}, not {subject!r}", endorsement
        verification = endorsement.get("verification", endorsement.get("verify"))
        if not (isinstance(verification, dict) and set(types_of(verification.get("type"))) & set(HOSTED_TYPES)):
            return "indeterminate", "only hosted endorsements are verified", endorsement
        if not is_http(endorsement.get("id")) or endorsement is ref:
            return "fail", "a hosted endorsement must be served at its HTTP(S) id", endorsement
        endorser = self._object(endorsement.get("issuer"), "the endorser's Profile", problems)
        if endorser is None:
            return "indeterminate", "; ".join(problems), endorsement
        scope = _hosted_scope(endorsement, None, endorser)
        if scope.outcome != "pass":
            return "fail", scope.reason, endorsement
        name = endorser.get("name") if isinstance(endorser.get("name"), str) else endorser.get("id")
        return "pass", f"endorsed by {name}", endorsement


# --- the checks that need no network -------------------------------------------------------------


def _document_check(assertion: dict, *, revoked: bool) -> Check:
    types = types_of(assertion.get("type"))
    if "Assertion" not in types and not revoked:
        return Check("document", "fail", f"an OB 2.0 assertion has type Assertion, got {types or 'none'}")
    return Check("document", "pass", f"an Open Badges 2.0 assertion ({assertion.get('id')})", code="document.ok",
                 params={"types": "Assertion"})


def _schema_check(assertion: dict, badge_class: dict | None, profile: dict | None, problems: list[str],
                  *, revoked: bool) -> Check:
    """OB 2.0 data validation: required properties and their types, per class."""
    # A revoked assertion may be stripped down to id and revoked: nothing more is required of it.
    errors = [] if revoked else [p for p in problems if not p.startswith("unavailable")]
    if not revoked:
        errors += _assertion_errors(assertion)
        if badge_class is not None:
            errors += _badge_class_errors(badge_class)
        if profile is not None:
            errors += _profile_errors(profile)
    if errors:
        return Check("schema", "fail", "; ".join(errors), code="schema.ob2-fails")
    unavailable = [p.removeprefix("unavailable: ") for p in problems if p.startswith("unavailable")]
    if unavailable:
        return Check("schema", "indeterminate", "; ".join(unavailable))
    return Check("schema", "pass", "the assertion, BadgeClass and issuer Profile have what OB 2.0 requires",
                 code="schema.ob2")


def _assertion_errors(assertion: dict) -> list[str]:
    errors = _required(assertion, "Assertion", ("id", "recipient", "badge", "issuedOn"))
    if "verification" not in assertion and "verify" not in assertion:
        errors.append("Assertion: 'verification' is required")
    recipient = assertion.get("recipient")
    if isinstance(recipient, dict):
        if not isinstance(recipient.get("type"), str) or not isinstance(recipient.get("identity"), str):
            errors.append("Assertion: recipient needs a type and an identity (strings)")
        elif recipient.get("hashed") is True and not _HASH.fullmatch(recipient["identity"]):
            errors.append("Assertion: a hashed recipient identity is 'sha256$<hex>' or 'md5$<hex>'")
        if "salt" in recipient and not isinstance(recipient["salt"], (str, type(None))):
            errors.append("Assertion: recipient salt must be a string")
        # OB 1.x's "true" is no Boolean: read as not hashed, a hash would be taken for an address.
        if recipient.get("hashed") is not None and not isinstance(recipient["hashed"], bool):
            errors.append(f"Assertion: recipient hashed must be a Boolean, got {recipient['hashed']!r:.40}")
    elif "recipient" in assertion:
        errors.append("Assertion: recipient must be an IdentityObject")
    # `"revoked": "true"` is not `true`: read as not revoked, it would leave a revoked badge VALID.
    if assertion.get("revoked") is not None and not isinstance(assertion.get("revoked"), bool):
        errors.append(f"Assertion: revoked must be a Boolean, got {assertion['revoked']!r:.40}")
    for name in ("issuedOn", "expires"):
        if name in assertion:
            try:
                _datetime(assertion[name], name)
            except DocumentError as exc:
                errors.append(f"Assertion: {exc}")
    return errors


def _badge_class_errors(badge_class: dict) -> list[str]:
    errors = _required(badge_class, "BadgeClass", ("id", "name", "description", "image", "criteria", "issuer"))
    if "BadgeClass" not in types_of(badge_class.get("type")):
        errors.append("BadgeClass: type must include BadgeClass")
    return errors


def _profile_errors(profile: dict) -> list[str]:
    errors = _required(profile, "Profile", ("id", "name", "url", "email"))
    if not {"Issuer", "Profile"} & set(types_of(profile.get("type"))):
        errors.append("Profile: type must include Issuer or Profile")
    return errors


def _required(document: dict, cls: str, names: tuple[str, ...]) -> list[str]:
    errors = []
    for name in names:
        value = document.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            errors.append(f"{cls}: '{name}' is required")
        elif name in ("id", "name", "description", "url", "email") and not isinstance(value, str):
            errors.append(f"{cls}: '{name}' must be a string")
    return errors


def _hosted_scope(assertion: dict, badge_class: dict | None, profile: dict | None) -> Check:
    """OB 2.0 VerificationObject: the assertion's id within the issuer's declared scope."""
    if profile is None:
        return Check("issuer-match", "indeterminate", "the issuer Profile could not be had, so its verification "
                     "scope is unknown", code="issuer-match.unknown")
    policy = profile.get("verification", profile.get("verify"))
    assertion_id = assertion.get("id")
    if not is_http(assertion_id):
        return Check("issuer-match", "fail", f"the assertion's id {assertion_id!r:.200} is not an HTTP(S) URL, so no "
                     "verification scope can hold it")
    # The client fetches /a/../b as /b (and servers read %2e%2e as ..): such an id starts with what
    # the issuer allows and is served from outside it.
    if _dot_segments(assertion_id):
        return Check("issuer-match", "fail", f"{assertion_id} has . or .. path segments: it is fetched from "
                     "another path than it names", code="issuer-match.outside")
    host = urlsplit(assertion_id).hostname or ""
    if isinstance(policy, dict):
        prop = policy.get("verificationProperty", "id")
        if prop not in ("id", "@id"):
            return Check("issuer-match", "fail", f"verificationProperty {prop!r}: only id is supported")
        origins = _strings(policy.get("allowedOrigins"))
        prefixes = _strings(policy.get("startsWith"))
        if origins and host not in {o.lower() for o in origins}:
            return Check("issuer-match", "fail", f"{assertion_id} is not on an origin the issuer allows ({', '.join(origins)})",
                         code="issuer-match.outside")
        # A prefix names a host too: https://issuer.example is no prefix of issuer.example.evil.example.
        if prefixes and not any(assertion_id.startswith(p) and _authority(p) in (None, _authority(assertion_id))
                                for p in prefixes):
            return Check("issuer-match", "fail", f"{assertion_id} does not start with what the issuer allows "
                         f"({', '.join(prefixes)})", code="issuer-match.outside")
        if origins or prefixes:
            return Check("issuer-match", "pass", f"{assertion_id} is within the verification scope of issuer "
                         f"{profile.get('id')}", code="issuer-match.scope")
    profile_id = profile.get("id")
    if not is_http(profile_id):
        return Check("issuer-match", "fail", f"the issuer Profile's id {profile_id!r} is not an HTTP(S) URL, so "
                     "nothing binds a hosted assertion to it")
    # The same origin: host and port (https://issuer.example:8443 is another server).
    origin = _authority(profile_id)
    hosted = [("the assertion", assertion_id)] + ([("the BadgeClass", badge_class.get("id"))]
                                                  if badge_class is not None and is_http(badge_class.get("id")) else [])
    for what, url in hosted:
        if _authority(url) != origin:
            return Check("issuer-match", "fail", f"{what} ({url}) is not on the issuer's origin {_shown(origin)}, and "
                         "the issuer declares no other", code="issuer-match.outside")
    return Check("issuer-match", "pass", f"hosted on the origin of issuer {profile_id}", code="issuer-match.scope")


def _authority(url: str) -> tuple[str, int | None] | None:
    """(host, port) of an HTTP(S) URL, the scheme's default port as None; None for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ("", -1)  # an invalid port matches nothing
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts.hostname, None if port == {"http": 80, "https": 443}[parts.scheme] else port


def _shown(authority: tuple[str, int | None] | None) -> str:
    return "?" if authority is None else authority[0] if authority[1] is None else f"{authority[0]}:{authority[1]}"


def _dot_segments(url: str) -> bool:
    """Whether a URL's path has . or .. segments, percent-encoded or with backslashes as well."""
    path = unquote(urlsplit(url).path).replace("\\", "/")
    return any(segment in (".", "..") for segment in path.split("/"))


def _listed_keys(assertion: dict, profile: dict) -> tuple[list, str | None]:
    listed = profile.get("publicKey")
    keys = listed if isinstance(listed, list) else [] if listed is None else [listed]
    if not keys:
        return [], f"the issuer Profile {profile.get('id')} lists no publicKey"
    verification = assertion.get("verification", assertion.get("verify"))
    creator = verification.get("creator") if isinstance(verification, dict) else None
    if creator is None:
        return keys, None
    ids = [k if isinstance(k, str) else k.get("id") if isinstance(k, dict) else None for k in keys]
    if creator not in ids:
        return [], f"the signing key {creator} is not listed in the issuer Profile's publicKey"
    return [keys[ids.index(creator)]], None


def _signed_scope(assertion: dict, profile: dict | None) -> Check:
    if profile is None:
        return Check("issuer-match", "indeterminate", "the issuer Profile could not be had", code="issuer-match.unknown")
    return Check("issuer-match", "pass", f"signed with a key the issuer Profile {profile.get('id')} lists and owns",
                 code="issuer-match.key")


def _issued_on(assertion: dict, now: datetime) -> Check:
    try:
        issued = _datetime(assertion.get("issuedOn"), "issuedOn")
    except DocumentError as exc:
        return Check("valid-from", "fail", str(exc))
    if issued > now + CLOCK_SKEW:
        return Check("valid-from", "fail", f"issued on {assertion['issuedOn']}, which is in the future",
                     code="valid-from.not-yet", params={"when": assertion["issuedOn"]})
    return Check("valid-from", "pass", f"issued on {assertion['issuedOn']}", code="valid-from.pass",
                 params={"when": assertion["issuedOn"]})


def _expires(assertion: dict, now: datetime) -> Check:
    if assertion.get("expires") is None:
        return Check("valid-until", "pass", "no expiry date", code="valid-until.never")
    try:
        until = _datetime(assertion["expires"], "expires")
    except DocumentError as exc:
        return Check("valid-until", "fail", str(exc))
    if until <= now:
        return Check("valid-until", "fail", f"expired on {assertion['expires']}", code="valid-until.expired",
                     params={"when": assertion["expires"]})
    return Check("valid-until", "pass", f"valid until {assertion['expires']}", code="valid-until.pass",
                 params={"when": assertion["expires"]})


def _hosted_status(assertion: dict) -> Check:
    return Check("status", "pass", f"not revoked: {assertion.get('id')} still serves it", code="status.active")


def _recipient_check(assertion: dict, wanted: str) -> Check:
    recipient = assertion.get("recipient") if isinstance(assertion.get("recipient"), dict) else {}
    if recipient_matches(recipient, wanted):
        return Check("recipient", "pass", f"issued to {wanted}", code="recipient.yes", params={"recipient": wanted})
    return Check("recipient", "fail", f"not issued to {wanted}: the assertion names another recipient",
                 code="recipient.no", params={"recipient": wanted})


def recipient_matches(recipient: dict, wanted: str) -> bool:
    """Whether an IdentityObject names `wanted` (its hash salted as it says, or its plain value;
    e-mail addresses compared without case, as OB 2.0 issuers hash them lowercased)."""
    identity = recipient.get("identity")
    if not isinstance(identity, str):
        return False
    salt = recipient.get("salt") if isinstance(recipient.get("salt"), str) else ""
    candidates = {wanted.strip(), wanted.strip().lower()}
    if recipient.get("hashed") is True:
        match = _HASH.fullmatch(identity)
        if match is None:
            return False
        algorithm, digest = match.group(1), match.group(2).lower()
        return any(hmac.compare_digest(hashlib.new(algorithm, (c + salt).encode("utf-8")).hexdigest(), digest)
                   for c in candidates)
    return identity.strip().lower() in {c.lower() for c in candidates}


def _summary(assertion: dict, badge_class: dict | None, profile: dict | None) -> Summary:
    recipient = assertion.get("recipient") if isinstance(assertion.get("recipient"), dict) else {}
    kind = recipient.get("type") if isinstance(recipient.get("type"), str) else None
    shown = None if kind is None else f"{kind} ({'hashed' if recipient.get('hashed') else 'plain'})"
    text = lambda d, k: d.get(k) if isinstance(d, dict) and isinstance(d.get(k), str) else None  # noqa: E731
    return Summary(kind="credential", name=text(badge_class, "name"), issuer_id=text(profile, "id"),
                   issuer_name=text(profile, "name"), recipient=shown, issued=text(assertion, "issuedOn"),
                   valid_until=text(assertion, "expires"))


# --- small helpers -------------------------------------------------------------------------------


def types_of(value: object) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return [v for v in values if isinstance(v, str)]


def _strings(value: object) -> list[str]:
    return types_of(value)


def is_http(value: object) -> bool:
    if not (isinstance(value, str) and value.startswith(("https://", "http://"))):
        return False
    try:
        return bool(urlsplit(value).hostname)
    except ValueError:  # "https://[" (an unclosed IPv6 literal) is no URL
        return False


def _is_urn_like(value: object) -> bool:
    """An id that names no web address (urn:uuid:..., a DID, a tag: URI): what an embedded object
    may be known by without being fetched."""
    return isinstance(value, str) and value.lower().startswith(("urn:", "did:", "tag:"))


def _line(text: str) -> str:
    """The issuer's text (a revocation reason) in a reason, which is one line."""
    return " ".join(text.split())[:500]


def _revocation_key(value: object) -> str | None:
    """An assertion id or uid as a revocation list is matched against it (a urn:uuid without
    case); None for anything but text."""
    if not isinstance(value, str):
        return None
    return value.lower() if value.lower().startswith("urn:uuid:") else value


def _datetime(value: object, name: str) -> datetime:
    """OB 2.0 DateTime: ISO 8601 with a time zone (v1's Unix timestamps and bare dates are not)."""
    if not isinstance(value, str):
        raise DocumentError(f"{name} must be an ISO 8601 date-time string, got {value!r}")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise DocumentError(f"{name} {value!r} is not an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        raise DocumentError(f"{name} {value!r} has no time zone, which OB 2.0 requires")
    try:
        return moment.astimezone(timezone.utc)
    except (OverflowError, ValueError):  # 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise DocumentError(f"{name} {value!r} is out of range") from None


def datetime_of(value: object, name: str) -> datetime:
    """An OB 2.0 DateTime, for the mapping to OB 3.0."""
    return _datetime(value, name)


# --- proof of control of a Profile ---------------------------------------------------------------


def signed_claim(token: str, profile: dict, fetch: Fetch) -> dict:
    """The claims of a JWS (RS256) that verifies with a key the Profile lists and owns: how an
    issuer that signs its badges proves it controls the Profile. DocumentError naming what fails;
    Unavailable when the key cannot be had."""
    try:
        header = jwt.get_unverified_header(token.strip())
    except InvalidTokenError as exc:
        raise DocumentError(f"the signed claim is not a JWS: {exc}") from None
    if header.get("alg") != "RS256":
        raise DocumentError(f"the signed claim must use RS256, it says alg {header.get('alg')!r}")
    verification = _Verification(fetch, datetime.now(timezone.utc))
    keys, problem = _listed_keys({}, profile)
    if problem:
        raise DocumentError(problem)
    unusable = []
    for ref in keys[:MAX_KEYS]:  # as for a badge: each may be a request
        try:
            public_key, _ = verification._key(ref, profile)
        except DocumentError as exc:  # another listed key may still be the one
            unusable.append(str(exc))
            continue
        try:
            return json_text.loads(jwt.PyJWS().decode(token.strip(), key=public_key, algorithms=["RS256"]))
        except InvalidTokenError:
            continue
    raise DocumentError("the signed claim does not verify with any key the Profile lists"
                        + (f" ({'; '.join(unusable)})" if unusable else ""))


def own_texts(profile: dict):
    """The Profile's own text values (its description, name, ...: strings and lists of them), where
    a claim token is looked for. Not what is nested in it (an embedded endorsement is its endorser's
    words, an embedded key or image may be a copy of someone else's document), nor its endorsements
    at all (an endorsement's URL is its endorser's choice), nor its id (the URL the one proving
    chose)."""
    for name, value in profile.items():
        if name in ("id", "@id", "endorsement"):
            continue
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str):
                yield text
