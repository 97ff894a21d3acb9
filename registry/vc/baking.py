"""Baked badges (Open Badges 3.0 section 5.3): a signed credential carried inside its image.

- PNG: one `iTXt` chunk, keyword `openbadgecredential`, compression flag 0 (OB 3.0 forbids
  compression), empty language tag and translated keyword, the credential's JSON (or a VC-JWT) as
  its text, placed before IEND. Baking again replaces the chunk: an image never holds two.
- SVG: the root `<svg>` declares `xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"`, and its
  first child is `<openbadges:credential>` holding the JSON in CDATA (a VC-JWT goes in a `verify`
  attribute instead).

`unbake(data)` finds the credential in either kind, and reads what Open Badges 2.0 baked (Baking
1.0: an `iTXt` or `tEXt` chunk keyword `openbadges`; `<openbadges:assertion>` in namespace
http://openbadges.org, its `verify` attribute the JWS or the hosted URL), marked as such. Everything is pure: bytes in, bytes or text
out, and every refusal is a `BakingError` with a one-line reason (never a traceback). The PNG
reader checks the signature, each chunk's length against what is left and its CRC, and stops at
IEND; the SVG parser (lxml) resolves no entity, loads no DTD and reaches no network, and a
DOCTYPE is refused outright."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from functools import lru_cache

from lxml import etree

from registry.vc.errors import DocumentError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
KEYWORD = b"openbadgecredential"
OB2_KEYWORD = b"openbadges"
OB_NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"
OB2_NAMESPACE = "http://openbadges.org"
# Seen in the wild (the spec's context URL used as the namespace); read, never written.
READ_NAMESPACES = (OB_NAMESPACE, "https://purl.imsglobal.org/spec/ob/v3p0")
SVG_NAMESPACE = "http://www.w3.org/2000/svg"
MAX_CHUNK = 2**31 - 1  # the PNG specification's bound on a chunk's length
MAX_IMAGE_BYTES = 16 * 1024 * 1024  # what unbake reads at most (a badge is far smaller)


class BakingError(DocumentError):
    """An image that holds no usable credential, or one that cannot be baked; one line."""


@dataclass(frozen=True)
class Chunk:
    type: bytes
    data: bytes


@dataclass(frozen=True)
class Unbaked:
    kind: str  # "png" or "svg"
    text: str  # the credential's JSON text, or a compact VC-JWT (OB 2.0: JSON, a JWS or a URL)
    version: str = "3.0"  # "2.0": an Open Badges 2.0 assertion baked by Baking 1.0


# --- PNG ---------------------------------------------------------------------------------------------


def png_chunks(data: bytes) -> list[Chunk]:
    """The chunks of a PNG up to and including IEND, each length and CRC checked."""
    if not data.startswith(PNG_SIGNATURE):
        raise BakingError("not a PNG: the signature is missing")
    chunks: list[Chunk] = []
    at = len(PNG_SIGNATURE)
    while True:
        if at + 8 > len(data):
            raise BakingError(f"truncated PNG: a chunk header is cut off at byte {at} (no IEND)")
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        name = kind.decode("latin-1")
        if not kind.isalpha() or not kind.isascii():
            raise BakingError(f"malformed PNG: a chunk type at byte {at} is not four letters")
        if length > MAX_CHUNK:
            raise BakingError(f"malformed PNG: chunk {name} claims {length} bytes, more than a PNG chunk may hold")
        end = at + 8 + length + 4
        if end > len(data):
            raise BakingError(f"truncated PNG: chunk {name} claims {length} bytes but only "
                              f"{max(0, len(data) - at - 12)} follow")
        body = data[at + 8:at + 8 + length]
        (crc,) = struct.unpack(">I", data[end - 4:end])
        if zlib.crc32(kind + body) != crc:
            raise BakingError(f"malformed PNG: chunk {name} at byte {at} has a bad CRC")
        if not chunks and kind != b"IHDR":
            raise BakingError("malformed PNG: the first chunk is not IHDR")
        chunks.append(Chunk(kind, body))
        at = end
        if kind == b"IEND":
            return chunks


def write_png(chunks: list[Chunk]) -> bytes:
    out = [PNG_SIGNATURE]
    for chunk in chunks:
        out.append(struct.pack(">I", len(chunk.data)) + chunk.type + chunk.data
                   + struct.pack(">I", zlib.crc32(chunk.type + chunk.data)))
    return b"".join(out)


def itxt(keyword: bytes, text: str) -> Chunk:
    """An uncompressed iTXt chunk, empty language tag and translated keyword."""
    return Chunk(b"iTXt", keyword + b"\x00" + b"\x00\x00" + b"\x00" + b"\x00" + text.encode("utf-8"))


def _itxt_fields(body: bytes) -> tuple[bytes, int, str]:
    """(keyword, compression flag, text) of an iTXt chunk's data."""
    keyword, sep, rest = body.partition(b"\x00")
    if not sep or len(rest) < 2:
        raise BakingError("malformed PNG: an iTXt chunk is cut short")
    flag, method, rest = rest[0], rest[1], rest[2:]
    _, sep1, rest = rest.partition(b"\x00")  # language tag
    _, sep2, text = rest.partition(b"\x00")  # translated keyword
    if not (sep1 and sep2):
        raise BakingError(f"malformed PNG: the iTXt chunk {keyword[:40]!r} is cut short")
    if flag not in (0, 1) or method != 0:
        raise BakingError(f"malformed PNG: the iTXt chunk {keyword[:40]!r} names an unknown compression")
    if flag:
        raise BakingError("the PNG's credential chunk is compressed, which OB 3.0 forbids")
    try:
        return keyword, flag, text.decode("utf-8")
    except UnicodeDecodeError:
        raise BakingError(f"malformed PNG: the text of the iTXt chunk {keyword[:40]!r} is not UTF-8") from None


