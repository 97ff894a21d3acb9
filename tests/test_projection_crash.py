"""A real crash: `registry projections run --once` catches up over thousands of events in small
batches in a subprocess, is SIGKILLed part-way, and is run again. Every projection table must then
equal a from-scratch rebuild, and every position the end of the log (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from registry.projections import PROJECTIONS, ReadModel

from test_projections import environment, positions_row, read_model, snapshot, synthetic_log  # noqa: F401


def read_positions(model: ReadModel) -> dict[str, int]:
    try:
        return positions_row(model)
    except Exception:  # the subprocess has not created the tables yet
        return {}


def test_killed_mid_catch_up_then_restarted_equals_a_rebuild(environment, open_registry):  # noqa: F811
    registry = open_registry()  # creates the tables; catches up nothing by itself
    made = synthetic_log(registry.store, credentials=3000)
    latest = registry.store.max_position()
    model = read_model(registry)  # only read here until the end: never catches up itself
    command = [sys.executable, "-m", "registry.cli", "projections", "run", "--once", "--batch-size", "20"]
    env = {**os.environ, **environment}

    worker = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while read_positions(model).get("credentials", 0) < latest // 10:
            assert worker.poll() is None, f"finished before it could be killed: {worker.stderr.read()}"
            assert time.monotonic() < deadline, "no progress within 60 s"
            time.sleep(0.002)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == -signal.SIGKILL
    killed_at = read_positions(model)
    assert 0 < killed_at["credentials"] < latest, killed_at

    restarted = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert restarted.returncode == 0, restarted.stderr
    assert read_positions(model) == {p.name: latest for p in PROJECTIONS}
    resumed = snapshot(model)

    model.runner.rebuild()
    assert snapshot(model) == resumed
    assert len(resumed["credential_status"]) == len(made["credentials"]) > 2000
    model.close()
