"""The command line's grammar. Every command has --help; --json asks for JSON on stdout."""

from __future__ import annotations

import argparse
import importlib

# Command groups that live in their own modules: each has add_commands(subparsers, command) and
# sets `handler=fn(registry, args) -> int` on its parsers with set_defaults.
EXTENSIONS: tuple[str, ...] = (
    "registry.cli.projections",
    "registry.cli.history",
    "registry.cli.status_list",
    "registry.cli.trust",
    "registry.cli.serve",
)

EPILOG = (
    "Exit status: 0 success, 1 the answer is 'invalid' (verify), 2 bad input or usage. "
    "Environment: REGISTRY_HOME (data dir, default ./data), REGISTRY_DATABASE_URL "
    "(postgresql://... for PostgreSQL), REGISTRY_KEYS (keystore dir, default ./keys), "
    "REGISTRY_KEYSTORE_PASSPHRASE, REGISTRY_PUBLIC_URL (default http://localhost:8000)."
)


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line on stderr, exit 2
        raise UsageError(f"{self.prog}: {message}")


class UsageError(Exception):
    pass


def build() -> Parser:
    common = Parser(add_help=False)
    # SUPPRESS: a subcommand's unset --json must not undo `registry --json <command>`.
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print JSON on stdout")
    root = Parser(prog="registry", description="Open Badges 3.0 endorsement and trust registry.",
                  epilog=EPILOG, parents=[common])
    commands = root.add_subparsers(dest="command", required=True, parser_class=Parser)

    def command(parent, name: str, help: str) -> Parser:
        return parent.add_parser(name, help=help, description=help, parents=[common])

    p = command(commands, "init", "create the data directory, event store and keystore")
    p.add_argument("--app-role", metavar="ROLE",
                   help="PostgreSQL: grant an existing role what the service needs (append and read "
                        "events), never UPDATE/DELETE/TRUNCATE; run as the table owner")
    command(commands, "demo", "load a realistic SoftSkills4EU badge ecosystem (safe to run twice)")

    issuer = commands.add_parser("issuer", help="organisations").add_subparsers(
        dest="action", required=True, parser_class=Parser)
    p = command(issuer, "register", "register an organisation (hosted did:web, or --did did:key:...)")
    p.add_argument("--slug", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--url")
    p.add_argument("--email")
    p.add_argument("--description")
    p.add_argument("--did", help="an external issuer's did:key; it signs for itself")
    command(issuer, "show", "show an organisation and its key history").add_argument("slug")
    command(issuer, "list", "list organisations")

    command(commands, "did", "print an issuer's DID document").add_argument("slug")

    keys = commands.add_parser("keys", help="signing keys").add_subparsers(
        dest="action", required=True, parser_class=Parser)
    command(keys, "rotate", "retire the active key and activate a new one").add_argument("slug")
    p = command(keys, "compromise", "distrust a key from a moment on")
    p.add_argument("slug")
    p.add_argument("--key", required=True, help="verification method id or its Multikey")
    p.add_argument("--since", required=True, help="ISO 8601 with offset, e.g. 2026-05-01T12:00:00Z")

    achievement = commands.add_parser("achievement", help="badge classes").add_subparsers(
        dest="action", required=True, parser_class=Parser)
    for name, help in (("define", "define an achievement"), ("revise", "publish a new version")):
        p = command(achievement, name, help)
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
    p = command(achievement, "retire", "stop awarding an achievement")
    p.add_argument("id")
    p.add_argument("--reason", required=True)
    p = command(achievement, "show", "print an achievement (latest, or --version N)")
    p.add_argument("id")
    p.add_argument("--version", type=int)
    command(achievement, "list", "list achievements").add_argument("--issuer")

    p = command(commands, "issue", "issue an OpenBadgeCredential (or --batch FILE.csv)")
    p.add_argument("--achievement")
    p.add_argument("--recipient", help="an e-mail address (stored hashed) or a DID")
    p.add_argument("--result", help="the achieved score or value, e.g. 87%%")
    p.add_argument("--valid-until", help="ISO 8601 with offset")
    p.add_argument("--evidence", help="a URL")
    p.add_argument("--batch", help="CSV: recipient,achievement[,result,valid_until,evidence]")
    p.add_argument("--out", help="write the signed credential (batch: JSON array) to this file")

    for name, help in (("revoke", "revoke a credential (final)"),
                       ("suspend", "suspend a credential"),
                       ("reinstate", "reinstate a suspended credential")):
        p = command(commands, name, help)
        p.add_argument("credential_id")
        p.add_argument("--reason", required=name == "revoke", default=f"{name}d")
    command(commands, "credential", "print a stored credential").add_argument("credential_id")

    p = command(commands, "endorse", "endorse an issuer, achievement or credential (custodial)")
    p.add_argument("--by", required=True, help="the endorsing organisation's slug")
    p.add_argument("--subject", required=True, help="issuer slug or DID, achievement or credential id")
    p.add_argument("--comment", required=True)
    p.add_argument("--out")
    endorsement = commands.add_parser("endorsement", help="endorsements").add_subparsers(
        dest="action", required=True, parser_class=Parser)
    command(endorsement, "submit", "submit an EndorsementCredential signed by its endorser").add_argument("file")
    p = command(endorsement, "withdraw", "withdraw an endorsement")
    p.add_argument("id")
    p.add_argument("--reason", default="withdrawn by the endorser")

    p = command(commands, "verify", "verify credentials and endorsements, one line each")
    p.add_argument("files", nargs="+")
    p = command(commands, "export", "every stored event as JSON lines, in order")
    p.add_argument("--out")
    for name in EXTENSIONS:
        importlib.import_module(name).add_commands(commands, command)
    return root
