"""Verification speed beside Digital Bazaar's verifier, on the same credentials, and cold latency.

    .venv/bin/python bench/verification_speed.py             # about a minute on 2 cores
    .venv/bin/python bench/verification_speed.py --quick     # smoke run

Warm: the registry issues demo-like credentials (`registry demo`'s ecosystem, learners with module
badges: achievement with criteria, a result, a hashed e-mail identity, a status entry). The same
documents are verified, each path in its own process, after one warm-up pass:
- the registry's full report (`queries.verify`: schema, proof, issuer, key history, validity, the
  logged copy, status, endorsements, trust chain), and its bare proof check (`proofs.verify`);
- Digital Bazaar's `@digitalbazaar/vc` `verifyCredential` with the eddsa-rdfc-2022 cryptosuite
  (tests/interop/verify.mjs, Node), its contexts and DID documents served from memory and its
  status check answered "verified" without work (so it does less than the full report).
Cold: a second registry instance with an empty store verifies a credential of an issuer that the
first one serves on 127.0.0.1 (`registry serve`): the first verification fetches the DID document
and the status list (through the network client, into its HTTP cache), the next ones do not.
Figures go to stdout and to bench/results/verification_speed.json."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from registry.bootstrap import Registry, open_registry
from registry.vc import contexts, multikey, proofs

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, write_results  # noqa: E402
from issuance_verification import awards, module_badges, take  # noqa: E402 - sibling module

ROOT = Path(__file__).resolve().parents[1]
INTEROP = ROOT / "tests" / "interop"
RESULTS = Path(__file__).resolve().parent / "results" / "verification_speed.json"
TARGET_RATIO = 4.0  # the full report, times Digital Bazaar's verifier, warm


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environ(home: Path, public_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env.update({"REGISTRY_HOME": str(home / "data"), "REGISTRY_KEYS": str(home / "keys"),
                "REGISTRY_PUBLIC_URL": public_url, **extra})
    return env


def issue(registry: Registry, count: int) -> list[dict]:
    from registry.commands import Actor
    badges = module_badges(registry)
    result = registry.commands.credentials.issue_batch(take(awards(badges), count), actor=Actor("bench"))
    return [json.loads(text) if isinstance(text, str) else text for text in result.documents]


def time_rounds(verify, documents: list[dict], rounds: int) -> float:
    """Verified credentials per second over `rounds` passes, after one warm-up pass."""
    for document in documents:
        assert verify(document), "a genuine credential was rejected"
    start = time.perf_counter()
    for _ in range(rounds):
        for document in documents:
            verify(document)
    return rounds * len(documents) / (time.perf_counter() - start)


def digital_bazaar(registry: Registry, documents: list[dict], rounds: int) -> float | str:
    if shutil.which("node") is None or not (INTEROP / "node_modules" / "@digitalbazaar" / "vc").is_dir():
        return "not run: needs node and `npm install` in tests/interop"
    by_url = {url: contexts.load(url) for url in contexts.PINNED}
    for document in documents:
        did = document["issuer"]["id"]
        if did not in by_url:
            by_url[did] = registry.queries.did_document(registry.queries.issuer_of_did(did).slug)
    run = subprocess.run(["node", str(INTEROP / "verify.mjs")], capture_output=True, text=True, timeout=1800,
                         input=json.dumps({"documents": documents, "documentsByUrl": by_url, "rounds": rounds}))
    if run.returncode != 0:
        raise SystemExit(f"Digital Bazaar's verifier failed: {run.stderr.strip()}")
    out = json.loads(run.stdout)
    rejected = [r["error"] for r in out["results"] if not r["verified"]]
    if rejected:
        raise SystemExit(f"Digital Bazaar rejected a registry credential: {rejected[0]}")
    return rounds * len(documents) / out["seconds"]


def cold_latency(tmp: Path, samples: int) -> dict:
    """Milliseconds for a verifier with an empty store: the first verification of a served issuer's
    credential (DID document and status list fetched), then warm ones (from its HTTP cache)."""
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    hosting = environ(tmp / "hosting", origin)
    registry = open_registry(hosting)
    try:
        documents = issue(registry, samples + 1)
    finally:
        registry.close()
    server = subprocess.Popen([sys.executable, "-m", "registry.cli", "serve", "--port", str(port)], env=hosting,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{origin}/issuers", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        verifier = open_registry(environ(tmp / "verifier", "https://verifier.example",
                                         REGISTRY_INSECURE_HOSTS=f"127.0.0.1:{port}"))
        try:
            cold, warm = [], []
            for index, document in enumerate(documents):
                start = time.perf_counter()
                report = verifier.queries.verify(document)
                elapsed = (time.perf_counter() - start) * 1000
                assert report.verdict == "VALID", [(c.name, c.reason) for c in report.failures + report.unanswered]
                (cold if index == 0 else warm).append(elapsed)
        finally:
            verifier.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    return {"first_ms": round(cold[0], 1), "warm_median_ms": round(statistics.median(warm), 2), "warm_samples": len(warm)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small counts, a smoke run")
    parser.add_argument("--credentials", type=int, help="distinct credentials (default 300, quick 40)")
    parser.add_argument("--rounds", type=int, help="timed passes over them (default 5, quick 1)")
    parser.add_argument("--repetitions", type=int, help="interleaved repetitions, medians reported (default 5)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    count = args.credentials or (40 if args.quick else 300)
    rounds = args.rounds or (1 if args.quick else 3)
    repetitions = args.repetitions or (1 if args.quick else 5)

    with tempfile.TemporaryDirectory(prefix="bench-verify-") as name:
        tmp = Path(name)
        registry = open_registry(environ(tmp / "issuing", "https://badges.example.org"))
        try:
            documents = issue(registry, count)
            issuers = {registry.queries.issuer_of_did(d["issuer"]["id"]).id for d in documents}
            keys = {k.verification_method: multikey.decode_public_key(k.public_key_multibase)
                    for issuer in issuers for k in registry.queries.keys(issuer)}
            def full(document: dict) -> bool:
                return registry.queries.verify(document).verdict == "VALID"

            def full_uncached(document: dict) -> bool:
                proofs._proof_hash.cache_clear()  # as if no two credentials shared a proof configuration
                return full(document)

            # Interleaved repetitions, medians: the box's noise and Node's JIT hit both sides alike.
            figures: dict[str, list] = {"report": [], "uncached": [], "proof": [], "db": []}
            for _ in range(repetitions):
                figures["report"].append(time_rounds(full, documents, rounds))
                figures["uncached"].append(time_rounds(full_uncached, documents, rounds))
                figures["proof"].append(time_rounds(lambda d: proofs.verify(d, keys.get).ok, documents, rounds))
                figures["db"].append(digital_bazaar(registry, documents, rounds))
        finally:
            registry.close()
        report_rate, uncached_rate, proof_rate = (statistics.median(figures[k]) for k in ("report", "uncached", "proof"))
        db_rate = figures["db"][0] if isinstance(figures["db"][0], str) else statistics.median(figures["db"])
        latency = cold_latency(tmp, 5 if args.quick else 30)

    ratio = report_rate / db_rate if isinstance(db_rate, float) else None
    worst = uncached_rate / db_rate if isinstance(db_rate, float) else None
    print(f"verification of {count} distinct registry credentials (issued in one batch: they share a proof "
          f"configuration), {rounds} warm round(s), median of {repetitions}")
    print(f"  registry full report (queries.verify)                  {report_rate:9.0f} /s")
    print(f"  the same, no proof configuration seen before           {uncached_rate:9.0f} /s")
    print(f"  registry bare proof (proofs.verify)                    {proof_rate:9.0f} /s")
    if ratio is None:
        print(f"  Digital Bazaar verifyCredential                        {db_rate}")
    else:
        print(f"  Digital Bazaar verifyCredential (Node, baseline)      {db_rate:9.0f} /s   "
              f"(runs: {', '.join(f'{r:.0f}' for r in figures['db'])})")
        print(f"  full report / Digital Bazaar                           {ratio:9.2f} x   target >= {TARGET_RATIO:.0f} x  "
              f"{'met' if ratio >= TARGET_RATIO else 'NOT met'}")
        print(f"  the same, no proof configuration seen before           {worst:9.2f} x")
    print(f"cold verifier (empty store, issuer served on 127.0.0.1): first {latency['first_ms']} ms, "
          f"then median {latency['warm_median_ms']} ms over {latency['warm_samples']}")
    write_results(args.output, machine(node=shutil.which("node") and subprocess.run(
        ["node", "--version"], capture_output=True, text=True).stdout.strip()),
        credentials=count, rounds=rounds, repetitions=repetitions, full_report_per_s=round(report_rate, 1),
        full_report_unseen_proof_configuration_per_s=round(uncached_rate, 1),
        bare_proof_per_s=round(proof_rate, 1),
        digital_bazaar_per_s=round(db_rate, 1) if isinstance(db_rate, float) else db_rate,
        ratio=round(ratio, 2) if ratio else None, ratio_unseen_proof_configuration=round(worst, 2) if worst else None,
        target_ratio=TARGET_RATIO, cold=latency)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
