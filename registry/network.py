"""The registry's one way onto the network: fetching the documents a verifier needs from elsewhere
(DID documents of did:web issuers, status lists, revocation lists), safely.

- https only; plain http only for hosts listed in REGISTRY_INSECURE_HOSTS (host:port, for tests and
  local demos), which are also the only hosts allowed to resolve to private or loopback addresses.
- Every host is resolved first and every address vetted; the connection goes to the vetted address
  (with the host name for TLS), so a DNS answer cannot change between the check and the connection.
- No automatic redirects: at most MAX_REDIRECTS, each target vetted like the first.
- Timeouts per operation and a deadline for the whole answer (status line and headers too); a
  body larger than MAX_BYTES, a content type that is not JSON, or JSON that does not parse (or
  holds NaN or a lone surrogate, which no JSON text carries on) is refused.
- Answers are cached in the registry's own database (`http_cache`), for as long as Cache-Control
  max-age says (at most a day, five minutes when it says nothing) and never past a document's own
  validUntil, revalidated with ETags.
- Offline, nothing is fetched; documents given for a URL (`--document URL=FILE`) are used instead
  of fetching.

Every refusal is a FetchError with a one-line reason: the verifier reports INDETERMINATE with it."""

from __future__ import annotations

import ipaddress
import json
import re
import socket
import ssl
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from registry.store import Database
from registry.vc.errors import DocumentError
from registry.vc.json_text import lone_surrogate
from registry.vc.openbadges import parse_datetimez, validity

MAX_BYTES = 2 * 1024 * 1024  # a 131,072-entry status list is about 22 KiB; DID documents are smaller
MAX_REDIRECTS = 3
CONNECT_SECONDS = 3.0
READ_SECONDS = 4.0
DEADLINE_SECONDS = 8.0  # the whole answer, however slowly it trickles in
DEFAULT_CACHE = timedelta(minutes=5)
MAX_CACHE = timedelta(days=1)
JSON_TYPES = re.compile(r"^application/([a-z0-9.+-]*\+)?json$")
ACCEPT = "application/did+json, application/vc+ld+json, application/ld+json, application/json;q=0.9"
CACHE_DDL = ("CREATE TABLE IF NOT EXISTS http_cache (url TEXT PRIMARY KEY, body TEXT NOT NULL,"
             " etag TEXT NULL, fetched_at TEXT NOT NULL, expires_at TEXT NOT NULL)")
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*(\d{1,10})\s*(?:,|$)", re.IGNORECASE)


class FetchError(Exception):
    """A document could not be had; the message says why, in one line."""


class FetchGone(FetchError):
    """The server answered 410 Gone (for an OB 2.0 hosted assertion: revoked), with the JSON body
    it sent, if any."""

    def __init__(self, reason: str, document: Any = None) -> None:
        super().__init__(reason)
        self.document = document


@dataclass(frozen=True)
class Fetched:
    url: str
    document: Any  # the parsed JSON
    source: str  # "network", "cache" or "given"


class HttpCache:
    """Answers fetched before, in the registry's own database."""

    def __init__(self, db: Database, *, create_table: bool = True) -> None:
        self.db = db
        if create_table:
            with db.transaction() as cursor:
                cursor.execute(CACHE_DDL)

    def get(self, url: str) -> tuple[str, str | None, bool] | None:
        """(body, etag, still fresh) of a cached answer, or None."""
        rows = self.db.query("SELECT body, etag, expires_at FROM http_cache WHERE url = ?", (url,))
        if not rows:
            return None
        body, etag, expires = rows[0]
        return body, etag, expires > _now().isoformat()

    def put(self, url: str, body: str, etag: str | None, lifetime: timedelta) -> None:
        now = _now()
        with self.db.transaction() as cursor:
            cursor.execute(
                "INSERT INTO http_cache (url, body, etag, fetched_at, expires_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (url) DO UPDATE SET body = excluded.body, etag = excluded.etag,"
                " fetched_at = excluded.fetched_at, expires_at = excluded.expires_at",
                (url, body, etag, now.isoformat(), (now + lifetime).isoformat()))

    def close(self) -> None:
        self.db.close()


