"""Data Integrity proofs: eddsa-rdfc-2022 (W3C Data Integrity EdDSA Cryptosuites v1.0) to sign and
verify, and the legacy Ed25519Signature2020 suite to verify only.

Both suites sign sha256(canonical proof options) || sha256(canonical document without proof),
with RDFC-1.0 (URDNA2015) N-Quads as the canonical form."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime, timezone
from functools import lru_cache
from typing import Protocol

import base58
import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from registry.vc import contexts, multikey
from registry.vc.errors import DocumentError, ProofError, UnknownContextError
from registry.vc.jsonld import canonical_form, canonical_nquads, undefined_error

DATA_INTEGRITY_PROOF = "DataIntegrityProof"
EDDSA_RDFC_2022 = "eddsa-rdfc-2022"
# The name eddsa-rdfc-2022 had in the 2022-2023 drafts (same canonicalization, hashes and signature);
# still found on credentials issued then. Verified, never issued.
EDDSA_2022 = "eddsa-2022"
ED25519_SIGNATURE_2020 = "Ed25519Signature2020"
ASSERTION_METHOD = "assertionMethod"
SINGLE_PROOF_WARNING = "proof is a single object; OB 3.0 expects an array"

# What `sign` writes: XML Schema dateTime, whole seconds, UTC.
_CREATED_SECONDS_Z = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
# What `verify` accepts from others: any XML Schema dateTime (fractions, offsets, no zone).
_XSD_DATETIME = re.compile(r"-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?")
_SIGNATURE_BYTES = 64


class Signer(Protocol):
    """Signs as one verification method, e.g. `did:web:host:issuers:acme#key-1`."""

    verification_method: str

    def sign(self, data: bytes) -> bytes: ...


class KeyUnavailable(Exception):
    """The key of a verification method could not be had now (its DID document could not be
    fetched, the DID method is not resolvable here): the proof can be neither accepted nor refused."""


class KeyRefused(Exception):
    """The verification method names a key its controller does not vouch for (not an assertion
    method of its DID document, revoked, of a kind that is not Ed25519): the proof fails."""


class ProofCheck(msgspec.Struct, frozen=True):
    """The outcome of verifying a document's proof(s). For a proof set the details are those of
    the first failing supported proof, else of the first that could not be checked, else of the
    first supported proof. `indeterminate`: not ok because a key could not be had, not because
    anything was wrong."""

    ok: bool
    reason: str
    verification_method: str | None = None
    created: str | None = None
    cryptosuite: str | None = None
    warnings: list[str] = msgspec.field(default_factory=list)
    indeterminate: bool = False


def proof_configuration(
    document: dict, *, verification_method: str, created: str, proof_purpose: str = ASSERTION_METHOD
) -> dict:
    """The eddsa-rdfc-2022 proof configuration (the proof without its value, under the document's
    @context), in the member order of the W3C test vectors."""
    return {
        "type": DATA_INTEGRITY_PROOF,
        "cryptosuite": EDDSA_RDFC_2022,
        "created": created,
        "verificationMethod": verification_method,
        "proofPurpose": proof_purpose,
        "@context": document["@context"],
    }


def hash_data(proof_config: dict, unsecured_document: dict, document_canon: str | None = None) -> bytes:
    """sha256(canonical proof configuration) || sha256(canonical document): the bytes signed.
    `document_canon`: the document's canonical N-Quads when the caller has them already."""
    if document_canon is None:
        document_canon = canonical_nquads(unsecured_document)
    document_hash = hashlib.sha256(document_canon.encode("utf-8")).digest()
    return _proof_hash(json.dumps(proof_config, sort_keys=True, ensure_ascii=False),
                       contexts.generation()) + document_hash


@lru_cache(maxsize=4096)
def _proof_hash(proof_config_json: str, _contexts_generation: int) -> bytes:
    """sha256 of a proof configuration's canonical N-Quads. Configurations repeat (a batch signed in
    one second, a key's status lists), and equal JSON means equal canonical form."""
    return hashlib.sha256(canonical_nquads(json.loads(proof_config_json)).encode("utf-8")).digest()


