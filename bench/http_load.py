"""HTTP load on `registry serve`: GET /credentials/{id}/status and POST /verify against a bare
Litestar hello-world served the same way (the ceiling), all with the same number of uvicorn workers.

Maximum throughput comes from wrk (closed loop, Lua scripts spread the GETs over every issued
credential and rotate the POST bodies). Latency at a fixed rate comes from a paced open-loop client
in this file (Debian has no wrk2): asyncio + uvloop over raw keep-alive sockets; request i is due at
t0 + i/rate and its latency is counted from when it was due, so a stalled server is not hidden by a
client that waits for it (no coordinated omission).

    .venv/bin/python bench/http_load.py                  # SQLite and PostgreSQL, about 3 minutes
    .venv/bin/python bench/http_load.py --no-postgres --seconds 5

Everything listens on 127.0.0.1; every server this script starts is stopped, also on Ctrl-C or
SIGTERM. Figures: a table, and JSON in bench/results/http_load.json."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import shutil
import signal
import statistics
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from litestar import Litestar, get

RESULTS = Path(__file__).resolve().parent / "results" / "http_load.json"
TARGET_CEILING_SHARE = 0.5  # the status endpoint's throughput / hello-world's
TARGET_P99_MS = 20.0  # at TARGET_RATE requests/s
TARGET_RATE = 1000.0
PUBLIC_URL = "https://badges.example.org"
WRK_MARK = "WRK_JSON "


# --- the ceiling: a bare Litestar app, imported by uvicorn's workers --------------------------------


@get("/", media_type="text/plain", sync_to_thread=False)
def hello() -> str:
    return "Hello, world!"


def hello_app() -> Litestar:
    return Litestar(route_handlers=[hello], openapi_config=None)


# --- figures -----------------------------------------------------------------------------------------


@dataclass
class Load:
    store: str  # sqlite, postgres, or "-" for the hello-world
    endpoint: str
    max_rps: float  # wrk, closed loop
    wrk_p50_ms: float  # at saturation
    wrk_p99_ms: float
    wrk_errors: int  # socket errors and non-2xx/3xx answers
    paced_rate: float  # asked of the paced client
    paced_rps: float  # achieved
    p50_ms: float  # at the paced rate, from when each request was due
    p99_ms: float
    max_ms: float
    paced_errors: int
    rounds: list[dict]  # each round's figures; the fields above are their medians (errors: sums)


# --- servers -----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def server(argv: list[str], env: dict[str, str], probe_path: str, log: Path):
    """A server process (its own session, so its workers go with it), stopped on exit."""
    port = free_port()
    with log.open("w") as out:
        process = subprocess.Popen([*argv, "--port", str(port)], env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until_up(process, port, probe_path, log)
            yield port
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)  # the group of the process started here
                    process.wait()


def wait_until_up(process: subprocess.Popen, port: int, path: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{' '.join(process.args[:4])}... did not start: {log.read_text()[-1500:]}")
        time.sleep(0.2)


# --- wrk: maximum throughput ---------------------------------------------------------------------------

_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('%s{"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p99_us": %%d, '
    .. '"errors": %%d}\\n', summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(99), e.connect + e.read + e.write + e.status + e.timeout))
end
""" % WRK_MARK


def lua_string(text: str) -> str:
    level = "=" * 4
    assert f"]{level}]" not in text
    return f"[{level}[{text}]{level}]"


def lua_script(kind: str, paths: list[str], bodies: list[str]) -> str:
    if kind == "get":
        return ("local paths = {" + ",".join(lua_string(p) for p in paths) + "}\n"
                "request = function() return wrk.format('GET', paths[math.random(#paths)]) end\n" + _DONE)
    return ("local bodies = {" + ",".join(lua_string(b) for b in bodies) + "}\n"
            "local path = " + lua_string(paths[0]) + "\n"
            "local headers = {['Content-Type'] = 'application/json'}\n"
            "request = function() return wrk.format('POST', path, headers, bodies[math.random(#bodies)]) end\n"
            + _DONE)


