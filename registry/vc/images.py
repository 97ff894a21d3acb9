"""What an image must be before the registry stores and serves it (achievement and organisation
images, POST /images, `registry image add`): PNG or SVG by its first bytes (never by name or
declared type), at most MAX_BYTES.

- PNG: every chunk's length and CRC, IHDR first, IDAT present, IEND last, at most MAX_SIDE pixels
  a side, and pixel data that decodes (Pillow).
- SVG: well-formed XML parsed without entities, DTD or network (a DOCTYPE is refused), root <svg>,
  and nothing that runs or reaches out: no <script>, <foreignObject>, event-handler attribute
  (on...), processing instruction, href or xlink:href other than a fragment (#id), url(...) to
  anything but a fragment, @import, or javascript: anywhere.

Every refusal is an ImageError with a one-line reason."""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass

from lxml import etree

from registry.vc.baking import BakingError, parse_svg, png_chunks, png_size
from registry.vc.errors import DocumentError

MAX_BYTES = 512 * 1024
MAX_SIDE = 2048
MEDIA_TYPES = {"png": "image/png", "svg": "image/svg+xml"}
_URL = re.compile(r"url\(\s*['\"]?\s*([^'\")\s]*)", re.IGNORECASE)
_FORBIDDEN_ELEMENTS = {"script", "foreignObject", "iframe", "embed", "object", "handler", "listener"}


class ImageError(DocumentError):
    """An image the registry will not store; the message says why, in one line."""


@dataclass(frozen=True)
class ImageInfo:
    extension: str  # "png" or "svg"
    sha256: str
    width: int | None  # pixels (PNG); None for SVG
    height: int | None

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.extension]


def check(data: bytes) -> ImageInfo:
    if not data:
        raise ImageError("the image is empty")
    if len(data) > MAX_BYTES:
        raise ImageError(f"the image is {len(data):,} bytes; at most {MAX_BYTES // 1024} KiB is accepted")
    digest = hashlib.sha256(data).hexdigest()
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        width, height = check_png(data)
        return ImageInfo("png", digest, width, height)
    head = data[:256].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        check_svg(data)
        return ImageInfo("svg", digest, None, None)
    raise ImageError("not a PNG or SVG image (judged by its first bytes); only PNG and SVG are accepted")


def check_png(data: bytes) -> tuple[int, int]:
    try:
        chunks = png_chunks(data)
        width, height = png_size(data)
    except BakingError as exc:
        raise ImageError(str(exc)) from None
    if not 1 <= width <= MAX_SIDE or not 1 <= height <= MAX_SIDE:
        raise ImageError(f"the PNG is {width}x{height} pixels; at most {MAX_SIDE}x{MAX_SIDE} is accepted")
    if not any(c.type == b"IDAT" for c in chunks):
        raise ImageError("malformed PNG: it has no image data (IDAT)")
    from PIL import Image  # the pixel data must decode, not only the chunks parse

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    except Exception as exc:  # Pillow raises many kinds for broken data
        raise ImageError(f"malformed PNG: its pixel data does not decode ({str(exc)[:120]})") from None
    return width, height


def check_svg(data: bytes) -> None:
    try:
        tree = parse_svg(data)
    except BakingError as exc:
        raise ImageError(str(exc)) from None
    for node in tree.getroot().iter():
        if isinstance(node, etree._ProcessingInstruction):
            raise ImageError(f"the SVG has a processing instruction <?{node.target}?>")
        if not isinstance(node.tag, str):  # comments, entities
            if isinstance(node, etree._Entity):
                raise ImageError("the SVG uses an entity reference")
            continue
        name = etree.QName(node).localname
        if name in _FORBIDDEN_ELEMENTS:
            raise ImageError(f"the SVG has a <{name}> element")
        for attribute, value in node.attrib.items():
            local = etree.QName(attribute).localname
            if local.lower().startswith("on"):
                raise ImageError(f"the SVG has an event-handler attribute {local}= on <{name}>")
            if local == "href" and not value.strip().startswith("#"):
                raise ImageError(f"the SVG refers outside itself: <{name} href={value[:80]!r}>")
            if "javascript:" in value.lower().replace(" ", ""):
                raise ImageError(f"the SVG has javascript: in {local}= on <{name}>")
            _check_css(value, f"{local}= on <{name}>")
            if name in ("animate", "set", "animateMotion") and local == "attributeName" and "href" in value:
                raise ImageError(f"the SVG animates a reference (<{name} attributeName={value!r}>)")
        if name == "style":
            _check_css("".join(node.itertext()), "a <style> element")


def _check_css(text: str, where: str) -> None:
    if "@import" in text.lower():
        raise ImageError(f"the SVG imports a style sheet in {where}")
    for target in _URL.findall(text):
        if not target.startswith("#"):
            raise ImageError(f"the SVG refers outside itself: url({target[:80]}) in {where}")
