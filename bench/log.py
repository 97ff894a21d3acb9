"""The transparency log's costs, with the same-run baselines (SQLite, this machine):

1. batch issuance with the log vs without it (LogWriter disabled, nothing else changed);
2. inclusion and consistency proofs at 1,000,000 leaves (stored nodes, one read each);
3. the auditor's hashing speed (entries -> leaf hashes -> root) over the same 1,000,000 entries;
4. signing a checkpoint (the pre-signing check of one new leaf, and the Ed25519 signature);
5. `registry audit`'s full re-check of credentials against the registry's own verification.

    .venv/bin/python bench/log.py [--leaves 1000000] [--batch 500] [--credentials 300]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from registry.log import tree  # noqa: E402
from registry.log.storage import SQLITE_DDL, LogReader  # noqa: E402
from registry.store.database import SQLiteDatabase  # noqa: E402


def batch_issuance(batch: int, rounds: int = 5) -> None:
    """Two stores side by side, one with the log and one without (its LogWriter disabled and no
    checkpoint signing), batches issued into them in turn so that both see the same machine."""
    from registry.bootstrap import open_registry
    from registry.commands import Actor, Award

    actor = Actor("bench")
    stores = {}
    with tempfile.TemporaryDirectory() as home:
        for label, enabled in (("with the log", True), ("without the log", False)):
            registry = open_registry({"REGISTRY_HOME": f"{home}/{enabled}", "REGISTRY_KEYS": f"{home}/keys{enabled}"})
            registry.store.recorder.log.enabled = enabled
            if not enabled:
                registry.store.after_commit.clear()
            registry.commands.issuers.register(slug="acme", name="Acme", url="https://acme.example", actor=actor)
            badge = registry.commands.achievements.define(
                issuer="acme", actor=actor, requires=[],
                definition={"name": "Teamwork", "description": "d", "criteria": {"narrative": "n"}}).id
            registry.commands.credentials.issue_batch([Award("did:example:warm-up", badge)], actor=actor)
            stores[label] = (registry, badge, [])
        for round_ in range(rounds):
            for label, (registry, badge, rates) in stores.items():
                awards = [Award(f"did:example:{round_}-{i}", badge) for i in range(batch)]
                started = time.perf_counter()
                registry.commands.credentials.issue_batch(awards, actor=actor)
                rates.append(batch / (time.perf_counter() - started))
        for registry, _, _ in stores.values():
            registry.close()
    with_log = statistics.median(stores["with the log"][2])
    without = statistics.median(stores["without the log"][2])
    print(f"batch issuance ({rounds} batches of {batch} each, medians): {with_log:.0f} credentials/s with the log, "
          f"{without:.0f}/s without: the log costs {100 * (1 - with_log / without):.1f}%")


def big_log(leaves: int, directory: str) -> tuple[SQLiteDatabase, list[bytes]]:
    path = os.path.join(directory, "log.sqlite")
    connection = sqlite3.connect(path)
    for statement in SQLITE_DDL:
        connection.execute(statement)
    hashes = [tree.leaf_hash(i.to_bytes(8, "big")) for i in range(leaves)]
    made = tree.append(0, {}, hashes)
    connection.executemany("INSERT INTO log_leaves VALUES (?, ?, ?)", ((i, i + 1, h) for i, h in enumerate(hashes)))
    connection.executemany("INSERT INTO log_nodes VALUES (?, ?, ?)", made)
    connection.commit()
    connection.close()
    return SQLiteDatabase(path), hashes


def proofs(leaves: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        started = time.perf_counter()
        db, hashes = big_log(leaves, directory)
        print(f"  built a {leaves:,}-leaf log in {time.perf_counter() - started:.1f} s")
        reader = LogReader(db, "stored_events")
        root = tree.root(leaves, reader.nodes(tree.needed_for_root(leaves)))
        inclusion, consistency, reads = [], [], []
        import random
        rng = random.Random(7)
        for _ in range(2000):
            index = rng.randrange(leaves)
            t = time.perf_counter()
            needed = tree.needed_for_inclusion(index, leaves)
            proof = tree.inclusion_proof(index, leaves, reader.nodes(needed))
            inclusion.append(time.perf_counter() - t)
            reads.append(len(needed))
            tree.verify_inclusion(index, leaves, hashes[index], proof, root)
            old = rng.randrange(1, leaves)
            t = time.perf_counter()
            hashes_ = tree.consistency_proof(old, leaves, reader.nodes(tree.needed_for_consistency(old, leaves)))
            consistency.append(time.perf_counter() - t)
            assert hashes_ is not None
        print(f"proofs at {leaves:,} leaves: inclusion median {1000 * statistics.median(inclusion):.3f} ms "
              f"(p99 {1000 * sorted(inclusion)[int(0.99 * len(inclusion))]:.3f} ms, {max(reads)} stored hashes, "
              f"2 statements), consistency median {1000 * statistics.median(consistency):.3f} ms")
        entries = [i.to_bytes(8, "big") * 150 for i in range(leaves)]  # about a credential's size: 1.2 KB
        started = time.perf_counter()
        size, _ = tree.root_of_leaves(tree.leaf_hash(e) for e in entries)
        elapsed = time.perf_counter() - started
        print(f"audit hashing: {size / elapsed:,.0f} entries/s (1.2 KB entries: leaf hash and root)")
        db.close()


def audit_replay(credentials: int) -> None:
    """The auditor's full re-check (offline, over an export) against the registry's own
    verification of the same credentials."""
    import json

    from registry.bootstrap import open_auditor, open_registry
    from registry.commands import Actor, Award

    actor = Actor("bench")
    with tempfile.TemporaryDirectory() as home:
        registry = open_registry({"REGISTRY_HOME": home, "REGISTRY_KEYS": f"{home}/keys"})
        registry.commands.issuers.register(slug="acme", name="Acme", url="https://acme.example", actor=actor)
        badge = registry.commands.achievements.define(
            issuer="acme", actor=actor, requires=[],
            definition={"name": "Teamwork", "description": "d", "criteria": {"narrative": "n"}}).id
        registry.commands.credentials.issue_batch([Award(f"did:example:{i}", badge) for i in range(credentials)],
                                                  actor=actor)
        export, checkpoint = Path(home, "export.jsonl"), Path(home, "checkpoint")
        lines = list(registry.queries.log.entries())
        export.write_bytes(b"".join(line + b"\n" for line in lines))
        checkpoint.write_text(registry.queries.log.latest().note)
        documents = [json.loads(json.loads(line)["state"]["document"]) for line in lines
                     if b"Credential.Issued" in line]
        started = time.perf_counter()
        for document in documents:
            assert registry.queries.verify(document, offline=True).valid
        verify_rate = len(documents) / (time.perf_counter() - started)
        vkey = registry.queries.log.key().vkey
        registry.close()
        result = open_auditor({}).offline(str(export), str(checkpoint), vkey, None)
    audit_rate = result.replay.counts["credentials"] / result.seconds
    print(f"audit replay: {len(lines):,} entries ({result.replay.counts['credentials']} credentials) re-checked in "
          f"{result.seconds:.2f} s: {audit_rate:.0f} credentials/s, {len(lines) / result.seconds:,.0f} entries/s; "
          f"the registry's own verification: {verify_rate:.0f} credentials/s")


def signing() -> None:
    from registry.bootstrap import open_registry
    from registry.commands import Actor

    with tempfile.TemporaryDirectory() as home:
        registry = open_registry({"REGISTRY_HOME": home, "REGISTRY_KEYS": f"{home}/keys"})
        registry.store.after_commit.clear()
        times = []
        for i in range(50):
            registry.commands.issuers.register(slug=f"org{i}", name="Org", url="https://org.example",
                                               actor=Actor("bench"))
            t = time.perf_counter()
            registry.queries.log.sign()
            times.append(time.perf_counter() - t)
        print(f"checkpoint signing (check of the new leaves + Ed25519): median {1000 * statistics.median(times):.2f} ms")
        registry.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--credentials", type=int, default=300, help="credentials the audit replay re-checks")
    args = parser.parse_args()
    batch_issuance(args.batch)
    signing()
    audit_replay(args.credentials)
    proofs(args.leaves)


if __name__ == "__main__":
    main()
