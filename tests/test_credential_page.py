"""A credential's public address and its page (Litestar's TestClient over the composition root):
`GET /credentials/{id}` negotiated on Accept, the page's content (badge, issuer, result and level,
dates, live status, endorsements, checks, Open Graph tags, LinkedIn link, QR code, downloads), the
image store (`POST /images`, `GET /images/{sha256}.{ext}`), baked downloads, and the command line
(`registry image add`, `registry credential bake`, `registry verify` of a baked image). A recipient
given as an e-mail address never appears on the page."""

from __future__ import annotations

import io
import json
import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
import segno
import zxingcpp
from PIL import Image
from litestar.testing import TestClient

from registry import artwork
from registry.api import create_app
from registry.cli import main
from registry.commands import Actor, Award
from registry.demo import build
from registry.domain import Credential
from registry.vc import baking

OPERATOR = Actor("test")
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
EMAIL = "ada.lovelace@example.org"
SQLITE_ONLY = pytest.mark.parametrize("store_kind", ["sqlite"])


class Site:
    def __init__(self, registry) -> None:
        build(registry)
        self.registry = registry
        self.config = registry.settings.config
        self.client = TestClient(create_app(registry))
        self.client.__enter__()
        issued = [registry.queries.credential(str(e.originator_id)) for e in registry.store.events_of(Credential.Issued)]
        self.active = [c for c in issued if c.status == "active"]
        self.revoked = next(c for c in issued if c.status == "revoked")
        self.admin = registry.access.keys.create(issuer=None)[0]

    def page(self, credential_id: str, status: int = 200, lang: str = "en") -> str:
        response = self.client.get(f"/credentials/{credential_id}?lang={lang}", headers={"Accept": BROWSER})
        assert response.status_code == status, response.text[:500]
        assert response.headers["content-type"].startswith("text/html")
        return response.text

    def add_image(self, data: bytes, status: int = 201):
        response = self.client.post("/images", content=data, headers={"Authorization": f"Bearer {self.admin}",
                                                                       "Content-Type": "application/octet-stream"})
        assert response.status_code == status, response.text
        return response.json()

    def close(self) -> None:
        self.client.__exit__(None, None, None)


@pytest.fixture
def site(registry):
    made = Site(registry)
    yield made
    made.close()


def meta(html: str, key: str) -> str:
    found = re.search(rf'<meta (?:property|name)="{re.escape(key)}" content="([^"]*)">', html)
    assert found, key
    return unescape(found.group(1))


# --- one address, two answers ---------------------------------------------------------------------------


@SQLITE_ONLY
def test_the_address_answers_people_with_the_page_and_programs_with_the_signed_json(site):
    credential = site.active[-1]
    path = f"/credentials/{credential.id}"
    page = site.client.get(path, headers={"Accept": BROWSER})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Accept" in page.headers["vary"]
    for accept, media_type in ((None, "application/ld+json"), ("*/*", "application/ld+json"),
                               ("application/ld+json", "application/ld+json"), ("application/json", "application/json"),
                               ("text/html;q=0.5, application/ld+json", "application/ld+json")):
        response = site.client.get(path, headers={"Accept": accept} if accept else {})
        assert response.status_code == 200, accept
        assert response.headers["content-type"].startswith(media_type), (accept, response.headers)
        assert response.headers["vary"] == "Accept"
        assert response.content == credential.document.encode("utf-8")  # byte for byte as logged
    etag = response.headers["etag"]
    assert site.client.get(path, headers={"If-None-Match": etag}).status_code == 304
    head = site.client.head(path, headers={"Accept": BROWSER})
    assert head.status_code == 200 and head.content == b"" and head.headers["content-type"].startswith("text/html")
    head = site.client.head(path)
    assert head.status_code == 200 and head.content == b"" and head.headers["etag"] == etag
    download = site.client.get(f"{path}/credential.json")
    assert download.content == credential.document.encode()
    assert download.headers["content-disposition"] == f'attachment; filename="credential-{credential.id}.json"'


@SQLITE_ONLY
def test_an_unknown_credential_is_a_404_page_for_people_and_a_problem_for_programs(site):
    unknown = "/credentials/00000000-0000-4000-8000-000000000000"
    page = site.client.get(unknown + "?lang=nl", headers={"Accept": BROWSER})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert '<html lang="nl">' in page.text and "Niet gevonden" in page.text
    problem = site.client.get(unknown, headers={"Accept": "application/json"})
    assert problem.status_code == 404 and problem.headers["content-type"] == "application/problem+json"
    assert problem.json()["status"] == 404 and problem.headers["vary"] == "Accept"
    assert site.client.get("/credentials/not-an-id", headers={"Accept": BROWSER}).status_code == 404


