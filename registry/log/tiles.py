"""C2SP tlog-tiles (https://c2sp.org/tlog-tiles): tile paths, tile widths, entry bundles.

A tile at level L holds up to 256 hashes of tree level 8L; tile N covers nodes N*256 ... N*256+255
of that level. A full tile is 256 hashes; the rightmost tiles of a tree are partial (.p/<W>)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from registry.log.tree import HASH_SIZE

WIDTH = 256
HEIGHT = 8
MAX_ENTRY = 0xFFFF  # big-endian uint16 length prefixes
_INDEX = re.compile(r"^(?:x\d{3}/)*\d{3}$")


class TileError(ValueError):
    """A tile path, tile or bundle that is malformed; the message says how."""


def index_path(n: int) -> str:
    """1234067 -> x001/x234/067."""
    groups = [f"{n % 1000:03d}"]
    n //= 1000
    while n:
        groups.append(f"x{n % 1000:03d}")
        n //= 1000
    return "/".join(reversed(groups))


def tile_path(level: int | str, n: int, width: int = WIDTH) -> str:
    """tile/<L>/<N>[.p/<W>]; level "entries" for entry bundles."""
    path = f"tile/{level}/{index_path(n)}"
    return path if width == WIDTH else f"{path}.p/{width}"


def parse_tile_path(path: str) -> tuple[str, int, int]:
    """'<L>/<N>[.p/<W>]' (after tile/) -> (level or 'entries', n, width)."""
    level, _, rest = path.partition("/")
    if level != "entries" and not re.fullmatch(r"0|[1-9]\d?", level):
        raise TileError(f"tile level {level!r} is not 0-63 or 'entries'")
    if level != "entries" and int(level) > 63:
        raise TileError(f"tile level {level} is above 63")
    width = WIDTH
    if ".p/" in rest:
        rest, _, w = rest.partition(".p/")
        if not re.fullmatch(r"[1-9]\d{0,2}", w) or int(w) >= WIDTH:
            raise TileError(f"a partial tile's width is 1-255, not {w!r}")
        width = int(w)
    if not _INDEX.match(rest) or (rest.count("/") and rest.startswith("x000")):
        raise TileError(f"tile index {rest!r} is not in x-prefixed 3-digit groups")
    n = int(rest.replace("x", "").replace("/", ""))
    if index_path(n) != rest:
        raise TileError(f"tile index {rest!r} is not in its canonical form ({index_path(n)})")
    return level, n, width


def tiles_for(size: int, level: int) -> tuple[int, int]:
    """(full tiles, width of the partial tile or 0) at `level` for a tree of `size` leaves."""
    count = size >> (HEIGHT * level)
    return count // WIDTH, count % WIDTH


def tile_covers(level: int, n: int, width: int) -> int:
    """The tree size a tile needs: its hashes cover leaves up to this index."""
    return (n * WIDTH + width) << (HEIGHT * level)


def split_hashes(data: bytes, width: int) -> list[bytes]:
    if len(data) != width * HASH_SIZE:
        raise TileError(f"a tile of width {width} is {width * HASH_SIZE} bytes, got {len(data)}")
    return [data[i:i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


def bundle(entries: Sequence[bytes]) -> bytes:
    out = bytearray()
    for entry in entries:
        if len(entry) > MAX_ENTRY:
            raise TileError(f"an entry of {len(entry):,} bytes does not fit a bundle (at most {MAX_ENTRY:,})")
        out += len(entry).to_bytes(2, "big") + entry
    return bytes(out)


def unbundle(data: bytes, width: int) -> list[bytes]:
    entries = list(_entries(data))
    if len(entries) != width:
        raise TileError(f"an entry bundle of width {width} holds {len(entries)} entries")
    return entries


def _entries(data: bytes) -> Iterator[bytes]:
    at = 0
    while at < len(data):
        if at + 2 > len(data):
            raise TileError(f"the entry bundle ends inside a length prefix at byte {at}")
        length = int.from_bytes(data[at:at + 2], "big")
        if at + 2 + length > len(data):
            raise TileError(f"the entry bundle ends inside an entry at byte {at}")
        yield data[at + 2:at + 2 + length]
        at += 2 + length
