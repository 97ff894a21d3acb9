"""VC-JWT, OB 3.0's JSON Web Token Proof Format: EdDSA, ES256 and RS256 tokens, the key by kid (a
did:key, a did:web's DID document, a JWK Set on the issuer's host) or in the header (bound to the
issuer where anything can bind it), the claims checked against the credential, and every way a
token can be wrong. The tokens are made here with `cryptography` alone, not with the library the
registry verifies them with, through the CLI, POST /verify and the verify page as well."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from registry.vc import did, openbadges
from test_pages import SQLITE_ONLY, Site

NBF = 1735689600  # 2025-01-01T00:00:00Z
LEARNER = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
WEB_DID = "did:web:issuer.example:badges"
WEB_DID_URL = "https://issuer.example/badges/did.json"
HTTPS_ISSUER = "https://university.example/issuers/1"
JWKS_URL = "https://university.example/keys.json"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def int_b64(value: int) -> str:
    return b64(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def public_jwk(key) -> dict:
    public = key.public_key()
    if isinstance(public, ed25519.Ed25519PublicKey):
        return {"kty": "OKP", "crv": "Ed25519", "x": b64(public.public_bytes_raw())}
    if isinstance(public, ec.EllipticCurvePublicKey):
        numbers = public.public_numbers()
        return {"kty": "EC", "crv": "P-256", "x": b64(numbers.x.to_bytes(32, "big")),
                "y": b64(numbers.y.to_bytes(32, "big"))}
    numbers = public.public_numbers()
    return {"kty": "RSA", "n": int_b64(numbers.n), "e": int_b64(numbers.e)}


def sign(header: dict, payload: dict, key) -> str:
    """A compact JWS, as RFC 7515 says, with no JOSE library."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}".encode()
    if isinstance(key, ed25519.Ed25519PrivateKey):
        signature = key.sign(signing_input)
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    else:
        signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input.decode()}.{b64(signature)}"


def credential(issuer_id: str, **changes) -> dict:
    issuer = openbadges.profile(issuer_id, "Example University")
    achievement = openbadges.achievement("https://university.example/achievements/teamwork", name="Teamwork",
                                         description="Works in a team.", criteria_narrative="Peer-reviewed.",
                                         creator=issuer)
    document = openbadges.open_badge_credential("urn:uuid:7c1f7a52-1111-4b3e-9a52-5d1c3a7e0f2b", issuer, achievement,
                                                {"id": LEARNER}, valid_from="2025-01-01T00:00:00Z")
    return {**document, **changes}


def claims_for(document: dict) -> dict:
    issuer = document["issuer"]
    return {"iss": issuer["id"] if isinstance(issuer, dict) else issuer, "sub": document["credentialSubject"]["id"],
            "jti": document["id"], "nbf": NBF}


def token(document: dict, key, alg: str, **header) -> str:
    return sign({"alg": alg, "typ": "JWT", **header}, {**document, **claims_for(document)}, key)