@dataclass(frozen=True)
class Fetcher:
    insecure_hosts: frozenset[str] = frozenset()  # "host:port", lowercase
    cache: HttpCache | None = None
    offline: bool = False
    # URL -> the document to use instead of fetching: its bytes, or already parsed
    documents: Mapping[str, bytes | dict] = field(default_factory=dict)
    deadline: float = DEADLINE_SECONDS  # for one answer, however slowly it trickles in

    def configured(self, *, offline: bool | None = None,
                   documents: Mapping[str, bytes | dict] | None = None) -> Fetcher:
        """This fetcher for one verification: offline, or with documents given for some URLs."""
        return replace(self, offline=self.offline if offline is None else offline,
                       documents={**self.documents, **(documents or {})})

    def json(self, url: str, what: str) -> Fetched:
        """The JSON document at `url`, `what` naming it in reasons ("the DID document of ...")."""
        if url in self.documents:
            given = self.documents[url]
            document = given if isinstance(given, dict) else _parse(given, f"the document given for {url}")
            return Fetched(url, document, "given")
        if self.offline:
            raise FetchError(f"offline: {what} ({url}) was not fetched")
        cached = self.cache.get(url) if self.cache else None
        if cached is not None and cached[2]:
            document = json.loads(cached[0])
            if _valid_for(document) != timedelta(0):
                return Fetched(url, document, "cache")
        body, etag, lifetime = self._get(url, what, etag=None if cached is None else cached[1])
        if body is None:  # 304: the cached copy is still the document
            body = cached[0]
        document = _parse(body.encode("utf-8") if isinstance(body, str) else body, f"{what} at {url}")
        until = _valid_for(document)
        if until is not None:
            lifetime = min(lifetime, until)
        if self.cache and lifetime:
            self.cache.put(url, body if isinstance(body, str) else body.decode("utf-8"), etag, lifetime)
        return Fetched(url, document, "network")

    def raw(self, url: str, what: str, *, kinds: tuple[str, ...], max_bytes: int = MAX_BYTES) -> bytes:
        """The body at `url` (no cache, no JSON), of one of these content types: a transparency
        log's checkpoint, tiles and entry bundles, fetched under the same policy as documents."""
        if self.offline:
            raise FetchError(f"offline: {what} ({url}) was not fetched")
        body, _, _ = self._get(url, what, None, accept=", ".join(kinds), kinds=kinds, max_bytes=max_bytes)
        return body or b""

    # --- one GET, safely ---------------------------------------------------------------------------

    def _get(self, url: str, what: str, etag: str | None, *, accept: str = ACCEPT, kinds: tuple[str, ...] = (),
             max_bytes: int = MAX_BYTES) -> tuple[bytes | None, str | None, timedelta]:
        deadline = time.monotonic() + self.deadline
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            target = self._vet(current)
            headers = {"Accept": accept, "Host": target.host_header, "User-Agent": "badge-registry verifier"}
            if etag:
                headers["If-None-Match"] = etag
            try:
                with httpx.Client(timeout=httpx.Timeout(READ_SECONDS, connect=CONNECT_SECONDS),
                                  transport=_transport(deadline), follow_redirects=False, trust_env=False) as client, \
                        client.stream("GET", target.connect_url, headers=headers,
                                      extensions={"sni_hostname": target.host}) as response:
                    if response.status_code in (301, 302, 303, 307, 308):
                        location = response.headers.get("location")
                        if not location:
                            raise FetchError(f"{current} redirects without a Location")
                        try:
                            current = urljoin(current, location)
                        except ValueError:  # "http://[" (an unclosed IPv6 literal): nothing to follow
                            raise FetchError(f"{what}: {current} redirects to {location[:200]!r}, which is no URL") from None
                        continue
                    if response.status_code == 304 and etag:
                        return None, etag, _lifetime(response.headers)
                    if response.status_code == 410:
                        raise FetchGone(f"{what}: {current} answered HTTP 410 Gone", _gone_body(response))
                    if response.status_code != 200:
                        raise FetchError(f"{what}: {current} answered HTTP {response.status_code}")
                    kind = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
                    if (kind not in kinds) if kinds else not JSON_TYPES.match(kind):
                        if kinds:
                            raise FetchError(f"{what}: {current} answered with content type {kind or 'none'!r}, "
                                             f"not {' or '.join(kinds)}")
                        raise FetchError(f"{what}: {current} answered with content type {kind or 'none'!r}, not JSON")
                    declared = response.headers.get("content-length")
                    if declared and declared.isdigit() and int(declared) > max_bytes:
                        raise FetchError(f"{what}: {current} is {int(declared):,} bytes, more than {max_bytes:,}")
                    body = bytearray()
                    for chunk in response.iter_bytes():
                        body += chunk
                        if len(body) > max_bytes:
                            raise FetchError(f"{what}: {current} sent more than {max_bytes:,} bytes")
                        if time.monotonic() > deadline:
                            raise FetchError(f"{what}: {current} did not finish within {self.deadline:g} s")
                    return bytes(body), response.headers.get("etag"), _lifetime(response.headers)
            except httpx.TimeoutException:
                if time.monotonic() >= deadline:
                    raise FetchError(f"{what}: {current} did not finish within {self.deadline:g} s") from None
                raise FetchError(f"{what}: {current} did not answer in time") from None
            except httpx.HTTPError as exc:
                raise FetchError(f"{what}: {current} could not be fetched ({type(exc).__name__}: "
                                 f"{str(exc).splitlines()[0] if str(exc) else 'no detail'})") from None
        raise FetchError(f"{what}: {url} redirects more than {MAX_REDIRECTS} times")

    def _vet(self, url: str) -> _Target:
        try:
            parts = urlsplit(url)
        except ValueError:  # "https://[" (an unclosed IPv6 literal) is no URL
            raise FetchError(f"refused {url!r}: not a URL") from None
        if parts.username or parts.password:
            raise FetchError(f"refused {url}: credentials in a URL")
        host = (parts.hostname or "").lower()
        if not host:
            raise FetchError(f"refused {url!r}: no host")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise FetchError(f"refused {url}: invalid port") from None
        listed = f"{host}:{port}" in self.insecure_hosts
        if parts.scheme != "https" and not (parts.scheme == "http" and listed):
            raise FetchError(f"refused {url}: only https (plain http only for hosts in REGISTRY_INSECURE_HOSTS)")
        try:
            addresses = [ipaddress.ip_address(host)]
        except ValueError:
            try:
                found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except (socket.gaierror, UnicodeError) as exc:
                raise FetchError(f"{host} could not be resolved ({exc})") from None
            addresses = [ipaddress.ip_address(info[4][0]) for info in found]
        if not listed:
            for address in addresses:
                if not address.is_global or address.is_multicast:
                    raise FetchError(f"refused {url}: {host} is a private or local address ({address})")
        address = addresses[0]
        literal = f"[{address}]" if address.version == 6 else str(address)
        default = (parts.scheme, port) in (("https", 443), ("http", 80))
        host_header = host if default else f"{host}:{port}"
        path = parts.path or "/"
        query = f"?{parts.query}" if parts.query else ""
        return _Target(host, host_header, f"{parts.scheme}://{literal}:{port}{path}{query}")


