"""C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint): the note text of a signed tree head.

    <origin>
    <tree size>
    <base64 root hash>
    time <RFC 3339 UTC, microseconds>

The one extension line says when the registry signed it. A key compromise reported as of T keeps a
credential valid only when its issuance is in a checkpoint whose time is before T, so the time is
part of what is signed (and never goes backwards from one checkpoint to the next)."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from registry.log.note import NoteError, check_name
from registry.log.tree import HASH_SIZE

_SIZE = re.compile(r"^(0|[1-9][0-9]{0,19})$")
_TIME = re.compile(r"^time (\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)$")


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    time: datetime | None = None  # when the registry signed it (our extension line)
    extensions: tuple[str, ...] = ()  # any other extension lines, as they were

    @property
    def text(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode()]
        if self.time is not None:
            lines.append(f"time {format_time(self.time)}")
        lines.extend(self.extensions)
        return "\n".join(lines) + "\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        if not text.endswith("\n"):
            raise NoteError("a checkpoint's text ends with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise NoteError("a checkpoint has at least three lines: origin, tree size, root hash")
        origin, size, root, *rest = lines
        if not origin:
            raise NoteError("the checkpoint's origin line is empty")
        if not _SIZE.match(size):
            raise NoteError(f"the checkpoint's tree size is not a decimal number: {size[:30]!r}")
        try:
            digest = base64.b64decode(root, validate=True)
        except (binascii.Error, ValueError):
            raise NoteError("the checkpoint's root hash is not base64") from None
        if len(digest) != HASH_SIZE:
            raise NoteError(f"the checkpoint's root hash is {len(digest)} bytes, not {HASH_SIZE}")
        when, others = None, []
        for line in rest:
            if not line:
                raise NoteError("a checkpoint's extension lines are non-empty")
            match = _TIME.match(line)
            if match and when is None:
                when = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
            else:
                others.append(line)
        return cls(origin, int(size), digest, when, tuple(others))


def format_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def origin_for(public_url: str) -> str:
    """The scheme-less URL prefix of the log (tlog-tiles): https://badges.example.org ->
    badges.example.org/log. It names the log key too."""
    origin = public_url.split("://", 1)[-1].rstrip("/") + "/log"
    return check_name(origin)
