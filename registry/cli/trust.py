"""`registry trust ...`: chains of standing endorsements between organisations, and the registry's
trust anchors."""

from __future__ import annotations

import msgspec

from registry.cli.output import actor, emit, instant, written

DEPTH_HELP = "the longest chain to look for, in hops (default 6, at most 10)"
AT_HELP = "answer as of this instant (ISO 8601 with offset, e.g. 2026-05-01T12:00:00Z)"


def register(grammar) -> None:
    trust = grammar.group("trust", "chains of endorsements and trust anchors")
    p = grammar.command("path", "the shortest chain of standing endorsements from one organisation to another",
                        path, trust)
    p.add_argument("--from", dest="source", required=True, metavar="SLUG")
    p.add_argument("--to", dest="target", required=True, metavar="SLUG")
    p.add_argument("--max-depth", type=int, default=6, metavar="N", help=DEPTH_HELP)
    p.add_argument("--at", help=AT_HELP)
    p = grammar.command("anchored", "the shortest chain from any trust anchor to an organisation", anchored, trust)
    p.add_argument("slug")
    p.add_argument("--max-depth", type=int, default=6, metavar="N", help=DEPTH_HELP)
    p.add_argument("--at", help=AT_HELP)

    anchors = grammar.group("anchors", "organisations trusted without an endorsement", trust, "anchor_action")
    grammar.command("add", "make a registered organisation a trust anchor", add_anchor, anchors).add_argument("slug")
    grammar.command("list", "list the trust anchors", list_anchors, anchors).add_argument("--at", help=AT_HELP)
    p = grammar.command("remove", "stop trusting an anchor", remove_anchor, anchors)
    p.add_argument("slug")
    p.add_argument("--reason", default="removed by the operator")


def path(registry, args) -> int:
    hops = registry.queries.trust_path(args.source, args.target, max_depth=args.max_depth, at=instant(args))
    none = (f"no chain of active endorsements from {args.source} to {args.target} "
            f"within depth {args.max_depth}")
    return _chain(args, hops, args.source, none)


def anchored(registry, args) -> int:
    at = instant(args)
    hops = registry.queries.chain_from_anchors(args.slug, at, max_depth=args.max_depth)
    if hops is None:
        none = (f"no chain of active endorsements from a trust anchor to {args.slug} within depth "
                f"{args.max_depth}" if registry.queries.trust_anchors(at) else "no trust anchors are configured")
        return _chain(args, None, args.slug, none)
    return _chain(args, hops, hops[0].endorser if hops else args.slug, "")


def add_anchor(registry, args) -> int:
    return written(args, registry.commands.trust.add_anchor(args.slug, actor=actor()))


def remove_anchor(registry, args) -> int:
    return written(args, registry.commands.trust.remove_anchor(args.slug, reason=args.reason, actor=actor()))


def list_anchors(registry, args) -> int:
    anchors = registry.queries.trust_anchors(instant(args))
    emit(args, "\n".join(f"{a.slug}\t{a.issuer_id}\tsince {a.added_at}" for a in anchors),
         [{"slug": a.slug, "issuer_id": a.issuer_id, "added_at": a.added_at} for a in anchors])
    return 0


def _chain(args, hops, start: str, none: str) -> int:
    if hops is None:
        emit(args, none, {"chain": None, "hops": None, "message": none})
        return 1
    chain = [start] + [hop.subject for hop in hops]
    lines = [" -> ".join(chain)]
    lines += [f"  {hop.endorser} -> {hop.subject}: {', '.join(hop.endorsements)}" for hop in hops]
    emit(args, "\n".join(lines), {"chain": chain, "hops": msgspec.to_builtins(hops)})
    return 0
