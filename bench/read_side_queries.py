"""Timed read-side answers for bench/read_side.py: credential status lookups (now and "as of"),
through the use case and straight from the read model, and the regeneration of a signed status
list credential. Every timed answer is checked afterwards against what the generator did."""

from __future__ import annotations

import gc
import random
import statistics
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from registry import demo
from registry.bootstrap import Registry
from registry.domain.identity import issuer_id
from registry.domain.status_list import LIST_SIZE
from registry.keystore import Keystore
from registry.projections import credentials
from registry.vc import multikey, proofs, status_list

from read_side_data import ACTOR, Built


@dataclass(frozen=True)
class Rate:
    what: str
    store: str
    lookups: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.lookups / self.seconds if self.seconds else float("inf")

    def to_dict(self) -> dict:
        return {**asdict(self), "per_second": round(self.per_second, 1),
                "microseconds_each": round(1e6 * self.seconds / self.lookups, 2)}


@dataclass(frozen=True)
class Latency:
    what: str
    store: str
    samples: list[float]  # milliseconds

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]

    def to_dict(self) -> dict:
        return {"what": self.what, "store": self.store, "runs": len(self.samples),
                "median_ms": round(self.median, 2), "p95_ms": round(self.p95, 2),
                "max_ms": round(max(self.samples), 2)}


# --- status lookups --------------------------------------------------------------------------------


def measure_lookups(registry: Registry, store_name: str, built: Built, count: int,
                    seed: int = 11) -> tuple[list[Rate], list[str]]:
    """Status of `count` credentials (cycling through every credential the generator issued, in a
    random order): through the query (`queries.credential_status`, read-your-writes check
    included), through the credentials projection's read alone, and both again "as of" random instants of
    the log's lifetime."""
    rng = random.Random(seed)
    known = list(built.status)
    rng.shuffle(known)
    ids = [known[n % len(known)] for n in range(count)]
    first, last = (datetime.fromisoformat(t) for t in (built.first_event_at, built.last_event_at))
    span = (last - first).total_seconds()
    instants = [first + timedelta(seconds=rng.uniform(0, span)) for _ in range(count)]
    reads = registry.queries.read_model
    store = reads.db
    for credential in ids[:1000]:  # warm-up: the read model's first look, caches, connections
        registry.queries.credential_status(credential)

    use_case, direct, fresh = registry.queries.credential_status, credentials.status, reads.fresh
    rates, problems = [], []
    timed = {
        "read-your-writes check alone (fresh)": lambda: [fresh() for _ in ids],
        "credential_status (query)": lambda: [use_case(c) for c in ids],
        "read model query": lambda: [direct(store, c) for c in ids],
        "credential_status as of (query)": lambda: [use_case(c, at) for c, at in zip(ids, instants)],
        "read model query as of": lambda: [direct(store, c, at) for c, at in zip(ids, instants)],
    }
    for what, run in timed.items():
        gc.collect()  # the previous run's answers must not make this one's collections dearer
        started = time.perf_counter()
        answers = run()
        rates.append(Rate(what, store_name, count, time.perf_counter() - started))
        if what.startswith("credential_status") or what.startswith("read model"):
            problems += _check_answers(what, store_name, ids, answers, built, as_of=" as of" in what)
        del answers
    # "As of" the end of the log must be the present status (untimed).
    after = last + timedelta(seconds=1)
    for credential in ids[:1000]:
        then = use_case(credential, after).status
        if then != built.status[credential]:
            problems.append(f"{store_name}: {credential} as of the log's end is {then}, "
                            f"expected {built.status[credential]}")
            break
    return rates, problems


def _check_answers(what: str, store_name: str, ids: list[str], answers: list, built: Built,
                   as_of: bool) -> list[str]:
    allowed = {"active", "suspended", "revoked", "not-issued"}
    for credential, answer in zip(ids, answers):
        if answer is None or answer.credential_id != credential:
            return [f"{store_name} {what}: no answer for {credential}"]
        if as_of and answer.status not in allowed:
            return [f"{store_name} {what}: {credential} has status {answer.status!r}"]
        if not as_of and answer.status != built.status[credential]:
            return [f"{store_name} {what}: {credential} is {answer.status}, expected "
                    f"{built.status[credential]}"]
    return []


# --- status list regeneration -------------------------------------------------------------------


def measure_status_list(registry: Registry, store_name: str, built: Built, runs: int
                        ) -> tuple[list[Latency], dict, list[str]]:
    """`commands.status_lists.sign(consortium, 1)`: after a new revocation each time (the list changed,
    so it is rebuilt and re-signed; the revocation itself is not timed), and with the signed-list
    cache cleared each time (same revoked set). Then its parts on their own: the read of the
    revoked entries, the bitstring encoding (gzip, base64url), the signature."""
    slug = demo.CONSORTIUM
    problems: list[str] = []
    sign = registry.commands.status_lists.sign
    sign(slug, 1)  # warm-up: first use of the signer, contexts
    to_revoke = [c for c in built.consortium_credentials if built.status[c] == "active"][-runs:]
    if len(to_revoke) < runs:
        raise RuntimeError(f"only {len(to_revoke)} active consortium credentials left to revoke")

    after_revocation = []
    for credential in to_revoke:
        registry.commands.credentials.revoke(credential, reason="regeneration benchmark", actor=ACTOR)
        built.status[credential] = "revoked"
        started = time.perf_counter()
        document = sign(slug, 1)
        after_revocation.append((time.perf_counter() - started) * 1000)

    cache_cleared = []
    for _ in range(runs):
        registry.commands.status_lists._signed.clear()  # the signed-list cache (private): forces encode + sign
        started = time.perf_counter()
        document = sign(slug, 1)
        cache_cleared.append((time.perf_counter() - started) * 1000)

    issuer = registry.store.repository.get(issuer_id(slug))
    key = issuer.require_signing_key()
    url = registry.settings.config.status_list_url(slug, 1)
    revoked = registry.queries.revoked_indexes(url)
    bits = status_list.decode(document["credentialSubject"]["encodedList"], LIST_SIZE)
    if status_list.set_indexes(bits) != revoked:
        problems.append(f"{store_name}: the list credential's bitstring is not the set of revoked entries")
    registered = {k.verification_method: multikey.decode_public_key(k.public_key_multibase) for k in issuer.keys}
    if not proofs.verify(document, registered.get).ok:
        problems.append(f"{store_name}: the regenerated status list credential does not verify")

    parts = {"revoked_entries": len(revoked), "list_entries": len(bits) * 8}
    keystore = Keystore(registry.settings.keys_dir, registry.settings.keystore_passphrase)
    signer = keystore.signer(key.public_key_multibase, key.verification_method)
    for part, run in (
        ("read revoked entries (read model)", lambda: registry.queries.revoked_indexes(url)),
        ("encode bitstring (gzip + base64url)", lambda: status_list.encode(revoked, LIST_SIZE)),
        ("sign (eddsa-rdfc-2022)", lambda: proofs.sign(
            {k: v for k, v in document.items() if k != "proof"}, signer)),
    ):
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            run()
            samples.append((time.perf_counter() - started) * 1000)
        parts[f"{part} median_ms"] = round(statistics.median(samples), 2)
    latencies = [Latency("status list signing, after a new revocation", store_name, after_revocation),
                 Latency("status list signing, cache cleared", store_name, cache_cleared)]
    return latencies, parts, problems
