"""Rough edges, each fixed and held here (the browser's side is in test_pages_browser_edges.py): the
API documentation loads nothing from elsewhere, HEAD answers on every GET route, `registry serve`
says when its address disagrees with the public URL, DIDs read decoded on the pages, endorsements
name what they are about, a batch CSV may use semicolons or tabs, the key timeline says each
thing once, and a filtered event log counts what it shows."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from html import unescape
from pathlib import Path

import pytest
from litestar.testing import TestClient

from registry.api import create_app
from registry.api.apidocs import ASSET_FILES
from registry.api.pages.controllers import key_timeline
from registry.api.pages.rendering import TEMPLATES
from registry.cli import main
from registry.commands import Actor, parse_batch_csv
from registry.demo import build
from registry.domain import Credential
from registry.vc.errors import DocumentError

OPERATOR = Actor("test")
LOCAL = "http://localhost:8000"  # the default public URL: its did:web has an encoded port
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def store_kind() -> str:
    return "sqlite"  # what is tested here is above the store


class Demo:
    def __init__(self, registry, client: TestClient) -> None:
        self.registry, self.client = registry, client
        listed = registry.queries.achievements(issuer="softskills4eu", limit=1000).items
        # Achievements without requirements (the demo's names change; any of them will do).
        self.plain = [a.id for a in listed if not a.requires and a.retired_at is None]
        self.endorsed = next(e.subject_id for e in registry.queries.endorsements(by="techbouw").items
                             if e.subject_kind == "achievement")
        issued = [registry.queries.credential(str(e.originator_id))
                  for e in registry.store.events_of(Credential.Issued)]
        self.credential = next(c for c in reversed(issued) if c.status == "active")

    def html(self, path: str, status: int = 200) -> str:
        response = self.client.get(path, follow_redirects=False)
        assert response.status_code == status, (path, response.text[:300])
        return response.text


@pytest.fixture
def demo(open_registry) -> Iterator[Demo]:
    registry = open_registry(REGISTRY_PUBLIC_URL=LOCAL)
    build(registry)
    with TestClient(create_app(registry, stream_seconds=0.3, poll_seconds=0.1)) as client:
        yield Demo(registry, client)


def visible(html: str) -> str:
    """What a person reads: the text without tags (nor their attributes), whitespace collapsed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


# --- 1. the API documentation works offline ---------------------------------------------------------


def test_api_docs_pages_load_only_their_own_assets(demo):
    for path, expected in (("/schema", "redoc.standalone.js"), ("/schema/redoc", "redoc.standalone.js"),
                           ("/schema/swagger", "swagger-ui-bundle.js")):
        html = demo.html(path)
        head = html[:html.index("<body")]
        assert "http://" not in head and "https://" not in head, (path, head)
        assets = re.findall(r"<(script|link)\b[^>]*?\b(?:src|href)=[\"']([^\"']+)[\"']", html)
        assert expected in " ".join(url for _, url in assets), path
        for tag, url in assets:
            if url.startswith("data:"):
                continue  # the favicon: nothing to fetch
            assert url.startswith("/") and not url.startswith("//"), (path, url)
            response = demo.client.get(url)
            assert response.status_code == 200, (path, url)
            kind = response.headers["content-type"]
            if tag == "script":
                assert kind.startswith(("text/javascript", "application/javascript")), (url, kind)
            else:
                assert kind.startswith("text/css"), (url, kind)
            assert len(response.content) > 10_000, url


def test_the_vendored_assets_are_the_recorded_ones():
    rows = re.findall(r"^\| (\S+)(?: \(bundles/\))? \| [^|]+ \| [^|]+ \| ([0-9a-f]{64}) \|$",
                      (ASSET_FILES / "README.md").read_text(), re.MULTILINE)
    assert {name for name, _ in rows} == {p.name for p in ASSET_FILES.iterdir() if p.suffix in (".js", ".css")}
    for name, digest in rows:
        assert hashlib.sha256((ASSET_FILES / name).read_bytes()).hexdigest() == digest, name