def run_wrk(port: int, script: Path, seconds: float, connections: int, url: str | None = None) -> dict:
    """wrk against 127.0.0.1:port, or `url` (https through a proxy: bench/cluster.py)."""
    done = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s", "-s", str(script),
         url or f"http://127.0.0.1:{port}"], capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stderr.strip() or done.stdout.strip()}")
    line = next(x for x in done.stdout.splitlines() if x.startswith(WRK_MARK))
    found = json.loads(line[len(WRK_MARK):])
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", done.stdout)
    found["errors"] = max(found["errors"], int(non_2xx.group(1)) if non_2xx else 0)
    return found


# --- the paced client ---------------------------------------------------------------------------------


async def paced(port: int, requests: list[bytes], rate: float, seconds: float, connections: int) -> dict:
    """Send requests at `rate`/s for `seconds` over `connections` keep-alive sockets; latencies
    are counted from each request's due time."""
    total = int(rate * seconds)
    queue: asyncio.Queue = asyncio.Queue()
    latencies: list[float] = []
    errors = 0

    async def connection() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while True:
                item = await queue.get()
                if item is None:
                    return
                due, request = item
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
                if length:
                    await reader.readexactly(int(length.group(1)))
                latencies.append(time.perf_counter() - due)
                if not head.startswith((b"HTTP/1.1 200", b"HTTP/1.1 304")) or not length:
                    errors += 1
        finally:
            writer.close()

    workers = [asyncio.create_task(connection()) for _ in range(connections)]
    await asyncio.sleep(0.2)  # connected before the clock starts
    rng = random.Random(7)
    start = time.perf_counter()
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((due, rng.choice(requests)))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.wait_for(asyncio.gather(*workers), timeout=seconds + 60)
    elapsed = time.perf_counter() - start
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000

    return {"rps": len(latencies) / elapsed, "p50_ms": pct(50), "p99_ms": pct(99),
            "max_ms": latencies[-1] * 1000, "errors": errors}


def run_paced(port: int, requests: list[bytes], rate: float, seconds: float, connections: int) -> dict:
    import uvloop

    return uvloop.run(paced(port, requests, rate, seconds, connections))


def http_get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


def http_post(path: str, body: str) -> bytes:
    data = body.encode()
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n").encode() + data


# --- the data -----------------------------------------------------------------------------------------


def build_data(environ: dict[str, str], credentials: int) -> tuple[list[str], list[str]]:
    """`registry demo`, then `credentials` more in batches; a few revoked. Returns the credential
    ids and some signed documents to verify. The projections are caught up before serving."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from issuance_verification import awards, module_badges

    from registry.bootstrap import open_registry
    from registry.commands import Actor

    registry = open_registry(environ)
    bench = Actor("bench")
    try:
        stream = awards(module_badges(registry))
        ids: list[str] = []
        documents: list[str] = []
        while len(ids) < credentials:
            batch = [next(stream) for _ in range(min(500, credentials - len(ids)))]
            written = registry.commands.credentials.issue_batch(batch, actor=bench)
            ids += written.ids
            documents += [json.dumps(d) for d in written.documents[:5]]
        for credential in ids[::97]:  # about 1% revoked, so answers differ
            registry.commands.credentials.revoke(credential, reason="bench", actor=bench)
        registry.queries.fresh()  # the projections catch up before serving
        return ids, documents[:40]
    finally:
        registry.close()


# --- one store ----------------------------------------------------------------------------------------


@dataclass
class Endpoint:
    name: str
    port: int
    script: Path  # wrk's Lua script
    requests: list[bytes]  # what the paced client sends, one picked at random each time
    rate_for: Callable[[float], float]  # the paced rate, given wrk's maximum

    def round(self, args) -> dict:
        """wrk's maximum, then the paced client at rate_for(that maximum)."""
        load_before = os.getloadavg()[0]  # other work on the machine shows in the latencies
        found = run_wrk(self.port, self.script, args.seconds, args.connections)
        max_rps = found["requests"] / (found["duration_us"] / 1e6)
        rate = float(round(self.rate_for(max_rps)))
        paced_result = run_paced(self.port, self.requests, rate, args.seconds, args.paced_connections)
        return {"max_rps": max_rps, "wrk_p50_ms": found["p50_us"] / 1000, "wrk_p99_ms": found["p99_us"] / 1000,
                "wrk_errors": found["errors"], "paced_rate": rate, "paced_rps": paced_result["rps"],
                "p50_ms": paced_result["p50_ms"], "p99_ms": paced_result["p99_ms"],
                "max_ms": paced_result["max_ms"], "paced_errors": paced_result["errors"],
                "loadavg_1min_before": load_before}


