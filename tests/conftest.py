"""Shared test fixtures. The standards data the tests read is in tests/standards (see its README).

Event-store fixtures: `store_env` runs a test against SQLite and PostgreSQL, each with a fresh
database. PostgreSQL is a throwaway cluster on 127.0.0.1 (pytest-postgresql's executor around
pg_ctl), started once per session. initdb refuses to run as root, so under root pg_ctl is wrapped
in `runuser -u postgres --` and the cluster lives in a temp dir owned by postgres. Without
PostgreSQL binaries the PG tests skip, except under CI=true, where they fail.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import port_for
import psycopg
import pytest
from pytest_postgresql.executors import PostgreSQLExecutor
from pytest_postgresql.janitor import DatabaseJanitor

from registry.store.settings import StoreSettings, eventsourcing_env

STANDARDS = Path(__file__).resolve().parent / "standards"
PG_SUPERUSER = "postgres"


@pytest.fixture(scope="session")
def standards() -> Path:
    if not STANDARDS.is_dir():
        pytest.fail(f"standards data not found at {STANDARDS}")
    return STANDARDS


@pytest.fixture(scope="module")
def outside_verifier(tmp_path_factory):
    """A registry elsewhere: an empty embedded store that knows none of the issuers it is shown."""
    from registry.bootstrap import open_registry

    tmp = tmp_path_factory.mktemp("outside")
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env.update({"REGISTRY_HOME": str(tmp / "home"), "REGISTRY_KEYS": str(tmp / "keys")})
    registry = open_registry(env)
    yield registry
    registry.close()


# --- PostgreSQL ------------------------------------------------------------------------------------


def _postgres_unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: PostgreSQL tests must not be skipped)")
    pytest.skip(reason)


def find_pg_ctl() -> str | None:
    """The newest pg_ctl under /usr/lib/postgresql/*/bin (Debian), else one on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return found[-1] if found else shutil.which("pg_ctl")


@dataclass(frozen=True)
class PgServer:
    host: str
    port: int
    user: str


@dataclass(frozen=True)
class PgDatabase:
    host: str
    port: int
    user: str
    dbname: str

    @property
    def dsn(self) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.dbname}"

    def connect(self, user: str | None = None) -> psycopg.Connection[Any]:
        return psycopg.connect(host=self.host, port=self.port, dbname=self.dbname,
                               user=user or self.user, autocommit=True)


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgServer]:
    pg_ctl = find_pg_ctl()
    if pg_ctl is None:
        _postgres_unavailable("no PostgreSQL server binaries (pg_ctl) in /usr/lib/postgresql/*/bin "
                              "or on PATH")
    cluster_dir = Path(tempfile.mkdtemp(prefix="registry-pg-"))
    executable = pg_ctl
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(cluster_dir)
            _postgres_unavailable("running as root and there is no 'postgres' user to run initdb")
        os.chown(cluster_dir, owner.pw_uid, owner.pw_gid)
        # The wrapper stays in a root-owned dir: root executes it, so postgres must not edit it.
        wrapper = tmp_path_factory.mktemp("pg-ctl") / "pg_ctl"
        wrapper.write_text(f'#!/bin/sh\nexec runuser -u postgres -- "{pg_ctl}" "$@"\n')
        wrapper.chmod(0o755)
        executable = str(wrapper)
    executor = PostgreSQLExecutor(
        executable=executable,
        host="127.0.0.1",
        port=port_for.select_random(),
        datadir=str(cluster_dir / "data"),
        unixsocketdir=str(cluster_dir),
        logfile=str(cluster_dir / "postgresql.log"),
        startparams="-w",
        dbname="postgres",
        user=PG_SUPERUSER,
        # A throwaway cluster: durability buys nothing here and costs seconds.
        postgres_options="-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
        timeout=30,
    )
    try:
        executor.start()
        yield PgServer(host=executor.host, port=executor.port, user=PG_SUPERUSER)
    finally:
        try:
            executor.stop()
        finally:
            shutil.rmtree(cluster_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_template(pg_server: PgServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database the registry has created its tables in (events, log, read models, access), opened
    once per session by the composition root and never written to: a test's database is a copy of
    it, which costs a file copy where creating some 60 tables and guards cost about 0.4 s a test."""
    from registry.bootstrap import open_registry

    name = "registry_template"
    janitor = DatabaseJanitor(user=pg_server.user, host=pg_server.host, port=pg_server.port, dbname=name,
                              maintenance_dbname="postgres")
    janitor.init()
    home = tmp_path_factory.mktemp("pg-template")
    dsn = PgDatabase(pg_server.host, pg_server.port, pg_server.user, name).dsn
    open_registry({"REGISTRY_HOME": str(home / "home"), "REGISTRY_KEYS": str(home / "keys"),
                   "REGISTRY_PUBLIC_URL": "https://badges.test", "REGISTRY_DATABASE_URL": dsn}).close()
    return name


@pytest.fixture
def pg_database(pg_server: PgServer, request: pytest.FixtureRequest) -> Iterator[PgDatabase]:
    """A fresh database for one test, dropped afterwards: a copy of the registry's empty tables
    (pg_template), or with the marker `empty_postgres` (tests of who creates the tables) an empty one."""
    template = None if request.node.get_closest_marker("empty_postgres") else request.getfixturevalue("pg_template")
    janitor = DatabaseJanitor(user=pg_server.user, host=pg_server.host, port=pg_server.port,
                              dbname=f"test_{uuid.uuid4().hex[:16]}", maintenance_dbname="postgres",
                              template_dbname=template)
    janitor.init()
    try:
        yield PgDatabase(pg_server.host, pg_server.port, pg_server.user, janitor.dbname)
    finally:
        janitor.drop()


@pytest.fixture
def pg_dsn(pg_database: PgDatabase) -> str:
    return pg_database.dsn


# --- both stores -----------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def store_settings(store_kind: str, request: pytest.FixtureRequest,
                   tmp_path: Path) -> StoreSettings:
    environ = {"REGISTRY_HOME": str(tmp_path / "home")}
    if store_kind == "postgres":
        environ["REGISTRY_DATABASE_URL"] = request.getfixturevalue("pg_dsn")
    return StoreSettings.from_environ(environ)


@pytest.fixture
def store_env(store_settings: StoreSettings) -> dict[str, str]:
    """The env for Registry(env=...) over a fresh database (SQLite file or PostgreSQL)."""
    return eventsourcing_env(store_settings)


class RawDatabase:
    """Plain SQL on the test's store, bypassing the library (to attack it, or to count rows)."""

    def __init__(self, settings: StoreSettings, pg: PgDatabase | None) -> None:
        self.kind = settings.database
        self.settings = settings
        self.pg = pg

    def execute(self, statement: str, params: tuple[Any, ...] = (), *,
                user: str | None = None) -> list[tuple[Any, ...]]:
        if self.pg is not None:
            with self.pg.connect(user) as conn:
                cursor = conn.execute(statement, params)
                return cursor.fetchall() if cursor.description else []
        conn = sqlite3.connect(self.settings.sqlite_path)
        try:
            with conn:  # commits, or rolls back on error
                return conn.execute(statement, params).fetchall()
        finally:
            conn.close()


@pytest.fixture
def raw_db(store_settings: StoreSettings, request: pytest.FixtureRequest) -> RawDatabase:
    pg = request.getfixturevalue("pg_database") if store_settings.database == "postgres" else None
    return RawDatabase(store_settings, pg)


# --- the registry, built by the composition root -------------------------------------------------------

PUBLIC_URL = "https://badges.test"


@pytest.fixture
def registry_environ(store_kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """The environment `registry.bootstrap.open_registry` reads, over a fresh database of the
    test's store (SQLite file or PostgreSQL) and a fresh keystore."""
    environ = {"REGISTRY_HOME": str(tmp_path / "home"), "REGISTRY_KEYS": str(tmp_path / "keys"),
               "REGISTRY_PUBLIC_URL": PUBLIC_URL}
    if store_kind == "postgres":
        environ["REGISTRY_DATABASE_URL"] = request.getfixturevalue("pg_dsn")
    return environ


class Clock:
    """A clock a test can set (`clock.now = ...`) or leave running (None: the real time)."""

    def __init__(self) -> None:
        self.now = None

    def __call__(self):
        from datetime import datetime, timezone
        return self.now or datetime.now(timezone.utc)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def open_registry(registry_environ: dict[str, str], clock: Clock) -> Iterator:
    """open_registry(**overrides): a Registry over the test's store, built by the composition root
    (closed at the end of the test). Overrides change the environment (e.g. REGISTRY_PUBLIC_URL)."""
    from registry.bootstrap import open_registry as open_root

    opened = []

    def build(custody=None, **overrides: str):
        registry = open_root({**registry_environ, **overrides}, custody=custody, clock=clock)
        opened.append(registry)
        return registry

    yield build
    for registry in opened:
        registry.close()


@pytest.fixture
def registry(open_registry):
    """The registry over the test's store (SQLite and PostgreSQL)."""
    return open_registry()