def _is_credential_chunk(chunk: Chunk) -> bool:
    return chunk.type == b"iTXt" and chunk.data.startswith(KEYWORD + b"\x00")


def bake_png(png: bytes, text: str) -> bytes:
    """The PNG with `text` (a credential's JSON or a VC-JWT) as its one credential chunk."""
    head, tail = _png_parts(png)
    return head + write_png([itxt(KEYWORD, text)])[len(PNG_SIGNATURE):] + tail


@lru_cache(maxsize=64)
def _png_parts(png: bytes) -> tuple[bytes, bytes]:
    """(everything before IEND without any credential chunk, IEND): a badge image is baked into
    again and again, so it is parsed and checked once."""
    chunks = [c for c in png_chunks(png) if not _is_credential_chunk(c)]
    return write_png(chunks[:-1]), write_png(chunks[-1:])[len(PNG_SIGNATURE):]


def unbake_png(png: bytes, *, legacy: bool = False) -> str:
    """The OB 3.0 credential baked into a PNG; with `legacy`, the OB 2.0 assertion instead."""
    found = []
    older = []
    for chunk in png_chunks(png):
        if chunk.type == b"iTXt" and chunk.data.startswith(KEYWORD + b"\x00"):
            found.append(chunk)
        elif chunk.type in (b"iTXt", b"tEXt") and chunk.data.startswith(OB2_KEYWORD + b"\x00"):
            older.append(chunk)
    if legacy:
        return _ob2_png_text(older)
    if len(found) > 1:
        raise BakingError(f"the PNG has {len(found)} openbadgecredential chunks; OB 3.0 allows one")
    if not found:
        if older:
            raise BakingError("the PNG holds an Open Badges 2.0 assertion (keyword 'openbadges'), not an OB 3.0 credential")
        raise BakingError("the PNG holds no credential (no iTXt chunk 'openbadgecredential')")
    _, _, text = _itxt_fields(found[0].data)
    if not text.strip():
        raise BakingError("the PNG's credential chunk is empty")
    return text


def _ob2_png_text(chunks: list[Chunk]) -> str:
    if len(chunks) != 1:
        raise BakingError(f"the PNG has {len(chunks)} 'openbadges' chunks; Baking 1.0 allows one" if chunks
                          else "the PNG holds no badge (no 'openbadgecredential' or 'openbadges' chunk)")
    chunk = chunks[0]
    if chunk.type == b"tEXt":  # Baking 1.0 allowed tEXt: keyword, NUL, Latin-1 text
        text = chunk.data.partition(b"\x00")[2].decode("latin-1")
    else:
        _, flag, text = _itxt_fields(chunk.data)
    if not text.strip():
        raise BakingError("the PNG's 'openbadges' chunk is empty")
    return text.strip()


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) from IHDR, the chunks checked."""
    header = png_chunks(png)[0]
    if len(header.data) != 13:
        raise BakingError("malformed PNG: IHDR is not 13 bytes")
    width, height = struct.unpack(">II", header.data[:8])
    return width, height


# --- SVG ---------------------------------------------------------------------------------------------


def parse_svg(data: bytes) -> etree._ElementTree:
    """An SVG document parsed without entities, DTDs or network; a DOCTYPE is refused."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                             huge_tree=False, remove_blank_text=False, collect_ids=False)
    try:
        tree = etree.ElementTree(etree.fromstring(data, parser))
    except etree.XMLSyntaxError as exc:
        raise BakingError(f"not well-formed XML: {str(exc).splitlines()[0][:200]}") from None
    except ValueError as exc:  # e.g. a str with an encoding declaration
        raise BakingError(f"not well-formed XML: {exc}") from None
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise BakingError("the SVG has a DOCTYPE (entities and DTDs are refused)")
    root = tree.getroot()
    if root.tag != f"{{{SVG_NAMESPACE}}}svg":
        raise BakingError(f"not an SVG: the root element is {etree.QName(root).localname!r}"
                          f" in namespace {etree.QName(root).namespace!r}")
    return tree


