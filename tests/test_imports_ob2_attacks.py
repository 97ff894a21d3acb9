"""Open Badges 2.0 imports under attack: inputs a hostile holder, issuer site or organisation would
try, each of which the OB 2.0 verification rules (HostedBadge and SignedBadge verification, the
VerificationObject, CryptographicKey, RevocationList) say must not verify, or which must be one
clear refusal rather than a traceback or a hang; and proofs of control of a Profile that prove
nothing. The issuer site on 127.0.0.1 is tests/test_imports_ob2.py's."""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from datetime import datetime, timezone

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from test_api_support import api, api_factory, assert_problem  # noqa: F401
from test_imports_ob2 import (OPERATOR, assertion, hosted, imported, issuer, leerhuis, pem,  # noqa: F401
                              refused, registry_environ, rsa_key, signed, site, store_kind)

from registry.commands import Actor
from registry.domain import AlreadyExists
from registry.network import Fetcher, FetchError
from registry.vc import ob2
from registry.vc.errors import DocumentError

NOW = datetime(2025, 1, 1, tzinfo=timezone.utc)
ISSUER = "https://issuer.example/issuer.json"
KEY_URL = "https://issuer.example/key.json"
BADGE = "https://issuer.example/badges/1.json"


# --- pure: ob2.verify over documents served by a dict -----------------------------------------------


def served(key: rsa.RSAPrivateKey, **profile) -> dict:
    """An issuer's documents, by URL: Profile, key, revocation list, BadgeClass."""
    return {
        ISSUER: {"@context": ob2.CONTEXT, "type": "Issuer", "id": ISSUER, "name": "Issuer", "url": "https://issuer.example",
                 "email": "info@issuer.example", "publicKey": KEY_URL,
                 "revocationList": "https://issuer.example/revoked.json", **profile},
        KEY_URL: {"@context": ob2.CONTEXT, "type": "CryptographicKey", "id": KEY_URL, "owner": ISSUER,
                  "publicKeyPem": pem(key)},
        "https://issuer.example/revoked.json": {"@context": ob2.CONTEXT, "type": "RevocationList",
                                                "id": "https://issuer.example/revoked.json", "revokedAssertions": []},
        BADGE: {"@context": ob2.CONTEXT, "type": "BadgeClass", "id": BADGE, "name": "Badge", "description": "A badge.",
                "image": "https://issuer.example/i.png", "criteria": {"narrative": "Do it."}, "issuer": ISSUER}}


def an_assertion(id: str = "https://issuer.example/assertions/1.json", **extra) -> dict:
    return {"@context": ob2.CONTEXT, "type": "Assertion", "id": id,
            "recipient": {"type": "email", "hashed": False, "identity": "beth@example.org"}, "badge": BADGE,
            "issuedOn": "2024-01-01T00:00:00Z", "verification": {"type": "HostedBadge"}, **extra}


def verify(given, documents: dict, hits: list | None = None) -> ob2.Ob2Badge:
    def fetch(url: str, what: str) -> object:
        if hits is not None:
            hits.append(url)
        if url in documents:
            return documents[url]
        raise ob2.Unavailable(f"{what}: {url} answered HTTP 404")

    return ob2.verify(given, fetch=fetch, now=NOW)


def sign(document: dict, key: rsa.RSAPrivateKey) -> str:
    return jwt.PyJWS().encode(json.dumps(document).encode(), key, algorithm="RS256")


def test_the_pure_fixture_verifies(rsa_key):
    documents = served(rsa_key)
    hosted_one = an_assertion()
    assert verify(hosted_one, {**documents, hosted_one["id"]: hosted_one}).report.verdict == "VALID"
    signed_one = an_assertion("urn:uuid:5b1e6f9a-2f0c-4c43-9d1e-0b8f3c7e2a11", verification={"type": "SignedBadge"})
    assert verify(sign(signed_one, rsa_key), documents).report.verdict == "VALID"


