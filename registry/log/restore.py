"""`registry import FILE`: an export loaded into a store, reproducing the log's every root.

Each line must be a log entry in its canonical form (registry.log.entries) whose state is JSON the
registry reads strictly and decodes into its event class: nothing is stored that a projection could
not apply. A store that already holds events must hold exactly the file's first lines (compared
leaf hash by leaf hash): the import then continues after them, so an interrupted restore is run
again to finish it. Events go in as transactions of BATCH lines, through the event store's own
recorder, so the log's leaves are written with them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from eventsourcing.persistence import StoredEvent

from registry.errors import InputError
from registry.log import entries, tree
from registry.vc.errors import DocumentError
from registry.vc import json_text

BATCH = 1000


def restore(store: Any, log: Any, lines: Iterable[bytes], source: str) -> tuple[int, bytes]:
    """Load the lines; (tree size, root) afterwards."""
    have = log.reader.size()
    batch: list[StoredEvent] = []
    number = 0
    for number, line in _numbered(lines, source):
        event = _stored(store, line, f"{source}, line {number}")
        if number <= have:
            (stored,) = log.reader.leaf_hashes(number - 1, number)
            if stored[2] != tree.leaf_hash(line):
                raise InputError("FILE", f"{source}, line {number} differs from event {number} already in this "
                                 "store: import loads an export into an empty store, or finishes an interrupted one")
            continue
        batch.append(event)
        if len(batch) == BATCH:
            _write(store, batch)
            batch = []
    if batch:
        _write(store, batch)
    if number < have:
        raise InputError("FILE", f"{source} has {number} lines; this store already holds {have} events")
    size = log.reader.size()
    return size, tree.root(size, log.reader.nodes(tree.needed_for_root(size)))


def _numbered(lines: Iterable[bytes], source: str) -> Iterator[tuple[int, bytes]]:
    for number, raw in enumerate(lines, 1):
        line = raw[:-1] if raw.endswith(b"\n") else raw
        if not line:
            raise InputError("FILE", f"{source}, line {number} is empty")
        yield number, line


def _stored(store: Any, line: bytes, where: str) -> StoredEvent:
    try:
        originator_id, version, topic, state = entries.parse(line)
        json_text.loads(state)
    except (entries.EntryError, json_text.JsonTextError, DocumentError, UnicodeDecodeError) as exc:
        raise InputError("FILE", f"{where}: {exc}") from None
    stored = StoredEvent(originator_id=originator_id, originator_version=version, topic=topic, state=state)
    try:
        store.mapper.to_domain_event(stored)
    except Exception as exc:  # an unknown topic or a state its event class cannot hold
        raise InputError("FILE", f"{where}: not an event this registry can read "
                         f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
    return stored


def _write(store: Any, batch: list[StoredEvent]) -> None:
    store.recorder.insert_events(batch)
    store.committed()
