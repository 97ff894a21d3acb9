"""The transparency log as the registry's edges and read side use it: the latest checkpoint, the
log key, proofs, tiles, entry bundles, receipts and the check a verification report makes."""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from registry.domain import NotFound
from registry.log import note, tiles, tree
from registry.log.checkpoints import Checkpointer, LogDiverged
from registry.log.storage import LogReader, Signed

logger = logging.getLogger("registry.log")


class LogUnavailable(NotFound):
    """What was asked of the log does not exist (yet): no checkpoint, an index or size beyond it."""


@dataclass(frozen=True)
class Inclusion:
    index: int
    size: int
    hashes: list[bytes]
    checkpoint: Signed | None  # the signed checkpoint of that size, if one was signed at it
    entry: bytes

    def receipt(self, vkey: str) -> dict[str, Any]:
        """Offline-verifiable: the signed checkpoint, the leaf index, its inclusion proof and the entry."""
        assert self.checkpoint is not None, "a receipt is made for a signed size"
        return {"type": "BadgeRegistryLogReceipt", "log_key": vkey, "checkpoint": self.checkpoint.note,
                "index": self.index, "size": self.size,
                "hashes": [base64.b64encode(h).decode() for h in self.hashes],
                "entry": self.entry.decode("utf-8")}


class TransparencyLog:
    def __init__(self, reader: LogReader, checkpointer: Checkpointer) -> None:
        self.reader = reader
        self.checkpointer = checkpointer

    # --- signing ---

    def after_write(self) -> None:
        """The event store's after-commit hook: sign a checkpoint covering the write. The write
        itself has committed, so a refusal is logged (and kept in log_state), not raised."""
        try:
            self.checkpointer.sign()
        except LogDiverged:
            pass  # logged at ERROR by the checkpointer; the last good checkpoint stays served
        except Exception:
            logger.exception("signing a checkpoint after a write failed; the next write tries again")

    def sign(self) -> Signed:
        return self.checkpointer.sign()

    def verify_all(self, progress=None) -> Signed | None:
        return self.checkpointer.verify_all(progress)

    # --- reads ---

    def key(self) -> note.Verifier:
        verifier = self.checkpointer.verifier()
        if verifier is None:
            raise LogUnavailable("the log has no key yet: it is made with the first checkpoint (after the first write)")
        return verifier

    def latest(self) -> Signed:
        latest = self.reader.latest()
        if latest is None:
            raise LogUnavailable("no checkpoint has been signed yet (the first is signed after the first write)")
        return latest

    def problem(self) -> tuple[str, str] | None:
        state = self.reader.state()
        return None if state["problem"] is None else (state["problem"], state["problem_at"])

    def _size(self, size: int | None) -> int:
        """The tree size asked about: any size up to the latest checkpoint's (that one by default)."""
        latest = self.latest().size
        if size is None:
            return latest
        if size > latest:
            raise LogUnavailable(f"size {size} is beyond the latest checkpoint ({latest})")
        return size

    def inclusion(self, index: int, size: int | None = None) -> Inclusion:
        size = self._size(size)
        if not 0 <= index < size:
            raise LogUnavailable(f"index {index} is not in the tree of size {size}")
        nodes = self.reader.nodes(tree.needed_for_inclusion(index, size))
        (entry,) = self.reader.entries(index, index + 1)
        return Inclusion(index, size, tree.inclusion_proof(index, size, nodes), self.reader.checkpoint(size), entry)

    def consistency(self, old: int, size: int | None = None) -> tuple[int, int, list[bytes]]:
        size = self._size(size)
        if not 0 <= old <= size:
            raise LogUnavailable(f"size {old} is not between 0 and {size}")
        nodes = self.reader.nodes(tree.needed_for_consistency(old, size))
        return old, size, tree.consistency_proof(old, size, nodes)

    def tile(self, level: str, n: int, width: int) -> bytes:
        """A tile's bytes (or an entry bundle's), only when a signed checkpoint covers all of it."""
        covered = self.latest().size
        if level == "entries":
            if tiles.tile_covers(0, n, width) > covered:
                raise LogUnavailable(f"entry bundle {n} of width {width} is beyond the latest checkpoint ({covered})")
            start = n * tiles.WIDTH
            return tiles.bundle(self.reader.entries(start, start + width))
        lvl = int(level)
        if tiles.tile_covers(lvl, n, width) > covered:
            raise LogUnavailable(f"tile {level}/{n} of width {width} is beyond the latest checkpoint ({covered})")
        return b"".join(self.reader.level_range(tiles.HEIGHT * lvl, n * tiles.WIDTH, width))

    def inclusion_of(self, aggregate_id: UUID, version: int = 1) -> Inclusion | None:
        """The inclusion of an aggregate's event (version 1: its creation, e.g. Issued) in the first
        checkpoint that covers it; None when it is not logged or no checkpoint covers it yet."""
        position = self.reader.position_of(aggregate_id, version)
        if position is None:
            return None
        leaf = self.reader.leaf_of(position)
        if leaf is None:
            return None
        first = self.reader.first_covering(leaf)
        if first is None:
            return None
        return self.inclusion(leaf, first.size)

    def entries(self, start: int = 0, page: int = 1024):
        """Every entry from leaf `start` on, in order (what `registry export` prints)."""
        size = self.reader.size()
        for first in range(start, size, page):
            yield from self.reader.entries(first, min(first + page, size))

    def covered_at(self, aggregate_id: str) -> datetime | None:
        """When the aggregate's first event was first in a signed checkpoint; None: not yet."""
        return self.reader.covered_at(UUID(aggregate_id))
