"""Schema migrations of the store's own tables, through Alembic, applied by `registry init` (the
database owner's command) and by nothing else: start-up applies none.

What is migrated: the tables beside the events that no replay can rebuild or whose layout the code
depends on (the event store's, the transparency log's, access, http_cache, images, the slot-ledger
snapshots). Not the read models: each projection keeps its own version and a changed layout is
rebuilt from the log (registry.projections.runner), which `registry init` also does, after this.

One source of truth for the current layout: the modules that own the tables and create them at
start-up (CREATE ... IF NOT EXISTS). A revision is the frozen, explicit SQL of one change between
releases, for a database an older release made. The baseline (0001) is the previous release's
layout, commit bcf0508, the last one made without migrations; it creates nothing (that release's
own start-up did) and only checks that there is a registry to stamp. So:

- a database with no `alembic_version` but an events table was made by a release before migrations:
  the baseline is applied (stamped, after its check) and every later revision upgrades it;
- an empty database is left alone: start-up creates the current tables, and the `registry init`
  that follows finds the events table, so it goes the same way, through revisions that find their
  change already made. Every revision must therefore leave a database already at its layout
  unchanged (IF NOT EXISTS, or look first); tests/test_migrations.py fails when one does not;
- `alembic_version` naming a revision this code does not know (a newer release upgraded the
  database) is refused with one line, and nothing is changed.

New revision: a file in versions/ (script.py.mako is the template, `down_revision` the previous head);
see deploy/README.md. SQLAlchemy is used here only, to drive Alembic; the registry itself talks to
its databases through sqlite3 and psycopg."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from registry.errors import ConfigurationError
from registry.store.settings import CONNECT_SECONDS, StoreSettings

HERE = Path(__file__).resolve().parent
VERSION_TABLE = "alembic_version"
# The events table each store's recorder makes (eventsourcing names it after the application on
# PostgreSQL): its presence tells a registry's database from an empty one.
EVENTS_TABLES = {"sqlite": "stored_events", "postgres": "registry_events"}
# Two `registry init` at once on PostgreSQL: one migrates, the other waits and finds nothing to do.
LOCK_KEY = "registry schema migrations"


@dataclass(frozen=True)
class Migrated:
    """What `upgrade` did: the revision the database was at (None: none recorded) and is at now
    (None: the database was empty and was left for start-up to create)."""

    before: str | None
    after: str | None

    @property
    def changed(self) -> bool:
        return self.before != self.after


class MigrationRefused(ConfigurationError):
    """The database's schema is not one this code can bring up to date."""

    def __init__(self, settings: StoreSettings, message: str) -> None:
        super().__init__("REGISTRY_HOME" if settings.database == "sqlite" else "REGISTRY_DATABASE_URL", message)


