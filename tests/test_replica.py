"""Reads from a PostgreSQL hot standby (REGISTRY_REPLICA_DATABASE_URL), made by `pg_basebackup -R`,
with read-your-writes across hosts by log position: host A writes on the primary and answers with
`Registry-Position`; host B answers reads from the standby, and a read naming a position waits (a
bounded while) until the standby has it, else the primary answers. Replay on the standby is paused
and resumed by the test (`pg_wal_replay_pause`), the projection worker is a real `registry
projections run`, and the standby is stopped to show the primary taking over. Without PostgreSQL's
server binaries the tests are skipped with the reason; in CI they fail."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

import httpx
import psycopg
import pytest
from litestar.testing import TestClient

from registry.api import create_app
from registry.commands import Actor
from registry.errors import ConfigurationError
from test_failover import Cluster, streaming_pair

OPERATOR = Actor("test")
WAIT = 1.5  # REGISTRY_REPLICA_WAIT_SECONDS of host B


@pytest.fixture(scope="module")
def clusters():
    # Asynchronous replication to begin with: the tests pause the standby's replay.
    with streaming_pair("registry-replica-", synchronous=False) as pair:
        yield pair


@pytest.fixture
def store_kind() -> str:
    return "sqlite"  # the environment's store is replaced by the clusters'


@pytest.fixture
def registry_environ(registry_environ, clusters):
    """Every test of the file shares the clusters' database, hence one keystore (the log's key)."""
    return {**registry_environ, "REGISTRY_KEYS": str(clusters[0].data.parent / "keys"),
            "REGISTRY_PUBLIC_URL": "https://badges.test"}


def standby(replica: Cluster, sql: str) -> list[tuple]:
    with psycopg.connect(replica.dsn, autocommit=True) as connection:
        return connection.execute(sql).fetchall()


def replayed(replica: Cluster) -> str:
    return standby(replica, "SELECT pg_last_wal_replay_lsn()::text")[0][0]


def caught_up(primary: Cluster, replica: Cluster, seconds: float = 10) -> None:
    with psycopg.connect(primary.dsn, autocommit=True) as connection:
        target = connection.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
    deadline = time.monotonic() + seconds
    while standby(replica, f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn")[0][0] is not True:
        assert time.monotonic() < deadline, "the standby did not replay the primary's WAL"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def worker(clusters):
    """`registry projections run` on the primary, the file long: what keeps the standby's read models
    moving. Ready once it has made its positions and a write reaches the standby's read models."""
    primary, replica = clusters
    root = primary.data.parent
    env = {**os.environ, "REGISTRY_DATABASE_URL": primary.dsn, "REGISTRY_HOME": str(root / "worker"),
           "REGISTRY_KEYS": str(root / "keys"), "REGISTRY_PUBLIC_URL": "https://badges.test"}
    log = (root / "worker.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "registry.cli", "projections", "run", "--poll", "0.2"],
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (root / "worker.log").read_text()
            assert time.monotonic() < deadline, "the projection worker did not start"
            try:
                if standby(replica, "SELECT count(*) FROM projection_positions")[0][0] >= 8:
                    break
            except psycopg.errors.UndefinedTable:
                pass
            time.sleep(0.2)
        time.sleep(0.5)  # from catching up to LISTENing
        yield process
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def test_reads_come_from_the_standby_and_a_named_position_is_waited_for(clusters, open_registry, worker):
    primary, replica = clusters
    host_a = open_registry(REGISTRY_DATABASE_URL=primary.dsn)
    host_b = open_registry(REGISTRY_DATABASE_URL=primary.dsn, REGISTRY_REPLICA_DATABASE_URL=replica.dsn,
                           REGISTRY_REPLICA_WAIT_SECONDS=str(WAIT))
    host_a.commands.issuers.register(slug="acme", name="Acme Academy", actor=OPERATOR)
    badge = host_a.commands.achievements.define(issuer="acme", actor=OPERATOR, definition={
        "name": "Welding", "description": "Welds.", "criteria": {"narrative": "Passed."}}).id
    admin = host_a.access.keys.create(issuer=None)[0]  # the operator's
    auth = {"Authorization": f"Bearer {admin}"}
    answered = host_b.queries.answered
    with TestClient(create_app(host_a)) as a, TestClient(create_app(host_b)) as b:
        issued = a.post("/credentials", headers=auth, json={"recipient": "ada@example.org", "achievement": badge})
        assert issued.status_code == 201, issued.text
        written = int(issued.headers["Registry-Position"])
        assert written == host_a.store.max_position()
        status = f"/credentials/{issued.json()['id']}/status"

        # Replicated and projected within the bound: the standby answers.
        found = b.get(status, headers={"Registry-Position": str(written)})
        assert found.status_code == 200 and found.json()["status"] == "active", found.text
        assert answered == {"replica": 1, "primary": 0}

        # Replay paused: the revocation is acknowledged by A but not on the standby.
        standby(replica, "SELECT pg_wal_replay_pause()")
        before_revocation = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
        try:
            revoked = a.post(f"{status.removesuffix('/status')}/revoke", headers=auth, json={"reason": "in error"})
            assert revoked.status_code == 200, revoked.text
            revocation = int(revoked.headers["Registry-Position"])
            assert revocation > written
            # Naming no position, B answers from the standby as it stands: asynchronous replication
            # lags, which is what the position is for (remote_apply closes the gap: the next test).
            assert b.get(status).json()["status"] == "active"
            assert answered == {"replica": 2, "primary": 0}
            # Naming the revocation's position: B waits the bound, then the primary answers.
            started = time.monotonic()
            found = b.get(status, headers={"Registry-Position": str(revocation)})
            waited = time.monotonic() - started
            assert found.status_code == 200 and found.json()["status"] == "revoked", found.text
            assert WAIT <= waited < WAIT + 3, waited
            assert answered == {"replica": 2, "primary": 1}


            # Replay resumed while a read waits: the standby answers it, fresh.
            result: dict = {}
            reader = threading.Thread(target=lambda: result.update(
                response=b.get(status, headers={"Registry-Position": str(revocation)})))
            reader.start()
            time.sleep(0.3)
        finally:
            standby(replica, "SELECT pg_wal_replay_resume()")
        reader.join(timeout=10)
        assert result["response"].json()["status"] == "revoked"
        assert answered == {"replica": 3, "primary": 1}

        # Every read the standby serves: lists, documents, as-of answers.
        position = {"Registry-Position": str(revocation)}
        assert b.get("/issuers", headers=position).json()["items"][0]["slug"] == "acme"
        assert b.get(f"/achievements/{badge}", headers=position).status_code == 200
        as_of = b.get(status, params={"at": before_revocation}, headers=position)
        assert as_of.status_code == 200 and as_of.json()["status"] == "active", as_of.text
        assert answered == {"replica": 7, "primary": 1}  # the issuer listing asks two questions
        metrics = b.get("/metrics").text
        assert 'registry_replica_answers{by="replica"} 7.0' in metrics, metrics

        # Mixed with reads naming nothing (which the host batches), a read naming a position still
        # waits for it: it is never answered by a batch another request began.
        second = a.post("/credentials", headers=auth, json={"recipient": "bo@example.org", "achievement": badge})
        other = f"/credentials/{second.json()['id']}/status"
        assert b.get(other, headers={"Registry-Position": second.headers["Registry-Position"]}).status_code == 200
        standby(replica, "SELECT pg_wal_replay_pause()")
        try:
            later = a.post(f"{other.removesuffix('/status')}/revoke", headers=auth, json={"reason": "late"})
            later_position = later.headers["Registry-Position"]

            async def mixed() -> list[tuple[bool, str]]:
                async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(host_b)),
                                             base_url="http://b") as client:
                    async def read(n: int) -> tuple[bool, str]:
                        named = n % 10 == 5
                        headers = {"Registry-Position": later_position} if named else {}
                        return named, (await client.get(other, headers=headers)).json()["status"]
                    return await asyncio.gather(*(read(n) for n in range(40)))

            seen = asyncio.run(mixed())
        finally:
            standby(replica, "SELECT pg_wal_replay_resume()")
        assert {answer for named, answer in seen if named} == {"revoked"}, seen
        assert {answer for named, answer in seen if not named} == {"active"}, seen

        # Not a position: a precise refusal naming the header.
        refused = b.get(status, headers={"Registry-Position": "-1"})
        assert refused.status_code == 400 and "Registry-Position" in refused.text
        refused = b.get(status, headers={"Registry-Position": "9" * 25})
        assert refused.status_code == 400 and "Registry-Position" in refused.text


