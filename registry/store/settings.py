"""Where the event store lives, read from the environment, and the eventsourcing env it implies.

REGISTRY_HOME          data directory (default ./data); the SQLite file is <home>/registry.sqlite
REGISTRY_DATABASE_URL  empty: SQLite. postgresql://user:password@host:port/dbname[?schema=name]
                       (or ?options=-c search_path=name): PostgreSQL
REGISTRY_DATABASE_URL_FILE  instead of the URL: a 0600 file holding it (a container's secret)
REGISTRY_REPLICA_DATABASE_URL  optional, with PostgreSQL: a hot standby of that database (streaming
                       replication) that serves reads; or REGISTRY_REPLICA_DATABASE_URL_FILE
REGISTRY_SESSION_DATABASE_URL  optional: the same database through a connection that is a session
                       (PostgreSQL itself, or PgBouncer in session pooling), for what needs one: the
                       event store (the eventsourcing library prepares its statements; the slot
                       ledger's and log's writes go through it) and a projection worker's LISTEN.
                       With it, REGISTRY_DATABASE_URL may be PgBouncer in transaction pooling: the
                       plain-SQL connections (read models, access, caches) then prepare nothing.
                       Or REGISTRY_SESSION_DATABASE_URL_FILE.
REGISTRY_CREATE_TABLES "false" for a deployment that runs as an application role without DDL
                       rights (the owner created the tables and ran enforce_append_only first)
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

from eventsourcing.utils import strtobool

from registry.errors import ConfigurationError

SQLITE_FILE_NAME = "registry.sqlite"
POSTGRES_SCHEMES = ("postgresql", "postgres")
# PostgreSQL connections: per pool (the event store's, and each plain-SQL Database's), and how long
# a request waits for one before it is answered 503.
POOL_SIZE = 4
CONNECT_SECONDS = 3
# How long the event store's pool (psycopg_pool) keeps retrying a lost connection in the
# background, with growing pauses, before it gives up and lets the next request try afresh. Short:
# after a restart the first request reconnects at once instead of waiting out a long pause.
RECONNECT_SECONDS = 0.5
_SEARCH_PATH = re.compile(r"-c\s*search_path\s*=\s*([^\s,]+)")


class StoreSettingsError(ConfigurationError):
    """The environment does not describe a usable event store."""

    def __init__(self, message: str, field: str = "REGISTRY_DATABASE_URL") -> None:
        super().__init__(field, message)


@dataclass(frozen=True)
class StoreSettings:
    home: Path
    database: Literal["sqlite", "postgres"] = "sqlite"
    create_tables: bool = True
    pg_user: str = ""
    pg_password: str = field(default="", repr=False)
    pg_host: str = ""
    pg_port: int = 5432
    pg_dbname: str = ""
    pg_schema: str = ""
    # A hot standby of the same database that serves reads (registry.projections.replica).
    replica: StoreSettings | None = field(default=None, repr=False)
    # Where connections that need a session go; set: the main URL may pool by transaction.
    session: StoreSettings | None = field(default=None, repr=False)

    @property
    def sqlite_path(self) -> Path:
        return self.home / SQLITE_FILE_NAME

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> StoreSettings:
        environ = os.environ if environ is None else environ
        home = Path(environ.get("REGISTRY_HOME") or "./data").resolve()
        create_tables = _flag(environ, "REGISTRY_CREATE_TABLES", default=True)
        url = (environ.get("REGISTRY_DATABASE_URL") or "").strip() or _secret_file(environ, "REGISTRY_DATABASE_URL_FILE")
        replica_url = ((environ.get("REGISTRY_REPLICA_DATABASE_URL") or "").strip()
                       or _secret_file(environ, "REGISTRY_REPLICA_DATABASE_URL_FILE"))
        session_url = ((environ.get("REGISTRY_SESSION_DATABASE_URL") or "").strip()
                       or _secret_file(environ, "REGISTRY_SESSION_DATABASE_URL_FILE"))
        if not url:
            if session_url:
                raise StoreSettingsError("a session connection is to a PostgreSQL database: set "
                                         "REGISTRY_DATABASE_URL too", "REGISTRY_SESSION_DATABASE_URL")
            if replica_url:
                raise StoreSettingsError("a replica serves a PostgreSQL primary: set REGISTRY_DATABASE_URL too",
                                         "REGISTRY_REPLICA_DATABASE_URL")
            return cls(home=home, create_tables=create_tables)
        found = {}
        for name, given in (("replica", replica_url), ("session", session_url)):
            if given:
                try:
                    found[name] = cls(home=home, create_tables=False, **parse_database_url(given))
                except StoreSettingsError as exc:
                    raise StoreSettingsError(exc.message, f"REGISTRY_{name.upper()}_DATABASE_URL") from None
        return cls(home=home, create_tables=create_tables, **found, **parse_database_url(url))


def _secret_file(environ: Mapping[str, str], key: str) -> str:
    """The content of a file a container secret mounts (a URL with a password): only its owner may
    read it, or it is refused."""
    name = (environ.get(key) or "").strip()
    if not name:
        return ""
    path = Path(name)
    if not path.is_file():
        raise StoreSettingsError(f"{name} does not exist", key)
    if path.stat().st_mode & 0o077:
        raise StoreSettingsError(f"{name} may be read by others: chmod 600 it", key)
    return path.read_text(encoding="utf-8").strip()


def _flag(environ: Mapping[str, str], key: str, *, default: bool) -> bool:
    value = (environ.get(key) or "").strip()
    if not value:
        return default
    try:
        return bool(strtobool(value))
    except ValueError:
        raise StoreSettingsError(f"{value!r} is not a boolean (use true or false)", key) from None


def parse_database_url(url: str) -> dict[str, str | int]:
    """PostgreSQL connection fields of a postgresql:// URL (error messages never show the password)."""
    parts = urlsplit(url)
    shown = _without_password(url)
    if parts.scheme not in POSTGRES_SCHEMES:
        raise StoreSettingsError(
            f"{shown!r}: scheme must be postgresql:// or postgres://"
        )
    if not parts.hostname:
        raise StoreSettingsError(f"{shown!r} has no host")
    if not parts.username:
        raise StoreSettingsError(f"{shown!r} has no user")
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname or "/" in dbname:
        raise StoreSettingsError(f"{shown!r} needs one database name")
    try:
        port = parts.port or 5432
    except ValueError:
        raise StoreSettingsError(f"{shown!r} has an invalid port") from None
    return {
        "database": "postgres",
        "pg_user": unquote(parts.username),
        "pg_password": unquote(parts.password or ""),
        "pg_host": parts.hostname,
        "pg_port": port,
        "pg_dbname": dbname,
        "pg_schema": _schema(parts.query, shown),
    }


