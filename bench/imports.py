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

OB 2.0 hosted assertions are served by an issuer site on 127.0.0.1 (Profile, BadgeClass and one URL per
assertion, all cacheable for five minutes): after a warm-up round, the Profile and BadgeClass come from
the registry's HTTP cache and each assertion is one GET, as when an organisation brings in a backpack
of one issuer's badges. Their baseline is verifying the same kind of assertions (`Queries.verify`),
also with warm caches.

Figures: a table, and JSON in bench/results/imports.json."""

from __future__ import annotations

import argparse
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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
    return interleaved(registry, lambda: documents(signer, per_round), json.loads, rounds)


def interleaved(registry, batch, as_given, rounds: int) -> dict:
    """Rounds of verifying a fresh batch one by one, then importing another in one transaction."""
    imported, verified = [], []
    for _ in range(rounds):
        texts = batch()
        start = time.perf_counter()
        for text in texts:
            assert registry.queries.verify(as_given(text)).verdict == "VALID"
        verified.append(len(texts) / (time.perf_counter() - start))
        texts = batch()
        start = time.perf_counter()
        registry.commands.imports.import_credentials([(text, f"bench-{i}") for i, text in enumerate(texts)],
                                                     actor=OPERATOR)
        imported.append(len(texts) / (time.perf_counter() - start))
    return {"import_per_s": statistics.median(imported), "verify_per_s": statistics.median(verified),
            "rounds": rounds, "per_round": len(texts)}


class _Site(BaseHTTPRequestHandler):
    """An OB 2.0 issuer's site: /issuer.json, /badge.json and /assertions/<n>.json for any n."""

    disable_nagle_algorithm = True  # else each answer waits 40 ms for a delayed ACK (headers, then body)

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        if self.path == "/issuer.json":
            body = {"@context": "https://w3id.org/openbadges/v2", "type": "Issuer", "id": base + self.path,
                    "name": "Elsewhere Academy", "url": "https://elsewhere.example", "email": "info@elsewhere.example"}
        elif self.path == "/badge.json":
            body = {"@context": "https://w3id.org/openbadges/v2", "type": "BadgeClass", "id": base + self.path,
                    "name": "Teamwork", "description": "Works in a team.", "image": base + "/badge.png",
                    "criteria": {"narrative": "Peer-reviewed."}, "issuer": base + "/issuer.json"}
        elif self.path.startswith("/assertions/"):
            body = ob2_assertion(base, self.path)
        else:
            self.send_response(404)
            self.end_headers()
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/ld+json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "max-age=300")
        self.end_headers()
        self.wfile.write(data)


def ob2_assertion(base: str, path: str) -> dict:
    salt = hashlib.sha256(path.encode()).hexdigest()[:16]
    return {"@context": "https://w3id.org/openbadges/v2", "type": "Assertion", "id": base + path,
            "recipient": {"type": "email", "hashed": True, "salt": salt,
                          "identity": "sha256$" + hashlib.sha256(f"learner@example.org{salt}".encode()).hexdigest()},
            "badge": base + "/badge.json", "issuedOn": "2024-03-01T10:00:00+00:00", "verification": {"type": "HostedBadge"}}


def measure_ob2(registry, base: str, per_round: int, rounds: int) -> dict:
    counter = iter(range(10**9))

    def batch() -> list[str]:
        return [json.dumps(ob2_assertion(base, f"/assertions/{next(counter)}.json")) for _ in range(per_round)]

    for text in batch()[:5]:  # warm the cache: the Profile and BadgeClass
        registry.queries.verify(text)
    return interleaved(registry, batch, lambda text: text, rounds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--per-round", type=int, default=100)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args(argv)
    stores, hosted = {}, {}
    site = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{site.server_address[1]}"
    with tempfile.TemporaryDirectory() as home:
        env = {"REGISTRY_HOME": f"{home}/data", "REGISTRY_KEYS": f"{home}/keys", "REGISTRY_PUBLIC_URL": "https://badges.example.org",
               "REGISTRY_INSECURE_HOSTS": f"127.0.0.1:{site.server_address[1]}"}
        registry = open_registry(env)
        try:
            stores["sqlite"] = measure(registry, args.per_round, args.rounds)
            hosted["sqlite"] = measure_ob2(registry, base, args.per_round, args.rounds)
        finally:
            registry.close()
        if args.postgres:
            from _pg import throwaway_postgres  # a throwaway PostgreSQL, as the other benches use
            with throwaway_postgres() as url:
                registry = open_registry({**env, "REGISTRY_HOME": f"{home}/pg", "REGISTRY_DATABASE_URL": url})
                try:
                    stores["postgres"] = measure(registry, args.per_round, args.rounds)
                    hosted["postgres"] = measure_ob2(registry, base, args.per_round, args.rounds)
                finally:
                    registry.close()
    print(f"{'store':10} {'imports/s':>10} {'verify/s':>10} {'ratio':>6}  target: import >= verify")
    for store, figures in stores.items():
        ratio = figures["import_per_s"] / figures["verify_per_s"]
        verdict = "PASS" if ratio >= 1.0 else "FAIL"
        print(f"{store:10} {figures['import_per_s']:10.1f} {figures['verify_per_s']:10.1f} {ratio:6.2f}  {verdict}")
    print(f"\nOB 2.0 hosted, warm caches (one GET per assertion)\n{'store':10} {'imports/s':>10} {'verify/s':>10} {'ratio':>6}")
    for store, figures in hosted.items():
        ratio = figures["import_per_s"] / figures["verify_per_s"]
        print(f"{store:10} {figures['import_per_s']:10.1f} {figures['verify_per_s']:10.1f} {ratio:6.2f}")
    site.shutdown()
    write_results(RESULTS, machine(), stores=stores, ob2_hosted=hosted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