def sign(
    document: dict,
    signer: Signer,
    *,
    created: str | None = None,
    proof_purpose: str = ASSERTION_METHOD,
) -> dict:
    """A new document with an eddsa-rdfc-2022 proof by `signer` appended to its `proof` list.

    Existing proofs are kept and not signed over (a proof set, not a chain)."""
    if not isinstance(document, dict):
        raise DocumentError(f"a document to sign must be a JSON object, got {type(document).__name__}")
    existing = _proof_list(document.get("proof"))
    for proof in existing:
        if proof.get("verificationMethod") == signer.verification_method:
            raise ProofError(f"document already has a proof by {signer.verification_method}")
    document_contexts = document.get("@context")
    if not isinstance(document_contexts, list) or contexts.VC_V2 not in document_contexts:
        # VC 2.0's context is the shipped one that defines DataIntegrityProof and its terms.
        raise ProofError(f"document @context must be a list that includes {contexts.VC_V2}")
    older = [c for c in document_contexts if not contexts.is_signable(c)]
    if older:
        raise ProofError(f"the registry does not sign under {older[0]!r}: it verifies that context, "
                         f"it issues only under {', '.join(sorted(contexts.SIGNABLE))}")
    if created is None:
        created = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    elif not _CREATED_SECONDS_Z.fullmatch(created):
        raise ProofError(f"created {created!r} must be an XML Schema dateTime in UTC with seconds: YYYY-MM-DDThh:mm:ssZ")

    unsecured = {key: value for key, value in document.items() if key != "proof"}
    canon, undefined = canonical_form(unsecured)
    if undefined:
        raise undefined_error(undefined)
    config = proof_configuration(
        unsecured, verification_method=signer.verification_method, created=created, proof_purpose=proof_purpose
    )
    signature = signer.sign(hash_data(config, unsecured, canon))
    if len(signature) != _SIGNATURE_BYTES:
        raise ProofError(f"signer returned {len(signature)} bytes, an Ed25519 signature is {_SIGNATURE_BYTES}")
    proof = {key: value for key, value in config.items() if key != "@context"}
    proof["proofValue"] = "z" + base58.b58encode(signature).decode("ascii")
    return {**unsecured, "proof": [*existing, proof]}


def verify(document: dict, resolve_key: Callable[[str], bytes | None]) -> ProofCheck:
    """Check every proof of `document`; `resolve_key` maps a verification method id to its raw
    Ed25519 public key, or None when it cannot be resolved."""
    if not isinstance(document, dict):
        return ProofCheck(False, f"document must be a JSON object, got {type(document).__name__}")
    proofs = document.get("proof")
    warnings: list[str] = []
    if proofs is None:
        return ProofCheck(False, "document has no proof")
    if isinstance(proofs, dict):
        warnings.append(SINGLE_PROOF_WARNING)
        proofs = [proofs]
    elif not isinstance(proofs, list):
        return ProofCheck(False, f"proof must be an object or a list, got {type(proofs).__name__}")
    if not proofs:
        return ProofCheck(False, "proof is an empty list")

    unsecured = {key: value for key, value in document.items() if key != "proof"}
    try:
        canon, undefined = canonical_form(unsecured)
    except UnknownContextError as exc:
        # Contexts are never fetched: under one this verifier lacks, the signed statements cannot
        # be read, so the proof is unanswered rather than false.
        return ProofCheck(False, str(exc), warnings=warnings, indeterminate=True)
    except DocumentError as exc:
        return ProofCheck(False, str(exc), warnings=warnings)
    if undefined:
        # JSON-LD drops what its contexts do not define, so no signature covers these terms; the
        # reference verifiers (Digital Bazaar, openbadgeslib) refuse such a document, and so do we.
        return ProofCheck(False, f"{undefined_error(undefined)}: no proof covers them", warnings=warnings)

    # A proof set as 1EdTech's validator and Digital Bazaar treat it: proofs of a type this
    # verifier does not know are ignored when a known one verifies; any known one that fails
    # invalidates the document.
    supported = [p for p in proofs if _supported(p)]
    ignored = [p for p in proofs if not _supported(p)]
    if not supported:
        return _unsupported(proofs[0], warnings)
    if ignored:
        kinds = sorted({_kind(p) for p in ignored})
        warnings.append(f"ignored {len(ignored)} proof(s) of a type this verifier does not support: {', '.join(kinds)}")
    checks = [_verify_one(unsecured, proofs, proof, resolve_key, canon) for proof in supported]
    failed = next((i for i, c in enumerate(checks) if not c.ok and not c.indeterminate), None)
    unknown = next((i for i, c in enumerate(checks) if c.indeterminate), None)
    chosen_index = failed if failed is not None else unknown if unknown is not None else 0
    chosen = checks[chosen_index]
    reason = chosen.reason
    if len(checks) > 1:
        reason = (f"all {len(checks)} proofs verified" if failed is None and unknown is None
                  else f"proof {chosen_index + 1} of {len(checks)}: {reason}")
    return ProofCheck(chosen.ok, reason, chosen.verification_method, chosen.created, chosen.cryptosuite,
                      warnings + list(chosen.warnings), indeterminate=failed is None and unknown is not None)


