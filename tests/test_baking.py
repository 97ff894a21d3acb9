"""Baked badges (OB 3.0 section 5.3) and the image checks, as pure functions: round trips through
PNG and SVG, re-baking replaces, and hostile images are refused with one line (truncated PNGs,
bad CRCs, two credential chunks, absurd chunk lengths, SVG entities and scripts), never a
traceback. The generated default badge is deterministic and passes the registry's own checks."""

from __future__ import annotations

import json
import struct
import zlib

import pytest

from registry import artwork
from registry.vc import baking, images
from registry.vc.baking import BakingError, Chunk, bake_png, bake_svg, png_chunks, unbake, write_png
from registry.vc.images import ImageError

CREDENTIAL = json.dumps({"@context": ["https://www.w3.org/ns/credentials/v2"], "id": "urn:uuid:1",
                         "name": "Zoë's badge \u2713", "proof": [{"proofValue": "z3abc"}]}, ensure_ascii=False)
JWT = "eyJhbGciOiJFZERTQSJ9.eyJpc3MiOiJkaWQ6a2V5OnoifQ.c2lnbmF0dXJl"


def tiny_png(width: int = 2, height: int = 2) -> bytes:
    """A real PNG written by hand: 8-bit greyscale."""
    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return write_png([Chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)),
                      Chunk(b"IDAT", zlib.compress(raw)), Chunk(b"IEND", b"")])


SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle r="4"/></svg>'


# --- PNG ----------------------------------------------------------------------------------------------


def test_a_png_round_trip_carries_the_text_exactly_in_one_uncompressed_itxt_before_iend():
    baked = bake_png(tiny_png(), CREDENTIAL)
    assert unbake(baked) == baking.Unbaked("png", CREDENTIAL)
    chunks = png_chunks(baked)
    assert [c.type for c in chunks] == [b"IHDR", b"IDAT", b"iTXt", b"IEND"]
    keyword, _, rest = chunks[2].data.partition(b"\x00")
    assert keyword == b"openbadgecredential"
    assert rest[:4] == b"\x00\x00\x00\x00"  # compression flag 0, method 0, empty language tag and translation
    assert rest[4:].decode("utf-8") == CREDENTIAL


def test_rebaking_a_png_replaces_its_credential():
    twice = bake_png(bake_png(tiny_png(), CREDENTIAL), JWT)
    assert [c.type for c in png_chunks(twice)].count(b"iTXt") == 1
    assert unbake(twice).text == JWT


def test_a_baked_png_is_still_a_png_pillow_reads():
    from PIL import Image
    import io

    baked = bake_png(artwork.badge_png("Co-operative skills: Good", "seed"), CREDENTIAL)
    with Image.open(io.BytesIO(baked)) as image:
        image.load()
        assert image.size == (artwork.PNG_SIZE, artwork.PNG_SIZE)
        assert image.info["openbadgecredential"] == CREDENTIAL  # Pillow reads the iTXt chunk too


def test_two_credential_chunks_are_refused():
    baked = bake_png(tiny_png(), CREDENTIAL)
    chunks = png_chunks(baked)
    doubled = write_png([*chunks[:-1], baking.itxt(baking.KEYWORD, JWT), chunks[-1]])
    with pytest.raises(BakingError, match="2 openbadgecredential chunks"):
        unbake(doubled)


