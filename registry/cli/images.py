"""`registry image add FILE` (store an image, print its URL) and `registry credential bake ID
--out FILE.png|FILE.svg` (the credential baked into its badge image, OB 3.0 section 5.3);
`image_option` lets `--image` take a file to upload as well as a URL."""

from __future__ import annotations

from pathlib import Path

from registry.cli.output import actor, emit
from registry.errors import InputError
from registry.vc.images import MAX_BYTES


def register(grammar) -> None:
    group = grammar.group("image", "achievement and organisation images (PNG or SVG, at most 512 KiB)")
    p = grammar.command("add", "store an image and print the URL to give as an achievement's or "
                               "organisation's image", add, group)
    p.add_argument("file")


def read_image(path: str) -> bytes:
    file = Path(path)
    if not file.is_file():
        raise InputError(path, "no such file")
    if file.stat().st_size > MAX_BYTES:
        raise InputError(path, f"is {file.stat().st_size:,} bytes; an image may be at most {MAX_BYTES // 1024} KiB")
    return file.read_bytes()


def add(registry, args) -> int:
    stored = registry.commands.images.add(read_image(args.file), actor=actor())
    emit(args, stored.url, {"url": stored.url, "sha256": stored.sha256, "media_type": stored.media_type,
                            "width": stored.width, "height": stored.height, "added": stored.added})
    return 0


def image_option(registry, value: str | None) -> str | None:
    """--image: a URL as given, or a local file, which is stored first and named by its URL."""
    if value is None or value.startswith(("https://", "http://", "data:")):
        return value
    return registry.commands.images.add(read_image(value), actor=actor()).url


def bake(registry, args) -> int:
    out = Path(args.out)
    kind = out.suffix.lower().lstrip(".")
    if kind not in ("png", "svg"):
        raise InputError("--out", f"name a .png or .svg file, got {args.out!r}")
    credential_id, data = registry.queries.baked(args.credential_id, kind)
    out.write_bytes(data)
    emit(args, f"baked {credential_id} into {out} ({len(data):,} bytes)",
         {"id": credential_id, "file": str(out), "bytes": len(data), "kind": kind})
    return 0
