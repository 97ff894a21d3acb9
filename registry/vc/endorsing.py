"""What a partner organisation does on its own machine to endorse for itself: make a key (an Ed25519
PKCS#8 PEM file, the same `openssl genpkey -algorithm ed25519` writes), and sign an
EndorsementCredential with it, ready for `registry endorsement submit`. The registry never sees the
private key; it verifies the proof against the public key it has registered for the partner.

The partner's DID is the did:key of its key, or its own did:web (whose DID document lists the key
as `<did>#<Multikey>`, the verification method id this module signs with by default)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from registry.vc import did as dids
from registry.vc import openbadges, proofs, schema
from registry.vc.errors import DocumentError, ProofError
from registry.vc.multikey import encode_public_key
from registry.vc.openbadges import xsd_datetime

MAX_KEY_FILE_BYTES = 16 * 1024


def new_key_file() -> tuple[bytes, str]:
    """A fresh Ed25519 private key as unencrypted PKCS#8 PEM, and its did:key."""
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return pem, dids.did_key(private.public_key().public_bytes_raw())


@dataclass(frozen=True)
class KeyFileSigner:
    """proofs.Signer over a key the partner holds in a file."""

    private: Ed25519PrivateKey
    verification_method: str

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data)


def load_key(pem: bytes, what: str = "the key file") -> Ed25519PrivateKey:
    if len(pem) > MAX_KEY_FILE_BYTES:
        raise DocumentError(f"{what} is larger than {MAX_KEY_FILE_BYTES} bytes: not a key file")
    try:
        private = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DocumentError(f"{what} is not an unencrypted PEM private key ({reason})") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise DocumentError(f"{what} holds a {type(private).__name__.removeprefix('_')}, not an Ed25519 key")
    return private


def sign_endorsement(private: Ed25519PrivateKey, *, subject: str, comment: str, endorser_name: str,
                     now: datetime, did: str | None = None, verification_method: str | None = None,
                     credential_id: str | None = None, valid_until: datetime | None = None,
                     endorser_url: str | None = None) -> dict:
    """A signed EndorsementCredential by the key's owner about `subject` (a DID, an achievement URL
    or a credential's urn:uuid). Checked as the registry checks a submission before it is returned:
    what the registry would refuse is not signed."""
    multikey = encode_public_key(private.public_key().public_bytes_raw())
    own_did = did or dids.did_key(private.public_key().public_bytes_raw())
    if own_did.startswith("did:key:") and own_did != dids.did_key(private.public_key().public_bytes_raw()):
        raise DocumentError(f"{own_did} is not the did:key of this key file")
    if not own_did.startswith(("did:key:", "did:web:")):
        raise DocumentError(f"sign as a did:key or did:web, got {own_did!r}")
    method = verification_method or f"{own_did}#{multikey}"
    if not method.startswith(own_did + "#"):
        raise DocumentError(f"the verification method {method!r} is not one of {own_did}")
    if ":" not in subject:
        raise DocumentError(f"the subject must be an IRI (a DID, an achievement URL or a credential's urn:uuid), "
                            f"got {subject!r}")
    document = openbadges.endorsement_credential(
        credential_id or f"urn:uuid:{uuid.uuid4()}", openbadges.profile(own_did, endorser_name, url=endorser_url),
        subject, comment, valid_from=xsd_datetime(now),
        valid_until=None if valid_until is None else xsd_datetime(valid_until))
    openbadges.refuse_unsafe(document, "the endorsement")
    conformance = schema.check(document)
    if not conformance.ok:
        raise DocumentError(f"the endorsement would not conform to its schema: {'; '.join(conformance.errors)}")
    signed = proofs.sign(document, KeyFileSigner(private, method), created=xsd_datetime(now))
    public = private.public_key().public_bytes_raw()
    check = proofs.verify(signed, lambda vm: public if vm == method else None)
    if not check.ok:  # never hand out what does not verify
        raise ProofError(f"the signed endorsement does not verify: {check.reason}")
    return signed