@pytest.mark.parametrize("looks_like_a_url", ["HTTPS://victim.example/issuer.json", " https://victim.example/issuer.json",
                                              "https:/victim.example/issuer.json", "https:victim.example/issuer.json",
                                              "//victim.example/issuer.json"])
def test_an_embedded_profile_whose_id_only_looks_like_a_url_is_not_taken_at_its_word(rsa_key, looks_like_a_url):
    # A signed badge carrying its own issuer: a Profile "of the victim", with the attacker's key
    # embedded. Only an HTTP(S) id is fetched; one that merely looks like it was trusted as embedded.
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    profile = {"type": "Issuer", "id": looks_like_a_url, "name": "Victim University", "url": "https://victim.example",
               "email": "registrar@victim.example",
               "publicKey": {"id": "urn:uuid:0d1f", "owner": looks_like_a_url, "publicKeyPem": pem(attacker)},
               "verification": {"allowedOrigins": "attacker.example"}}
    badge_class = {"type": "BadgeClass", "id": "urn:uuid:77b3", "name": "PhD", "description": "Doctorate.",
                   "image": "https://victim.example/phd.png", "criteria": {"narrative": "A thesis."}, "issuer": profile}
    token = sign(an_assertion("urn:uuid:9c1a", badge=badge_class, verification={"type": "SignedBadge"}), attacker)
    report = verify(token, served(rsa_key)).report
    assert report.verdict != "VALID" and report.issuer_id is None, report.checks
    # Hosted alike: served by the attacker, naming "the victim" as an embedded issuer that allows it.
    document = an_assertion("https://attacker.example/a.json", badge=badge_class)
    report = verify(document, {document["id"]: document}).report
    assert report.verdict != "VALID", report.checks
    # A urn:uuid Profile is still taken as embedded (as the module says): it claims no URL.
    urn = {**profile, "id": "urn:uuid:aa01", "publicKey": {**profile["publicKey"], "owner": "urn:uuid:aa01"}}
    token = sign(an_assertion("urn:uuid:9c1b", badge={**badge_class, "issuer": urn},
                              verification={"type": "SignedBadge"}), attacker)
    assert verify(token, {}).report.issuer_id == "urn:uuid:aa01"


@pytest.mark.parametrize("assertion_id", ["https://issuer.example/assertions/../uploads/a.json",
                                          "https://issuer.example/assertions/%2e%2e/uploads/a.json",
                                          "https://issuer.example/assertions/.%2E/uploads/a.json",
                                          "https://issuer.example/assertions/..%5Cuploads/a.json"])
def test_starts_with_is_not_escaped_by_dot_segments(rsa_key, assertion_id):
    # The client fetches /assertions/../uploads/a.json as /uploads/a.json (servers read %2e%2e as
    # ..): the id starts with what the issuer allows and is served from where anyone uploads.
    documents = served(rsa_key, verification={"type": "VerificationObject", "allowedOrigins": "issuer.example",
                                              "startsWith": "https://issuer.example/assertions/"})
    document = an_assertion(assertion_id)
    report = verify(document, {**documents, assertion_id: document}).report
    assert report.verdict == "INVALID" and report.find("issuer-match").outcome == "fail", report.checks


def test_a_starts_with_prefix_binds_its_host_and_port(rsa_key):
    documents = served(rsa_key, verification={"type": "VerificationObject", "startsWith": "https://issuer.example"})
    for assertion_id in ("https://issuer.example.attacker.example/a.json", "https://issuer.example:8443/a.json"):
        document = an_assertion(assertion_id)
        report = verify(document, {**documents, assertion_id: document}).report
        assert report.find("issuer-match").outcome == "fail", (assertion_id, report.checks)
    document = an_assertion("https://issuer.example/a.json")
    assert verify(document, {**documents, document["id"]: document}).report.verdict == "VALID"


def test_without_a_verification_object_the_origin_includes_the_port(rsa_key):
    # OB 2.0: "the same origin as the issuer Profile id"; another port is another server.
    documents = served(rsa_key)
    document = an_assertion("https://issuer.example:8443/a.json")
    report = verify(document, {**documents, document["id"]: document}).report
    assert report.find("issuer-match").outcome == "fail", report.checks
    document = an_assertion("https://issuer.example:443/a.json")  # the default port is the same origin
    assert verify(document, {**documents, document["id"]: document}).report.verdict == "VALID"


