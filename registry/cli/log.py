"""`registry log ...`: the transparency log's key, checkpoints and proofs; `registry audit`, the
auditor's tool, which needs no registry of its own."""

from __future__ import annotations

import base64
import json
import sys

from registry.cli.output import emit, read_text
from registry.errors import InputError


def register(grammar) -> None:
    group = grammar.group("log", "the transparency log: key, checkpoints, proofs")
    grammar.command("key", "the log's note verifier key (<name>+<key id>+<base64>)", key, group)
    grammar.command("checkpoint", "the latest signed checkpoint (C2SP tlog-checkpoint, signed note)",
                    checkpoint, group)
    p = grammar.command("prove", "RFC 9162 inclusion proof of leaf INDEX", prove, group)
    p.add_argument("index", type=int)
    p.add_argument("--size", type=int, help="tree size (default: the latest checkpoint's)")
    p = grammar.command("consistency", "RFC 9162 consistency proof from tree size FROM", consistency, group)
    p.add_argument("old", type=int, metavar="FROM")
    p.add_argument("--to", type=int, help="tree size (default: the latest checkpoint's)")
    grammar.command("verify", "re-check every leaf against its event and the last signed checkpoint",
                    verify, group)
    p = grammar.command("verify-receipt", "check a receipt (registry credential receipt) offline", verify_receipt,
                        group)
    p.add_argument("file")
    p.add_argument("--key", required=True, help="the log's verifier key")

    p = grammar.command("audit", "audit a registry's log: checkpoint signature, roots, consistency with the "
                                 "last run, and a replay of every entry", audit)
    p.add_argument("url", nargs="?", help="the registry's public URL (its log is under /log/)")
    p.add_argument("--key", required=True, help="the log's verifier key")
    p.add_argument("--state", help="directory keeping the last verified checkpoint and tiles between runs")
    p.add_argument("--export", help="offline: an export file (registry export)")
    p.add_argument("--checkpoint", help="offline: a signed checkpoint file")
    p.add_argument("--full", action="store_true",
                   help="read every entry again (not only the new ones), each compared with what was verified")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(standalone=True)


def _b64(hashes) -> list[str]:
    return [base64.b64encode(h).decode() for h in hashes]


def key(registry, args) -> int:
    vkey = registry.queries.log.key().vkey
    emit(args, vkey, {"key": vkey})
    return 0


def checkpoint(registry, args) -> int:
    log = registry.queries.log
    latest = log.latest()
    problem = log.problem()
    if problem is not None:
        print(f"registry: the log refused to sign at {problem[1]}: {problem[0]}; this is the last good checkpoint",
              file=sys.stderr)
    if args.json:
        print(json.dumps({"size": latest.size, "root": base64.b64encode(latest.root).decode(),
                          "signed_at": latest.signed_at, "checkpoint": latest.note,
                          "refused": None if problem is None else problem[0]}))
    else:
        sys.stdout.write(latest.note)
    return 0 if problem is None else 1


def prove(registry, args) -> int:
    inclusion = _answer(lambda: registry.queries.log.inclusion(args.index, args.size))
    data = {"index": inclusion.index, "size": inclusion.size, "hashes": _b64(inclusion.hashes)}
    emit(args, "\n".join(data["hashes"]) or "(empty proof)", data)
    return 0


def consistency(registry, args) -> int:
    old, size, hashes = _answer(lambda: registry.queries.log.consistency(args.old, args.to))
    data = {"from": old, "to": size, "hashes": _b64(hashes)}
    emit(args, "\n".join(data["hashes"]) or "(empty proof)", data)
    return 0


def verify(registry, args) -> int:
    from registry.log.checkpoints import LogDiverged

    try:
        signed = registry.queries.log.verify_all()
    except LogDiverged as exc:
        print(f"registry: the log diverged: {exc}", file=sys.stderr)
        return 1
    if signed is None:
        emit(args, "no checkpoint signed yet: nothing to verify", {"size": 0})
        return 0
    emit(args, f"every one of the {signed.size} leaves matches its event and the checkpoint signed at "
               f"{signed.signed_at}", {"size": signed.size, "signed_at": signed.signed_at})
    return 0


def verify_receipt(registry, args) -> int:
    from registry.log.receipts import ReceiptError, verify_receipt as check

    text = read_text(args.file)
    try:
        verified = check(text, args.key)
    except ReceiptError as exc:
        print(f"registry: the receipt does not verify: {exc}", file=sys.stderr)
        return 1
    emit(args, f"entry {verified['index']} is in the log {verified['origin']} at size {verified['size']} "
               f"(checkpoint signed at {verified['signed_at']})", verified)
    return 0


def audit(_registry, args) -> int:
    from registry.bootstrap import open_auditor
    from registry.log.audit import AuditFailed

    auditor = open_auditor(progress=not args.no_progress and not args.json)
    if args.url is None and not (args.export and args.checkpoint):
        raise InputError("url", "give the registry's URL, or --export FILE and --checkpoint FILE")
    try:
        if args.url is not None:
            result = auditor.online(args.url, args.key, args.state, args.full)
        else:
            result = auditor.offline(args.export, args.checkpoint, args.key, args.state, args.full)
    except AuditFailed as exc:
        if args.json:
            print(json.dumps({"consistent": False, "position": exc.position, "problem": exc.problem}))
        print(f"registry audit: {exc}", file=sys.stderr)
        return 1
    emit(args, result.summary(), result.as_dict())
    return 0


def _answer(ask):
    from registry.log.tree import ProofError

    try:
        return ask()
    except ProofError as exc:
        raise InputError("index", str(exc)) from None
