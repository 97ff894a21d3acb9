"""Issuance and verification throughput of the registry, beside the performance issue's targets.

    .venv/bin/python bench/issuance_verification.py            # everything, SQLite and PostgreSQL
    .venv/bin/python bench/issuance_verification.py --quick    # smoke run, small counts
    .venv/bin/python bench/issuance_verification.py --no-postgres

Issuance (sign + append, through the use cases) is measured one credential per transaction and in
batches (one transaction each), on SQLite and on a throwaway PostgreSQL cluster. Verification is
measured in one process on distinct credentials the registry issued on SQLite: the full report
(`queries.verify`), the bare proof check (`proofs.verify`), and, in the same run and on the same
documents, the baseline: plain pyld `normalize` + sha256 + `cryptography` Ed25519 + base58 decode.
The three verification paths run in interleaved rounds so the box's noise hits them alike.

Data is demo-like: `registry demo`'s ecosystem, then learners scored on the five modules get the
module badge of their level (achievement with criteria, a result, a hashed e-mail identity).
Figures go to stdout as a table and to bench/results/issuance_verification.json."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import random
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

import base58
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pyld import jsonld

from registry import demo
from registry.bootstrap import Registry, open_registry
from registry.commands import Actor, Award
from registry.domain import Achievement
from registry.vc.openbadges import document_text
from registry.vc import contexts, multikey, proofs

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _pg import throwaway_postgres  # noqa: E402 - a sibling module of this script
from _report import machine, write_results  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "issuance_verification.json"
ACTOR = Actor("bench")
PUBLIC_URL = "https://badges.example.org"
TARGET_BATCH_SQLITE = 500.0  # credentials/s, batch issuance on SQLite
TARGET_VERIFY_RATIO = 3.0  # times the plain pyld + cryptography baseline


@dataclass(frozen=True)
class Counts:
    single: int  # credentials issued one per transaction, per store
    batches_of_100: int
    batches_of_1000: int
    rounds: int  # interleaved verification rounds
    verify: int  # distinct credentials per round, registry paths
    baseline: int  # of those, how many the baseline verifies per round (it is slow)


DEFAULT = Counts(single=1000, batches_of_100=20, batches_of_1000=5, rounds=5, verify=400, baseline=120)
QUICK = Counts(single=30, batches_of_100=2, batches_of_1000=1, rounds=2, verify=40, baseline=15)


@dataclass(frozen=True)
class Figure:
    what: str
    store: str
    credentials: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.credentials / self.seconds if self.seconds else float("inf")

    def to_dict(self) -> dict:
        return {**asdict(self), "credentials_per_second": round(self.rate, 1)}


@dataclass(frozen=True)
class Target:
    what: str
    measured: float
    required: float
    unit: str

    @property
    def passed(self) -> bool:
        return self.measured >= self.required

    def to_dict(self) -> dict:
        return {**asdict(self), "measured": round(self.measured, 2), "passed": self.passed}


# --- the data ------------------------------------------------------------------------------------


def open_store(home: Path, database_url: str = "") -> Registry:
    environ = {"REGISTRY_HOME": str(home / "data"), "REGISTRY_KEYS": str(home / "keys"),
               "REGISTRY_PUBLIC_URL": PUBLIC_URL, "REGISTRY_DATABASE_URL": database_url}
    return open_registry(environ)


def module_badges(registry: Registry) -> dict[str, str]:
    """Builds `registry demo`'s ecosystem; its module ladders by name."""
    with contextlib.redirect_stderr(io.StringIO()):  # the demo's progress lines
        demo.build(registry)
    # From the log itself, not the read side: read_side.py measures the read models' catch-up
    # from position 0 afterwards, so nothing may bring them up to date before.
    by_name = {e.name: str(e.originator_id) for e in registry.store.events_of(Achievement.Defined)}
    return {module: by_name[module] for module in demo.MODULES}


def awards(badges: dict[str, str], seed: int = 2026) -> Iterator[Award]:
    """Endless demo-like awards: each new learner is scored on the five modules and gets each
    module passed by score, the module's ladder picking the level (as in the demo, learners hold
    several badges; a learner Excellent on all five also gets the Super Badge, automatically)."""
    rng = random.Random(seed)
    learner = 0
    lowest = demo.LEVELS[0][1]
    while True:
        learner += 1
        for module in demo.MODULES:
            score = rng.randint(50, 100)
            if score >= lowest:
                yield Award(f"learner{learner:07d}@example.org", badges[module], score=str(score))


def take(stream: Iterator[Award], n: int) -> list[Award]:
    return [next(stream) for _ in range(n)]


# --- issuance ------------------------------------------------------------------------------------


