"""The read models of one event store: their runner, and read-your-writes. Before answering, a query
makes sure the projections have seen everything logged when it was asked:
- SQLite (embedded): `PRAGMA data_version` tells, in a microsecond, whether any connection has
  committed since the last look; only then does the query catch up, in process.
- PostgreSQL: the query compares the log's last position with the projections'. When behind, it
  catches up to that position itself; if a worker (`registry projections run`) is applying a batch,
  the position row lock makes it wait for that batch and then find the work done.
- A PostgreSQL hot standby (`follows`): read-only, so it cannot catch up itself. It waits, a bounded
  while, until the rows the primary's projections wrote have been replayed up to the log's last
  position as the standby has it, and up to any position the request names
  (registry.store.positions); past the bound it raises `ReplicaBehind`, and the caller asks the
  primary instead (registry.projections.replica).
"""

from __future__ import annotations

import time

from registry.projections.credentials import COLUMNS, CREDENTIALS, CredentialStatus, status_from_row
from registry.projections.directory import DIRECTORY
from registry.projections.endorsements import ENDORSEMENTS
from registry.projections.extension_contexts import EXTENSION_CONTEXTS
from registry.projections.imports import IMPORTS
from registry.projections.issuer_keys import ISSUER_KEYS
from registry.projections.kpis import KPIS
from registry.projections.runner import BATCH_SIZE, Runner
from registry.projections.runner import TABLES as RUNNER_TABLES
from registry.projections.trust_anchors import TRUST_ANCHORS
from registry.store import Database, EventStore, positions
from registry.store.database import SQLiteDatabase

# The directory first: the others' reads name organisations through it.
PROJECTIONS = (DIRECTORY, CREDENTIALS, ENDORSEMENTS, ISSUER_KEYS, TRUST_ANCHORS, KPIS, IMPORTS, EXTENSION_CONTEXTS)


class ReplicaBehind(Exception):
    """The standby has not applied the position a read needs within the bound."""

    def __init__(self, needed: int, applied: int) -> None:
        super().__init__(f"the replica has applied the log up to position {applied}, not {needed}")
        self.needed, self.applied = needed, applied


class ReadModel:
    def __init__(self, store: EventStore, db: Database, *, batch_size: int = BATCH_SIZE,
                 follows: float | None = None) -> None:
        """`follows`: `db` is a hot standby the primary's projections replicate to; wait at most
        this many seconds for it to have what a read needs."""
        self.follows = follows
        self.covered_at = None  # set by Queries: when a credential's issuance was first checkpointed
        self.store = store
        self.db = db
        self.runner = Runner(store, db, PROJECTIONS, batch_size=batch_size)
        self._seen: int | None = None  # SQLite data_version when last known to be caught up
        # How many events the projections passed over, as of the last freshness check: while none
        # were, answers need not ask whether theirs was one of them.
        self.quarantined_events = 0
        self._behind = (
            f'SELECT (SELECT max(notification_id) FROM "{store.recorder.events_table_name}"),'
            " (SELECT min(position) FROM projection_positions),"
            " (SELECT count(*) FROM projection_positions),"
            " (SELECT count(*) FROM projection_quarantine)"
        )
        self._behind_with_status = (
            f"{self._behind}, {COLUMNS} FROM (SELECT 1) AS one"
            " LEFT JOIN credential_status cs ON cs.credential_id = ?"
        )
        self._behind_with_statuses = (
            f"{self._behind}, cs.credential_id, {COLUMNS} FROM (SELECT 1) AS one"
            " LEFT JOIN credential_status cs ON cs.credential_id = ANY(?)"
        )

    @property
    def tables(self) -> tuple[str, ...]:
        """Every table of the read side: the runner's bookkeeping and each projection's."""
        return (*RUNNER_TABLES, *(table for p in self.runner.projections.values() for table in p.tables))

    def fresh(self) -> tuple[str, int]:
        """Read-your-writes: every projection has applied what was logged before this call. Returns
        a token of the log as it was then, which any later write changes (SQLite: the file's
        data_version, which every other connection's commit moves; PostgreSQL: the last position)."""
        if isinstance(self.db, SQLiteDatabase):
            with self.db.lock:
                version = self.db.data_version()  # read first: a later commit changes it again
                if version == self._seen:
                    return "sqlite", version
                self.runner.catch_up()
                self.quarantined_events = self.runner.quarantine_count()
                self._seen = version
                return "sqlite", version
        if self.follows is not None:
            return "position", self._follow()
        # One statement on the read connection (about 75 µs) instead of a pooled recorder query
        # plus a positions query (about 320 µs): this runs before every answer.
        latest, lowest, tracked, self.quarantined_events = self.db.query(self._behind)[0]
        latest = latest or 0
        if tracked < len(self.runner.projections) or (lowest or 0) < latest:
            self.runner.catch_up(until_position=latest)
            self.quarantined_events = self.runner.quarantine_count()
        return "position", latest

    def _follow(self) -> int:
        """Wait until the standby's read models reflect the log as the standby has it and the
        position the request named; poll (a standby cannot LISTEN), from 1 ms up to 20 ms apart."""
        deadline, pause = None, 0.001
        while True:
            latest, lowest, tracked, quarantined = self.db.query(self._behind)[0]
            needed = max(latest or 0, positions.required())
            if tracked >= len(self.runner.projections) and (lowest or 0) >= needed:
                self.quarantined_events = quarantined
                return needed
            now = time.monotonic()
            deadline = deadline or now + self.follows
            if now >= deadline:
                raise ReplicaBehind(needed, lowest or 0)
            time.sleep(pause)
            pause = min(pause * 2, 0.02)

    def fresh_status(self, credential_id: str) -> CredentialStatus | None:
        """PostgreSQL's hot path: the freshness check and the status lookup in one statement. None
        when the projections are behind (the caller then catches up and asks again) or nothing
        was found."""
        row = self.db.query(self._behind_with_status, (credential_id,))[0]
        if self._behind_in(row) or row[4] is None:
            return None
        return status_from_row(self.db, credential_id, row[4:], covered_at=self.covered_at)

    def fresh_statuses(self, credential_ids: list[str]) -> dict[str, CredentialStatus] | None:
        """`fresh_status` for many credentials in the one statement (the status endpoint's batches):
        those found, by id; None when the projections are behind."""
        rows = self.db.query(self._behind_with_statuses, (credential_ids,))
        if self._behind_in(rows[0]):
            return None
        return {row[4]: status_from_row(self.db, row[4], row[5:], covered_at=self.covered_at)
                for row in rows if row[4] is not None}

    def _behind_in(self, row) -> bool:
        """From the `_behind` columns a hot statement began with: whether a projection has yet to
        apply the log's last position (or, on a standby, the position the request named)."""
        latest, lowest, tracked, self.quarantined_events = row[0] or 0, row[1] or 0, row[2], row[3]
        if self.follows is not None:
            latest = max(latest, positions.required())
        return tracked < len(self.runner.projections) or lowest < latest

    def close(self) -> None:
        self.db.close()
