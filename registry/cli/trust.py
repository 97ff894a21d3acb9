"""`registry trust ...`: chains of standing endorsements between organisations, and the registry's
trust anchors."""

from __future__ import annotations

import msgspec

from registry.cli.parser import Parser

DEPTH_HELP = "the longest chain to look for, in hops (default 6, at most 10)"
AT_HELP = "answer as of this instant (ISO 8601 with offset, e.g. 2026-05-01T12:00:00Z)"


def add_commands(subparsers, command) -> None:
    trust = subparsers.add_parser("trust", help="chains of endorsements and trust anchors").add_subparsers(
        dest="action", required=True, parser_class=Parser)
    p = command(trust, "path", "the shortest chain of standing endorsements from one organisation to another")
    p.add_argument("--from", dest="source", required=True, metavar="SLUG")
    p.add_argument("--to", dest="target", required=True, metavar="SLUG")
    p.add_argument("--max-depth", type=int, default=6, metavar="N", help=DEPTH_HELP)
    p.add_argument("--at", help=AT_HELP)
    p.set_defaults(handler=path)

    anchors = trust.add_parser("anchors", help="organisations trusted without an endorsement").add_subparsers(
        dest="anchor_action", required=True, parser_class=Parser)
    p = command(anchors, "add", "make a registered organisation a trust anchor")
    p.add_argument("slug")
    p.set_defaults(handler=add_anchor)
    p = command(anchors, "list", "list the trust anchors")
    p.add_argument("--at", help=AT_HELP)
    p.set_defaults(handler=list_anchors)
    p = command(anchors, "remove", "stop trusting an anchor")
    p.add_argument("slug")
    p.add_argument("--reason", default="removed by the operator")
    p.set_defaults(handler=remove_anchor)
    p = command(trust, "anchored", "the shortest chain from any trust anchor to an organisation")
    p.add_argument("slug")
    p.add_argument("--max-depth", type=int, default=6, metavar="N", help=DEPTH_HELP)
    p.add_argument("--at", help=AT_HELP)
    p.set_defaults(handler=anchored)


def path(registry, args) -> int:
    at = _at(args)
    hops = registry.trust_path(args.source, args.target, max_depth=args.max_depth, at=at)
    none = (f"no chain of active endorsements from {args.source} to {args.target} "
            f"within depth {args.max_depth}")
    return _chain(args, hops, args.source, none)


def anchored(registry, args) -> int:
    at = _at(args)
    hops = registry.chain_from_anchors(args.slug, at, max_depth=args.max_depth)
    if hops is None:
        anchors = registry.trust_anchors(at)
        none = (f"no chain of active endorsements from a trust anchor to {args.slug} within depth "
                f"{args.max_depth}" if anchors else "no trust anchors are configured")
        return _chain(args, None, args.slug, none)
    return _chain(args, hops, hops[0].endorser if hops else args.slug, "")


def add_anchor(registry, args) -> int:
    from registry.cli.commands import actor, written
    written(args, registry.add_trust_anchor(args.slug, actor=actor()))
    return 0


def remove_anchor(registry, args) -> int:
    from registry.cli.commands import actor, written
    written(args, registry.remove_trust_anchor(args.slug, reason=args.reason, actor=actor()))
    return 0


def list_anchors(registry, args) -> int:
    from registry.cli.commands import emit
    anchors = registry.trust_anchors(_at(args))
    emit(args, "\n".join(f"{a.slug}\t{a.issuer_id}\tsince {a.added_at.isoformat()}" for a in anchors),
         [{"slug": a.slug, "issuer_id": str(a.issuer_id), "added_at": a.added_at.isoformat()}
          for a in anchors])
    return 0


def _chain(args, hops, start: str, none: str) -> int:
    from registry.cli.commands import emit
    if hops is None:
        emit(args, none, {"chain": None, "hops": None, "message": none})
        return 1
    chain = [start] + [hop.subject for hop in hops]
    lines = [" -> ".join(chain)]
    lines += [f"  {hop.endorser} -> {hop.subject}: {', '.join(hop.endorsements)}" for hop in hops]
    emit(args, "\n".join(lines), {"chain": chain, "hops": msgspec.to_builtins(hops)})
    return 0


def _at(args):
    if not args.at:
        return None
    from registry.vc.openbadges import parse_datetimez
    return parse_datetimez(args.at, "--at")
