"""Import speed of OB 3.0 credentials from another platform, beside the registry's verification speed
on the same documents in the same run (the target: importing at least as fast as verifying).

The documents: distinct OpenBadgeCredentials of a did:key issuer not registered here (so nothing is
fetched), each with a result and a hashed e-mail recipient, signed eddsa-rdfc-2022. Each import is
parsed and given the full verification report (`Queries.verify`); a round's imports are stored in one
transaction (`registry credential import FILE...` with several files), their `Imported` facts with
their provenance. The baseline verifies the same kind of documents with
`Queries.verify` alone. The two run in interleaved rounds on SQLite (and PostgreSQL with --postgres).

    .venv/bin/python bench/imports.py                 # SQLite, 3 rounds of 100
    .venv/bin/python bench/imports.py --postgres      # and PostgreSQL (a throwaway cluster)

Figures: a table, and JSON in bench/results/imports.json."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, write_results  # noqa: E402

from registry.bootstrap import open_registry  # noqa: E402
from registry.commands import Actor  # noqa: E402
from registry.vc import did, identity, openbadges, proofs  # noqa: E402
from registry.vc.openbadges import xsd_datetime  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "imports.json"
OPERATOR = Actor("bench")


class Signer:
    def __init__(self) -> None:
        self.key = Ed25519PrivateKey.generate()
        self.did = did.did_key(self.key.public_key().public_bytes_raw())
        self.verification_method = f"{self.did}#{self.did.removeprefix('did:key:')}"

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(data)


def documents(signer: Signer, n: int) -> list[str]:
    issuer = openbadges.profile(signer.did, "Elsewhere Academy", url="https://elsewhere.example")
    achievement = openbadges.achievement("https://elsewhere.example/achievements/teamwork", name="Teamwork",
                                         description="Works in a team.", criteria_narrative="Peer-reviewed.",
                                         creator=issuer)
    now = xsd_datetime(datetime.now(timezone.utc))
    made = []
    for i in range(n):
        subject = {"identifier": [identity.hashed_email_identity(f"learner{i}@example.org")]}
        document = openbadges.open_badge_credential(f"urn:uuid:{uuid.uuid4()}", issuer, achievement, subject,
                                                    valid_from=now, result=[openbadges.result(value=f"{60 + i % 40}%")])
        made.append(json.dumps(proofs.sign(document, signer, created=now)))
    return made


def measure(registry, per_round: int, rounds: int) -> dict:
    signer = Signer()
    imported, verified = [], []
    for _ in range(rounds):
        batch = documents(signer, per_round)
        start = time.perf_counter()
        for text in batch:
            assert registry.queries.verify(json.loads(text)).verdict == "VALID"
        verified.append(per_round / (time.perf_counter() - start))
        batch = documents(signer, per_round)
        start = time.perf_counter()
        registry.commands.imports.import_credentials([(text, f"bench-{i}") for i, text in enumerate(batch)],
                                                     actor=OPERATOR)
        imported.append(per_round / (time.perf_counter() - start))
    return {"import_per_s": statistics.median(imported), "verify_per_s": statistics.median(verified),
            "rounds": rounds, "per_round": per_round}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--per-round", type=int, default=100)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args(argv)
    stores = {}
    with tempfile.TemporaryDirectory() as home:
        env = {"REGISTRY_HOME": f"{home}/data", "REGISTRY_KEYS": f"{home}/keys", "REGISTRY_PUBLIC_URL": "https://badges.example.org"}
        registry = open_registry(env)
        try:
            stores["sqlite"] = measure(registry, args.per_round, args.rounds)
        finally:
            registry.close()
        if args.postgres:
            from _pg import cluster  # a throwaway PostgreSQL, as the other benches use
            with cluster() as url:
                registry = open_registry({**env, "REGISTRY_HOME": f"{home}/pg", "REGISTRY_DATABASE_URL": url})
                try:
                    stores["postgres"] = measure(registry, args.per_round, args.rounds)
                finally:
                    registry.close()
    print(f"{'store':10} {'imports/s':>10} {'verify/s':>10} {'ratio':>6}  target: import >= verify")
    for store, figures in stores.items():
        ratio = figures["import_per_s"] / figures["verify_per_s"]
        verdict = "PASS" if ratio >= 1.0 else "FAIL"
        print(f"{store:10} {figures['import_per_s']:10.1f} {figures['verify_per_s']:10.1f} {ratio:6.2f}  {verdict}")
    write_results(RESULTS, machine(), stores=stores)
    return 0


if __name__ == "__main__":
    sys.exit(main())
