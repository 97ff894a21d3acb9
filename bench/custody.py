"""Signing with keys in an HSM (a SoftHSM2 token over PKCS#11) beside the file keystore, in the same run:
raw Ed25519 signatures/s through each custody, and credentials issued/s (sign, log, store) through a
registry using each. SoftHSM2 is software, so this measures the PKCS#11 path's overhead (a call
through the library, one session shared under a lock), not a hardware HSM's speed.

    .venv/bin/python bench/custody.py            # needs Debian's softhsm2 and python-pkcs11

Figures: a table, and JSON in bench/results/custody.json."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, write_results  # noqa: E402

from registry.bootstrap import open_registry  # noqa: E402
from registry.commands import Actor, Award  # noqa: E402

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
RESULTS = Path(__file__).resolve().parent / "results" / "custody.json"
OPERATOR = Actor("bench")


def measure(env: dict[str, str], signatures: int, credentials: int) -> dict:
    registry = open_registry(env)
    try:
        commands = registry.commands
        commands.issuers.register(slug="acme", name="Acme", actor=OPERATOR)
        badge = commands.achievements.define(issuer="acme", actor=OPERATOR, definition={
            "name": "Welding", "description": "Welds.", "criteria": {"narrative": "Passed."}}).id
        custody = registry.custody or _keystore(registry)
        public = custody.generate()
        signer = custody.signer(public, "did:example:bench#key")
        start = time.perf_counter()
        for n in range(signatures):
            signer.sign(b"%d" % n)
        signs = signatures / (time.perf_counter() - start)
        start = time.perf_counter()
        for n in range(credentials):
            commands.credentials.issue(Award(f"learner{n}@example.org", badge, "8"), actor=OPERATOR)
        issued = credentials / (time.perf_counter() - start)
        return {"signatures_per_s": signs, "credentials_per_s": issued}
    finally:
        registry.close()


def _keystore(registry):
    from registry.keystore import Keystore
    return Keystore(registry.settings.keys_dir, registry.settings.keystore_passphrase)


def main() -> int:
    if not Path(MODULE).is_file():
        print(f"SoftHSM2 is not installed ({MODULE}): apt-get install softhsm2", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as home:
        (Path(home) / "tokens").mkdir()
        conf = Path(home) / "softhsm2.conf"
        conf.write_text(f"directories.tokendir = {home}/tokens\nobjectstore.backend = file\nlog.level = ERROR\n")
        os.environ["SOFTHSM2_CONF"] = str(conf)
        subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "bench", "--so-pin", "0000",
                        "--pin", "1234"], check=True, capture_output=True)
        base = {"REGISTRY_PUBLIC_URL": "https://badges.example.org"}
        results = {
            "file": measure({**base, "REGISTRY_HOME": f"{home}/file", "REGISTRY_KEYS": f"{home}/keys"}, 2000, 200),
            "pkcs11": measure({**base, "REGISTRY_HOME": f"{home}/hsm", "REGISTRY_KEYS": f"{home}/unused",
                               "REGISTRY_KEY_CUSTODY": "pkcs11", "REGISTRY_PKCS11_MODULE": MODULE,
                               "REGISTRY_PKCS11_TOKEN": "bench", "REGISTRY_PKCS11_PIN": "1234"}, 2000, 200),
        }
    print(f"{'custody':8} {'signatures/s':>13} {'credentials/s':>14}")
    for name, figures in results.items():
        print(f"{name:8} {figures['signatures_per_s']:13.0f} {figures['credentials_per_s']:14.1f}")
    ratio = results["pkcs11"]["credentials_per_s"] / results["file"]["credentials_per_s"]
    print(f"issuance through the token: {ratio:.2f} of the file keystore's (same run)")
    write_results(RESULTS, machine(), custody=results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
