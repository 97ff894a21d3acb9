"""The stored-events table refuses UPDATE, DELETE (and on PostgreSQL TRUNCATE).

The registry's history is its evidence, so the database itself refuses to rewrite it, whoever
connects. Only the events table is protected: the library updates the tracking table (ON CONFLICT
DO UPDATE) and may add snapshots; neither is the record of what happened.

SQLite: BEFORE UPDATE / BEFORE DELETE triggers that ABORT. (A process with the file can still drop
the table or edit the file; SQLite has no privileges.)

PostgreSQL, two layers:
1. Triggers, which also stop the table owner: row-level BEFORE UPDATE / DELETE and a
   statement-level BEFORE TRUNCATE, all raising "stored events are append-only".
2. Privileges, which hold even if the owner disables the triggers: UPDATE, DELETE and TRUNCATE
   are revoked from PUBLIC, and the service should connect as an application role that has only
   SELECT and INSERT (grant_application_role). The owner (a migration role) runs
   enforce_append_only and grant_application_role once; the service then runs with
   REGISTRY_CREATE_TABLES=false, and enforce_append_only at its start-up only verifies.

The library serialises inserts with LOCK TABLE ... IN EXCLUSIVE MODE, which PostgreSQL allows only
to roles with UPDATE, DELETE or TRUNCATE rights. AppendOnlyPostgresRecorder takes the same lock
through a SECURITY DEFINER function instead (the lock lasts until the caller's transaction ends),
so the application role needs no right that could change a stored event.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.application import Application
from eventsourcing.popo import POPOAggregateRecorder
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteAggregateRecorder
from psycopg.sql import SQL, Composed, Identifier

from registry.errors import ConfigurationError

REFUSAL = "stored events are append-only"


class AppendOnlyError(RuntimeError):
    """The append-only guard cannot be installed or verified."""


def lock_function_name(events_table: str) -> str:
    return f"{events_table}_lock"


class AppendOnlyPostgresRecorder(PostgresApplicationRecorder):
    """The library's recorder, taking its insert lock through a SECURITY DEFINER function."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        schema = Identifier(self.datastore.schema)
        function = Identifier(lock_function_name(self.events_table_name))
        self.check_identifier_length(lock_function_name(self.events_table_name))
        # search_path is pinned: a SECURITY DEFINER function must not resolve names through the
        # caller's path.
        self.sql_create_statements.append(
            SQL(
                "CREATE OR REPLACE FUNCTION {schema}.{function}() RETURNS void "
                "LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS "
                "$$BEGIN LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; END$$"
            ).format(schema=schema, function=function, table=Identifier(self.events_table_name))
        )
        self.sql_create_statements.append(
            SQL("REVOKE ALL ON FUNCTION {schema}.{function}() FROM PUBLIC").format(
                schema=schema, function=function
            )
        )
        self.lock_table_statements = [
            SQL("SET LOCAL lock_timeout = '{0}s'").format(self.datastore.lock_timeout),
            SQL("SELECT {schema}.{function}()").format(schema=schema, function=function),
        ]


def enforce_append_only(app: Application) -> None:
    """Make the database refuse UPDATE/DELETE/TRUNCATE of the app's stored events (idempotent).

    On PostgreSQL a non-owner (the application role) only verifies that the guard is in place.
    """
    recorder = app.recorder
    if isinstance(recorder, PostgresApplicationRecorder):
        _enforce_postgres(recorder)
    elif isinstance(recorder, SQLiteAggregateRecorder):
        _enforce_sqlite(recorder)
    elif isinstance(recorder, POPOAggregateRecorder):
        return  # in memory: nothing but the library's own append path can reach the events
    else:
        raise AppendOnlyError(f"no append-only guard for recorder {type(recorder).__qualname__}")


def _enforce_sqlite(recorder: SQLiteAggregateRecorder) -> None:
    table = recorder.events_table_name
    with recorder.datastore.transaction(commit=True) as c:
        for operation in ("UPDATE", "DELETE"):
            c.execute(
                f'CREATE TRIGGER IF NOT EXISTS "{table}_no_{operation.lower()}" '
                f'BEFORE {operation} ON "{table}" '
                f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
            )


