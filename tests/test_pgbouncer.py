"""The registry through PgBouncer (Debian's pgbouncer) in session pooling, as deploy/compose.yaml runs it:
writes, reads, verification, the HTTP API, the transparency log and a projection follower that LISTENs
for new events all work through the pooler, and a second registry process sees the first one's writes.
(Session pooling, because the follower's LISTEN and psycopg's prepared statements need a session;
deploy/README.md says so.) Without pgbouncer the test is skipped with the reason; in CI it fails."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from litestar.testing import TestClient

from registry.api import create_app
from registry.commands import Actor, Award

PGBOUNCER = "/usr/sbin/pgbouncer"
OPERATOR = Actor("test")


@pytest.fixture
def store_kind() -> str:
    return "postgres"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def pooled_dsn(pg_database):
    if not Path(PGBOUNCER).is_file():
        if os.environ.get("CI") == "true":
            pytest.fail("pgbouncer is not installed (apt-get install pgbouncer)")
        pytest.skip("pgbouncer is not installed (apt-get install pgbouncer)")
    # Its own directory straight under /tmp: pgbouncer runs as the cluster's user, who cannot enter
    # pytest's root-only temporary tree.
    home = Path(tempfile.mkdtemp(prefix="registry-pgbouncer-"))
    port = free_port()
    (home / "users.txt").write_text(f'"{pg_database.user}" ""\n')
    (home / "pgbouncer.ini").write_text(f"""[databases]
{pg_database.dbname} = host={pg_database.host} port={pg_database.port} dbname={pg_database.dbname}
{pg_database.dbname}_tx = host={pg_database.host} port={pg_database.port} dbname={pg_database.dbname} pool_mode=transaction pool_size=2

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {home / 'users.txt'}
pool_mode = session
max_client_conn = 200
default_pool_size = 40
logfile = {home / 'pgbouncer.log'}
pidfile = {home / 'pgbouncer.pid'}
""")
    argv = [PGBOUNCER, str(home / "pgbouncer.ini")]
    if os.geteuid() == 0:  # pgbouncer refuses to run as root: as the cluster's own user
        owner = pwd.getpwnam("postgres")
        shutil.chown(home, owner.pw_uid, owner.pw_gid)
        for name in ("users.txt", "pgbouncer.ini"):
            shutil.chown(home / name, owner.pw_uid, owner.pw_gid)
        argv = [PGBOUNCER, "-u", "postgres", str(home / "pgbouncer.ini")]
    server = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                log = (home / "pgbouncer.log").read_text() if (home / "pgbouncer.log").exists() else ""
                pytest.fail(f"pgbouncer did not start: {server.stdout.read().decode()[-1000:]} {log[-1000:]}")
            time.sleep(0.05)
    try:
        yield f"postgresql://{pg_database.user}@127.0.0.1:{port}/{pg_database.dbname}"  # + "_tx": transaction pooling
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(home, ignore_errors=True)


def test_the_registry_works_through_pgbouncer_in_session_pooling(open_registry, pooled_dsn, registry_environ):
    registry = open_registry(REGISTRY_DATABASE_URL=pooled_dsn)
    issued = seeded(registry)
    with TestClient(create_app(registry)) as client:
        assert client.get(f"/credentials/{issued[0].id}/status").json()["status"] == "revoked"
        for _ in range(6):  # psycopg prepares a statement it runs five times: through the pooler too
            assert client.get(f"/credentials/{issued[1].id}/status").json()["status"] == "active"
        assert client.get("/status-lists/acme/1").status_code == 200
        assert client.post("/verify", json=issued[1].document).json()["verdict"] == "VALID"
        assert client.get("/readyz").status_code == 200
    assert registry.queries.log.verify_all() is not None

    # A projection follower in another process, through the pooler: it LISTENs, and catches up a
    # write made after it started.
    env = {**os.environ, **registry_environ, "REGISTRY_DATABASE_URL": pooled_dsn}
    a_follower_applies_a_later_write(registry, issued, env)


def test_transaction_pooling_with_a_session_for_what_needs_one(open_registry, pooled_dsn, registry_environ):
    """REGISTRY_DATABASE_URL through PgBouncer's transaction pooling (two server connections for all
    of the registry's plain-SQL connections), REGISTRY_SESSION_DATABASE_URL through its session
    pooling for the event store (the library prepares statements) and a follower's LISTEN.
    Concurrent readers run each statement far more than psycopg's five times before it prepares:
    a prepared statement on one server connection would be missing on the next."""
    env = {"REGISTRY_DATABASE_URL": pooled_dsn + "_tx", "REGISTRY_SESSION_DATABASE_URL": pooled_dsn}
    registry = open_registry(**env)
    issued = seeded(registry)
    failures: list[str] = []

    with TestClient(create_app(registry)) as client:
        def read(n: int) -> None:
            for _ in range(25):
                answer = client.get(f"/credentials/{issued[1 + n % 7].id}/status")
                if answer.status_code != 200 or answer.json()["status"] != "active":
                    failures.append(answer.text)
                    return

        readers = [threading.Thread(target=read, args=(n,)) for n in range(6)]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join(timeout=60)
        assert not failures, failures[:3]
        assert client.get(f"/credentials/{issued[0].id}/status").json()["status"] == "revoked"
        assert client.get("/status-lists/acme/1").status_code == 200
        assert client.post("/verify", json=issued[1].document).json()["verdict"] == "VALID"
        assert client.get("/readyz").status_code == 200
    assert registry.queries.log.verify_all() is not None

    a_follower_applies_a_later_write(registry, issued, {**os.environ, **registry_environ, **env})


def seeded(registry) -> list:
    """An organisation, an achievement, eight credentials, the first revoked."""
    commands = registry.commands
    commands.issuers.register(slug="acme", name="Acme Academy", actor=OPERATOR)
    badge = commands.achievements.define(issuer="acme", actor=OPERATOR, definition={
        "name": "Welding", "description": "Welds.", "criteria": {"narrative": "Passed."}}).id
    issued = [commands.credentials.issue(Award(f"l{n}@example.org", badge, "8"), actor=OPERATOR) for n in range(8)]
    commands.credentials.revoke(issued[0].id, reason="in error", actor=OPERATOR)
    return issued


def a_follower_applies_a_later_write(registry, issued: list, env: dict[str, str]) -> None:
    """`registry projections run` in another process (environment `env`) LISTENs and applies a
    revocation made after it started: woken by NOTIFY, not by a read (nothing here reads through
    the read models: the positions are looked at as they are)."""
    follower = subprocess.Popen([sys.executable, "-m", "registry.cli", "projections", "run"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)
        position = registry.commands.credentials.revoke(issued[2].id, reason="also in error", actor=OPERATOR).position
        deadline = time.monotonic() + 15
        while (reached := {p.name: p.position for p in registry.queries.read_model.runner.status()}["credentials"]) \
                < position:
            assert follower.poll() is None, follower.stderr.read()
            assert time.monotonic() < deadline, f"the follower stayed at {reached}, below {position}"
            time.sleep(0.2)
    finally:
        follower.terminate()
        follower.wait(timeout=20)
