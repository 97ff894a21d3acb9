"""The local cluster (deploy/local-cluster) against one process: status reads and issuance through
HAProxy with 1 and with 3 API hosts, and the same run's baseline, one `registry serve` straight on the
cluster's PostgreSQL primary (no PgBouncer, no HAProxy, no TLS).

    .venv/bin/python bench/cluster.py                     # about 3 minutes on 2 cores
    .venv/bin/python bench/cluster.py --seconds 3 --rounds 1 --credentials 500   # smoke run

One cluster is brought up (`local-cluster up --api-hosts 3`: PgBouncer in transaction pooling with
sessions direct, reads from the synchronous replica, as deploy/compose.yaml), filled through its API (an organisation,
an achievement, --credentials credentials in batches), and measured in rounds; in each round the
three set-ups take their turn: the baseline, HAProxy with api-2 and api-3 put in maintenance through
HAProxy's runtime API (1 host), HAProxy with all three. The same data, database, token and load
generator serve all three, so only the path differs. Each is measured with wrk (bench/http_load.py's
runner; closed loop, one thread): `GET /credentials/{id}/status` over every credential at random, and
`POST /credentials` (one signature in the SoftHSM2 token and one synchronous commit each) rotating
recipients. Throughput is wrk's requests/s, p50/p99 its latencies at that saturation. The read rate
limit is off (REGISTRY_READ_RATE_PER_MINUTE=0: one load generator behind HAProxy is one client) and
the write limit far above the load. The cluster is torn down at the end (also on Ctrl-C or SIGTERM).
Figures: a table, and JSON in bench/results/cluster.json."""

from __future__ import annotations

import argparse
import importlib.machinery
import importlib.util
import json
import os
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, write_results  # noqa: E402
from http_load import _DONE, lua_script, lua_string, run_wrk, server  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "deploy" / "local-cluster"
RESULTS = Path(__file__).resolve().parent / "results" / "cluster.json"
STATUS, ISSUE = "GET /credentials/{id}/status", "POST /credentials"


