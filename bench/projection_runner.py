"""Should the projections run on eventsourcing's own ProjectionRunner? Both catch the same
projection up over the same log on PostgreSQL, from position 0, and the figures decide.

- `registry Runner`: registry.projections.runner.Runner, batches of 1,000 notifications, each one
  transaction holding the batch's rows (a few executemany calls) and the position.
- `eventsourcing ProjectionRunner`: the library's runner (eventsourcing.projection.ProjectionRunner)
  with the same projection's handlers, written as an eventsourcing `Projection` whose view is a
  `PostgresTrackingRecorder`: one transaction per event, holding its rows and its tracking record
  (the library's exactly-once contract), fed by the library's PostgreSQL subscription.

On SQLite there is nothing to compare: the library's SQLite recorder has no subscriptions
(`ProjectionRunner` raises NotImplementedError), so the registry's runner is the only one there.

    .venv/bin/python bench/projection_runner.py [--credentials 10000] [--projection credentials]

Both answers must be the same rows (compared table by table), or the script exits 1."""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.projection import Projection as LibraryProjection
from eventsourcing.projection import ProjectionRunner
from psycopg.sql import SQL

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _pg import throwaway_postgres  # noqa: E402 - sibling modules of this script
from issuance_verification import ACTOR, awards, module_badges, open_store, take  # noqa: E402
from registry.projections import PROJECTIONS  # noqa: E402
from registry.projections.projection import EventLog, Writes  # noqa: E402
from registry.projections.runner import Runner  # noqa: E402
from registry.store import EventStore, eventsourcing_env, parse_database_url  # noqa: E402
from registry.store.database import PostgresDatabase  # noqa: E402
from registry.store.settings import StoreSettings  # noqa: E402

CHOSEN = {p.name: p for p in PROJECTIONS}


def build(url: str, credentials: int) -> None:
    """`registry demo`'s ecosystem plus `credentials` more in batches, 2% revoked, on PostgreSQL."""
    with tempfile.TemporaryDirectory(prefix="bench-runner-") as home:
        registry = open_store(Path(home), url)
        try:
            with contextlib.redirect_stderr(io.StringIO()):
                stream = awards(module_badges(registry))
            issued = []
            while len(issued) < credentials:
                issued += registry.commands.credentials.issue_batch(
                    take(stream, min(1000, credentials - len(issued))), actor=ACTOR).ids
            for credential in issued[::50]:
                registry.commands.credentials.revoke(credential, reason="bench", actor=ACTOR)
        finally:
            registry.close()


def database(url: str, name: str) -> str:
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return url.rsplit("/", 1)[0] + f"/{name}"


def rows(url: str, tables: tuple[str, ...]) -> dict[str, list[tuple]]:
    with psycopg.connect(url) as connection:
        return {t: sorted(connection.execute(f"SELECT * FROM {t}").fetchall()) for t in tables}


def registry_runner(events_url: str, view_url: str, projection) -> float:
    store = EventStore(env=eventsourcing_env(StoreSettings.from_environ({"REGISTRY_DATABASE_URL": events_url})))
    db = PostgresDatabase({"conninfo": view_url})
    try:
        runner = Runner(store, db, [projection])
        runner.prepare()
        began = time.perf_counter()
        runner.catch_up()
        return time.perf_counter() - began
    finally:
        db.close()
        store.close()


def library_runner(events_url: str, view_url: str, projection) -> tuple[float, int]:
    """The same projection on eventsourcing's ProjectionRunner; (seconds, events processed)."""
    events = eventsourcing_env(StoreSettings.from_environ({"REGISTRY_DATABASE_URL": events_url}))
    view = parse_database_url(view_url)
    log_store = EventStore(env=events)  # for the handlers' EventLog (an aggregate's creation event)
    log = EventLog(log_store)

    class View(PostgresTrackingRecorder):
        def __init__(self, datastore, **kwargs) -> None:
            super().__init__(datastore, **kwargs)
            self.sql_create_statements += [SQL(statement) for statement in projection.ddl]

        def apply(self, event, tracking: Tracking) -> None:
            writes = Writes()
            projection.handlers[type(event)](writes, tracking.notification_id, event, log)
            with self.datastore.transaction(commit=True) as cursor:
                for phase in sorted(writes.phases):
                    for sql, params in writes.phases[phase]:
                        cursor.executemany(sql.replace("?", "%s"), params)
                self._insert_tracking(cursor, tracking)

    class Library(LibraryProjection[View]):
        name = "library"
        topics = projection.topics

        def process_event(self, domain_event, tracking: Tracking) -> None:
            self.view.apply(domain_event, tracking)

    last = log_store.recorder.select_notifications(start=1, limit=10**9, topics=list(projection.topics))
    expected, last_id = len(last), last[-1].id
    env = {**events, "LIBRARY_POSTGRES_DBNAME": view["pg_dbname"], "LIBRARY_CREATE_TABLE": "y",
           "LIBRARY_PERSISTENCE_MODULE": "eventsourcing.postgres"}
    env.pop("APPLICATION_RECORDER_TOPIC", None)  # the view is a tracking recorder, not the log's
    began = time.perf_counter()
    with ProjectionRunner(application_class=EventStore, projection_class=Library, view_class=View,
                          env=env) as runner:
        runner.wait(last_id, timeout=3600)
        seconds = time.perf_counter() - began
    log_store.close()
    return seconds, expected


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--credentials", type=int, default=10_000)
    parser.add_argument("--projection", default="credentials", choices=sorted(CHOSEN))
    args = parser.parse_args(argv)
    projection = CHOSEN[args.projection]
    with throwaway_postgres() as url:
        began = time.perf_counter()
        build(url, args.credentials)
        with psycopg.connect(url) as connection:
            logged = connection.execute("SELECT max(notification_id) FROM registry_events").fetchone()[0]
        print(f"log: {logged:,} events ({args.credentials:,} credentials and the demo) in "
              f"{time.perf_counter() - began:.0f} s; projection {projection.name!r}, "
              f"{len(projection.topics)} event types")
        ours = database(url, "view_registry")
        theirs = database(url, "view_library")
        seconds_ours = registry_runner(url, ours, projection)
        seconds_theirs, events = library_runner(url, theirs, projection)
        same = rows(ours, projection.tables) == rows(theirs, projection.tables)
    print(f"\n{'runner':<34}{'events applied':>15}{'seconds':>9}{'events/s':>10}")
    print(f"  {'registry Runner (batches)':<32}{events:>15,}{seconds_ours:>9.2f}{events / seconds_ours:>10,.0f}")
    print(f"  {'eventsourcing ProjectionRunner':<32}{events:>15,}{seconds_theirs:>9.2f}"
          f"{events / seconds_theirs:>10,.0f}")
    print(f"\nthe library's runner took {seconds_theirs / seconds_ours:.1f}x as long; "
          f"same rows in every table: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