# --- 2. HEAD ------------------------------------------------------------------------------------------


def concrete(path: str, demo: Demo) -> str:
    """A route's path with a real value for each parameter (one of the demo's, where it has one)."""
    endorsement = demo.registry.queries.endorsements(by="techbouw").items[0].id
    values = {"slug": "softskills4eu", "achievement_id": demo.plain[0],
              "credential_id": demo.credential.id, "endorsement_id": endorsement, "version": "1",
              "number": "1", "issuer": "softskills4eu", "id": demo.credential.id}
    static = {"/pages/static": "pages.css", "/schema/assets": "swagger-ui.css"}

    def value(match: re.Match) -> str:
        name = match.group(1)
        if name == "file_path":
            return next(v for prefix, v in static.items() if path.startswith(prefix)) \
                if any(path.startswith(p) for p in static) else "x"
        return values.get(name, "x")

    return re.sub(r"\{(\w+)(?::\w+)?\}", value, path)


def test_head_answers_every_get_route_like_get_without_a_body(demo):
    walked = []
    for route in demo.client.app.routes:
        if "GET" not in getattr(route, "methods", ()):
            continue
        path = concrete(route.path, demo)
        got = demo.client.get(path, follow_redirects=False)
        head = demo.client.head(path, follow_redirects=False)
        assert head.status_code == got.status_code, (route.path, path, head.status_code, got.status_code)
        assert head.content == b"", (path, head.content[:100])
        assert head.headers.get("content-type") == got.headers.get("content-type"), path
        # A live answer differs from one moment to the next: the event stream, and the metrics
        # (the GET itself is counted in them).
        if "content-length" in got.headers and path not in ("/events/stream", "/metrics", "/readyz"):
            assert head.headers.get("content-length") == got.headers["content-length"], path
        walked.append((path, got.status_code))
    answered = {path for path, status in walked if status == 200}
    assert {"/", "/pages", "/pages/issuers/softskills4eu", "/schema", "/schema/swagger",
            "/issuers/softskills4eu/did.json", "/events"} <= answered | {"/"}, walked
    assert len(answered) >= 30, walked
    assert demo.client.head("/", follow_redirects=False).status_code == 302 == demo.client.get("/", follow_redirects=False).status_code


# --- 3. registry serve and the public URL -----------------------------------------------------------


def test_serve_warns_when_its_address_is_not_the_public_url(registry_environ, monkeypatch, capsys):
    import uvicorn

    served = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: served.append(kwargs))
    for key, value in registry_environ.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("REGISTRY_DATABASE_URL", raising=False)

    def serve(*argv: str, public_url: str | None) -> str:
        if public_url is None:
            monkeypatch.delenv("REGISTRY_PUBLIC_URL", raising=False)
        else:
            monkeypatch.setenv("REGISTRY_PUBLIC_URL", public_url)
        assert main(["serve", *argv]) == 0
        return capsys.readouterr().err

    warned = serve("--port", "18137", public_url=None).splitlines()
    assert len(warned) == 1 and warned[0].startswith("registry: warning: "), warned
    assert "did:web:localhost%3A8000" in warned[0] and "REGISTRY_PUBLIC_URL=http://127.0.0.1:18137" in warned[0]
    assert served[-1]["port"] == 18137  # a warning, not a refusal
    assert serve("--port", "18137", public_url="http://localhost:18137") == ""
    assert serve("--port", "8000", public_url=None) == ""
    assert serve("--host", "0.0.0.0", "--port", "8000", public_url="http://localhost:8000") == ""
    assert "http://192.0.2.7:8000" in serve("--host", "192.0.2.7", public_url=None)  # not reached at localhost
    assert serve("--port", "9000", public_url="https://badges.example.org") == ""  # behind a proxy