# --- what the page shows -----------------------------------------------------------------------------------


@SQLITE_ONLY
def test_the_page_shows_the_badge_issuer_dates_status_endorsements_and_checks(site):
    credential = site.active[-1]
    document = json.loads(credential.document)
    achievement = document["credentialSubject"]["achievement"]
    status = site.registry.queries.credential_status(credential.id)
    issuer = site.registry.queries.issuer(status.issuer_id)
    html = site.page(credential.id)
    assert f"<h1>{achievement['name']}</h1>" in html
    assert f'href="/pages/issuers/{issuer.slug}?lang=en">{issuer.name}</a>' in html
    assert achievement["criteria"]["narrative"].replace("'", "&#39;") in html
    assert 'data-state="active"' in html and ">Valid</strong>" in html
    assert f'<time datetime="{document["validFrom"]}">' in html
    assert 'class="default-badge"' in html and "<svg" in html  # no image of its own: the generated one
    assert re.search(r'data-check="proof">\s*<span class="badge outcome-pass">', html)
    assert 'data-verdict="VALID"' in html
    endorsements = site.registry.queries.endorsements(of=issuer.slug).items
    assert endorsements and all(e.endorser_name in html for e in endorsements)


@SQLITE_ONLY
def test_the_page_carries_open_graph_and_twitter_tags_with_absolute_urls(site):
    credential = site.active[-1]
    html = site.page(credential.id)
    url = site.config.credential_url(credential.id)
    name = json.loads(credential.document)["credentialSubject"]["achievement"]["name"]
    assert meta(html, "og:title") == name
    assert meta(html, "og:url") == url
    assert meta(html, "og:image") == f"{url}/baked.png"
    assert meta(html, "og:image").startswith(site.config.public_url + "/")
    assert meta(html, "og:description").startswith("An Open Badge awarded by")
    assert meta(html, "twitter:card") == "summary"
    image = site.client.get(urlsplit(meta(html, "og:image")).path)
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"


@SQLITE_ONLY
def test_the_linkedin_link_and_the_qr_code_name_this_page(site):
    credential = site.active[-1]
    html = site.page(credential.id)
    url = site.config.credential_url(credential.id)
    link = unescape(re.search(r'<a class="button linkedin" href="([^"]+)"', html).group(1))
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "www.linkedin.com", "/profile/add")
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    document = json.loads(credential.document)
    assert query["startTask"] == "CERTIFICATION_NAME"
    assert query["name"] == document["credentialSubject"]["achievement"]["name"]
    assert query["organizationName"] == document["issuer"]["name"]
    assert (query["issueYear"], query["issueMonth"]) == (document["validFrom"][:4], str(int(document["validFrom"][5:7])))
    assert query["certUrl"] == url and query["certId"] == credential.id
    # The QR code is the one segno makes of the page's address, inline (no request, no script).
    code = segno.make(url, error="m", mask=0)
    assert code.svg_inline(scale=1, border=2, dark="#12355b", omitsize=True, svgclass="qr", title=url) in html
    png = io.BytesIO()
    code.save(png, kind="png", scale=4, border=4)
    assert [found.text for found in zxingcpp.read_barcodes(Image.open(io.BytesIO(png.getvalue())))] == [url]


@SQLITE_ONLY
def test_a_result_shows_its_value_and_the_name_of_the_level_reached(site):
    with_level = [c for c in site.active
                  if any(r.get("achievedLevel") for r in json.loads(c.document)["credentialSubject"].get("result", []))]
    assert with_level, "the demo issues ladder results"
    credential = with_level[0]
    result = json.loads(credential.document)["credentialSubject"]["result"][0]
    achievement = site.registry.queries.achievement_document(
        site.registry.queries.credential_status(credential.id).achievement_id)
    levels = {level["id"]: level["name"] for d in achievement["resultDescription"] for level in d["rubricCriterionLevel"]}
    html = site.page(credential.id)
    assert f'<span class="result-value">{result["value"]}</span>' in html
    assert f'<span class="badge ok result-level">{levels[result["achievedLevel"]]}</span>' in html