def _trigger_names(table: str) -> dict[str, str]:
    return {
        f"{table}_no_update": "BEFORE UPDATE ON {schema}.{table} FOR EACH ROW",
        f"{table}_no_delete": "BEFORE DELETE ON {schema}.{table} FOR EACH ROW",
        f"{table}_no_truncate": "BEFORE TRUNCATE ON {schema}.{table} FOR EACH STATEMENT",
    }


def _enforce_postgres(recorder: PostgresApplicationRecorder) -> None:
    schema, table = recorder.datastore.schema, recorder.events_table_name
    triggers = _trigger_names(table)
    qualified = f"{schema}.{table}"
    with recorder.datastore.transaction(commit=True) as curs:
        curs.execute(
            "SELECT pg_has_role(current_user, c.relowner, 'USAGE') AS owner, "
            "ARRAY(SELECT t.tgname FROM pg_trigger t WHERE t.tgrelid = c.oid "
            "AND NOT t.tgisinternal AND t.tgenabled IN ('O', 'A') "
            "AND t.tgname = ANY(%s)) AS enabled "
            "FROM pg_class c WHERE c.oid = to_regclass(%s)",
            (list(triggers), Composed([Identifier(schema), SQL("."), Identifier(table)])
             .as_string(curs)),
        )
        row = curs.fetchone()
        if row is None:
            raise AppendOnlyError(f"events table {qualified} does not exist")
        if set(row["enabled"]) == set(triggers):
            return
        if not row["owner"]:
            missing = ", ".join(sorted(set(triggers) - set(row["enabled"])))
            raise AppendOnlyError(
                f"append-only triggers missing or disabled on {qualified} ({missing}); "
                "run enforce_append_only once as the table owner"
            )
        # Concurrent start-ups: one installs, the others wait and then find nothing to do.
        curs.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"append-only {qualified}",))
        function = Identifier(schema, f"{table}_refuse_change")
        curs.execute(
            SQL(
                "CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS "
                "$$BEGIN RAISE EXCEPTION '{refusal}: % refused on %.%', "
                "TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME; END$$"
            ).format(function=function, refusal=SQL(REFUSAL))
        )
        for name, when in triggers.items():
            curs.execute(
                SQL("CREATE OR REPLACE TRIGGER {name} " + when + " EXECUTE FUNCTION {function}()")
                .format(name=Identifier(name), schema=Identifier(schema),
                        table=Identifier(table), function=function)
            )
            # CREATE OR REPLACE keeps a disabled trigger disabled.
            curs.execute(
                SQL("ALTER TABLE {schema}.{table} ENABLE TRIGGER {name}").format(
                    schema=Identifier(schema), table=Identifier(table), name=Identifier(name)
                )
            )
        curs.execute(
            SQL("REVOKE UPDATE, DELETE, TRUNCATE ON {schema}.{table} FROM PUBLIC").format(
                schema=Identifier(schema), table=Identifier(table)
            )
        )