# --- 4. DIDs as a person reads them -----------------------------------------------------------------


def test_dids_are_shown_decoded_with_the_exact_did_kept_to_copy(demo):
    did = demo.registry.queries.issuer("softskills4eu").did
    assert did == "did:web:localhost%3A8000:issuers:softskills4eu"
    readable = "did:web:localhost:8000:issuers:softskills4eu"
    for path in ("/pages", "/pages/issuers/softskills4eu", "/pages/events?type=Issuer.Registered"):
        html = demo.html(path)
        assert readable in visible(html) and f'title="{did}"' in html, path
        assert "%3A" not in visible(html).replace(f"Exactly, to copy: {did}", ""), path
    issuer = demo.html("/pages/issuers/softskills4eu")
    assert f'<code class="id copy">{did}</code>' in issuer  # the exact one, once, to copy
    keys = demo.registry.queries.keys("softskills4eu")
    assert all(k.verification_method.replace("%3A", ":") in visible(issuer) for k in keys)
    report = demo.client.post("/pages/verify", data={"document": demo.credential.document}).text
    assert readable in visible(report) and f'title="{did}"' in report
    # Every DID a template shows goes through the one filter (but the exact one, to copy).
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text()
        for shown in re.finditer(r"\{\{[^}]*\.(?:did|verification_method|issuer_id|endorser_did|subject_iri)\b[^}]*\}\}", text):
            exact = text[:shown.start()].endswith('<code class="id copy">')
            assert exact or "|did" in shown.group() or "split(" in shown.group(), (template.name, shown.group())


# --- 5. endorsements name what they are about -------------------------------------------------------


def test_endorsements_name_the_endorser_and_the_subject(demo):
    credential = demo.credential
    achievement = demo.registry.queries.achievement(
        demo.registry.queries.credential_status(credential.id).achievement_id)
    demo.registry.commands.endorsements.endorse(by="techbouw", subject=credential.id,
                                                comment="Seen at work.", actor=OPERATOR)
    listed = demo.client.get("/endorsements", params={"by": "techbouw"}).json()["items"]
    assert listed and all(e["endorser_name"] == "Techbouw B.V." for e in listed)
    assert all(e["subject_name"] for e in listed), listed
    [endorsed] = [e for e in listed if e["subject_kind"] == "credential"]
    name = endorsed["subject_name"]
    assert name == achievement.name
    for path in ("/pages/issuers/techbouw", "/pages/issuers/softskills4eu"):
        html = demo.html(path)
        assert re.search(rf'a credential for <a href="/pages/achievements/{UUID.pattern}\?lang=en">'
                         rf"{re.escape(name)}</a>", html), path
    pages = ["/pages/issuers/techbouw", "/pages/issuers/softskills4eu", "/pages/network",
             f"/pages/achievements/{demo.endorsed}"]
    for path in pages:
        main = demo.html(path)
        main = main[main.index("<main"):main.index("</main>")]
        assert not UUID.search(visible(main)), (path, UUID.search(visible(main)))


# --- 6. batch CSV dialects ----------------------------------------------------------------------------


def test_a_batch_csv_may_be_separated_by_semicolons_or_tabs():
    semicolons = ('\ufeffrecipient;achievement;result\r\n'
                  'eva@example.org;A1;"92,5%; with ""distinction"""\r\n'
                  'frank@example.org;A2;\r\n')
    awards = parse_batch_csv(semicolons)
    assert [(a.recipient, a.achievement, a.result) for a in awards] == [
        ("eva@example.org", "A1", '92,5%; with "distinction"'), ("frank@example.org", "A2", None)]
    tabs = "recipient\tachievement\tresult\neva@example.org\tA1\t90, with honours\n"
    assert [(a.recipient, a.result) for a in parse_batch_csv(tabs)] == [("eva@example.org", "90, with honours")]
    commas = 'recipient,achievement,result\neva@example.org,A1,"good, very good"\n'
    assert parse_batch_csv(commas)[0].result == "good, very good"
    quoted = '"recipient";"achievement"\r\n"eva@example.org";"A1"\r\n'
    assert parse_batch_csv(quoted)[0].achievement == "A1"
    with pytest.raises(DocumentError, match=r"mixes separators \(comma and semicolon\)"):
        parse_batch_csv("recipient,achievement;result\nx,y;z\n")
    with pytest.raises(DocumentError, match="batch header"):
        parse_batch_csv("recipient|achievement\nx|y\n")