@SQLITE_ONLY
def test_revoked_and_suspended_credentials_say_so_with_date_and_reason_in_both_languages(site):
    queries = site.registry.queries
    revoked = queries.credential_status(site.revoked.id)
    html = site.page(site.revoked.id)
    assert 'data-state="revoked"' in html and ">Revoked</strong>" in html
    assert queries.credential_status(site.revoked.id).reason in html
    assert revoked.since and f"since {site.registry.queries.credential_status(site.revoked.id).since[:10]}" in html
    assert 'id="linkedin"' not in html  # nothing to add to a profile
    nl = site.page(site.revoked.id, lang="nl")
    assert ">Ingetrokken</strong>" in nl and "sinds " in nl
    target = site.active[0]
    assert 'data-state="active"' in site.page(target.id)  # seen, and kept by the worker
    site.registry.commands.credentials.suspend(target.id, reason="under review", actor=OPERATOR)
    html = site.page(target.id)
    assert 'data-state="suspended"' in html and "reason: under review" in html  # at once
    other = site.active[1]
    assert 'data-state="active"' in site.page(other.id)
    site.registry.commands.credentials.issue(Award(EMAIL, site.registry.queries.credential_status(other.id).achievement_id),
                                             actor=OPERATOR)  # the log moves; this one's status does not
    assert 'data-state="active"' in site.page(other.id)
    site.registry.commands.credentials.revoke(other.id, reason="withdrawn by the issuer", actor=OPERATOR)
    assert "reason: withdrawn by the issuer" in site.page(other.id)  # kept pages follow their status


def test_a_recipient_given_as_an_email_address_is_never_shown(site):
    queries = site.registry.queries
    achievement = queries.achievements(issuer="softskills4eu", limit=1).items[0]
    written = site.registry.commands.credentials.issue(Award(EMAIL, achievement.id), actor=OPERATOR)
    for accept in (BROWSER, "application/json"):
        for lang in ("en", "nl"):
            body = site.client.get(f"/credentials/{written.id}?lang={lang}", headers={"Accept": accept}).text
            assert "ada.lovelace" not in body and "@example.org" not in body and "lovelace" not in body.lower()
    html = site.page(written.id)
    assert "sha256$" in html  # the hashed identifier, as stored
    for kind in ("png", "svg"):
        baked = site.client.get(f"/credentials/{written.id}/baked.{kind}").content
        assert b"lovelace" not in baked


# --- images ----------------------------------------------------------------------------------------------------


def test_images_are_stored_by_content_served_immutable_and_append_only(site, raw_db):
    png = artwork.badge_png("Image test", "seed")
    anonymous = site.client.post("/images", content=png)
    assert anonymous.status_code == 401
    stored = site.add_image(png)
    assert stored["url"].startswith(site.config.public_url + "/images/") and stored["url"].endswith(".png")
    assert stored["media_type"] == "image/png" and stored["added"] is True
    assert site.add_image(png)["added"] is False  # the same bytes are one image
    path = urlsplit(stored["url"]).path
    served = site.client.get(path)
    assert served.content == png and served.headers["content-type"] == "image/png"
    assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert site.client.get(path, headers={"If-None-Match": served.headers["etag"]}).status_code == 304
    head = site.client.head(path)
    assert head.status_code == 200 and head.content == b"" and head.headers["etag"] == served.headers["etag"]
    assert site.client.get(path.replace(".png", ".svg")).status_code == 404
    assert site.client.get("/images/" + "0" * 64 + ".png").status_code == 404
    svg = site.add_image(artwork.badge_svg("Vector", "v").encode())
    served = site.client.get(urlsplit(svg["url"]).path)
    assert served.headers["content-type"].startswith("image/svg+xml")
    assert served.headers["content-security-policy"] == "default-src 'none'; style-src 'unsafe-inline'"
    with pytest.raises(Exception, match="append-only"):
        raw_db.execute("UPDATE images SET extension = 'svg'")
    with pytest.raises(Exception, match="append-only"):
        raw_db.execute("DELETE FROM images")


@SQLITE_ONLY
def test_refused_images_say_why_and_store_nothing(site):
    hostile = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    refused = site.client.post("/images", content=hostile, headers={"Authorization": f"Bearer {site.admin}"})
    assert refused.status_code == 422 and "<script> element" in refused.json()["detail"]
    gif = site.client.post("/images", content=b"GIF89a" + b"\x00" * 20, headers={"Authorization": f"Bearer {site.admin}"})
    assert gif.status_code == 422 and "not a PNG or SVG" in gif.json()["detail"]
    huge = site.client.post("/images", content=b"\x89PNG\r\n\x1a\n" + b"\x00" * (600 * 1024),
                            headers={"Authorization": f"Bearer {site.admin}"})
    assert huge.status_code in (413, 422)


