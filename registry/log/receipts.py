"""Offline verification of a receipt (`registry credential receipt`): a signed checkpoint, a leaf
index, its inclusion proof and the entry. Needs nothing but the log's verifier key."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from registry.log import entries, note, tree
from registry.log.checkpoint import Checkpoint, format_time


class ReceiptError(ValueError):
    pass


def verify_receipt(text: str, vkey: str) -> dict[str, Any]:
    try:
        receipt = json.loads(text)
        verifier = note.Verifier.parse(vkey)
        body = Checkpoint.parse(note.open_note(receipt["checkpoint"], verifier))
        index, size = int(receipt["index"]), int(receipt["size"])
        hashes = [base64.b64decode(h, validate=True) for h in receipt["hashes"]]
        entry = receipt["entry"].encode("utf-8")
    except (ValueError, KeyError, TypeError, binascii.Error, note.NoteError) as exc:
        raise ReceiptError(str(exc) or type(exc).__name__) from None
    if body.origin != verifier.name:
        raise ReceiptError(f"the checkpoint is of log {body.origin}, the key of {verifier.name}")
    if body.size != size:
        raise ReceiptError(f"the receipt says size {size}, its checkpoint {body.size}")
    try:
        entries.parse(entry)
        tree.verify_inclusion(index, size, tree.leaf_hash(entry), hashes, body.root)
    except (entries.EntryError, tree.ProofError) as exc:
        raise ReceiptError(str(exc)) from None
    return {"origin": body.origin, "index": index, "size": size,
            "signed_at": None if body.time is None else format_time(body.time)}
