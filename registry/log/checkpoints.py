"""Signing checkpoints, and the check that comes before every signature.

**Cadence: after every write transaction.** The event store calls `sign()` once a write has
committed, before the command answers; concurrent writers queue on one lock and the later ones
find their leaves already covered. So every acknowledged write is in a signed checkpoint when it
is acknowledged: a holder can have a receipt at once, and a key compromise reported at T can be
judged by what was in a checkpoint before T. Signing costs one Ed25519 signature and a check of
the new leaves (bench/log.py).

**Never a checkpoint inconsistent with the last one.** Before signing, under the lock:
1. the stored tree has not shrunk below the last signed size, and its stored hashes still give the
   root that was signed then (so the stored frontier is the signed one);
2. every new leaf is recomputed from its event, the events between them are exactly those leaves,
   and the new root is recomputed from the signed frontier and those leaves;
3. a sweep re-checks as many older leaves per signature as it adds (at least 32, at most 512),
   moving on each time and starting again at 0: their events against their leaf hashes, and their
   hashes against the signed root (through stored inclusion proofs, so rewriting an event together
   with its leaf hash is found too). The sweep keeps pace with growth: every leaf is re-read at
   least once while the log doubles, and within n / 32 signatures; `registry log verify` reads it
   all at once.
On any mismatch nothing is signed: the refusal (which leaf, which position, what differs) is
logged at ERROR, kept in log_state (shown by `registry log checkpoint`, /log/status and the
audit page) and raised as LogDiverged; the last good checkpoint keeps being served."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timezone

from registry.log import note, tree
from registry.log.checkpoint import Checkpoint, format_time, origin_for
from registry.log.storage import LogCorrupted, LogReader, Signed
from registry.vc.multikey import decode_public_key

SWEEP = (32, 512)  # older leaves re-checked per signature: as many as it adds, within these bounds
CHUNK = 1024  # leaves read at once when checking (a power of two: chunks stay aligned)
logger = logging.getLogger("registry.log")


class LogDiverged(Exception):
    """The stored log no longer matches what was signed or what the events say: not signed."""


class Checkpointer:
    def __init__(self, reader: LogReader, custody, public_url: str,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self.reader = reader
        self.db = reader.db
        self.custody = custody
        self.public_url = public_url
        self.clock = clock

    # --- the key ---

    def verifier(self) -> note.Verifier | None:
        state = self.reader.state()
        if state["public_key"] is None:
            return None
        return note.Verifier.of(state["origin"], decode_public_key(state["public_key"]))

    def _key(self, cursor) -> tuple[str, str]:
        state = self.reader.state()
        if state["public_key"] is not None:
            return state["origin"], state["public_key"]
        origin, public = origin_for(self.public_url), self.custody.generate()
        cursor.execute("UPDATE log_state SET origin = ?, public_key = ? WHERE id = 1", (origin, public))
        logger.info("log key created for %s: %s", origin, public)
        return origin, public

    # --- signing ---

    def sign(self) -> Signed:
        """The latest checkpoint, signing a new one first when the tree has grown."""
        refused: LogDiverged | None = None
        with self.db.transaction() as cursor:
            # The one row signers queue on (made by the first signer ever).
            cursor.execute("INSERT INTO log_state (id, sweep) VALUES (1, 0) ON CONFLICT (id) DO NOTHING")
            if self.reader.postgres:
                cursor.execute("SELECT id FROM log_state WHERE id = 1 FOR UPDATE")
            last = self.reader.latest()
            size = self.reader.size()
            if last is not None and last.size == size:
                return last
            origin, public = self._key(cursor)
            try:
                root, sweep = self._check(last, size, self.reader.state()["sweep"])
            except (LogDiverged, LogCorrupted) as exc:
                refused = exc if isinstance(exc, LogDiverged) else LogDiverged(str(exc))
                cursor.execute("UPDATE log_state SET problem = ?, problem_at = ? WHERE id = 1",
                               (str(refused), format_time(self.clock())))
            else:
                moment = self.clock()
                if last is not None:  # a checkpoint's time never goes backwards
                    moment = max(moment, last.time)
                checkpoint = Checkpoint(origin, size, root, moment)
                signer = self.custody.signer(public, f"{origin}#checkpoints")
                signed = note.sign(checkpoint.text, origin, decode_public_key(public), signer.sign)
                cursor.execute("INSERT INTO log_checkpoints (size, root, signed_at, note) VALUES (?, ?, ?, ?)",
                               (size, root, format_time(moment), signed))
                cursor.execute("UPDATE log_state SET sweep = ?, problem = NULL, problem_at = NULL WHERE id = 1",
                               (sweep,))
                result = Signed(size, root, format_time(moment), signed)
        if refused is not None:
            logger.error("checkpoint refused: %s", refused)
            raise refused
        return result

    def _check(self, last: Signed | None, size: int, sweep: int) -> tuple[bytes, int]:
        """The root to sign for `size`, and where the sweep continues; LogDiverged otherwise."""
        old = 0 if last is None else last.size
        if size < old:
            raise LogDiverged(f"the log shrank: {old} leaves were signed, {size} are stored")
        frontier = self.reader.nodes(tree.needed_for_root(old))
        if last is not None and tree.root(old, frontier) != last.root:
            raise LogDiverged(f"the stored tree no longer gives the root signed for size {old}")
        root = self._check_new(old, size, frontier)
        stored = tree.root(size, self.reader.nodes(tree.needed_for_root(size)))
        if stored != root:
            raise LogDiverged(f"the stored tree's root for size {size} differs from the one its events give")
        if last is not None:
            budget = min(max(size - old, SWEEP[0]), SWEEP[1])
            sweep = self.check_range(sweep, min(sweep + budget, old), old, last.root)
            sweep = 0 if sweep >= old else sweep
        return root, sweep

    def _check_new(self, old: int, size: int, frontier) -> bytes:
        """Recompute leaves old ... size-1 from their events; the root they give the signed tree."""
        edge = tree.Frontier((level, frontier[(level, index)]) for level, index in tree.decomposition(old))
        for start in range(old, size, CHUNK):
            for value in self._event_hashes(start, min(start + CHUNK, size)):
                edge.push(value)
        return edge.root()

    def _event_hashes(self, start: int, stop: int) -> list[bytes]:
        """Leaf hashes of leaves start ... stop-1 recomputed from the events, each compared with
        the stored one; the events between them must be exactly those leaves."""
        leaves = self.reader.leaf_hashes(start, stop)
        if len(leaves) != stop - start:
            missing = sorted(set(range(start, stop)) - {leaf for leaf, _, _ in leaves})
            raise LogDiverged(f"leaf {missing[0]}: missing from the stored tree")
        events = {e.position: e for e in self.reader.events(leaves[0][1], leaves[-1][1])}
        logged = {position for _, position, _ in leaves}
        extra = sorted(set(events) - logged)
        if extra:
            raise LogDiverged(f"position {extra[0]}: an event that is not in the log, between logged events")
        out = []
        for leaf, position, stored in leaves:
            event = events.get(position)
            if event is None:
                raise LogDiverged(f"leaf {leaf} (position {position}): its event was deleted from the event store")
            value = tree.leaf_hash(event.entry)
            if value != stored:
                raise LogDiverged(f"leaf {leaf} (position {position}): the stored event differs from the one logged "
                                  f"({event.topic.rsplit(':', 1)[-1]} of {event.originator_id} "
                                  f"v{event.version})")
            out.append(value)
        return out

    def check_range(self, start: int, stop: int, size: int, root: bytes) -> int:
        """Leaves start ... stop-1 of the signed tree of `size` (root `root`): events against leaf
        hashes, and leaf hashes against the root. Returns stop."""
        for begin in range(start, stop, CHUNK):
            end = min(begin + CHUNK, stop)
            hashes = self._event_hashes(begin, end)
            values = {(0, begin + i): h for i, h in enumerate(hashes)}
            blocks = tree.aligned_blocks(begin, end)
            nodes = self.reader.nodes(set().union(*(tree.needed_for_subtree(lvl, i, size) for lvl, i in blocks)))
            for level, index in blocks:
                value = tree.root_of_leaves(hashes[(index << level) - begin:((index + 1) << level) - begin])[1]
                proof = tree.subtree_inclusion_proof(level, index, size, nodes)
                try:
                    tree.verify_subtree_inclusion(level, index, size, value, proof, root)
                except tree.ProofError:
                    self._name_leaf(index << level, (index + 1) << level, values, size, root)
        return stop

    def _name_leaf(self, start: int, stop: int, values, size: int, root: bytes) -> None:
        for leaf in range(start, stop):
            nodes = self.reader.nodes(tree.needed_for_inclusion(leaf, size))
            try:
                tree.verify_inclusion(leaf, size, values[(0, leaf)], tree.inclusion_proof(leaf, size, nodes), root)
            except tree.ProofError:
                raise LogDiverged(f"leaf {leaf}: its event and stored hash were both changed after it was signed "
                                  f"into the checkpoint of size {size}") from None
        raise LogDiverged(f"leaves {start}-{stop - 1}: the stored tree no longer leads to the root signed for "
                          f"size {size}")

    def verify_all(self, progress: Callable[[int, int], None] | None = None) -> Signed | None:
        """The whole log against its events and the last signed checkpoint (`registry log verify`)."""
        last = self.reader.latest()
        if last is None:
            return None
        for start in range(0, last.size, CHUNK):
            self.check_range(start, min(start + CHUNK, last.size), last.size, last.root)
            if progress:
                progress(min(start + CHUNK, last.size), last.size)
        return last
