"""DIDs the registry issues (did:web) and reads (did:key, and did:web documents others publish),
and verification-method lookup.

Nothing here touches the network: did:web documents are produced here, or read from a document the
caller fetched (registry.network); did:key documents are derived from the identifier itself."""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import json
import re
from collections.abc import Sequence
from typing import Literal
from urllib.parse import unquote

import didkit
import msgspec

from registry.vc import multikey
from registry.vc.errors import DocumentError

DID_CONTEXTS = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]

# DID Core: idchar = ALPHA / DIGIT / "." / "-" / "_" / pct-encoded.
_IDCHARS = re.compile(r"(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})+")
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?")
# XML Schema dateTimeStamp: a dateTime that carries a time zone.
_DATETIME_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")


class ResolvedKey(msgspec.Struct, frozen=True):
    """A public key found for a verification method id.

    source "did:key": the key is the DID itself, so it is authoritative.
    source "did-document": listed under assertionMethod of its controller's DID document.
    source "fragment": the key was read from the id's fragment (`https://host/issuers/x#z6Mk...`),
    for an issuer named by an https URL, which has no document to consult: this shows only that
    the signer holds that key, not that the issuer does (weaker assurance)."""

    public_key: bytes
    source: Literal["did:key", "did-document", "fragment"]


class DidKey(msgspec.Struct, frozen=True):
    """One key of an issuer's did:web document and its lifecycle state."""

    fragment: str
    public_key_multibase: str
    state: Literal["active", "retired", "compromised"]
    revoked: str | None = None  # when a compromised key stopped being trustworthy (dateTimeStamp)


def did_web(host: str, slug: str) -> str:
    """The did:web of an issuer: `did:web:<host, ':' as %3A>:issuers:<slug>`."""
    if not _HOST.fullmatch(host):
        raise DocumentError(f"did:web host {host!r} is not a host name with an optional port")
    if not _IDCHARS.fullmatch(slug):
        raise DocumentError(f"issuer slug {slug!r} may contain only letters, digits, '.', '-', '_'")
    return f"did:web:{host.lower().replace(':', '%3A')}:issuers:{slug}"


def did_web_url(did: str) -> str:
    """The https URL of a did:web's DID document (did:web method spec, "Read (Resolve)")."""
    if not did.startswith("did:web:"):
        raise DocumentError(f"{did!r} is not a did:web")
    parts = did[len("did:web:"):].split("#", 1)[0].split(":")
    if not all(parts) or not all(_IDCHARS.fullmatch(p) for p in parts):
        raise DocumentError(f"did:web {did!r} has an empty or malformed segment")
    host = unquote(parts[0])
    path = "/".join(unquote(p) for p in parts[1:]) if len(parts) > 1 else ".well-known"
    return f"https://{host}/{path}/did.json"


def did_key(public_key: bytes) -> str:
    """The did:key of a raw Ed25519 public key."""
    return "did:key:" + multikey.encode_public_key(public_key)


def public_key_from_did_key(did_or_vm: str) -> bytes:
    """The raw Ed25519 key of `did:key:z6Mk...` or of its verification method `did:key:z6Mk...#z6Mk...`."""
    if not did_or_vm.startswith("did:key:"):
        raise DocumentError(f"{did_or_vm!r} is not a did:key")
    identifier, _, fragment = did_or_vm[len("did:key:"):].partition("#")
    if fragment and fragment != identifier:
        raise DocumentError(f"did:key verification method {did_or_vm!r} has a fragment other than its key")
    return multikey.decode_public_key(identifier)


def resolve_verification_method(vm_id: str) -> ResolvedKey | None:
    """The Ed25519 key of a verification method that can be resolved without the network: a
    did:key, or the `#z6Mk...` fragment of an https (or http) URL. Never for a DID other than
    did:key: a did:web's keys are only those its DID document lists."""
    try:
        if vm_id.startswith("did:key:"):
            return ResolvedKey(public_key_from_did_key(vm_id), "did:key")
        base, hash_, fragment = vm_id.partition("#")
        if hash_ and fragment.startswith("z6Mk") and base.startswith(("https://", "http://")):
            return ResolvedKey(multikey.decode_public_key(fragment), "fragment")
    except DocumentError:
        return None
    return None


def key_in_did_document(document: object, did: str, vm_id: str) -> ResolvedKey:
    """The Ed25519 key of `vm_id` as `did`'s DID document lists it; DocumentError saying why when
    the document does not make it one of the DID's assertion methods."""
    return ResolvedKey(_method_key(assertion_method(document, did, vm_id), vm_id), "did-document")


