"""`registry endorse`, `registry endorsement submit|withdraw` and `registry endorsements`: who
endorses whom, now or as of any instant."""

from __future__ import annotations

import msgspec

from registry.cli.output import AT_HELP, actor, emit, instant, read_text, written


def register(grammar) -> None:
    p = grammar.command("endorse", "endorse an issuer, achievement or credential (custodial)", endorse)
    p.add_argument("--by", required=True, help="the endorsing organisation's slug")
    p.add_argument("--subject", required=True, help="issuer slug or DID, achievement or credential id")
    p.add_argument("--comment", required=True)
    p.add_argument("--out")
    group = grammar.group("endorsement", "endorsements")
    grammar.command("submit", "submit an EndorsementCredential signed by its endorser", submit,
                    group).add_argument("file")
    p = grammar.command("withdraw", "withdraw an endorsement", withdraw, group)
    p.add_argument("id")
    p.add_argument("--reason", default="withdrawn by the endorser")

    p = grammar.command("endorsements", "endorsements of a subject or by an organisation; with --at, "
                                        "those standing then (exit 1 when none)", endorsements)
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--of", metavar="SUBJECT", help="issuer slug or DID, achievement or credential id")
    who.add_argument("--by", metavar="SLUG", help="the endorsing organisation")
    p.add_argument("--at", help=AT_HELP)


def endorse(registry, args) -> int:
    return written(args, registry.commands.endorsements.endorse(
        by=args.by, subject=args.subject, comment=args.comment, actor=actor()), args.out)


def submit(registry, args) -> int:
    return written(args, registry.commands.endorsements.submit(read_text(args.file), actor=actor()))


def withdraw(registry, args) -> int:
    return written(args, registry.commands.endorsements.withdraw(args.id, reason=args.reason, actor=actor()))


def endorsements(registry, args) -> int:
    found = registry.queries.endorsements(of=args.of, by=args.by, at=instant(args)).items
    lines = []
    for e in found:
        withdrawn = f"\twithdrawn {e.withdrawn_at}: {e.withdrawn_reason}" if e.withdrawn_at else ""
        lines.append(f"{e.id}\t{e.endorser}\t{e.subject_kind} {e.subject_id}\t{e.given_at}{withdrawn}")
    emit(args, "\n".join(lines), msgspec.to_builtins(found))
    return 0 if found else 1