@pytest.mark.parametrize("damage, reason", [
    (lambda b: b[:len(b) // 2], "truncated PNG"),
    (lambda b: b[:-12], "truncated PNG"),  # IEND cut off
    (lambda b: b[:20] + bytes([b[20] ^ 0xFF]) + b[21:], "bad CRC"),
    (lambda b: b[:8] + struct.pack(">I", 0xFFFFFFF0) + b[12:], "more than a PNG chunk may hold"),
    (lambda b: b[:8] + struct.pack(">I", 10_000_000) + b[12:], "claims 10000000 bytes"),
    (lambda b: b"\x89PNG\r\n\x1a\x0a" + b"\x00\x00\x00\x00IEND\xae\x42\x60\x82", "first chunk is not IHDR"),
    (lambda b: b"GIF89a" + b[6:], "not a PNG or SVG"),
])
def test_malformed_pngs_are_one_line_refusals(damage, reason):
    with pytest.raises(BakingError, match=reason) as caught:
        unbake(damage(bake_png(tiny_png(), CREDENTIAL)))
    assert "\n" not in str(caught.value)


def test_a_png_without_a_credential_says_so():
    with pytest.raises(BakingError, match="holds no credential"):
        unbake(tiny_png())
    # What Open Badges 2.0 baked (keyword 'openbadges') is read, and marked as 2.0.
    legacy = write_png([*png_chunks(tiny_png())[:-1], baking.itxt(b"openbadges", "{}"), Chunk(b"IEND", b"")])
    assert (unbake(legacy).text, unbake(legacy).version) == ("{}", "2.0")
    with pytest.raises(BakingError, match="Open Badges 2.0"):
        baking.unbake_png(legacy)


def test_a_compressed_credential_chunk_is_refused():
    body = b"openbadgecredential\x00\x01\x00\x00\x00" + zlib.compress(CREDENTIAL.encode())
    png = write_png([*png_chunks(tiny_png())[:-1], Chunk(b"iTXt", body), Chunk(b"IEND", b"")])
    with pytest.raises(BakingError, match="compressed"):
        unbake(png)


# --- SVG ----------------------------------------------------------------------------------------------


def test_an_svg_round_trip_declares_the_namespace_and_puts_the_credential_first_in_cdata():
    baked = bake_svg(SVG, CREDENTIAL)
    text = baked.decode("utf-8")
    assert 'xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"' in text
    assert "<openbadges:credential><![CDATA[" in text
    assert text.index("<openbadges:credential>") < text.index("<circle")
    assert unbake(baked) == baking.Unbaked("svg", CREDENTIAL)
    again = bake_svg(baked, JWT)
    assert again.decode().count("<openbadges:credential") == 1
    assert 'verify="' + JWT in again.decode()  # a VC-JWT goes in the verify attribute
    assert unbake(again).text == JWT


def test_cdata_cannot_hold_its_end_so_such_text_is_escaped_and_still_comes_back():
    text = json.dumps({"name": "a ]]> b"})
    assert unbake(bake_svg(SVG, text)).text == text


@pytest.mark.parametrize("svg, reason", [
    (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x "boom">]><svg xmlns="http://www.w3.org/2000/svg">&x;</svg>',
     "DOCTYPE"),
    (b'<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg xmlns="http://www.w3.org/2000/svg">&x;</svg>',
     "DOCTYPE"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"><circle', "not well-formed XML"),
    (b'<html xmlns="http://www.w3.org/1999/xhtml"/>', "not an SVG"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "holds no credential"),
])
def test_hostile_or_empty_svgs_are_one_line_refusals(svg, reason):
    with pytest.raises(BakingError, match=reason) as caught:
        unbake(svg)
    assert "\n" not in str(caught.value)


def test_an_svg_with_two_credentials_is_refused():
    two = (b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0">'
           b"<openbadges:credential>{}</openbadges:credential><openbadges:credential>{}</openbadges:credential></svg>")
    with pytest.raises(BakingError, match="2 <openbadges:credential>"):
        unbake(two)


# --- the image checks -----------------------------------------------------------------------------------


def test_images_are_judged_by_their_bytes_and_bounded():
    assert images.check(tiny_png()).extension == "png"
    assert images.check(SVG).extension == "svg"
    with pytest.raises(ImageError, match="not a PNG or SVG"):
        images.check(b"GIF89a....")
    with pytest.raises(ImageError, match="at most 512 KiB"):
        images.check(b"\x89PNG\r\n\x1a\n" + b"\x00" * (512 * 1024))
    with pytest.raises(ImageError, match="at most 2048x2048"):
        images.check(tiny_png(2049, 1))
    with pytest.raises(ImageError, match="bad CRC"):
        damaged = bytearray(tiny_png())
        damaged[20] ^= 0xFF
        images.check(bytes(damaged))
    broken = write_png([Chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 0)),
                        Chunk(b"IDAT", b"not zlib"), Chunk(b"IEND", b"")])
    with pytest.raises(ImageError, match="pixel data does not decode"):
        images.check(broken)


SVG_HEAD = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'


@pytest.mark.parametrize("body, reason", [
    ("<script>alert(1)</script>", "<script> element"),
    ("<foreignObject><div/></foreignObject>", "<foreignObject> element"),
    ('<circle r="1" onload="alert(1)"/>', "event-handler attribute onload"),
    ('<image href="https://evil.example/x.png"/>', "refers outside itself"),
    ('<use xlink:href="https://evil.example/a.svg#x"/>', "refers outside itself"),
    ('<rect style="fill: url(http://evil.example/p)"/>', r"url\(http://evil.example/p\)"),
    ("<style>@import url(https://evil.example/x.css);</style>", "imports a style sheet"),
    ('<a href="javascript:alert(1)"><circle r="1"/></a>', "refers outside itself"),
    ('<set attributeName="href" to="javascript:alert(1)"/>', "javascript:|animates a reference"),
    ('<set attributeName="fill" to="javascript:alert(1)"/>', "javascript:"),
    ("<?xml-stylesheet href='https://evil.example/x.css'?>", "processing instruction"),
])
def test_svgs_that_run_or_reach_out_are_refused_with_the_reason(body, reason):
    with pytest.raises(ImageError, match=reason) as caught:
        images.check(f"{SVG_HEAD}{body}</svg>".encode())
    assert "\n" not in str(caught.value)


def test_svgs_with_fragment_references_and_inline_styles_are_accepted():
    ok = (f'{SVG_HEAD}<defs><linearGradient id="g"/></defs><rect fill="url(#g)" style="stroke: red"/>'
          '<use href="#g"/><use xlink:href="#g"/></svg>')
    assert images.check(ok.encode()).extension == "svg"


# --- the default badge ------------------------------------------------------------------------------------


def test_the_default_badge_is_deterministic_distinct_per_achievement_and_acceptable():
    assert artwork.badge_png("Social skills: Good", "a") == artwork.badge_png.__wrapped__("Social skills: Good", "a")
    assert artwork.palette("a") != artwork.palette("b")
    assert artwork.initials("Co-operative skills: Good") == "CG"
    assert artwork.initials("SoftSkills4EU Super Badge") == "SS"
    assert artwork.initials("Co-operative skills") == "CS"
    assert artwork.initials("ünïcode") == "Ü"
    for kind in ("png", "svg"):
        made = artwork.badge(kind, "A <b>&amp; name", "seed")
        assert images.check(made).extension == kind  # the registry's own checks accept its own art
    assert "<b>" not in artwork.badge_svg("A <b> name", "x")  # the name is escaped


def test_white_initials_keep_their_contrast_on_any_hue():
    def luminance(colour: str) -> float:
        channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    for seed in map(str, range(200)):
        main, _, _ = artwork.palette(seed)
        assert (1.05) / (luminance(main) + 0.05) >= 4.5, (seed, main)
