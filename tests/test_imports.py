"""Credentials other platforms issued, brought in: OB 3.0 JSON-LD (the 1EdTech example), a VC-JWT,
either baked into a PNG; each verified by the registry's verifier and recorded as an `Imported`
fact with its provenance. Through the CLI and HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import re
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from test_api_support import api, api_factory, assert_problem  # noqa: F401
from test_cli import Cli, cli  # noqa: F401
from test_vc_jwt import claims_for, credential, sign, token

from registry.commands import Actor, Award
from registry.domain import AlreadyExists, DomainError
from registry.vc import baking, did
from registry.vc.errors import DocumentError

OPERATOR = Actor("operator")
STANDARDS = Path(__file__).parent / "standards" / "fixtures" / "1edtech"


@pytest.fixture
def store_kind() -> str:
    """These rules do not depend on the store: SQLite, except the tests marked BOTH_STORES."""
    return "sqlite"


BOTH_STORES = pytest.mark.parametrize("store_kind", ["sqlite", "postgres"])


def example() -> str:
    """The 1EdTech OB 3.0 example (a did:key issuer), exactly as published."""
    return (STANDARDS / "simple.json").read_text()


def a_jwt(key: ed25519.Ed25519PrivateKey | None = None, now: bool = False) -> tuple[str, str]:
    """A VC-JWT of a did:key issuer (signed in 2025, or `now`)."""
    key = key or ed25519.Ed25519PrivateKey.generate()
    issuer = did.did_key(key.public_key().public_bytes_raw())
    if not now:
        return token(credential(issuer), key, "EdDSA", kid=f"{issuer}#{issuer[8:]}"), issuer
    time.sleep(1.1)  # a whole second after whatever happened before (JWT times are in seconds)
    moment = int(time.time())
    document = credential(issuer, validFrom=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment)))
    claims = {**document, **claims_for(document), "nbf": moment}
    return sign({"alg": "EdDSA", "typ": "JWT", "kid": f"{issuer}#{issuer[8:]}"}, claims, key), issuer


def a_png() -> bytes:
    from PIL import Image
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 40, 40)).save(out, format="PNG")
    return out.getvalue()


@BOTH_STORES
def test_an_ob3_credential_is_verified_and_recorded_with_its_provenance(registry):
    text = example()
    done = registry.commands.imports.import_credential(text, source="https://platform.example/badge/1",
                                                       actor=OPERATOR)
    found = registry.queries.imported(done.id)
    assert (found.credential_id, found.format, found.verdict, found.unverified) == (
        json.loads(text)["id"], "ob3-json-ld", "VALID", False)
    assert found.source == "https://platform.example/badge/1" and found.issuer == json.loads(text)["issuer"]["id"]
    assert registry.queries.imported_original(done.id) == text  # byte for byte
    assert {c["name"] for c in found.checks} >= {"proof", "schema", "status"}
    assert registry.queries.imported(found.credential_id).id == done.id  # by its own id too
    # The same bytes again: the first import, nothing new stored.
    before = registry.store.max_position()
    assert registry.commands.imports.import_credential(text, source="again", actor=OPERATOR).id == done.id
    assert registry.store.max_position() == before
    # Other bytes under the same id: refused.
    with pytest.raises(AlreadyExists, match="imported already, from other bytes"):
        registry.commands.imports.import_credential(text.replace("\n", "\n "), source="x", actor=OPERATOR)
    assert [i.id for i in registry.queries.imports().items] == [done.id]


def test_what_does_not_verify_is_refused_or_recorded_explicitly_as_not_verified(registry):
    tampered = (STANDARDS / "simple-err-proof-value.json").read_text()
    before = registry.store.max_position()
    with pytest.raises(DocumentError, match=r"the credential is INVALID \(proof: .*signature does not match"):
        registry.commands.imports.import_credential(tampered, source="t.json", actor=OPERATOR)
    assert registry.store.max_position() == before
    done = registry.commands.imports.import_credential(tampered, source="t.json", actor=OPERATOR, unverified=True)
    found = registry.queries.imported(done.id)
    assert (found.verdict, found.unverified) == ("INVALID", True)
    assert any(c["name"] == "proof" and c["outcome"] == "fail" for c in found.checks)


def test_a_vc_jwt_and_a_baked_png_are_imported(registry):
    jwt, issuer = a_jwt()
    done = registry.commands.imports.import_credential(jwt + "\n", source="token.jwt", actor=OPERATOR)
    found = registry.queries.imported(done.id)
    assert (found.format, found.verdict, found.issuer) == ("ob3-vc-jwt", "VALID", issuer)
    baked = baking.bake_png(a_png(), example())
    done = registry.commands.imports.import_credential(baked, source="badge.png", actor=OPERATOR)
    found = registry.queries.imported(done.id)
    assert (found.format, found.baked, found.verdict) == ("ob3-json-ld", "png", "VALID")


@pytest.mark.parametrize("data, message", [
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "PNG"),
    (json.dumps({"@context": "https://w3id.org/openbadges/v2", "type": "Assertion", "id": "https://x.example/a"}),
     "the assertion declares no verification type (HostedBadge or SignedBadge)"),
    ("[1, 2]", "bad[0]: a badge is an object, a JWS or a URL, got int"),
    ("true", "expected a credential (a JSON object)"),
    ("eyJhbGciOiJub25lIn0.eyJ2YyI6IHt9fQ.", "a JWS without a signature (alg none"),
    ('{"a": 1, "a": 2}', "twice"),
    (b"\xff\xfe{}", "neither UTF-8 text nor a baked PNG or SVG"),
    ("{" * 5000, "nested"),
])
def test_bad_input_is_refused_with_its_reason_and_stores_nothing(registry, data, message):
    before = registry.store.max_position()
    with pytest.raises((DocumentError, DomainError), match=re.escape(message)):
        registry.commands.imports.import_credential(data, source="bad", actor=OPERATOR)
    assert registry.store.max_position() == before


def test_a_credential_of_this_registry_is_not_imported(registry):
    registry.commands.issuers.register(slug="acme", name="Acme", actor=OPERATOR)
    badge = registry.commands.achievements.define(issuer="acme", actor=OPERATOR, definition={
        "name": "Teamwork", "description": "T.", "criteria": {"narrative": "T."}}).id
    ours = registry.commands.credentials.issue(Award("did:example:ada", badge), actor=OPERATOR).document
    with pytest.raises(DomainError, match="was issued in this registry: nothing to import"):
        registry.commands.imports.import_credential(json.dumps(ours), source="ours.json", actor=OPERATOR)


@pytest.mark.parametrize("store_kind", ["sqlite"])
def test_the_command_line_imports_files_and_urls(cli):
    path = cli.write("badge.json", example())
    jwt, _ = a_jwt()
    token_file = cli.write("badge.jwt", jwt)
    given = cli.write("remote.json", (STANDARDS / "endorsement-valid.json").read_text())
    imported = cli.ok("credential", "import", path, token_file, "--json").json()
    assert [(i["verdict"], i["source"]) for i in imported] == [("VALID", str(path)), ("VALID", str(token_file))]
    cli.refused("credential", "import", cli.write("bad.json", (STANDARDS / "simple-err-expired.json").read_text()),
                match="the credential is INVALID (valid-until: expired at 2010-01-01T00:00:00Z")
    # A URL, its bytes given instead of fetched; an endorsement is no credential to import.
    cli.refused("credential", "import", "https://platform.example/e.json",
                "--document", f"https://platform.example/e.json={given}", match="not an OB 3.0 credential")
    # Fetched under the verifier's network policy: a private address is refused in one line.
    cli.refused("credential", "import", "https://127.0.0.1:9/badge.json", match="127.0.0.1")


def test_http_imports_the_bytes_as_they_came_and_reads_them_back(api):
    text = example()
    made = api.client.post("/imports?source=https://platform.example/1", content=text.encode(),
                           headers=api.auth(api.admin, **{"Content-Type": "application/ld+json"}))
    assert made.status_code == 201, made.text
    # The original (its recipient may be in plain) only for the operator or the issuing organisation.
    assert api.client.get(f"/imports/{made.json()['id']}").json()["original"] is None
    shown = api.client.get(f"/imports/{made.json()['id']}", headers=api.auth(api.admin)).json()
    assert shown["original"] == text and shown["verdict"] == "VALID" and shown["source"] == "https://platform.example/1"
    assert [i["id"] for i in api.client.get("/imports").json()["items"]] == [made.json()["id"]]
    baked = api.client.post("/imports?source=badge.png", content=baking.bake_png(a_png(), text),
                            headers=api.auth(api.admin, **{"Content-Type": "image/png"}))
    assert baked.status_code == 201 and baked.json()["id"] == made.json()["id"]  # the same credential
    tampered = (STANDARDS / "simple-err-proof-value.json").read_bytes()
    refused = api.client.post("/imports", content=tampered, headers=api.auth(api.admin, **{"Content-Type": "application/json"}))
    assert_problem(refused, 422)
    assert "nothing was imported" in refused.json()["detail"]
    # Importing what another organisation issued is the operator's, not an organisation's key's.
    key = api.register("acme")
    other = api.client.post("/imports", content=tampered, headers=api.auth(key, **{"Content-Type": "application/json"}))
    assert other.status_code in (403, 422)
    assert api.client.get("/imports/nothing").status_code == 404


@pytest.mark.parametrize("store_kind", ["sqlite"])
def test_an_organisations_page_lists_what_it_imported(registry):
    """A registered organisation's credentials from elsewhere appear on its page, marked imported."""
    from litestar.testing import TestClient

    from registry.api import create_app
    key = ed25519.Ed25519PrivateKey.generate()
    issuer = did.did_key(key.public_key().public_bytes_raw())
    registry.commands.issuers.register(slug="uni", name="Example University", did=issuer, actor=OPERATOR)
    jwt, _ = a_jwt(key, now=True)
    registry.commands.imports.import_credential(jwt, source="https://old-platform.example/b/1", actor=Actor(
        "uni-key", issuer="uni"))
    # Signed in 2025, before it registered: a did:key is its own key from the start, so what it
    # signed on its old platform is its own (a registry-held key has no such past: see test_verification).
    older = token(credential(issuer, id="urn:uuid:0b7c9f0e-5a1d-4c0e-9d55-2f5b8c1e7a90"), key, "EdDSA",
                  kid=f"{issuer}#{issuer[8:]}")
    done = registry.commands.imports.import_credential(older, source="old.jwt", actor=Actor("uni-key", issuer="uni"))
    history = next(c for c in registry.queries.imported(done.id).checks if c["name"] == "key-history")
    assert history["outcome"] == "pass" and "before did:key:" in history["reason"]
    with TestClient(create_app(registry)) as client:
        html = client.get("/pages/issuers/uni").text
        dutch = client.get("/pages/issuers/uni?lang=nl").text
    assert "Imported credentials" in html and "Teamwork</a> <span class=\"badge\">imported</span>" in html
    assert "https://old-platform.example/b/1" in html and "Geïmporteerde credentials" in dutch
