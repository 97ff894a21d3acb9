"""`registry audit` against registries it does not run, over real HTTP on 127.0.0.1: a served
registry (incremental from its saved state), and a hostile server handing out altered tiles,
bundles and checkpoints, each refused in one line with a non-zero exit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from registry.commands import Actor, Award
from registry.log import note, tiles, tree
from registry.log.checkpoint import Checkpoint
from test_api_two_servers import free_port, serving

OPERATOR = Actor("test")


def registry_cli(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "registry.cli", *argv], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120)


def ok(env: dict[str, str], *argv: str) -> str:
    done = registry_cli(env, *argv)
    assert done.returncode == 0, f"registry {' '.join(argv)}: {done.stderr.strip()}"
    return done.stdout


def refused(env: dict[str, str], *argv: str) -> str:
    """Exit 1 and one line on stderr, never a traceback."""
    done = registry_cli(env, *argv)
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr, done.stderr
    return done.stderr


def test_an_auditor_checks_a_served_registry_and_fetches_only_what_is_new(tmp_path):
    port = free_port()
    env = {"REGISTRY_HOME": str(tmp_path / "home-audited"), "REGISTRY_KEYS": str(tmp_path / "keys"),
           "REGISTRY_PUBLIC_URL": f"http://127.0.0.1:{port}", "REGISTRY_DATABASE_URL": ""}
    ok(env, "demo")
    badge = next(json.loads(line)["originator_id"] for line in ok(env, "export").splitlines()
                 if "Achievement.Defined" in line)
    rows = "".join(f"did:example:learner-{i},{badge}\n" for i in range(40))
    (tmp_path / "batch.csv").write_text("recipient,achievement\n" + rows)
    ok(env, "issue", "--batch", str(tmp_path / "batch.csv"))
    auditor = {"REGISTRY_INSECURE_HOSTS": f"127.0.0.1:{port}", "REGISTRY_HOME": str(tmp_path / "auditor")}
    vkey = ok(env, "log", "key").strip()
    state = tmp_path / "audit-state"
    with serving(env, "audited", tmp_path, port) as client:
        first = json.loads(ok(auditor, "audit", f"http://127.0.0.1:{port}", "--key", vkey, "--state", str(state),
                              "--json"))
        assert first["consistent"] and first["size"] > tiles.WIDTH and first["bundles_fetched"] == 2
        assert first["credentials"] > 40 and first["previous_size"] == 0
        assert client.get("/log/checkpoint").headers["cache-control"].startswith("no-cache")
        assert client.get("/log/tile/entries/000").headers["cache-control"] == "public, max-age=31536000, immutable"
        assert not (tmp_path / "auditor").exists()  # the auditor keeps no store of its own
        assert oct((state / "audit-state.json").stat().st_mode & 0o777) == "0o600"
        credential = next(json.loads(line)["originator_id"] for line in ok(env, "export").splitlines()
                          if "Credential.Issued" in line)
        ok(env, "suspend", credential, "--reason", "checking")
        second = json.loads(ok(auditor, "audit", f"http://127.0.0.1:{port}", "--key", vkey, "--state", str(state),
                               "--json"))
        assert second["previous_size"] == first["size"] and second["size"] == first["size"] + 1
        assert second["bundles_fetched"] == 1  # only the bundle holding the new entry
        # the same log, offline: an export and the checkpoint give the same root
        export, checkpoint = tmp_path / "export.jsonl", tmp_path / "checkpoint"
        export.write_text(ok(env, "export"))
        checkpoint.write_text(client.get("/log/checkpoint").text)
        offline = json.loads(ok({}, "audit", "--export", str(export), "--checkpoint", str(checkpoint),
                                "--key", vkey, "--json"))
        assert offline["root"] == second["root"]


class Static(BaseHTTPRequestHandler):
    files: dict[str, tuple[str, bytes]] = {}

    def do_GET(self) -> None:  # noqa: N802
        found = self.files.get(self.path)
        if found is None:
            self.send_response(404)
            self.end_headers()
            return
        kind, body = found
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@contextmanager
def hosting(files: dict[str, tuple[str, bytes]]) -> Iterator[str]:
    handler = type("Files", (Static,), {"files": files})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


OCTETS = "application/octet-stream"
TEXT = "text/plain; charset=utf-8"


def files_of(note_text: str, size: int, bundle: bytes, leaf_tile: bytes) -> dict[str, tuple[str, bytes]]:
    return {"/log/checkpoint": (TEXT, note_text.encode()),
            f"/log/{tiles.tile_path('entries', 0, size)}": (OCTETS, bundle),
            f"/log/{tiles.tile_path(0, 0, size)}": (OCTETS, leaf_tile)}


@pytest.mark.parametrize("store_kind", ["sqlite"])
def test_a_hostile_log_server_is_refused_in_one_line(registry, tmp_path):
    registry.commands.issuers.register(slug="acme", name="Acme", url="https://acme.example", actor=OPERATOR)
    badge = registry.commands.achievements.define(issuer="acme", actor=OPERATOR, requires=[], definition={
        "name": "Teamwork", "description": "d", "criteria": {"narrative": "n"}}).id
    credential = registry.commands.credentials.issue(Award("did:example:ada", badge), actor=OPERATOR).id
    log = registry.queries.log
    earlier = log.latest()
    registry.commands.credentials.revoke(credential, reason="fraud", actor=OPERATOR)
    latest = log.latest()
    size, vkey = latest.size, log.key().vkey
    bundle, leaf_tile = log.tile("entries", 0, size), log.tile("0", 0, size)
    lines = tiles.unbundle(bundle, size)
    good = files_of(latest.note, size, bundle, leaf_tile)

    def audit(files, *extra: str) -> str:
        with hosting(files) as host:
            return refused({"REGISTRY_INSECURE_HOSTS": host}, "audit", f"http://{host}", "--key", vkey, *extra)

    with hosting(good) as host:  # the untouched copy passes
        ok({"REGISTRY_INSECURE_HOSTS": host}, "audit", f"http://{host}", "--key", vkey,
           "--state", str(tmp_path / "state"))
    assert "ends inside" in audit({**good, **files_of(latest.note, size, bundle[:-3], leaf_tile)})
    flipped = bytes([leaf_tile[0] ^ 1]) + leaf_tile[1:]
    assert "leaf 0: the level-0 tile's hash differs" in audit({**good, **files_of(latest.note, size, bundle, flipped)})
    # A rewritten entry with a tile made to match: the entries no longer give the signed root.
    rewritten = [line.replace(b'"fraud"', b'"typo"') for line in lines]
    assert rewritten != lines
    forged = files_of(latest.note, size, tiles.bundle(rewritten), b"".join(tree.leaf_hash(x) for x in rewritten))
    assert "another root" in audit(forged)
    # Signed by a key that is not the log's, under the log's name.
    body = Checkpoint.parse(latest.note[:latest.note.rfind("\n\n") + 1])
    impostor = Ed25519PrivateKey.generate()
    forged_note = note.sign(body.text, body.origin, impostor.public_key().public_bytes_raw(), impostor.sign)
    assert "no signature by" in audit({**good, "/log/checkpoint": (TEXT, forged_note.encode())})
    # The log shrank: an older signed checkpoint after the auditor saw the newer one.
    shrunk = files_of(earlier.note, earlier.size, tiles.bundle(lines[:earlier.size]),
                      leaf_tile[:earlier.size * tree.HASH_SIZE])
    assert "shrank" in audit(shrunk, "--state", str(tmp_path / "state"))
    assert "not application/octet-stream" in audit({**good, f"/log/{tiles.tile_path('entries', 0, size)}":
                                                     ("text/html", bundle)})
    assert "answered HTTP 404" in audit({"/log/checkpoint": good["/log/checkpoint"]})