def _schema(query: str, shown: str) -> str:
    params = parse_qs(query, keep_blank_values=True)
    # eventsourcing passes only these connection fields on; silently dropping e.g. sslmode would
    # weaken a deployment, so anything else is refused.
    unknown = sorted(set(params) - {"schema", "options"})
    if unknown:
        raise StoreSettingsError(
            f"{shown!r}: unsupported parameter(s) {', '.join(unknown)} "
            "(only schema and options=-c search_path=...)"
        )
    schemas = params.get("schema", [])
    for options in params.get("options", []):
        match = _SEARCH_PATH.search(options)
        if not match:
            raise StoreSettingsError(
                f"{shown!r}: options must be -c search_path=<schema>"
            )
        schemas.append(match.group(1))
    if len(set(schemas)) > 1:
        raise StoreSettingsError(f"{shown!r} names several schemas")
    return schemas[0] if schemas else ""


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return parts._replace(netloc=f"{user}:***@{netloc[1]}").geturl()


def eventsourcing_env(settings: StoreSettings) -> dict[str, str]:
    """The env for Registry(env=...): persistence module, connection, msgspec encoding."""
    env = {
        "MAPPER_TOPIC": "registry.store.encoding:MsgspecMapper",
        "TRANSCODER_TOPIC": "registry.store.encoding:PassThroughTranscoder",
        "CREATE_TABLE": "y" if settings.create_tables else "n",
    }
    if settings.database == "sqlite":
        prepare_sqlite(settings)
        env["PERSISTENCE_MODULE"] = "eventsourcing.sqlite"
        env["APPLICATION_RECORDER_TOPIC"] = "registry.store.recorders:RegistrySQLiteRecorder"
        env["SQLITE_DBNAME"] = str(settings.sqlite_path)
        return env
    env["PERSISTENCE_MODULE"] = "eventsourcing.postgres"
    # Takes the insert lock through a function, so an application role needs no UPDATE right;
    # inserts in bounded chunks; can hold a write open for its answer (registry.store.recorders).
    env["APPLICATION_RECORDER_TOPIC"] = "registry.store.recorders:RegistryPostgresRecorder"
    # Connections come from the library's psycopg_pool, several per process, given up on after a
    # few seconds (the request then gets 503), never left idle in a transaction by a client that
    # died. Broken ones (a restart) are dropped when a read meets one (registry.store.recorders).
    env["POSTGRES_POOL_SIZE"] = str(POOL_SIZE)
    env["POSTGRES_MAX_OVERFLOW"] = str(POOL_SIZE)
    env["POSTGRES_CONNECT_TIMEOUT"] = str(CONNECT_SECONDS)
    env["POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT"] = "60"
    # The library prepares its statements and sets session parameters: a session of its own.
    connection = settings.session or settings
    env["POSTGRES_DBNAME"] = connection.pg_dbname
    env["POSTGRES_HOST"] = connection.pg_host
    env["POSTGRES_PORT"] = str(connection.pg_port)
    env["POSTGRES_USER"] = connection.pg_user
    env["POSTGRES_PASSWORD"] = connection.pg_password
    if connection.pg_schema:
        env["POSTGRES_SCHEMA"] = connection.pg_schema
    return env


def prepare_sqlite(settings: StoreSettings) -> None:
    """The SQLite file readable by its owner only, like the keystore: it holds API-key hashes and
    stored answers. A data directory the registry creates is 0700; SQLite gives its -wal and -shm
    files the database file's permissions."""
    if not settings.home.exists():
        settings.home.mkdir(parents=True, mode=0o700)
    _private_file(settings.sqlite_path)


def prepare_side_file(settings: StoreSettings, name: str) -> Path:
    """A SQLite file of its own beside the event store's, owner-only like it."""
    prepare_sqlite(settings)
    path = settings.home / f"{name}.sqlite"
    _private_file(path)
    return path


def _private_file(path: Path) -> None:
    """Create the file 0600, or make an existing one 0600, by path only: never by opening and closing
    it. Closing any descriptor of a SQLite file drops every POSIX lock this process holds on it
    (fcntl semantics), and a process that lost its locks can have its WAL deleted under it by
    another closing the database (writes then vanish)."""
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))  # new: nobody has it open
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)  # a file an earlier version created 0644


def describe(settings: StoreSettings) -> str:
    """Where the data lives, safe to log (no password)."""
    if settings.database == "sqlite":
        return f"SQLite file {settings.sqlite_path}"
    schema = settings.pg_schema or "public"
    return (
        f"PostgreSQL {settings.pg_user}@{settings.pg_host}:{settings.pg_port}/"
        f"{settings.pg_dbname} schema {schema}"
    )
