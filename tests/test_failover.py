"""Failover on PostgreSQL: a primary with a streaming replica made by `pg_basebackup -R` and synchronous
replication (synchronous_commit on, synchronous_standby_names '*'); credentials are issued in a loop;
the primary's postmaster is killed with SIGKILL in the middle; the replica is promoted. Every credential
the registry acknowledged is in the promoted store, the transparency log still verifies from the first
leaf, and the registry writes again on the new primary. Without PostgreSQL's server binaries the test
is skipped with the reason; in CI it fails."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import UUID

import pytest

from conftest import find_pg_ctl
from registry.commands import Actor, Award

OPERATOR = Actor("test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self, bin_dir: Path, root: Path, name: str) -> None:
        self.bin_dir, self.data, self.port = bin_dir, root / name, free_port()
        self.socket_dir, self.log = root, root / f"{name}.log"

    def run(self, program: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        argv = [str(self.bin_dir / program), *args]
        if os.geteuid() == 0:  # the server refuses root: as the cluster's own user
            argv = ["runuser", "-u", "postgres", "--", *argv]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=True)

    def configure(self, **settings: str) -> None:
        lines = "".join(f"{k} = {v}\n" for k, v in {"port": str(self.port), "listen_addresses": "'127.0.0.1'",
                                                     "unix_socket_directories": f"'{self.socket_dir}'", **settings}.items())
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(lines)

    def start(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "start")

    def stop(self) -> None:
        try:
            self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=30)
        except subprocess.CalledProcessError:
            pass  # already gone

    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().splitlines()[0])

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"


@contextmanager
def streaming_pair(prefix: str, *, synchronous: bool) -> Iterator[tuple[Cluster, Cluster]]:
    """A primary and a hot standby made from it by `pg_basebackup -R`, streaming; with `synchronous`
    a commit returns once the standby has the WAL (synchronous_standby_names '*'). Both stopped and
    removed on exit. Without server binaries: skipped, or failed in CI."""
    pg_ctl = find_pg_ctl()
    if pg_ctl is None:
        if os.environ.get("CI") == "true":
            pytest.fail("no PostgreSQL server binaries (pg_ctl)")
        pytest.skip("no PostgreSQL server binaries (pg_ctl)")
    root = Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
    bin_dir = Path(pg_ctl).parent
    primary, replica = Cluster(bin_dir, root, "primary"), Cluster(bin_dir, root, "replica")
    try:
        primary.run("initdb", "-D", str(primary.data), "--auth=trust", "-U", "postgres")
        settings = {"wal_level": "replica", "max_wal_senders": "5", "fsync": "off"}
        if synchronous:
            settings.update(synchronous_commit="on", synchronous_standby_names="'*'")
        primary.configure(**settings)
        primary.start()
        replica.run("pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
                    "-D", str(replica.data), "-R", "-X", "stream")
        # Its own port and socket directory, not the primary's it was copied with; promoted, it
        # must not wait for a standby of its own.
        replica.configure(synchronous_standby_names="''")
        replica.start()
        deadline = time.monotonic() + 30
        while synchronous and "sync" not in primary.run(
                "psql", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
                "-tAc", "SELECT sync_state FROM pg_stat_replication").stdout:
            assert time.monotonic() < deadline, "the replica never became a synchronous standby"
            time.sleep(0.2)
        yield primary, replica
    finally:
        replica.stop()
        primary.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def clusters():
    with streaming_pair("registry-failover-", synchronous=True) as pair:
        yield pair


@pytest.fixture
def store_kind() -> str:
    return "sqlite"  # the environment's store is replaced by the clusters' below


def test_promoting_the_synchronous_replica_loses_no_acknowledged_credential(clusters, open_registry):
    primary, replica = clusters
    registry = open_registry(REGISTRY_DATABASE_URL=primary.dsn)
    registry.commands.issuers.register(slug="acme", name="Acme Academy", actor=OPERATOR)
    badge = registry.commands.achievements.define(issuer="acme", actor=OPERATOR, definition={
        "name": "Welding", "description": "Welds.", "criteria": {"narrative": "Passed."}}).id
    acknowledged: list[str] = []
    stop = threading.Event()

    def load() -> None:
        n = 0
        while not stop.is_set():
            try:
                acknowledged.append(registry.commands.credentials.issue(
                    Award(f"l{n}@example.org", badge, "8"), actor=OPERATOR).id)
            except Exception:  # the primary is gone: nothing more is acknowledged
                time.sleep(0.05)
            n += 1

    loader = threading.Thread(target=load, daemon=True)
    loader.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < 20:  # mid-load
        assert time.monotonic() < deadline and loader.is_alive(), "the load did not get going"
        time.sleep(0.05)
    os.kill(primary.postmaster_pid(), signal.SIGKILL)
    killed_at = time.monotonic()
    time.sleep(1.0)
    stop.set()
    loader.join(timeout=30)
    taken = list(acknowledged)
    registry.close()

    replica.run("pg_ctl", "-D", str(replica.data), "-w", "promote")
    promoted = open_registry(REGISTRY_DATABASE_URL=replica.dsn)
    healthy_after = time.monotonic() - killed_at
    missing = [c for c in taken if promoted.store.created(UUID(c)) is None]
    assert not missing, f"{len(missing)} of {len(taken)} acknowledged credentials are not in the promoted store"
    assert promoted.queries.log.verify_all() is not None  # every leaf, every signed checkpoint
    after = promoted.commands.credentials.issue(Award("after@example.org", badge, "9"), actor=OPERATOR)
    assert promoted.queries.verify(after.document).verdict == "VALID"
    assert healthy_after < 60
    promoted.close()
