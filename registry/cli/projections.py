"""`registry projections status|rebuild [NAME]|run`: the read side's positions, rebuilding a
projection from the start of the log, and a worker that follows new events (PostgreSQL: woken by
NOTIFY; SQLite: polling) until SIGINT or SIGTERM."""

from __future__ import annotations

import signal
import threading

import msgspec

from registry.cli.output import emit
from registry.errors import InputError
from registry.projections import PROJECTIONS, Runner

NAMES = [p.name for p in PROJECTIONS]


def register(grammar) -> None:
    group = grammar.group("projections", "read models: positions, rebuild, worker")
    grammar.command("status", "each projection's position, lag behind the event log, and the events it "
                    "quarantined (could not apply)", status, group)
    p = grammar.command("rebuild", "drop a projection's tables (all with no NAME) and replay the log", rebuild, group)
    p.add_argument("name", nargs="?", choices=NAMES)
    p.add_argument("--batch-size", type=int, default=1000, help="notifications per transaction")
    p = grammar.command("run", "follow the event log until SIGINT/SIGTERM (or --once: catch up and exit)",
                        run, group)
    p.add_argument("--once", action="store_true", help="catch up and exit")
    p.add_argument("--batch-size", type=int, default=1000, help="notifications per transaction")
    p.add_argument("--poll", type=float, default=1.0, metavar="SECONDS",
                   help="look for new events at least this often (the only way on SQLite)")


def status(registry, args) -> int:
    found = registry.queries.projection_status()
    lines = []
    for s in found:
        lines.append(f"{s.name}\tposition {s.position}\tlag {s.lag}"
                     + (f"\tquarantined {len(s.quarantined)}" if s.quarantined else ""))
        lines.extend(f"  quarantined at position {q.position}: {q.topic.rsplit(':', 1)[-1]} of {q.originator_id}: "
                     f"{q.reason}" for q in s.quarantined)
    emit(args, "\n".join(lines), msgspec.to_builtins(found))
    return 0


def _positions(args, found: dict[str, int]) -> None:
    emit(args, "\n".join(f"{name}\tposition {position}" for name, position in found.items()), found)


def _runner(registry, args) -> Runner:
    if args.batch_size < 1:
        raise InputError("--batch-size", f"must be at least 1, not {args.batch_size}")
    model = registry.queries.read_model
    return Runner(model.store, model.db, PROJECTIONS, batch_size=args.batch_size)


def rebuild(registry, args) -> int:
    _positions(args, _runner(registry, args).rebuild(args.name))
    return 0


def run(registry, args) -> int:
    runner = _runner(registry, args)
    if args.once:
        _positions(args, runner.catch_up())
        return 0
    stopping = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stopping.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        # The batch in progress commits (or rolls back) before the loop sees the stop request.
        runner.follow(stopping, poll_seconds=args.poll)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    _positions(args, runner.positions())
    return 0
