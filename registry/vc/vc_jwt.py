"""VC-JWT: Open Badges 3.0's JSON Web Token Proof Format (OB 3.0 section 8.2), verified, never issued.

A compact JWS whose payload is the credential with the claims iss, sub, jti, nbf (and exp), or, as
VC 1.1 implementations write it, a payload whose `vc` claim holds the credential. Signatures are
checked by PyJWT; what this module adds is what OB says about the claims and which keys count:

- alg EdDSA (Ed25519), ES256 (P-256) or RS256 (RSA of at least 2048 bits); never `none` or an
  HMAC, and no `crit` header (nothing here understands an extension that must be understood);
- the claims must agree with the credential they wrap (iss = issuer.id, sub = credentialSubject.id,
  jti = id, nbf = validFrom, exp = validUntil; VC 1.1's issuanceDate and expirationDate likewise),
  and where the credential leaves one out the claim stands for it (VC Data Model 1.1, 6.3.1);
- a `jwk` in the header is only the signer's word: it must never carry a private part, and which
  key is the issuer's is decided by the caller (registry.vc.verification), not by the token."""

from __future__ import annotations

import base64
import copy
import re
from datetime import datetime, timezone
from typing import Literal, Union

import jwt
import msgspec
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.exceptions import InvalidTokenError, PyJWKError

from registry.vc import json_text, multikey
from registry.vc.errors import DocumentError
from registry.vc.openbadges import is_vc_1_1, parse_datetimez, validity

PublicKey = Union[ed25519.Ed25519PublicKey, ec.EllipticCurvePublicKey, rsa.RSAPublicKey]

ALGORITHMS = ("EdDSA", "ES256", "RS256")
_TYPES = (None, "JWT", "vc+jwt")  # OB 3.0 says "JWT"; VC-JOSE-COSE says "vc+jwt"
_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
MIN_RSA_BITS = 2048
MAX_TOKEN_CHARS = 2 * 1024 * 1024


class Jws(msgspec.Struct, frozen=True):
    """A parsed, not yet verified, VC-JWT. `credential` is what the payload says, with the claims
    standing in for members the credential leaves out (never overriding one it has)."""

    token: str
    header: dict
    claims: dict
    credential: dict
    form: Literal["credential", "vc claim"]


def is_compact(text: object) -> bool:
    """Whether `text` is a compact JWS (three base64url parts), e.g. a file's content."""
    return isinstance(text, str) and len(text) <= MAX_TOKEN_CHARS and _COMPACT.fullmatch(text.strip()) is not None


def parse(token: str) -> Jws:
    """The header, claims and credential of a compact JWS; DocumentError naming what is wrong."""
    token = token.strip()
    if not is_compact(token):
        raise DocumentError("not a compact JWS (three base64url parts separated by '.')")
    try:
        declared = json_text.loads(base64.urlsafe_b64decode(token.split(".", 1)[0] + "=="))
    except (ValueError, UnicodeDecodeError) as exc:
        raise DocumentError(f"the JOSE header is not base64url JSON: {exc}") from None
    if isinstance(declared, dict) and "crit" in declared:
        # Said here, before PyJWT reads the token its own way: nothing here understands an extension.
        raise DocumentError(f"the JOSE header has crit {declared['crit']!r}: extensions that must be "
                            "understood are not")
    try:
        header = jwt.get_unverified_header(token)
        payload = jwt.PyJWS().decode_complete(token, options={"verify_signature": False})["payload"]
    except InvalidTokenError as exc:
        raise DocumentError(f"the JWS cannot be read: {exc}") from None
    try:
        claims = json_text.loads(payload)
    except ValueError as exc:
        raise DocumentError(f"the JWT payload is not JSON: {exc}") from None
    if not isinstance(claims, dict):
        raise DocumentError(f"the JWT payload must be a JSON object, got {type(claims).__name__}")
    if "vc" in claims:
        if not isinstance(claims["vc"], dict):
            raise DocumentError("the JWT's vc claim must be a JSON object (the credential)")
        credential, form = copy.deepcopy(claims["vc"]), "vc claim"
    else:
        credential = {k: copy.deepcopy(v) for k, v in claims.items() if k not in ("iss", "sub", "jti", "nbf", "exp", "iat")}
        form = "credential"
    _fill_from_claims(credential, claims)
    return Jws(token, header, claims, credential, form)


