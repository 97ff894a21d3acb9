"""A backpack export: many badges in one file, as Badgr / Canvas Credentials and other backpacks give
them out, read into the (data, source) items registry.commands.imports imports in one transaction.

- A zip archive: each `.json`, `.jws`, `.jwt`, `.txt`, `.png` and `.svg` member is one badge
  (directories, dotfiles and `__MACOSX/` are skipped; anything else is refused by name). A zip bomb is
  refused before anything is inflated, from the sizes the archive declares (members, each member's
  size and compression ratio, the total), and inflating stops at the bound whatever the archive
  declared. A zip inside the zip, and encrypted members, are refused.
- A JSON list: each entry an assertion or credential (an object), a compact JWS, or the URL of a
  hosted OB 2.0 assertion.
- Badgr's API v2 answer (`{"status": ..., "result": [...]}`): each entity is the hosted assertion
  its `openBadgeId` names (an entity already in Open Badges form is taken as it is).

Anything else is one badge, returned as it came."""

from __future__ import annotations

import io
import json
import zipfile

import msgspec
from pathlib import PurePosixPath

from registry.vc import baking, json_text
from registry.vc.errors import DocumentError

MAX_EXPORT_BYTES = 32 * 1024 * 1024  # the export file itself
MAX_TOTAL_BYTES = 64 * 1024 * 1024  # everything in it, inflated
MAX_MEMBER_BYTES = 256 * 1024 + baking.MAX_IMAGE_BYTES  # one badge, as imports.MAX_IMPORT_BYTES allows
MAX_RATIO = 100  # a badge's JSON compresses about 3:1, a PNG hardly at all
MAX_MEMBERS = 1000  # imports.MAX_IMPORTS
MAX_ENTRIES = 10 * MAX_MEMBERS  # everything listed, skipped files and directories too
BADGE_SUFFIXES = (".json", ".jws", ".jwt", ".txt", ".png", ".svg")
ZIP_MAGIC = b"PK\x03\x04"


def is_export(data: bytes) -> bool:
    """Whether these bytes are a backpack export rather than one badge."""
    if data.startswith(ZIP_MAGIC):
        return True
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"["):
        return True
    if head.startswith(b"{") and b'"result"' in data:
        try:  # a credential has a "result" too (its subject's): only the top level tells them apart
            found = msgspec.json.decode(data.lstrip(b"\xef\xbb\xbf"), type=_Envelope)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return False
        return found.result is not None and found.context is None
    return False


class _Envelope(msgspec.Struct):
    """The top level of Badgr's API answer; everything else in the document is skipped unread."""

    result: list | None = None
    context: object = msgspec.field(default=None, name="@context")


def expand(data: bytes, source: str) -> list[tuple[bytes, str]]:
    """The badges in an export, each with a source naming where in the export it was; one badge
    (not an export) as it came."""
    if len(data) > MAX_EXPORT_BYTES:
        raise DocumentError(f"the export is larger than {MAX_EXPORT_BYTES // (1024 * 1024)} MiB")
    if not is_export(data):
        return [(data, source)]
    if data.startswith(ZIP_MAGIC):
        return _zip_members(data, source)
    try:
        found = json_text.loads(data.decode("utf-8").removeprefix("\ufeff"))
    except UnicodeDecodeError:
        raise DocumentError("the export is not UTF-8 JSON") from None
    entries = found["result"] if isinstance(found, dict) else found
    if not entries:
        raise DocumentError("the export holds no badges")
    if len(entries) > MAX_MEMBERS:
        raise DocumentError(f"the export holds {len(entries)} badges; at most {MAX_MEMBERS} are imported at once")
    return [(_entry(entry, f"{source}[{n}]"), f"{source}[{n}]") for n, entry in enumerate(entries)]


def _entry(entry: object, where: str) -> bytes:
    if isinstance(entry, str):
        return entry.strip().encode("utf-8")
    if not isinstance(entry, dict):
        raise DocumentError(f"{where}: a badge is an object, a JWS or a URL, got {type(entry).__name__}")
    if "@context" not in entry and isinstance(entry.get("openBadgeId"), str):  # a Badgr API entity
        return entry["openBadgeId"].strip().encode("utf-8")
    return json.dumps(entry, ensure_ascii=False).encode("utf-8")


def _zip_members(data: bytes, source: str) -> list[tuple[bytes, str]]:
    # zipfile reads the whole central directory before one entry can be looked at: 30 MiB of empty
    # dotfiles (340,000 entries, all skipped) took 5 s and 220 MiB to list. Each entry there starts
    # with this signature, so counting them (a few false ones at most) bounds that first.
    if data.count(b"PK\x01\x02") > MAX_ENTRIES:
        raise DocumentError(f"the zip archive lists more than {MAX_ENTRIES:,} files")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise DocumentError(f"the export is not a readable zip archive ({exc})") from None
    badges = [m for m in members if not m.is_dir() and not _skipped(m.filename)]
    if not badges:
        raise DocumentError("the zip archive holds no badges")
    if len(badges) > MAX_MEMBERS:
        raise DocumentError(f"the zip archive holds {len(badges)} files; at most {MAX_MEMBERS} badges are imported at once")
    total = 0
    for member in badges:
        name = member.filename
        if not name.lower().endswith(BADGE_SUFFIXES):
            raise DocumentError(f"{name} in the zip archive is not a badge (.json, .jws, .jwt, .txt, .png or .svg)")
        if member.flag_bits & 0x1:
            raise DocumentError(f"{name} in the zip archive is encrypted")
        if member.file_size > MAX_MEMBER_BYTES:
            raise DocumentError(f"{name} in the zip archive inflates to {member.file_size:,} bytes, more than a badge "
                                f"({MAX_MEMBER_BYTES:,})")
        if member.file_size > MAX_RATIO * max(member.compress_size, 1) and member.file_size > 1024 * 1024:
            raise DocumentError(f"{name} in the zip archive is compressed {member.file_size // max(member.compress_size, 1):,}:1, "
                                "like a zip bomb")
        total += member.file_size
        if total > MAX_TOTAL_BYTES:
            raise DocumentError(f"the zip archive inflates to more than {MAX_TOTAL_BYTES // (1024 * 1024)} MiB")
    out = []
    for member in badges:
        try:
            with archive.open(member) as stream:
                # Read one byte past the bound: the declared size may lie.
                content = stream.read(MAX_MEMBER_BYTES + 1)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError, EOFError, OSError) as exc:
            raise DocumentError(f"{member.filename} in the zip archive cannot be read ({exc})") from None
        if len(content) > MAX_MEMBER_BYTES:
            raise DocumentError(f"{member.filename} in the zip archive inflates to more than it declares")
        if content.startswith(ZIP_MAGIC):
            raise DocumentError(f"{member.filename} in the zip archive is itself a zip archive")
        out.append((content, f"{source}!{member.filename}"))
    return out


def _skipped(name: str) -> bool:
    path = PurePosixPath(name)
    return path.parts[:1] == ("__MACOSX",) or any(part.startswith(".") for part in path.parts)