@pytest.fixture(scope="module")
def keys():
    return {"ed": ed25519.Ed25519PrivateKey.generate(), "ec": ec.generate_private_key(ec.SECP256R1()),
            "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048)}


def web_did_document(keys) -> bytes:
    return json.dumps({
        "@context": ["https://www.w3.org/ns/did/v1"], "id": WEB_DID,
        "verificationMethod": [{"id": f"{WEB_DID}#es", "type": "JsonWebKey", "controller": WEB_DID,
                                "publicKeyJwk": public_jwk(keys["ec"])}],
        "assertionMethod": [f"{WEB_DID}#es"]}).encode()


def verify(outside_verifier, jwt: str, documents: dict | None = None):
    return outside_verifier.queries.verify(jwt, documents or {}, offline=True)


def said(report) -> list[tuple[str, str]]:
    return [(c.name, c.reason) for c in report.failures + report.unanswered]


def test_eddsa_under_a_did_key_is_valid(outside_verifier, keys):
    issuer = did.did_key(keys["ed"].public_key().public_bytes_raw())
    kid = f"{issuer}#{issuer[len('did:key:'):]}"
    report = verify(outside_verifier, token(credential(issuer), keys["ed"], "EdDSA", kid=kid))
    assert report.verdict == "VALID", said(report)
    proof = report.find("proof")
    assert proof.outcome == "pass" and proof.reason.startswith("VC-JWT (EdDSA, VC 2.0, credential in the payload) "
                                                                f"signed by {kid} verified")
    assert report.find("key-history").outcome == "pass"
    assert report.summary.name == "Teamwork"


def test_es256_by_kid_in_a_did_web_document(outside_verifier, keys):
    jwt = token(credential(WEB_DID), keys["ec"], "ES256", kid="#es")  # relative to the issuer's DID
    report = verify(outside_verifier, jwt, {WEB_DID_URL: web_did_document(keys)})
    assert report.verdict == "VALID", said(report)
    assert f"signed by {WEB_DID}#es verified" in report.find("proof").reason
    unreachable = verify(outside_verifier, jwt)
    assert unreachable.verdict == "INDETERMINATE" and unreachable.find("proof").outcome == "indeterminate"


def test_a_key_in_the_header_counts_only_as_the_issuer_publishes_it(outside_verifier, keys):
    listed = token(credential(WEB_DID), keys["ec"], "ES256", jwk=public_jwk(keys["ec"]))
    assert verify(outside_verifier, listed, {WEB_DID_URL: web_did_document(keys)}).verdict == "VALID"
    stranger = ec.generate_private_key(ec.SECP256R1())
    forged = token(credential(WEB_DID), stranger, "ES256", jwk=public_jwk(stranger))
    report = verify(outside_verifier, forged, {WEB_DID_URL: web_did_document(keys)})
    assert report.verdict == "INVALID" and "is not an assertion method of did:web:issuer.example" in report.find("proof").reason
    # The attacker names a key of its own DID: a key, but not the issuer's.
    other = did.did_key(keys["ed"].public_key().public_bytes_raw())
    kid_elsewhere = token(credential(WEB_DID), keys["ed"], "EdDSA", kid=f"{other}#{other[8:]}")
    report = verify(outside_verifier, kid_elsewhere, {WEB_DID_URL: web_did_document(keys)})
    assert report.verdict == "INVALID" and f"not of issuer {WEB_DID}" in report.find("proof").reason


def test_rs256_for_an_https_issuer(outside_verifier, keys):
    in_header = token(credential(HTTPS_ISSUER), keys["rsa"], "RS256", jwk=public_jwk(keys["rsa"]))
    report = verify(outside_verifier, in_header)
    assert report.verdict == "VALID", said(report)  # as 1EdTech accepts it, said to be weaker
    assert report.find("proof").outcome == "warn" and "only that the signer holds that key" in report.find("proof").reason
    assert report.find("issuer-match").outcome == "warn"

    jwks = json.dumps({"keys": [{**public_jwk(keys["rsa"]), "kid": "rsa-1"}]}).encode()
    by_kid = token(credential(HTTPS_ISSUER), keys["rsa"], "RS256", kid=f"{JWKS_URL}#rsa-1")
    report = verify(outside_verifier, by_kid, {JWKS_URL: jwks})
    assert report.verdict == "VALID", said(report)
    assert report.find("issuer-match").reason.startswith(f"the key {JWKS_URL}#rsa-1 is published on the issuer's own host")

    elsewhere = token(credential(HTTPS_ISSUER), keys["rsa"], "RS256", kid="https://keys.attacker.example/k.json")
    report = verify(outside_verifier, elsewhere, {"https://keys.attacker.example/k.json": json.dumps(public_jwk(keys["rsa"])).encode()})
    assert report.verdict == "INVALID" and "is not on the host of issuer" in report.find("proof").reason


def test_vc_1_1_token_with_the_credential_in_the_vc_claim(outside_verifier, keys):
    """As VC 1.1 implementations write it: the vc claim leaves out what the claims say."""
    issuer = did.did_key(keys["ed"].public_key().public_bytes_raw())
    vc = {"@context": ["https://www.w3.org/2018/credentials/v1", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json"],
          "type": ["VerifiableCredential", "OpenBadgeCredential"], "name": "Teamwork",
          "issuer": {"type": ["Profile"], "id": issuer, "name": "Example University"},
          "credentialSubject": {"type": ["AchievementSubject"], "achievement": credential(issuer)["credentialSubject"]["achievement"]}}
    jwt = sign({"alg": "EdDSA", "kid": f"{issuer}#{issuer[8:]}"},
               {"vc": vc, "iss": issuer, "sub": LEARNER, "jti": "urn:uuid:0b3e7c1f-2222-4b3e-9a52-5d1c3a7e0f2b", "nbf": NBF},
               keys["ed"])
    report = verify(outside_verifier, jwt)
    assert report.verdict == "VALID", said(report)
    assert "VC-JWT (EdDSA, VC 1.1, credential in the vc claim)" in report.find("proof").reason
    assert report.credential_id == "urn:uuid:0b3e7c1f-2222-4b3e-9a52-5d1c3a7e0f2b"
    assert report.find("valid-from").reason == "valid from 2025-01-01T00:00:00Z"  # issuanceDate from nbf


@pytest.mark.parametrize("change, reason", [
    (lambda d, c, h: c.update(iss="did:example:someone-else"), "iss 'did:example:someone-else' is not the credential's issuer"),
    (lambda d, c, h: c.update(nbf=NBF + 3600), "nbf 2025-01-01T01:00:00Z is not the credential's validFrom"),
    (lambda d, c, h: c.update(jti="urn:uuid:other"), "jti 'urn:uuid:other' is not the credential's id"),
    (lambda d, c, h: c.pop("sub"), "no sub claim"),
    (lambda d, c, h: h.update(alg="none"), "alg 'none' is not accepted"),
    (lambda d, c, h: h.update(alg="HS256"), "alg 'HS256' is not accepted"),
    (lambda d, c, h: h.update(crit=["b64"]), "extensions that must be understood"),
    (lambda d, c, h: h.update(typ="JOSE+JSON"), "typ 'JOSE+JSON' is not JWT"),
    (lambda d, c, h: h.pop("kid"), "neither kid nor jwk"),
    (lambda d, c, h: h.update(alg="ES256"), "alg ES256 does not suit the key"),
])
def test_every_wrong_token_is_invalid_for_its_reason(outside_verifier, keys, change, reason):
    issuer = did.did_key(keys["ed"].public_key().public_bytes_raw())
    document = credential(issuer)
    header = {"alg": "EdDSA", "typ": "JWT", "kid": f"{issuer}#{issuer[8:]}"}
    claims = claims_for(document)
    change(document, claims, header)
    report = verify(outside_verifier, sign(header, {**document, **claims}, keys["ed"]))
    assert report.verdict == "INVALID" and any(reason in c.reason for c in report.failures), said(report)


def test_tampered_private_weak_and_expired_tokens(outside_verifier, keys):
    issuer = did.did_key(keys["ed"].public_key().public_bytes_raw())
    kid = f"{issuer}#{issuer[8:]}"
    header, body, signature = token(credential(issuer), keys["ed"], "EdDSA", kid=kid).split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=="))
    payload["name"] = "Something else"
    tampered = verify(outside_verifier, f"{header}.{b64(json.dumps(payload).encode())}.{signature}")
    assert tampered.verdict == "INVALID" and "signature does not match" in tampered.find("proof").reason

    private = {**public_jwk(keys["rsa"]), "d": "AQAB"}
    leaked = verify(outside_verifier, token(credential(HTTPS_ISSUER), keys["rsa"], "RS256", jwk=private))
    assert leaked.verdict == "INVALID" and "holds a private key" in leaked.find("proof").reason

    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    weak = verify(outside_verifier, token(credential(HTTPS_ISSUER), small, "RS256", jwk=public_jwk(small)))
    assert weak.verdict == "INVALID" and "at least 2048" in weak.find("proof").reason

    # exp sets validUntil when the credential has none (OB 3.0 section 8.2.4.1)
    document = credential(issuer)
    expiring = sign({"alg": "EdDSA", "kid": kid}, {**document, **claims_for(document), "exp": NBF + 60}, keys["ed"])
    report = verify(outside_verifier, expiring)
    assert report.verdict == "INVALID" and report.find("valid-until").reason.startswith("expired at 2025-01-01T00:01:00Z")


def test_the_1edtech_token_without_a_key_is_read_and_refused(outside_verifier, standards):
    jwt = (standards / "fixtures" / "1edtech" / "simple.jwt").read_text()
    report = verify(outside_verifier, jwt)
    assert report.verdict == "INVALID"
    assert report.find("proof").reason == "the JOSE header has neither kid nor jwk: there is no key to check the signature with"
    assert report.credential_id == "http://example.edu/credentials/3732"


def test_cli_verifies_a_token_file(keys, tmp_path):
    issuer = did.did_key(keys["ed"].public_key().public_bytes_raw())
    good = tmp_path / "badge.jwt"
    good.write_text(token(credential(issuer), keys["ed"], "EdDSA", kid=f"{issuer}#{issuer[8:]}") + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env.update({"REGISTRY_HOME": str(tmp_path / "home"), "REGISTRY_KEYS": str(tmp_path / "keys")})
    run = subprocess.run([sys.executable, "-m", "registry.cli", "verify", str(good), "--offline"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and run.stdout.startswith(f'VALID {good} \u2014 "Teamwork" from Example University'), run
    bad = tmp_path / "bad.jwt"
    bad.write_text(good.read_text().strip()[:-4] + "AAAA")
    run = subprocess.run([sys.executable, "-m", "registry.cli", "verify", str(bad), "--offline"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and run.stdout.startswith(f"INVALID {bad}: proof: ")


@SQLITE_ONLY
def test_http_and_the_verify_page_take_a_token(registry, keys):
    issuer = did.did_key(keys["ed"].public_key().public_bytes_raw())
    jwt = token(credential(issuer), keys["ed"], "EdDSA", kid=f"{issuer}#{issuer[8:]}")
    site = Site(registry)
    try:
        report = site.client.post("/verify", json=jwt).json()
        assert report["verdict"] == "VALID" and report["summary"]["name"] == "Teamwork"
        refused = site.client.post("/verify", json="not a token")
        assert refused.status_code == 400 and refused.json()["field"] == "body"
        page = site.client.post("/pages/verify", files={"file": ("", b"", "application/octet-stream")},
                                data={"document": jwt})
        assert page.status_code == 200 and '<strong id="verdict">VALID</strong>' in page.text
    finally:
        site.close()


def test_registry_keys_are_the_only_keys_of_a_registered_issuer(registry, keys):
    """A token naming a registered issuer counts only with the keys registered for it."""
    from registry.commands import Actor
    registry.commands.issuers.register(slug="acme", name="Acme Academy", actor=Actor("test"))
    acme = registry.queries.issuer("acme").did
    stranger = ed25519.Ed25519PrivateKey.generate()
    forged = token(credential(acme), stranger, "EdDSA", jwk=public_jwk(stranger))
    report = registry.queries.verify(forged, offline=True)
    assert report.verdict == "INVALID" and "not a key registered for" in report.find("proof").reason
    vm = registry.queries.keys(registry.queries.issuer("acme").id)[0].verification_method
    by_kid = registry.queries.verify(token(credential(acme), stranger, "EdDSA", kid=vm), offline=True)
    assert by_kid.verdict == "INVALID" and "signature does not match" in by_kid.find("proof").reason
