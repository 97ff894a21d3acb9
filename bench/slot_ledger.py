"""A new process's first status-list allocation: how long its slot ledger takes to know which entries are
taken, from every allocation ever logged (the baseline, what each process did before snapshots) and from
the latest snapshot plus what was logged since (100 allocations), at 10,000 and 100,000 allocations.

The allocations are written straight to the event store (StatusListSlot.Allocated, in transactions of
1,000), as issuing that many credentials would take far longer and measure something else.

    .venv/bin/python bench/slot_ledger.py                # SQLite
    .venv/bin/python bench/slot_ledger.py --postgres     # and PostgreSQL (a throwaway cluster)

Figures: a table, and JSON in bench/results/slot_ledger.json."""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, write_results  # noqa: E402

from registry.bootstrap import open_registry  # noqa: E402
from registry.commands.status_lists import StatusListSlots  # noqa: E402
from registry.domain.status_list import LIST_SIZE, REVOCATION, StatusListSlot  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "slot_ledger.json"
SIZES = (10_000, 100_000)
TAIL = 100


def allocate(registry, issuer: uuid.UUID, n: int, taken: set[tuple[int, int]]) -> None:
    """`n` allocations spread over lists of three quarters of LIST_SIZE, as the ledger fills them."""
    capacity = LIST_SIZE * 3 // 4
    batch = []
    for _ in range(n):
        number = len(taken) // capacity + 1
        while True:
            index = secrets.randbelow(LIST_SIZE)
            if (number, index) not in taken:
                break
        taken.add((number, index))
        batch.append(StatusListSlot.allocate(issuer_id=issuer, purpose=REVOCATION, list_number=number,
                                             index=index, credential_id=uuid.uuid4()))
        if len(batch) == 1000:
            registry.store.commit(*batch)
            batch = []
    if batch:
        registry.store.commit(*batch)


def first_catch_up(registry, snapshots) -> float:
    ledger = StatusListSlots(registry.store, registry.settings.config, snapshots)
    start = time.perf_counter()
    ledger._catch_up()
    return time.perf_counter() - start


def measure(env: dict[str, str]) -> list[dict]:
    rows = []
    registry = open_registry(env)
    try:
        issuer, taken = uuid.uuid4(), set()
        done = 0
        for size in SIZES:
            allocate(registry, issuer, size - done, taken)
            done = size
            with registry.slot_snapshots.db.transaction() as cursor:
                cursor.execute("DELETE FROM status_slot_snapshots")
            replay = min(first_catch_up(registry, None) for _ in range(3))
            # A process writes the snapshot as it catches up; the next ones start from it.
            writer = StatusListSlots(registry.store, registry.settings.config, registry.slot_snapshots)
            writer.snapshot_every = 1
            writer._catch_up()
            allocate(registry, issuer, TAIL, taken)
            from_snapshot = min(first_catch_up(registry, registry.slot_snapshots) for _ in range(3))
            rows.append({"allocations": size, "full_replay_ms": replay * 1000,
                         "from_snapshot_ms": from_snapshot * 1000, "tail": TAIL})
            done += TAIL
    finally:
        registry.close()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args(argv)
    stores = {}
    with tempfile.TemporaryDirectory() as home:
        env = {"REGISTRY_HOME": f"{home}/data", "REGISTRY_KEYS": f"{home}/keys",
               "REGISTRY_PUBLIC_URL": "https://badges.example.org"}
        stores["sqlite"] = measure(env)
        if args.postgres:
            from _pg import throwaway_postgres
            with throwaway_postgres() as url:
                stores["postgres"] = measure({**env, "REGISTRY_HOME": f"{home}/pg", "REGISTRY_DATABASE_URL": url})
    print(f"{'store':9} {'allocations':>11} {'full replay ms':>15} {'from snapshot ms':>17}  (+{TAIL} logged since)")
    for store, rows in stores.items():
        for row in rows:
            print(f"{store:9} {row['allocations']:11,} {row['full_replay_ms']:15.1f} {row['from_snapshot_ms']:17.1f}")
    write_results(RESULTS, machine(), stores=stores)
    return 0


if __name__ == "__main__":
    sys.exit(main())
