"""Read-side figures of the registry, beside the performance issue's targets.

    .venv/bin/python bench/read_side.py                 # everything, SQLite and PostgreSQL
    .venv/bin/python bench/read_side.py --quick         # smoke run, small counts
    .venv/bin/python bench/read_side.py --no-postgres

1. An event log of 100,000+ events is written through the use cases on SQLite (bench/read_side_data.py)
   and copied event by event into a throwaway PostgreSQL cluster.
2. Projection catch-up from position 0, in a fresh process per store (bench/read_side_catch_up.py):
   events/s and that process's peak RSS; the read model's rows are checked against the log.
3. Credential status lookups in process, now and "as of" an instant: through the use case and
   through the read model's query alone; each answer is checked against what the generator did.
4. Regenerating the consortium's 131,072-entry status list with 10,000+ revoked entries (encode +
   sign): after a new revocation each time, and with the signed-list cache cleared each time.
5. Trust paths on 10,000 issuers / 100,000 endorsements (the functions of bench/trust_path.py).

Figures go to stdout as a table and to bench/results/read_side.json. Exit status 1 means a wrong
answer (a correctness problem), not a missed target."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import read_side_data as data  # noqa: E402 - sibling modules of this script
import trust_path  # noqa: E402
from _pg import throwaway_postgres  # noqa: E402
from _report import machine, write_results  # noqa: E402
from issuance_verification import open_store  # noqa: E402
from read_side_queries import Latency, Rate, measure_lookups, measure_status_list  # noqa: E402
from registry.store.database import PostgresDatabase, SQLiteDatabase  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "read_side.json"
CATCH_UP = Path(__file__).resolve().parent / "read_side_catch_up.py"
TARGET_CATCH_UP = 10_000.0  # events/s, SQLite, from position 0
TARGET_RSS_MB = 300.0  # peak RSS of the catch-up process
TARGET_LOOKUPS = 50_000.0  # status lookups/s in process
TARGET_LIST_MS = 50.0  # regenerating a 131,072-entry list with 10,000 revocations
TARGET_TRUST_MS = trust_path.TARGET_MS  # p99 at depth 4


@dataclass(frozen=True)
class Counts:
    lookups: int  # per kind of lookup, SQLite
    pg_lookups: int  # per kind of lookup, PostgreSQL (a round trip each)
    list_runs: int  # regenerations per variant
    trust_issuers: int
    trust_endorsements: int
    trust_queries: int  # per chain length


DEFAULT = Counts(lookups=100_000, pg_lookups=5_000, list_runs=40, trust_issuers=10_000,
                 trust_endorsements=100_000, trust_queries=200)
QUICK = Counts(lookups=5_000, pg_lookups=500, list_runs=8, trust_issuers=1_000,
               trust_endorsements=10_000, trust_queries=30)


@dataclass(frozen=True)
class Target:
    what: str
    measured: float
    required: float
    unit: str
    at_least: bool = True  # False: the measured figure must stay below the target

    @property
    def passed(self) -> bool:
        return self.measured >= self.required if self.at_least else self.measured < self.required

    def line(self) -> str:
        bound = ">=" if self.at_least else "<"
        return (f"  {'PASS' if self.passed else 'FAIL'}  {self.what}: {self.measured:,.1f} {self.unit}"
                f" (target {bound} {self.required:,g})")

    def to_dict(self) -> dict:
        return {**asdict(self), "measured": round(self.measured, 2), "passed": self.passed}


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)  # progress; the figures go to stdout


def catch_up_in_fresh_process(home: Path, url: str = "") -> dict:
    command = [sys.executable, str(CATCH_UP), str(home)] + ([url] if url else [])
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{CATCH_UP.name} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout)


def check_catch_up(result: dict, topics: dict[str, int], built: data.Built) -> list[str]:
    """The read model's rows against the log's events (counted in SQL, not by a projection)."""
    expected = {
        "credentials": topics.get("Credential.Issued", 0),
        "revoked": topics.get("Credential.Revoked", 0),
        "status_changes": sum(topics.get(f"Credential.{e}", 0) for e in ("Suspended", "Reinstated", "Revoked")),
        "issuers": topics.get("Issuer.Registered", 0),
        "achievements": topics.get("Achievement.Defined", 0),
        "endorsements": topics.get("Endorsement.Endorsed", 0),
        "withdrawn": topics.get("Endorsement.Withdrawn", 0),
        "keys": topics.get("Issuer.KeyAdded", 0) + topics.get("Issuer.KeyRotated", 0),  # a rotation adds one
        "compromised_keys": topics.get("Issuer.KeyCompromised", 0),
        "suspended": sum(1 for s in built.status.values() if s == "suspended"),
    }
    problems = [f"{result['store']} catch-up: {name} = {result['counts'][name]}, the log says {want}"
                for name, want in expected.items() if result["counts"][name] != want]
    if set(result["positions"].values()) != {result["events"]}:
        problems.append(f"{result['store']} catch-up stopped at {result['positions']}, log ends at {result['events']}")
    return problems


def settle(url: str) -> None:
    """ANALYZE after the bulk copy and catch-up, as autovacuum soon would: otherwise it may
    start in the middle of the timed lookups."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("ANALYZE")


