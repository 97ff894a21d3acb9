"""One projection catch-up from position 0, in a fresh process (run by bench/read_side.py).

    .venv/bin/python bench/read_side_catch_up.py HOME [DATABASE_URL]

Opens the registry under HOME (SQLite) or on DATABASE_URL, checks that no projection has applied
anything yet, catches every projection up to the end of the log, and prints one JSON object: the
log's size, the seconds the catch-up took, the process's peak RSS, and the read model's row counts
(for the caller to compare with the log). Only the registry is imported, so the RSS is the
catch-up's, not a benchmark harness's."""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from registry.bootstrap import open_registry  # noqa: E402

COUNTS = {
    "credentials": "SELECT count(*) FROM credential_status",
    "revoked": "SELECT count(*) FROM credential_status WHERE status = 'revoked'",
    "suspended": "SELECT count(*) FROM credential_status WHERE status = 'suspended'",
    "status_changes": "SELECT count(*) FROM credential_status_changes",
    "issuers": "SELECT count(*) FROM issuers",
    "achievements": "SELECT count(*) FROM achievements",
    "endorsements": "SELECT count(*) FROM endorsements",
    "withdrawn": "SELECT count(*) FROM endorsements WHERE withdrawn_at IS NOT NULL",
    "keys": "SELECT count(*) FROM issuer_keys",
    "compromised_keys": "SELECT count(*) FROM issuer_keys WHERE compromised_since IS NOT NULL",
}


def vm_hwm_kib() -> int:
    """Peak resident set size (VmHWM) of this process, KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM line in /proc/self/status")


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2):
        raise SystemExit("usage: read_side_catch_up.py HOME [DATABASE_URL]")
    home = Path(argv[0])
    registry = open_registry({"REGISTRY_HOME": str(home / "data"), "REGISTRY_KEYS": str(home / "keys"),
                              "REGISTRY_PUBLIC_URL": "https://badges.example.org",
                              "REGISTRY_DATABASE_URL": argv[1] if len(argv) == 2 else ""})
    try:
        reads = registry.queries.read_model  # the composition root created its tables
        before = reads.runner.positions()
        if any(before.values()):
            raise SystemExit(f"the read model is not fresh: positions {before}")
        rss_before = vm_hwm_kib()
        events = registry.store.max_position()
        began = time.perf_counter()
        positions = reads.runner.catch_up()
        seconds = time.perf_counter() - began
        counts = {name: reads.db.query(sql)[0][0] for name, sql in COUNTS.items()}
        print(json.dumps({
            "store": reads.db.kind,
            "events": events,
            "positions": positions,
            "seconds": seconds,
            "events_per_second": events / seconds,
            "peak_rss_mib": vm_hwm_kib() / 1024,
            "ru_maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "rss_before_catch_up_mib": rss_before / 1024,
            "counts": counts,
        }))
    finally:
        registry.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
