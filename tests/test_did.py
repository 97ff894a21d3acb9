"""Multikey encoding, did:web / did:key identifiers, offline key resolution and did:web documents."""

import base64
import json

import base58
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from registry.vc import did, multikey
from registry.vc.errors import DocumentError

VECTOR_PUBLIC = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
OTHER_PUBLIC = "z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"


def raw_public(secret: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(secret).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


# --- Multikey ------------------------------------------------------------------------------------


def test_w3c_key_pair_decodes_to_a_matching_secret_and_public_key(standards):
    pair = json.loads((standards / "vectors" / "w3c-vc-di-eddsa" / "keyPair.json").read_text())
    secret = multikey.decode_secret_key(pair["privateKeyMultibase"])
    public = multikey.decode_public_key(pair["publicKeyMultibase"])
    assert raw_public(secret) == public
    assert multikey.encode_public_key(public) == pair["publicKeyMultibase"] == VECTOR_PUBLIC


def test_encoded_public_keys_start_with_z6mk():
    key = raw_public(bytes(range(32)))
    encoded = multikey.encode_public_key(key)
    assert encoded.startswith("z6Mk")
    assert multikey.decode_public_key(encoded) == key


@pytest.mark.parametrize(
    "value,message",
    [
        ("u7QGwDY2Ljn93PVFWWq02piP1NE9_XRlg-c8-jhJiDqKBDw", "must be a base58btc multibase string starting with 'z'"),
        ("z6Mk0OIl", "outside the base58btc alphabet"),
        ("z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq", "has multicodec header 0x8026, expected 0xed01"),
        ("z" + base58.b58encode(b"\xed\x01" + bytes(31)).decode(), "holds 31 key bytes, expected 32"),
        ("z" + base58.b58encode(b"\xed\x01" + bytes(33)).decode(), "holds 33 key bytes, expected 32"),
    ],
)
def test_decode_public_key_refuses_malformed_multikeys(value, message):
    with pytest.raises(DocumentError, match=message):
        multikey.decode_public_key(value)


def test_decode_secret_key_refuses_a_public_key():
    with pytest.raises(DocumentError, match="expected 0x8026"):
        multikey.decode_secret_key(VECTOR_PUBLIC)


def test_encode_public_key_refuses_a_wrong_length():
    with pytest.raises(DocumentError, match="is 32 bytes, got 33"):
        multikey.encode_public_key(bytes(33))


# --- did:web -------------------------------------------------------------------------------------


def test_did_web_names_issuers_under_the_host_and_percent_encodes_a_port():
    assert did.did_web("badges.example.org", "acme") == "did:web:badges.example.org:issuers:acme"
    assert did.did_web("localhost:8443", "acme-u_1.x") == "did:web:localhost%3A8443:issuers:acme-u_1.x"


def test_did_web_url_follows_the_did_web_spec():
    assert did.did_web_url("did:web:badges.example.org:issuers:acme") == "https://badges.example.org/issuers/acme/did.json"
    assert did.did_web_url("did:web:localhost%3A8443:issuers:acme") == "https://localhost:8443/issuers/acme/did.json"
    assert did.did_web_url("did:web:example.com") == "https://example.com/.well-known/did.json"
    assert did.did_web_url("did:web:example.com:issuers:acme#key-1") == "https://example.com/issuers/acme/did.json"


@pytest.mark.parametrize("host,slug", [("bad host", "acme"), ("example.com/x", "acme"), ("example.com", "a/b"),
                                       ("example.com", ""), ("example.com", "a:b"),
                                       ("example.com", "acme\n"), ("example.com\n", "acme")])
def test_did_web_refuses_hosts_and_slugs_that_would_change_the_url(host, slug):
    with pytest.raises(DocumentError):
        did.did_web(host, slug)


@pytest.mark.parametrize("value", ["did:key:" + VECTOR_PUBLIC, "did:web:", "did:web:example.com::x", "https://example.com"])
def test_did_web_url_refuses_other_identifiers(value):
    with pytest.raises(DocumentError):
        did.did_web_url(value)


# --- did:key -------------------------------------------------------------------------------------


def test_did_key_round_trips_with_and_without_fragment():
    key = multikey.decode_public_key(VECTOR_PUBLIC)
    assert did.did_key(key) == f"did:key:{VECTOR_PUBLIC}"
    assert did.public_key_from_did_key(f"did:key:{VECTOR_PUBLIC}") == key
    assert did.public_key_from_did_key(f"did:key:{VECTOR_PUBLIC}#{VECTOR_PUBLIC}") == key


def test_public_key_from_did_key_refuses_a_foreign_fragment_and_other_methods():
    with pytest.raises(DocumentError, match="has a fragment other than its key"):
        did.public_key_from_did_key(f"did:key:{VECTOR_PUBLIC}#{OTHER_PUBLIC}")
    with pytest.raises(DocumentError, match="is not a did:key"):
        did.public_key_from_did_key("did:web:example.com")


def test_didkit_derives_the_same_key_from_a_did_key():
    document = did.resolve_did_key_document(f"did:key:{VECTOR_PUBLIC}")
    assert document["id"] == f"did:key:{VECTOR_PUBLIC}"
    (method,) = document["verificationMethod"]
    assert method["id"] == f"did:key:{VECTOR_PUBLIC}#{VECTOR_PUBLIC}"
    x = method["publicKeyJwk"]["x"]
    assert base64.urlsafe_b64decode(x + "=" * (-len(x) % 4)) == did.public_key_from_did_key(f"did:key:{VECTOR_PUBLIC}")


def test_resolve_did_key_document_refuses_methods_that_need_the_network():
    with pytest.raises(DocumentError, match="is not a did:key"):
        did.resolve_did_key_document("did:web:example.com:issuers:acme")


# --- offline verification-method resolution ------------------------------------------------------


def test_did_key_methods_resolve_from_the_identifier():
    key = multikey.decode_public_key(VECTOR_PUBLIC)
    for vm in (f"did:key:{VECTOR_PUBLIC}", f"did:key:{VECTOR_PUBLIC}#{VECTOR_PUBLIC}"):
        assert did.resolve_verification_method(vm) == did.ResolvedKey(key, "did:key")


def test_a_multikey_fragment_resolves_but_is_marked_as_not_from_the_controller():
    resolved = did.resolve_verification_method(f"https://example.com/issuers/876543#{OTHER_PUBLIC}")
    assert resolved == did.ResolvedKey(multikey.decode_public_key(OTHER_PUBLIC), "fragment")


@pytest.mark.parametrize(
    "vm",
    [
        "https://example.com/issuers/876543",
        "did:web:example.com:issuers:acme#key-1",
        f"https://example.com/issuers/876543#{OTHER_PUBLIC[:-1]}",
        f"did:key:{VECTOR_PUBLIC}#{OTHER_PUBLIC}",
        "did:key:z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq",
        f"{OTHER_PUBLIC}",
    ],
)
def test_anything_else_does_not_resolve(vm):
    assert did.resolve_verification_method(vm) is None


# --- did:web documents ---------------------------------------------------------------------------

ISSUER = "did:web:badges.example.org:issuers:acme"


def test_an_active_key_is_a_verification_and_assertion_method():
    document = did.did_web_document(ISSUER, [did.DidKey("key-1", VECTOR_PUBLIC, "active")])
    assert document == {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": ISSUER,
        "verificationMethod": [
            {"id": f"{ISSUER}#key-1", "type": "Multikey", "controller": ISSUER, "publicKeyMultibase": VECTOR_PUBLIC}
        ],
        "assertionMethod": [f"{ISSUER}#key-1"],
    }


def test_a_retired_key_still_asserts_so_old_credentials_verify():
    document = did.did_web_document(
        ISSUER, [did.DidKey("key-1", VECTOR_PUBLIC, "retired"), did.DidKey("key-2", OTHER_PUBLIC, "active")]
    )
    assert document["assertionMethod"] == [f"{ISSUER}#key-1", f"{ISSUER}#key-2"]
    assert all("revoked" not in method for method in document["verificationMethod"])


def test_a_compromised_key_is_listed_as_revoked_and_no_longer_asserts():
    document = did.did_web_document(
        ISSUER,
        [did.DidKey("key-1", VECTOR_PUBLIC, "compromised", "2026-03-01T12:00:00Z"), did.DidKey("key-2", OTHER_PUBLIC, "active")],
    )
    assert document["assertionMethod"] == [f"{ISSUER}#key-2"]
    compromised = document["verificationMethod"][0]
    assert compromised["id"] == f"{ISSUER}#key-1"
    assert compromised["revoked"] == "2026-03-01T12:00:00Z"


@pytest.mark.parametrize(
    "keys,message",
    [
        ([did.DidKey("key-1", VECTOR_PUBLIC, "compromised")], "compromised key 'key-1' needs `revoked`"),
        ([did.DidKey("key-1", VECTOR_PUBLIC, "compromised", "2026-03-01")], "compromised key 'key-1' needs `revoked`"),
        ([did.DidKey("key-1", VECTOR_PUBLIC, "retired", "2026-03-01T12:00:00Z")], "retired key 'key-1' must not carry `revoked`"),
        ([did.DidKey("key-1", VECTOR_PUBLIC, "active"), did.DidKey("key-1", OTHER_PUBLIC, "active")], "appears twice"),
        ([did.DidKey("key 1", VECTOR_PUBLIC, "active")], "is not a valid DID URL fragment"),
        ([did.DidKey("key-1", "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq", "active")], "expected 0xed01"),
    ],
)
def test_did_web_document_refuses_inconsistent_keys(keys, message):
    with pytest.raises(DocumentError, match=message):
        did.did_web_document(ISSUER, keys)
