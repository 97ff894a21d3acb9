"""`registry issue`, `revoke`, `suspend`, `reinstate`, `credential`, `status` and `status-list`:
issued badges, their status now or at any instant, and the issuers' signed status lists."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import msgspec

from registry.cli import images, imports
from registry.cli.output import AT_HELP, actor, emit, instant, read_text, written
from registry.commands import MAX_BATCH_BYTES, Award, parse_batch_csv
from registry.errors import InputError
from registry.vc.openbadges import parse_datetimez


def register(grammar) -> None:
    p = grammar.command("issue", "issue an OpenBadgeCredential (or --batch FILE.csv)", issue)
    p.add_argument("--achievement")
    p.add_argument("--recipient", help="an e-mail address (stored hashed), a DID or an http(s) URL")
    p.add_argument("--result", help="the achieved value, e.g. 87%% (kept as given)")
    p.add_argument("--score", help="on an achievement with levels: the score; the level it reaches goes in the result")
    p.add_argument("--valid-from", help="ISO 8601 with offset (default now; up to a year ahead)")
    p.add_argument("--valid-until", help="ISO 8601 with offset")
    p.add_argument("--evidence", help="a URL")
    p.add_argument("--batch", help="CSV (comma, semicolon or tab): recipient,achievement[,result,valid_until,evidence,score,valid_from]")
    p.add_argument("--out", help="write the signed credential (batch: JSON array) to this file")

    for name, help, run in (("revoke", "revoke a credential (final)", revoke),
                            ("suspend", "suspend a credential", suspend),
                            ("reinstate", "reinstate a suspended credential", reinstate)):
        p = grammar.command(name, help, run)
        p.add_argument("credential_id")
        p.add_argument("--reason", required=name == "revoke", default=f"{name}d")
    group = grammar.group("credential", "a stored credential, or its receipt from the transparency log")
    grammar.command("show", "print a stored credential", credential, group).add_argument("credential_id")
    grammar.command("submit", "log an OpenBadgeCredential its issuer signed itself (an organisation with its own "
                              "did:key or did:web)", submit, group).add_argument("file")
    imports.register(grammar, group)
    grammar.command("receipt", "an offline-verifiable receipt: the signed checkpoint, the credential's index "
                    "in the log, its inclusion proof and its log entry", receipt, group).add_argument("credential_id")
    p = grammar.command("bake", "write the credential baked into its badge image (OB 3.0 5.3): --out FILE.png "
                                "or FILE.svg", images.bake, group)
    p.add_argument("credential_id")
    p.add_argument("--out", required=True, help="FILE.png or FILE.svg")
    p = grammar.command("reissue", "sign fresh copies with the issuer's active key and revoke the old ones, "
                                   "in one transaction (after a key compromise)", reissue)
    p.add_argument("credential_ids", nargs="*", metavar="CREDENTIAL_ID")
    p.add_argument("--affected", metavar="SLUG", help="every credential of SLUG a key compromise invalidated")
    p.add_argument("--out", help="write the new signed credentials (a JSON array) to this file")

    p = grammar.command("status", "a credential's status, now or --at an earlier instant "
                                  "(exit 1 when it is not valid)", status)
    p.add_argument("credential_id")
    p.add_argument("--at", help=AT_HELP)

    p = grammar.command("status-list", "print an issuer's signed revocation status list credential", status_list)
    p.add_argument("slug")
    p.add_argument("--list", dest="list_number", type=int, default=1, metavar="N",
                   help="the list number (an issuer's lists are 1, 2, ...; default 1)")
    p.add_argument("--out", help="also write the signed list credential to this file")


def issue(registry, args) -> int:
    if args.batch:
        if args.achievement or args.recipient:
            raise InputError("--batch", "takes recipients and achievements from the file only")
        result = registry.commands.credentials.issue_batch(parse_batch_csv(read_text(args.batch, MAX_BATCH_BYTES)), actor=actor())
        if args.out:
            Path(args.out).write_text(json.dumps(result.documents, ensure_ascii=False, indent=2) + "\n")
        emit(args, "\n".join(result.ids), {"ids": result.ids, "position": result.position,
                                           "documents": result.documents, "also_awarded": result.also_awarded})
        _say_also_awarded(registry, result.also_awarded)
        return 0
    if not args.achievement or not args.recipient:
        raise InputError("--achievement" if not args.achievement else "--recipient",
                         "issue needs --achievement and --recipient (or --batch FILE.csv)")
    valid_until = parse_datetimez(args.valid_until, "--valid-until") if args.valid_until else None
    valid_from = parse_datetimez(args.valid_from, "--valid-from") if args.valid_from else None
    done = registry.commands.credentials.issue(
        Award(args.recipient, args.achievement, args.result, valid_until, args.evidence, args.score, valid_from),
        actor=actor())
    _say_also_awarded(registry, done.also_awarded)
    return written(args, done, args.out)


def submit(registry, args) -> int:
    return written(args, registry.commands.credentials.submit(read_text(args.file), actor=actor()))


def _say_also_awarded(registry, ids: list[str]) -> None:
    """Automatic pathways an award completed, one line each on stderr (stdout stays the ids asked for)."""
    for credential_id in ids:
        name = registry.queries.achievement(registry.queries.credential_status(credential_id).achievement_id).name
        print(f"also awarded automatically: {name} ({credential_id})", file=sys.stderr)


def reissue(registry, args) -> int:
    ids = list(args.credential_ids)
    if args.affected:
        ids += [a.credential_id for a in registry.queries.affected(args.affected) if a.status != "revoked"]
    if not ids:
        raise InputError("credential_ids", "name the credentials to re-issue, or --affected SLUG "
                                           "(which found none that still stand)")
    result = registry.commands.credentials.reissue(ids, actor=actor())
    if args.out:
        Path(args.out).write_text(json.dumps(result.documents, ensure_ascii=False, indent=2) + "\n")
    emit(args, "\n".join(result.ids), {"ids": result.ids, "position": result.position, "documents": result.documents})
    return 0


def revoke(registry, args) -> int:
    return written(args, registry.commands.credentials.revoke(args.credential_id, reason=args.reason, actor=actor()))


def suspend(registry, args) -> int:
    return written(args, registry.commands.credentials.suspend(args.credential_id, reason=args.reason, actor=actor()))


def reinstate(registry, args) -> int:
    return written(args, registry.commands.credentials.reinstate(args.credential_id, reason=args.reason,
                                                                 actor=actor()))


def credential(registry, args) -> int:
    found = registry.queries.credential(args.credential_id)
    emit(args, found.document, {"id": found.id, "status": found.status, "reason": found.reason,
                                "document": json.loads(found.document)})
    return 0


def status(registry, args) -> int:
    answer = registry.queries.credential_status(args.credential_id, instant(args))
    line = f"{answer.status}" + (f" since {answer.since}" if answer.since else "")
    if answer.reason:
        line += f": {answer.reason}"
    emit(args, line, msgspec.to_builtins(answer))
    return 0 if answer.valid else 1


def status_list(registry, args) -> int:
    document = registry.commands.status_lists.sign(args.slug, args.list_number)
    text = json.dumps(document, ensure_ascii=False, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    print(json.dumps(document, ensure_ascii=False) if args.json else text)
    return 0


def receipt(registry, args) -> int:
    from uuid import UUID

    from registry.errors import InputError

    reference = args.credential_id.removeprefix("urn:uuid:")
    try:
        aggregate = UUID(reference)
    except ValueError:
        raise InputError("credential_id", f"not a credential id: {args.credential_id!r}") from None
    log = registry.queries.log
    inclusion = log.inclusion_of(aggregate)
    if inclusion is None:
        raise InputError("credential_id", f"{args.credential_id} is not in a signed checkpoint of this registry's log")
    print(json.dumps(inclusion.receipt(log.key().vkey), ensure_ascii=False, indent=None if args.json else 2))
    return 0
