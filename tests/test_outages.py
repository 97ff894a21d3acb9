"""A PostgreSQL restart under a running registry (`registry serve` with two workers and a
`registry projections run` follower, real processes on 127.0.0.1, a cluster of the test's own
stopped with `pg_ctl -m immediate`): during the outage reads and writes are answered 503 with
Retry-After, never a bare 500; once the server is back every worker answers again by itself within
seconds, the follower is still running, and what was acknowledged is what is stored."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from pg_cluster import own_cluster  # noqa: F401
from test_api_support import api, api_factory  # noqa: F401
from test_api_two_servers import cli, free_port

PUBLIC_URL = "https://badges.test"
RECOVERY_BOUND_SECONDS = 20  # the bound a test can hold on a loaded machine; bench/faults.py measures it


def environment(url: str, tmp_path: Path) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    return {**environ, "REGISTRY_DATABASE_URL": url, "REGISTRY_KEYS": str(tmp_path / "keys"),
            "REGISTRY_PUBLIC_URL": PUBLIC_URL, "REGISTRY_HOME": str(tmp_path / "home"),
            "REGISTRY_API_RATE_PER_MINUTE": "100000"}


def start(env: dict[str, str], tmp_path: Path, name: str, *argv: str) -> subprocess.Popen:
    log = (tmp_path / f"{name}.log").open("w")
    return subprocess.Popen([sys.executable, "-m", "registry.cli", *argv], env=env, stdout=log,
                            stderr=subprocess.STDOUT)


def wait_until(condition, seconds: float, what: str) -> float:
    started = time.monotonic()
    while True:
        try:
            if condition():
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        if time.monotonic() - started > seconds:
            raise AssertionError(f"{what}: not within {seconds} s")
        time.sleep(0.1)


def test_a_postgresql_restart_is_answered_503_and_recovered_from_by_itself(own_cluster, tmp_path):
    cluster = own_cluster
    env = environment(cluster.create_database("restart"), tmp_path)
    cli(env, "init")
    cli(env, "issuer", "register", "--slug", "acme", "--name", "Acme")
    key = cli(env, "apikey", "create", "acme").splitlines()[-1]
    port = free_port()
    server = start(env, tmp_path, "serve", "serve", "--port", str(port), "--workers", "2", "--log-level", "warning")
    follower = start(env, tmp_path, "follower", "projections", "run", "--poll", "0.2")
    auth = {"Authorization": f"Bearer {key}"}
    answers: list[int] = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            wait_until(lambda: client.get("/projections").status_code == 200, 30, "serve started")
            badge = client.post("/achievements", headers=auth, json={"definition": {
                "name": "Teamwork", "description": "d", "criteria": {"narrative": "n"}}}).json()["id"]
            acknowledged = [client.post("/credentials", headers=auth, json={
                "recipient": f"l{i}@example.org", "achievement": badge}).json()["id"] for i in range(3)]

            cluster.stop("immediate")
            read = client.get(f"/credentials/{acknowledged[0]}/status")
            write = client.post("/credentials", headers=auth, json={
                "recipient": "outage@example.org", "achievement": badge})
            answers += [read.status_code, write.status_code]
            for response in (read, write):
                assert response.status_code == 503, response.text[:300]
                assert response.headers["content-type"].startswith("application/problem+json")
                assert int(response.headers["retry-after"]) >= 1
                assert "database is unavailable" in response.json()["detail"]

            cluster.start()
            # Recovered: several answers in a row (both workers), reads and writes.
            def healthy() -> bool:
                codes = [client.get(f"/credentials/{c}/status").status_code for c in acknowledged * 2]
                answers.extend(codes)
                return all(code == 200 for code in codes)

            # ...and a write, sent as a client does: with an Idempotency-Key, again after a 503
            # (the event store's pool may still be reconnecting for the first seconds)
            written: list = []

            def writes() -> bool:
                after = client.post("/credentials", json={"recipient": "after@example.org", "achievement": badge},
                                    headers={**auth, "Idempotency-Key": "after-the-restart"})
                answers.append(after.status_code)
                written.append(after)
                return after.status_code == 201

            recovered = wait_until(healthy, RECOVERY_BOUND_SECONDS, "reads recovered after the restart")
            recovered += wait_until(writes, RECOVERY_BOUND_SECONDS, "writes recovered after the restart")
            acknowledged.append(written[-1].json()["id"])
            assert follower.poll() is None, (tmp_path / "follower.log").read_text()[-2000:]
            wait_until(lambda: all(p["lag"] == 0 for p in client.get("/projections").json()), 20,
                       "the follower caught up")
            for credential in acknowledged:
                assert client.get(f"/credentials/{credential}/status").json()["status"] == "active"
    finally:
        follower.send_signal(signal.SIGTERM)
        server.terminate()
        follower.wait(timeout=20)
        server.wait(timeout=20)
    assert not [code for code in answers if code >= 500 and code != 503], answers
    # The writes refused during the outage stored nothing: the log holds exactly what was acknowledged.
    issued = [line for line in cli(env, "export").splitlines() if "Credential.Issued" in line]
    assert len(issued) == len(acknowledged), (len(issued), acknowledged)
    print(f"recovered {recovered:.2f} s after the server was back")
    assert recovered < RECOVERY_BOUND_SECONDS


@pytest.mark.parametrize("store_kind", ["sqlite"])
def test_a_sqlite_file_locked_by_another_process_is_answered_503_and_nothing_is_stored(api, registry_environ):
    acme = api.register("acme")
    badge = api.define(acme)
    assert api.client.get("/issuers/acme").status_code == 200  # the read models are current
    before = api.registry.store.max_position()
    holder = sqlite3.connect(Path(registry_environ["REGISTRY_HOME"]) / "registry.sqlite", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holding the write lock (a backup, a stuck tool)
    try:
        refused = api.post("/credentials", {"recipient": "ada@example.org", "achievement": badge}, acme)
        assert refused.status_code == 503, refused.text[:300]
        assert int(refused.headers["retry-after"]) >= 1 and "database is locked" in refused.json()["detail"]
        assert api.client.get("/issuers/acme").status_code == 200  # reads of current read models go on
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert api.registry.store.max_position() == before
    assert api.post("/credentials", {"recipient": "ada@example.org", "achievement": badge}, acme).status_code == 201
