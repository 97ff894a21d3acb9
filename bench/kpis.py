"""The KPI pages under load: p99 latency of GET /pages/kpis (the registry's), an organisation's and a
pathway's KPI page, and the JSON GET /kpis, each paced at 200 requests/s from an open-loop client
(bench/http_load.py's: latency counted from when each request was due), against a bare Litestar
hello-world served the same way in the same run (rounds interleaved, so the machine's load hits
both alike).

The data: 20 organisations (every kind of stakeholder, a few stating none), each with four modules
and a pathway requiring them; learners start a cohort every month for twelve months (modules 1-2,
a month later 3-4, a month after that the pathway), about 10,000 credentials in all, 1% revoked,
0.3% suspended, and 300 endorsements between organisations. Events are stamped with the month they
stand for, so every bar of the chart has data.

    .venv/bin/python bench/kpis.py                         # SQLite, about 3 minutes
    .venv/bin/python bench/kpis.py --postgres --seconds 5  # PostgreSQL as well

Figures: a table, and JSON in bench/results/kpis.json."""

from __future__ import annotations

import argparse
import random
import signal
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, write_results  # noqa: E402
from http_load import http_get, run_paced, server  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "kpis.json"
TARGET_P99_MS = 50.0
RATE = 200.0
PUBLIC_URL = "https://badges.example.org"
KINDS = ("education", "employer", "government", "civil-society", "other", None)


def month(now: datetime, back: int) -> datetime:
    year, m = now.year, now.month - back
    while m < 1:
        year, m = year - 1, m + 12
    return datetime(year, m, 3, 10, tzinfo=timezone.utc)


