"""The public pages without a browser (Litestar's TestClient): every page answers in English and
Dutch over SQLite and PostgreSQL, shows what the log holds, and turns bad input into a page that
says so (4xx), never a 500 or JSON. The browser tests (test_pages_browser.py) look at the same
pages as a person does."""

from __future__ import annotations

import json
from datetime import datetime
from html import unescape
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

from registry.api import create_app
from registry.api.pages import log, network
from registry.api.pages.i18n import EN, NL, TEXTS, choose_language
from registry.api.pages.rendering import TEMPLATES
from registry.bootstrap import Registry
from registry.commands import Actor
from registry.demo import build
from registry.domain import Credential
from registry.projections import queries as read_side

ROOT = Path(__file__).resolve().parents[1]
OPERATOR = Actor("test")
# The read-only tests look at the demo over SQLite only.
SQLITE_ONLY = pytest.mark.parametrize("store_kind", ["sqlite"])


class Site:
    def __init__(self, registry: Registry) -> None:
        build(registry)
        self.registry = registry
        self.client = TestClient(create_app(registry))
        self.client.__enter__()
        listed = registry.queries.achievements(issuer="softskills4eu", limit=1000)
        assert listed.next_cursor is None
        self.achievements = {a.name: a.id for a in listed.items}
        issued = [registry.queries.credential(str(e.originator_id))
                  for e in registry.store.events_of(Credential.Issued)]
        self.valid = next(c for c in reversed(issued) if c.status == "active")
        self.active = [c for c in issued if c.status == "active"]

    def pages(self) -> list[str]:
        a = self.achievements
        return ["/pages", "/pages/issuers/softskills4eu", "/pages/issuers/europees-jongerenwerk",
                f"/pages/achievements/{a['Co-operative skills']}",
                f"/pages/achievements/{a['SoftSkills4EU Super Badge']}", "/pages/network",
                "/pages/verify", "/pages/events", "/pages/events?issuer=techbouw&type=Endorsement.Endorsed",
                "/pages/audit"]

    def get(self, path: str, status: int = 200, **headers: str):
        response = self.client.get(path, headers=headers)
        assert response.status_code == status, (path, response.text[:500])
        assert response.headers["content-type"].startswith("text/html"), (path, response.headers)
        return response

    def close(self) -> None:
        self.client.__exit__(None, None, None)


@pytest.fixture
def site(registry) -> Iterator[Site]:
    """A demo registry over SQLite and PostgreSQL (a fresh one per test: some tests write)."""
    made = Site(registry)
    yield made
    made.close()


@pytest.fixture
def demo(registry) -> Iterator[Site]:
    """A demo registry for the read-only tests (over SQLite: the tests using it say SQLITE_ONLY).
    The demo takes a fraction of a second to build, so each test gets its own."""
    assert registry.settings.store.database == "sqlite", "mark the test @SQLITE_ONLY"
    made = Site(registry)
    yield made
    made.close()