def assertion_method(document: object, did: str, vm_id: str) -> dict:
    """The verification method `vm_id` of `did`'s DID document, if the document makes it one of the
    DID's assertion methods (DID Core, Controlled Identifiers 1.0: an id of the DID, listed under
    assertionMethod by reference or embedded, controlled by the DID, not revoked); else
    DocumentError saying why."""
    methods, assertion = _assertion_index(document, did)
    method = methods.get(vm_id)
    if vm_id not in assertion:
        revoked = method.get("revoked") if isinstance(method, dict) else None
        why = f" (it is marked revoked since {revoked})" if revoked else ""
        raise DocumentError(f"{vm_id} is not an assertion method of {did}{why}")
    if not isinstance(method, dict):
        raise DocumentError(f"{did}'s DID document lists {vm_id} as an assertion method but does not describe it")
    if method.get("controller") != did:
        raise DocumentError(f"{vm_id} is controlled by {method.get('controller')!r}, not by {did}")
    if method.get("revoked"):
        raise DocumentError(f"{vm_id} is marked revoked since {method['revoked']}")
    return method


def assertion_methods(document: object, did: str) -> list[tuple[str, dict]]:
    """Every (id, method) `did`'s DID document makes an assertion method of the DID."""
    _, assertion = _assertion_index(document, did)
    found = []
    for vm_id in sorted(a for a in assertion if isinstance(a, str)):
        try:
            found.append((vm_id, assertion_method(document, did, vm_id)))
        except DocumentError:
            continue
    return found


def _assertion_index(document: object, did: str) -> tuple[dict, set]:
    if not isinstance(document, dict):
        raise DocumentError(f"the DID document of {did} is not a JSON object")
    if document.get("id") != did:
        raise DocumentError(f"the DID document fetched for {did} is the document of {document.get('id')!r}")

    def absolute(ref: object) -> object:
        return f"{did}{ref}" if isinstance(ref, str) and ref.startswith("#") else ref

    # Only string ids count: a hostile document's lists may hold anything.
    methods = {absolute(m["id"]): m for m in _as_list(document.get("verificationMethod"))
               if isinstance(m, dict) and isinstance(m.get("id"), str)}
    assertion = set()
    for entry in _as_list(document.get("assertionMethod")):
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            methods.setdefault(absolute(entry["id"]), entry)
            assertion.add(absolute(entry["id"]))
        elif isinstance(entry, str):
            assertion.add(absolute(entry))
    return methods, assertion


def _method_key(method: dict, vm_id: str) -> bytes:
    kind = method.get("type")
    if kind in ("Multikey", "Ed25519VerificationKey2020"):
        return multikey.decode_public_key(method.get("publicKeyMultibase"))
    if kind in ("JsonWebKey", "JsonWebKey2020"):
        jwk = method.get("publicKeyJwk")
        if isinstance(jwk, dict) and jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519" \
                and isinstance(jwk.get("x"), str):
            raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
            if len(raw) == 32:
                return raw
        raise DocumentError(f"{vm_id} is not an Ed25519 key (publicKeyJwk {jwk!r})")
    raise DocumentError(f"{vm_id} has key type {kind!r}; Multikey, Ed25519VerificationKey2020 "
                        "and Ed25519 JsonWebKey are understood")


def _as_list(value: object) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def resolve_did_key_document(did: str) -> dict:
    """The DID document didkit derives for a did:key (never anything that would need the network)."""
    public_key_from_did_key(did)  # refuses other methods before didkit could try to fetch them
    try:
        return json.loads(_run_sync(lambda: didkit.resolve_did(did, "{}")))
    except didkit.DIDKitException as exc:
        raise DocumentError(f"didkit could not resolve {did}: {exc}") from None


def did_web_document(did: str, keys: Sequence[DidKey]) -> dict:
    """The did.json of an issuer's did:web.

    Retired keys stay in assertionMethod so credentials signed before a rotation keep verifying;
    compromised keys stay listed as verification methods with `revoked` (Controlled Identifiers 1.0)
    so verifiers learn why, but are no longer assertion methods."""
    did_web_url(did)  # validates the DID
    seen: set[str] = set()
    methods, assertion = [], []
    for key in keys:
        if not _IDCHARS.fullmatch(key.fragment):
            raise DocumentError(f"key fragment {key.fragment!r} is not a valid DID URL fragment")
        if key.fragment in seen:
            raise DocumentError(f"key fragment {key.fragment!r} appears twice in {did}")
        seen.add(key.fragment)
        multikey.decode_public_key(key.public_key_multibase)
        if key.state == "compromised":
            if key.revoked is None or not _DATETIME_STAMP.fullmatch(key.revoked):
                raise DocumentError(
                    f"compromised key {key.fragment!r} needs `revoked` as a dateTime with a time zone, "
                    f"got {key.revoked!r}"
                )
        elif key.revoked is not None:
            raise DocumentError(f"{key.state} key {key.fragment!r} must not carry `revoked`")
        vm_id = f"{did}#{key.fragment}"
        method = {
            "id": vm_id,
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": key.public_key_multibase,
        }
        if key.revoked is not None:
            method["revoked"] = key.revoked
        methods.append(method)
        if key.state != "compromised":
            assertion.append(vm_id)
    return {
        "@context": list(DID_CONTEXTS),
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": assertion,
    }


def _run_sync(start):
    """Run a didkit call from synchronous code, also when called inside a running event loop.

    didkit's functions return futures bound to the loop running when they are called, so `start`
    is called inside the loop that awaits it."""

    async def wrapped():
        return await start()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(wrapped())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(wrapped())).result()
