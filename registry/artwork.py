"""A badge for an achievement that has no image of its own: a rosette with two ribbon tails in a
colour derived from the achievement (the same achievement always gets the same colour), carrying
the initials of its name. SVG is written as text; PNG is drawn with Pillow (supersampled, so the
edges are smooth). Pure: the same input gives the same bytes."""

from __future__ import annotations

import colorsys
import hashlib
import io
from functools import lru_cache
from html import escape
from pathlib import Path

SIZE = 512  # the SVG's viewBox; the PNG is PNG_SIZE pixels a side
PNG_SIZE = 400
_BOLD_FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
               "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf")


def initials(name: str) -> str:
    """'Co-operative skills: Good' -> 'CG'; 'Co-operative skills' -> 'CS'; at most two letters."""
    parts = [p.strip() for p in name.split(":") if p.strip()]
    if len(parts) >= 2:
        words = [parts[0].split()[0], parts[-1].split()[0]]
    else:
        words = [w for w in name.split() if w[:1].isalnum()][:2]
    letters = "".join(w[0] for w in words if w and w[0].isalnum()).upper()
    return letters[:2] or "★"


def palette(seed: str) -> tuple[str, str, str]:
    """(main, dark, light) colours from the seed: a hue of its own, a fixed saturation, and the
    lightness darkened as far as the hue needs for white initials to keep 4.6:1 contrast."""
    hue = int(hashlib.sha256(seed.encode("utf-8")).hexdigest()[:8], 16) / 0xFFFFFFFF

    def hex_of(lightness: float, saturation: float) -> str:
        r, g, b = colorsys.hls_to_rgb(hue, lightness, saturation)
        return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"

    lightness = 0.40
    while _contrast_with_white(hex_of(lightness, 0.62)) < 4.6:  # greens and yellows need a darker shade
        lightness -= 0.02
    return hex_of(lightness, 0.62), hex_of(lightness - 0.12, 0.62), hex_of(0.86, 0.55)


def _contrast_with_white(colour: str) -> float:
    """WCAG 2 contrast ratio of white on `colour` (#rrggbb)."""
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 1.05 / (0.2126 * r + 0.7152 * g + 0.0722 * b + 0.05)


def _points(cx: float, cy: float, outer: float, inner: float, n: int) -> list[tuple[float, float]]:
    """A rosette's outline: n scallops between two radii."""
    import math

    points = []
    for i in range(n * 2):
        radius = outer if i % 2 == 0 else inner
        angle = math.pi * i / n - math.pi / 2
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    return points


def badge_svg(name: str, seed: str) -> str:
    main, dark, light = palette(seed)
    letters = escape(initials(name))
    rosette = " ".join(f"{x:.1f},{y:.1f}" for x, y in _points(256, 220, 200, 182, 24))
    size = 150 if len(letters) == 1 else 128
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SIZE} {SIZE}" width="{SIZE}" height="{SIZE}"'
        f' role="img" aria-label="{escape(name)}">\n'
        f'<title>{escape(name)}</title>\n'
        f'<polygon points="150,330 110,500 170,465 205,505 235,350" fill="{dark}"/>\n'
        f'<polygon points="362,330 402,500 342,465 307,505 277,350" fill="{dark}"/>\n'
        f'<polygon points="{rosette}" fill="{main}"/>\n'
        f'<circle cx="256" cy="220" r="158" fill="{light}"/>\n'
        f'<circle cx="256" cy="220" r="142" fill="{main}"/>\n'
        f'<circle cx="256" cy="220" r="128" fill="none" stroke="{light}" stroke-width="3" stroke-dasharray="2 9"'
        ' stroke-linecap="round"/>\n'
        f'<text x="256" y="220" text-anchor="middle" dominant-baseline="central" fill="#ffffff"'
        f' font-family="DejaVu Sans, Verdana, Arial, sans-serif" font-weight="700" font-size="{size}"'
        f' letter-spacing="4">{letters}</text>\n'
        '</svg>\n')


@lru_cache(maxsize=256)
def badge_png(name: str, seed: str) -> bytes:
    from PIL import Image, ImageDraw

    scale = 2
    canvas = SIZE * scale
    main, dark, light = palette(seed)
    image = Image.new("RGBA", (canvas, canvas), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)

    def s(points):
        return [(x * scale, y * scale) for x, y in points]

    draw.polygon(s([(150, 330), (110, 500), (170, 465), (205, 505), (235, 350)]), fill=dark)
    draw.polygon(s([(362, 330), (402, 500), (342, 465), (307, 505), (277, 350)]), fill=dark)
    draw.polygon(s(_points(256, 220, 200, 182, 24)), fill=main)
    for radius, colour in ((158, light), (142, main)):
        draw.ellipse([(256 - radius) * scale, (220 - radius) * scale, (256 + radius) * scale,
                      (220 + radius) * scale], fill=colour)
    letters = initials(name)
    size = (150 if len(letters) == 1 else 128) * scale
    font = _font(size)
    draw.text((256 * scale, 220 * scale), letters, fill="#ffffff", font=font, anchor="mm")
    image = image.resize((PNG_SIZE, PNG_SIZE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=6)  # optimize=True: 10x the time for 10% fewer bytes
    return out.getvalue()


def _font(size: int):
    from PIL import ImageFont

    for path in _BOLD_FONTS:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def badge(kind: str, name: str, seed: str) -> bytes:
    return badge_png(name, seed) if kind == "png" else badge_svg(name, seed).encode("utf-8")