def texts(html: str) -> str:
    """What a person reads: the markup without tags, whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def figures(html: str) -> dict[str, int]:
    return {name: int(value.replace(",", "").replace(".", "")) for name, value in
            re.findall(r'data-figure="(\w+)">\s*<dt>[^<]*</dt>\s*<dd>([\d.,]+)</dd>', html)}


# --- every page, both languages, both stores ----------------------------------------------------------


def test_every_page_answers_in_english_and_dutch_with_accessible_markup(site):
    for path in site.pages():
        for lang, switch in (("en", "Nederlands"), ("nl", "English")):
            sep = "&" if "?" in path else "?"
            html = site.get(f"{path}{sep}lang={lang}").text
            assert f'<html lang="{lang}">' in html, path
            assert len(re.findall(r"<h1[\s>]", html)) == 1, path
            for landmark in ("<header", "<nav", "<main", "<footer"):
                assert landmark in html, (path, landmark)
            assert f">{switch}</a>" in html, path  # the language switch
            assert all('scope="' in th for th in re.findall(r"<th[\s>][^>]*>", html)), path
            assert "@example.org" not in html, path  # recipients appear only as stored (hashed)


def test_home_figures_follow_the_log(site):
    assert figures(site.get("/pages").text) == {"issuers": 6, "achievements": 13, "issued": 46, "revoked": 1,
                                                "endorsements": 10, "withdrawn": 1}
    site.registry.commands.credentials.revoke(site.active[0].id, reason="issued in error", actor=OPERATOR)
    html = site.get("/pages?lang=nl").text
    assert figures(html)["revoked"] == 2
    month = site.registry.queries.credential_status(site.active[0].id).issued_at[:7]  # UTC, as shown
    assert f'<time datetime="{month}">' in html and "Credentials ingetrokken" in html


def test_the_event_log_filters_by_organisation_and_type(site):
    html = site.get("/pages/events?issuer=stichting-samen").text
    types = re.findall(r'<tr data-type="([\w.]+)">', html)
    # its registration, DID claim, key, three endorsements (each the standing one of its pair), and
    # the withdrawal, which ends that standing (found via the read side)
    assert types == ["Issuer.Registered", "Issuer.KeyAdded", "DidClaim.Claimed",
                     *["Endorsement.Endorsed", "StandingEndorsement.Started"] * 3,
                     "Endorsement.Withdrawn", "StandingEndorsement.Ended"]
    assert "the course was discontinued" in html and "Next events" not in html
    html = site.get("/pages/events?type=Credential.Revoked").text
    assert re.findall(r'<tr data-type="([\w.]+)">', html) == ["Credential.Revoked"]


def test_the_audit_page_shows_the_checkpoint_and_key_and_each_event_links_to_its_proof(site):
    log = site.registry.queries.log
    latest = log.latest()
    html = site.get("/pages/audit").text
    assert latest.note.splitlines()[0] in html and log.key().vkey in html
    assert f"registry audit {site.registry.settings.config.public_url} --key" in html
    events = site.get("/pages/events").text
    links = re.findall(r'href="/log/proof/inclusion\?index=(\d+)"', events)
    assert links[:3] == ["0", "1", "2"]
    proof = site.client.get("/log/proof/inclusion", params={"index": links[2]}).json()
    assert proof["index"] == 2 and proof["size"] == latest.size


# --- pages over the module's SQLite demo ---------------------------------------------------------------


@SQLITE_ONLY
def test_language_comes_from_the_query_then_accept_language_then_english(demo):
    assert choose_language(None, "nl-NL,nl;q=0.9,en;q=0.8") == "nl"
    assert choose_language(None, "de-DE, en;q=0.5, nl;q=0.7") == "nl"
    assert choose_language(None, "fr, de;q=0.9") == "en"
    assert choose_language(None, "nl;q=0") == "en"
    assert choose_language("en", "nl") == "en"
    assert choose_language("xx", "nl") == "nl"
    response = demo.get("/pages", **{"Accept-Language": "nl-BE,nl;q=0.9"})
    assert '<html lang="nl">' in response.text and response.headers["content-language"] == "nl"
    assert "Accept-Language" in response.headers["vary"]
    assert '<html lang="en">' in demo.get("/pages?lang=en", **{"Accept-Language": "nl"}).text
    # links keep the language; the switch keeps the page's own query
    html = demo.get("/pages/events?type=Credential.Issued&lang=nl").text
    assert 'href="/pages/network?lang=nl"' in html
    assert 'href="/pages/events?type=Credential.Issued&amp;lang=en"' in html
    root = demo.client.get("/?lang=nl", follow_redirects=False)
    assert root.status_code == 302 and root.headers["location"] == "/pages?lang=nl"


@SQLITE_ONLY
def test_an_organisation_page_has_profile_key_timeline_achievements_and_endorsements(demo):
    html = demo.get("/pages/issuers/softskills4eu").text
    consortium = demo.registry.queries.issuer("softskills4eu")
    assert consortium.did in html and 'href="/issuers/softskills4eu/did.json"' in html
    assert re.findall(r'<li class="(key_\w+)">', html) == ["key_added", "key_retired", "key_added"]
    assert html.count('href="/pages/achievements/') >= 8
    read = texts(html)
    assert "Techbouw B.V. the organisation A trustworthy partner" in read
    assert "withdrawn" in read and "the course was discontinued" in read
    given = texts(demo.get("/pages/issuers/techbouw?lang=nl").text)
    assert "Gegeven onderschrijvingen" in given and "SoftSkills4EU Good Employee Badge" in given
    external = texts(demo.get("/pages/issuers/europees-jongerenwerk").text)
    assert "did:key, the organisation keeps its own key" in external and "signed by the endorser itself" in external


def test_a_compromised_key_is_on_the_timeline(site):
    [old] = [k for k in site.registry.queries.keys("techbouw") if k.state == "active"]
    site.registry.commands.issuers.rotate_key("techbouw", actor=OPERATOR)
    site.registry.commands.issuers.report_compromise(
        "techbouw", verification_method=old.verification_method,
        since=datetime.fromisoformat(old.added_at), actor=OPERATOR)
    html = site.get("/pages/issuers/techbouw").text
    # One entry for each thing that happened: the rotation retired the old key; the compromise is
    # one entry, when it was reported, saying from when the key is distrusted.
    assert re.findall(r'<li class="(key_\w+)">', html) == [
        "key_added", "key_retired", "key_added", "key_compromise_reported"]
    assert "Compromise reported" in html and "badge key-compromised" in html
    since = datetime.fromisoformat(old.added_at).strftime("%Y-%m-%d %H:%M UTC")
    assert f"Compromise reported {old.verification_method.split('#')[1]} distrusted from {since}" in texts(html)


@SQLITE_ONLY
def test_an_achievement_page_has_criteria_levels_requirements_and_endorsements(demo):
    a = demo.achievements
    read = texts(demo.get(f"/pages/achievements/{a['Social skills']}").text)
    assert "Scored 60% or more on the SoftSkills4EU Social skills assessment; the score decides the level." in read
    # The ladder: each level with its score band, from the achievement's own resultDescription.
    assert ("Level Score Description Sufficient 60 to below 71 A score of 60% or more. Good 71 to below 85 "
            "A score of 71% or more. Excellent 85 to 100 A score of 85% or more.") in read
    assert "Gemeente Rivierstad Recognised in our participation" in read
    withdrawn = texts(demo.get(f"/pages/achievements/{a['Creative Thinking skills']}?lang=nl").text)
    assert "teruggetrokken" in withdrawn and "the course was discontinued" in withdrawn
    html = demo.get(f"/pages/achievements/{a['SoftSkills4EU Super Badge']}").text
    required = re.findall(r'<section aria-labelledby="requires">.*?</section>', html, re.S)[0]
    assert required.count("<li>") == 5 and "Personal skills</a> at level Excellent or higher" in required
    assert "awards this achievement automatically" in texts(required)
    assert "This achievement has no levels." in texts(html)
    dutch = texts(demo.get(f"/pages/achievements/{a['SoftSkills4EU Super Badge']}?lang=nl").text)
    assert "Personal skills op niveau Excellent of hoger" in dutch


@SQLITE_ONLY
def test_the_network_is_an_accessible_svg_with_a_text_alternative(demo):
    html = demo.get("/pages/network").text
    svg = re.findall(r"<svg .*?</svg>", html, re.S)[0]
    assert 'role="img"' in svg and 'aria-labelledby="network-title network-desc"' in svg
    assert '<title id="network-title">' in svg and "6 organisations and 6 endorsement links" in svg
    assert 'marker-end="url(#arrow)"' in svg and '<marker id="arrow"' in svg
    assert svg.count("<circle") == 6 and svg.count('class="edge ') == 6
    links = [texts(li) for li in re.findall(r"<li><a href=\"/pages/issuers/.*?</li>", html, re.S)]
    # Stichting Samen withdrew one of its achievement endorsements: one of them stands.
    assert ("Stichting Samen Vrijwillig endorses SoftSkills4EU Consortium : the organisation (1), "
            "1 of its achievements") in links
    assert "Gemeente Rivierstad endorses Leerhuis Oost : 1 of its achievements" in links
    assert len(links) == 6


def test_the_network_layout_is_deterministic_and_inside_the_picture():
    issuers = [(f"id-{n:02}", f"org-{n:02}", f"Organisation number {n} with a long name") for n in range(50)]
    rows = [(f"id-{n:02}", f"id-{(n * 7) % 50:02}", "issuer", 1) for n in range(50)]
    rows += [("id-01", "id-00", "achievement", 2), ("id-00", "id-01", "issuer", 1)]
    first, second = network.build(issuers, rows), network.build(list(reversed(issuers)), list(reversed(rows)))
    assert first == second
    assert len(first.nodes) == network.MAX_NODES and first.total_nodes == 50
    assert len(first.edges) == 50  # every link is listed, drawn or not (0 and 25 endorse themselves)
    for node in first.nodes:
        assert network.NODE_RADIUS <= node.x <= network.WIDTH - network.NODE_RADIUS
        assert 15 <= node.label_y <= network.HEIGHT - 5 and len(node.label) <= network.MAX_LABEL
    both = {(e.endorser, e.subject): e for e in first.edges}
    there, back = both[("org-01", "org-00")], both[("org-00", "org-01")]
    assert (there.direct, there.via_achievements) == (0, 2) and (back.direct, back.via_achievements) == (1, 0)
    assert there.path and back.path and there.path != back.path  # the two arcs bow apart


@SQLITE_ONLY
def test_verify_reports_valid_and_invalid_credentials_and_refuses_what_is_not_one(demo):
    valid = demo.valid.document
    response = demo.client.post("/pages/verify", files={"file": ("credential.json", valid.encode(), "application/json")},
                                data={"document": ""})
    assert response.status_code == 200 and '<strong id="verdict">VALID</strong>' in response.text
    assert 'href="/pages/issuers/softskills4eu?lang=en"' in response.text
    tampered = json.loads(valid)
    tampered["validFrom"] = "2020-01-01T00:00:00Z"
    response = demo.client.post("/pages/verify?lang=nl", files={"file": ("", b"", "application/octet-stream")},
                                data={"document": json.dumps(tampered)})
    assert response.status_code == 200 and '<strong id="verdict">ONGELDIG</strong>' in response.text
    assert re.findall(r'<tr class="outcome-fail" data-check="([\w-]+)">', response.text) == ["proof"]
    assert json.dumps(tampered).replace('"', "&#34;")[:40] in response.text  # the pasted text stays
    for body, message in (({"document": "  "}, "Paste a credential or choose a file first."),
                          ({"document": "{nope"}, "This is not JSON: malformed JSON at line 1 column 2: Expecting property name")):
        response = demo.client.post("/pages/verify", files={"file": ("", b"", "application/octet-stream")}, data=body)
        assert response.status_code == 400 and message in response.text, response.text[:300]
    response = demo.client.post("/pages/verify", files={"file": ("c.json", b"\xff\xfe{", "application/json")})
    assert response.status_code == 400 and "not UTF-8" in response.text
    response = demo.client.post("/pages/verify", data={"document": "[1, 2]"})
    assert response.status_code == 200 and '<strong id="verdict">INVALID</strong>' in response.text
    response = demo.client.post("/pages/verify", data={"document": " " * (300 * 1024)})
    assert response.status_code in (400, 413) and response.headers["content-type"].startswith("text/html")


@SQLITE_ONLY
def test_the_event_log_pages_in_log_order(demo):
    html = demo.get("/pages/events").text
    positions = [int(p) for p in re.findall(r'<th scope="row" class="num"[^>]*>(\d+)</th>', html)]
    assert positions == list(range(1, read_side.LOG_PAGE + 1))
    assert 'href="/pages/events?after=50&amp;lang=en"' in html
    last = demo.registry.store.max_position()
    html = demo.get(f"/pages/events?after={last - 3}").text
    assert [int(p) for p in re.findall(r'<th scope="row" class="num"[^>]*>(\d+)</th>', html)] == [last - 2, last - 1, last]
    assert "Next events" not in html and "First events" in html
    assert "No events match" in demo.get(f"/pages/events?after={last}").text
    for after in range(0, last, read_side.LOG_PAGE):  # the whole log: recipients only as stored
        assert "@example.org" not in demo.get(f"/pages/events?after={after}").text


@SQLITE_ONLY
def test_pages_forbid_scripts_and_foreign_content(demo):
    policy = demo.get("/pages").headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy and "form-action 'self'" in policy
    assert "<script" not in demo.get("/pages/verify").text


@SQLITE_ONLY
def test_the_organisation_filter_reads_a_bounded_part_of_the_log_per_page(demo, monkeypatch):
    monkeypatch.setattr(read_side, "LOG_SCAN_BUDGET", 40)
    monkeypatch.setattr(read_side, "LOG_BATCH", 20)
    found, after, requests = [], 0, 0
    while after is not None and requests < 50:
        html = demo.get(f"/pages/events?issuer=stichting-samen&after={after}").text
        requests += 1
        found += re.findall(r'<tr data-type="([\w.]+)">', html)
        following = re.findall(r'rel="next" href="/pages/events\?issuer=stichting-samen&amp;after=(\d+)', html)
        after = int(following[0]) if following else None
    assert found.count("Endorsement.Withdrawn") == 1 and len(found) == 11
    assert requests == -(-demo.registry.store.max_position() // 40)  # each request read at most 40 events


@SQLITE_ONLY
def test_bad_input_is_a_page_that_says_so(demo):
    for path, status, message in (
        ("/pages/events?after=abc", 400, "'abc' is not a position in the log"),
        ("/pages/events?after=-1", 400, "is not a position"),
        ("/pages/events?type=Nope&lang=nl", 400, "'Nope' is geen soort gebeurtenis"),
        ("/pages/events?issuer=nobody", 404, "no issuer with slug"),
        ("/pages/issuers/nobody", 404, "no issuer with slug 'nobody'"),
        ("/pages/achievements/not-a-uuid", 404, "is not a achievement id"),
        ("/pages/achievements/00000000-0000-0000-0000-000000000000", 404, "no achievement"),
    ):
        html = demo.get(path, status).text
        assert message in unescape(html) and "<h1>" in html, (path, texts(html)[:300])


def test_translations_are_complete_and_every_key_used_exists():
    assert set(EN) == set(NL)
    assert all(EN[k].strip() and NL[k].strip() for k in EN)
    used = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*["']([\w.-]+)["']""", template.read_text()))
    prefixes = {key for key in used if key.endswith("_")}  # t("check_" ~ name): made in the template
    assert used and not used - prefixes - set(EN), used - prefixes - set(EN)
    assert all(any(k.startswith(prefix) for k in EN) for prefix in prefixes)
    assert all(f"event_{name}" in EN for name in log.EVENT_TYPES)
    assert all(f"field_{name}" in EN for name in log.DETAILS)
    checks, codes = set(), set()
    for source in [*(ROOT / "registry" / "vc").glob("*.py"), *(ROOT / "registry" / "projections").glob("*.py")]:
        checks |= set(re.findall(r'Check\("([\w-]+)"', source.read_text()))
        codes |= set(re.findall(r'code="([\w.-]+)"', source.read_text()))
    assert checks and all(f"check_{name}" in EN for name in checks), checks - {k[6:] for k in EN}
    # Every reason code the verifier gives has its words in both languages (f-string codes too).
    codes |= {f"status.{s}" for s in ("revoked", "suspended", "compromised")}
    codes |= {"proof.mismatch", "proof.key-not-issuers", "proof.undefined-terms", "proof.malformed", "proof.unknown-context",
              "key-history.compromised", "key-history.outside", "status.revoked-list", "status.list-refused",
              "endorsements.by", "endorsements.withdrawn"}
    assert codes and all(f"reason_{code}" in EN for code in codes), sorted(c for c in codes if f"reason_{c}" not in EN)
    for texts_of in TEXTS.values():  # placeholders agree between languages
        assert {k: set(re.findall(r"{(\w+)", v)) for k, v in texts_of.items()} == {
            k: set(re.findall(r"{(\w+)", v)) for k, v in EN.items()}


@SQLITE_ONLY
def test_an_organisation_page_shows_its_kind_contact_and_own_did_web(site):
    from registry.vc.multikey import encode_public_key
    key = encode_public_key(bytes(range(32)))
    site.registry.commands.issuers.register(
        slug="roc", name="ROC Rivierstad", did="did:web:roc.example", key=key, kind="education", actor=OPERATOR,
        phone="+31 30 123 4567", other_identifier=[{"identifier": "KvK-12345678", "identifierType": "identifier"}],
        address={"streetAddress": "Markt 1", "postalCode": "1234 AB", "addressLocality": "Rivierstad", "addressCountry": "NL"})
    read = texts(site.get("/pages/issuers/roc").text)
    assert "it keeps its own key; the registry records it" in read and "hosted by this registry" not in read
    assert "Phone +31 30 123 4567 Address Markt 1, 1234 AB Rivierstad, NL identifier KvK-12345678" in read
    assert "Kind of organisation Education" in read
    assert "Soort organisatie Onderwijs" in texts(site.get("/pages/issuers/roc?lang=nl").text)
    assert "Kind of organisation Employer" in texts(site.get("/pages/issuers/techbouw").text)
