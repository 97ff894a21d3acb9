"""The log entry of a stored event: exactly one line of `registry export`, byte-stable forever.

    {"originator_id":"<uuid>","originator_version":<n>,"topic":"<topic>","state":<state>}

- originator_id: the aggregate's UUID, lowercase, hyphenated (36 characters);
- originator_version: decimal, no leading zeros;
- topic: the event class's topic as a JSON string (msgspec's encoding: ASCII stays as is);
- state: the stored event's JSON bytes exactly as the store holds them (never re-encoded);
- no whitespace between the parts, UTF-8, and the line feed after it is not part of the entry.

The notification position (a database counter, which may skip numbers after a rolled-back
transaction) is not in the entry: a leaf's index is its line number minus one, so an export loaded
into an empty store (`registry import`) reproduces every root."""

from __future__ import annotations

import re
from uuid import UUID

import msgspec

from registry.log.tiles import MAX_ENTRY

_HEAD = re.compile(rb'^\{"originator_id":"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})",'
                   rb'"originator_version":(0|[1-9][0-9]{0,18}),"topic":("(?:[^"\\\x00-\x1f]|\\.)*"),"state":')


class EntryError(ValueError):
    """A line that is not a log entry in its canonical form."""


def entry(originator_id: UUID, version: int, topic: str, state: bytes) -> bytes:
    return (b'{"originator_id":"' + str(originator_id).encode() + b'","originator_version":'
            + str(version).encode() + b',"topic":' + msgspec.json.encode(topic) + b',"state":' + bytes(state) + b"}")


def parse(line: bytes) -> tuple[UUID, int, str, bytes]:
    """(originator id, version, topic, state bytes) of a canonical entry; EntryError otherwise."""
    match = _HEAD.match(line)
    if match is None or not line.endswith(b"}"):
        raise EntryError("not a log entry: expected "
                         '{"originator_id":"<uuid>","originator_version":<n>,"topic":"...","state":{...}}')
    topic = msgspec.json.decode(match.group(3), type=str)
    state = line[match.end():-1]
    try:
        if not isinstance(msgspec.json.decode(state), dict):
            raise EntryError("the entry's state is not a JSON object")
    except msgspec.DecodeError:
        raise EntryError("the entry's state is not JSON") from None
    parsed = (UUID(match.group(1).decode()), int(match.group(2)), topic, state)
    if entry(*parsed) != line:
        raise EntryError("the entry is not in its canonical form")
    return parsed


def check_size(line: bytes) -> None:
    if len(line) > MAX_ENTRY:
        raise EntryError(f"the event is {len(line):,} bytes as a log entry; the log holds entries of at most "
                         f"{MAX_ENTRY:,} bytes (tlog-tiles bundles use 16-bit lengths)")
