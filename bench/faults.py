"""Issue F's figures: recovery after a PostgreSQL restart, the cost of the shared rate limiter on
the status endpoint, a 5,000-row batch on PostgreSQL, and load held while faults are injected.

    .venv/bin/python bench/faults.py               # everything, about 3 minutes on 2 cores
    .venv/bin/python bench/faults.py --quick

1. **Recovery** (target < 5 s to healthy): `registry serve` (2 workers) on a throwaway PostgreSQL
   cluster; `pg_ctl -m immediate stop`, 4 s down while a client keeps reading and writing (every
   answer must be 503), start; the time from the server accepting connections again until the
   status endpoint answers 200 ten times in a row (both workers) and a write succeeds. Repeated.
2. **Rate limiter cost** (target < 10 % of throughput): wrk on GET /credentials/{id}/status,
   SQLite and PostgreSQL, with the read limiter off (REGISTRY_READ_RATE_PER_MINUTE=0, the same-run
   baseline) and on with a limit never reached (every request goes through the shared buckets);
   interleaved rounds, medians.
3. **A 5,000-row batch on PostgreSQL** (events in chunks of 500, no pipeline): seconds, and the
   library's own insert of the same batch size for comparison where it completes.
4. **Load under faults**: status reads from 8 client threads for the whole run while a serve worker
   is killed (SIGKILL) every 2 s and PostgreSQL is stopped once; requests served, answers by status
   and failed connections (a killed worker's open connections).

Figures: a table on stdout and bench/results/faults.json."""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _pg import restartable_postgres  # noqa: E402
from _report import machine, write_results  # noqa: E402
from http_load import free_port, lua_script, run_wrk, server  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "faults.json"
PUBLIC_URL = "https://badges.example.org"
TARGET_RECOVERY_SECONDS = 5.0
TARGET_LIMITER_COST = 0.10


