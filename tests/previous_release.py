"""The questions asked of the previous release's demo data, in one place: tests/fixtures/previous_release/
make.py asks them of commit bcf0508's code when it makes the fixture (and stores the answers as JSON),
tests/test_migrations.py asks them again of this code after `registry init` upgraded that data. Only
the public read side (`registry.queries`) is used, through what both releases have."""

from __future__ import annotations

import base64
from typing import Any

import msgspec

ISSUED = "registry.domain.credential:Credential.Issued"
VERIFIED = 6  # how many credential documents are verified (the first ones, the revoked, the last)


def credential_ids(registry) -> list[str]:
    """Every issued credential, in log order."""
    return [str(event.originator_id) for event in registry.queries.export() if event.topic == ISSUED]


def answers(registry) -> dict[str, Any]:
    queries = registry.queries
    ids = credential_ids(registry)
    statuses = {cid: queries.credential_status(cid).status for cid in ids}
    revoked = [cid for cid in ids if statuses[cid] != "active"]
    chosen = list(dict.fromkeys([*ids[:VERIFIED - 2], *revoked[:1], ids[-1]]))
    issuers = queries.issuers(limit=100).items
    latest = queries.log.reader.latest()
    return {
        "events": registry.store.max_position(),
        "statuses": statuses,
        "issuers": [msgspec.to_builtins(issuer) for issuer in issuers],
        "keys": {issuer.slug: [[key.verification_method, key.state] for key in queries.keys(issuer.id)]
                 for issuer in issuers},
        "verdicts": {cid: queries.verify(msgspec.json.decode(queries.credential(cid).document)).verdict
                     for cid in chosen},
        "checkpoint": {"size": latest.size, "root": base64.b64encode(latest.root).decode("ascii"),
                       "note": latest.note},
    }