def test_the_cli_issues_a_batch_from_a_dutch_spreadsheet(demo, registry_environ, monkeypatch, capsys, tmp_path):
    for key, value in {**registry_environ, "REGISTRY_PUBLIC_URL": LOCAL}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("REGISTRY_DATABASE_URL", raising=False)
    a = demo.plain
    batch = tmp_path / "uitreiking.csv"
    batch.write_bytes(("\ufeffrecipient;achievement;result\r\n"
                       f"eva@example.org;{a[0]};\"7,5\"\r\n"
                       f"frank@example.org;{a[1]};\r\n").encode("utf-8"))
    capsys.readouterr()
    assert main(["issue", "--batch", str(batch), "--json"]) == 0, capsys.readouterr().err
    assert len(json.loads(capsys.readouterr().out)["ids"]) == 2


# --- 7. the key timeline ------------------------------------------------------------------------------


def test_the_key_timeline_says_each_thing_once_after_compromises(demo):
    commands, queries = demo.registry.commands.issuers, demo.registry.queries
    first, second = queries.keys("softskills4eu")  # the demo rotated once
    # The active key compromised (a new one comes at once), then the retired one too, from its start.
    commands.report_compromise("softskills4eu", verification_method=second.verification_method,
                               since=datetime.now(timezone.utc) - timedelta(seconds=1), actor=OPERATOR)
    commands.report_compromise("softskills4eu", verification_method=first.verification_method,
                               since=datetime.fromisoformat(first.added_at) - timedelta(days=1), actor=OPERATOR)
    keys = queries.keys("softskills4eu")
    assert len(keys) == 3
    third = keys[2].verification_method
    timeline = [(what, key, since is not None) for _, what, key, since in key_timeline(keys)]
    assert timeline == [
        ("key_added", first.verification_method, False), ("key_retired", first.verification_method, False),
        ("key_added", second.verification_method, False),
        ("key_compromise_reported", second.verification_method, True), ("key_added", third, False),
        ("key_compromise_reported", first.verification_method, True)]
    html = demo.html("/pages/issuers/softskills4eu")
    assert len(re.findall(r'<li class="key_', html)) == 6
    timeline = html[html.index('<ol class="timeline">'):html.index("</ol>")]
    assert visible(timeline).count("distrusted from") == 2


# --- 8. the filtered event log counts what it shows ---------------------------------------------------


def test_a_filtered_event_log_counts_its_own_events(demo):
    total = demo.registry.store.max_position()
    html = demo.html("/pages/events?issuer=techbouw")
    rows = re.findall(r'<tr data-type="', html)
    caption = visible(re.search(r"<caption>(.*?)</caption>", html, re.S).group(1))
    positions = re.findall(r'<th scope="row" class="num"[^>]*>(\d+)</th>', html)
    first, last = positions[0], positions[-1]
    assert caption == f"Matching events: {len(rows)} (positions {first}\u2013{last} of the {total} in the log)"
    assert len(rows) < total
    nl = visible(re.search(r"<caption>(.*?)</caption>", demo.html("/pages/events?issuer=techbouw&lang=nl"), re.S).group(1))
    assert nl.startswith(f"Passende gebeurtenissen: {len(rows)} ")
    whole = demo.html("/pages/events")
    assert re.search(r"<caption>Events 1\u2013\d+ of " + str(total) + "</caption>", whole)