@dataclass(frozen=True)
class _Target:
    host: str
    host_header: str
    connect_url: str


def _transport(deadline: float) -> httpx.HTTPTransport:
    """httpx's transport over sockets that keep the deadline (below): httpx takes no network
    backend, so its pool (httpcore's, which does) is made again with one."""
    transport = httpx.HTTPTransport(verify=_tls(), trust_env=False)
    transport._pool = httpcore.ConnectionPool(ssl_context=_tls(), network_backend=_Deadline(deadline))
    return transport


class _Deadline(httpcore.NetworkBackend):
    """httpcore's sockets, each connect, read and write given at most what is left until the
    deadline. httpx's timeouts are per operation and the body's deadline is checked between its
    chunks: a server that trickles its status line and headers, a byte every few seconds, would
    otherwise hold a verification for hours."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.backend = httpcore.SyncBackend()

    def left(self, timeout: float | None) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout("the deadline passed")
        return left if timeout is None else min(timeout, left)

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable | None = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self.backend.connect_tcp(host, port, self.left(timeout), local_address, socket_options),
                               self)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self.stream = stream
        self.deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.stream.read(max_bytes, self.deadline.left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.stream.write(buffer, self.deadline.left(timeout))

    def close(self) -> None:
        self.stream.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self.stream.start_tls(ssl_context, server_hostname, self.deadline.left(timeout)),
                               self.deadline)

    def get_extra_info(self, info: str) -> Any:
        return self.stream.get_extra_info(info)


@cache
def _tls() -> ssl.SSLContext:
    """One TLS context (the CA bundle, certificate checks on) for every request: building it loads
    the CA bundle, about 55 ms, which a new client per request would otherwise pay each time."""
    return httpx.create_ssl_context()


def insecure_hosts(value: str | None) -> frozenset[str]:
    """REGISTRY_INSECURE_HOSTS: comma-separated host:port."""
    hosts = set()
    for item in (value or "").split(","):
        item = item.strip().lower()
        if item:
            host, _, port = item.rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"{item!r} is not host:port")
            hosts.add(item)
    return frozenset(hosts)


def _gone_body(response: httpx.Response) -> Any:
    """The JSON a 410 answer may carry (a revocationReason), read up to 64 KiB; None otherwise."""
    body = bytearray()
    try:
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > 65536:
                return None
        document = json.loads(body)
    except (httpx.HTTPError, ValueError, RecursionError):
        return None
    return None if lone_surrogate(bytes(body), document) else document


def _parse(body: bytes, what: str) -> Any:
    try:
        document = json.loads(body, parse_constant=_not_json)
    # ValueError, not only JSONDecodeError: an integer of more than 4,300 digits is refused by
    # Python's int() with a plain ValueError.
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc).splitlines()[0][:200]
        raise FetchError(f"{what} is not JSON ({reason})") from None
    # "\ud800" parses, and then fails wherever the document is stored or shown as UTF-8.
    if lone_surrogate(body, document):
        raise FetchError(f"{what} is not JSON (a string holds a lone surrogate, which is no Unicode text)")
    return document


def _not_json(name: str) -> None:
    """NaN and Infinity, which Python's parser takes: what was fetched is kept as JSON text."""
    raise ValueError(f"{name} is not a JSON value")


def _lifetime(headers: Iterable) -> timedelta:
    control = dict(headers).get("cache-control", "") if not isinstance(headers, httpx.Headers) \
        else headers.get("cache-control", "")
    if "no-store" in control.lower():
        return timedelta(0)
    match = _MAX_AGE.search(control)
    if match:
        return min(timedelta(seconds=int(match.group(1))), MAX_CACHE)
    return DEFAULT_CACHE


def _valid_for(document: object) -> timedelta | None:
    """How much longer a signed document (a status list, say) says it is valid, by its validUntil
    (VC 1.1: expirationDate); zero once that has passed, None when it says nothing. A cached copy
    is not kept past it: a verifier would otherwise hold an expired list while a fresh one is out."""
    if not isinstance(document, dict):
        return None
    value, name = validity(document, "until")
    if value is None:
        return None
    try:
        left = parse_datetimez(value, name) - _now()
    except DocumentError:
        return None
    return max(left, timedelta(0))


def _now() -> datetime:
    return datetime.now(timezone.utc)
