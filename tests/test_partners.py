"""Partners sign for themselves: `registry endorsement key` and `endorsement sign` (no registry
needed), then `endorsement submit`; an organisation with its own did:web; duplicate endorsements
refused (CLI exit 2, HTTP 409); ladders, scores and pathways through the CLI and HTTP, with one
request shape for achievement writes (the HTTP body is what `achievement define --file` reads)."""

from __future__ import annotations

import json
import stat
import subprocess
import sys

import pytest
from test_api_support import api, api_factory, assert_problem  # noqa: F401
from test_cli import PUBLIC_URL, Cli, cli  # noqa: F401

from registry.vc import did as dids
from registry.vc import schema


@pytest.fixture
def store_kind() -> str:
    """These rules do not depend on the store: SQLite, except the tests marked BOTH_STORES."""
    return "sqlite"


BOTH_STORES = pytest.mark.parametrize("store_kind", ["sqlite", "postgres"])


@pytest.fixture
def consortium(cli) -> Cli:
    cli.ok("issuer", "register", "--slug", "acme", "--name", "Acme Academy", "--kind", "education")
    return cli


def partner_key(cli: Cli, name: str = "partner.pem") -> tuple[str, str]:
    made = cli.ok("endorsement", "key", "--out", cli.dir / name, "--json").json()
    return str(cli.dir / name), made["did"]


def test_a_partner_makes_a_key_signs_and_submits_its_own_endorsement(consortium):
    cli = consortium
    key_file, did = partner_key(cli)
    assert stat.S_IMODE((cli.dir / "partner.pem").stat().st_mode) == 0o600
    assert did.startswith("did:key:z6Mk")
    cli.refused("endorsement", "key", "--out", key_file, match="never overwritten")
    cli.ok("issuer", "register", "--slug", "partner", "--name", "Partner B.V.", "--did", did, "--kind", "employer")
    acme_did = cli.ok("issuer", "show", "acme", "--json").json()["did"]

    signed = cli.ok("endorsement", "sign", "--key", key_file, "--subject", acme_did, "--name", "Partner B.V.",
                    "--comment", "We hire their graduates.", "--out", cli.dir / "e.json")
    assert "endorsement submit" in signed.err
    document = json.loads((cli.dir / "e.json").read_text())
    assert document["issuer"]["id"] == did and document["credentialSubject"]["id"] == acme_did
    assert "EndorsementCredential" in document["type"] and schema.check(document).ok
    assert document["proof"][0]["verificationMethod"] == f"{did}#{did.removeprefix('did:key:')}"
    given = cli.ok("endorsement", "submit", cli.dir / "e.json").out.strip()
    listed = cli.ok("endorsements", "--of", "acme", "--json").json()
    assert [e["id"] for e in listed] == [given] and listed[0]["custodial"] is False

    # The same endorsement again, signed afresh: refused, naming the one that stands.
    cli.ok("endorsement", "sign", "--key", key_file, "--subject", acme_did, "--name", "Partner B.V.",
           "--comment", "Again.", "--out", cli.dir / "again.json")
    cli.refused("endorsement", "submit", cli.dir / "again.json", match=f"partner already endorses {acme_did} (endorsement {given})")
    # Withdrawn, it may be given anew.
    cli.ok("endorsement", "withdraw", given, "--reason", "renewing")
    cli.ok("endorsement", "submit", cli.dir / "again.json")


def test_sign_refuses_what_the_registry_would_refuse(cli):
    key_file, did = partner_key(cli)
    base = ("endorsement", "sign", "--key", key_file, "--name", "P", "--comment", "c")

    def refused(*argv, match):
        result = cli(*base, *argv)
        assert result.code == 2 and result.out == "" and match in result.err, result.err
        assert len(result.err.splitlines()) == 1

    refused("--subject", "acme", match="the subject must be an IRI")
    refused("--subject", "did:web:x.example", "--did", "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
            match="is not the did:key of this key file")
    refused("--subject", "did:web:x.example", "--verification-method", "did:web:other#k",
            match="is not one of")
    (cli.dir / "rsa.pem").write_bytes(subprocess.run(
        ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"],
        capture_output=True, check=True).stdout)
    result = cli("endorsement", "sign", "--key", cli.dir / "rsa.pem", "--subject", "did:web:x.example",
                 "--name", "P", "--comment", "c")
    assert result.code == 2 and "not an Ed25519 key" in result.err
    (cli.dir / "junk.pem").write_text("not a key")
    result = cli("endorsement", "sign", "--key", cli.dir / "junk.pem", "--subject", "did:web:x.example",
                 "--name", "P", "--comment", "c")
    assert result.code == 2 and "not an unencrypted PEM private key" in result.err


