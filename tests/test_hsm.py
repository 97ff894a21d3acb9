"""Keys in an HSM: the registry's key custody in a PKCS#11 token (SoftHSM2, Debian's `softhsm2`, a token
initialised here). Keys are made inside the token and never leave it; every host opening the token
signs with a key another host made a moment ago; credentials signed there verify like any other.
Without SoftHSM2 the tests are skipped with the reason; in CI (`CI=true`) they fail instead."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from registry.commands import Actor, Award
from registry.commands.custody import CustodyError

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
OPERATOR = Actor("test")
PIN = "4711-registry"


@pytest.fixture(scope="module")
def token(tmp_path_factory) -> dict[str, str]:
    """A fresh SoftHSM2 token in a directory of its own; the environment every host opens it with."""
    problem = None if Path(MODULE).is_file() else f"SoftHSM2 is not installed ({MODULE}): apt-get install softhsm2"
    if problem is None:
        try:
            import pkcs11  # noqa: F401
        except ImportError:
            problem = "python-pkcs11 is not installed"
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(problem)
        pytest.skip(problem)
    home = tmp_path_factory.mktemp("softhsm")
    (home / "tokens").mkdir()
    conf = home / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {home / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    # SoftHSM reads its configuration when the library is first loaded in a process: this file's
    # tests share one token, and the processes they start get the same variable.
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "registry", "--so-pin", "0000",
                    "--pin", PIN], check=True, capture_output=True, env={**os.environ})
    return {"REGISTRY_KEY_CUSTODY": "pkcs11", "REGISTRY_PKCS11_MODULE": MODULE, "REGISTRY_PKCS11_TOKEN": "registry",
            "REGISTRY_PKCS11_PIN": PIN, "SOFTHSM2_CONF": str(conf)}


@pytest.fixture
def store_kind() -> str:
    return "sqlite"


@pytest.fixture
def hsm_registry(open_registry, token):
    return open_registry(**token)


def private_objects(registry):
    """Every private and secret key in the token, read through the registry's own logged-in session
    (PKCS#11 allows one login per process)."""
    from pkcs11 import Attribute, ObjectClass

    session = registry.custody._session
    with registry.custody._lock:
        objects = [*session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY}),
                   *session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY})]
    return session, objects


def test_credentials_are_signed_in_the_token_and_verify(hsm_registry, registry_environ):
    commands = hsm_registry.commands
    commands.issuers.register(slug="acme", name="Acme Academy", actor=OPERATOR)
    badge = commands.achievements.define(issuer="acme", actor=OPERATOR, definition={
        "name": "Welding", "description": "Welds.", "criteria": {"narrative": "Passed."}}).id
    credential = commands.credentials.issue(Award("ada@example.org", badge, "8"), actor=OPERATOR).document
    assert hsm_registry.queries.verify(credential, recipient="ada@example.org").verdict == "VALID"
    # Nothing of a key is written beside the registry: the keystore directory stays empty.
    keys = Path(registry_environ["REGISTRY_KEYS"])
    assert not keys.exists() or not any(keys.iterdir())


def test_private_keys_never_leave_the_token(hsm_registry, token):
    import pkcs11
    from pkcs11 import Attribute

    hsm_registry.commands.issuers.register(slug="keys", name="Keys B.V.", actor=OPERATOR)
    session, objects = private_objects(hsm_registry)
    assert len(objects) >= 3  # an issuer's key, the log's key, the recipient-reference secret
    for key in objects:
        assert key[Attribute.SENSITIVE] is True and key[Attribute.EXTRACTABLE] is False
        assert key[Attribute.NEVER_EXTRACTABLE] is True and key[Attribute.ALWAYS_SENSITIVE] is True
        with pytest.raises(pkcs11.exceptions.AttributeSensitive):
            key[Attribute.VALUE]
    assert PIN not in repr(hsm_registry.settings) and PIN not in repr(hsm_registry.custody)


def test_a_key_one_host_rotates_signs_on_another_host_at_once(hsm_registry, token, registry_environ, tmp_path):
    """Host A (this process) rotates; host B (another process, the CLI) issues with the new key."""
    commands = hsm_registry.commands
    commands.issuers.register(slug="rotating", name="Rotating", actor=OPERATOR)
    badge = commands.achievements.define(issuer="rotating", actor=OPERATOR, definition={
        "name": "Cooking", "description": "Cooks.", "criteria": {"narrative": "Cooked."}}).id
    commands.issuers.rotate_key("rotating", actor=OPERATOR)
    active = [k for k in hsm_registry.queries.keys(hsm_registry.queries.issuer("rotating").id) if k.state == "active"]
    env = {**os.environ, **registry_environ, **token}
    run = subprocess.run([sys.executable, "-m", "registry.cli", "issue", "--achievement", badge,
                          "--recipient", "bo@example.org", "--json"],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr
    document = json.loads(run.stdout)["document"]
    assert document["proof"][0]["verificationMethod"] == active[0].verification_method \
        if isinstance(document["proof"], list) else document["proof"]["verificationMethod"] == active[0].verification_method
    assert hsm_registry.queries.verify(document).verdict == "VALID"
    # Both hosts know a learner by the same keyed hash: the secret is the token's, not a host's.
    other = subprocess.run([sys.executable, "-c", "import os; from registry.bootstrap import open_registry; "
                            "r = open_registry(os.environ); print(r.custody.recipient_reference('Bo@example.org')); r.close()"],
                           capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert other.returncode == 0, other.stderr
    assert other.stdout.strip() == hsm_registry.custody.recipient_reference("bo@example.org")


def test_custody_that_cannot_be_opened_says_why(open_registry, token, tmp_path):
    with pytest.raises(CustodyError, match="PIN of PKCS#11 token 'registry' is wrong"):
        open_registry(**{**token, "REGISTRY_PKCS11_PIN": "wrong"})
    with pytest.raises(CustodyError, match="no token labelled 'elsewhere'"):
        open_registry(**{**token, "REGISTRY_PKCS11_TOKEN": "elsewhere"})
    with pytest.raises(CustodyError, match="does not exist"):
        open_registry(**{**token, "REGISTRY_PKCS11_MODULE": str(tmp_path / "missing.so")})
    pin_file = tmp_path / "pin"
    pin_file.write_text(PIN)
    pin_file.chmod(0o644)
    settings = {**token, "REGISTRY_PKCS11_PIN": "", "REGISTRY_PKCS11_PIN_FILE": str(pin_file)}
    with pytest.raises(CustodyError, match="may be read by others: chmod 600"):
        open_registry(**settings)
    pin_file.chmod(0o600)
    assert open_registry(**settings).custody is not None


def test_the_command_line_reports_a_wrong_pin_in_one_line(token, registry_environ, tmp_path):
    env = {**os.environ, **registry_environ, **token, "REGISTRY_PKCS11_PIN": "wrong"}
    run = subprocess.run([sys.executable, "-m", "registry.cli", "issuer", "list"], capture_output=True, text=True,
                         env=env, cwd=tmp_path, timeout=120)
    assert run.returncode != 0
    assert run.stderr.strip().count("\n") == 0 and "PIN" in run.stderr, run.stderr
