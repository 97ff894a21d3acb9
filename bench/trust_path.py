"""Trust-path queries on a large endorsement graph: p50/p99 per chain length, and for "none".

The graph is written straight into the read-model tables (`issuers` of the directory projection,
`endorsements` of the endorsements projection, their own DDL) of a temp SQLite database, and of a
throwaway PostgreSQL cluster unless --no-postgres. 10,000 issuers, 100,000 endorsements: subjects
are issuers (50 %), achievements (40 %, i.e. their issuer) or credentials (10 %, no edge); 10 % are
withdrawn. Endorsers favour a few popular organisations (as consortia are), so degrees are skewed.

Two ways of answering are timed on the same queries: `sql` (bidirectional BFS, one indexed query
per frontier level, the one the registry uses) and `memory` (the same search over an adjacency
loaded in one read; its load time is printed, since any new endorsement makes it stale).

  .venv/bin/python bench/trust_path.py [--issuers 10000] [--endorsements 100000] [--queries 200]
                                       [--no-postgres]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import deque
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from registry.projections.directory import DIRECTORY, issuer_column  # noqa: E402
from registry.projections.endorsements import ENDORSEMENTS, KINDS, STANDING_NOW, Edges  # noqa: E402
from registry.projections.projection import moment  # noqa: E402
from registry.store.database import Database, PostgresDatabase, SQLiteDatabase  # noqa: E402
from registry.trust.chains import MemoryEdges, shortest_chain  # noqa: E402

DEPTH = 4  # the target: p99 under 20 ms for chains of up to 4 hops
TARGET_MS = 20.0


def build_graph(issuers: int, endorsements: int, seed: int):
    rng = random.Random(seed)
    ids = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(issuers)]
    achievements = {str(uuid.UUID(int=rng.getrandbits(128))): rng.choice(ids) for _ in range(issuers * 2)}
    achievement_ids = list(achievements)
    weights = [1.0 / (rank + 1) ** 0.6 for rank in range(issuers)]  # popular subjects
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    rows = []
    subjects = rng.choices(range(issuers), weights=weights, k=endorsements)
    for n in range(endorsements):
        endorser = rng.choice(ids)
        draw = rng.random()
        if draw < 0.5:
            kind, subject = "issuer", ids[subjects[n]]
            subject_issuer = subject
        elif draw < 0.9:
            kind, subject = "achievement", rng.choice(achievement_ids)
            subject_issuer = achievements[subject]
        else:
            kind, subject, subject_issuer = "credential", str(uuid.uuid4()), ids[subjects[n]]
        if kind == "issuer" and subject == endorser:
            continue
        given = start + timedelta(minutes=n)
        withdrawn = moment(given + timedelta(days=30)) if rng.random() < 0.1 else None
        rows.append((str(uuid.UUID(int=rng.getrandbits(128))), endorser, kind, subject,
                     f"urn:uuid:{subject}", subject_issuer, "Trusted.", True, moment(given),
                     withdrawn, None if withdrawn is None else "ended", n + 1))
    return ids, rows


def load(store: Database, ids: list[str], rows: list[tuple]) -> None:
    with store.transaction() as cursor:
        for table in ("endorsements", "issuers", "achievements", "achievement_versions"):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
        for statement in (*DIRECTORY.ddl, *ENDORSEMENTS.ddl):
            cursor.execute(statement)
        cursor.executemany(
            "INSERT INTO issuers (id, slug, did, name, hosted, registered_at, position) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(i, f"org-{n}", f"did:web:org-{n}.example", f"Org {n}", True, "2024-01-01T00:00:00.000000+00:00", n + 1)
             for n, i in enumerate(ids)])
        cursor.executemany(
            "INSERT INTO endorsements (id, endorser_id, subject_kind, subject_id, subject_iri,"
            " subject_issuer_id, comment, custodial, given_at, withdrawn_at, withdrawn_reason, position)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    store.query("ANALYZE")


def snapshot(store: Database) -> MemoryEdges:
    """Every standing edge, in one read: the whole graph in memory."""
    return MemoryEdges(store.query(
        f"SELECT endorser_id, subject_issuer_id, id FROM endorsements WHERE {KINDS} AND {STANDING_NOW}"))


def distances(graph: MemoryEdges, source: str, limit: int) -> dict[str, int]:
    seen, queue = {source: 0}, deque([source])
    while queue:
        node = queue.popleft()
        if seen[node] == limit:
            continue
        for neighbour, _ in graph.out.get(node, ()):
            if neighbour not in seen:
                seen[neighbour] = seen[node] + 1
                queue.append(neighbour)
    return seen


def pick_queries(graph: MemoryEdges, ids: list[str], per_kind: int, seed: int) -> dict[str, list]:
    """(source, target, max_depth, expected hops or None) per kind: chains of 1..4 hops; 'none'
    beyond depth 4 (searched with --max-depth 4: both sides explored to the limit)."""
    rng = random.Random(seed)
    kinds: dict[str, list] = {f"depth {d}": [] for d in range(1, DEPTH + 1)}
    kinds["none within 4"] = []
    while any(len(v) < per_kind for v in kinds.values()):
        source = rng.choice(ids)
        reach = distances(graph, source, DEPTH)
        by_depth: dict[int, list[str]] = {}
        for node, d in reach.items():
            by_depth.setdefault(d, []).append(node)
        for d in range(1, DEPTH + 1):
            if by_depth.get(d) and len(kinds[f"depth {d}"]) < per_kind:
                kinds[f"depth {d}"].append((source, rng.choice(by_depth[d]), DEPTH, d))
        beyond = [i for i in rng.sample(ids, 50) if i not in reach]
        if beyond and len(kinds["none within 4"]) < per_kind:
            kinds["none within 4"].append((source, beyond[0], DEPTH, None))
    return kinds


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99


def time_queries(store: Database, source_of_edges, kinds: dict[str, list]) -> dict[str, tuple[float, float]]:
    """Each query as the use case runs it: the search, then one directory read naming the hops."""
    results = {}
    for kind, queries in kinds.items():
        samples = []
        for source, target, depth, expected in queries:
            began = time.perf_counter()
            links = shortest_chain(source_of_edges(), [source], target, depth)
            if links:
                issuer_column(store, "slug", {l.endorser_id for l in links} | {links[-1].subject_id})
            samples.append((time.perf_counter() - began) * 1000)
            found = None if links is None else len(links)
            if found != expected:
                raise SystemExit(f"wrong answer {source} -> {target}: {found} hops, expected {expected}")
        results[kind] = percentiles(samples)
    return results


def run(name: str, store: Database, ids, rows, queries_per_kind: int) -> bool:
    began = time.perf_counter()
    load(store, ids, rows)
    print(f"\n{name}: loaded {len(ids):,} issuers and {len(rows):,} endorsements in "
          f"{time.perf_counter() - began:.1f} s")
    began = time.perf_counter()
    graph = snapshot(store)
    load_ms = (time.perf_counter() - began) * 1000
    print(f"  memory snapshot: {graph.edge_count:,} standing edges loaded in {load_ms:.0f} ms")
    kinds = pick_queries(graph, ids, queries_per_kind, seed=7)

    ok = True
    sql = time_queries(store, lambda: Edges(store), kinds)
    memory = time_queries(store, lambda: graph, kinds)
    print(f"  {'chain':<15}{'sql p50':>10}{'sql p99':>10}{'memory p50':>12}{'memory p99':>12}   (ms)")
    for kind in kinds:
        (s50, s99), (m50, m99) = sql[kind], memory[kind]
        print(f"  {kind:<15}{s50:>10.2f}{s99:>10.2f}{m50:>12.3f}{m99:>12.3f}")
        ok &= s99 < TARGET_MS
    print(f"  target: p99 < {TARGET_MS:g} ms at depth <= {DEPTH} with sql: {'met' if ok else 'MISSED'}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--issuers", type=int, default=10_000)
    parser.add_argument("--endorsements", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200, help="queries per chain length")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args(argv)
    ids, rows = build_graph(args.issuers, args.endorsements, seed=1)
    with tempfile.TemporaryDirectory(prefix="bench-trust-") as tmp:
        store = SQLiteDatabase(str(Path(tmp) / "registry.sqlite"))
        try:
            run("SQLite", store, ids, rows, args.queries)
        finally:
            store.close()
    if not args.no_postgres:
        from bench._pg import throwaway_postgres
        with throwaway_postgres() as url:
            store = PostgresDatabase({"conninfo": url})
            try:
                run("PostgreSQL", store, ids, rows, args.queries)
            finally:
                store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