def _supported(proof: object) -> bool:
    if not isinstance(proof, dict):
        return True  # malformed: checked (and refused) like a known proof, not ignored
    kind = proof.get("type")
    if kind == DATA_INTEGRITY_PROOF:
        return proof.get("cryptosuite") in (EDDSA_RDFC_2022, EDDSA_2022)
    return kind == ED25519_SIGNATURE_2020


def _kind(proof: dict) -> str:
    kind = proof.get("type")
    return f"{kind}/{proof.get('cryptosuite')}" if kind == DATA_INTEGRITY_PROOF else str(kind)


def _unsupported(proof: object, warnings: list[str]) -> ProofCheck:
    kind = _kind(proof) if isinstance(proof, dict) else type(proof).__name__
    return ProofCheck(False, f"no proof of a supported type (found {kind}; supported: {DATA_INTEGRITY_PROOF} with "
                             f"{EDDSA_RDFC_2022} or {EDDSA_2022}, and {ED25519_SIGNATURE_2020})", warnings=warnings)


def _proof_list(proof) -> list[dict]:
    if proof is None:
        return []
    proofs = [proof] if isinstance(proof, dict) else proof
    if not isinstance(proofs, list) or not all(isinstance(p, dict) for p in proofs):
        raise ProofError("existing proof must be an object or a list of objects")
    return list(proofs)


