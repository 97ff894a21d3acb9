"""The one network client against a hostile server on 127.0.0.1: huge, slow, looping, redirecting
to private addresses, not JSON, the wrong content type. Each is refused with a one-line reason
within a bounded time, never a hang or a traceback; and a credential whose status list lives there
is INDETERMINATE."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from registry.network import FetchError, Fetcher, HttpCache, insecure_hosts
from registry.store.database import SQLiteDatabase


class Hostile(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:  # quiet
        pass

    def send(self, status: int, body: bytes = b"", kind: str = "application/json", **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        port = self.server.server_address[1]
        path = self.path
        if path == "/ok":
            self.send(200, json.dumps({"id": "fine"}).encode(), Cache_Control="max-age=60", ETag='"v1"')
        elif path == "/huge":
            self.send(200, b"[" + b"0," * 1_500_000 + b"0]")
        elif path == "/huge-chunked":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            try:
                for _ in range(400):
                    self.wfile.write(b" " * 16384)
            except OSError:
                pass
        elif path == "/slow":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            try:
                for _ in range(30):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.5)
            except OSError:
                pass
        elif path.startswith("/list-until-"):  # a list valid for the seconds its path says
            until = datetime.now(timezone.utc) + timedelta(seconds=int(path.rsplit("-", 1)[1]))
            body = {"id": path, "validUntil": until.strftime("%Y-%m-%dT%H:%M:%SZ")}
            self.send(200, json.dumps(body).encode(), Cache_Control="max-age=86400")
        elif path == "/loop":
            self.send(302, Location=f"http://127.0.0.1:{port}/loop")
        elif path == "/to-private":
            self.send(302, Location="https://10.0.0.1/status")
        elif path == "/to-loopback":
            self.send(302, Location="https://127.0.0.2:9/x")
        elif path == "/not-json":
            self.send(200, b'{"id": ')
        elif path == "/deep":
            self.send(200, b"[" * 100_000 + b"]" * 100_000)
        elif path == "/html":
            self.send(200, b"<html></html>", "text/html")
        elif path == "/gone":
            self.send(404, b"{}")
        else:
            self.send(500, b"{}")


@pytest.fixture(scope="module")
def hostile():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def fetcher(hostile: str, **options) -> Fetcher:
    return Fetcher(insecure_hosts=insecure_hosts(hostile), deadline=2.0, **options)


@pytest.mark.parametrize("path, words", [
    ("/huge", "more than 2,097,152"),
    ("/huge-chunked", "more than 2,097,152 bytes"),
    ("/slow", "did not finish within 2 s"),
    ("/loop", "redirects more than 3 times"),
    ("/to-private", "is a private or local address (10.0.0.1)"),
    ("/to-loopback", "is a private or local address (127.0.0.2)"),
    ("/not-json", "is not JSON"),
    ("/deep", "is not JSON (nested too deeply)"),
    ("/html", "content type 'text/html', not JSON"),
    ("/gone", "answered HTTP 404"),
])
def test_a_hostile_answer_is_refused_in_one_line_and_in_bounded_time(hostile, path, words):
    began = time.monotonic()
    with pytest.raises(FetchError) as refused:
        fetcher(hostile).json(f"http://{hostile}{path}", "the status list")
    assert time.monotonic() - began < 8
    reason = str(refused.value)
    assert words in reason and "\n" not in reason, reason


def test_plain_http_and_private_addresses_only_for_listed_hosts(hostile):
    assert fetcher(hostile).json(f"http://{hostile}/ok", "a document").document == {"id": "fine"}
    unlisted = Fetcher(deadline=2.0)
    with pytest.raises(FetchError, match="only https"):
        unlisted.json(f"http://{hostile}/ok", "a document")
    with pytest.raises(FetchError, match="private or local address"):
        unlisted.json(f"https://{hostile}/ok", "a document")
    with pytest.raises(FetchError, match="credentials in a URL"):
        fetcher(hostile).json(f"http://user:pw@{hostile}/ok", "a document")
    with pytest.raises(FetchError, match="offline"):
        fetcher(hostile, offline=True).json(f"http://{hostile}/ok", "a document")


def test_answers_are_cached_and_given_documents_win(hostile, tmp_path):
    cache = HttpCache(SQLiteDatabase(str(tmp_path / "cache.sqlite")))
    try:
        online = fetcher(hostile, cache=cache)
        assert online.json(f"http://{hostile}/ok", "a document").source == "network"
        assert online.json(f"http://{hostile}/ok", "a document").source == "cache"
        body, etag, fresh = cache.get(f"http://{hostile}/ok")
        assert json.loads(body) == {"id": "fine"} and etag == '"v1"' and fresh
        given = online.configured(documents={f"http://{hostile}/gone": b'{"id": "mine"}'})
        assert given.json(f"http://{hostile}/gone", "a document").document == {"id": "mine"}
    finally:
        cache.close()


def test_a_cached_copy_is_not_kept_past_its_own_valid_until(hostile, tmp_path):
    cache = HttpCache(SQLiteDatabase(str(tmp_path / "cache.sqlite")))
    try:
        online = fetcher(hostile, cache=cache)
        url = f"http://{hostile}/list-until-2"
        assert online.json(url, "a status list").source == "network"
        assert online.json(url, "a status list").source == "cache"
        expires = cache.db.query("SELECT expires_at FROM http_cache WHERE url = ?", (url,))[0][0]
        assert datetime.fromisoformat(expires) <= datetime.now(timezone.utc) + timedelta(seconds=3)  # not a day
        time.sleep(2.2)
        assert online.json(url, "a status list").source == "network"  # expired: fetched afresh
    finally:
        cache.close()


def test_a_status_list_on_a_hostile_server_leaves_the_verdict_indeterminate(open_registry, hostile):
    from registry.commands import Actor, Award

    registry = open_registry(REGISTRY_INSECURE_HOSTS=hostile)
    registry.commands.issuers.register(slug="acme", name="Acme", actor=Actor("t"))
    course = registry.commands.achievements.define(issuer="acme", actor=Actor("t"), definition={
        "name": "Teamwork", "description": "Works in a team.", "criteria": {"narrative": "Peer-reviewed."}}).id
    issued = registry.commands.credentials.issue(
        Award("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", course), actor=Actor("t"))
    # A verifier elsewhere meets a copy whose status entry points at the hostile server: it must
    # neither hang nor pass. (The copy's proof fails too; the status check is the one asked here.)
    moved = json.loads(json.dumps(issued.document))
    moved["credentialStatus"]["statusListCredential"] = f"http://{hostile}/slow"
    moved["credentialStatus"]["id"] = f"http://{hostile}/slow#1"
    began = time.monotonic()
    report = registry.queries.verify(moved)
    assert time.monotonic() - began < 15
    status = report.find("status")
    assert status.outcome == "indeterminate" and "did not finish" in status.reason
    assert report.verdict == "INVALID"  # its proof no longer matches: a failure outweighs the unknown
