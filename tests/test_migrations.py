"""Schema migrations (registry/store/migrations), from the previous release's data: commit bcf0508's
`registry demo` on SQLite and on PostgreSQL (tests/fixtures/previous_release, made by that code).
`registry init` upgrades it to this code's head; every answer that release gave is given again; the
upgraded registry takes a new credential; a second init changes nothing; a database a newer release
upgraded is refused in one line. A forgotten migration is caught by comparing the store's tables of
the previous release's database, migrated and nothing else, with those this code creates."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from pytest_postgresql.janitor import DatabaseJanitor

from conftest import find_pg_ctl
from previous_release import answers
from registry.bootstrap import open_registry
from registry.commands import Actor, Award
from registry.settings import Settings
from registry.store import migrations

FIXTURE = Path(__file__).parent / "fixtures" / "previous_release"
PUBLIC_URL = "https://badges.example"  # the one the fixture was made with: its DIDs and log name
OPERATOR = Actor("test")
# Tables the read models own: versioned and rebuilt by the projections, not by migrations.
READ_MODEL_EXTRA = ("projection_positions", "projection_quarantine")


# --- databases -------------------------------------------------------------------------------------


class Store:
    """A database for one test, with the environment `registry` reads for it."""

    def __init__(self, kind: str, tmp_path: Path, request: pytest.FixtureRequest, schema: str = "") -> None:
        self.kind, self.tmp_path = kind, tmp_path
        tmp_path.mkdir(parents=True, exist_ok=True)
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")},
                    "REGISTRY_HOME": str(tmp_path / "home"), "REGISTRY_KEYS": str(tmp_path / "keys"),
                    "REGISTRY_PUBLIC_URL": PUBLIC_URL}
        self.pg = None
        if kind == "postgres":
            server = request.getfixturevalue("pg_server")  # skips without binaries, fails under CI=true
            self.pg = DatabaseJanitor(user=server.user, host=server.host, port=server.port,
                                      dbname=f"migrate_{uuid.uuid4().hex[:12]}", maintenance_dbname="postgres")
            self.pg.init()
            request.addfinalizer(self.pg.drop)
            self.dsn = f"postgresql://{server.user}@{server.host}:{server.port}/{self.pg.dbname}"
            if schema:
                self.sql(f"CREATE SCHEMA {schema}")
            self.env["REGISTRY_DATABASE_URL"] = self.dsn + (f"?schema={schema}" if schema else "")
        self.schema = schema or ("public" if kind == "postgres" else "")

    @property
    def settings(self):
        return Settings.from_environ(self.env).store

    def sql(self, statement: str, params: tuple = ()) -> list[tuple]:
        if self.pg is not None:
            with psycopg.connect(self.dsn, autocommit=True) as connection:
                cursor = connection.execute(statement, params)
                return cursor.fetchall() if cursor.description else []
        connection = sqlite3.connect(self.settings.sqlite_path)
        try:
            with connection:
                return connection.execute(statement, params).fetchall()
        finally:
            connection.close()

    def previous_release(self) -> dict:
        """The fixture's database and keystore in place; the answers that release gave on them."""
        keys = self.tmp_path / "keys"
        shutil.copytree(FIXTURE / "keys", keys)
        keys.chmod(0o700)  # git keeps no modes: the keystore refuses keys others may read
        for path in keys.iterdir():
            path.chmod(0o600)
        if self.pg is None:
            home = self.tmp_path / "home"
            home.mkdir(mode=0o700)
            with gzip.open(FIXTURE / "registry.sqlite.gz") as packed:
                self.settings.sqlite_path.write_bytes(packed.read())
            self.settings.sqlite_path.chmod(0o600)
        else:
            psql = Path(find_pg_ctl()).parent / "psql"
            with gzip.open(FIXTURE / "postgres.sql.gz") as packed:
                done = subprocess.run([str(psql), "-q", "-v", "ON_ERROR_STOP=1", "-d", self.dsn], input=packed.read(),
                                      capture_output=True, timeout=120)
            assert done.returncode == 0, done.stderr.decode()
        return json.loads((FIXTURE / f"{'sqlite' if self.pg is None else 'postgres'}.answers.json").read_text())

    def registry(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "registry.cli", *args], env=self.env, cwd=self.tmp_path,
                              capture_output=True, text=True, timeout=300)

    def layout(self) -> dict[str, object]:
        """Tables with their columns, indexes and triggers, as the database describes them."""
        if self.pg is None:
            tables = [name for (name,) in self.sql(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
            return {
                "tables": {table: sorted((c[1], c[2].upper(), c[3], c[5]) for c in self.sql(f'PRAGMA table_info("{table}")'))
                           for table in tables},
                "indexes": sorted(self.sql("SELECT tbl_name, name FROM sqlite_master WHERE type = 'index'")),
                "triggers": sorted(self.sql("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'")),
            }
        columns: dict[str, list] = {}
        for table, column, kind, nullable, default in self.sql(
                "SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns"
                " WHERE table_schema = %s", (self.schema,)):
            columns.setdefault(table, []).append((column, kind, nullable, default))
        return {
            "tables": {table: sorted(found) for table, found in columns.items()},
            "indexes": sorted(self.sql("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = %s",
                                       (self.schema,))),
            "triggers": sorted(self.sql(
                "SELECT c.relname, t.tgname, t.tgenabled FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND NOT t.tgisinternal",
                (self.schema,))),
            "functions": sorted(self.sql(
                "SELECT p.proname, pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n"
                " ON n.oid = p.pronamespace WHERE n.nspname = %s", (self.schema,))),
        }

    def version(self) -> list[tuple]:
        table = "alembic_version" if self.pg is None else f"{self.schema}.alembic_version"
        return self.sql(f"SELECT version_num FROM {table}")


def without_read_models(layout: dict, read_models: tuple[str, ...]) -> dict:
    """The store's own tables: what migrations are responsible for."""
    skip = set(read_models) | set(READ_MODEL_EXTRA)
    return {"tables": {t: c for t, c in layout["tables"].items() if t not in skip},
            **{part: [row for row in rows if row[0] not in skip] for part, rows in layout.items() if part != "tables"}}


@pytest.fixture(params=["sqlite", "postgres"])
def kind(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def made_by_init(request, tmp_path_factory):
    """made_by_init(kind): a database this code made from nothing with `registry init`, the layout every
    upgrade must reach; made once per store kind and only read."""
    made: dict[str, Store] = {}

    def get(kind: str) -> Store:
        if kind not in made:
            store = Store(kind, tmp_path_factory.mktemp(f"fresh-{kind}"), request)
            done = store.registry("init")
            assert done.returncode == 0, done.stderr
            made[kind] = store
        return made[kind]

    return get


@pytest.fixture
def fresh(kind, made_by_init) -> Store:
    return made_by_init(kind)


# --- tests -----------------------------------------------------------------------------------------


def test_init_upgrades_the_previous_release_and_every_answer_stays(kind, fresh, tmp_path, request):
    store = Store(kind, tmp_path / "old", request)
    given = store.previous_release()
    role = None
    if kind == "postgres":
        # The previous release's `registry init --app-role`: the service's role may append events.
        role = f"app_{uuid.uuid4().hex[:10]}"
        store.sql(f"CREATE ROLE {role}")
        request.addfinalizer(lambda: (store.sql(f"DROP OWNED BY {role}"), store.sql(f"DROP ROLE {role}")))
        store.sql(f"GRANT SELECT, INSERT ON registry_events TO {role}")
    assert migrations.current(store.settings) is None  # that release recorded no revision

    done = store.registry("init")
    assert done.returncode == 0, done.stderr
    assert "upgraded from the release before migrations" in done.stdout
    assert store.version() == [(migrations.head(),)] == fresh.version()
    assert migrations.head() == "0002_slot_snapshots"
    assert store.layout() == fresh.layout()  # read models rebuilt to their versions, the store migrated
    if role is not None:  # the new table is usable by the service's role without granting anew
        assert store.sql("SELECT has_table_privilege(%s, 'status_slot_snapshots', 'SELECT, INSERT, UPDATE')",
                         (role,)) == [(True,)]

    registry = open_registry(store.env)
    try:
        now = answers(registry)
        for key in ("events", "statuses", "keys", "verdicts", "checkpoint"):
            assert now[key] == given[key], key
        # Organisations: every field the previous release gave, unchanged (new fields may be added).
        assert [{k: issuer[k] for k in old} for issuer, old in zip(now["issuers"], given["issuers"])] == given["issuers"]
        assert len(now["issuers"]) == len(given["issuers"])
        assert len(given["statuses"]) == 46 and "revoked" in given["statuses"].values()

        # It goes on: a new credential, signed with the organisation's key from the old keystore.
        badge = registry.queries.achievements(limit=1).items[0]
        issued = registry.commands.credentials.issue(Award("new-learner@example.org", badge.id), actor=OPERATOR)
        assert registry.queries.verify(issued.document).verdict == "VALID"
        assert registry.store.max_position() > given["events"]
    finally:
        registry.close()
    status = store.registry("status", issued.id)
    assert status.returncode == 0 and status.stdout.startswith("active since "), status.stderr

    # Twice: nothing more to do, nothing changed (not the tables, not the log).
    events = "stored_events" if kind == "sqlite" else "registry_events"
    layout, count = store.layout(), store.sql(f"SELECT count(*) FROM {events}")
    again = store.registry("init")
    assert again.returncode == 0, again.stderr
    assert "upgraded" not in again.stdout and f"schema {migrations.head()}" in again.stdout
    assert store.layout() == layout and store.version() == [(migrations.head(),)]
    assert store.sql(f"SELECT count(*) FROM {events}") == count


def test_migrations_alone_bring_the_previous_release_to_the_tables_this_code_creates(kind, fresh, tmp_path, request):
    """The test that catches a forgotten migration: a table or column this code's start-up creates that no
    revision adds. Only the migrations run here (start-up would create what they forgot); the read
    models are left out, their own versions rebuild them."""
    store = Store(kind, tmp_path / "old", request)
    store.previous_release()
    migrated = migrations.upgrade(store.settings)
    assert (migrated.before, migrated.after) == (None, migrations.head())
    registry = open_registry(fresh.env)
    try:
        read_models = registry.queries.read_model.tables
    finally:
        registry.close()
    assert without_read_models(store.layout(), read_models) == without_read_models(fresh.layout(), read_models)
    assert migrations.upgrade(store.settings) == migrations.Migrated(migrations.head(), migrations.head())


def test_a_database_a_newer_release_upgraded_is_refused_in_one_line(kind, tmp_path, request):
    fresh = Store(kind, tmp_path, request)
    assert fresh.registry("init").returncode == 0
    fresh.sql(f"UPDATE {'alembic_version' if kind == 'sqlite' else 'public.alembic_version'}"
              " SET version_num = '0099_from_the_future'")
    layout = fresh.layout()
    done = fresh.registry("init")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "schema revision 0099_from_the_future, which this registry does not know" in done.stderr
    assert done.stderr.startswith("registry: REGISTRY_")
    assert fresh.layout() == layout and fresh.version() == [("0099_from_the_future",)]


def test_only_the_owner_migrates(tmp_path, request):
    """The application role's `registry init` is refused before any migration, in one line."""
    store = Store("postgres", tmp_path, request)
    store.previous_release()
    role = f"app_{uuid.uuid4().hex[:10]}"
    store.sql(f"CREATE ROLE {role} LOGIN")
    request.addfinalizer(lambda: (store.sql(f"DROP OWNED BY {role}"), store.sql(f"DROP ROLE {role}")))
    store.sql(f"GRANT CREATE, USAGE ON SCHEMA public TO {role}")  # even a role that could create tables
    store.env["REGISTRY_DATABASE_URL"] = store.dsn.replace(f"//{store.pg.user}@", f"//{role}@")
    layout = store.layout()
    done = store.registry("init")
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert f"registry init is the tables' owner's command; connected as {role}" in done.stderr
    assert store.layout() == layout and migrations.current(Settings.from_environ(
        {**store.env, "REGISTRY_DATABASE_URL": store.dsn}).store) is None


def test_a_new_database_is_created_by_start_up_and_stamped_head(tmp_path, request, made_by_init):
    """The README's first command: `registry demo` on nothing (start-up creates the current tables,
    no revision recorded), then `registry init` stamps it through revisions that find their change
    made, and a registry started afresh matches it."""
    made = Store("sqlite", tmp_path / "demo", request)
    assert made.registry("demo").returncode == 0
    assert migrations.current(made.settings) is None
    done = made.registry("init")
    assert done.returncode == 0, done.stderr
    assert made.version() == [(migrations.head(),)]
    assert made.layout() == made_by_init("sqlite").layout()


def test_postgres_version_table_in_the_registrys_schema(tmp_path, request):
    store = Store("postgres", tmp_path, request, schema="badges")
    done = store.registry("init")
    assert done.returncode == 0, done.stderr
    assert store.sql("SELECT table_schema FROM information_schema.tables WHERE table_name = 'alembic_version'") \
        == [("badges",)]
    assert store.version() == [(migrations.head(),)]