def _fill_from_claims(credential: dict, claims: dict) -> None:
    """VC Data Model 1.1, 6.3.1: a member the credential leaves out is the claim's (OB 3.0: exp
    "MUST be used to set the value of validUntil")."""
    if isinstance(claims.get("iss"), str) and credential.get("issuer") is None:
        credential["issuer"] = claims["iss"]
    if isinstance(claims.get("jti"), str) and credential.get("id") is None:
        credential["id"] = claims["jti"]
    subject = credential.get("credentialSubject")
    if isinstance(claims.get("sub"), str) and isinstance(subject, dict) and subject.get("id") is None \
            and "identifier" not in subject:
        subject["id"] = claims["sub"]
    for claim, end in (("nbf", "from"), ("exp", "until")):
        moment = _numeric_date(claims.get(claim))
        value, name = validity(credential, end)
        if moment is not None and value is None:
            credential[name] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _numeric_date(value: object) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return datetime.fromtimestamp(int(value), timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def claim_problems(jws: Jws) -> list[str]:
    """Where the JWT's claims and the credential it wraps disagree (OB 3.0 section 8.2.4.1)."""
    credential, claims = jws.credential, jws.claims
    problems = []
    issuer = credential.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    if "iss" not in claims:
        problems.append("the JWT has no iss claim")
    elif claims["iss"] != issuer_id:
        problems.append(f"iss {claims['iss']!r} is not the credential's issuer {issuer_id!r}")
    subject = credential.get("credentialSubject")
    subject_id = subject.get("id") if isinstance(subject, dict) else None
    if "sub" in claims and claims["sub"] != subject_id:
        problems.append(f"sub {claims['sub']!r} is not the credential subject {subject_id!r}")
    elif "sub" not in claims and subject_id is not None:
        problems.append("the JWT has no sub claim, but the credential subject has an id")
    if "jti" in claims and claims["jti"] != credential.get("id"):
        problems.append(f"jti {claims['jti']!r} is not the credential's id {credential.get('id')!r}")
    for claim, end, required in (("nbf", "from", True), ("exp", "until", False)):
        value, name = validity(credential, end)
        if claim not in claims:
            if required:
                problems.append(f"the JWT has no {claim} claim")
            continue
        moment = _numeric_date(claims[claim])
        if moment is None:
            problems.append(f"{claim} {claims[claim]!r} is not a NumericDate")
            continue
        try:
            stated = parse_datetimez(value, name)
        except DocumentError:
            continue  # the validity checks say what is wrong with the date itself
        if int(stated.timestamp()) != int(moment.timestamp()):
            problems.append(f"{claim} {moment.strftime('%Y-%m-%dT%H:%M:%SZ')} is not the credential's {name} {value}")
    return problems


def signed_at(jws: Jws) -> str | None:
    """When the signer says it signed (iat, else nbf), as an XML Schema dateTime."""
    for claim in ("iat", "nbf"):
        moment = _numeric_date(jws.claims.get(claim))
        if moment is not None:
            return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return None


def header_problem(jws: Jws) -> str | None:
    header = jws.header
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        return f"alg {alg!r} is not accepted (EdDSA, ES256 or RS256)"
    if header.get("typ") not in _TYPES:
        return f"typ {header.get('typ')!r} is not JWT"
    if "kid" not in header and "jwk" not in header:
        return "the JOSE header has neither kid nor jwk: there is no key to check the signature with"
    if "kid" in header and not isinstance(header["kid"], str):
        return "kid must be a string"
    return None


def key_from_jwk(jwk: object) -> PublicKey:
    """The public key of a JWK (OKP Ed25519, EC P-256, RSA); DocumentError for a private key, a
    curve or type not accepted, or an RSA key under MIN_RSA_BITS."""
    if not isinstance(jwk, dict):
        raise DocumentError("the jwk must be a JSON object")
    if "d" in jwk or "p" in jwk:
        raise DocumentError("the jwk holds a private key (it must never carry \"d\")")
    try:
        key = jwt.PyJWK(jwk).key
    except (PyJWKError, InvalidTokenError, ValueError, TypeError) as exc:
        raise DocumentError(f"the jwk is not a usable public key: {exc}") from None
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        raise DocumentError(f"the RSA key has {key.key_size} bits; at least {MIN_RSA_BITS} are required")
    if isinstance(key, ec.EllipticCurvePublicKey) and not isinstance(key.curve, ec.SECP256R1):
        raise DocumentError(f"EC keys must be on P-256, not {key.curve.name}")
    if not isinstance(key, (ed25519.Ed25519PublicKey, ec.EllipticCurvePublicKey, rsa.RSAPublicKey)):
        raise DocumentError(f"the jwk is a {type(key).__name__}; Ed25519, P-256 and RSA keys are accepted")
    return key


def key_from_method(method: dict, vm_id: str) -> PublicKey:
    """The public key of a DID document's verification method: publicKeyJwk, or an Ed25519
    Multikey / Ed25519VerificationKey2020."""
    if isinstance(method.get("publicKeyJwk"), dict):
        return key_from_jwk(method["publicKeyJwk"])
    if method.get("type") in ("Multikey", "Ed25519VerificationKey2020"):
        return ed25519.Ed25519PublicKey.from_public_bytes(multikey.decode_public_key(method.get("publicKeyMultibase")))
    raise DocumentError(f"{vm_id} has no publicKeyJwk or Ed25519 publicKeyMultibase")


def ed25519_key(raw: bytes) -> PublicKey:
    return ed25519.Ed25519PublicKey.from_public_bytes(raw)


def same_key(a: PublicKey, b: PublicKey) -> bool:
    der = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return a.public_bytes(*der) == b.public_bytes(*der)


def signature_problem(jws: Jws, key: PublicKey) -> str | None:
    """None when the signature verifies with `key` under the header's alg (which must suit it)."""
    alg = jws.header.get("alg")
    fits = {"EdDSA": ed25519.Ed25519PublicKey, "ES256": ec.EllipticCurvePublicKey, "RS256": rsa.RSAPublicKey}
    if not isinstance(key, fits[alg]):
        return f"alg {alg} does not suit the key, a {type(key).__name__.replace('_', '')}"
    try:
        jwt.PyJWS().decode_complete(jws.token, key=key, algorithms=[alg])
    except jwt.InvalidSignatureError:
        return "signature does not match the JWT"
    except InvalidTokenError as exc:
        return f"the JWS does not verify: {exc}"
    return None


def summary_of_form(jws: Jws) -> str:
    version = "VC 1.1" if is_vc_1_1(jws.credential) else "VC 2.0"
    return f"VC-JWT ({jws.header.get('alg')}, {version}, credential in {'the vc claim' if jws.form == 'vc claim' else 'the payload'})"