@pytest.mark.parametrize("extra", [{"revoked": "true"}, {"revoked": 1},
                                   {"recipient": {"type": "email", "hashed": "true", "identity": "sha256$00"}}])
def test_booleans_that_are_not_booleans_do_not_pass(rsa_key, extra):
    # `"revoked": "true"` read as not revoked left a revoked badge VALID; OB 2.0 types both Boolean.
    documents = served(rsa_key)
    document = an_assertion(**extra)
    report = verify(document, {**documents, document["id"]: document}).report
    assert report.verdict == "INVALID" and report.find("schema").outcome == "fail", report.checks


@pytest.mark.parametrize("entry", ["URN:UUID:9C1A0000-0000-4000-8000-000000000001",
                                   {"id": None, "uid": "legacy-7"}, {"uid": "legacy-7", "id": 5}])
def test_a_revocation_list_entry_revokes_however_it_names_the_badge(rsa_key, entry):
    documents = served(rsa_key)
    documents["https://issuer.example/revoked.json"]["revokedAssertions"] = [entry]
    token = sign(an_assertion("urn:uuid:9c1a0000-0000-4000-8000-000000000001", uid="legacy-7",
                              verification={"type": "SignedBadge"}), rsa_key)
    assert verify(token, documents).report.find("status").outcome == "fail"


def test_a_revocation_reason_is_kept_to_one_line(rsa_key):
    documents = served(rsa_key)
    documents["https://issuer.example/revoked.json"]["revokedAssertions"] = [
        {"id": "urn:uuid:9c1a", "revocationReason": "Awarded\nin error"}]
    token = sign(an_assertion("urn:uuid:9c1a", verification={"type": "SignedBadge"}), rsa_key)
    assert verify(token, documents).report.find("status").reason.endswith("(Awarded in error)")


def test_the_keys_tried_for_one_signature_are_bounded(rsa_key):
    # A Profile listing thousands of keys (on any host) had every one fetched for one badge.
    documents = served(rsa_key, publicKey=[f"https://host{n}.example/key.json" for n in range(5000)] + [KEY_URL])
    hits: list[str] = []
    token = sign(an_assertion("urn:uuid:9c1a", verification={"type": "SignedBadge"}), rsa_key)
    report = verify(token, documents, hits).report
    assert len(hits) <= 20 and report.verdict == "INDETERMINATE", (len(hits), report.checks)
    # Naming its key (verification.creator), the badge verifies whatever the Profile lists.
    token = sign(an_assertion("urn:uuid:9c1a", verification={"type": "SignedBadge", "creator": KEY_URL}), rsa_key)
    assert verify(token, documents).report.verdict == "VALID"


def test_one_unusable_listed_key_does_not_hide_the_one_that_verifies(rsa_key):
    documents = served(rsa_key, publicKey=["https://issuer.example/old-key.json", KEY_URL])
    documents["https://issuer.example/old-key.json"] = {**documents[KEY_URL], "id": "https://issuer.example/old-key.json",
                                                         "owner": "https://someone.example/"}
    token = sign(an_assertion("urn:uuid:9c1a", verification={"type": "SignedBadge"}), rsa_key)
    assert verify(token, documents).report.verdict == "VALID"


@pytest.mark.parametrize("given", ["https://[", "http://a]b/x",
                                   {"@context": ob2.CONTEXT, "id": 5, "verification": {"type": "hosted"},
                                    "badge": {"id": "urn:uuid:1", "issuer": {"id": "urn:uuid:2",
                                                                             "verification": {"startsWith": "x"}}}},
                                   {"@context": ob2.CONTEXT, "id": "https://[", "verification": {"type": "hosted"}}])
def test_malformed_ids_get_a_report_not_a_traceback(given):
    report = verify(given, {}).report
    assert report.verdict == "INVALID"


