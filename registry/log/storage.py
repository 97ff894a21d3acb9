"""The log's tables, and the one module that knows them.

    log_leaves       leaf (0-based index) -> the event's notification position and its leaf hash
    log_nodes        every complete interior node (level >= 1, index) -> hash
    log_checkpoints  every signed checkpoint: size, root, when, the signed note
    log_state        one row: the log's origin and key, where the sweep of the pre-signing check
                     is, the last refusal to sign (and the row signers lock)

Leaves and nodes are written by the event store's recorder **in the transaction that inserts the
events** (`LogWriter.append`), under the lock that serialises inserts (PostgreSQL's EXCLUSIVE table
lock, SQLite's one writer): a leaf's index is the count of events before it, in notification order,
so leaves are gapless and ordered the same on both stores, whatever the concurrency. If events are
found that have no leaf yet (a store from before the log, or rows written past the application),
they are given leaves first, in order: the log never skips an event.

Reads (`LogReader`) go through the registry's plain-SQL adapter and never recompute the tree: a
proof reads the O(log n) nodes it needs in one statement."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from registry.domain import DomainError
from registry.log import entries, tree
from registry.log.tree import Node

TABLES = ("log_leaves", "log_nodes", "log_checkpoints", "log_state")


def ddl(blob: str, big: str) -> list[str]:
    return [
        f"CREATE TABLE IF NOT EXISTS {{s}}log_leaves (leaf {big} PRIMARY KEY, position {big} NOT NULL UNIQUE,"
        f" hash {blob} NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS {{s}}log_nodes (level INTEGER NOT NULL, idx {big} NOT NULL,"
        f" hash {blob} NOT NULL, PRIMARY KEY (level, idx))",
        f"CREATE TABLE IF NOT EXISTS {{s}}log_checkpoints (size {big} PRIMARY KEY, root {blob} NOT NULL,"
        " signed_at TEXT NOT NULL, note TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS {s}log_state (id INTEGER PRIMARY KEY CHECK (id = 1), origin TEXT NULL,"
        f" public_key TEXT NULL, sweep {big} NOT NULL DEFAULT 0, problem TEXT NULL, problem_at TEXT NULL)",
    ]  # log_state's row is made by the first signer: start-up writes nothing (it runs in every process)


# Like the events, the log only grows: the database refuses to change or remove a leaf, a node or
# a checkpoint (stopping the application, not whoever runs the database: that is what the
# pre-signing check and `registry audit` are for).
APPEND_ONLY = ("log_leaves", "log_nodes", "log_checkpoints")
LOG_REFUSAL = "the transparency log is append-only"

SQLITE_DDL = [s.replace("{s}", "") for s in ddl("BLOB", "INTEGER")] + [
    f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
    f"BEGIN SELECT RAISE(ABORT, '{LOG_REFUSAL}'); END"
    for table in APPEND_ONLY for op in ("UPDATE", "DELETE")]


def postgres_ddl(schema: str) -> list[str]:
    """The tables and their guard. Every process with DDL rights runs this at start-up: the
    function and triggers are made only where missing (replacing them each time would lock the
    tables against the inserts of running writers, and two start-ups replacing one function at
    once collide)."""
    prefix = '"' + schema.replace('"', '""') + '".'
    literal = schema.replace("'", "''")
    function = f"{prefix}log_refuse_change"
    guards = [(f"{table}_no_change", f"BEFORE UPDATE OR DELETE ON {prefix}{table} FOR EACH ROW", table)
              for table in APPEND_ONLY] + [
              (f"{table}_no_truncate", f"BEFORE TRUNCATE ON {prefix}{table} FOR EACH STATEMENT", table)
              for table in APPEND_ONLY]
    return [s.replace("{s}", prefix) for s in ddl("BYTEA", "BIGINT")] + [
        "DO $guard$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        f" WHERE n.nspname = '{literal}' AND p.proname = 'log_refuse_change') THEN"
        f" CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS"
        f" $$BEGIN RAISE EXCEPTION '{LOG_REFUSAL}: % refused on %', TG_OP, TG_TABLE_NAME; END$$; END IF; END$guard$",
        *(f"DO $guard$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = '{name}'"
          f" AND tgrelid = '{prefix}{table}'::regclass) THEN CREATE TRIGGER {name} {when}"
          f" EXECUTE FUNCTION {function}(); END IF; END$guard$" for name, when, table in guards),
    ]


class EntryTooLarge(DomainError):
    """An event whose log entry cannot be carried by tlog-tiles bundles: nothing was stored."""


@dataclass(frozen=True)
class Event:
    """A stored event as the log sees it."""

    position: int
    originator_id: UUID
    version: int
    topic: str
    state: bytes

    @property
    def entry(self) -> bytes:
        return entries.entry(self.originator_id, self.version, self.topic, self.state)


class LogWriter:
    """Appends leaves and nodes with a cursor of the recorder's open insert transaction."""

    def __init__(self, *, postgres: bool, events_table: str, schema: str = "public") -> None:
        self.postgres = postgres
        prefix = ('"' + schema.replace('"', '""') + '".') if postgres else ""
        self.leaves, self.nodes = f"{prefix}log_leaves", f"{prefix}log_nodes"
        self.events = f'{prefix}"{events_table}"'
        self.position = "notification_id" if postgres else "rowid"
        self.mark = "%s" if postgres else "?"
        self.enabled = True  # bench/log.py measures a batch without the log; nothing else turns it off

    def append(self, cursor: Any, stored: Sequence[Any], positions: Sequence[int] | None) -> None:
        if not self.enabled or not stored:
            return
        if positions is None or len(positions) != len(stored):
            raise RuntimeError("the recorder did not return the positions of the events it inserted")
        size, last = self._tip(cursor)
        events = [(e.position, e.topic, e.entry) for e in self._unlogged(cursor, last, positions[0])]
        events += [(p, s.topic, entries.entry(_uuid(s.originator_id), s.originator_version, s.topic, s.state))
                   for s, p in zip(stored, positions, strict=True)]
        for _, topic, line in events:
            if len(line) > entries.MAX_ENTRY:
                raise EntryTooLarge(
                    f"the event {topic.rsplit(':', 1)[-1]} is {len(line):,} bytes as a log entry; the log holds "
                    f"entries of at most {entries.MAX_ENTRY:,} bytes (tlog-tiles bundles use 16-bit lengths)")
        hashes = [tree.leaf_hash(line) for _, _, line in events]
        frontier = self._nodes(cursor, tree.decomposition(size))
        made = tree.append(size, frontier, hashes)
        m = self.mark
        cursor.executemany(f"INSERT INTO {self.leaves} (leaf, position, hash) VALUES ({m}, {m}, {m})",
                           [(size + i, e[0], h) for i, (e, h) in enumerate(zip(events, hashes))])
        if made:
            cursor.executemany(f"INSERT INTO {self.nodes} (level, idx, hash) VALUES ({m}, {m}, {m})", made)

    def _tip(self, cursor: Any) -> tuple[int, int]:
        cursor.execute(f"SELECT leaf, position FROM {self.leaves} ORDER BY leaf DESC LIMIT 1")
        row = cursor.fetchone()
        if row is None:
            return 0, 0
        leaf, position = _values(row)
        return leaf + 1, position

    def _unlogged(self, cursor: Any, after: int, before: int) -> Iterator[Event]:
        m = self.mark
        cursor.execute(f"SELECT {self.position}, originator_id, originator_version, topic, state FROM {self.events}"
                       f" WHERE {self.position} > {m} AND {self.position} < {m} ORDER BY {self.position}",
                       (after, before))
        for row in cursor.fetchall():
            position, originator, version, topic, state = _values(row)
            yield Event(position, _uuid(originator), version, topic, bytes(state))

    def _nodes(self, cursor: Any, wanted: Iterable[Node]) -> dict[Node, bytes]:
        wanted = list(wanted)
        found: dict[Node, bytes] = {}
        leaves = [i for level, i in wanted if level == 0]
        inner = [(level, i) for level, i in wanted if level > 0]
        m = self.mark
        if leaves:
            cursor.execute(f"SELECT leaf, hash FROM {self.leaves} WHERE leaf IN ({', '.join([m] * len(leaves))})",
                           leaves)
            found.update(((0, leaf), bytes(h)) for leaf, h in map(_values, cursor.fetchall()))
        if inner:
            condition = " OR ".join([f"(level = {m} AND idx = {m})"] * len(inner))
            cursor.execute(f"SELECT level, idx, hash FROM {self.nodes} WHERE {condition}",
                           [v for node in inner for v in node])
            found.update(((level, i), bytes(h)) for level, i, h in map(_values, cursor.fetchall()))
        missing = [n for n in wanted if n not in found]
        if missing:
            raise LogCorrupted(f"the log's stored tree lacks node(s) {missing[:3]} its size needs")
        return found


