"""Answers as of any instant, from the read side: `registry status CREDENTIAL_ID [--at]`,
`registry keys SLUG [--at]` (also `keys show SLUG`), `registry endorsements (--of S | --by SLUG)
[--at]`. Exit 1 when the answer is "not valid" (status) or "none" (no keys, no endorsements)."""

from __future__ import annotations

import argparse

import msgspec

from registry.cli.commands import emit
from registry.projections import read_model
from registry.vc.openbadges import parse_datetimez

AT_HELP = "answer as of this instant: ISO 8601 with offset, e.g. 2026-05-01T12:00:00Z (default now)"


def at(args):
    return None if args.at is None else parse_datetimez(args.at, "--at")


def status(registry, args) -> int:
    answer = read_model(registry).credential_status(args.credential_id, at(args))
    line = f"{answer.status}" + (f" since {answer.since}" if answer.since else "")
    if answer.reason:
        line += f": {answer.reason}"
    emit(args, line, msgspec.to_builtins(answer))
    return 0 if answer.valid else 1


def keys(registry, args) -> int:
    found = read_model(registry).keys(args.slug, at(args))
    emit(args, "\n".join(f"{k.state}\t{k.added_at}\t{k.verification_method}" for k in found),
         msgspec.to_builtins(found))
    return 0 if found else 1


def endorsements(registry, args) -> int:
    found = read_model(registry).endorsements(of=args.of, by=args.by, at=at(args))
    lines = []
    for e in found:
        withdrawn = f"\twithdrawn {e.withdrawn_at}: {e.withdrawn_reason}" if e.withdrawn_at else ""
        lines.append(f"{e.id}\t{e.endorser}\t{e.subject_kind} {e.subject_id}\t{e.given_at}{withdrawn}")
    emit(args, "\n".join(lines), msgspec.to_builtins(found))
    return 0 if found else 1


def _show_by_default(keys_parser, actions) -> None:
    """`registry keys SLUG` means `registry keys show SLUG`: a first word that is not an action is
    a slug (rotate, compromise and show stay actions). argparse checks the action name before any
    action runs, so the keys parser itself rewrites its arguments."""

    class KeysParser(type(keys_parser)):
        def parse_known_args(self, args=None, namespace=None):
            if args and args[0] not in actions.choices and not args[0].startswith("-"):
                args = ["show", *args]
            return super().parse_known_args(args, namespace)

    keys_parser.__class__ = KeysParser


def add_commands(subparsers, command) -> None:
    p = command(subparsers, "status", "a credential's status, now or --at an earlier instant "
                                      "(exit 1 when it is not valid)")
    p.add_argument("credential_id")
    p.add_argument("--at", help=AT_HELP)
    p.set_defaults(handler=status)

    keys_parser = subparsers.choices["keys"]
    (actions,) = [a for a in keys_parser._actions if isinstance(a, argparse._SubParsersAction)]
    _show_by_default(keys_parser, actions)
    p = command(actions, "show", "an organisation's keys and their state, now or --at an instant "
                                 "(also: registry keys SLUG)")
    p.add_argument("slug")
    p.add_argument("--at", help=AT_HELP)
    p.set_defaults(handler=keys)

    p = command(subparsers, "endorsements", "endorsements of a subject or by an organisation; "
                                            "with --at, those standing then (exit 1 when none)")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--of", metavar="SUBJECT",
                     help="issuer slug or DID, achievement or credential id")
    who.add_argument("--by", metavar="SLUG", help="the endorsing organisation")
    p.add_argument("--at", help=AT_HELP)
    p.set_defaults(handler=endorsements)