def grant_application_role(app: Application, role: str) -> None:
    """Give an existing role what the service needs and nothing that rewrites history.

    Run as the table owner, after enforce_append_only. The role gets SELECT, INSERT on the events
    table, USAGE on its notification-id sequence and EXECUTE on the insert-lock function; on the
    snapshots and tracking tables, where they exist, what the library does there; on the
    transparency log's tables, SELECT and INSERT (log_state: and UPDATE).
    """
    recorder = app.recorder
    if not isinstance(recorder, AppendOnlyPostgresRecorder):
        raise AppendOnlyError(
            "grant_application_role needs PostgreSQL with AppendOnlyPostgresRecorder "
            f"(got {type(recorder).__qualname__})"
        )
    schema, table = recorder.datastore.schema, recorder.events_table_name
    prefix = table.removesuffix("_events")
    ident = {"schema": Identifier(schema), "role": Identifier(role)}
    statements = [
        "GRANT USAGE ON SCHEMA {schema} TO {role}",
        "GRANT SELECT, INSERT ON {schema}.{table} TO {role}",
        "REVOKE UPDATE, DELETE, TRUNCATE ON {schema}.{table} FROM {role}",
        "GRANT EXECUTE ON FUNCTION {schema}.{function}() TO {role}",
    ]
    with recorder.datastore.transaction(commit=True) as curs:
        for statement in statements:
            curs.execute(SQL(statement).format(
                table=Identifier(table),
                function=Identifier(lock_function_name(table)), **ident))
        curs.execute("SELECT pg_get_serial_sequence(%s, 'notification_id') AS seq",
                     (Composed([Identifier(schema), SQL("."), Identifier(table)])
                      .as_string(curs),))
        sequence = curs.fetchone()["seq"]
        curs.execute(SQL("GRANT USAGE ON SEQUENCE {sequence} TO {role}").format(
            sequence=SQL(sequence), role=Identifier(role)))
        # The transparency log's tables are written with the events: they only grow; log_state
        # holds the log key's name, the sweep's place and the last refusal to sign.
        for other, rights in ((f"{prefix}_snapshots", "SELECT, INSERT"),
                              (f"{prefix}_tracking", "SELECT, INSERT, UPDATE"),
                              ("log_leaves", "SELECT, INSERT"), ("log_nodes", "SELECT, INSERT"),
                              ("log_checkpoints", "SELECT, INSERT"), ("log_state", "SELECT, INSERT, UPDATE")):
            curs.execute("SELECT to_regclass(%s) IS NOT NULL AS present",
                         (Composed([Identifier(schema), SQL("."), Identifier(other)])
                          .as_string(curs),))
            if curs.fetchone()["present"]:
                curs.execute(SQL("GRANT " + rights + " ON {schema}.{table} TO {role}").format(
                    table=Identifier(other), **ident))


def require_owner(app: Application) -> None:
    """PostgreSQL: refuse unless the connected role owns the events table (what `registry init`
    does, creating, guarding and granting, is the owner's; run by another role it would quietly
    grant nothing)."""
    recorder = app.recorder
    if not isinstance(recorder, PostgresApplicationRecorder):
        return
    with recorder.datastore.transaction(commit=False) as curs:
        curs.execute("SELECT current_user AS me, pg_get_userbyid(relowner) AS owner FROM pg_class WHERE oid = "
                     "to_regclass(%s)", (Composed([Identifier(recorder.datastore.schema), SQL("."),
                                                   Identifier(recorder.events_table_name)]).as_string(curs),))
        row = curs.fetchone()
    if row is not None and row["me"] != row["owner"]:
        raise ConfigurationError("REGISTRY_DATABASE_URL", f"registry init is the tables' owner's command; connected as "
                                 f"{row['me']}, the owner is {row['owner']} (deploy/README.md)")


def grant_tables(app: Application, role: str, tables: dict[str, str]) -> None:
    """Grant `role` rights on further tables of the same schema (read models, API bookkeeping):
    {table: "SELECT, INSERT, UPDATE, DELETE"}. These tables are derived or operational, so the
    application may rewrite them; the events table alone is append-only."""
    recorder = app.recorder
    if not isinstance(recorder, PostgresApplicationRecorder):
        raise AppendOnlyError("grant_tables is for PostgreSQL")
    schema = recorder.datastore.schema
    with recorder.datastore.transaction(commit=True) as curs:
        for table, rights in tables.items():
            curs.execute(SQL("GRANT " + rights + " ON {schema}.{table} TO {role}").format(
                schema=Identifier(schema), table=Identifier(table), role=Identifier(role)))


__all__ = [
    "REFUSAL",
    "AppendOnlyError",
    "AppendOnlyPostgresRecorder",
    "enforce_append_only",
    "grant_application_role",
    "grant_tables",
    "lock_function_name",
    "require_owner",
]
