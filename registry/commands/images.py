"""Storing an image (an achievement's or organisation's): checked first (registry.vc.images: PNG or
SVG by its bytes, bounded, nothing that runs or reaches out), then kept by its SHA-256 in the image
store. Any organisation or the operator may store one: images are public and content-addressed,
and storing changes nothing anyone else has."""

from __future__ import annotations

import msgspec

from registry.commands.policy import Actor
from registry.images import ImageStore
from registry.settings import Config
from registry.vc import images


class StoredImageOut(msgspec.Struct, frozen=True):
    url: str  # where the registry serves it: give this as an achievement's or organisation's image
    sha256: str
    media_type: str
    width: int | None
    height: int | None
    added: bool  # False when the same bytes were stored before


class ImageCommands:
    def __init__(self, store: ImageStore, config: Config) -> None:
        self.store = store
        self.config = config

    def add(self, data: bytes, actor: Actor) -> StoredImageOut:
        info = images.check(data)  # ImageError (422) with the reason
        added = self.store.add(info, data, actor.name)
        return StoredImageOut(self.config.image_url(info.sha256, info.extension), info.sha256, info.media_type,
                              info.width, info.height, added)