def test_openssl_keys_work_and_an_own_did_web_partner_is_verified_by_its_registered_key(consortium):
    cli = consortium
    pem = subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519"], capture_output=True, check=True).stdout
    (cli.dir / "openssl.pem").write_bytes(pem)
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    from registry.vc.multikey import encode_public_key
    multikey = encode_public_key(load_pem_private_key(pem, None).public_key().public_bytes_raw())
    own = "did:web:partner.example"
    cli.refused("issuer", "register", "--slug", "webpartner", "--name", "Web Partner", "--did", own,
                match="needs its public key")
    cli.ok("issuer", "register", "--slug", "webpartner", "--name", "Web Partner", "--did", own,
           "--public-key", multikey, "--kind", "government")
    badge = cli.ok("achievement", "define", "--issuer", "acme", "--name", "Teamwork", "--description", "T.",
                   "--criteria", "C.").out.strip()
    cli.ok("endorsement", "sign", "--key", cli.dir / "openssl.pem", "--did", own, "--name", "Web Partner",
           "--subject", f"{PUBLIC_URL}/achievements/{badge}", "--comment", "Recognised.", "--out", cli.dir / "w.json")
    document = json.loads((cli.dir / "w.json").read_text())
    assert document["proof"][0]["verificationMethod"] == f"{own}#{multikey}"
    cli.ok("endorsement", "submit", cli.dir / "w.json")
    assert cli("verify", cli.dir / "w.json").code == 0
    # Signed by another key than the registered one: refused.
    cli.ok("endorsement", "key", "--out", cli.dir / "other.pem")
    cli.ok("endorsement", "sign", "--key", cli.dir / "other.pem", "--did", own, "--name", "Web Partner",
           "--subject", "did:web:elsewhere.example", "--comment", "x", "--out", cli.dir / "forged.json")
    cli.refused("endorsement", "submit", cli.dir / "forged.json", match="does not verify")


def test_ladders_and_pathways_from_the_command_line(consortium):
    cli = consortium
    module = cli.ok("achievement", "define", "--issuer", "acme", "--name", "Teamwork", "--description", "T.",
                    "--criteria", "Scored.", "--level", "Sufficient=60", "--level", "Good=71",
                    "--level", "Excellent=85", "--score-range", "0-100").out.strip()
    pathway = cli.ok("achievement", "define", "--issuer", "acme", "--name", "Star", "--description", "S.",
                     "--criteria", "Teamwork at Excellent.", "--requires", f"{module}@Excellent",
                     "--automatic").out.strip()
    cli.refused("issue", "--achievement", module, "--recipient", "ada@example.org", "--score", "42",
                match="reaches no level")
    first = cli.ok("issue", "--achievement", module, "--recipient", "ada@example.org", "--score", "80")
    assert "also awarded" not in first.err
    second = cli.ok("issue", "--achievement", module, "--recipient", "ada@example.org", "--score", "91", "--json")
    awarded = second.json()["also_awarded"]
    assert len(awarded) == 1 and f"also awarded automatically: Star ({awarded[0]})" in second.err
    assert cli.ok("status", awarded[0]).out.strip().startswith("active")
    listed = {a["id"]: a for a in cli.ok("achievement", "list", "--json").json()}
    assert listed[pathway]["requires"] == [module]


def test_a_batch_file_takes_scores(consortium):
    cli = consortium
    module = cli.ok("achievement", "define", "--issuer", "acme", "--name", "Teamwork", "--description", "T.",
                    "--criteria", "Scored.", "--level", "Sufficient=60", "--level", "Excellent=85").out.strip()
    batch = cli.write("batch.csv", f"recipient,achievement,score\nada@example.org,{module},88\nbo@example.org,{module},61\n")
    ids = cli.ok("issue", "--batch", batch).out.split()
    shown = [cli.ok("credential", "show", i, "--json").json() for i in ids]
    levels = [(s.get("document") or s)["credentialSubject"]["result"][0]["achievedLevel"].rsplit("#", 1)[1] for s in shown]
    assert levels == ["excellent", "sufficient"]


def test_the_cli_reads_the_http_request_body_for_achievements(consortium):
    cli = consortium
    first = cli.ok("achievement", "define", "--issuer", "acme", "--name", "First", "--description", "F.",
                   "--criteria", "C.").out.strip()
    body = {"issuer": "acme", "requires": [first], "automatic": True,
            "definition": {"name": "Both", "description": "B.", "criteria": {"narrative": "C."}}}
    made = cli.ok("achievement", "define", "--file", cli.write("body.json", body)).out.strip()
    listed = {a["id"]: a for a in cli.ok("achievement", "list", "--json").json()}
    assert listed[made]["requires"] == [first]
    cli.refused("achievement", "define", "--file", cli.write("bad.json", {**body, "colour": "red"}),
                match="unknown fields ['colour'] beside definition")