@SQLITE_ONLY
def test_an_achievement_image_is_shown_and_baked_into_its_credentials(site):
    registry = site.registry
    png = artwork.badge_png("Custom art", "custom")
    stored = site.add_image(png)
    written = registry.commands.achievements.define(
        issuer="softskills4eu", definition={"name": "Pictured badge", "description": "Has a picture",
                                            "criteria": {"narrative": "Be pictured"},
                                            "image": {"id": stored["url"], "type": "Image"}}, actor=OPERATOR)
    credential = registry.commands.credentials.issue(Award("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
                                                           written.id), actor=OPERATOR)
    src = f'/images/{stored["sha256"]}.png'
    assert f'<img src="{src}"' in site.page(credential.id)
    achievement_page = site.client.get(f"/pages/achievements/{written.id}").text
    assert f'<img src="{src}"' in achievement_page
    baked = site.client.get(f"/credentials/{credential.id}/baked.png")
    assert baked.headers["content-disposition"] == f'attachment; filename="badge-{credential.id}.png"'
    without = [c for c in baking.png_chunks(baked.content) if c.type != b"iTXt"]
    assert without == baking.png_chunks(png)  # the achievement's own image, with the credential added
    document = baking.unbake(baked.content).text
    assert document == registry.queries.credential(credential.id).document
    assert registry.queries.verify(json.loads(document)).verdict == "VALID"
    svg = site.client.get(f"/credentials/{credential.id}/baked.svg")  # its image is PNG: the default SVG
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert baking.unbake(svg.content).text == document


@SQLITE_ONLY
def test_the_verify_page_reads_baked_images(site):
    credential = site.active[-1]
    baked = site.client.get(f"/credentials/{credential.id}/baked.png").content
    response = site.client.post("/pages/verify", files={"file": ("badge.png", baked, "image/png")})
    assert response.status_code == 200 and 'id="verdict">VALID' in response.text
    assert f'href="/credentials/{credential.id}?lang=en"' in response.text  # to the credential's page
    plain = site.client.post("/pages/verify", files={"file": ("plain.png", artwork.badge_png("x", "y"), "image/png")})
    assert plain.status_code == 400 and "holds no credential" in plain.text
    broken = site.client.post("/pages/verify", files={"file": ("broken.png", baked[:len(baked) // 2], "image/png")})
    assert broken.status_code == 400 and "truncated PNG" in broken.text


# --- the command line ----------------------------------------------------------------------------------------------


@SQLITE_ONLY
def test_the_command_line_stores_images_bakes_and_verifies_baked_badges(site, registry_environ, monkeypatch,
                                                                         tmp_path, capsys):
    for key, value in registry_environ.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("REGISTRY_KEYSTORE_PASSPHRASE", raising=False)
    art = tmp_path / "art.svg"
    art.write_text(artwork.badge_svg("Command line", "cli"))
    assert main(["image", "add", str(art)]) == 0
    url = capsys.readouterr().out.strip()
    assert re.fullmatch(re.escape(site.config.public_url) + r"/images/[0-9a-f]{64}\.svg", url)
    hostile = tmp_path / "hostile.svg"
    hostile.write_text('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>')
    assert main(["image", "add", str(hostile)]) == 2
    assert "event-handler attribute onload" in capsys.readouterr().err
    assert main(["achievement", "define", "--issuer", "softskills4eu", "--name", "CLI badge", "--description", "d",
                 "--criteria", "c", "--image", str(art), "--json"]) == 0
    achievement = json.loads(capsys.readouterr().out)["id"]
    assert site.registry.queries.achievement_document(achievement)["image"] == {"id": url, "type": "Image"}
    assert main(["issue", "--achievement", achievement, "--recipient", EMAIL, "--json"]) == 0
    credential = json.loads(capsys.readouterr().out)["id"]
    for kind in ("png", "svg"):
        out = tmp_path / f"badge.{kind}"
        assert main(["credential", "bake", credential, "--out", str(out)]) == 0
        assert f"baked {credential}" in capsys.readouterr().out
    assert art.read_text() in (tmp_path / "badge.svg").read_text() or "Command line" in (tmp_path / "badge.svg").read_text()
    assert main(["verify", str(tmp_path / "badge.png"), str(tmp_path / "badge.svg")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["VALID", "VALID"]
    plain = tmp_path / "plain.png"
    plain.write_bytes(artwork.badge_png("plain", "p"))
    assert main(["verify", str(plain)]) == 1
    out = capsys.readouterr().out.strip()
    assert out == f"INVALID {plain}: the PNG holds no credential (no iTXt chunk 'openbadgecredential')"
    assert main(["credential", "bake", credential, "--out", str(tmp_path / "badge.gif")]) == 2
    logo = tmp_path / "logo.png"
    logo.write_bytes(artwork.badge_png("Logo", "logo"))
    assert main(["issuer", "update", "softskills4eu", "--image", str(logo)]) == 0
    image = site.registry.queries.issuer("softskills4eu").image
    assert re.fullmatch(re.escape(site.config.public_url) + r"/images/[0-9a-f]{64}\.png", image)
    assert f'<img src="{urlsplit(image).path}"' in site.client.get("/pages/issuers/softskills4eu").text
    assert f'src="{urlsplit(image).path}"' in site.page(credential)  # beside the issuer's name