def _credential_elements(root) -> list:
    return [e for e in root.iter() if isinstance(e.tag, str) and etree.QName(e).localname == "credential"
            and etree.QName(e).namespace in READ_NAMESPACES]


def bake_svg(svg: bytes, text: str) -> bytes:
    """The SVG with `text` as its one <openbadges:credential>, the root's first child."""
    old = parse_svg(svg).getroot()
    for element in _credential_elements(old):
        _drop(element)
    root = etree.Element(old.tag, attrib=dict(old.attrib), nsmap={**old.nsmap, "openbadges": OB_NAMESPACE})
    root.text = old.text
    for child in list(old):
        root.append(child)
    credential = etree.Element(f"{{{OB_NAMESPACE}}}credential")
    if _is_jwt(text):
        credential.set("verify", text.strip())
    elif "]]>" in text:
        credential.text = text  # CDATA cannot hold "]]>": escaped text carries the same characters
    else:
        credential.text = etree.CDATA(text)
    credential.tail = root.text
    root.text = "\n"
    root.insert(0, credential)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _drop(element) -> None:
    """Remove an element, keeping the text that followed it."""
    parent = element.getparent()
    previous = element.getprevious()
    if element.tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


def _is_jwt(text: str) -> bool:
    parts = text.strip().split(".")
    return len(parts) == 3 and text.strip().startswith("eyJ") and all(parts)


def unbake_svg(svg: bytes, *, legacy: bool = False) -> str:
    """The OB 3.0 credential baked into an SVG; with `legacy`, the OB 2.0 assertion instead."""
    root = parse_svg(svg).getroot()
    if legacy:
        return _ob2_svg_text(root)
    found = _credential_elements(root)
    if len(found) > 1:
        raise BakingError(f"the SVG has {len(found)} <openbadges:credential> elements; OB 3.0 allows one")
    if not found:
        if any(isinstance(e.tag, str) and etree.QName(e).localname == "assertion" for e in root.iter()):
            raise BakingError("the SVG holds an Open Badges 2.0 assertion, not an OB 3.0 credential")
        raise BakingError("the SVG holds no credential (no <openbadges:credential> element)")
    element = found[0]
    verify = element.get("verify")
    text = verify if verify else "".join(element.itertext())
    if not text.strip():
        raise BakingError("the SVG's <openbadges:credential> is empty")
    return text.strip()


def _ob2_svg_text(root) -> str:
    found = [e for e in root.iter() if isinstance(e.tag, str) and etree.QName(e).localname == "assertion"
             and etree.QName(e).namespace == OB2_NAMESPACE]
    if len(found) != 1:
        raise BakingError(f"the SVG has {len(found)} <openbadges:assertion> elements; Baking 1.0 allows one" if found
                          else "the SVG holds no badge (no <openbadges:credential> or <openbadges:assertion>)")
    verify = (found[0].get("verify") or "").strip()
    content = "".join(found[0].itertext()).strip()
    # A signed badge's signature is in `verify`; a hosted one has its JSON inside (and its URL in
    # `verify`, which hosted verification fetches anyway).
    text = verify if verify and (not content or not verify.startswith(("https://", "http://"))) else content
    if not text:
        raise BakingError("the SVG's <openbadges:assertion> is empty")
    return text


# --- either ------------------------------------------------------------------------------------------


def kind_of(data: bytes) -> str | None:
    """The kind of image the bytes are: png, svg (anything that starts like XML), or None."""
    if data.startswith(PNG_SIGNATURE):
        return "png"
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return "svg"
    return None


def bake(kind: str, image: bytes, text: str) -> bytes:
    return bake_png(image, text) if kind == "png" else bake_svg(image, text)


def unbake(data: bytes) -> Unbaked:
    """The credential (JSON text or VC-JWT) baked into a PNG or SVG."""
    if len(data) > MAX_IMAGE_BYTES:
        raise BakingError(f"the image is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MiB")
    kind = kind_of(data)
    if kind not in ("png", "svg"):
        raise BakingError("not a PNG or SVG image")
    read = unbake_png if kind == "png" else unbake_svg
    try:
        return Unbaked(kind, read(data))
    except BakingError as exc:
        if "Open Badges 2.0" not in str(exc):
            raise
    return Unbaked(kind, read(data, legacy=True), version="2.0")