def test_with_remote_apply_a_write_on_any_host_is_read_from_the_standby(clusters, open_registry, worker):
    """synchronous_commit = remote_apply: a write is acknowledged once the standby has replayed it, so
    a read naming no position, on another host, already reflects it, from the standby."""
    primary, replica = clusters
    with psycopg.connect(primary.dsn, autocommit=True) as connection:
        connection.execute("ALTER SYSTEM SET synchronous_standby_names = '*'")
        connection.execute("ALTER SYSTEM SET synchronous_commit = 'remote_apply'")
        connection.execute("SELECT pg_reload_conf()")
    try:
        caught_up(primary, replica)
        host_a = open_registry(REGISTRY_DATABASE_URL=primary.dsn)
        host_b = open_registry(REGISTRY_DATABASE_URL=primary.dsn, REGISTRY_REPLICA_DATABASE_URL=replica.dsn,
                               REGISTRY_REPLICA_WAIT_SECONDS=str(WAIT))
        slugs = [f"org{n}" for n in range(5)]
        for slug in slugs:
            host_a.commands.issuers.register(slug=slug, name=slug.upper(), actor=OPERATOR)
            assert host_b.queries.issuer(slug).slug == slug  # no position named, none needed
        assert host_b.queries.answered == {"replica": 5, "primary": 0}
    finally:
        with psycopg.connect(primary.dsn, autocommit=True) as connection:
            connection.execute("ALTER SYSTEM RESET synchronous_standby_names")
            connection.execute("ALTER SYSTEM RESET synchronous_commit")
            connection.execute("SELECT pg_reload_conf()")


