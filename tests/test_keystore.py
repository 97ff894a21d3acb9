"""The keystore: encrypted Ed25519 keys under a scrypt passphrase or a 0600 master key file.

Private key bytes are recovered here by decrypting the documented file format with the master key,
which both proves the files are really encrypted and gives the tests the secret to look for: raw,
hex, base64 (any flavour), base58/multibase/Multikey, PKCS#8 (DER and PEM)."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import base58
import msgspec
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from registry.cli import main
from registry.commands import Actor, Award
from registry.keystore import Keystore, KeystoreError
from registry.vc.errors import DocumentError
from registry.vc.multikey import decode_public_key

DATA = b"sign me"


# --- recovering the secrets, and looking for them ---------------------------------------------------


def master_key(directory: Path, passphrase: str | None = None) -> bytes:
    manifest = json.loads((directory / "keystore.json").read_text())
    if manifest["kdf"] == "keyfile":
        return (directory / "master.key").read_bytes()
    kdf = Scrypt(salt=base64.b64decode(manifest["salt"]), length=32, n=manifest["n"], r=manifest["r"],
                 p=manifest["p"])
    return kdf.derive(passphrase.encode())


def private_keys(directory: Path, passphrase: str | None = None) -> dict[str, bytes]:
    """Every private key in the keystore, by public Multikey, decrypted from its file."""
    master, found = master_key(directory, passphrase), {}
    for path in directory.glob("*.key.json"):
        record = json.loads(path.read_text())
        public = record["publicKeyMultibase"]
        raw = AESGCM(master).decrypt(base64.b64decode(record["nonce"]), base64.b64decode(record["sealed"]),
                                     public.encode())
        derived = Ed25519PrivateKey.from_private_bytes(raw).public_key().public_bytes_raw()
        assert derived == decode_public_key(public)  # the right secret, so the searches mean something
        found[public] = raw
    return found


def encodings(raw: bytes) -> list[bytes]:
    """The forms a 32-byte Ed25519 seed could be written in."""
    private = Ed25519PrivateKey.from_private_bytes(raw)
    full = raw + private.public_key().public_bytes_raw()  # the 64-byte (NaCl) form
    der = private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    forms: list[bytes] = [raw, full, der, pem.splitlines()[1]]
    for value in (raw, full):
        forms += [value.hex().encode(), value.hex().upper().encode()]
        for encoded in (base64.b64encode(value), base64.urlsafe_b64encode(value)):
            forms += [encoded, encoded.rstrip(b"=")]
        forms += [base58.b58encode(value), b"z" + base58.b58encode(value)]
    forms.append(b"z" + base58.b58encode(b"\x80\x26" + raw))  # Multikey secret key
    return forms


def leaks(blob: bytes, secrets: dict[str, bytes]) -> list[str]:
    found = []
    for public, raw in secrets.items():
        found += [f"{public}: {form[:12]!r}..." for form in encodings(raw) if form in blob]
    return found


def read_all(directory: Path) -> bytes:
    return b"\n".join(p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file())


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_leak_detector_finds_every_form():
    raw = os.urandom(32)
    secrets = {"k": raw}
    for form in encodings(raw):
        assert leaks(b"prefix " + form + b" suffix", secrets), form
    assert leaks(os.urandom(256), secrets) == []


# --- files -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("passphrase", [None, "correct horse battery staple"])
def test_files_are_private_and_hold_no_plain_private_key(tmp_path, passphrase):
    keystore = Keystore(tmp_path / "keys", passphrase)
    publics = [keystore.generate() for _ in range(3)]
    files = sorted((tmp_path / "keys").iterdir())
    assert {p.name for p in files} >= {f"{pub}.key.json" for pub in publics} | {"keystore.json"}
    assert ("master.key" in {p.name for p in files}) == (passphrase is None)
    assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
    assert mode(tmp_path / "keys") & 0o077 == 0
    secrets = private_keys(tmp_path / "keys", passphrase)
    assert set(secrets) == set(publics)
    assert leaks(read_all(tmp_path / "keys"), secrets) == []
    if passphrase:
        assert passphrase.encode() not in read_all(tmp_path / "keys")


def test_signatures_verify_and_a_reopened_keystore_still_signs(tmp_path):
    public = Keystore(tmp_path / "keys").generate()
    reopened = Keystore(tmp_path / "keys")
    assert reopened.holds(public)
    signature = reopened.sign(public, DATA)
    Ed25519PublicKey.from_public_bytes(decode_public_key(public)).verify(signature, DATA)
    signer = reopened.signer(public, f"did:web:badges.test:issuers:acme#{public}")
    Ed25519PublicKey.from_public_bytes(decode_public_key(public)).verify(signer.sign(DATA), DATA)


def test_passphrase_keystore_needs_its_passphrase(tmp_path):
    public = Keystore(tmp_path / "keys", "right passphrase").generate()
    with pytest.raises(KeystoreError, match="wrong passphrase"):
        Keystore(tmp_path / "keys", "wrong passphrase")
    with pytest.raises(KeystoreError, match="REGISTRY_KEYSTORE_PASSPHRASE"):
        Keystore(tmp_path / "keys")
    reopened = Keystore(tmp_path / "keys", "right passphrase")
    Ed25519PublicKey.from_public_bytes(decode_public_key(public)).verify(reopened.sign(public, DATA), DATA)


def test_key_file_keystore_refuses_a_passphrase_and_a_readable_master_key(tmp_path):
    Keystore(tmp_path / "keys").generate()
    with pytest.raises(KeystoreError, match="not a passphrase"):
        Keystore(tmp_path / "keys", "some passphrase")
    os.chmod(tmp_path / "keys" / "master.key", 0o644)
    with pytest.raises(KeystoreError, match="readable by others"):
        Keystore(tmp_path / "keys")


def test_a_replaced_master_key_is_refused(tmp_path):
    Keystore(tmp_path / "keys").generate()
    master = tmp_path / "keys" / "master.key"
    master.write_bytes(os.urandom(32))
    with pytest.raises(KeystoreError, match="wrong passphrase or master key"):
        Keystore(tmp_path / "keys")


def tamper(path: Path, field: str) -> None:
    record = json.loads(path.read_text())
    data = bytearray(base64.b64decode(record[field]))
    data[len(data) // 2] ^= 0x01
    record[field] = base64.b64encode(bytes(data)).decode()
    path.write_text(json.dumps(record))


@pytest.mark.parametrize("field", ["sealed", "nonce"])
def test_a_tampered_key_file_is_refused(tmp_path, field):
    public = Keystore(tmp_path / "keys").generate()
    tamper(tmp_path / "keys" / f"{public}.key.json", field)
    keystore = Keystore(tmp_path / "keys")  # a fresh process: nothing cached
    with pytest.raises(KeystoreError, match="does not decrypt"):
        keystore.sign(public, DATA)
    with pytest.raises(KeystoreError):
        keystore.signer(public, "did:web:x#y")


def test_a_key_file_moved_to_another_keys_name_is_refused(tmp_path):
    keystore = Keystore(tmp_path / "keys")
    first, second = keystore.generate(), keystore.generate()
    directory = tmp_path / "keys"
    (directory / f"{second}.key.json").write_bytes((directory / f"{first}.key.json").read_bytes())
    with pytest.raises(KeystoreError):
        Keystore(directory).sign(second, DATA)


def test_unknown_keys_and_path_tricks_are_refused(tmp_path):
    keystore = Keystore(tmp_path / "keys")
    other = Keystore(tmp_path / "other").generate()
    assert not keystore.holds(other)
    with pytest.raises(KeystoreError, match="holds no private key"):
        keystore.sign(other, DATA)
    for name in ("../other/" + other, "/etc/passwd", ""):
        with pytest.raises(DocumentError):
            keystore.sign(name, DATA)


def test_reprs_show_no_key_material(tmp_path):
    keystore = Keystore(tmp_path / "keys")
    public = keystore.generate()
    shown = (repr(keystore) + repr(keystore.signer(public, f"did:web:x#{public}"))).encode()
    assert leaks(shown, private_keys(tmp_path / "keys")) == []
    assert master_key(tmp_path / "keys").hex().encode() not in shown


def test_recipient_references_are_keyed_stable_and_case_insensitive(tmp_path):
    keystore, other = Keystore(tmp_path / "keys"), Keystore(tmp_path / "other")
    reference = keystore.recipient_reference("Amira@Example.org")
    assert reference == keystore.recipient_reference(" amira@example.org ")
    assert reference == Keystore(tmp_path / "keys").recipient_reference("amira@example.org")
    assert reference != keystore.recipient_reference("bram@example.org")
    assert reference != other.recipient_reference("amira@example.org")  # keyed: no dictionary attack
    assert "amira" not in reference.lower()


# --- private keys never leave the keystore ---------------------------------------------------------


def test_private_keys_never_reach_the_event_store(registry, clock, store_kind, raw_db, tmp_path):
    keys = tmp_path / "keys"  # the registry's keystore (REGISTRY_KEYS)
    commands, actor = registry.commands, Actor("t")
    commands.issuers.register(slug="acme", name="Acme", actor=actor)
    commands.issuers.register(slug="techbouw", name="Techbouw", actor=actor)
    badge = commands.achievements.define(issuer="acme", actor=actor, definition={
        "name": "Teamwork", "description": "d", "criteria": {"narrative": "n"}}).id
    commands.credentials.issue(Award("a@example.org", badge), actor=actor)
    commands.issuers.rotate_key("acme", actor=actor)
    commands.credentials.issue(Award("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", badge),
                               actor=actor)
    [vm] = [k.verification_method for k in registry.queries.keys("acme") if k.state == "active"]
    commands.issuers.report_compromise("acme", verification_method=vm, since=clock(), actor=actor)
    commands.endorsements.endorse(by="techbouw", subject="acme", comment="Trusted.", actor=actor)
    secrets = private_keys(keys)
    assert len(secrets) == 5  # acme's three keys, techbouw's one and the transparency log's

    exported = b"\n".join(msgspec.json.encode(e) for e in registry.queries.export())
    assert leaks(exported, secrets) == []
    table = "stored_events" if store_kind == "sqlite" else "registry_events"
    rows = raw_db.execute(f"SELECT * FROM {table}")
    assert len(rows) == registry.store.max_position()
    stored = b"\n".join(bytes(cell) if isinstance(cell, (bytes, memoryview)) else str(cell).encode()
                        for row in rows for cell in row)
    assert leaks(stored, secrets) == []


def test_private_keys_never_appear_in_cli_output(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("REGISTRY_DATABASE_URL", raising=False)
    monkeypatch.delenv("REGISTRY_KEYSTORE_PASSPHRASE", raising=False)
    monkeypatch.setenv("REGISTRY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("REGISTRY_KEYS", str(tmp_path / "keys"))
    monkeypatch.setenv("REGISTRY_PUBLIC_URL", "https://badges.test")
    monkeypatch.chdir(tmp_path)
    output = []

    def run(*argv: str) -> None:
        status = main(list(argv))
        captured = capsys.readouterr()
        output.append(captured.out + captured.err)
        assert status == 0, (argv, captured.err)  # the output searched is the command's real answer

    run("demo", "--json")
    run("issuer", "list", "--json")
    for slug in ("softskills4eu", "techbouw"):
        run("issuer", "show", slug, "--json")
        run("did", slug)
        run("keys", "rotate", slug, "--json")
    run("achievement", "list", "--json")
    run("export")
    run("init", "--json")
    secrets = private_keys(tmp_path / "keys")
    assert len(secrets) >= 7
    assert leaks("\n".join(output).encode(), secrets) == []
    assert leaks(read_all(tmp_path / "home"), secrets) == []
