"""`registry projections status|rebuild [NAME]|run`: the read side's positions, rebuilding a
projection from the start of the log, and a worker that follows new events (PostgreSQL: woken by
NOTIFY; SQLite: polling) until SIGINT or SIGTERM."""

from __future__ import annotations

import signal
import threading

import msgspec

from registry.cli.commands import emit
from registry.projections import PROJECTIONS, ReadModel, read_model

NAMES = [p.name for p in PROJECTIONS]


def status(registry, args) -> int:
    found = read_model(registry).status()
    emit(args, "\n".join(f"{s.name}\tposition {s.position}\tlag {s.lag}" for s in found),
         msgspec.to_builtins(found))
    return 0


def positions(args, found: dict[str, int]) -> None:
    emit(args, "\n".join(f"{name}\tposition {position}" for name, position in found.items()), found)


def rebuild(registry, args) -> int:
    positions(args, ReadModel(registry, batch_size=args.batch_size).rebuild(args.name))
    return 0


def run(registry, args) -> int:
    model = ReadModel(registry, batch_size=args.batch_size)
    if args.once:
        positions(args, model.catch_up())
        return 0
    stopping = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stopping.set())
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        # The batch in progress commits (or rolls back) before the loop sees the stop request.
        model.runner.follow(stopping, poll_seconds=args.poll)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        latest = model.runner.positions()
        model.close()
    positions(args, latest)
    return 0


def batch_size(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(f"--batch-size must be at least 1, not {value}")
    return value


def add_commands(subparsers, command) -> None:
    group = subparsers.add_parser("projections", help="read models: positions, rebuild, worker")
    actions = group.add_subparsers(dest="action", required=True, parser_class=type(group))
    p = command(actions, "status", "each projection's position and lag behind the event log")
    p.set_defaults(handler=status)
    p = command(actions, "rebuild", "drop a projection's tables (all with no NAME) and replay the log")
    p.add_argument("name", nargs="?", choices=NAMES)
    p.add_argument("--batch-size", type=batch_size, default=1000, help="notifications per transaction")
    p.set_defaults(handler=rebuild)
    p = command(actions, "run", "follow the event log until SIGINT/SIGTERM (or --once: catch up and exit)")
    p.add_argument("--once", action="store_true", help="catch up and exit")
    p.add_argument("--batch-size", type=batch_size, default=1000, help="notifications per transaction")
    p.add_argument("--poll", type=float, default=1.0, metavar="SECONDS",
                   help="look for new events at least this often (the only way on SQLite)")
    p.set_defaults(handler=run)
