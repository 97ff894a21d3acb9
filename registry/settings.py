"""Everything the registry is started with, read from the environment once, by the composition root.

REGISTRY_PUBLIC_URL            the registry's origin: achievements, status lists and hosted issuers'
                               did:web are named under it (default http://localhost:8000)
REGISTRY_KEYS                  the keystore directory (default ./keys)
REGISTRY_KEYSTORE_PASSPHRASE   derive the keystore's master key from this passphrase (scrypt)
REGISTRY_KEY_CUSTODY           where signing keys live: "file" (default: the keystore directory) or
                               "pkcs11" (an HSM's token; keys are made in it and never leave it)
REGISTRY_PKCS11_MODULE         with pkcs11: the token's PKCS#11 library (e.g. /usr/lib/softhsm/libsofthsm2.so)
REGISTRY_PKCS11_TOKEN          with pkcs11: the token's label
REGISTRY_PKCS11_PIN            with pkcs11: the user PIN, or REGISTRY_PKCS11_PIN_FILE: a 0600 file holding it
REGISTRY_API_RATE_PER_MINUTE   writes per minute per API key (default 120)
REGISTRY_API_BURST             writes an API key may make at once (default: the rate per minute)
REGISTRY_READ_RATE_PER_MINUTE  reads per minute per client address, all workers and hosts together
                               (default 6000; a verification costs 10 reads; 0: no limit, e.g.
                               behind a gateway that limits)
REGISTRY_READ_BURST            reads a client may make at once (default: the rate per minute)
REGISTRY_IDEMPOTENCY_EXPIRY_SECONDS  how long a write claimed with an Idempotency-Key may stay in
                               progress before a retry takes it over (default 120: longer than the
                               largest batch takes)
REGISTRY_MAX_EVENT_STREAMS     event streams (/events/stream) open at once, all workers and hosts
                               together (default 100)
REGISTRY_READY_MAX_LAG         /readyz answers 503 while a read model is more events behind the log
                               than this (default 1000)
REGISTRY_REPLICA_WAIT_SECONDS  with REGISTRY_REPLICA_DATABASE_URL: how long a read waits for the standby
                               to have what it needs (the log as the standby has it, and the
                               Registry-Position the request names) before the primary answers it
                               instead (default 1; 0.001 to 30)
REGISTRY_INSECURE_HOSTS        host:port,... the verifier may fetch from over plain http and that may
                               resolve to private addresses (tests, local demos); default none
and the store's settings (registry.store.settings): REGISTRY_HOME, REGISTRY_DATABASE_URL,
REGISTRY_REPLICA_DATABASE_URL,
REGISTRY_CREATE_TABLES.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from uuid import UUID

from registry.errors import ConfigurationError
from registry.store.settings import StoreSettings

DEFAULT_PUBLIC_URL = "http://localhost:8000"
DEFAULT_RATE_PER_MINUTE = 120
DEFAULT_READ_RATE_PER_MINUTE = 6000


@dataclass(frozen=True)
class Config:
    """How the registry names what it publishes: every public URL is made here."""

    public_url: str  # an http(s) origin, no trailing slash

    @classmethod
    def of(cls, public_url: str) -> Config:
        public_url = public_url.rstrip("/")
        parts = urlsplit(public_url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
            raise ConfigurationError(
                "REGISTRY_PUBLIC_URL",
                f"must be an http(s) origin like https://badges.example.org, got {public_url!r}")
        return cls(public_url)

    @property
    def host(self) -> str:
        """host[:port] of the public URL; did:web names issuers under it."""
        return urlsplit(self.public_url).netloc

    def achievement_url(self, achievement_id: object, version: int | None = None) -> str:
        url = f"{self.public_url}/achievements/{achievement_id}"
        return url if version is None else f"{url}/versions/{version}"

    def id_in(self, ref: str | UUID) -> UUID | None:
        """The id in a UUID, urn:uuid:UUID, or a URL this registry names something by
        (<public_url>/achievements/<uuid>); None when there is none."""
        if isinstance(ref, UUID):
            return ref
        value = ref.strip()
        if value.startswith("urn:uuid:"):
            value = value[len("urn:uuid:"):]
        elif value.startswith(self.public_url + "/"):
            value = value.rstrip("/").rsplit("/", 1)[-1]
        try:
            return UUID(value)
        except ValueError:
            return None

    def credential_url(self, credential_id: object) -> str:
        """A credential's public page (HTML for people, the signed JSON for machines)."""
        return f"{self.public_url}/credentials/{credential_id}"

    def image_url(self, sha256: str, extension: str) -> str:
        return f"{self.public_url}/images/{sha256}.{extension}"

    def image_of(self, url: object) -> tuple[str, str] | None:
        """(sha256, extension) of an image this registry serves at `url`, else None."""
        prefix = f"{self.public_url}/images/"
        if not isinstance(url, str) or not url.startswith(prefix):
            return None
        name, _, extension = url[len(prefix):].partition(".")
        if len(name) != 64 or extension not in ("png", "svg") or not all(c in "0123456789abcdef" for c in name):
            return None
        return name, extension

    def status_list_url(self, slug: str, list_number: int) -> str:
        return f"{self.public_url}/status-lists/{slug}/{list_number}"

    def status_list_of(self, url: str) -> tuple[str, int] | None:
        """(slug, list number) of a status list URL this registry publishes, else None."""
        prefix = f"{self.public_url}/status-lists/"
        if not url.startswith(prefix):
            return None
        slug, _, number = url[len(prefix):].partition("/")
        if not slug or not number.isascii() or not number.isdigit() or len(number) > 9:
            return None
        return slug, int(number)


