"""Fault injection, bounded in time, against real processes on 127.0.0.1: `registry serve` (two
uvicorn workers) and a `registry projections run` follower, while a client sends single writes and
batches, each with an Idempotency-Key and retried until acknowledged (as a client should). At
random moments (a seeded generator) a serve worker is killed with SIGKILL (uvicorn starts a new
one), the follower is killed with SIGKILL and started again, and on PostgreSQL the server is stopped
with `pg_ctl -m immediate` and started again.

Afterwards: every retry converged; the credentials stored are exactly those acknowledged, once
each; no answer was a 5xx other than 503; the projections equal a rebuild from the log."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psycopg
import pytest

from pg_cluster import Cluster, own_cluster  # noqa: F401
from test_api_two_servers import cli, free_port

PUBLIC_URL = "https://badges.test"
SEED = 20261129
WRITES = 28  # logical writes: every fourth a batch of BATCH credentials
BATCH = 15
FAULT_CHANCE = 0.3  # of a fault landing during each write
EXPIRY_SECONDS = 3  # claims left by a killed worker are taken over after this (default 120)
PROJECTION_TABLES = ("issuers", "achievements", "achievement_versions", "credential_status",
                     "credential_status_changes", "status_lists", "endorsements", "issuer_keys", "trust_anchors")


def children(pid: int) -> list[int]:
    """The worker processes uvicorn's supervisor runs (Linux: /proc)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            if b"resource_tracker" not in cmdline:
                found.append(int(child))
    return found


class Faults:
    def __init__(self, env: dict[str, str], tmp_path: Path, cluster: Cluster | None) -> None:
        self.env, self.tmp_path, self.cluster = env, tmp_path, cluster
        self.port = free_port()
        self.server = self._start("serve", "serve", "--port", str(self.port), "--workers", "2", "--log-level", "warning")
        self.follower = self._start("follower", "projections", "run", "--poll", "0.2")
        self.injected: dict[str, int] = {}

    def _start(self, name: str, *argv: str) -> subprocess.Popen:
        log = (self.tmp_path / f"{name}.log").open("a")
        return subprocess.Popen([sys.executable, "-m", "registry.cli", *argv], env=self.env, stdout=log,
                                stderr=subprocess.STDOUT)

    def inject(self, rng: random.Random) -> None:
        # Each kind in turn (every run meets them all); when, and which worker, is left to chance.
        kinds = ["worker", "follower", "worker"] + (["database"] if self.cluster else [])
        kind = kinds[sum(self.injected.values()) % len(kinds)]
        if kind == "worker":
            workers = children(self.server.pid)
            if not workers:
                return
            os.kill(rng.choice(workers), signal.SIGKILL)
        elif kind == "follower":
            self.follower.kill()
            self.follower.wait()
            self.follower = self._start("follower", "projections", "run", "--poll", "0.2")
        else:
            self.cluster.stop("immediate")
            time.sleep(rng.uniform(0.2, 1.0))
            self.cluster.start()
        self.injected[kind] = self.injected.get(kind, 0) + 1

    def stop(self) -> None:
        self.follower.send_signal(signal.SIGTERM)
        self.server.terminate()
        for process in (self.follower, self.server):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


