"""Open Badges 2.0 brought in: hosted assertions served by a real issuer site on 127.0.0.1 (its
Profile's verification scope, 410 Gone and `revoked: true` as revocations), signed assertions (a JWS,
RS256, the key from the Profile's publicKey, revocation through its revocationList), baked PNG and
SVG, endorsements, and the OB 2.0 specification's own examples (tests/standards/fixtures/ob2-spec).
Each import is verified by the OB 2.0 rules and recorded with the documents it rests on; every
invalid one is refused with its reason and stores nothing."""

from __future__ import annotations

import io
import json
import re
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from test_api_support import api, api_factory, assert_problem  # noqa: F401
from test_cli import Cli, cli  # noqa: F401
from test_interop_js import node  # noqa: F401

from registry.commands import Actor
from registry.domain import Credential, DomainError
from registry.vc import baking, ob2
from registry.vc.errors import DocumentError

OPERATOR = Actor("operator")
SPEC = Path(__file__).parent / "standards" / "fixtures" / "ob2-spec"
EMAIL = "beth@example.org"


@pytest.fixture
def store_kind() -> str:
    return "sqlite"


class Site:
    """An OB 2.0 issuer's web site on 127.0.0.1: path -> (status, JSON body, extra headers)."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, object, dict]] = {}
        self.hits: list[str] = []

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def serve(self, path: str, body: object, status: int = 200, **headers: str) -> str:
        self.routes[path] = (status, body, headers)
        return self.url(path)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        site: Site = self.server.site
        site.hits.append(self.path)
        status, body, headers = site.routes.get(self.path, (404, {"error": "not found"}, {}))
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        headers = dict(headers)
        self.send_header("Content-Type", headers.pop("content_type", "application/ld+json"))
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        if "Cache_Control" not in headers:  # the tests change what a URL serves
            self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def site():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    found = Site()
    found.port = server.server_address[1]
    server.site = found
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found
    server.shutdown()


@pytest.fixture
def registry_environ(registry_environ, site):
    # The site is plain http on loopback: allowed only because it is listed, as in a local demo.
    hosts = f"127.0.0.1:{site.port},localhost:{site.port}"
    return {**registry_environ, "REGISTRY_INSECURE_HOSTS": hosts}


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.fixture
def issuer(site, rsa_key):
    """A Badgr-like issuer: Profile, key, revocation list, BadgeClass, an endorser and an
    endorsement of the BadgeClass."""
    site.routes.clear()
    ctx = ob2.CONTEXT
    profile = site.serve("/issuer.json", {
        "@context": ctx, "type": "Issuer", "id": site.url("/issuer.json"), "name": "Leerhuis Oost",
        "url": "https://leerhuis.example", "email": "info@leerhuis.example",
        "publicKey": site.url("/key.json"), "revocationList": site.url("/revoked.json"),
        "verification": {"type": "VerificationObject", "allowedOrigins": "127.0.0.1",
                         "startsWith": site.url("/")}})
    site.serve("/key.json", {"@context": ctx, "type": "CryptographicKey", "id": site.url("/key.json"),
                             "owner": profile, "publicKeyPem": pem(rsa_key)})
    site.serve("/revoked.json", {"@context": ctx, "type": "RevocationList", "id": site.url("/revoked.json"),
                                 "issuer": profile, "revokedAssertions": [
                                     {"id": "urn:uuid:00000000-0000-4000-8000-00000000dead",
                                      "revocationReason": "Awarded in error"}]})
    badge = site.serve("/badges/cooking.json", {
        "@context": ctx, "type": "BadgeClass", "id": site.url("/badges/cooking.json"), "name": "Koken voor velen",
        "description": "Cooks a meal for twenty.", "image": site.url("/badges/cooking.png"),
        "criteria": {"narrative": "Plan, cook and serve a meal for twenty people."}, "issuer": profile,
        "tags": ["life skills"], "alignment": [{"targetName": "Cooking", "targetUrl": "https://esco.example/cooking"}],
        "endorsement": [site.url("/endorsements/1.json")]})
    endorser = site.serve("/endorser.json", {"@context": ctx, "type": "Profile", "id": site.url("/endorser.json"),
                                             "name": "Stichting Samen", "url": "https://samen.example",
                                             "email": "info@samen.example"})
    site.serve("/endorsements/1.json", {"@context": ctx, "type": "Endorsement", "id": site.url("/endorsements/1.json"),
                                        "issuer": endorser, "issuedOn": "2024-01-02T00:00:00Z",
                                        "claim": {"id": badge, "endorsementComment": "A fine badge."},
                                        "verification": {"type": "hosted"}})
    return {"profile": profile, "badge": badge}


def assertion(site, issuer, path: str = "/assertions/1.json", **extra) -> dict:
    document = {"@context": ob2.CONTEXT, "type": "Assertion", "id": site.url(path),
                "recipient": {"type": "email", "hashed": True, "salt": "pepper",
                              "identity": "sha256$" + __import__("hashlib").sha256((EMAIL + "pepper").encode()).hexdigest()},
                "badge": issuer["badge"], "issuedOn": "2024-03-01T10:00:00+01:00",
                "verification": {"type": "HostedBadge"}, "evidence": [{"narrative": "Served soup.", "name": "Dinner"}],
                **extra}
    return document


def hosted(site, issuer, path: str = "/assertions/1.json", **extra) -> dict:
    document = assertion(site, issuer, path, **extra)
    site.serve(path, document)
    return document


def signed(site, issuer, key: rsa.RSAPrivateKey, *, alg: str = "RS256", **extra) -> str:
    document = assertion(site, issuer, **extra)
    document["id"] = extra.get("id", "urn:uuid:5b1e6f9a-2f0c-4c43-9d1e-0b8f3c7e2a11")
    document["verification"] = {"type": "SignedBadge", "creator": site.url("/key.json")}
    payload = json.dumps(document).encode()
    return jwt.PyJWS().encode(payload, key, algorithm=alg)


def imported(registry, data, **options):
    done = registry.commands.imports.import_credential(data, source="test", actor=OPERATOR, **options)
    return registry.queries.imported(done.id)


def refused(registry, data, message: str, **options) -> str:
    before = registry.store.max_position()
    with pytest.raises((DocumentError, DomainError)) as caught:
        registry.commands.imports.import_credential(data, source="test", actor=OPERATOR, **options)
    assert message in str(caught.value), str(caught.value)
    assert "\n" not in str(caught.value)
    assert registry.store.max_position() == before
    return str(caught.value)


def checks(found) -> dict[str, str]:
    return {c["name"]: c["outcome"] for c in found.checks}


# --- hosted ------------------------------------------------------------------------------------------


def test_a_hosted_assertion_is_verified_at_its_url_and_imported_with_what_it_rests_on(registry, site, issuer):
    document = hosted(site, issuer)
    found = imported(registry, json.dumps(document))
    assert (found.format, found.verdict, found.issuer, found.name) == \
        ("ob2-hosted", "VALID", issuer["profile"], "Koken voor velen")
    assert checks(found) == {"document": "pass", "schema": "pass", "proof": "pass", "issuer-match": "pass",
                             "valid-from": "pass", "valid-until": "pass", "status": "pass", "endorsements": "pass"}
    event = registry.store.created(__import__("uuid").UUID(found.id))
    documents = json.loads(event.documents)
    assert documents[issuer["badge"]]["name"] == "Koken voor velen"
    assert documents[site.url("/endorsements/1.json")]["claim"]["endorsementComment"] == "A fine badge."
    # Importing it again (even as other bytes: the URL is the truth of a hosted one) finds the first import.
    again = imported(registry, json.dumps(document, indent=1))
    assert again.id == found.id


def test_the_hosted_copy_is_the_assertion_not_what_was_handed_in(registry, site, issuer):
    hosted(site, issuer)
    forged = assertion(site, issuer, expires="2099-01-01T00:00:00Z")
    forged["badge"] = site.url("/badges/other.json")  # the holder's copy says something else
    found = imported(registry, json.dumps(forged))
    event = registry.store.created(__import__("uuid").UUID(found.id))
    assert json.loads(event.documents)[site.url("/assertions/1.json")]["badge"] == issuer["badge"]
    assert found.name == "Koken voor velen"


def test_revoked_hosted_assertions_are_refused(registry, site, issuer):
    site.serve("/assertions/1.json", {"@context": ob2.CONTEXT, "id": site.url("/assertions/1.json"),
                                      "revoked": True, "revocationReason": "Awarded twice"}, status=410)
    refused(registry, json.dumps(assertion(site, issuer)), "status: revoked: " + site.url("/assertions/1.json")
            + " answers 410 Gone (Awarded twice)")
    site.serve("/assertions/2.json", {**assertion(site, issuer, "/assertions/2.json"), "revoked": True})
    refused(registry, json.dumps(assertion(site, issuer, "/assertions/2.json")), "revoked: the hosted assertion says so")
    # --unverified records it, explicitly not verified.
    found = imported(registry, json.dumps(assertion(site, issuer)), unverified=True)
    assert (found.verdict, found.unverified, checks(found)["status"]) == ("INVALID", True, "fail")


def test_an_assertion_outside_the_issuers_verification_scope_is_refused(registry, site, issuer):
    # Served from another host name than the Profile allows (localhost is not 127.0.0.1).
    document = assertion(site, issuer)
    document["id"] = site.url("/assertions/1.json", host="localhost")
    site.serve("/assertions/1.json", document)
    refused(registry, json.dumps(document), "is not on an origin the issuer allows (127.0.0.1)")


def test_without_a_verification_object_the_profiles_origin_is_the_scope(registry, site, issuer):
    profile = dict(site.routes["/issuer.json"][1])
    del profile["verification"]
    site.serve("/issuer.json", profile)
    document = hosted(site, issuer)
    assert imported(registry, json.dumps(document)).verdict == "VALID"
    other = assertion(site, issuer, "/assertions/2.json")
    other["id"] = site.url("/assertions/2.json", host="localhost")
    site.serve("/assertions/2.json", other)
    refused(registry, json.dumps(other), "is not on the issuer's origin 127.0.0.1")


def test_expired_and_malformed_assertions_are_refused_with_their_reason(registry, site, issuer):
    # (Each at its own URL: what a URL served is cached for as long as its answer allows.)
    expired = hosted(site, issuer, "/assertions/e.json", expires="2024-06-01T00:00:00Z")
    refused(registry, json.dumps(expired), "valid-until: expired on 2024-06-01T00:00:00Z")
    dated = hosted(site, issuer, "/assertions/d.json", issuedOn="2024-03-01")
    refused(registry, json.dumps(dated), "has no time zone, which OB 2.0 requires")
    bad = assertion(site, issuer, "/assertions/r.json")
    del bad["recipient"]
    site.serve("/assertions/r.json", bad)
    refused(registry, json.dumps(bad), "Assertion: 'recipient' is required")


def test_a_badge_class_that_cannot_be_had_leaves_it_indeterminate(registry, site, issuer):
    del site.routes["/badges/cooking.json"]
    hosted(site, issuer)
    message = refused(registry, json.dumps(assertion(site, issuer)), "INDETERMINATE")
    assert "answered HTTP 404" in message


def test_a_badge_class_redirecting_to_a_private_address_is_refused(registry, site, issuer):
    site.serve("/badges/cooking.json", {}, status=302, Location="https://10.1.2.3/badge.json")
    hosted(site, issuer)
    refused(registry, json.dumps(assertion(site, issuer)), "10.1.2.3 is a private or local address")


# --- signed ------------------------------------------------------------------------------------------


def test_a_signed_assertion_is_verified_with_the_key_the_profile_lists(registry, site, issuer, rsa_key):
    token = signed(site, issuer, rsa_key)
    found = imported(registry, token)
    assert (found.format, found.verdict, found.credential_id) == \
        ("ob2-signed", "VALID", "urn:uuid:5b1e6f9a-2f0c-4c43-9d1e-0b8f3c7e2a11")
    assert next(c for c in found.checks if c["name"] == "proof")["reason"].startswith("JWS (RS256) signed with")
    assert registry.queries.imported_original(found.id) == token


@pytest.mark.filterwarnings("ignore:The RSA key is 1024 bits")  # signed with one on purpose, to be refused
def test_signed_assertions_that_must_not_verify(registry, site, issuer, rsa_key):
    refused(registry, signed(site, issuer, rsa_key, id="urn:uuid:00000000-0000-4000-8000-00000000dead"),
            "revoked: listed in " + site.url("/revoked.json") + " (Awarded in error)")
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    refused(registry, signed(site, issuer, other), "does not verify with any key of the issuer")
    head, payload, signature = signed(site, issuer, rsa_key).split(".")
    changed = json.loads(__import__("base64").urlsafe_b64decode(payload + "=="))
    changed["issuedOn"] = "2020-01-01T00:00:00Z"
    forged = ".".join([head, jwt.utils.base64url_encode(json.dumps(changed).encode()).decode(), signature])
    refused(registry, forged, "does not verify")
    refused(registry, signed(site, issuer, b"a shared secret of thirty-two bytes!", alg="HS256"), "RS256 only")
    none = ".".join([jwt.utils.base64url_encode(b'{"alg":"none"}').decode(), payload, ""])
    refused(registry, none, "a JWS without a signature (alg none")
    key = dict(site.routes["/key.json"][1], owner=site.url("/someone-else.json"))
    site.serve("/key.json", key)
    refused(registry, signed(site, issuer, rsa_key), "names owner")
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    site.serve("/key.json", dict(key, owner=issuer["profile"], publicKeyPem=pem(small)))
    refused(registry, signed(site, issuer, small), "has 1024 bits, fewer than 2048")


# --- baked ------------------------------------------------------------------------------------------


def a_png() -> bytes:
    from PIL import Image
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (30, 120, 60)).save(out, format="PNG")
    return out.getvalue()


def bake_ob2_png(text: str) -> bytes:
    chunks = baking.png_chunks(a_png())
    return baking.write_png([*chunks[:-1], baking.itxt(b"openbadges", text), chunks[-1]])


def test_baked_ob2_png_and_svg_are_imported(registry, site, issuer, rsa_key):
    token = signed(site, issuer, rsa_key)
    found = imported(registry, bake_ob2_png(token))
    assert (found.format, found.baked, found.verdict) == ("ob2-signed", "png", "VALID")
    hosted(site, issuer, "/assertions/7.json")
    url = site.url("/assertions/7.json")
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="http://openbadges.org" width="8" height="8">'
           f'<openbadges:assertion verify="{url}"/><rect width="8" height="8"/></svg>').encode()
    found = imported(registry, svg)
    assert (found.format, found.baked, found.verdict, found.credential_id) == ("ob2-hosted", "svg", "VALID", url)
    # A malformed chunk is one line, and nothing is stored.
    broken = bytearray(bake_ob2_png(token))
    broken[-20] ^= 0xFF
    refused(registry, bytes(broken), "PNG")


# --- the specification's examples ----------------------------------------------------------------


def spec_documents() -> dict[str, bytes]:
    return {"https://example.org/robotics-badge.json": (SPEC / "badgeclass.json").read_bytes(),
            "https://example.org/organization.json": (SPEC / "issuer.json").read_bytes(),
            "https://example.org/revocationList.json": (SPEC / "revocation-list.json").read_bytes()}


def test_the_specifications_hosted_example_verifies_while_it_was_valid(registry, clock):
    text = (SPEC / "assertion-hosted.json").read_text()
    documents = {**spec_documents(), "https://example.org/beths-robotics-badge.json": text.encode()}
    report = registry.queries.verify(text, documents=documents, recipient="beth@example.org")
    failed = {c.name: c.reason for c in report.checks if c.outcome == "fail" and c.name != "recipient"}
    assert failed == {"valid-until": "expired on 2017-06-30T23:59:59Z"}, report.checks
    assert report.find("recipient").outcome == "fail"  # the example's hash is of another address
    clock.now = datetime(2017, 3, 1, tzinfo=timezone.utc)
    found = imported(registry, text, documents=documents)
    assert (found.verdict, found.issuer) == ("VALID", "https://example.org/organization.json")
    revoked = {**documents, "https://example.org/beths-robotics-badge.json": (SPEC / "revoked-hosted-assertion.json").read_bytes()}
    assert registry.queries.verify(text, documents=revoked).find("status").reason.startswith("revoked: the hosted assertion says so")


def test_the_specifications_signed_example_is_refused_for_its_key(registry):
    token = (SPEC / "signed-example.jws").read_text()
    documents = {**spec_documents(), "https://example.org/publicKey.json": b"{}"}
    report = registry.queries.verify(token, documents=documents)
    assert report.verdict == "INVALID"
    assert report.find("proof").reason == ("the signing key https://example.org/publicKey is not listed in the "
                                           "issuer Profile's publicKey")


def test_the_recipient_of_an_ob2_assertion_is_checked_by_its_salted_hash(registry, site, issuer):
    hosted(site, issuer)
    report = registry.queries.verify(json.dumps(assertion(site, issuer)), recipient=EMAIL.upper())
    assert (report.verdict, report.find("recipient").outcome) == ("VALID", "pass")
    assert registry.queries.verify(json.dumps(assertion(site, issuer)), recipient="eve@example.org").verdict == "INVALID"


# --- the edges ---------------------------------------------------------------------------------------


def test_the_command_line_and_http_import_ob2(cli, api, site, issuer, rsa_key):
    hosted(site, issuer)
    out = cli.ok("credential", "import", site.url("/assertions/1.json"), "--json").json()
    assert out[0]["verdict"] == "VALID" and out[0]["credential_id"] == site.url("/assertions/1.json")
    verified = cli.ok("verify", cli.write("badge.jws", signed(site, issuer, rsa_key)), "--json").json()
    assert verified["verdict"] == "VALID"
    made = api.client.post("/imports?source=badgr", content=signed(site, issuer, rsa_key).encode(),
                           headers=api.auth(api.admin, **{"Content-Type": "text/plain"}))
    assert made.status_code == 201, made.text
    shown = api.client.get(f"/imports/{made.json()['id']}").json()
    assert (shown["format"], shown["verdict"]) == ("ob2-signed", "VALID")
    bad = api.client.post("/imports", content=signed(site, issuer, b"x" * 32, alg="HS256").encode(),
                          headers=api.auth(api.admin, **{"Content-Type": "text/plain"}))
    assert_problem(bad, 422, detail="RS256 only")
    assert re.search("RS256", bad.json()["detail"])


# --- backpack exports ------------------------------------------------------------------------------


def zipped(members: dict[str, bytes], compression=None) -> bytes:
    import zipfile
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression or zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_a_zip_export_imports_every_badge_in_one_transaction(registry, site, issuer, rsa_key):
    first = hosted(site, issuer, "/assertions/z1.json")
    hosted(site, issuer, "/assertions/z2.json")
    export = zipped({"badges/koken.json": json.dumps(first).encode(),
                     "badges/signed.jws": signed(site, issuer, rsa_key).encode(),
                     "badges/baked.png": bake_ob2_png(site.url("/assertions/z2.json")),
                     "__MACOSX/._koken.json": b"\x00\x05junk", ".DS_Store": b"junk"})
    done = registry.commands.imports.import_credentials([(export, "backpack.zip")], actor=OPERATOR)
    sources = sorted(registry.queries.imported(d.id).source for d in done)
    assert sources == ["backpack.zip!badges/baked.png", "backpack.zip!badges/koken.json", "backpack.zip!badges/signed.jws"]
    assert len({d.position for d in done}) == 1  # one transaction
    # One bad member: nothing of the export is imported, and the refusal names the member.
    broken = zipped({"a.json": json.dumps(hosted(site, issuer, "/assertions/z3.json")).encode(),
                     "b.jws": signed(site, issuer, rsa.generate_private_key(public_exponent=65537, key_size=2048)).encode()})
    before = registry.store.max_position()
    with pytest.raises(DocumentError, match=re.escape("export.zip!b.jws: the credential is INVALID")):
        registry.commands.imports.import_credentials([(broken, "export.zip")], actor=OPERATOR)
    assert registry.store.max_position() == before


def test_a_json_list_and_badgrs_api_answer_are_exports(registry, site, issuer, rsa_key):
    one = hosted(site, issuer, "/assertions/j1.json")
    hosted(site, issuer, "/assertions/j2.json")
    listed = json.dumps([one, signed(site, issuer, rsa_key), site.url("/assertions/j2.json")]).encode()
    done = registry.commands.imports.import_credentials([(listed, "export.json")], actor=OPERATOR)
    assert [registry.queries.imported(d.id).format for d in done] == ["ob2-hosted", "ob2-signed", "ob2-hosted"]
    hosted(site, issuer, "/assertions/j3.json")
    badgr = {"status": {"success": True, "description": "ok"}, "result": [
        {"entityType": "Assertion", "entityId": "abc", "openBadgeId": site.url("/assertions/j3.json"),
         "badgeclassOpenBadgeId": issuer["badge"], "issuedOn": "2024-03-01T09:00:00Z", "revoked": False}]}
    done = registry.commands.imports.import_credentials([(json.dumps(badgr).encode(), "badgr.json")], actor=OPERATOR)
    assert registry.queries.imported(done[0].id).credential_id == site.url("/assertions/j3.json")


def test_hostile_exports_are_refused_before_anything_is_inflated_or_stored(registry, cli):
    import zipfile
    bomb = zipped({"bomb.json": b"{" + b" " * (200 * 1024 * 1024) + b"}"})
    assert len(bomb) < 300_000
    refused(registry, bomb, "inflates to 209,715,202 bytes, more than a badge")
    ratio = zipped({f"{n}.json": b" " * (1024 * 1024 + 1) for n in range(3)})
    refused(registry, ratio, "like a zip bomb")
    nested = zipped({"inner.json": zipped({"a.json": b"{}"})})
    refused(registry, nested, "is itself a zip archive")
    refused(registry, zipped({"run.exe": b"MZ"}), "run.exe in the zip archive is not a badge")
    refused(registry, zipped({f"{n}.json": b"{}" for n in range(1001)}, zipfile.ZIP_STORED), "at most 1000 badges")
    refused(registry, b"PK\x03\x04" + b"\x00" * 100, "not a readable zip archive")
    refused(registry, b"[]", "holds no badges")
    # A 100 MB export is refused by its size, before it is read.
    huge = cli.dir / "huge.zip"
    with huge.open("wb") as out:
        out.truncate(100 * 1024 * 1024)
    cli.refused("credential", "import", huge, match="larger than 32 MiB")
    refused(registry, b"PK\x03\x04" + bytes(33 * 1024 * 1024), "the export is larger than 32 MiB")


def test_an_export_over_http(api, site, issuer):
    hosted(site, issuer, "/assertions/h1.json")
    export = zipped({"one.txt": site.url("/assertions/h1.json").encode()})
    made = api.client.post("/imports/export?source=backpack.zip", content=export,
                           headers=api.auth(api.admin, **{"Content-Type": "application/zip"}))
    assert made.status_code == 201, made.text
    assert len(made.json()["ids"]) == 1
    bomb = zipped({"bomb.json": b" " * (40 * 1024 * 1024)})
    assert_problem(api.client.post("/imports/export", content=bomb, headers=api.auth(api.admin)), 422,
                   detail="more than a badge")


# --- proving control of the Profile, and re-issuing as OB 3.0 -----------------------------------------


@pytest.fixture
def leerhuis(registry, site, issuer):
    """Leerhuis Oost, registered here (a hosted did:web whose key the registry holds), and its Badgr
    Profile carrying the claim token in its description."""
    registry.commands.issuers.register(slug="leerhuis", name="Leerhuis Oost", actor=OPERATOR)
    did = registry.queries.issuer("leerhuis").did
    profile = dict(site.routes["/issuer.json"][1], description=f"Leerhuis Oost. badge-registry-claim={did}")
    site.serve("/issuer.json", profile)
    return did


def test_an_organisation_proves_control_of_its_ob2_profile(registry, site, issuer, leerhuis, rsa_key):
    profile = issuer["profile"]
    registry.commands.issuers.register(slug="other", name="Other", actor=OPERATOR)
    with pytest.raises(DomainError, match="not authorised|may not|only"):
        registry.commands.imports.prove_profile("leerhuis", profile, actor=Actor("someone", issuer="other"))
    refused_proof = site.routes["/issuer.json"][1]
    site.serve("/issuer.json", dict(refused_proof, description="no token here"))
    with pytest.raises(DocumentError, match=re.escape(f"does not carry badge-registry-claim={leerhuis}")):
        registry.commands.imports.prove_profile("leerhuis", profile, actor=OPERATOR)
    site.serve("/issuer.json", refused_proof)
    done = registry.commands.imports.prove_profile("leerhuis", profile, actor=Actor("leerhuis", issuer="leerhuis"))
    assert registry.commands.imports.prove_profile("leerhuis", profile, actor=OPERATOR).id == done.id  # idempotent
    with pytest.raises(DomainError, match="was proved to be leerhuis's"):
        registry.commands.imports.prove_profile("other", profile, actor=OPERATOR,
                                                signed_claim=jwt.PyJWS().encode(b"{}", rsa_key, algorithm="RS256"))
    # The other way: a claim signed with the key the Profile lists (for issuers who sign badges).
    site.serve("/issuer.json", dict(refused_proof, description="", id=site.url("/issuer2.json")))
    site.serve("/issuer2.json", dict(refused_proof, description="", id=site.url("/issuer2.json")))
    site.serve("/key.json", dict(site.routes["/key.json"][1], owner=site.url("/issuer2.json")))
    did = registry.queries.issuer("other").did
    claim = json.dumps({"claim": did, "profile": site.url("/issuer2.json")}).encode()
    wrong = json.dumps({"claim": leerhuis, "profile": site.url("/issuer2.json")}).encode()
    with pytest.raises(DocumentError, match="the signed claim must be exactly"):
        registry.commands.imports.prove_profile("other", site.url("/issuer2.json"), actor=OPERATOR,
                                                signed_claim=jwt.PyJWS().encode(wrong, rsa_key, algorithm="RS256"))
    assert registry.commands.imports.prove_profile(
        "other", site.url("/issuer2.json"), actor=OPERATOR,
        signed_claim=jwt.PyJWS().encode(claim, rsa_key, algorithm="RS256")).id


def test_a_hosted_badge_is_reissued_as_an_ob3_credential_of_the_organisation(registry, site, issuer, leerhuis):
    registry.commands.imports.prove_profile("leerhuis", issuer["profile"], actor=OPERATOR)
    document = hosted(site, issuer, expires="2099-12-31T23:00:00+00:00", narrative="Soup for twenty.")
    found = imported(registry, json.dumps(document))
    assert found.issuer_id == str(registry.queries.issuer("leerhuis").id)  # its own import now
    made = registry.commands.imports.reissue(found.id, actor=Actor("leerhuis", issuer="leerhuis"))
    credential = made.document
    assert credential["issuer"]["id"] == leerhuis
    assert credential["validFrom"] == "2024-03-01T09:00:00Z" and credential["validUntil"] == "2099-12-31T23:00:00Z"
    subject = credential["credentialSubject"]
    assert subject["identifier"][0]["identityHash"] == document["recipient"]["identity"]
    assert subject["identifier"][0]["salt"] == "pepper"
    achievement = subject["achievement"]
    assert achievement["name"] == "Koken voor velen"
    assert achievement["criteria"]["narrative"] == "Plan, cook and serve a meal for twenty people."
    assert achievement["tag"] == ["life skills"]
    assert achievement["alignment"][0]["targetName"] == "Cooking"
    assert achievement["otherIdentifier"][0]["identifier"] == issuer["badge"]
    evidence = credential["evidence"]
    assert {"type": ["Evidence"], "narrative": "Served soup.", "name": "Dinner"} in evidence
    assert evidence[-1]["id"] == site.url("/assertions/1.json")
    report = registry.queries.verify(credential, recipient=EMAIL)
    assert report.verdict == "VALID", [c for c in report.checks if c.outcome != "pass"]
    assert registry.queries.imported(found.id).reissued_as == made.id
    assert registry.commands.imports.reissue(found.id, actor=OPERATOR).id == made.id  # once
    # The organisation's page lists it as an imported OB 2.0 badge, linked to its re-issue.
    from litestar.testing import TestClient

    from registry.api import create_app
    with TestClient(create_app(registry)) as client:
        html = client.get("/pages/issuers/leerhuis").text
        page = client.get(f"/credentials/{made.id}", headers={"Accept": "text/html"}).text
        dutch = client.get(f"/credentials/{made.id}?lang=nl", headers={"Accept": "text/html"}).text
    original = site.url("/assertions/1.json")
    assert f'Re-issued as Open Badges 3.0 by its issuer from <a href="{original}" rel="nofollow">an Open Badges 2.0 badge</a>' in page
    assert "opnieuw uitgegeven als Open Badges 3.0" in dutch
    assert "imported · Open Badges 2.0</span>" in html
    assert f'<a href="/credentials/{made.id}">re-issued as Open Badges 3.0</a>' in html
    # A second badge of the same BadgeClass re-issues under the same Achievement.
    second = imported(registry, json.dumps(hosted(site, issuer, "/assertions/2.json")))
    again = registry.commands.imports.reissue(second.id, actor=OPERATOR).document
    assert again["credentialSubject"]["achievement"]["id"] == achievement["id"]


def test_reissue_needs_proved_control_and_a_verified_import(registry, site, issuer, leerhuis, rsa_key):
    found = imported(registry, signed(site, issuer, rsa_key))
    with pytest.raises(DomainError, match="no organisation has proved control of the issuer"):
        registry.commands.imports.reissue(found.id, actor=OPERATOR)
    registry.commands.imports.prove_profile("leerhuis", issuer["profile"], actor=OPERATOR)
    registry.commands.issuers.register(slug="other", name="Other", actor=OPERATOR)
    with pytest.raises(DomainError):
        registry.commands.imports.reissue(found.id, actor=Actor("other", issuer="other"))
    revoked = imported(registry, signed(site, issuer, rsa_key, id="urn:uuid:00000000-0000-4000-8000-00000000dead"),
                       unverified=True)
    with pytest.raises(DomainError, match="did not verify at import"):
        registry.commands.imports.reissue(revoked.id, actor=OPERATOR)
    made = registry.commands.imports.reissue(found.id, actor=OPERATOR)  # signed: from the JWS it came as
    assert made.document["credentialSubject"]["achievement"]["name"] == "Koken voor velen"


def test_the_command_line_proves_and_reissues(cli, site, issuer):
    cli.ok("issuer", "register", "--slug", "leerhuis", "--name", "Leerhuis Oost")
    did = json.loads(cli.ok("issuer", "show", "leerhuis", "--json").out)["did"]
    site.serve("/issuer.json", dict(site.routes["/issuer.json"][1], description=f"badge-registry-claim={did}"))
    cli.ok("issuer", "prove-ob2", "leerhuis", issuer["profile"])
    hosted(site, issuer)
    out = cli.ok("credential", "import", site.url("/assertions/1.json"), "--reissue", "--json").json()
    assert out[0]["reissued_as"]
    cli.refused("issuer", "prove-ob2", "leerhuis", site.url("/nothing.json"), match="answered HTTP 404")


# --- the same verdicts in another implementation ---------------------------------------------------


def test_openbadgeslib_agrees_with_the_ob2_verdicts_and_verifies_the_reissued_credential(registry, site, issuer,
                                                                                         leerhuis, rsa_key):
    from openbadgeslib.ob2.verifier import OB2Verifier, OB2VerificationError
    from openbadgeslib.ob3.ldp import OB3LdpVerifier

    import urllib.request

    def download(url: str) -> bytes:
        with urllib.request.urlopen(url, timeout=5) as answer:  # the site on 127.0.0.1
            return answer.read()

    theirs = OB2Verifier(download=download)
    document = hosted(site, issuer)
    assert imported(registry, json.dumps(document)).verdict == "VALID"
    theirs.verify_hosted(document, expected_recipient=EMAIL)
    token = signed(site, issuer, rsa_key)
    assert registry.queries.verify(token).verdict == "VALID"
    OB2Verifier(pem(rsa_key), download=download).verify(token, expected_recipient=EMAIL)
    forged = signed(site, issuer, rsa.generate_private_key(public_exponent=65537, key_size=2048))
    assert registry.queries.verify(forged).verdict == "INVALID"
    with pytest.raises(OB2VerificationError):
        OB2Verifier(pem(rsa_key), download=download).verify(forged)
    expired = hosted(site, issuer, "/assertions/x.json", expires="2024-06-01T00:00:00Z")
    assert registry.queries.verify(json.dumps(expired)).verdict == "INVALID"
    with pytest.raises(OB2VerificationError):
        theirs.verify_hosted(expired)
    # The re-issued OB 3.0 credential verifies in openbadgeslib, with the organisation's key.
    registry.commands.imports.prove_profile("leerhuis", issuer["profile"], actor=OPERATOR)
    found = imported(registry, json.dumps(document))
    credential = registry.commands.imports.reissue(found.id, actor=OPERATOR).document
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from registry.vc import multikey
    proof = credential["proof"][0] if isinstance(credential["proof"], list) else credential["proof"]
    public = multikey.decode_public_key(proof["verificationMethod"].split("#", 1)[1])
    key_pem = ed25519.Ed25519PublicKey.from_public_bytes(public).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    # (Its recipient check knows subject ids only, not hashed identifiers: the registry checked that above.)
    accepted = OB3LdpVerifier(pubkey_pem=key_pem).verify(json.dumps(credential))
    assert accepted is not None


def test_the_reissued_credential_verifies_in_the_javascript_reference_stack(node, registry, site, issuer, leerhuis):
    from test_interop_js import js_verify

    from registry.vc import contexts
    registry.commands.imports.prove_profile("leerhuis", issuer["profile"], actor=OPERATOR)
    found = imported(registry, json.dumps(hosted(site, issuer, narrative="Soup for twenty.")))
    credential = registry.commands.imports.reissue(found.id, actor=OPERATOR).document
    tampered = json.loads(json.dumps(credential))
    tampered["validFrom"] = "2020-01-01T00:00:00Z"
    by_url = {url: contexts.load(url) for url in contexts.PINNED}
    by_url[leerhuis] = registry.queries.did_document("leerhuis")
    assert [r["verified"] for r in js_verify([credential, tampered], by_url)] == [True, False]


def test_proof_and_reissue_over_http(api, site, issuer):
    api.registry.commands.issuers.register(slug="leerhuis", name="Leerhuis Oost", actor=OPERATOR)
    did = api.registry.queries.issuer("leerhuis").did
    site.serve("/issuer.json", dict(site.routes["/issuer.json"][1], description=f"badge-registry-claim={did}"))
    key = api.keys.create(issuer="leerhuis")[0]
    proved = api.client.post("/issuers/leerhuis/ob2-profiles", json={"url": issuer["profile"]},
                             headers=api.auth(key))
    assert proved.status_code == 201, proved.text
    assert_problem(api.client.post("/issuers/leerhuis/ob2-profiles", json={"url": site.url("/missing.json")},
                                   headers=api.auth(key)), 422, detail="answered HTTP 404")
    made = api.client.post("/imports?source=badgr", content=json.dumps(hosted(site, issuer)).encode(),
                           headers=api.auth(key, **{"Content-Type": "application/ld+json"}))
    assert made.status_code == 201, made.text
    shown = f"/imports/{made.json()['id']}"
    assert api.client.get(shown, headers=api.auth(key)).json()["original"]  # its own import, in full
    stranger = api.register("stranger")
    assert api.client.get(shown, headers=api.auth(stranger)).json()["original"] is None
    assert api.client.get(shown).json()["original"] is None and api.client.get(shown).json()["verdict"] == "VALID"
    reissued = api.client.post(f"/imports/{made.json()['id']}/reissue", headers=api.auth(key))
    assert reissued.status_code == 201, reissued.text
    assert reissued.json()["document"]["issuer"]["id"] == did
    assert api.client.get(f"/imports/{made.json()['id']}").json()["reissued_as"] == reissued.json()["id"]


# --- any input: a report or one clear refusal, never a traceback -------------------------------------

_JSON = st.recursive(st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.text(max_size=30)
                     | st.sampled_from(["https://a.example/x", "urn:uuid:1", "Assertion", "hosted", "SignedBadge",
                                        "2024-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00", "sha256$00"]),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                         st.sampled_from(["id", "type", "badge", "issuer", "recipient", "verification", "verify",
                                          "issuedOn", "expires", "publicKey", "revocationList", "endorsement", "claim",
                                          "identity", "hashed", "salt", "allowedOrigins", "startsWith", "creator",
                                          "revokedAssertions", "publicKeyPem", "owner", "revoked"]), inner, max_size=6),
                     max_leaves=20)


@settings(max_examples=300, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(given_document=st.dictionaries(st.sampled_from(["id", "type", "badge", "recipient", "verification", "issuedOn",
                                                       "expires", "endorsement", "revoked"]), _JSON, max_size=9),
       served=st.dictionaries(st.sampled_from(["https://a.example/x", "urn:uuid:1"]), _JSON, max_size=2),
       gone=st.booleans())
def test_any_ob2_input_gets_a_report_never_a_traceback(given_document, served, gone):
    def fetch(url: str, what: str) -> object:
        if url in served:
            return served[url]
        if gone:
            raise ob2.Gone(f"{what}: {url} answered HTTP 410 Gone", {"revocationReason": 5})
        raise ob2.Unavailable(f"{what}: {url} could not be fetched")

    document = {"@context": ob2.CONTEXT, **given_document}
    badge = ob2.verify(document, fetch=fetch, now=datetime(2025, 1, 1, tzinfo=timezone.utc), recipient="a@b.example")
    assert badge.report.verdict in ("VALID", "INVALID", "INDETERMINATE")
    assert all("\n" not in check.reason for check in badge.report.checks)


def test_concurrent_reissues_of_one_badge_sign_one_credential(open_registry, registry, site, issuer, leerhuis):
    """The award and the link to it are one transaction: of two re-issues racing, one stores both,
    the other is refused and stores neither."""
    import threading

    from registry.store.event_store import ConflictError

    registry.commands.imports.prove_profile("leerhuis", issuer["profile"], actor=OPERATOR)
    other = open_registry()  # a second host on the same store
    for n in range(3):
        found = imported(registry, json.dumps(hosted(site, issuer, f"/assertions/race-{n}.json")))
        start, outcomes = threading.Barrier(2), []

        def race(on) -> None:
            start.wait()
            try:
                outcomes.append(on.commands.imports.reissue(found.id, actor=OPERATOR).id)
            except (DomainError, ConflictError) as exc:  # refused, or outraced until it gave up: nothing stored
                outcomes.append(str(exc))

        threads = [threading.Thread(target=race, args=(r,)) for r in (registry, other)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        linked = registry.queries.imported(found.id).reissued_as
        issued = [e for e in registry.store.events_of(Credential.Issued) if f"/assertions/race-{n}.json" in e.document]
        assert [str(e.originator_id) for e in issued] == [linked], (outcomes, len(issued))
