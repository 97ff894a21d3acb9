"""The command line's grammar, built from the command groups' modules: each module's `register`
adds its commands, and every command names the one function that runs it (`run`, set with
set_defaults). Every command has --help; --json asks for JSON on stdout, before or after the
command's name."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

EPILOG = (
    "Exit status: 0 success, 1 the answer is 'invalid' or 'none' (verify, status, trust path, "
    "keys, endorsements), 2 bad input, usage, or a command the registry's rules refuse, "
    "70 an internal error (its traceback is logged). Environment: REGISTRY_HOME (data dir, default "
    "./data), REGISTRY_DATABASE_URL (postgresql://... for PostgreSQL), REGISTRY_KEYS (keystore dir, "
    "default ./keys), REGISTRY_KEYSTORE_PASSPHRASE, REGISTRY_PUBLIC_URL (default http://localhost:8000)."
)

# `registry keys SLUG` is short for `registry keys show SLUG`; `registry credential ID` for
# `registry credential show ID`.
SHORTHANDS = {"keys": ("show", {"rotate", "compromise", "show", "affected"}),
              "credential": ("show", {"show", "receipt", "bake", "submit", "import"})}


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line on stderr, exit 2
        raise UsageError(f"{self.prog}: {message}")


class Grammar:
    """Hands each group module what it needs to add commands, the same way for all."""

    def __init__(self, root: Parser, common: Parser) -> None:
        self.common = common
        self.commands = root.add_subparsers(dest="command", required=True, parser_class=Parser)

    def command(self, name: str, help: str, run, parent=None) -> Parser:
        """A command (of `parent`, a group's subparsers, or top level) that `run(registry, args)` runs."""
        parser = (parent or self.commands).add_parser(name, help=help, description=help, parents=[self.common])
        parser.set_defaults(run=run)
        return parser

    def group(self, name: str, help: str, parent=None, dest: str = "action"):
        """A group of commands (`registry issuer ...`, or of a group's, with `parent`): the
        subparsers to add them to."""
        return (parent or self.commands).add_parser(name, help=help, description=help).add_subparsers(
            dest=dest, required=True, parser_class=Parser)


def build() -> Parser:
    from registry.cli import (
        achievements,
        contexts,
        credentials,
        endorsements,
        images,
        issuers,
        kpis,
        log,
        operations,
        projections,
        trust,
        verify,
    )

    common = Parser(add_help=False)
    # SUPPRESS: a subcommand's unset --json must not undo `registry --json <command>`.
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON on stdout")
    root = Parser(prog="registry", description="Open Badges 3.0 endorsement and trust registry.",
                  epilog=EPILOG, parents=[common])
    grammar = Grammar(root, common)
    for module in (operations, issuers, achievements, credentials, endorsements, verify, trust, projections, log,
                   images, kpis, contexts):
        module.register(grammar)
    return root


def expand(argv: Sequence[str]) -> list[str]:
    """Spell out the shorthands: `keys SLUG ...` becomes `keys show SLUG ...`."""
    argv = list(argv)
    first = next((i for i, word in enumerate(argv) if not word.startswith("-")), None)
    if first is not None and argv[first] in SHORTHANDS and first + 1 < len(argv):
        action, actions = SHORTHANDS[argv[first]]
        following = argv[first + 1]
        if not following.startswith("-") and following not in actions:
            argv.insert(first + 1, action)
    return argv