class Client:
    """Sends each logical write until it is acknowledged, as a client holding an Idempotency-Key
    should: on 503, 409 (still in progress) and lost connections it waits and sends it again."""

    def __init__(self, base: str, key: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {key}"})
        self.statuses: list[int] = []
        self.retries = 0

    def until_acknowledged(self, path: str, body: dict, idempotency_key: str, deadline: float) -> dict:
        while True:
            assert time.monotonic() < deadline, f"{path} {idempotency_key} never converged"
            try:
                response = self.http.post(path, json=body, headers={"Idempotency-Key": idempotency_key})
            except httpx.TransportError:
                self.retries += 1
                time.sleep(0.2)
                continue
            self.statuses.append(response.status_code)
            if response.status_code in (200, 201):
                return response.json()
            assert response.status_code in (409, 503), (response.status_code, response.text[:300])
            self.retries += 1
            time.sleep(min(float(response.headers.get("retry-after", "1")), 1.0))


def table_rows(env: dict[str, str]) -> dict[str, list]:
    """Every projection table's rows, in a stable order."""
    if "REGISTRY_DATABASE_URL" in env:
        with psycopg.connect(env["REGISTRY_DATABASE_URL"]) as connection:
            return {t: sorted(map(repr, connection.execute(f"SELECT * FROM {t}").fetchall())) for t in PROJECTION_TABLES}
    import sqlite3
    with sqlite3.connect(Path(env["REGISTRY_HOME"]) / "registry.sqlite") as connection:
        return {t: sorted(map(repr, connection.execute(f"SELECT * FROM {t}").fetchall())) for t in PROJECTION_TABLES}


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_acknowledged_writes_are_stored_once_whatever_is_killed(kind, request, tmp_path):
    own = request.getfixturevalue("own_cluster") if kind == "postgres" else None
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env.update({"REGISTRY_KEYS": str(tmp_path / "keys"), "REGISTRY_PUBLIC_URL": PUBLIC_URL,
                "REGISTRY_HOME": str(tmp_path / "home"), "REGISTRY_API_RATE_PER_MINUTE": "100000",
                "REGISTRY_IDEMPOTENCY_EXPIRY_SECONDS": str(EXPIRY_SECONDS)})
    if own is not None:
        env["REGISTRY_DATABASE_URL"] = own.create_database(f"faults_{os.getpid()}")
    cli(env, "init")
    cli(env, "issuer", "register", "--slug", "acme", "--name", "Acme")
    key = cli(env, "apikey", "create", "acme").splitlines()[-1]
    badge = json.loads(cli(env, "--json", "achievement", "define", "--issuer", "acme", "--name", "Teamwork",
                           "--description", "d", "--criteria", "c"))["id"]
    faults = Faults(env, tmp_path, own)
    rng, fault_rng = random.Random(SEED), random.Random(SEED + 1)
    client = Client(f"http://127.0.0.1:{faults.port}", key)
    acknowledged: list[str] = []
    timers: list[threading.Timer] = []
    lock = threading.Lock()

    def inject() -> None:
        with lock:  # one fault at a time; each lands while a write is in flight
            faults.inject(fault_rng)

    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if client.http.get("/projections").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()[-2000:]
            time.sleep(0.2)
        deadline = time.monotonic() + 300
        for n in range(WRITES):
            if rng.random() < FAULT_CHANCE:
                timers.append(threading.Timer(rng.uniform(0.0, 0.15), inject))
                timers[-1].start()
            if n % 4 == 3:
                answer = client.until_acknowledged("/credentials/batch", {"awards": [
                    {"recipient": f"b{n}-{i}@example.org", "achievement": badge} for i in range(BATCH)]},
                    f"batch-{n}", deadline)
                acknowledged += answer["ids"]
            else:
                body = {"recipient": f"s{n}@example.org", "achievement": badge}
                answer = client.until_acknowledged("/credentials", body, f"single-{n}", deadline)
                acknowledged.append(answer["id"])
                if n % 5 == 0:  # a retry of an acknowledged write gets the stored answer, writes nothing
                    assert client.until_acknowledged("/credentials", body, f"single-{n}", deadline)["id"] == answer["id"]
            for timer in timers:
                timer.join()
    finally:
        for timer in timers:
            timer.cancel()
        faults.stop()

    assert sum(faults.injected.values()) >= WRITES * FAULT_CHANCE / 2, faults.injected
    assert not [s for s in client.statuses if s >= 500 and s != 503], client.statuses
    events = [json.loads(line) for line in cli(env, "export").splitlines()]
    issued = [e for e in events if e["topic"].endswith("Credential.Issued")]
    stored = [e["originator_id"] for e in issued]
    assert len(stored) == len(set(stored)), "a credential was stored twice"
    assert sorted(stored) == sorted(acknowledged), (len(stored), len(acknowledged))
    # The projections (applied by followers killed at random points, and by readers) equal a rebuild
    cli(env, "projections", "run", "--once")
    live = table_rows(env)
    cli(env, "projections", "rebuild")
    assert table_rows(env) == live
    print(f"{kind}: faults {faults.injected}, writes {WRITES} ({len(acknowledged)} credentials), "
          f"retries {client.retries}, answers {len(client.statuses)}, "
          f"503: {client.statuses.count(503)}, 409: {client.statuses.count(409)}")
