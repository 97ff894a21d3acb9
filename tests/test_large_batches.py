"""Large writes never hang: a 5,000-row batch on PostgreSQL (about 16,000 events in one transaction,
inserted in bounded chunks), through the command line (a CSV file, in a subprocess that must finish
within its time bound) and over HTTP (JSON, with an Idempotency-Key: a repeat replays it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from registry.commands import MAX_BATCH_BYTES
from test_api_support import api, api_factory  # noqa: F401

ROWS = 5000
# Far above the measured time (bench/batch_sizes.py: seconds), far below "hung".
BOUND_SECONDS = 300


@pytest.mark.parametrize("store_kind", ["postgres"])
def test_a_5000_row_batch_completes_through_the_cli_and_over_http(api, registry_environ, tmp_path):
    acme = api.register("acme")
    badge = api.define(acme)
    rows = "".join(f"learner{i}@example.org,{badge},{i % 100}%\n" for i in range(ROWS))
    csv = tmp_path / "batch.csv"
    csv.write_text("recipient,achievement,result\n" + rows)
    before = api.registry.store.max_position()
    done = subprocess.run([sys.executable, "-m", "registry.cli", "issue", "--batch", str(csv), "--json"],
                          env={**os.environ, **registry_environ}, capture_output=True, text=True,
                          timeout=BOUND_SECONDS)
    assert done.returncode == 0, done.stderr[-2000:]
    issued = json.loads(done.stdout)
    assert len(issued["ids"]) == ROWS and issued["position"] - before >= 3 * ROWS

    awards = [{"recipient": f"http{i}@example.org", "achievement": badge} for i in range(ROWS)]
    body = json.dumps({"awards": awards}).encode()
    assert 256 * 1024 < len(body) < MAX_BATCH_BYTES
    headers = api.auth(acme, **{"content-type": "application/json", "Idempotency-Key": "big-batch"})
    first = api.client.post("/credentials/batch", content=body, headers=headers, timeout=BOUND_SECONDS)
    assert first.status_code == 201, first.text[:500]
    assert len(first.json()["ids"]) == ROWS
    position = api.registry.store.max_position()
    again = api.client.post("/credentials/batch", content=body, headers=headers, timeout=BOUND_SECONDS)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["ids"] == first.json()["ids"] and api.registry.store.max_position() == position
    # Every one of them is in the read models
    assert api.client.get(f"/credentials/{first.json()['ids'][-1]}/status").json()["status"] == "active"
    assert api.client.get(f"/credentials/{issued['ids'][0]}/status").json()["status"] == "active"