def summarised(store: str, endpoint: str, rounds: list[dict]) -> Load:
    def median(key: str) -> float:
        return statistics.median(r[key] for r in rounds)

    return Load(store, endpoint, median("max_rps"), median("wrk_p50_ms"), median("wrk_p99_ms"),
                sum(r["wrk_errors"] for r in rounds), median("paced_rate"), median("paced_rps"),
                median("p50_ms"), median("p99_ms"), median("max_ms"), sum(r["paced_errors"] for r in rounds),
                rounds)


def show(store: str, endpoint: str, figures: dict) -> None:
    print(f"  {store:8} {endpoint:30} {figures['max_rps']:7.0f} req/s max; at {figures['paced_rate']:.0f}/s "
          f"p50 {figures['p50_ms']:.2f} ms, p99 {figures['p99_ms']:.2f} ms", flush=True)


def registry_loads(store: str, environ: dict[str, str], hello: Endpoint, work: Path, args) -> list[Load]:
    """The status endpoint in rounds interleaved with the hello-world (the machine's load then
    hits both alike), then /verify."""
    began = time.perf_counter()
    ids, documents = build_data(environ, args.credentials)
    print(f"  {store}: demo + {len(ids)} credentials in {time.perf_counter() - began:.0f} s", flush=True)
    status_paths = [f"/credentials/{i}/status" for i in ids]
    status_lua = work / f"status-{store}.lua"
    status_lua.write_text(lua_script("get", status_paths, []))
    verify_lua = work / f"verify-{store}.lua"
    verify_lua.write_text(lua_script("post", ["/verify"], documents))
    # The signed list every remote verifier fetches: the demo consortium's, with its revocations.
    list_paths = ["/status-lists/softskills4eu/1"]
    list_lua = work / f"status-list-{store}.lua"
    list_lua.write_text(lua_script("get", list_paths, []))
    argv = [sys.executable, "-m", "registry.cli", "serve", "--workers", str(args.workers),
            "--log-level", "warning"]
    env = {**os.environ, **environ}
    with server(argv, env, status_paths[0], work / f"serve-{store}.log") as port:
        status = Endpoint("GET /credentials/{id}/status", port, status_lua,
                          [http_get(p) for p in status_paths], lambda _: args.rate)
        # Verification costs milliseconds of CPU: paced at the target rate it would only queue up,
        # so it is paced at half of what wrk found it can do.
        verify = Endpoint("POST /verify", port, verify_lua, [http_post("/verify", d) for d in documents],
                          lambda most: min(args.rate, max(10.0, 0.5 * most)))
        signed_list = Endpoint("GET /status-lists/{slug}/1", port, list_lua, [http_get(p) for p in list_paths],
                               lambda _: args.rate)
        for endpoint in (hello, status, signed_list, verify):  # warm-up: first connections, caches
            run_wrk(endpoint.port, endpoint.script, 2.0, args.connections)
        rounds: dict[str, list[dict]] = {hello.name: [], status.name: [], signed_list.name: []}
        for _ in range(args.rounds):
            for endpoint in (hello, status, signed_list):
                rounds[endpoint.name].append(endpoint.round(args))
                show(store, endpoint.name, rounds[endpoint.name][-1])
        verified = verify.round(args)
        show(store, verify.name, verified)
    return [summarised(store, hello.name, rounds[hello.name]),
            summarised(store, status.name, rounds[status.name]),
            summarised(store, signed_list.name, rounds[signed_list.name]),
            summarised(store, verify.name, [verified])]


# --- the run ------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workers", type=int, default=2, help="uvicorn workers per server")
    p.add_argument("--seconds", type=float, default=5.0, help="each wrk run and each paced run")
    p.add_argument("--rounds", type=int, default=3, help="interleaved hello-world / status rounds per store")
    p.add_argument("--rate", type=float, default=TARGET_RATE, help="paced requests/s")
    p.add_argument("--connections", type=int, default=64, help="wrk connections")
    p.add_argument("--paced-connections", type=int, default=32)
    p.add_argument("--credentials", type=int, default=3000, help="issued beyond the demo's")
    p.add_argument("--no-postgres", action="store_true")
    p.add_argument("--output", type=Path, default=RESULTS)
    return p.parse_args(argv)


