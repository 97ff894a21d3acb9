"""What one verification costs in work, counted: signatures made, proofs checked, stored-event reads
(an aggregate load is one read per aggregate; a logged document one read of one event) and
read-your-writes checks, for `queries.verify` of

- the exact document the registry logged,
- a copy that differs from it (one field changed: its proof fails, and its status entry points into
  the registry's own list),
- a valid credential of an issuer the registry does not know.

Counts, not times: they are the same on every machine. Before this round of work, the second case
cost 1 signature (the registry signed its own status list to read one bit), 2 proof checks, 10
aggregate loads and 3 freshness checks (issue G's own count).

    .venv/bin/python bench/verification_work.py
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from registry import demo  # noqa: E402
from registry.bootstrap import open_registry  # noqa: E402
from registry.keystore import Keystore  # noqa: E402
from registry.vc import proofs  # noqa: E402

counts: Counter = Counter()


class CountingCustody(Keystore):
    def signer(self, public_key_multibase: str, verification_method: str):
        inner = super().signer(public_key_multibase, verification_method)

        class Counted:
            def sign(self, data: bytes) -> bytes:
                counts["signatures"] += 1
                return inner.sign(data)

        counted = Counted()
        counted.verification_method = verification_method
        return counted


def counted(owner, name: str, key: str) -> None:
    original = getattr(owner, name)

    def wrapper(*args, **kwargs):
        counts[key] += 1
        return original(*args, **kwargs)

    setattr(owner, name, wrapper)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-verify-work-") as tmp:
        registry = open_registry({"REGISTRY_HOME": f"{tmp}/data", "REGISTRY_KEYS": f"{tmp}/keys",
                                  "REGISTRY_PUBLIC_URL": "https://badges.example.org"},
                                 custody=CountingCustody(Path(f"{tmp}/keys")))
        try:
            with contextlib.redirect_stderr(io.StringIO()):
                demo.build(registry)
            issued = next(e for e in registry.queries.export() if e.topic.endswith("Credential.Issued"))
            logged = json.loads(issued.state["document"])
            changed = {**logged, "name": "Something else"}
            elsewhere = json.loads((Path(__file__).resolve().parents[1] / "tests" / "standards" / "fixtures"
                                    / "1edtech" / "simple.json").read_text())
            registry.queries.verify(logged)  # warm-up: contexts, schema validators, caches
            counted(registry.store.recorder, "select_events", "stored-event reads")
            counted(proofs, "verify", "proof checks")
            counted(registry.queries.read_model, "fresh", "read-your-writes checks")
            print(f"{'queries.verify of':<44}{'signatures':>11}{'proofs':>8}{'event reads':>13}{'fresh':>7}  valid")
            for what, document in (("the logged document", logged), ("a changed copy of it", changed),
                                   ("an issuer unknown here (1EdTech simple.json)", elsewhere)):
                counts.clear()
                report = registry.queries.verify(json.loads(json.dumps(document)))
                print(f"  {what:<42}{counts['signatures']:>11}{counts['proof checks']:>8}"
                      f"{counts['stored-event reads']:>13}{counts['read-your-writes checks']:>7}  {report.valid}")
        finally:
            registry.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