def test_without_the_standby_the_primary_answers(clusters, open_registry, worker):
    primary, replica = clusters
    host = open_registry(REGISTRY_DATABASE_URL=primary.dsn, REGISTRY_REPLICA_DATABASE_URL=replica.dsn,
                         REGISTRY_REPLICA_WAIT_SECONDS=str(WAIT))
    host.commands.issuers.register(slug="later", name="Later", actor=OPERATOR)
    replica.stop()
    try:
        assert host.queries.issuer("later").slug == "later"
        assert host.queries.answered["primary"] == 1
    finally:
        replica.start()
    caught_up(primary, replica)


def test_a_replica_setting_is_checked_at_start(clusters, open_registry, tmp_path):
    primary, replica = clusters
    with pytest.raises(ConfigurationError, match="REGISTRY_REPLICA_DATABASE_URL: a replica serves a PostgreSQL"):
        open_registry(REGISTRY_REPLICA_DATABASE_URL=replica.dsn)
    unreachable = replica.dsn.replace(f":{replica.port}/", ":1/")
    with pytest.raises(ConfigurationError, match="REGISTRY_REPLICA_DATABASE_URL: cannot connect"):
        open_registry(REGISTRY_DATABASE_URL=primary.dsn, REGISTRY_REPLICA_DATABASE_URL=unreachable)
    with pytest.raises(ConfigurationError, match="REGISTRY_REPLICA_WAIT_SECONDS"):
        open_registry(REGISTRY_DATABASE_URL=primary.dsn, REGISTRY_REPLICA_DATABASE_URL=replica.dsn,
                      REGISTRY_REPLICA_WAIT_SECONDS="inf")
