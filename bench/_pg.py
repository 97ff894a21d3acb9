"""A throwaway PostgreSQL cluster for benchmarks: initdb into a temp dir, start on 127.0.0.1 on a
free port with trust auth, hand out a postgresql:// URL, and always stop and delete it afterwards.

Server settings are PostgreSQL's defaults (fsync and synchronous_commit on), so single-credential
issuance pays a real commit, as a deployment would. initdb refuses to run as root, so under root
the server runs as the `postgres` user (via runuser) in a temp dir it owns."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

SUPERUSER = "postgres"
DATABASE = "registry_bench"


def find_bin_dir() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin (Debian's layout), else the dir of pg_ctl on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


def free_port() -> int:
    # The port may be taken between here and the server's bind; pg_ctl then fails loudly.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Cluster:
    """A throwaway cluster's handle: its URL, and stop/start for benchmarks of restarts."""

    def __init__(self, bin_dir: Path, root: Path, as_owner: list[str]) -> None:
        self.bin_dir, self.root, self.as_owner = bin_dir, root, as_owner
        self.data, self.log, self.port = root / "data", root / "postgresql.log", free_port()
        self.url = f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{DATABASE}"

    def pg(self, *command: str, check: bool = True) -> None:
        subprocess.run([*self.as_owner, *command], check=check, capture_output=True, text=True)

    def start(self) -> None:
        self.pg(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                "-o", f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root}", "start")

    def stop(self, mode: str = "fast") -> None:
        self.pg(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", check=False)


@contextmanager
def restartable_postgres(bin_dir: Path | None = None) -> Iterator[Cluster]:
    """A fresh local cluster with one empty database (`cluster.url`), stopped and removed on exit."""
    bin_dir = bin_dir or find_bin_dir()
    if bin_dir is None:
        raise RuntimeError("no PostgreSQL server binaries (pg_ctl) in /usr/lib/postgresql/*/bin or on PATH")
    root = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    as_owner: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam(SUPERUSER)
        os.chown(root, owner.pw_uid, owner.pw_gid)
        as_owner = ["runuser", "-u", SUPERUSER, "--"]
    cluster = Cluster(bin_dir, root, as_owner)
    try:
        cluster.pg(str(bin_dir / "initdb"), "-D", str(cluster.data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8",
                   "--no-sync")  # initdb's own fsyncs only slow set-up; the server itself stays durable
        try:
            cluster.start()
            with psycopg.connect(host="127.0.0.1", port=cluster.port, user=SUPERUSER, dbname="postgres",
                                 autocommit=True) as connection:
                connection.execute(f"CREATE DATABASE {DATABASE}")
            yield cluster
        finally:
            # Also after a failed or timed-out start: a half-started server must not outlive us.
            cluster.stop("fast")
    except subprocess.CalledProcessError as exc:
        tail = cluster.log.read_text()[-2000:] if cluster.log.exists() else ""
        raise RuntimeError(f"{' '.join(map(str, exc.cmd))} failed: {exc.stderr.strip()}\n{tail}") from None
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def throwaway_postgres(bin_dir: Path | None = None) -> Iterator[str]:
    """The URL of an empty database on a fresh local cluster, stopped and removed on exit."""
    with restartable_postgres(bin_dir) as cluster:
        yield cluster.url