@BOTH_STORES
def test_http_issues_by_score_awards_pathways_and_refuses_a_duplicate_endorsement(api):
    acme = api.register("acme")
    techbouw = api.register("techbouw")
    ladder = {"name": "Score", "rubricCriterionLevel": [{"name": "Good", "points": "70"}, {"name": "Top", "points": "90"}]}
    module = api.ok("/achievements", {"definition": {"name": "Teamwork", "description": "T.", "criteria": {"narrative": "S."},
                                                     "resultDescription": [ladder]}}, acme, status=201)["id"]
    star = api.ok("/achievements", {"definition": {"name": "Star", "description": "S.", "criteria": {"narrative": "S."}},
                                    "requires": [{"achievement": module, "level": "Top"}], "automatic": True},
                  acme, status=201)["id"]
    assert api.client.get("/achievements").json()["items"][1]["automatic"] is True
    low = api.ok("/credentials", {"recipient": "ada@example.org", "achievement": module, "score": "75"}, acme, status=201)
    assert low["also_awarded"] == [] and low["document"]["credentialSubject"]["result"][0]["achievedLevel"].endswith("#good")
    top = api.ok("/credentials", {"recipient": "ada@example.org", "achievement": module, "score": "95"}, acme, status=201)
    assert len(top["also_awarded"]) == 1
    assert api.client.get(f"/credentials/{top['also_awarded'][0]}/status").json()["achievement_id"] == star
    refused = api.post("/credentials", {"recipient": "ada@example.org", "achievement": module, "score": "5"}, acme)
    assert_problem(refused, 422)

    api.ok("/endorsements", {"subject": "acme", "comment": "Good."}, techbouw, status=201)
    again = api.post("/endorsements", {"subject": "acme", "comment": "Good again."}, techbouw)
    assert_problem(again, 409)
    assert "techbouw already endorses" in again.json()["detail"]


def test_organisation_kinds_are_one_vocabulary(api):
    from registry.api.schemas import OrganisationKind
    from registry.domain.issuer import ORGANISATION_KINDS
    assert OrganisationKind.__args__ == ORGANISATION_KINDS
    refused = api.post("/issuers", {"slug": "x", "name": "X", "kind": "company"})
    assert_problem(refused, 422, "kind")
    api.ok("/issuers", {"slug": "x", "name": "X", "kind": "employer"}, status=201)
    assert api.client.get("/issuers/x").json()["kind"] == "employer"


