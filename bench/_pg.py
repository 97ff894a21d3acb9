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


@contextmanager
def throwaway_postgres(bin_dir: Path | None = None) -> Iterator[str]:
    """The URL of an empty database on a fresh local cluster, stopped and removed on exit."""
    bin_dir = bin_dir or find_bin_dir()
    if bin_dir is None:
        raise RuntimeError("no PostgreSQL server binaries (pg_ctl) in /usr/lib/postgresql/*/bin or on PATH")
    root = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    as_owner: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam(SUPERUSER)
        os.chown(root, owner.pw_uid, owner.pw_gid)
        as_owner = ["runuser", "-u", SUPERUSER, "--"]
    data, log, port = root / "data", root / "postgresql.log", free_port()

    def pg(*command: str, check: bool = True) -> None:
        subprocess.run([*as_owner, *command], check=check, capture_output=True, text=True)

    try:
        pg(str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8",
           "--no-sync")  # initdb's own fsyncs only slow set-up; the server itself stays durable
        try:
            pg(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
               "-o", f"-c listen_addresses=127.0.0.1 -p {port} -k {root}", "start")
            with psycopg.connect(host="127.0.0.1", port=port, user=SUPERUSER, dbname="postgres",
                                 autocommit=True) as connection:
                connection.execute(f"CREATE DATABASE {DATABASE}")
            yield f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{DATABASE}"
        finally:
            # Also after a failed or timed-out start: a half-started server must not outlive us.
            pg(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop", check=False)
    except subprocess.CalledProcessError as exc:
        tail = log.read_text()[-2000:] if log.exists() else ""
        raise RuntimeError(f"{' '.join(map(str, exc.cmd))} failed: {exc.stderr.strip()}\n{tail}") from None
    finally:
        shutil.rmtree(root, ignore_errors=True)