@dataclass(frozen=True)
class Settings:
    store: StoreSettings
    config: Config
    keys_dir: Path
    keystore_passphrase: str | None = field(default=None, repr=False)
    api_rate_per_minute: int = DEFAULT_RATE_PER_MINUTE
    api_burst: int | None = None
    read_rate_per_minute: int = DEFAULT_READ_RATE_PER_MINUTE  # 0: not limited
    read_burst: int | None = None
    max_event_streams: int = 100
    idempotency_expiry_seconds: int | None = None
    insecure_hosts: frozenset[str] = frozenset()
    ready_max_lag: int = 1000
    replica_wait_seconds: float = 1.0
    key_custody: str = "file"  # or "pkcs11"
    pkcs11_module: str | None = None
    pkcs11_token: str | None = None
    pkcs11_pin: str | None = field(default=None, repr=False)
    pkcs11_pin_file: str | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        rate = _count(environ, "REGISTRY_API_RATE_PER_MINUTE", DEFAULT_RATE_PER_MINUTE)
        burst = _count(environ, "REGISTRY_API_BURST", None)
        return cls(
            store=StoreSettings.from_environ(environ),
            config=Config.of(environ.get("REGISTRY_PUBLIC_URL") or DEFAULT_PUBLIC_URL),
            keys_dir=Path(environ.get("REGISTRY_KEYS") or "keys").resolve(),
            keystore_passphrase=environ.get("REGISTRY_KEYSTORE_PASSPHRASE") or None,
            api_rate_per_minute=rate,
            api_burst=burst,
            read_rate_per_minute=(0 if (environ.get("REGISTRY_READ_RATE_PER_MINUTE") or "").strip() == "0"
                                  else _count(environ, "REGISTRY_READ_RATE_PER_MINUTE", DEFAULT_READ_RATE_PER_MINUTE)),
            read_burst=_count(environ, "REGISTRY_READ_BURST", None),
            max_event_streams=_count(environ, "REGISTRY_MAX_EVENT_STREAMS", 100),
            idempotency_expiry_seconds=_count(environ, "REGISTRY_IDEMPOTENCY_EXPIRY_SECONDS", None),
            insecure_hosts=_hosts(environ.get("REGISTRY_INSECURE_HOSTS")),
            ready_max_lag=_count(environ, "REGISTRY_READY_MAX_LAG", 1000),
            replica_wait_seconds=_seconds(environ, "REGISTRY_REPLICA_WAIT_SECONDS", 1.0),
            **_custody(environ),
        )


def _custody(environ: Mapping[str, str]) -> dict:
    kind = (environ.get("REGISTRY_KEY_CUSTODY") or "file").strip().lower()
    if kind not in ("file", "pkcs11"):
        raise ConfigurationError("REGISTRY_KEY_CUSTODY", f"must be file or pkcs11, got {kind!r}")
    found = {"key_custody": kind, "pkcs11_module": environ.get("REGISTRY_PKCS11_MODULE") or None,
             "pkcs11_token": environ.get("REGISTRY_PKCS11_TOKEN") or None,
             "pkcs11_pin": environ.get("REGISTRY_PKCS11_PIN") or None,
             "pkcs11_pin_file": environ.get("REGISTRY_PKCS11_PIN_FILE") or None}
    if kind == "pkcs11":
        for name, key in (("REGISTRY_PKCS11_MODULE", "pkcs11_module"), ("REGISTRY_PKCS11_TOKEN", "pkcs11_token")):
            if not found[key]:
                raise ConfigurationError(name, "is required with REGISTRY_KEY_CUSTODY=pkcs11")
        if not found["pkcs11_pin"] and not found["pkcs11_pin_file"]:
            raise ConfigurationError("REGISTRY_PKCS11_PIN", "or REGISTRY_PKCS11_PIN_FILE is required with "
                                                            "REGISTRY_KEY_CUSTODY=pkcs11")
    return found


def _hosts(value: str | None) -> frozenset[str]:
    from registry.network import insecure_hosts

    try:
        return insecure_hosts(value)
    except ValueError as exc:
        raise ConfigurationError("REGISTRY_INSECURE_HOSTS", f"{exc}; use host:port,host:port") from None


def _seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    text = (environ.get(name) or "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.001 <= value <= 30:  # also refuses nan and inf
        raise ConfigurationError(name, f"must be a number of seconds from 0.001 to 30, got {text!r}")
    return value


def _count(environ: Mapping[str, str], name: str, default: int | None) -> int | None:
    text = (environ.get(name) or "").strip()
    if not text:
        return default
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 1_000_000:
        raise ConfigurationError(name, f"must be a whole number from 1 to 1000000, got {text!r}")
    return int(text)