def _verify_one(
    unsecured: dict, all_proofs: list, proof, resolve_key: Callable[[str], bytes | None],
    unsecured_canon: str,
) -> ProofCheck:
    if not isinstance(proof, dict):
        return ProofCheck(False, f"a proof must be an object, got {type(proof).__name__}")
    vm = proof.get("verificationMethod")
    created = proof.get("created")
    proof_type = proof.get("type")
    cryptosuite = proof.get("cryptosuite")

    def fail(reason: str) -> ProofCheck:
        return ProofCheck(
            False, reason, vm if isinstance(vm, str) else None,
            created if isinstance(created, str) else None, cryptosuite if isinstance(cryptosuite, str) else None,
        )

    notes = []
    if proof_type == DATA_INTEGRITY_PROOF:
        if cryptosuite == EDDSA_2022:
            notes.append(f"{EDDSA_2022} is the draft name of {EDDSA_RDFC_2022}: verified, no longer issued")
        elif cryptosuite != EDDSA_RDFC_2022:
            return fail(f"cryptosuite {cryptosuite!r} is not supported (only {EDDSA_RDFC_2022})")
    elif proof_type == ED25519_SIGNATURE_2020:
        cryptosuite = None
    else:
        return fail(
            f"proof type {proof_type!r} is not supported "
            f"({DATA_INTEGRITY_PROOF}/{EDDSA_RDFC_2022}, or {ED25519_SIGNATURE_2020} to verify only)"
        )
    if not isinstance(vm, str) or not vm:
        return fail("proof has no verificationMethod")
    if proof.get("proofPurpose") != ASSERTION_METHOD:
        return fail(f"proofPurpose is {proof.get('proofPurpose')!r}, expected {ASSERTION_METHOD!r}")
    if created is not None and not (isinstance(created, str) and _XSD_DATETIME.fullmatch(created)):
        return fail(f"created {created!r} is not an XML Schema dateTime")
    try:
        signature = multikey.decode_base58btc(proof.get("proofValue"), "proofValue")
    except DocumentError as exc:
        return fail(str(exc))
    if len(signature) != _SIGNATURE_BYTES:
        return fail(f"proofValue holds {len(signature)} bytes, an Ed25519 signature is {_SIGNATURE_BYTES}")

    try:
        secured_part = _previous_proofs(proof, all_proofs)
    except ProofError as exc:
        return fail(str(exc))
    document = dict(unsecured, proof=secured_part) if secured_part else dict(unsecured)
    changed = bool(secured_part)  # else the unsecured document's canonical form serves as it is
    options = {key: value for key, value in proof.items() if key != "proofValue"}
    if proof_type == DATA_INTEGRITY_PROOF:
        if "@context" in options:
            proof_contexts = _as_list(options["@context"])
            if _as_list(document.get("@context"))[: len(proof_contexts)] != proof_contexts:
                return fail("the proof's @context is not the start of the document's @context")
            changed |= document["@context"] != options["@context"]
            document["@context"] = options["@context"]
        options["@context"] = document.get("@context")
    elif "@context" not in options:
        if contexts.ED25519_2020 not in _as_list(document.get("@context")):
            return fail(f"{ED25519_SIGNATURE_2020} needs {contexts.ED25519_2020} in the document or proof @context")
        options["@context"] = document.get("@context")

    try:
        public_key = resolve_key(vm)
    except KeyUnavailable as exc:
        return ProofCheck(False, str(exc), vm, created if isinstance(created, str) else None,
                          cryptosuite if isinstance(cryptosuite, str) else None, indeterminate=True)
    except KeyRefused as exc:
        return fail(str(exc))
    if public_key is None:
        return fail(f"verification method {vm} could not be resolved")
    try:
        key = Ed25519PublicKey.from_public_bytes(public_key)
    except ValueError:
        return fail(f"the key of verification method {vm} is not a 32-byte Ed25519 public key")
    canon = None if changed else unsecured_canon
    try:
        signed_bytes = hash_data(options, document, canon)
    except DocumentError as exc:
        return fail(str(exc))
    try:
        key.verify(signature, signed_bytes)
    except InvalidSignature:
        return fail(f"signature does not match the document and proof options for verification method {vm}")
    suite = cryptosuite or ED25519_SIGNATURE_2020
    return ProofCheck(True, f"{suite} proof by {vm} verified", vm, created, cryptosuite, notes)


def _previous_proofs(proof: dict, all_proofs: list) -> list[dict]:
    """The proofs a chained proof signed over (Data Integrity 1.0, "previousProof")."""
    previous = proof.get("previousProof")
    if previous is None:
        return []
    wanted = _as_list(previous)
    if not all(isinstance(p, str) for p in wanted):
        raise ProofError("previousProof must name proofs by their id (a string or a list of strings)")
    by_id = {p["id"]: p for p in all_proofs if isinstance(p, dict) and isinstance(p.get("id"), str)}
    missing = [p for p in wanted if p not in by_id]
    if missing:
        raise ProofError(f"previousProof {', '.join(map(str, missing))} is not among the document's proofs")
    return [by_id[p] for p in wanted]


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