def build_data(environ: dict[str, str], organisations: int, cohort: int) -> dict:
    """The dataset above, through the registry's own use cases; returns what the pages are about."""
    import eventsourcing.domain as library

    from registry.bootstrap import open_registry
    from registry.commands import Actor, Award

    bench = Actor("bench")
    rng = random.Random(11)
    now = datetime.now(timezone.utc)
    stamped = {"at": month(now, 13)}
    real = library.datetime_now_with_tzinfo
    library.datetime_now_with_tzinfo = lambda: stamped["at"]
    registry = open_registry(environ)
    try:
        c = registry.commands
        orgs, modules, pathways = [], {}, {}
        for n in range(organisations):
            slug = f"org-{n:02d}"
            c.issuers.register(slug=slug, name=f"Organisation {n:02d}", kind=KINDS[n % len(KINDS)], actor=bench)
            mods = [c.achievements.define(issuer=slug, definition={
                "name": f"Module {k}", "description": f"Module {k} of {slug}.",
                "criteria": {"narrative": "Assessed."}}, actor=bench).id for k in range(4)]
            pathways[slug] = c.achievements.define(issuer=slug, definition={
                "name": "Pathway", "description": f"The pathway of {slug}.", "criteria": {"narrative": "All modules."}},
                requires=mods, actor=bench).id
            orgs.append(slug)
            modules[slug] = mods
        ids: list[str] = []
        for back in range(11, -1, -1):
            awards: list = []
            for slug in orgs:
                for k in range(cohort):  # this month's cohort: modules 1 and 2
                    learner = f"{slug}-{back}-{k}@example.org"
                    awards += [Award(learner, modules[slug][0]), Award(learner, modules[slug][1])]
                for k in range(cohort):  # last month's: modules 3 and 4
                    if back + 1 <= 11:
                        learner = f"{slug}-{back + 1}-{k}@example.org"
                        awards += [Award(learner, modules[slug][2]), Award(learner, modules[slug][3])]
                for k in range(cohort):  # the month before: the pathway
                    if back + 2 <= 11:
                        awards.append(Award(f"{slug}-{back + 2}-{k}@example.org", pathways[slug]))
            for start in range(0, len(awards), 500):
                stamped["at"] = month(now, back) + timedelta(days=rng.randrange(0, 20), hours=start // 500)
                ids += registry.commands.credentials.issue_batch(awards[start:start + 500], actor=bench).ids
        stamped["at"] = now - timedelta(hours=2)
        for credential in ids[::100]:
            c.credentials.revoke(credential, reason="bench", actor=bench)
        for credential in ids[37::300]:
            c.credentials.suspend(credential, reason="bench", actor=bench)
        given = set()
        while len(given) < 300:
            by, of = rng.sample(orgs, 2)
            subject = rng.choice([of, pathways[of], *modules[of]])
            if (by, subject) in given:
                continue
            given.add((by, subject))
            c.endorsements.endorse(by=by, subject=subject, comment="bench", actor=bench)
        registry.queries.fresh()
        return {"credentials": len(ids), "issuer": orgs[1], "pathway": pathways[orgs[1]]}
    finally:
        library.datetime_now_with_tzinfo = real
        registry.close()


def run(store: str, environ: dict[str, str], work: Path, hello_port: int, args) -> list[dict]:
    import os

    began = time.perf_counter()
    data = build_data(environ, args.organisations, args.cohort)
    print(f"  {store}: {data['credentials']} credentials in {time.perf_counter() - began:.0f} s", flush=True)
    pages = {
        "GET /pages/kpis": "/pages/kpis?lang=en",
        "GET /pages/issuers/{slug}/kpis": f"/pages/issuers/{data['issuer']}/kpis?lang=nl",
        "GET /pages/achievements/{id}/kpis": f"/pages/achievements/{data['pathway']}/kpis?lang=en",
        "GET /kpis (JSON)": "/kpis",
    }
    argv = [sys.executable, "-m", "registry.cli", "serve", "--workers", str(args.workers), "--log-level", "warning"]
    rounds: dict[str, list[dict]] = {"GET / (hello-world)": [], **{name: [] for name in pages}}
    with server(argv, {**os.environ, **environ}, "/pages/kpis", work / f"serve-{store}.log") as port:
        targets = {"GET / (hello-world)": (hello_port, "/"), **{n: (port, p) for n, p in pages.items()}}
        for target_port, path in targets.values():  # warm-up: connections, caches, templates
            run_paced(target_port, [http_get(path)], 50.0, 1.0, 8)
        for _ in range(args.rounds):
            for name, (target_port, path) in targets.items():
                found = run_paced(target_port, [http_get(path)], args.rate, args.seconds, args.connections)
                rounds[name].append(found)
                print(f"  {store:8} {name:36} at {args.rate:.0f}/s: {found['rps']:.0f}/s, p50 {found['p50_ms']:.2f} ms,"
                      f" p99 {found['p99_ms']:.2f} ms, errors {found['errors']}", flush=True)
    return [{"store": store, "endpoint": name, "paced_rate": args.rate,
             "rps": statistics.median(r["rps"] for r in found),
             "p50_ms": statistics.median(r["p50_ms"] for r in found),
             "p99_ms": statistics.median(r["p99_ms"] for r in found),
             "max_ms": max(r["max_ms"] for r in found), "errors": sum(r["errors"] for r in found),
             "rounds": found, "credentials": data["credentials"]}
            for name, found in rounds.items()]


def main(argv: list[str] | None = None) -> int:
    import os

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workers", type=int, default=2, help="uvicorn workers per server")
    p.add_argument("--seconds", type=float, default=10.0, help="each paced run")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--rate", type=float, default=RATE)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--organisations", type=int, default=20)
    p.add_argument("--cohort", type=int, default=10, help="learners starting per organisation and month")
    p.add_argument("--postgres", action="store_true", help="also on a throwaway PostgreSQL cluster")
    p.add_argument("--output", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks: stop servers
    began, load_at_start = time.perf_counter(), os.getloadavg()[0]
    figures: list[dict] = []
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-kpis-")))
        hello_argv = [sys.executable, "-m", "uvicorn", "--app-dir", str(Path(__file__).resolve().parent),
                      "--factory", "http_load:hello_app", "--workers", str(args.workers),
                      "--log-level", "warning", "--host", "127.0.0.1"]
        hello_port = stack.enter_context(server(hello_argv, dict(os.environ), "/", work / "hello.log"))
        stores = [("sqlite", "")]
        if args.postgres:
            from _pg import throwaway_postgres

            stores.append(("postgres", stack.enter_context(throwaway_postgres())))
        for store, url in stores:
            home = work / store
            # One client address sends every request: the read limiter stays on (its cost is part of
            # each answer) but is set far above the paced rate, so it refuses nothing.
            environ = {"REGISTRY_HOME": str(home / "data"), "REGISTRY_KEYS": str(home / "keys"),
                       "REGISTRY_PUBLIC_URL": PUBLIC_URL, "REGISTRY_DATABASE_URL": url,
                       "REGISTRY_READ_RATE_PER_MINUTE": "1000000", "REGISTRY_READ_BURST": "1000000"}
            figures += run(store, environ, work, hello_port, args)
    targets = [{"what": f"{f['store']} {f['endpoint']} p99 at {f['paced_rate']:.0f} req/s (ms)",
                "measured": round(f["p99_ms"], 2), "target": f"< {TARGET_P99_MS}",
                "passed": f["p99_ms"] < TARGET_P99_MS and f["rps"] >= 0.95 * f["paced_rate"] and not f["errors"]}
               for f in figures if f["endpoint"].startswith("GET /pages")]
    print(f"\n{'store':8} {'endpoint':36} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'errors':>6}")
    for f in figures:
        print(f"{f['store']:8} {f['endpoint']:36} {f['rps']:7.0f} {f['p50_ms']:7.2f} {f['p99_ms']:7.2f} "
              f"{f['max_ms']:7.1f} {f['errors']:6d}")
    print()
    for t in targets:
        print(f"{'PASS' if t['passed'] else 'MISS'}  {t['what']}: {t['measured']:.2f} (target {t['target']})")
    seconds = time.perf_counter() - began
    print(f"\n{seconds:.0f} s in all; 1-min load average {load_at_start:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end ({os.cpu_count()} CPUs); figures in {args.output}")
    write_results(args.output, machine(loadavg_1min_at_start=load_at_start, loadavg_1min_at_end=os.getloadavg()[0]),
                  settings={k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
                  client="asyncio+uvloop raw-socket open loop (bench/http_load.py), latency from each due time",
                  loads=figures, targets=targets, seconds=round(seconds, 1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