def registry_env(home: Path, url: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env.update({"REGISTRY_HOME": str(home / "home"), "REGISTRY_KEYS": str(home / "keys"),
                "REGISTRY_PUBLIC_URL": PUBLIC_URL, "REGISTRY_API_RATE_PER_MINUTE": "1000000", **extra})
    if url:
        env["REGISTRY_DATABASE_URL"] = url
    return env


def cli(env: dict[str, str], *argv: str) -> str:
    done = subprocess.run([sys.executable, "-m", "registry.cli", *argv], env=env, capture_output=True, text=True,
                          timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"registry {' '.join(argv)}: {done.stderr.strip()}")
    return done.stdout


def seed(env: dict[str, str], credentials: int) -> tuple[str, list[str], str]:
    """An issuer, its API key, `credentials` credentials (one batch) and their achievement."""
    cli(env, "init")
    cli(env, "issuer", "register", "--slug", "acme", "--name", "Acme")
    key = cli(env, "apikey", "create", "acme").splitlines()[-1]
    badge = json.loads(cli(env, "--json", "achievement", "define", "--issuer", "acme", "--name", "Teamwork",
                           "--description", "d", "--criteria", "c"))["id"]
    batch = Path(env["REGISTRY_HOME"]).parent / "seed.csv"
    batch.write_text("recipient,achievement\n" + "".join(f"l{i}@example.org,{badge}\n" for i in range(credentials)))
    ids = json.loads(cli(env, "--json", "issue", "--batch", str(batch)))["ids"]
    return key, ids, badge


def serve_argv() -> list[str]:
    return [sys.executable, "-m", "registry.cli", "serve", "--workers", "2", "--log-level", "warning"]


def status_script(directory: Path, ids: list[str]) -> Path:
    script = directory / "status.lua"
    script.write_text(lua_script("get", [f"/credentials/{i}/status" for i in ids], []))
    return script


# --- 1. recovery -------------------------------------------------------------------------------------


def recovery(rounds: int) -> dict:
    times = []
    with tempfile.TemporaryDirectory() as tmp, restartable_postgres() as pg:
        env = registry_env(Path(tmp), pg.url)
        key, ids, badge = seed(env, 20)
        with server([*serve_argv()], env, f"/credentials/{ids[0]}/status", Path(tmp) / "serve.log") as port:
            client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
            write = {"recipient": "r@example.org", "achievement": badge}

            def issue() -> int:
                return client.post("/credentials", json=write, headers={"Authorization": f"Bearer {key}"}).status_code
            for _ in range(rounds):
                pg.stop("immediate")
                down_until = time.monotonic() + 4.0
                while time.monotonic() < down_until:  # clients keep asking during the outage
                    for answer in (client.get(f"/credentials/{ids[0]}/status").status_code, issue()):
                        if answer != 503:
                            raise RuntimeError(f"answered {answer} during the outage")
                pg.start()
                back = time.monotonic()
                healthy = 0
                while healthy < 10:
                    try:
                        ok = client.get(f"/credentials/{ids[healthy % len(ids)]}/status").status_code == 200
                    except httpx.TransportError:
                        ok = False
                    healthy = healthy + 1 if ok else 0
                    if time.monotonic() - back > 60:
                        raise RuntimeError("no recovery within 60 s")
                while issue() != 201:
                    if time.monotonic() - back > 60:
                        raise RuntimeError("writes did not recover within 60 s")
                times.append(time.monotonic() - back)
    return {"rounds": [round(t, 3) for t in times], "median_s": round(statistics.median(times), 3),
            "max_s": round(max(times), 3), "target_s": TARGET_RECOVERY_SECONDS}


# --- 2. the rate limiter's cost ----------------------------------------------------------------------


def limiter_cost(store: str, seconds: float, rounds: int) -> dict:
    runs: dict[str, list[float]] = {"off": [], "on": []}
    with tempfile.TemporaryDirectory() as tmp:
        context = restartable_postgres() if store == "postgres" else None
        pg = context.__enter__() if context else None
        try:
            base = registry_env(Path(tmp), pg.url if pg else None)
            _, ids, _ = seed(base, 200)
            script = status_script(Path(tmp), ids)
            for _ in range(rounds):
                for mode, rate in (("off", "0"), ("on", "1000000")):
                    env = {**base, "REGISTRY_READ_RATE_PER_MINUTE": rate, "REGISTRY_READ_BURST": "1000000"}
                    with server(serve_argv(), env, f"/credentials/{ids[0]}/status", Path(tmp) / f"{mode}.log") as port:
                        run_wrk(port, script, 1, 16)  # warm
                        found = run_wrk(port, script, seconds, 16)
                        if found["errors"]:
                            raise RuntimeError(f"{found['errors']} errors with the limiter {mode}")
                        runs[mode].append(found["requests"] / (found["duration_us"] / 1e6))
        finally:
            if context:
                context.__exit__(None, None, None)
    off, on = statistics.median(runs["off"]), statistics.median(runs["on"])
    return {"store": store, "off_rps": round(off), "on_rps": round(on), "cost": round(1 - on / off, 4),
            "rounds": {k: [round(v) for v in vs] for k, vs in runs.items()}, "target": TARGET_LIMITER_COST}


# --- 3. a 5,000-row batch on PostgreSQL ---------------------------------------------------------------


def big_batch(rows: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp, restartable_postgres() as pg:
        env = registry_env(Path(tmp), pg.url)
        seed(env, 1)
        badge = json.loads(cli(env, "--json", "achievement", "define", "--issuer", "acme", "--name", "Big",
                               "--description", "d", "--criteria", "c"))["id"]
        csv = Path(tmp) / "big.csv"
        csv.write_text("recipient,achievement\n" + "".join(f"b{i}@example.org,{badge}\n" for i in range(rows)))
        started = time.perf_counter()
        issued = json.loads(cli(env, "--json", "issue", "--batch", str(csv)))
        seconds = time.perf_counter() - started
    return {"rows": rows, "credentials": len(issued["ids"]), "seconds_cli": round(seconds, 2),
            "credentials_per_s": round(rows / seconds)}


# --- 4. load under faults ----------------------------------------------------------------------------


def under_faults(seconds: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp, restartable_postgres() as pg:
        # One client address: the read limit would answer most of it 429 (correctly; not measured here)
        env = registry_env(Path(tmp), pg.url, REGISTRY_READ_RATE_PER_MINUTE="0")
        _, ids, _ = seed(env, 200)
        with server(serve_argv(), env, f"/credentials/{ids[0]}/status", Path(tmp) / "serve.log") as port:
            serve_pid = int(subprocess.run(["pgrep", "-f", "--", f"--port {port}"], capture_output=True,
                                           text=True).stdout.split()[0])
            stop = threading.Event()
            injected = {"worker": 0, "database": 0}
            answers: dict[str, int] = {}
            lock = threading.Lock()

            def inject() -> None:
                tick = 0
                while not stop.wait(2.0):
                    tick += 1
                    if tick == 3:
                        pg.stop("immediate")
                        time.sleep(2.0)
                        pg.start()
                        injected["database"] += 1
                        continue
                    workers = [w for w in Path(f"/proc/{serve_pid}/task/{serve_pid}/children").read_text().split()
                               if b"resource_tracker" not in Path(f"/proc/{w}/cmdline").read_bytes()]
                    if workers:
                        os.kill(int(workers[0]), signal.SIGKILL)
                        injected["worker"] += 1

            def read(n: int) -> None:
                with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                    i = n
                    while not stop.is_set():
                        try:
                            outcome = str(client.get(f"/credentials/{ids[i % len(ids)]}/status").status_code)
                        except httpx.TransportError as exc:
                            outcome = type(exc).__name__
                        i += 8
                        with lock:
                            answers[outcome] = answers.get(outcome, 0) + 1

            threads = [threading.Thread(target=inject)] + [threading.Thread(target=read, args=(n,)) for n in range(8)]
            for thread in threads:
                thread.start()
            time.sleep(seconds)
            stop.set()
            for thread in threads:
                thread.join()
    return {"seconds": seconds, "requests": sum(answers.values()), "answers": answers, "faults": injected,
            "server_errors_other_than_503": sum(v for k, v in answers.items() if k.startswith("5") and k != "503")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    quick = args.quick
    results: dict = {}
    results["recovery"] = recovery(2 if quick else 5)
    print(f"recovery after a PostgreSQL restart: median {results['recovery']['median_s']} s, "
          f"max {results['recovery']['max_s']} s over {len(results['recovery']['rounds'])} (target < 5 s)")
    results["limiter"] = [limiter_cost(store, 3 if quick else 8, 1 if quick else 3) for store in ("sqlite", "postgres")]
    for found in results["limiter"]:
        print(f"status endpoint, {found['store']}: limiter off {found['off_rps']}/s, on {found['on_rps']}/s, "
              f"cost {found['cost'] * 100:.1f} % (target < 10 %)")
    results["batch"] = big_batch(1000 if quick else 5000)
    print(f"batch of {results['batch']['rows']} on PostgreSQL through the CLI: {results['batch']['seconds_cli']} s "
          f"({results['batch']['credentials_per_s']} credentials/s)")
    results["under_faults"] = under_faults(10 if quick else 20)
    found = results["under_faults"]
    print(f"load under faults ({found['faults']}): {found['requests']} status reads in {found['seconds']} s; "
          f"answers {found['answers']}; 5xx other than 503: {found['server_errors_other_than_503']}")
    write_results(RESULTS, machine(), **results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