def head() -> str:
    """The revision this code's tables are at."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config(None)).get_current_head()


def current(settings: StoreSettings) -> str | None:
    """The revision recorded in the database; None when it records none (or does not exist)."""
    settings = settings.session or settings
    if settings.database == "sqlite" and not settings.sqlite_path.exists():
        return None
    engine = _engine(settings)
    try:
        with engine.connect() as connection:
            return _recorded(connection, settings)
    finally:
        engine.dispose()


def upgrade(settings: StoreSettings) -> Migrated:
    """`alembic upgrade head` on the settings' database, in one transaction; see the module's text.
    On PostgreSQL through the session connection when one is set (REGISTRY_SESSION_DATABASE_URL),
    as the event store whose tables it changes: REGISTRY_DATABASE_URL may pool by transaction."""
    settings = settings.session or settings
    if settings.database == "sqlite" and not settings.sqlite_path.exists():
        return Migrated(None, None)  # not even a file: start-up creates it, 0600 (store.settings)
    from alembic import command
    from alembic.script import ScriptDirectory
    from alembic.script.revision import ResolutionError
    from alembic.util import CommandError
    from sqlalchemy import inspect, text

    config = _config(settings)
    scripts = ScriptDirectory.from_config(config)
    engine = _engine(settings)
    try:
        with engine.connect() as connection, connection.begin():
            if settings.database == "postgres":
                connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": LOCK_KEY})
            events = inspect(connection).has_table(EVENTS_TABLES[settings.database], schema=settings.pg_schema or None)
            if events and settings.database == "postgres":
                _require_owner(connection, settings)
            before = _recorded(connection, settings)
            if before is None and not events:
                return Migrated(None, None)
            if before is not None:
                try:
                    scripts.get_revision(before)
                except (ResolutionError, CommandError):
                    raise MigrationRefused(settings, f"the database is at schema revision {before}, which this "
                                           f"registry does not know (its newest is {scripts.get_current_head()}): "
                                           "a newer release upgraded it; run that release, or restore a backup "
                                           "taken before the upgrade") from None
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            return Migrated(before, _recorded(connection, settings))
    finally:
        engine.dispose()


def _require_owner(connection, settings: StoreSettings) -> None:
    """Migrations are the owner's, like the rest of `registry init` (registry.store.require_owner): run
    by the application role they would fail half-way on a privilege, or create tables it then owns."""
    from sqlalchemy import text

    table = f'"{settings.pg_schema}".{EVENTS_TABLES["postgres"]}' if settings.pg_schema else EVENTS_TABLES["postgres"]
    me, owner = connection.execute(text("SELECT current_user, pg_get_userbyid(relowner) FROM pg_class"
                                        " WHERE oid = to_regclass(:table)"), {"table": table}).one()
    if me != owner:
        raise MigrationRefused(settings, f"registry init is the tables' owner's command; connected as {me}, "
                                         f"the owner is {owner} (deploy/README.md)")


def _recorded(connection, settings: StoreSettings) -> str | None:
    from sqlalchemy import inspect, text

    schema = settings.pg_schema or None
    if not inspect(connection).has_table(VERSION_TABLE, schema=schema):
        return None
    table = f'"{schema}".{VERSION_TABLE}' if schema else VERSION_TABLE
    rows = connection.execute(text(f"SELECT version_num FROM {table}")).scalars().all()
    if len(rows) > 1:  # branches: this project keeps one line of revisions
        raise MigrationRefused(settings, f"{VERSION_TABLE} names several revisions ({', '.join(sorted(rows))})")
    return rows[0] if rows else None


def _config(settings: StoreSettings | None):
    from alembic.config import Config

    config = Config()  # no alembic.ini: everything is set here, so an installed package needs no file
    config.set_main_option("script_location", str(HERE))
    config.attributes["schema"] = settings.pg_schema if settings is not None else ""
    return config


def _engine(settings: StoreSettings):
    from sqlalchemy import create_engine, event
    from sqlalchemy.engine import URL
    from sqlalchemy.pool import NullPool

    if settings.database == "sqlite":
        engine = create_engine(URL.create("sqlite", database=str(settings.sqlite_path)), poolclass=NullPool,
                               connect_args={"timeout": 30})

        # sqlite3 would run the DDL outside any transaction (it begins one only before DML):
        # BEGIN IMMEDIATE makes a migration all or nothing and takes the write lock first, as the
        # registry's own writes do (store.database).
        @event.listens_for(engine, "connect")
        def _autocommit(dbapi_connection, _record) -> None:
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    connect_args: dict[str, object] = {"connect_timeout": CONNECT_SECONDS}
    if settings.pg_schema:
        connect_args["options"] = f"-c search_path={settings.pg_schema}"
    url = URL.create("postgresql+psycopg", username=settings.pg_user, password=settings.pg_password or None,
                     host=settings.pg_host, port=settings.pg_port, database=settings.pg_dbname)
    return create_engine(url, poolclass=NullPool, connect_args=connect_args)
