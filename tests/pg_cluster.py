"""A PostgreSQL cluster of a test's own, which it may stop (`pg_ctl -m immediate`: a crash, as far
as clients can tell) and start again on the same port, without disturbing the session's shared
server. Durable as a deployment is (PostgreSQL's defaults: fsync and synchronous_commit on): a
crash must not lose what was acknowledged. Debian's binaries; under root the server runs as
`postgres` (initdb refuses root)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import port_for
import psycopg
import pytest

from conftest import find_pg_ctl

SUPERUSER = "postgres"


class Cluster:
    def __init__(self) -> None:
        pg_ctl = find_pg_ctl()
        if pg_ctl is None:
            raise RuntimeError("no PostgreSQL server binaries (pg_ctl)")
        self.bin = Path(pg_ctl).parent
        self.root = Path(tempfile.mkdtemp(prefix="registry-pg-own-"))
        self.as_owner: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam(SUPERUSER)
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self.as_owner = ["runuser", "-u", SUPERUSER, "--"]
        self.data, self.log = self.root / "data", self.root / "postgresql.log"
        self.port = port_for.select_random()
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--no-sync")

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([*self.as_owner, str(self.bin / tool), *args], check=check,
                              capture_output=True, text=True, timeout=120)

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o",
                  f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root}", "start")

    def stop(self, mode: str = "immediate") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def create_database(self, name: str) -> str:
        with psycopg.connect(host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres",
                             autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{name}"

    def remove(self) -> None:
        self.stop("fast")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def own_cluster():
    """A started cluster for the module's tests, removed afterwards."""
    cluster = Cluster()
    cluster.start()
    yield cluster
    cluster.remove()