class LogCorrupted(Exception):
    """The stored tree is not what the log's own rules say it must be."""


def _values(row: Any) -> tuple:
    return tuple(row.values()) if isinstance(row, dict) else tuple(row)


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


# --- reads -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signed:
    """A checkpoint the registry signed, as stored (signed_at is its `time` line)."""

    size: int
    root: bytes
    signed_at: str
    note: str

    @property
    def time(self) -> datetime:
        return datetime.fromisoformat(self.signed_at.replace("Z", "+00:00"))


class LogReader:
    """The log's reads over the registry's plain-SQL adapter (registry.store.Database)."""

    def __init__(self, db: Any, events_table: str) -> None:
        self.db = db
        self.postgres = db.kind == "postgres"
        self.events_table = f'"{events_table}"'
        self.position = "notification_id" if self.postgres else "rowid"

    def size(self) -> int:
        rows = self.db.query("SELECT max(leaf) FROM log_leaves")
        return 0 if not rows or rows[0][0] is None else rows[0][0] + 1

    def nodes(self, wanted: Iterable[Node]) -> dict[Node, bytes]:
        """The stored hashes of these nodes, in at most two statements."""
        wanted = set(wanted)
        found: dict[Node, bytes] = {}
        leaves = sorted(i for level, i in wanted if level == 0)
        inner = sorted((level, i) for level, i in wanted if level > 0)
        if leaves:
            rows = self.db.query(f"SELECT leaf, hash FROM log_leaves WHERE leaf IN ({', '.join('?' * len(leaves))})",
                                 leaves)
            found.update(((0, leaf), bytes(h)) for leaf, h in rows)
        if inner:
            condition = " OR ".join(["(level = ? AND idx = ?)"] * len(inner))
            rows = self.db.query(f"SELECT level, idx, hash FROM log_nodes WHERE {condition}",
                                 [v for node in inner for v in node])
            found.update(((level, i), bytes(h)) for level, i, h in rows)
        missing = wanted - found.keys()
        if missing:
            raise LogCorrupted(f"the log's stored tree lacks node(s) {sorted(missing)[:3]}")
        return found

    def level_range(self, level: int, start: int, count: int) -> list[bytes]:
        """Stored hashes of tree level `level`, indices start ... start+count-1 (a tile's hashes)."""
        if level == 0:
            rows = self.db.query("SELECT hash FROM log_leaves WHERE leaf >= ? AND leaf < ? ORDER BY leaf",
                                 (start, start + count))
        else:
            rows = self.db.query("SELECT hash FROM log_nodes WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx",
                                 (level, start, start + count))
        if len(rows) != count:
            raise LogCorrupted(f"the log's stored tree has {len(rows)} of the {count} hashes of level {level} "
                               f"from index {start}")
        return [bytes(h) for h, in rows]

    def leaf_hashes(self, start: int, stop: int) -> list[tuple[int, int, bytes]]:
        """(leaf, position, hash) of leaves start <= leaf < stop."""
        rows = self.db.query("SELECT leaf, position, hash FROM log_leaves WHERE leaf >= ? AND leaf < ? ORDER BY leaf",
                             (start, stop))
        return [(leaf, position, bytes(h)) for leaf, position, h in rows]

    def events(self, first: int, last: int) -> list[Event]:
        """The stored events at positions first ... last, in order."""
        rows = self.db.query(f"SELECT {self.position}, originator_id, originator_version, topic, state FROM "
                             f"{self.events_table} WHERE {self.position} >= ? AND {self.position} <= ? "
                             f"ORDER BY {self.position}", (first, last))
        return [Event(p, _uuid(o), v, t, bytes(s)) for p, o, v, t, s in rows]

    def last_event_position(self) -> int:
        rows = self.db.query(f"SELECT max({self.position}) FROM {self.events_table}")
        return rows[0][0] or 0

    def entries(self, start: int, stop: int) -> list[bytes]:
        """The entries of leaves start <= leaf < stop (an entry bundle's), from the events table."""
        leaves = self.leaf_hashes(start, stop)
        if len(leaves) != stop - start:
            raise LogCorrupted(f"the log has {len(leaves)} of the leaves {start}-{stop - 1}")
        if not leaves:
            return []
        found = {e.position: e for e in self.events(leaves[0][1], leaves[-1][1])}
        out = []
        for leaf, position, _ in leaves:
            event = found.get(position)
            if event is None:
                raise LogCorrupted(f"the event of leaf {leaf} (position {position}) is missing from the event store")
            out.append(event.entry)
        return out

    def leaves_of(self, positions: list[int]) -> dict[int, int]:
        """position -> leaf, for these positions (one statement)."""
        if not positions:
            return {}
        rows = self.db.query(f"SELECT position, leaf FROM log_leaves WHERE position IN ({', '.join('?' * len(positions))})",
                             positions)
        return dict(rows)

    def leaf_of(self, position: int) -> int | None:
        rows = self.db.query("SELECT leaf FROM log_leaves WHERE position = ?", (position,))
        return rows[0][0] if rows else None

    # --- checkpoints ---

    def latest(self) -> Signed | None:
        rows = self.db.query("SELECT size, root, signed_at, note FROM log_checkpoints ORDER BY size DESC LIMIT 1")
        return Signed(rows[0][0], bytes(rows[0][1]), rows[0][2], rows[0][3]) if rows else None

    def checkpoint(self, size: int) -> Signed | None:
        rows = self.db.query("SELECT size, root, signed_at, note FROM log_checkpoints WHERE size = ?", (size,))
        return Signed(rows[0][0], bytes(rows[0][1]), rows[0][2], rows[0][3]) if rows else None

    def first_covering(self, leaf: int) -> Signed | None:
        """The earliest signed checkpoint that includes this leaf."""
        rows = self.db.query("SELECT size, root, signed_at, note FROM log_checkpoints WHERE size > ?"
                             " ORDER BY size LIMIT 1", (leaf,))
        return Signed(rows[0][0], bytes(rows[0][1]), rows[0][2], rows[0][3]) if rows else None

    def covered_at(self, originator_id: UUID) -> datetime | None:
        """When the aggregate's first event (an issuance, say) was first in a signed checkpoint:
        one statement; None when no checkpoint includes it yet."""
        key = originator_id if self.postgres else originator_id.hex
        rows = self.db.query(f"SELECT c.signed_at FROM {self.events_table} e"
                             f" JOIN log_leaves l ON l.position = e.{self.position}"
                             " JOIN log_checkpoints c ON c.size > l.leaf"
                             " WHERE e.originator_id = ? AND e.originator_version = 1 ORDER BY c.size LIMIT 1", (key,))
        return datetime.fromisoformat(rows[0][0].replace("Z", "+00:00")) if rows else None

    def state(self) -> dict[str, Any]:
        rows = self.db.query("SELECT origin, public_key, sweep, problem, problem_at FROM log_state WHERE id = 1")
        if not rows:
            return {"origin": None, "public_key": None, "sweep": 0, "problem": None, "problem_at": None}
        return dict(zip(("origin", "public_key", "sweep", "problem", "problem_at"), rows[0], strict=True))

    def position_of(self, originator_id: UUID, version: int) -> int | None:
        key = originator_id if self.postgres else originator_id.hex
        rows = self.db.query(f"SELECT {self.position} FROM {self.events_table} WHERE originator_id = ? AND "
                             "originator_version = ?", (key, version))
        return rows[0][0] if rows else None
