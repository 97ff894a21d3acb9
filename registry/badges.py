"""A credential's badge image and its baked copy (OB 3.0 section 5.3), from what was signed: the
image of the achievement as the credential carries it, when this registry stores it and it is of
the kind asked for, else the generated default (registry.artwork) in the achievement's colour."""

from __future__ import annotations

import json
from collections.abc import Callable

from registry import artwork
from registry.images import StoredImage
from registry.settings import Config
from registry.vc import baking


def image_url(node: object) -> str | None:
    """The URL of an OB Image (an object with an id, or a bare URL)."""
    if isinstance(node, dict):
        node = node.get("id")
    return node if isinstance(node, str) and node else None


def achievement_of(document: dict) -> dict:
    subject = document.get("credentialSubject")
    subject = subject[0] if isinstance(subject, list) and subject else subject
    found = subject.get("achievement") if isinstance(subject, dict) else None
    return found if isinstance(found, dict) else {}


def stored_image(url: str | None, config: Config, lookup: Callable[[str], StoredImage | None]) -> StoredImage | None:
    named = config.image_of(url)
    return None if named is None else lookup(named[0])


def badge_image(document: dict, kind: str, config: Config,
                lookup: Callable[[str], StoredImage | None]) -> bytes:
    achievement = achievement_of(document)
    stored = stored_image(image_url(achievement.get("image")), config, lookup)
    if stored is not None and stored.extension == kind:
        return stored.data
    name = str(achievement.get("name") or document.get("name") or "Badge")
    return artwork.badge(kind, name, str(achievement.get("id") or name))


def baked(document_text: str, kind: str, config: Config, lookup: Callable[[str], StoredImage | None]) -> bytes:
    return baking.bake(kind, badge_image(json.loads(document_text), kind, config, lookup), document_text)
