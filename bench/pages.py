"""The credential page and the baked download under load, on SQLite: `registry serve` with the demo
and a few hundred more credentials, against a bare Litestar hello-world served the same way (the
same run's baseline), with the same number of uvicorn workers.

- `GET /credentials/{id}` with a browser's Accept (the HTML page: the credential, its status, its
  endorsements, a verification of its proof and a QR code), paced at --rate (200/s) over every
  credential; target p99 < 50 ms.
- `GET /credentials/{id}/baked.png` paced at the same rate; target p99 < 20 ms.
- wrk's closed-loop maximum of each, for scale; and each page's first visit, one at a time, on the fresh
  server (a worker's first view of a credential verifies it and draws its QR code; later views are
  kept until the log moves).

The paced client is bench/http_load.py's (open loop; latency counted from when each request was
due, so a stalled server is not hidden). Read limits are off (REGISTRY_READ_RATE_PER_MINUTE=0): one
client address sends everything.

    .venv/bin/python bench/pages.py                 # about a minute and a half
    .venv/bin/python bench/pages.py --seconds 5 --rounds 1

Figures: a table, and JSON in bench/results/pages.json."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import machine, write_results  # noqa: E402
from http_load import (  # noqa: E402
    Endpoint,
    http_get,
    lua_script,
    run_wrk,
    server,
    show,
    summarised,
)

RESULTS = Path(__file__).resolve().parent / "results" / "pages.json"
PUBLIC_URL = "https://badges.example.org"
TARGET_PAGE_P99_MS = 50.0
TARGET_BAKED_P99_MS = 20.0
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def http_get_html(path: str) -> bytes:
    return (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: {BROWSER}\r\n"
            "Accept-Language: en\r\n\r\n").encode()


def lua_html(paths: list[str]) -> str:
    """wrk's script for GETs with a browser's Accept header."""
    script = lua_script("get", paths, [])
    return script.replace("wrk.format('GET', paths[math.random(#paths)])",
                          f"wrk.format('GET', paths[math.random(#paths)], {{['Accept'] = '{BROWSER}'}})")


def build_data(environ: dict[str, str], extra: int) -> list[str]:
    """`registry demo`, then `extra` credentials of one more achievement in one batch; returns every
    credential id."""
    import contextlib
    import io

    from registry.bootstrap import open_registry
    from registry.commands import Actor, Award
    from registry.demo import build
    from registry.domain import Credential

    registry = open_registry(environ)
    bench = Actor("bench")
    try:
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            build(registry)
        if extra:
            achievement = registry.commands.achievements.define(issuer="softskills4eu", actor=bench, definition={
                "name": "Bench Badge", "description": "Issued by bench/pages.py.", "criteria": {"narrative": "Load."}})
            registry.commands.credentials.issue_batch(
                [Award(f"learner{i}@example.org", achievement.id) for i in range(extra)], actor=bench)
        registry.queries.fresh()
        return [str(e.originator_id) for e in registry.store.events_of(Credential.Issued)]
    finally:
        registry.close()


def first_visits(port: int, paths: list[str], headers: dict[str, str]) -> dict:
    """Each path once, one request at a time, on a fresh server: what a first visit costs."""
    import httpx

    latencies = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30) as client:
        for path in paths:
            began = time.perf_counter()
            client.get(path).raise_for_status()
            latencies.append((time.perf_counter() - began) * 1000)
    latencies.sort()
    return {"requests": len(latencies), "p50_ms": round(statistics.median(latencies), 2),
            "p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))], 2), "max_ms": round(latencies[-1], 2)}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workers", type=int, default=2, help="uvicorn workers per server")
    p.add_argument("--seconds", type=float, default=8.0, help="each wrk run and each paced run")
    p.add_argument("--rounds", type=int, default=3, help="interleaved baseline / page / baked rounds")
    p.add_argument("--rate", type=float, default=200.0, help="paced requests/s")
    p.add_argument("--connections", type=int, default=32, help="wrk connections")
    p.add_argument("--paced-connections", type=int, default=32)
    p.add_argument("--credentials", type=int, default=300, help="issued beyond the demo's")
    p.add_argument("--warm-seconds", type=float, default=12.0, help="wrk on the pages before measuring")
    p.add_argument("--output", type=Path, default=RESULTS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks: stop servers
    began = time.perf_counter()
    load_at_start = os.getloadavg()[0]
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-pages-")))
        environ = {"REGISTRY_HOME": str(work / "data"), "REGISTRY_KEYS": str(work / "keys"),
                   "REGISTRY_PUBLIC_URL": PUBLIC_URL, "REGISTRY_READ_RATE_PER_MINUTE": "0"}
        ids = build_data(environ, args.credentials)
        print(f"  sqlite: demo + {args.credentials} credentials ({len(ids)} in all) in "
              f"{time.perf_counter() - began:.0f} s", flush=True)
        hello_lua = work / "hello.lua"
        hello_lua.write_text(lua_script("get", ["/"], []))
        hello_argv = [sys.executable, "-m", "uvicorn", "--app-dir", str(Path(__file__).resolve().parent),
                      "--factory", "http_load:hello_app", "--workers", str(args.workers),
                      "--log-level", "warning", "--host", "127.0.0.1"]
        port = stack.enter_context(server(hello_argv, dict(os.environ), "/", work / "hello.log"))
        hello = Endpoint("GET / (hello-world baseline)", port, hello_lua, [http_get("/")], lambda _: args.rate)
        page_paths = [f"/credentials/{i}" for i in ids]
        baked_paths = [f"/credentials/{i}/baked.png" for i in ids]
        (work / "page.lua").write_text(lua_html(page_paths))
        (work / "baked.lua").write_text(lua_script("get", baked_paths, []))
        argv = [sys.executable, "-m", "registry.cli", "serve", "--workers", str(args.workers), "--log-level", "warning"]
        port = stack.enter_context(server(argv, {**os.environ, **environ}, baked_paths[0], work / "serve.log"))
        page = Endpoint("GET /credentials/{id} (HTML)", port, work / "page.lua",
                        [http_get_html(p) for p in page_paths], lambda _: args.rate)
        baked = Endpoint("GET /credentials/{id}/baked.png", port, work / "baked.lua",
                         [http_get(p) for p in baked_paths], lambda _: args.rate)
        cold = {"page": first_visits(port, page_paths, {"Accept": BROWSER}),
                "baked": first_visits(port, baked_paths, {})}
        why = {"page": "a worker's first view of a credential verifies it and draws its QR code",
               "baked": "a worker's first bake into an achievement's default image draws it"}
        for name, found in cold.items():
            print(f"  sqlite   first visit of each {name}, one at a time: p50 {found['p50_ms']:.1f} ms, "
                  f"p99 {found['p99_ms']:.1f} ms ({why[name]})", flush=True)
        for endpoint, seconds in ((hello, 3.0), (page, args.warm_seconds), (baked, 3.0)):
            run_wrk(endpoint.port, endpoint.script, seconds, args.connections)  # warm-up: every worker's caches
        rounds: dict[str, list[dict]] = {e.name: [] for e in (hello, page, baked)}
        for _ in range(args.rounds):
            for endpoint in (hello, page, baked):
                rounds[endpoint.name].append(endpoint.round(args))
                show("sqlite", endpoint.name, rounds[endpoint.name][-1])
    loads = [summarised("-" if name.startswith("GET / ") else "sqlite", name, found) for name, found in rounds.items()]
    targets = []
    for load, target in ((loads[1], TARGET_PAGE_P99_MS), (loads[2], TARGET_BAKED_P99_MS)):
        targets.append({"what": f"{load.endpoint} p99 at {load.paced_rate:.0f} req/s (ms)",
                        "measured": round(load.p99_ms, 2), "target": f"< {target}",
                        "rounds": [round(r["p99_ms"], 2) for r in load.rounds],
                        "passed": load.p99_ms < target and load.paced_rps >= 0.95 * load.paced_rate})
    print(f"\n{'endpoint':34} {'max req/s':>10} {'paced/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'errors':>6}")
    for x in loads:
        print(f"{x.endpoint:34} {x.max_rps:10.0f} {x.paced_rps:8.0f} {x.p50_ms:7.2f} {x.p99_ms:7.2f} "
              f"{x.max_ms:7.1f} {x.wrk_errors + x.paced_errors:6d}")
    print()
    for t in targets:
        print(f"{'PASS' if t['passed'] else 'MISS'}  {t['what']}: {t['measured']:.2f} (target {t['target']}); "
              f"rounds {t['rounds']}")
    seconds = time.perf_counter() - began
    print(f"\n{seconds:.0f} s in all; 1-min load average {load_at_start:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end ({os.cpu_count()} CPUs); figures in {args.output}")
    write_results(args.output, machine(loadavg_1min_at_start=load_at_start, loadavg_1min_at_end=os.getloadavg()[0]),
                  settings={k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
                  loads=[asdict(x) for x in loads], targets=targets, first_visits=cold,
                  baseline_ratio={"page_max_rps_share": round(statistics.median(
                      p["max_rps"] / h["max_rps"] for h, p in zip(loads[0].rounds, loads[1].rounds)), 3)},
                  seconds=round(seconds, 1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
