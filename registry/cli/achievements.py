"""`registry achievement ...`: badge classes."""

from __future__ import annotations

import json

from registry.cli.output import actor, emit, read_json, written
from registry.errors import InputError
from registry.vc.errors import DocumentError


def register(grammar) -> None:
    group = grammar.group("achievement", "badge classes")
    for name, help, run in (("define", "define an achievement", define),
                            ("revise", "publish a new version", revise)):
        p = grammar.command(name, help, run, group)
        if name == "define":
            p.add_argument("--issuer", required=True, help="the issuer's slug")
        else:
            p.add_argument("id")
        p.add_argument("--file", help="an OB Achievement JSON (without id and creator)")
        p.add_argument("--name")
        p.add_argument("--description")
        p.add_argument("--criteria", help="criteria narrative")
        p.add_argument("--type", dest="achievement_type", help="achievementType (default Badge)")
        p.add_argument("--requires", nargs="*", default=None, metavar="ID",
                       help="achievements a recipient must hold first")
    p = grammar.command("retire", "stop awarding an achievement", retire, group)
    p.add_argument("id")
    p.add_argument("--reason", required=True)
    p = grammar.command("show", "print an achievement (latest, or --version N)", show, group)
    p.add_argument("id")
    p.add_argument("--version", type=int)
    grammar.command("list", "list achievements, in the order they were defined", list_achievements,
                    group).add_argument("--issuer")


def definition(args, current: dict | None = None) -> dict:
    """An achievement definition from --file, or from --name/--description/--criteria (a
    revision starts from the current version and changes what is given)."""
    if args.file:
        if any((args.name, args.description, args.criteria)):
            raise InputError("--file", "give either --file or --name/--description/--criteria, not both")
        data = read_json(args.file)
        if not isinstance(data, dict):
            raise DocumentError(f"{args.file}: an achievement must be a JSON object")
        return data
    base = {k: v for k, v in (current or {}).items() if k not in ("id", "type", "creator", "version", "@context")}
    if args.name:
        base["name"] = args.name
    if args.description:
        base["description"] = args.description
    if args.criteria:
        base["criteria"] = {**base.get("criteria", {}), "narrative": args.criteria}
    if args.achievement_type:
        base["achievementType"] = args.achievement_type
    missing = [f for f in ("name", "description", "criteria") if f not in base]
    if missing:
        raise InputError(f"--{missing[0]}", f"missing --{' --'.join(missing)} (or give --file)")
    return base


def define(registry, args) -> int:
    return written(args, registry.commands.achievements.define(
        issuer=args.issuer, definition=definition(args), requires=args.requires or [], actor=actor()))


def revise(registry, args) -> int:
    current = registry.queries.achievement_document(args.id)
    return written(args, registry.commands.achievements.revise(
        args.id, definition=definition(args, current), requires=args.requires, actor=actor()))


def retire(registry, args) -> int:
    return written(args, registry.commands.achievements.retire(args.id, reason=args.reason, actor=actor()))


def show(registry, args) -> int:
    document = registry.queries.achievement_document(args.id, args.version)
    document.pop("@context", None)
    emit(args, json.dumps(document, indent=2, ensure_ascii=False), document)
    return 0


def list_achievements(registry, args) -> int:
    found, after = [], None
    while True:
        page = registry.queries.achievements(issuer=args.issuer, after=after, limit=1000)
        found += page.items
        if page.next_cursor is None:
            break
        after = page.next_cursor
    emit(args, "\n".join(f"{a.id}\tv{a.version}\t{'retired ' if a.retired_at else ''}{a.name}" for a in found),
         [{"id": a.id, "name": a.name, "version": a.version, "retired": a.retired_at is not None,
           "requires": a.requires} for a in found])
    return 0