# --- proving control of a Profile ------------------------------------------------------------------


def test_a_claim_token_proves_control_for_exactly_the_did_it_names(registry, site, issuer, leerhuis):
    # Organisation "leer" registers after "leerhuis": its DID is the start of leerhuis's, and so was
    # its claim token of leerhuis's Profile description.
    registry.commands.issuers.register(slug="leer", name="Leer", actor=OPERATOR)
    with pytest.raises(DocumentError, match="does not carry"):
        registry.commands.imports.prove_profile("leer", issuer["profile"], actor=Actor("leer", issuer="leer"))
    assert registry.commands.imports.prove_profile("leerhuis", issuer["profile"], actor=OPERATOR).id
    # A sentence may end after the token.
    registry.commands.issuers.register(slug="oost", name="Oost", actor=OPERATOR)
    did = registry.queries.issuer("oost").did
    site.serve("/oost.json", dict(site.routes["/issuer.json"][1], id=site.url("/oost.json"),
                                  description=f"Our token: badge-registry-claim={did}. Thanks."))
    assert registry.commands.imports.prove_profile("oost", site.url("/oost.json"), actor=OPERATOR).id


def test_a_claim_token_written_by_someone_else_into_the_profile_proves_nothing(registry, site, issuer):
    # An endorsement of the Profile (embedded in it, or listed by a URL its endorser chose) is the
    # endorser's words; what is nested in the Profile (here an image) is no text of its own either.
    registry.commands.issuers.register(slug="mallory", name="Mallory", actor=OPERATOR)
    did = registry.queries.issuer("mallory").did
    endorsement = {"type": "Endorsement", "id": site.url("/endorsements/9.json"), "issuer": site.url("/endorser.json"),
                   "claim": {"id": issuer["profile"], "endorsementComment": f"Great issuer! badge-registry-claim={did}"},
                   "verification": {"type": "hosted"}}
    profile = dict(site.routes["/issuer.json"][1],
                   endorsement=[site.url(f"/endorsements/10.json?badge-registry-claim={did}"), endorsement],
                   image={"id": site.url("/logo.png"), "caption": f"badge-registry-claim={did}"})
    site.serve("/issuer.json", profile)
    with pytest.raises(DocumentError, match="does not carry"):
        registry.commands.imports.prove_profile("mallory", issuer["profile"], actor=Actor("mallory", issuer="mallory"))


def test_a_signed_claim_needs_a_key_the_profile_lists_and_owns(registry, site, issuer, rsa_key):
    # (Held before; guards the loop that now passes over an unusable key to the next one.)
    registry.commands.issuers.register(slug="mallory", name="Mallory", actor=OPERATOR)
    claim = json.dumps({"claim": registry.queries.issuer("mallory").did, "profile": issuer["profile"]}).encode()
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(DocumentError, match="does not verify with any key the Profile lists"):
        registry.commands.imports.prove_profile("mallory", issuer["profile"], actor=OPERATOR,
                                                signed_claim=jwt.PyJWS().encode(claim, stranger, algorithm="RS256"))
    site.serve("/key.json", dict(site.routes["/key.json"][1], owner=site.url("/someone-else.json")))
    with pytest.raises(DocumentError, match="names owner"):
        registry.commands.imports.prove_profile("mallory", issuer["profile"], actor=OPERATOR,
                                                signed_claim=jwt.PyJWS().encode(claim, rsa_key, algorithm="RS256"))


# --- importing -------------------------------------------------------------------------------------


def test_a_hosted_import_is_not_answered_with_another_credential_that_took_its_url(registry, site, issuer, rsa_key):
    # A signed badge whose id is the URL of a hosted assertion, imported first: the hosted one's
    # import was answered "imported already" with the signed badge's record.
    url = site.url("/assertions/1.json")
    first = imported(registry, signed(site, issuer, rsa_key, id=url))
    assert (first.format, first.credential_id) == ("ob2-signed", url)
    hosted(site, issuer)
    with pytest.raises(AlreadyExists, match=r"was imported already, from other bytes \(as ob2-signed\)"):
        registry.commands.imports.import_credential(url, source="test", actor=OPERATOR)