def measure_trust(counts: Counts, pg_url: str | None) -> tuple[dict, list[Target]]:
    """bench/trust_path.py's graph and timed queries (sql search, the registry's), per store."""
    ids, rows = trust_path.build_graph(counts.trust_issuers, counts.trust_endorsements, seed=1)
    figures, targets = {}, []
    with tempfile.TemporaryDirectory(prefix="bench-trust-") as tmp:
        stores = [("sqlite", lambda: SQLiteDatabase(str(Path(tmp) / "trust.sqlite")))]
        if pg_url:
            stores.append(("postgres", lambda: PostgresDatabase({"conninfo": pg_url})))
        for name, open_ in stores:
            store = open_()
            try:
                trust_path.load(store, ids, rows)
                kinds = trust_path.pick_queries(trust_path.snapshot(store), ids, counts.trust_queries, seed=7)
                timed = trust_path.time_queries(store, lambda: trust_path.Edges(store), kinds)
            finally:
                store.close()
            figures[name] = {kind: {"p50_ms": round(p50, 3), "p99_ms": round(p99, 3)}
                             for kind, (p50, p99) in timed.items()}
            targets.append(Target(f"trust path p99 at depth 4, {name}", timed["depth 4"][1],
                                  TARGET_TRUST_MS, "ms", at_least=False))
    figures["graph"] = {"issuers": len(ids), "endorsements": len(rows)}
    return figures, targets


