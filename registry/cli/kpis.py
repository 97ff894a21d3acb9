"""`registry kpis`: the key figures for programme managers (badges issued per month, revocation
rate, time to earn a pathway, endorsements by the endorser's kind), of the registry, one
organisation or one achievement."""

from __future__ import annotations

import msgspec

from registry.cli.output import emit


def register(grammar) -> None:
    p = grammar.command("kpis", "key figures: issued per month, revocation rate, time to earn, endorsers", kpis)
    scope = p.add_mutually_exclusive_group()
    scope.add_argument("--issuer", metavar="SLUG", help="of one organisation (slug, id or DID)")
    scope.add_argument("--achievement", metavar="ID", help="of one achievement")
    p.add_argument("--months", type=int, default=12, metavar="N", help="months of issued credentials (1 to 36)")


def _days(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 86_400:.1f} days"


def kpis(registry, args) -> int:
    found = registry.queries.kpis(issuer=args.issuer, achievement=args.achievement, months=args.months)
    name = found.achievement_name or found.issuer_name or "the registry"
    rate = "-" if found.revocation_rate is None else f"{found.revocation_rate:.1%}"
    tte = found.time_to_earn
    lines = [f"key figures of {name}",
             "issued per month: " + ", ".join(f"{m.month} {m.issued}" for m in found.months),
             f"issued {found.issued}, revoked {found.revoked} ({rate}), suspended now {found.suspended}",
             f"time to earn a pathway: median {_days(tte.median_seconds)}, middle half {_days(tte.p25_seconds)}"
             f" to {_days(tte.p75_seconds)}, {tte.count} completed",
             *(f"  {p.name}: median {_days(p.time_to_earn.median_seconds)}, {p.time_to_earn.count} completed"
               for p in found.pathways),
             "endorsements by the endorser's kind: "
             + ", ".join(f"{k.kind} {k.endorsements}" for k in found.endorsements)]
    emit(args, "\n".join(lines), msgspec.to_builtins(found))
    return 0