def measure_issuance(store: str, registry: Registry, stream: Iterator[Award],
                     counts: Counts) -> tuple[list[Figure], list[dict]]:
    """Figures for single and batch issuance, and the documents the batches issued."""
    registry.commands.credentials.issue_batch(take(stream, 20), actor=ACTOR)  # warm-up: first-use costs, not throughput
    figures, documents = [], []

    singles = take(stream, counts.single)
    started = time.perf_counter()
    for award in singles:
        registry.commands.credentials.issue(award, actor=ACTOR)
    figures.append(Figure("issue, 1 per transaction", store, len(singles), time.perf_counter() - started))

    for size, batches in ((100, counts.batches_of_100), (1000, counts.batches_of_1000)):
        if not batches:
            continue
        planned = [take(stream, size) for _ in range(batches)]
        elapsed = 0.0
        for batch in planned:
            started = time.perf_counter()
            written = registry.commands.credentials.issue_batch(batch, actor=ACTOR)
            elapsed += time.perf_counter() - started
            documents.extend(written.documents)
        figures.append(Figure(f"issue, batches of {size}", store, size * batches, elapsed))
    return figures, documents


def measure_signing(documents: list[dict]) -> Figure:
    """Signing alone (canonicalize twice, hash, Ed25519), no store: how much of issuance it is."""
    private = Ed25519PrivateKey.generate()
    public = multikey.encode_public_key(private.public_key().public_bytes_raw())

    class Signer:
        verification_method = f"did:web:badges.example.org:issuers:bench#{public}"
        sign = staticmethod(private.sign)

    unsigned = [{k: v for k, v in json.loads(json.dumps(d)).items() if k != "proof"} for d in documents]
    started = time.perf_counter()
    for document in unsigned:
        proofs.sign(document, Signer())
    return Figure("sign only (proofs.sign)", "-", len(unsigned), time.perf_counter() - started)


# --- verification --------------------------------------------------------------------------------


def key_resolver(registry: Registry) -> Callable[[str], bytes | None]:
    """Verification method -> raw public key, from the consortium's registered keys."""
    keys = {k.verification_method: multikey.decode_public_key(k.public_key_multibase)
            for k in registry.queries.keys(demo.CONSORTIUM)}
    return keys.get


def baseline_verify(document: dict, resolve_key: Callable[[str], bytes | None]) -> bool:
    """eddsa-rdfc-2022 with nothing but pyld, hashlib, cryptography and base58: the reference
    path the registry's verification is compared with."""
    proof = document["proof"][0]
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    options["@context"] = document["@context"]
    normalize = {"algorithm": "URDNA2015", "format": "application/n-quads",
                 "documentLoader": contexts.document_loader}  # serves registry.vc.contexts.load
    signed = (hashlib.sha256(jsonld.normalize(options, normalize).encode()).digest()
              + hashlib.sha256(jsonld.normalize(unsecured, normalize).encode()).digest())
    signature = base58.b58decode(proof["proofValue"][1:])  # multibase "z" = base58btc
    try:
        Ed25519PublicKey.from_public_bytes(resolve_key(proof["verificationMethod"])).verify(signature, signed)
    except InvalidSignature:
        return False
    return True


def tampered(document: dict) -> dict:
    changed = json.loads(json.dumps(document))
    changed["credentialSubject"]["result"][0]["value"] = "100%"
    return changed


def measure_verification(registry: Registry, texts: list[str], counts: Counts) -> tuple[list[Figure], list[str]]:
    """Rounds of: full report, bare proof check, baseline, each on its own fresh parse of the
    round's distinct documents. Returns the figures and any problem found (must be none)."""
    resolve = key_resolver(registry)
    paths: dict[str, Callable[[dict], bool]] = {
        "queries.verify (full report)": lambda d: registry.queries.verify(d).valid,
        "proofs.verify (bare proof check)": lambda d: proofs.verify(d, resolve).ok,
        "baseline: pyld normalize + cryptography": lambda d: baseline_verify(d, resolve),
    }
    problems = []
    warm_up, texts = json.loads(texts[0]), texts[1:]
    for name, check in paths.items():
        if not check(json.loads(json.dumps(warm_up))):
            problems.append(f"{name} rejected a credential the registry issued")
        if check(tampered(warm_up)):
            problems.append(f"{name} accepted a tampered credential (result changed)")

    spent = {name: 0.0 for name in paths}
    verified = {name: 0 for name in paths}
    for round_ in range(counts.rounds):
        chunk = texts[round_ * counts.verify:(round_ + 1) * counts.verify]
        for name, check in paths.items():
            wanted = chunk[:counts.baseline] if name.startswith("baseline") else chunk
            documents = [json.loads(text) for text in wanted]  # parsing is not verification
            started = time.perf_counter()
            accepted = sum(check(document) for document in documents)
            spent[name] += time.perf_counter() - started
            verified[name] += len(documents)
            if accepted != len(documents):
                problems.append(f"{name} rejected {len(documents) - accepted} of {len(documents)} credentials")
    return [Figure(name, "sqlite", verified[name], spent[name]) for name in paths], problems