def local_cluster():
    """deploy/local-cluster as a module (its file has no .py): its HAProxy runtime-API helpers."""
    loader = importlib.machinery.SourceFileLoader("local_cluster", str(SCRIPT))
    spec = importlib.util.spec_from_loader("local_cluster", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def script(*argv: str, timeout: float = 300) -> str:
    done = subprocess.run([sys.executable, str(SCRIPT), *argv], capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise SystemExit(done.stderr.strip() or f"local-cluster {argv[0]} failed")
    return done.stdout


def cli(env: dict[str, str], *argv: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("REGISTRY_", "PG"))}
    done = subprocess.run([sys.executable, "-m", "registry.cli", *argv], env={**clean, **env}, capture_output=True,
                          text=True, timeout=120)
    if done.returncode != 0:
        raise SystemExit(f"registry {' '.join(argv)}: {done.stderr.strip()}")
    return done.stdout


def fill(url: str, ca: str, env: dict[str, str], credentials: int) -> tuple[str, str, list[str]]:
    """An organisation, its key, an achievement and `credentials` credentials, through HAProxy."""
    admin = cli(env, "apikey", "create", "--admin").splitlines()[-1]
    with httpx.Client(base_url=url, verify=ssl.create_default_context(cafile=ca), timeout=120) as client:
        answer = client.post("/issuers", json={"slug": "bench", "name": "Bench Academy"},
                             headers={"Authorization": f"Bearer {admin}"})
        answer.raise_for_status()
        key = cli(env, "apikey", "create", "bench").splitlines()[-1]
        auth = {"Authorization": f"Bearer {key}"}
        answer = client.post("/achievements", headers=auth, json={"definition": {
            "name": "Load", "description": "Carries load.", "criteria": {"narrative": "Measured."}}})
        answer.raise_for_status()
        achievement = answer.json()["id"]
        ids: list[str] = []
        while len(ids) < credentials:
            n = min(500, credentials - len(ids))
            answer = client.post("/credentials/batch", headers=auth, json={"awards": [
                {"recipient": f"learner{len(ids) + i}@example.org", "achievement": achievement} for i in range(n)]})
            answer.raise_for_status()
            ids += answer.json()["ids"]
    return key, achievement, ids


def issue_script(key: str, achievement: str, recipients: int) -> str:
    """wrk's Lua for POST /credentials with the organisation's key, recipients in rotation."""
    bodies = [json.dumps({"recipient": f"bench{i}@example.org", "achievement": achievement}) for i in range(recipients)]
    return ("local bodies = {" + ",".join(lua_string(b) for b in bodies) + "}\n"
            "local headers = {['Content-Type'] = 'application/json', ['Authorization'] = "
            + lua_string(f"Bearer {key}") + "}\n"
            "request = function() return wrk.format('POST', '/credentials', headers, bodies[math.random(#bodies)]) end\n"
            + _DONE)


def figures(found: dict) -> dict:
    return {"rps": found["requests"] / (found["duration_us"] / 1e6), "p50_ms": found["p50_us"] / 1000,
            "p99_ms": found["p99_us"] / 1000, "errors": found["errors"], "requests": found["requests"]}


def replica_answers(hosts: list[str]) -> dict[str, float]:
    """registry_replica_answers of every API host, added up: how many reads the standby answered
    and how many fell back to the primary (the gauge exists once replica reads are configured)."""
    total: dict[str, float] = {}
    for host in hosts:
        for line in httpx.get(f"{host}/metrics", timeout=10).text.splitlines():
            if line.startswith("registry_replica_answers{"):
                by = line.split('by="')[1].split('"')[0]
                total[by] = total.get(by, 0) + float(line.rsplit(" ", 1)[1])
    return total


def set_hosts(cluster, count: int, total: int) -> None:
    """HAProxy sends to api-1..api-<count> only: the others in maintenance (runtime API), and back."""
    for i in range(1, total + 1):
        verb = "enable" if i <= count else "disable"
        cluster.haproxy_command(f"{verb} server api/api-{i}")
    deadline = time.monotonic() + 30
    while True:
        states = cluster.haproxy_servers()
        wanted = {f"api-{i}": "UP" if i <= count else "MAINT" for i in range(1, total + 1)}
        if states == wanted:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"HAProxy did not reach {wanted}: {states}")
        time.sleep(0.2)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=5.0, help="each wrk run")
    p.add_argument("--rounds", type=int, default=3, help="rounds; in each the set-ups take their turn")
    p.add_argument("--connections", type=int, default=32, help="wrk connections for status reads")
    p.add_argument("--write-connections", type=int, default=8, help="wrk connections for issuance")
    p.add_argument("--credentials", type=int, default=3000, help="issued before measuring")
    p.add_argument("--api-hosts", type=int, default=3)
    p.add_argument("--output", type=Path, default=RESULTS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    lc = local_cluster()
    missing = lc.missing_binaries()
    if missing:
        raise SystemExit(f"the local cluster needs {', '.join(missing)}")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks: down
    began = time.perf_counter()
    load_at_start = os.getloadavg()[0]
    directory = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    work = Path(tempfile.mkdtemp(prefix="bench-cluster-work-"))
    results: dict[str, dict[str, list[dict]]] = {}
    answered: dict[str, float] = {}
    try:
        up_began = time.perf_counter()
        script("up", "--dir", str(directory), "--api-hosts", str(args.api_hosts),
               "--env", "REGISTRY_READ_RATE_PER_MINUTE=0",
               "--env", "REGISTRY_API_RATE_PER_MINUTE=1000000", "--env", "REGISTRY_API_BURST=1000000")
        up_seconds = time.perf_counter() - up_began
        cluster = lc.Cluster(directory)
        env = json.loads(script("env", "--dir", str(directory), "--json"))
        url, ca = cluster.state["urls"]["https"], cluster.state["ca"]
        print(f"cluster up in {up_seconds:.0f} s: {url}, {args.api_hosts} API hosts (1 uvicorn worker each), "
              f"2 projection workers; {os.cpu_count()} CPUs on this machine", flush=True)
        filled = time.perf_counter()
        key, achievement, ids = fill(url, ca, env, args.credentials)
        print(f"{len(ids)} credentials issued in {time.perf_counter() - filled:.0f} s", flush=True)

        status_lua = work / "status.lua"
        status_lua.write_text(lua_script("get", [f"/credentials/{i}/status" for i in ids], []))
        issue_lua = work / "issue.lua"
        issue_lua.write_text(issue_script(key, achievement, 200))
        # The baseline: the same registry, one process, straight on the primary (no PgBouncer, no
        # replica reads, no HAProxy, plain HTTP). It carries the cluster's mark, so `down` would
        # also stop it if this script died before its own clean-up.
        baseline_env = {**{k: v for k, v in os.environ.items() if not k.startswith(("REGISTRY_", "PG"))}, **env,
                        "REGISTRY_DATABASE_URL_FILE": str(directory / "secrets" / "app_database_url_direct"),
                        "REGISTRY_HOME": str(directory / "home" / "baseline"), lc.MARKER: str(directory)}
        for name in ("REGISTRY_REPLICA_DATABASE_URL", "REGISTRY_REPLICA_DATABASE_URL_FILE",
                     "REGISTRY_SESSION_DATABASE_URL", "REGISTRY_SESSION_DATABASE_URL_FILE"):
            baseline_env.pop(name, None)  # everything on the primary, as one process without a cluster
        argv = [sys.executable, "-m", "registry.cli", "serve", "--host", "127.0.0.1", "--workers", "1",
                "--log-level", "warning"]
        with ExitStack() as stack:
            port = stack.enter_context(server(argv, baseline_env, "/readyz", directory / "logs" / "baseline.log"))
            setups = [("one process, direct", f"http://127.0.0.1:{port}", None),
                      ("HAProxy, 1 API host", url, 1),
                      (f"HAProxy, {args.api_hosts} API hosts", url, args.api_hosts)]
            results = {name: {STATUS: [], ISSUE: []} for name, _, _ in setups}
            for name, target, hosts in setups:  # warm-up: connections, caches, TLS sessions
                if hosts:
                    set_hosts(cluster, hosts, args.api_hosts)
                run_wrk_at(target, status_lua, 2.0, args.connections)
            for round_number in range(args.rounds):
                for name, target, hosts in setups:
                    if hosts:
                        set_hosts(cluster, hosts, args.api_hosts)
                    for endpoint, lua, connections in ((STATUS, status_lua, args.connections),
                                                       (ISSUE, issue_lua, args.write_connections)):
                        found = figures(run_wrk_at(target, lua, args.seconds, connections))
                        found["loadavg_1min_before"] = os.getloadavg()[0]
                        results[name][endpoint].append(found)
                        print(f"  round {round_number + 1}  {name:24} {endpoint:30} {found['rps']:7.0f} req/s  "
                              f"p50 {found['p50_ms']:6.1f} ms  p99 {found['p99_ms']:6.1f} ms  "
                              f"errors {found['errors']}", flush=True)
            set_hosts(cluster, args.api_hosts, args.api_hosts)
            answered = replica_answers(cluster.state["urls"]["api"])
            print(f"reads the API hosts could serve from the standby, by who answered: {answered}", flush=True)
    finally:
        subprocess.run([sys.executable, str(SCRIPT), "down", "--dir", str(directory)], timeout=300)
        shutil.rmtree(work, ignore_errors=True)

    summary = print_table(results, args)
    seconds = time.perf_counter() - began
    print(f"\n{seconds:.0f} s in all; {os.cpu_count()} CPUs shared by wrk, HAProxy, every API host, the workers and "
          f"both PostgreSQL servers; 1-min load average {load_at_start:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end; figures in {args.output}")
    write_results(args.output, machine(loadavg_1min_at_start=load_at_start, loadavg_1min_at_end=os.getloadavg()[0]),
                  settings={k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
                  client="wrk 4.1 (1 thread, closed loop), Lua scripts from bench/http_load.py's helpers",
                  summary=summary, rounds=results, replica_answers=answered, seconds=round(seconds, 1))
    return 0


def run_wrk_at(url: str, script_path: Path, seconds: float, connections: int) -> dict:
    """bench/http_load.py's wrk runner, at a URL (https through HAProxy)."""
    from urllib.parse import urlsplit

    return run_wrk(urlsplit(url).port, script_path, seconds, connections, url=url)


def print_table(results: dict[str, dict[str, list[dict]]], args: argparse.Namespace) -> list[dict]:
    """Medians over the rounds; each set-up's throughput against the same run's baseline."""
    print(f"\n{'set-up':26} {'endpoint':30} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'x baseline':>11}")
    summary = []
    names = list(results)
    for endpoint in (STATUS, ISSUE):
        base = statistics.median(r["rps"] for r in results[names[0]][endpoint]) if results[names[0]][endpoint] else 0
        for name in names:
            rounds = results[name][endpoint]
            if not rounds:
                continue
            row = {"setup": name, "endpoint": endpoint,
                   "rps": statistics.median(r["rps"] for r in rounds),
                   "p50_ms": statistics.median(r["p50_ms"] for r in rounds),
                   "p99_ms": statistics.median(r["p99_ms"] for r in rounds),
                   "errors": sum(r["errors"] for r in rounds)}
            row["vs_baseline"] = row["rps"] / base if base else None
            summary.append(row)
            print(f"{name:26} {endpoint:30} {row['rps']:8.0f} {row['p50_ms']:8.1f} {row['p99_ms']:8.1f} "
                  f"{row['errors']:7d} {row['vs_baseline']:10.2f}x")
    for endpoint in (STATUS, ISSUE):
        rows = {r["setup"]: r for r in summary if r["endpoint"] == endpoint}
        one, many = rows.get(names[1]), rows.get(names[2])
        if one and many:
            print(f"{endpoint}: 1 -> {args.api_hosts} API hosts through HAProxy: x{many['rps'] / one['rps']:.2f}")
    return summary


if __name__ == "__main__":
    sys.exit(main())
