"""Pinned JSON-LD contexts: loaded from copies shipped in this package, checked against their
published SHA-256 digests, and never fetched from the network."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from importlib import resources

from registry.vc.errors import UnknownContextError

VC_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3P0 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB_V3P0_EXTENSIONS = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
STATUS_V1 = "https://www.w3.org/ns/credentials/status/v1"
ED25519_2020 = "https://w3id.org/security/suites/ed25519-2020/v1"

# URL -> (file shipped in registry/vc/contexts/, sha256 of that file as published).
PINNED: dict[str, tuple[str, str]] = {
    VC_V2: ("credentials-v2.jsonld", "59955ced6697d61e03f2b2556febe5308ab16842846f5b586d7f1f7adec92734"),
    OB_V3P0: ("ob-v3p0-context-3.0.3.json", "3d34f4d4ef1bce691106e63798beb5e7b862ba841423f5ee1e53ab7ddf3bca84"),
    OB_V3P0_EXTENSIONS: ("ob-v3p0-extensions.json", "146f85aa16effd7ca1da8056eb443f53ce1eca8a34186cb062832c0a97d889c3"),
    STATUS_V1: ("credentials-status-v1.jsonld", "fda5add353231e6a6884a46b12e6c75464281900cb348284d9c360f62381d9f7"),
    ED25519_2020: ("ed25519-signature-2020-v1.jsonld", "3db5c19efb0047a6edfd3b36e24346a8a3caad369d749e3c2d69e862696403e5"),
}

# The context list every Open Badges 3.0 document the registry issues starts with.
OB_CONTEXTS = [VC_V2, OB_V3P0]


class ContextDigestError(UnknownContextError):
    """A shipped context file does not match its pinned digest (the package was altered)."""


# Contexts added at run time by register(): URL -> (bytes, sha256).
_REGISTERED: dict[str, tuple[bytes, str]] = {}


def register(url: str, data: bytes, sha256: str) -> None:
    """Pin one more context (a deployment's own, or a test vector's), digest-checked now."""
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise ContextDigestError(f"context {url} has sha256 {actual}, expected {sha256}")
    _REGISTERED[url] = (data, sha256)
    _raw.cache_clear()
    load.cache_clear()


@cache
def _raw(url: str) -> bytes:
    if url in _REGISTERED:
        return _REGISTERED[url][0]
    try:
        filename, digest = PINNED[url]
    except KeyError:
        raise UnknownContextError(
            f"unknown JSON-LD context {url!r}: only pinned contexts are used ({', '.join(sorted(PINNED))})"
        ) from None
    data = resources.files("registry.vc").joinpath("contexts", filename).read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != digest:
        raise ContextDigestError(f"pinned context {url} has sha256 {actual}, expected {digest}")
    return data


@cache
def load(url: str) -> dict:
    """The parsed context document for a pinned URL. Callers must not mutate it."""
    return json.loads(_raw(url))


def is_pinned(url: str) -> bool:
    return url in PINNED or url in _REGISTERED


def document_loader(url: str, options: dict | None = None) -> dict:
    """A pyld document loader that serves pinned contexts only."""
    return {"contextUrl": None, "documentUrl": url, "document": load(url)}
