"""The read side of one Registry: the read store, the projections' runner, and the queries, with
read-your-writes. Before answering, a query makes sure the projections have seen everything logged
when it was asked:
- SQLite (embedded): `PRAGMA data_version` tells, in a microsecond, whether any connection has
  committed since the last look; only then does the query catch up, in process.
- PostgreSQL: the query compares the log's last position with the projections'. When behind, it
  catches up to that position itself; if a worker (`registry projections run`) is applying a batch,
  the position row lock makes it wait for that batch (at most LOCK_WAIT_SECONDS) and then find
  the work done.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any
from uuid import UUID

from registry.domain import NotFound
from registry.projections import queries
from registry.projections.credentials import CREDENTIALS
from registry.projections.directory import DIRECTORY
from registry.projections.endorsements import ENDORSEMENTS
from registry.projections.issuer_keys import ISSUER_KEYS
from registry.projections.runner import BATCH_SIZE, ProjectionStatus, Runner
from registry.projections.store import SQLiteReadStore, open_read_store

# The directory first: the others' queries name organisations through it.
PROJECTIONS = (DIRECTORY, CREDENTIALS, ENDORSEMENTS, ISSUER_KEYS)


class ReadModel:
    def __init__(self, app: Any, *, batch_size: int = BATCH_SIZE) -> None:
        self.app = app
        self.store = open_read_store(app)
        create = (app.env.get("CREATE_TABLE") or "y").lower() not in ("n", "no", "false", "0", "off")
        self.runner = Runner(app, self.store, PROJECTIONS, batch_size=batch_size,
                             create_tables=create)
        self._seen: int | None = None  # SQLite data_version when last known to be caught up
        self._behind = (
            f'SELECT (SELECT max(notification_id) FROM "{app.recorder.events_table_name}"),'
            " (SELECT min(position) FROM projection_positions),"
            " (SELECT count(*) FROM projection_positions)"
        )
        self._behind_with_status = (
            self._behind + ", " + ", ".join(
                f"cs.{column.strip()}" for column in queries.CREDENTIAL_COLUMNS.split(","))
            + " FROM (SELECT 1) AS one LEFT JOIN credential_status cs ON cs.credential_id = ?"
        )

    # --- freshness -----------------------------------------------------------------------------

    def fresh(self) -> None:
        """Read-your-writes: every projection has applied what was logged before this call."""
        with self.store.lock:
            if isinstance(self.store, SQLiteReadStore):
                version = self.store.data_version()  # read first: a later commit changes it again
                if version == self._seen:
                    return
                self.runner.catch_up()
                self._seen = version
                return
        # One statement on the read store's own connection (about 75 µs) instead of a pooled
        # recorder query plus a positions query (about 320 µs): this runs before every answer.
        latest, lowest, tracked = self.store.query(self._behind)[0]
        latest = latest or 0
        if tracked < len(self.runner.projections) or (lowest or 0) < latest:
            self.runner.catch_up(until_position=latest)

    # --- running -------------------------------------------------------------------------------

    def catch_up(self, projections=None, until_position: int | None = None) -> dict[str, int]:
        return self.runner.catch_up(projections, until_position)

    def rebuild(self, name: str | None = None) -> dict[str, int]:
        return self.runner.rebuild(name)

    def status(self) -> list[ProjectionStatus]:
        return self.runner.status()

    # --- answers -------------------------------------------------------------------------------

    def credential_status(self, credential: str | UUID, at: datetime | None = None
                          ) -> queries.CredentialStatus:
        canonical = isinstance(credential, str) and len(credential) == 36 and credential.islower()
        if canonical and at is None and not isinstance(self.store, SQLiteReadStore):
            found = self._fresh_status(credential)  # the hot path over HTTP: one round trip
            if found is not None:
                return found
        self.fresh()
        # Fast path for the canonical form (lowercase UUID text, as stored): no parsing.
        if canonical:
            found = queries.credential_status(self.store, credential, at)
            if found is not None:
                return found
        uuid = self._uuid(credential, "credential")
        found = queries.credential_status(self.store, str(uuid), at)
        if found is None:
            raise NotFound(f"no credential {uuid}")
        return found

    def _fresh_status(self, credential_id: str) -> queries.CredentialStatus | None:
        """PostgreSQL: the freshness check and the lookup in one statement. None when the
        projections are behind (the caller then catches up and asks again) or nothing was found."""
        with self.store.lock:
            row = self.store.query(self._behind_with_status, (credential_id,))[0]
        latest, lowest, tracked, found = row[0] or 0, row[1] or 0, row[2], row[3:]
        if tracked < len(self.runner.projections) or lowest < latest or found[0] is None:
            return None
        return queries.status_from_row(self.store, credential_id, found)

    def keys(self, slug: str, at: datetime | None = None) -> list[queries.KeyState]:
        self.fresh()
        issuer = queries.issuer_by(self.store, "slug", slug)
        if issuer is None:
            raise NotFound(f"no issuer with slug {slug!r}")
        return queries.issuer_keys(self.store, issuer[0], at)

    def endorsements(self, *, of: str | None = None, by: str | None = None,
                     at: datetime | None = None) -> list[queries.EndorsementView]:
        """Endorsements of a subject (issuer slug or DID, achievement or credential id) or by an
        organisation (slug): those standing at `at`, or all of them with their withdrawals."""
        if (of is None) == (by is None):
            raise ValueError("name either the subject (of) or the endorser (by)")
        self.fresh()
        if by is not None:
            endorser = queries.issuer_by(self.store, "slug", by.strip())
            if endorser is None:
                raise NotFound(f"no issuer with slug {by!r}")
            return queries.endorsements(self.store, "endorser_id", endorser[0], at)
        return queries.endorsements(self.store, "subject_id", self._subject(of), at)

    def _subject(self, ref: str) -> str:
        ref = ref.strip()
        if not ref:
            raise ValueError("an endorsement subject is needed")
        if ref.startswith("did:"):
            issuer = queries.issuer_by(self.store, "did", ref)
            if issuer is None:
                raise NotFound(f"no issuer with DID {ref}")
            return issuer[0]
        issuer = queries.issuer_by(self.store, "slug", ref)
        if issuer is not None:
            return issuer[0]
        try:
            uuid = self._uuid(ref, "subject")
        except NotFound:
            raise NotFound(f"unknown endorsement subject {ref!r}: an issuer slug or DID, an "
                           "achievement or a credential id") from None
        if queries.subject_kind(self.store, str(uuid)) is None:
            raise NotFound(f"unknown endorsement subject {ref!r}")
        return str(uuid)

    def _uuid(self, ref: str | UUID, what: str) -> UUID:
        if isinstance(ref, UUID):
            return ref
        parse = getattr(self.app, "parse_uuid", None)  # the Registry knows its own URLs
        if parse is not None:
            return parse(ref, what)
        try:
            return UUID(ref.strip().removeprefix("urn:uuid:"))
        except ValueError:
            raise NotFound(f"{ref!r} is not a {what} id (a UUID)") from None

    def close(self) -> None:
        self.store.close()


_lock = threading.Lock()


def read_model(app: Any) -> ReadModel:
    """The read model of `app`, made once per application object."""
    found = app.__dict__.get("_read_model")
    if found is None:
        with _lock:
            found = app.__dict__.get("_read_model")
            if found is None:
                found = app.__dict__["_read_model"] = ReadModel(app)
    return found