# --- the run -------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a fast smoke run with small counts")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL store")
    parser.add_argument("--single", type=int, help="credentials issued one per transaction, per store")
    parser.add_argument("--batches-of-100", type=int, help="batches of 100 per store")
    parser.add_argument("--batches-of-1000", type=int, help="batches of 1000 per store")
    parser.add_argument("--rounds", type=int, help="interleaved verification rounds")
    parser.add_argument("--verify", type=int, help="distinct credentials verified per round (registry paths)")
    parser.add_argument("--baseline", type=int, help="of those, verified by the baseline per round")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    return parser.parse_args(argv)


def chosen_counts(args: argparse.Namespace) -> Counts:
    base = asdict(QUICK if args.quick else DEFAULT)
    given = {k: getattr(args, k) for k in base if getattr(args, k) is not None}
    counts = Counts(**{**base, **given})
    if counts.baseline > counts.verify:
        raise SystemExit("--baseline cannot exceed --verify: the baseline runs on the same documents")
    if min(counts.rounds, counts.verify, counts.baseline) < 1:
        raise SystemExit("--rounds, --verify and --baseline must be at least 1")
    return counts


def print_table(issuance: list[Figure], verification: list[Figure], targets: list[Target]) -> None:
    print(f"\n{'issuance (sign + append)':<42}{'store':<10}{'creds':>7}{'seconds':>9}{'creds/s':>9}")
    for f in issuance:
        print(f"  {f.what:<40}{f.store:<10}{f.credentials:>7}{f.seconds:>9.2f}{f.rate:>9.1f}")
    baseline = verification[-1].rate
    print(f"\n{'verification (one process)':<52}{'creds':>7}{'seconds':>9}{'creds/s':>9}{'x base':>8}")
    for f in verification:
        print(f"  {f.what:<50}{f.credentials:>7}{f.seconds:>9.2f}{f.rate:>9.1f}{f.rate / baseline:>8.2f}")
    print("\ntargets")
    for t in targets:
        print(f"  {'PASS' if t.passed else 'FAIL'}  {t.what}: {t.measured:.1f} {t.unit} (target >= {t.required:g})")


def main(argv: list[str] | None = None) -> int:
    # A SIGTERM must still run the finally blocks that stop PostgreSQL.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    args = parse_args(argv)
    counts = chosen_counts(args)
    began = time.perf_counter()
    issuance: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="bench-registry-") as tmp:
        sqlite = open_store(Path(tmp) / "sqlite")
        stream = awards(module_badges(sqlite))
        figures, documents = measure_issuance("sqlite", sqlite, stream, counts)
        issuance += figures
        needed = 1 + counts.rounds * counts.verify
        while len(documents) < needed:  # more distinct credentials to verify, issued untimed
            more = take(stream, min(1000, needed - len(documents)))
            documents += sqlite.commands.credentials.issue_batch(more, actor=ACTOR).documents
        issuance.append(measure_signing(documents[:max(counts.verify, 100)]))
        if not args.no_postgres:
            with throwaway_postgres() as url:
                postgres = open_store(Path(tmp) / "postgres", url)
                try:
                    stream = awards(module_badges(postgres))
                    issuance += measure_issuance("postgres", postgres, stream, counts)[0]
                finally:
                    postgres.close()  # before the cluster stops under it
        texts = [document_text(d) for d in documents[:needed]]
        verification, problems = measure_verification(sqlite, texts, counts)
        sqlite.close()

    by_what = {(f.what, f.store): f.rate for f in issuance}
    baseline = verification[-1].rate
    targets = [
        Target(f"batch issuance on SQLite, batches of {size}", by_what[(f"issue, batches of {size}", "sqlite")],
               TARGET_BATCH_SQLITE, "credentials/s")
        for size in (100, 1000) if (f"issue, batches of {size}", "sqlite") in by_what
    ] + [
        Target("queries.verify vs baseline", verification[0].rate / baseline, TARGET_VERIFY_RATIO, "x"),
        Target("bare proof check vs baseline", verification[1].rate / baseline, TARGET_VERIFY_RATIO, "x"),
    ]
    print_table(issuance, verification, targets)
    for problem in problems:
        print(f"  PROBLEM: {problem}")
    seconds = time.perf_counter() - began
    print(f"\n{seconds:.0f} s in all; figures in {args.output}")

    write_results(
        args.output,
        machine(versions={p: metadata.version(p) for p in ("PyLD", "cryptography", "eventsourcing")}),
        counts=asdict(counts),
        postgres=not args.no_postgres,
        issuance=[f.to_dict() for f in issuance],
        verification=[f.to_dict() for f in verification],
        targets=[t.to_dict() for t in targets],
        problems=problems,
        seconds=round(seconds, 1),
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
