"""`registry endorse`, `registry endorsement submit|withdraw` and `registry endorsements`: who
endorses whom, now or as of any instant."""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

import msgspec

from registry.cli.output import AT_HELP, actor, emit, instant, read_text, written
from registry.errors import InputError
from registry.vc.openbadges import parse_datetimez


def register(grammar) -> None:
    p = grammar.command("endorse", "endorse an issuer, achievement or credential (custodial)", endorse)
    p.add_argument("--by", required=True, help="the endorsing organisation's slug")
    p.add_argument("--subject", required=True, help="issuer slug or DID, achievement or credential id")
    p.add_argument("--comment", required=True)
    p.add_argument("--out")
    group = grammar.group("endorsement", "endorsements")
    grammar.command("submit", "submit an EndorsementCredential signed by its endorser", submit,
                    group).add_argument("file")
    p = grammar.command("key", "make a key for signing your own endorsements (a PEM file, 0600); prints its did:key",
                        new_key, group)
    p.add_argument("--out", required=True, help="the key file to create (refused if it exists)")
    p.set_defaults(standalone=True)
    p = grammar.command("sign", "sign an EndorsementCredential with a key you hold, ready for `endorsement submit` "
                                "(needs no registry)", sign, group)
    p.add_argument("--key", required=True, metavar="KEYFILE", help="an Ed25519 private key, PKCS#8 PEM "
                   "(`registry endorsement key` or `openssl genpkey -algorithm ed25519`)")
    p.add_argument("--subject", required=True, help="what you endorse: an organisation's DID, an achievement's URL "
                                                   "or a credential's urn:uuid")
    p.add_argument("--comment", required=True)
    p.add_argument("--name", required=True, help="your organisation's name, as the endorsement shows it")
    p.add_argument("--url", help="your organisation's web site")
    p.add_argument("--did", help="your own did:web (default: the did:key of the key)")
    p.add_argument("--verification-method", help="the key's id in your DID document (default <did>#<Multikey>)")
    p.add_argument("--id", dest="credential_id", help="the endorsement's id (default a new urn:uuid)")
    p.add_argument("--valid-until", help="ISO 8601 with offset")
    p.add_argument("--out", help="write the signed endorsement here (default: stdout)")
    p.set_defaults(standalone=True)
    p = grammar.command("withdraw", "withdraw an endorsement", withdraw, group)
    p.add_argument("id")
    p.add_argument("--reason", default="withdrawn by the endorser")

    p = grammar.command("endorsements", "endorsements of a subject or by an organisation; with --at, "
                                        "those standing then (exit 1 when none)", endorsements)
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--of", metavar="SUBJECT", help="issuer slug or DID, achievement or credential id")
    who.add_argument("--by", metavar="SLUG", help="the endorsing organisation")
    p.add_argument("--at", help=AT_HELP)


def endorse(registry, args) -> int:
    return written(args, registry.commands.endorsements.endorse(
        by=args.by, subject=args.subject, comment=args.comment, actor=actor()), args.out)


def new_key(_registry, args) -> int:
    from registry.vc.endorsing import new_key_file

    pem, did = new_key_file()
    try:  # created 0600 in one step, never over an existing file
        fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InputError(args.out, "exists already; a key file is never overwritten") from None
    except OSError as exc:
        raise InputError(args.out, exc.strerror or str(exc)) from None
    with os.fdopen(fd, "wb") as file:
        file.write(pem)
    emit(args, did, {"did": did, "key_file": args.out})
    return 0


def sign(_registry, args) -> int:
    from registry.vc.endorsing import MAX_KEY_FILE_BYTES, load_key, sign_endorsement

    key_file = Path(args.key)
    if not key_file.is_file():
        raise InputError(args.key, "no such file")
    if key_file.stat().st_size > MAX_KEY_FILE_BYTES:
        raise InputError(args.key, f"larger than {MAX_KEY_FILE_BYTES} bytes: not a key file")
    signed = sign_endorsement(
        load_key(key_file.read_bytes(), args.key), subject=args.subject, comment=args.comment,
        endorser_name=args.name, endorser_url=args.url, now=datetime.now(timezone.utc), did=args.did,
        verification_method=args.verification_method, credential_id=args.credential_id,
        valid_until=parse_datetimez(args.valid_until, "--valid-until") if args.valid_until else None)
    text = json.dumps(signed, indent=2, ensure_ascii=False) + "\n"
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"signed {signed['id']} as {signed['issuer']['id']}: submit it with `registry endorsement submit {args.out}`",
              file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def submit(registry, args) -> int:
    return written(args, registry.commands.endorsements.submit(read_text(args.file), actor=actor()))


def withdraw(registry, args) -> int:
    return written(args, registry.commands.endorsements.withdraw(args.id, reason=args.reason, actor=actor()))


def endorsements(registry, args) -> int:
    found = registry.queries.endorsements(of=args.of, by=args.by, at=instant(args)).items
    lines = []
    for e in found:
        withdrawn = f"\twithdrawn {e.withdrawn_at}: {e.withdrawn_reason}" if e.withdrawn_at else ""
        lines.append(f"{e.id}\t{e.endorser}\t{e.subject_kind} {e.subject_id}\t{e.given_at}{withdrawn}")
    emit(args, "\n".join(lines), msgspec.to_builtins(found))
    return 0 if found else 1
