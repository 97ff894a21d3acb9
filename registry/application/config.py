"""Where the registry lives and how it names itself, from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Config:
    public_url: str  # the registry's public base URL: achievements and DIDs are named under it
    keys_dir: Path

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Config:
        environ = os.environ if environ is None else environ
        public_url = (environ.get("REGISTRY_PUBLIC_URL") or "http://localhost:8000").rstrip("/")
        parts = urlsplit(public_url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
            raise ValueError(
                f"REGISTRY_PUBLIC_URL must be an http(s) origin like https://badges.example.org, got {public_url!r}"
            )
        return cls(public_url=public_url, keys_dir=Path(environ.get("REGISTRY_KEYS") or "keys").resolve())

    @property
    def host(self) -> str:
        """host[:port] of the public URL; did:web names issuers under it."""
        return urlsplit(self.public_url).netloc

    def achievement_url(self, achievement_id: object, version: int | None = None) -> str:
        url = f"{self.public_url}/achievements/{achievement_id}"
        return url if version is None else f"{url}/versions/{version}"