def test_a_number_no_json_reader_takes_is_a_refusal_not_a_traceback(registry, site, issuer):
    # Python's int() refuses more than 4,300 digits with a ValueError, which the client let through.
    site.serve("/badges/cooking.json", b'{"id": ' + b"1" * 5000 + b"}")
    hosted(site, issuer)
    refused(registry, json.dumps(assertion(site, issuer)), "is not JSON (Exceeds the limit")


def test_text_no_utf8_can_carry_is_a_refusal_not_a_traceback(registry, site, issuer):
    # "\ud800" parses (Python's reader takes a lone surrogate) and failed when the import was
    # stored: UnicodeEncodeError at commit, a 500. From the issuer's site, and in what is handed in.
    badge_class = site.routes["/badges/cooking.json"][1]
    site.serve("/badges/cooking.json", dict(badge_class, name="\ud800 Koken"))  # sent as "\\ud800"
    hosted(site, issuer)
    refused(registry, json.dumps(assertion(site, issuer)), "a string holds a lone surrogate")
    given = assertion(site, issuer, "/assertions/2.json", narrative="\ud800")
    site.serve("/assertions/2.json", given)
    refused(registry, json.dumps(given), "a string holds a lone surrogate", unverified=True)
    # NaN is no JSON value either: what was fetched is kept as JSON text.
    site.serve("/badges/cooking.json", dict(badge_class, weight=float("nan")))  # sent as NaN
    hosted(site, issuer, "/assertions/3.json")
    refused(registry, json.dumps(assertion(site, issuer, "/assertions/3.json")), "NaN is not a JSON value")


def test_a_redirect_to_no_url_is_a_refusal_not_a_traceback(registry, site, issuer):
    site.serve("/badges/cooking.json", {}, status=302, Location="http://[")
    hosted(site, issuer)
    refused(registry, json.dumps(assertion(site, issuer)), "which is no URL")


def test_a_hostile_import_over_http_is_a_problem_not_a_500(api, site, issuer):
    site.serve("/badges/cooking.json", {}, status=302, Location="http://[")
    hosted(site, issuer)
    made = api.client.post("/imports", content=json.dumps(assertion(site, issuer)).encode(),
                           headers=api.auth(api.admin, **{"Content-Type": "application/ld+json"}))
    assert_problem(made, 422, detail="which is no URL")
    made = api.client.post("/imports", content=b"https://[", headers=api.auth(api.admin, **{"Content-Type": "text/plain"}))
    assert made.status_code == 422, made.text


def test_a_zip_listing_masses_of_skipped_files_is_refused_before_it_is_listed(registry):
    # Dotfiles, directories and __MACOSX/ are skipped, and were not counted: zipfile still parsed
    # every entry first (30 MiB of them: 340,000 entries, 5 s and 220 MiB).
    import zipfile
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for n in range(20_000):
            archive.writestr(f".{n}", b"")
        archive.writestr("badge.json", b"{}")
    refused(registry, out.getvalue(), "the zip archive lists more than 10,000 files")


def test_a_server_trickling_its_headers_is_cut_off_at_the_deadline():
    # httpx's timeouts are per read: a status line and headers sent a byte at a time, each within
    # the read timeout, held a fetch for as long as the server liked (16 KiB of header: hours).
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    port = server.getsockname()[1]

    def trickle() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            connection.recv(4096)
            try:
                for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Pad: " + b"a" * 200:
                    connection.send(bytes([byte]))
                    time.sleep(0.1)
            except OSError:
                pass
            connection.close()

    threading.Thread(target=trickle, daemon=True).start()
    fetcher = Fetcher(insecure_hosts=frozenset({f"127.0.0.1:{port}"}), deadline=1.0)
    started = time.monotonic()
    with pytest.raises(FetchError, match="did not finish within 1 s"):
        fetcher.json(f"http://127.0.0.1:{port}/profile.json", "the issuer Profile")
    assert time.monotonic() - started < 3
    server.close()
