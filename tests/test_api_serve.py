"""`registry apikey` and `registry serve` through the command line: a key is printed once, on the
last line, and only its hash is stored; `serve` answers over HTTP from uvicorn with the same store
(SQLite and PostgreSQL), and a key made by the CLI authenticates writes there."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from registry.cli import main

PUBLIC_URL = "https://badges.test"


@pytest.fixture
def cli_env(monkeypatch, tmp_path, registry_environ) -> dict[str, str]:
    """The test's store (SQLite or PostgreSQL, `registry_environ`) as the command line sees it."""
    env = dict(registry_environ)
    assert env["REGISTRY_PUBLIC_URL"] == PUBLIC_URL
    for name in ("REGISTRY_DATABASE_URL", "REGISTRY_KEYSTORE_PASSPHRASE", "REGISTRY_API_RATE_PER_MINUTE",
                 "REGISTRY_API_BURST"):
        if name not in env:
            monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    return env


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_apikey_create_prints_the_key_once_and_stores_only_its_hash(cli_env, capsys, raw_db):
    assert run(capsys, "issuer", "register", "--slug", "acme", "--name", "Acme")[0] == 0
    code, out, _ = run(capsys, "apikey", "create", "acme")
    assert code == 0
    key = out.splitlines()[-1]
    assert key.startswith("rk_") and len(key) == 3 + 43
    rows = raw_db.execute("SELECT id, hash, issuer FROM api_keys")
    assert rows == [(key[:11], hashlib.sha256(key.encode()).hexdigest(), "acme")]
    code, out, _ = run(capsys, "apikey", "create", "--admin", "--json")
    assert json.loads(out.splitlines()[0])["scope"] == "admin" and out.splitlines()[-1].startswith("rk_")
    listed = json.loads(run(capsys, "apikey", "list", "--json")[1])
    assert sorted(k["scope"] for k in listed) == ["acme", "admin"] and key not in json.dumps(listed)
    assert run(capsys, "apikey", "revoke", key[:11])[0] == 0
    code, _, err = run(capsys, "apikey", "revoke", key[:11])
    assert code == 2 and err.startswith("registry: ") and "already revoked" in err
    code, _, err = run(capsys, "apikey", "create", "nobody")
    assert code == 2 and "nobody" in err
    code, _, err = run(capsys, "apikey", "create")
    assert code == 2 and "slug or --admin" in err


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_over_http_with_keys_from_the_cli(cli_env, capsys):
    assert run(capsys, "issuer", "register", "--slug", "acme", "--name", "Acme")[0] == 0
    key = run(capsys, "apikey", "create", "acme")[1].splitlines()[-1]
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "registry.cli", "serve", "--port", str(port), "--workers", "2",
         "--log-level", "warning"],
        env={**os.environ, **cli_env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(f"{base}/issuers/acme/did.json", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, "serve did not start"
                time.sleep(0.2)
        assert response.status_code == 200 and response.json()["id"] == "did:web:badges.test:issuers:acme"
        defined = httpx.post(f"{base}/achievements", headers={"Authorization": f"Bearer {key}"}, json={
            "definition": {"name": "Teamwork", "description": "d", "criteria": {"narrative": "n"}}})
        assert defined.status_code == 201, defined.text
        assert httpx.get(f"{base}/achievements/{defined.json()['id']}").json()["name"] == "Teamwork"
    finally:
        server.terminate()
        server.wait(timeout=20)
