"""ExtensionContext: a JSON-LD context the operator pinned so that achievements and credentials may
use terms it defines (a national platform's study load, ECTS, assessment type, identity checks).

One per URL (id = uuid5 of the URL). Once registered, a URL means those bytes for good: credentials
signed under it are verified by expanding their terms through it, so other bytes under the same URL
would change what existing signatures say. Registering the same bytes again finds the first one."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from eventsourcing.domain import Aggregate

from registry.domain.errors import AlreadyExists, DomainError
from registry.domain.identity import extension_context_id

# Small enough that the event (the text JSON-escaped, at most twice as long) stays one entry of the
# transparency log (65,535 bytes); the largest context the registry ships (OB 3.0.3) is 14.5 KB.
MAX_BYTES = 32 * 1024
MAX_URL = 2000
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_UNSAFE = re.compile(r"[\x00-\x20\x7f\"<>\\^`{|}]")


class ExtensionContext(Aggregate):
    class Registered(Aggregate.Created):
        url: str
        sha256: str  # of the document's UTF-8 bytes, lowercase hex
        document: str  # the context document exactly as registered
        actor: str

    @classmethod
    def register(cls, *, url: str, document: str, sha256: str, actor: str,
                 reserved: frozenset[str] = frozenset()) -> ExtensionContext:
        """Rules: an https URL without a fragment, not one of the `reserved` (built-in) contexts;
        a document of at most MAX_BYTES with its SHA-256."""
        cls.check_url(url, reserved)
        if not _SHA256.match(sha256):
            raise DomainError(f"{sha256!r} is not a SHA-256 in lowercase hex")
        size = len(document.encode("utf-8"))
        if size > MAX_BYTES:
            raise DomainError(f"the context is {size:,} bytes; an extension context may be at most {MAX_BYTES // 1024} KiB")
        return cls._create(cls.Registered, id=extension_context_id(url), url=url, sha256=sha256,
                           document=document, actor=actor)

    @staticmethod
    def check_url(url: str, reserved: frozenset[str] = frozenset()) -> None:
        if not isinstance(url, str) or len(url) > MAX_URL or _UNSAFE.search(url):
            raise DomainError(f"{str(url)[:100]!r} is not a context URL (no spaces or control characters, "
                              f"at most {MAX_URL} characters)")
        parts = urlsplit(url)
        # https only: a verifier that does fetch contexts must not be served them in clear text.
        if parts.scheme != "https" or not parts.hostname:
            raise DomainError(f"an extension context's URL must be https://, got {url!r}")
        if parts.fragment or url.endswith("#"):
            raise DomainError(f"a context URL names a document, not a fragment: {url!r}")
        if url in reserved:
            raise DomainError(f"{url} is one of the contexts the registry ships; it cannot be registered again")

    def __init__(self, url: str, sha256: str, document: str, actor: str) -> None:
        self.url = url
        self.sha256 = sha256
        self.document = document

    def register_again(self, sha256: str) -> None:
        """The same bytes again are the registration that stands; other bytes are refused."""
        if sha256 != self.sha256:
            raise AlreadyExists(f"{self.url} is registered with sha256 {self.sha256}; a pinned context never "
                                f"changes (credentials signed under it would change meaning): publish the new "
                                f"version under a new URL")
