"""`registry achievement ...`: badge classes."""

from __future__ import annotations

import argparse
import json

from registry.cli.images import image_option
from registry.cli.output import actor, emit, read_json, written
from registry.errors import InputError
from registry.vc.errors import DocumentError


def register(grammar) -> None:
    group = grammar.group("achievement", "badge classes")
    for name, help, run in (("define", "define an achievement", define),
                            ("revise", "publish a new version", revise)):
        p = grammar.command(name, help, run, group)
        if name == "define":
            p.add_argument("--issuer", help="the issuer's slug (or \"issuer\" in --file)")
        else:
            p.add_argument("id")
        p.add_argument("--file", help="an OB Achievement JSON (without id and creator), or the body of "
                                      "POST /achievements: {\"definition\": ..., \"requires\": [...], \"automatic\": ...}")
        p.add_argument("--name")
        p.add_argument("--description")
        p.add_argument("--criteria", help="criteria narrative")
        p.add_argument("--type", dest="achievement_type", help="achievementType (default Badge)")
        p.add_argument("--requires", nargs="*", default=None, metavar="ID[@LEVEL]",
                       help="achievements a recipient must hold first, optionally at least at a level")
        p.add_argument("--automatic", action=argparse.BooleanOptionalAction, default=None,
                       help="the registry awards it as soon as every requirement is held")
        p.add_argument("--level", action="append", metavar="NAME=LOWEST_SCORE",
                       help="a result level and the lowest score that reaches it (repeat: a ladder)")
        p.add_argument("--score-range", metavar="MIN-MAX", help="the ladder's score range, e.g. 0-100")
        p.add_argument("--image", metavar="FILE_OR_URL",
                       help="the badge image: a PNG or SVG file (stored, as `registry image add`) or a URL")
    p = grammar.command("retire", "stop awarding an achievement", retire, group)
    p.add_argument("id")
    p.add_argument("--reason", required=True)
    p = grammar.command("show", "print an achievement (latest, or --version N)", show, group)
    p.add_argument("id")
    p.add_argument("--version", type=int)
    grammar.command("list", "list achievements, in the order they were defined", list_achievements,
                    group).add_argument("--issuer")


WRAPPER = {"definition", "issuer", "requires", "automatic"}


def request(args, current: dict | None = None) -> dict:
    """What to send: {"definition", "requires", "automatic", "issuer"}, the shape POST /achievements
    takes, from --file (either that shape or a bare Achievement) and the options."""
    if args.file:
        if any((args.name, args.description, args.criteria, args.level)):
            raise InputError("--file", "give either --file or --name/--description/--criteria/--level, not both")
        data = read_json(args.file)
        if not isinstance(data, dict):
            raise DocumentError(f"{args.file}: an achievement must be a JSON object")
        if isinstance(data.get("definition"), dict):
            unknown = sorted(set(data) - WRAPPER)
            if unknown:
                raise DocumentError(f"{args.file}: unknown fields {unknown} beside definition")
            sent = dict(data)
        else:
            sent = {"definition": data}
    else:
        sent = {"definition": definition(args, current)}
    if args.requires is not None:
        sent["requires"] = args.requires
    if args.automatic is not None:
        sent["automatic"] = args.automatic
    return sent


def definition(args, current: dict | None = None) -> dict:
    """An achievement definition from --name/--description/--criteria/--level (a revision starts
    from the current version, its extension contexts and types included, and changes what is given;
    its version label is the issuer's to give again, with --file)."""
    base = {k: v for k, v in (current or {}).items() if k not in ("id", "creator", "version")}
    if args.name:
        base["name"] = args.name
    if args.description:
        base["description"] = args.description
    if args.criteria:
        base["criteria"] = {**base.get("criteria", {}), "narrative": args.criteria}
    if args.achievement_type:
        base["achievementType"] = args.achievement_type
    if args.level:
        base["resultDescription"] = [ladder(args.level, args.score_range)]
    missing = [f for f in ("name", "description", "criteria") if f not in base]
    if missing:
        raise InputError(f"--{missing[0]}", f"missing --{' --'.join(missing)} (or give --file)")
    return base


def ladder(levels: list[str], score_range: str | None) -> dict:
    """A ResultDescription from --level NAME=LOWEST_SCORE options (see registry.domain.ladder)."""
    parsed = []
    for option in levels:
        name, sep, points = option.rpartition("=")
        if not sep or not name.strip() or not points.strip():
            raise InputError("--level", f"expected NAME=LOWEST_SCORE, e.g. Excellent=85, got {option!r}")
        parsed.append({"type": ["RubricCriterionLevel"], "name": name.strip(), "points": points.strip()})
    found = {"type": ["ResultDescription"], "name": "Score", "resultType": "RawScore", "rubricCriterionLevel": parsed}
    if score_range:
        low, sep, high = score_range.partition("-")
        if not sep or not low.strip() or not high.strip():
            raise InputError("--score-range", f"expected MIN-MAX, e.g. 0-100, got {score_range!r}")
        found.update(valueMin=low.strip(), valueMax=high.strip())
    return found


def with_image(registry, args, sent: dict) -> dict:
    """--image: the definition's OB Image, a file stored first (registry.cli.images)."""
    if args.image:
        sent["definition"] = {**sent["definition"], "image": {"id": image_option(registry, args.image), "type": "Image"}}
    return sent


def define(registry, args) -> int:
    sent = with_image(registry, args, request(args))
    issuer = sent.get("issuer") or args.issuer
    if issuer is None:
        raise InputError("--issuer", "define needs --issuer SLUG (or \"issuer\" in the file)")
    return written(args, registry.commands.achievements.define(
        issuer=issuer, definition=sent["definition"], requires=sent.get("requires") or [],
        automatic=bool(sent.get("automatic", False)), actor=actor()))


def revise(registry, args) -> int:
    current = registry.queries.achievement_document(args.id)
    sent = with_image(registry, args, request(args, current))
    return written(args, registry.commands.achievements.revise(
        args.id, definition=sent["definition"], requires=sent.get("requires"),
        automatic=sent.get("automatic"), actor=actor()))


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