def test_endorsement_sign_needs_no_registry(tmp_path):
    """Run as a partner would, where no registry lives: nothing is created but the files asked for."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "REGISTRY_HOME": str(tmp_path / "absent")}
    run = lambda *a: subprocess.run([sys.executable, "-m", "registry.cli", *a], env=env, cwd=tmp_path,  # noqa: E731
                                    capture_output=True, text=True, timeout=60)
    made = run("endorsement", "key", "--out", "k.pem")
    assert made.returncode == 0, made.stderr
    did = made.stdout.strip()
    signed = run("endorsement", "sign", "--key", "k.pem", "--subject", "did:web:badges.example:issuers:acme",
                 "--name", "P", "--comment", "Good.")
    assert signed.returncode == 0, signed.stderr
    assert json.loads(signed.stdout)["issuer"]["id"] == did == dids.did_key(
        __import__("registry.vc.did", fromlist=["x"]).public_key_from_did_key(did))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.pem"]


@BOTH_STORES
def test_an_organisation_with_its_own_key_submits_the_credentials_it_signed(consortium):
    """An external issuer (its own did:key) signs an OpenBadgeCredential of an achievement the
    registry publishes for it; the registry logs it after checking the proof against the registered
    key, its status is the registry's record, and what does not fit is refused with its reason."""
    from datetime import datetime, timezone

    from registry.vc import openbadges, proofs
    from registry.vc.endorsing import KeyFileSigner, load_key
    from registry.vc.openbadges import xsd_datetime

    cli = consortium
    key_file, did = partner_key(cli)
    cli.ok("issuer", "register", "--slug", "own", "--name", "Own Key Academy", "--did", did)
    badge = cli.ok("achievement", "define", "--issuer", "own", "--name", "Welding", "--description", "Welds.",
                   "--criteria", "Passed the welding test.").out.strip()
    published = cli.ok("achievement", "show", badge, "--json").json()
    private = load_key((cli.dir / "partner.pem").read_bytes())
    signer = KeyFileSigner(private, f"{did}#{did.removeprefix('did:key:')}")
    now = xsd_datetime(datetime.now(timezone.utc))

    def signed(credential_id: str, achievement: dict = published, **extra) -> str:
        document = openbadges.open_badge_credential(
            credential_id, openbadges.profile(did, "Own Key Academy"), achievement,
            {"id": "did:example:welder"}, valid_from=now)
        document.update(extra)
        return json.dumps(proofs.sign(document, signer, created=now))

    path = cli.write("own.json", signed("urn:uuid:0b6f0d8e-5a57-4d3a-9b8e-2f1c9a7e0c11"))
    logged = cli.ok("credential", "submit", path).out.strip()
    assert logged == "0b6f0d8e-5a57-4d3a-9b8e-2f1c9a7e0c11"
    assert cli("verify", path).code == 0
    assert json.loads(cli.ok("credential", "show", logged).out) == json.loads(path.read_text())
    cli.refused("credential", "submit", path, match="was already submitted")
    # A credential with a URL id is logged under an id derived from it, and found by verification.
    other = cli.write("url-id.json", signed("https://own.example/credentials/42"))
    cli.ok("credential", "submit", other)
    assert cli("verify", other).code == 0
    cli.ok("revoke", logged, "--reason", "issued in error")
    assert cli("verify", path).code == 1

    changed = dict(published, name="Welding (master)")
    cli.refused("credential", "submit", cli.write("changed.json", signed("urn:uuid:1c6f0d8e-5a57-4d3a-9b8e-2f1c9a7e0c12",
                                                                         changed)),
                match="differs from every published version of Welding")
    ours = {"id": "https://badges.test/status-lists/own/1#7", "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation", "statusListIndex": "7",
            "statusListCredential": "https://badges.test/status-lists/own/1"}
    cli.refused("credential", "submit", cli.write("status.json", signed("urn:uuid:2c6f0d8e-5a57-4d3a-9b8e-2f1c9a7e0c13",
                                                                        credentialStatus=ours)),
                match="only the registry allocates their entries")
    forged = json.loads(signed("urn:uuid:3c6f0d8e-5a57-4d3a-9b8e-2f1c9a7e0c14"))
    forged["credentialSubject"]["id"] = "did:example:someone-else"
    cli.refused("credential", "submit", cli.write("forged.json", forged), match="does not verify")
    # Another organisation's achievement cannot be awarded by this one.
    acme_badge = cli.ok("achievement", "define", "--issuer", "acme", "--name", "Acme", "--description", "A.",
                        "--criteria", "A.").out.strip()
    cli.refused("credential", "submit", cli.write("theirs.json", signed(
        "urn:uuid:4c6f0d8e-5a57-4d3a-9b8e-2f1c9a7e0c15", cli.ok("achievement", "show", acme_badge, "--json").json())),
        match="is not own's")


def test_a_submitted_credential_with_its_issuers_own_list_needs_both_to_say_it_stands(consortium):
    """Logged here and listed on the issuer's own Bitstring Status List: VALID only when the
    registry's record and that list both say it stands; the list revoked, INVALID; the list not to
    be had, INDETERMINATE (never VALID on the registry's word alone)."""
    from datetime import datetime, timezone

    from registry.vc import openbadges, proofs, status_list
    from registry.vc.endorsing import KeyFileSigner, load_key
    from registry.vc.openbadges import xsd_datetime

    cli = consortium
    key_file, did = partner_key(cli)
    cli.ok("issuer", "register", "--slug", "own", "--name", "Own Key Academy", "--did", did)
    badge = cli.ok("achievement", "define", "--issuer", "own", "--name", "Welding", "--description", "Welds.",
                   "--criteria", "Passed.").out.strip()
    signer = KeyFileSigner(load_key((cli.dir / "partner.pem").read_bytes()), f"{did}#{did.removeprefix('did:key:')}")
    now = xsd_datetime(datetime.now(timezone.utc))
    list_url = "https://own.example/status/1"
    document = openbadges.open_badge_credential(
        "urn:uuid:5c6f0d8e-5a57-4d3a-9b8e-2f1c9a7e0c16", openbadges.profile(did, "Own Key Academy"),
        cli.ok("achievement", "show", badge, "--json").json(), {"id": "did:example:welder"}, valid_from=now)
    document["credentialStatus"] = status_list.entry(list_url, 7)
    credential = cli.write("own.json", proofs.sign(document, signer, created=now))
    cli.ok("credential", "submit", credential)

    def listed(*revoked: int) -> str:
        made = status_list.status_list_credential(list_url, did, status_list.encode(revoked), valid_from=now)
        return str(cli.write(f"list-{len(revoked)}.json", proofs.sign(made, signer, created=now)))

    assert cli("verify", credential, "--document", f"{list_url}={listed()}").code == 0
    revoked = cli("verify", credential, "--document", f"{list_url}={listed(7)}")
    assert revoked.code == 1 and f"status: revocation: entry 7 of {list_url}" in revoked.out
    assert cli("verify", credential, "--offline").code == 3