def trust_database(url: str) -> str:
    """A second database on the cluster: trust_path.load drops and recreates read-model tables."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("CREATE DATABASE trust_bench")
    return url.rsplit("/", 1)[0] + "/trust_bench"


def print_table(catch_ups: list[dict], rates: list[Rate], latencies: list[Latency], parts: dict,
                trust: dict, targets: list[Target]) -> None:
    print(f"\n{'projection catch-up from 0 (fresh process)':<44}{'events':>9}{'seconds':>9}{'events/s':>10}"
          f"{'peak RSS MB':>13}")
    for c in catch_ups:
        print(f"  {c['store']:<42}{c['events']:>9,}{c['seconds']:>9.2f}{c['events_per_second']:>10,.0f}"
              f"{c['peak_rss_mb']:>13.1f}")
    print(f"\n{'status lookups (in process)':<44}{'store':<10}{'lookups':>9}{'per s':>10}{'us each':>9}")
    for r in rates:
        d = r.to_dict()
        print(f"  {r.what:<42}{r.store:<10}{r.lookups:>9,}{d['per_second']:>10,.0f}{d['microseconds_each']:>9.1f}")
    print(f"\n{'status list regeneration (131,072 entries)':<52}{'store':<10}{'runs':>5}{'median':>8}"
          f"{'p95':>8}{'max':>8}  ms")
    for lat in latencies:
        print(f"  {lat.what:<50}{lat.store:<10}{len(lat.samples):>5}{lat.median:>8.2f}{lat.p95:>8.2f}"
              f"{max(lat.samples):>8.2f}")
    for store, found in parts.items():
        print(f"  {store} parts: " + ", ".join(f"{k} {v}" for k, v in found.items()))
    print(f"\n{'trust paths (sql search)':<44}" + "".join(f"{s + ' p50':>14}{s + ' p99':>14}"
                                                    for s in trust if s != "graph") + "  ms")
    kinds = next(v for s, v in trust.items() if s != "graph")
    for kind in kinds:
        print(f"  {kind:<42}" + "".join(f"{trust[s][kind]['p50_ms']:>14.2f}{trust[s][kind]['p99_ms']:>14.2f}"
                                        for s in trust if s != "graph"))
    print(f"  graph: {trust['graph']['issuers']:,} issuers, {trust['graph']['endorsements']:,} endorsements")
    print("\ntargets")
    for t in targets:
        print(t.line())


def _load(figures: tuple[float, float, float]) -> str:
    return " ".join(f"{x:.2f}" for x in figures)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a fast smoke run with small counts")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL store")
    parser.add_argument("--events", type=int, help="at least this many events in the log")
    parser.add_argument("--lookups", type=int, help="status lookups per kind, SQLite")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    # A SIGTERM must still run the finally blocks that stop PostgreSQL.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    args = parse_args(argv)
    plan = data.QUICK if args.quick else data.DEFAULT
    if args.events:
        plan = data.Plan(**{**asdict(plan), "events": args.events})
    counts = QUICK if args.quick else DEFAULT
    if args.lookups:
        counts = Counts(**{**asdict(counts), "lookups": args.lookups})
    began = time.perf_counter()
    load_before = os.getloadavg()
    catch_ups, rates, latencies, parts, problems, targets = [], [], [], {}, [], []
    with tempfile.TemporaryDirectory(prefix="bench-read-side-") as tmp:
        home = Path(tmp)
        say(f"writing an event log of {plan.events:,}+ events through the use cases (SQLite) ...")
        sqlite, built = data.build_log(home, plan)
        say(f"  {sqlite.store.max_position():,} events in {built.seconds:.0f} s")
        stores = [("sqlite", sqlite, "")]
        with (nullcontext("") if args.no_postgres else throwaway_postgres()) as url:
            if url:
                postgres = open_store(home, url)  # same keys directory: it signs status lists too
                stores.append(("postgres", postgres, url))
                say(f"  copied into PostgreSQL in {data.copy_log(sqlite, postgres):.1f} s")
            try:
                for name, registry, store_url in stores:
                    # Each store's own expectations: the revocations timed below differ per store.
                    built_here = dataclasses.replace(built, status=dict(built.status))
                    say(f"{name}: catch-up from 0 in a fresh process ...")
                    result = catch_up_in_fresh_process(home, store_url)
                    result["peak_rss_mb"] = result["peak_rss_mib"] * 1.048576
                    catch_ups.append(result)
                    problems += check_catch_up(result, built.topics, built_here)
                    if name == "postgres":
                        settle(store_url)
                    say(f"{name}: status lookups and status list regeneration ...")
                    found, wrong = measure_lookups(registry, name, built_here,
                                                   counts.lookups if name == "sqlite" else counts.pg_lookups)
                    rates += found
                    problems += wrong
                    found, parts[name], wrong = measure_status_list(registry, name, built_here,
                                                                     counts.list_runs)
                    latencies += found
                    problems += wrong
                say("trust paths ...")
                trust, trust_targets = measure_trust(counts, trust_database(url) if url else None)
            finally:
                for _, registry, _ in reversed(stores):
                    registry.close()  # PostgreSQL's before the cluster stops under it

    for c in catch_ups:
        if c["store"] == "sqlite":
            targets.append(Target("catch-up from 0, SQLite", c["events_per_second"], TARGET_CATCH_UP, "events/s"))
        targets.append(Target(f"catch-up peak RSS, {c['store']}", c["peak_rss_mb"], TARGET_RSS_MB, "MB",
                              at_least=False))
    targets += [Target(f"{r.what}, sqlite", r.per_second, TARGET_LOOKUPS, "lookups/s")
                for r in rates if r.store == "sqlite" and " as of" not in r.what and "fresh" not in r.what]
    targets += [Target(f"{lat.what}, {lat.store}, p95", lat.p95, TARGET_LIST_MS, "ms", at_least=False)
                for lat in latencies]
    targets += trust_targets
    print_table(catch_ups, rates, latencies, parts, trust, targets)
    for problem in problems:
        print(f"  PROBLEM: {problem}")
    seconds = time.perf_counter() - began
    load_after = os.getloadavg()
    print(f"\nload average (1, 5, 15 min) at start {_load(load_before)}, at end {_load(load_after)}"
          f" on {os.cpu_count()} CPUs: other work on the machine shows in the figures")
    print(f"{seconds:.0f} s in all; figures in {args.output}")

    write_results(
        args.output,
        machine(load_average_at_start=[round(x, 2) for x in load_before],
                load_average_at_end=[round(x, 2) for x in load_after]),
        plan=asdict(plan),
        counts=asdict(counts),
        log={"events": sum(built.topics.values()), "by_event": built.topics,
             "written_in_seconds": round(built.seconds, 1)},
        catch_up=catch_ups,
        lookups=[r.to_dict() for r in rates],
        status_list=[lat.to_dict() for lat in latencies],
        status_list_parts=parts,
        trust_paths=trust,
        targets=[t.to_dict() for t in targets],
        problems=problems,
        seconds=round(seconds, 1),
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
