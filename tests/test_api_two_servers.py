"""Two `registry serve` processes on one PostgreSQL database serve consistent answers: a credential
issued and revoked through one is revoked through the other once the other's projections have
reached the revocation's position, and both send the same bytes (the same ETag) for it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

PUBLIC_URL = "https://badges.test"
START_SECONDS = 30.0
VISIBLE_SECONDS = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def shared_env(pg_database, tmp_path: Path) -> dict[str, str]:
    """One PostgreSQL database and one key directory; each process has its own home."""
    environ = {k: v for k, v in os.environ.items() if k not in ("REGISTRY_KEYSTORE_PASSPHRASE",)}
    return {**environ, "REGISTRY_DATABASE_URL": pg_database.dsn, "REGISTRY_KEYS": str(tmp_path / "keys"),
            "REGISTRY_PUBLIC_URL": PUBLIC_URL, "REGISTRY_HOME": str(tmp_path / "home")}


def cli(env: dict[str, str], *argv: str) -> str:
    done = subprocess.run([sys.executable, "-m", "registry.cli", *argv], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, f"registry {' '.join(argv)}: {done.stderr.strip()}"
    return done.stdout


@contextmanager
def serving(env: dict[str, str], name: str, tmp_path: Path, port: int | None = None) -> Iterator[httpx.Client]:
    """A `registry serve` subprocess on `port` (a free one by default), stopped on exit."""
    port = port or free_port()
    log = (tmp_path / f"serve-{name}.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "registry.cli", "serve", "--port", str(port), "--log-level", "warning"],
        env={**env, "REGISTRY_HOME": str(tmp_path / f"home-{name}")}, stdout=log, stderr=subprocess.STDOUT)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            deadline = time.monotonic() + START_SECONDS
            while True:
                try:
                    client.get("/projections").raise_for_status()
                    break
                except httpx.TransportError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        log.flush()
                        pytest.fail(f"server {name} did not start: "
                                    f"{(tmp_path / f'serve-{name}.log').read_text()[-2000:]}")
                    time.sleep(0.2)
            yield client
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def position_of(client: httpx.Client, projection: str) -> int:
    positions = {p["name"]: p["position"] for p in client.get("/projections").json()}
    return positions[projection]


def test_a_revocation_through_one_server_is_visible_through_the_other(shared_env, tmp_path):
    admin = cli(shared_env, "apikey", "create", "--admin").splitlines()[-1]
    with ExitStack() as servers:
        a = servers.enter_context(serving(shared_env, "a", tmp_path))
        b = servers.enter_context(serving(shared_env, "b", tmp_path))
        auth = {"Authorization": f"Bearer {admin}"}
        assert a.post("/issuers", json={"slug": "acme", "name": "Acme"}, headers=auth).status_code == 201
        issuer_key = cli(shared_env, "apikey", "create", "acme").splitlines()[-1]
        auth = {"Authorization": f"Bearer {issuer_key}"}  # the issuer's key works on both servers
        achievement = b.post("/achievements", headers=auth, json={"definition": {
            "name": "Teamwork", "description": "d", "criteria": {"narrative": "n"}}})
        assert achievement.status_code == 201, achievement.text
        issued = a.post("/credentials", headers=auth, json={
            "recipient": "ada@example.org", "achievement": achievement.json()["id"]})
        assert issued.status_code == 201, issued.text
        status = f"/credentials/{issued.json()['id']}/status"
        before = b.get(status)
        assert before.status_code == 200 and before.json()["status"] == "active"
        entry = issued.json()["document"]["credentialStatus"]
        listed = entry["statusListCredential"].removeprefix(PUBLIC_URL)
        list_before = b.get(listed)
        assert list_before.status_code == 200
        assert b.get(listed, headers={"If-None-Match": list_before.headers["etag"]}).status_code == 304

        revoked = a.post(f"{status.removesuffix('/status')}/revoke", headers=auth, json={"reason": "in error"})
        assert revoked.status_code == 200, revoked.text
        revocation = revoked.json()["position"]
        # The signed list B serves after the revocation was acknowledged already has it: B serves
        # cached bytes only while the log has not moved.
        from registry.vc import status_list
        list_after = b.get(listed, headers={"If-None-Match": list_before.headers["etag"]})
        assert list_after.status_code == 200 and list_after.headers["etag"] != list_before.headers["etag"]
        bits = status_list.decode(list_after.json()["credentialSubject"]["encodedList"])
        assert status_list.is_set(bits, int(entry["statusListIndex"]))

        deadline = time.monotonic() + VISIBLE_SECONDS
        while True:
            reached = position_of(b, "credentials") >= revocation
            answer = b.get(status)
            if reached:
                break
            assert time.monotonic() < deadline, (
                f"B's credentials projection stayed below the revocation's position {revocation}")
            time.sleep(0.05)
        assert answer.status_code == 200
        assert (answer.json()["status"], answer.json()["reason"], answer.json()["valid"]) == ("revoked", "in error", False)
        assert answer.headers["etag"] != before.headers["etag"]
        through_a = a.get(status)
        assert through_a.content == answer.content and through_a.headers["etag"] == answer.headers["etag"]
        assert b.get(status, headers={"If-None-Match": through_a.headers["etag"]}).status_code == 304
