"""Snapshots of the status-list slot ledger (registry.commands.status_lists.StatusListSlots): which
entries of each list are allocated, as of a log position. Without them every new process replays every
allocation ever logged before it can allocate one (about 5.6 s at a million credentials); with them it
reads one row per list and the allocations logged since.

A snapshot is derived from the log and only ever describes committed events up to its position, so it
can be dropped at any time (`DELETE FROM status_slot_snapshots`): the next process replays in full and
writes a new one. This module is the one that knows the table."""

from __future__ import annotations

from uuid import UUID

from registry.store.database import Database

TABLE = "status_slot_snapshots"
TABLES = (TABLE,)


def ddl(kind: str) -> str:
    blob = "BYTEA" if kind == "postgres" else "BLOB"
    return (f"CREATE TABLE IF NOT EXISTS {TABLE} (issuer_id TEXT NOT NULL, purpose TEXT NOT NULL,"
            f" list_number INTEGER NOT NULL, bits {blob} NOT NULL, entries INTEGER NOT NULL,"
            " position BIGINT NOT NULL, PRIMARY KEY (issuer_id, purpose, list_number))")


Key = tuple[UUID, str, int]


class SlotSnapshots:
    def __init__(self, db: Database, *, create_table: bool = True) -> None:
        self.db = db
        if create_table:
            with db.transaction() as cursor:
                cursor.execute(ddl(db.kind))

    def load(self) -> tuple[int, dict[Key, tuple[bytearray, int]]]:
        """(position, {list: (allocated bits, entries)}) of the latest snapshot; (0, {}) when none.
        Rows of an older position than the newest (a list that gained nothing since) still hold:
        allocations are never undone, so a list's bits at an earlier position are its bits now,
        unless the log after that position allocated more, which the caller replays."""
        rows = self.db.query(f"SELECT issuer_id, purpose, list_number, bits, entries, position FROM {TABLE}")
        if not rows:
            return 0, {}
        position = min(row[5] for row in rows)
        return position, {(UUID(row[0]), row[1], row[2]): (bytearray(row[3]), row[4]) for row in rows}

    def save(self, position: int, lists: dict[Key, tuple[bytes, int]]) -> None:
        """Every list's bits as of `position`, in one transaction."""
        with self.db.transaction() as cursor:
            for (issuer_id, purpose, number), (bits, entries) in lists.items():
                cursor.execute(
                    f"INSERT INTO {TABLE} (issuer_id, purpose, list_number, bits, entries, position)"
                    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (issuer_id, purpose, list_number) DO UPDATE SET"
                    " bits = excluded.bits, entries = excluded.entries, position = excluded.position"
                    f" WHERE {TABLE}.position < excluded.position",
                    (str(issuer_id), purpose, number, bytes(bits), entries, position))

    def close(self) -> None:
        self.db.close()