def print_table(loads: list[Load], targets: list[dict]) -> None:
    print(f"\n{'store':8} {'endpoint':30} {'max req/s':>10} {'wrk p50':>8} {'wrk p99':>8} "
          f"{'paced/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'errors':>6}")
    for x in loads:
        print(f"{x.store:8} {x.endpoint:30} {x.max_rps:10.0f} {x.wrk_p50_ms:8.2f} {x.wrk_p99_ms:8.2f} "
              f"{x.paced_rps:8.0f} {x.p50_ms:7.2f} {x.p99_ms:7.2f} {x.max_ms:7.1f} "
              f"{x.wrk_errors + x.paced_errors:6d}")
    print()
    for t in targets:
        print(f"{'PASS' if t['passed'] else 'MISS'}  {t['what']}: {t['measured']:.2f} (target {t['target']})")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks: stop servers
    began = time.perf_counter()
    load_at_start = os.getloadavg()[0]
    loads: list[Load] = []
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-http-")))
        hello_lua = work / "hello.lua"
        hello_lua.write_text(lua_script("get", ["/"], []))
        hello_argv = [sys.executable, "-m", "uvicorn", "--app-dir", str(Path(__file__).resolve().parent),
                      "--factory", "http_load:hello_app", "--workers", str(args.workers),
                      "--log-level", "warning", "--host", "127.0.0.1"]
        port = stack.enter_context(server(hello_argv, dict(os.environ), "/", work / "hello.log"))
        hello = Endpoint("GET / (hello-world ceiling)", port, hello_lua, [http_get("/")], lambda _: args.rate)
        stores = [("sqlite", "")]
        if not args.no_postgres:
            from _pg import throwaway_postgres

            stores.append(("postgres", stack.enter_context(throwaway_postgres())))
        for store, url in stores:
            home = work / store
            # The per-client read limit off (0), as behind a gateway that limits: one load generator
            # on 127.0.0.1 would otherwise be answered 429 after its first 6,000 reads a minute.
            environ = {"REGISTRY_HOME": str(home / "data"), "REGISTRY_KEYS": str(home / "keys"),
                       "REGISTRY_PUBLIC_URL": PUBLIC_URL, "REGISTRY_DATABASE_URL": url,
                       "REGISTRY_READ_RATE_PER_MINUTE": "0"}
            loads += registry_loads(store, environ, hello, work, args)

    targets = []
    for ceiling, status, signed_list in zip(loads[0::4], loads[1::4], loads[2::4]):
        # Per round: the status endpoint and the signed list against the hello-world measured just before.
        for what, load in (("status", status), ("signed status list", signed_list)):
            shares = [s["max_rps"] / c["max_rps"] for c, s in zip(ceiling.rounds, load.rounds)]
            share = statistics.median(shares)
            targets.append({"what": f"{load.store} {what} throughput / hello-world ceiling",
                            "measured": round(share, 3), "target": f">= {TARGET_CEILING_SHARE}",
                            "rounds": [round(x, 3) for x in shares], "passed": share >= TARGET_CEILING_SHARE})
        targets.append({"what": f"{status.store} status p99 at {status.paced_rate:.0f} req/s (ms)",
                        "measured": round(status.p99_ms, 2), "target": f"< {TARGET_P99_MS}",
                        "rounds": [round(r["p99_ms"], 2) for r in status.rounds],
                        "passed": status.p99_ms < TARGET_P99_MS and status.paced_rps >= 0.95 * status.paced_rate})
    print_table(loads, targets)
    seconds = time.perf_counter() - began
    print(f"\n{seconds:.0f} s in all; 1-min load average {load_at_start:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end ({os.cpu_count()} CPUs); figures in {args.output}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({
        "run_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
                    "loadavg_1min_at_start": load_at_start, "loadavg_1min_at_end": os.getloadavg()[0]},
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "client": {"max": "wrk 4.1 (1 thread), Lua scripts", "paced": "asyncio+uvloop raw-socket open loop (this file)"},
        "loads": [asdict(x) for x in loads],
        "targets": targets,
        "seconds": round(seconds, 1),
    }, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
