"""What each command does: translate arguments into one use case and its answer into output."""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path

import msgspec

from registry.application import Award, Registry, Written, parse_batch_csv
from registry.application.registry import MAX_DOCUMENT_BYTES
from registry.cli.status_list import load_status_lists
from registry.domain import Issuer
from registry.store.append_only import grant_application_role, grant_tables
from registry.vc.errors import DocumentError
from registry.vc.openbadges import parse_datetimez


def actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no login name in a container: still say it came from the CLI
        return "cli"


def read_side_tables(registry: Registry) -> dict[str, str]:
    """Every table besides the events: read models and the API's keys and idempotency records."""
    from registry.api.access import ApiKeys
    from registry.api.idempotency import IdempotencyRecords
    from registry.api.sql import Sql
    from registry.projections.read_model import PROJECTIONS

    sql = Sql(registry)
    names = ["projection_positions", ApiKeys(sql).name, IdempotencyRecords(sql).name]
    for projection in PROJECTIONS:
        names += projection.tables
    return {name.split(".")[-1].strip('"'): "SELECT, INSERT, UPDATE, DELETE" for name in names}


def emit(args, text: str, data: object) -> None:
    print(json.dumps(data, ensure_ascii=False, default=str) if args.json else text)


def read_text(path: str) -> str:
    file = Path(path)
    if not file.is_file():
        raise DocumentError(f"{path}: no such file")
    if file.stat().st_size > MAX_DOCUMENT_BYTES:
        raise DocumentError(f"{path}: larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DocumentError(f"{path}: not UTF-8 text") from None


def read_json(path: str) -> object:
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise DocumentError(f"{path}: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None


def written(args, result: Written, out: str | None = None) -> None:
    if out and result.document is not None:
        Path(out).write_text(json.dumps(result.document, ensure_ascii=False, indent=2) + "\n")
    data = {"id": result.id, "position": result.position}
    if result.document is not None:
        data["document"] = result.document
    emit(args, result.id, data)


def issuer_view(registry: Registry, issuer: Issuer) -> dict:
    return {
        "slug": issuer.slug, "name": issuer.name, "did": issuer.did, "hosted": issuer.hosted,
        "url": issuer.url, "email": issuer.email, "description": issuer.description,
        "registered_at": issuer.created_on.isoformat(),
        "deactivated_at": issuer.deactivated_at and issuer.deactivated_at.isoformat(),
        "keys": [
            {"verification_method": k.verification_method, "state": k.state,
             "added_at": k.added_at.isoformat(),
             "retired_at": k.retired_at and k.retired_at.isoformat(),
             "compromised_since": k.compromised_since and k.compromised_since.isoformat()}
            for k in issuer.keys
        ],
    }


def definition(args, current: dict | None = None) -> dict:
    """An achievement definition from --file, or from --name/--description/--criteria (a
    revision starts from the current version and changes what is given)."""
    if args.file:
        if any((args.name, args.description, args.criteria)):
            raise DocumentError("give either --file or --name/--description/--criteria, not both")
        data = read_json(args.file)
        if not isinstance(data, dict):
            raise DocumentError(f"{args.file}: an achievement must be a JSON object")
        return data
    base = {k: v for k, v in (current or {}).items() if k not in ("id", "type", "creator", "version")}
    if args.name:
        base["name"] = args.name
    if args.description:
        base["description"] = args.description
    if args.criteria:
        base["criteria"] = {**base.get("criteria", {}), "narrative": args.criteria}
    if args.achievement_type:
        base["achievementType"] = args.achievement_type
    missing = [f for f in ("name", "description", "criteria") if f not in base]
    if missing:
        raise DocumentError(f"missing --{' --'.join(missing)} (or give --file)")
    return base


def run(registry: Registry, args) -> int:
    handler = getattr(args, "handler", None)
    if handler is not None:  # a command group from registry.cli.parser.EXTENSIONS
        return handler(registry, args)
    who = actor()
    command = args.command
    action = getattr(args, "action", None)

    if command == "init":
        registry.read_model.fresh()  # creates the read-model tables and catches them up
        if args.app_role:
            grant_application_role(registry, args.app_role)
            grant_tables(registry, args.app_role, read_side_tables(registry))
        emit(args, f"registry ready: {registry.store_description}; keys in {registry.config.keys_dir}",
             {"store": registry.store_description, "keys": str(registry.config.keys_dir)})
    elif command == "issuer" and action == "register":
        written(args, registry.register_issuer(
            slug=args.slug, name=args.name, url=args.url, email=args.email,
            description=args.description, did=args.did, actor=who))
    elif command == "issuer" and action == "show":
        view = issuer_view(registry, registry.issuer(args.slug))
        emit(args, json.dumps(view, indent=2), view)
    elif command == "issuer" and action == "list":
        issuers = registry.list_issuers()
        emit(args, "\n".join(f"{i.slug}\t{i.did}\t{i.name}" for i in issuers),
             [issuer_view(registry, i) for i in issuers])
    elif command == "did":
        document = registry.did_document(args.slug)
        emit(args, json.dumps(document, indent=2), document)
    elif command == "keys" and action == "rotate":
        written(args, registry.rotate_key(args.slug, actor=who))
    elif command == "keys" and action == "compromise":
        since = parse_datetimez(args.since, "--since")
        written(args, registry.report_key_compromise(
            args.slug, verification_method=args.key, since=since, actor=who))
    elif command == "achievement":
        return achievement(registry, args, action, who)
    elif command == "issue":
        return issue(registry, args, who)
    elif command in ("revoke", "suspend", "reinstate"):
        use_case = getattr(registry, f"{command}_credential")
        written(args, use_case(args.credential_id, reason=args.reason, actor=who))
    elif command == "credential":
        credential = registry.credential(args.credential_id)
        document = json.loads(credential.document)
        emit(args, credential.document, {"id": str(credential.id), "status": credential.status,
                                         "reason": credential.reason, "document": document})
    elif command == "endorse":
        written(args, registry.endorse(by=args.by, subject=args.subject, comment=args.comment,
                                       actor=who), args.out)
    elif command == "endorsement" and action == "submit":
        written(args, registry.submit_endorsement(read_text(args.file), actor=who))
    elif command == "endorsement" and action == "withdraw":
        written(args, registry.withdraw_endorsement(args.id, reason=args.reason, actor=who))
    elif command == "verify":
        return verify(registry, args)
    elif command == "export":
        out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout
        try:
            for event in registry.export_events():
                out.write(json.dumps(event, ensure_ascii=False) + "\n")
        finally:
            if args.out:
                out.close()
    return 0


def achievement(registry: Registry, args, action: str, who: str) -> int:
    if action == "define":
        written(args, registry.define_achievement(
            issuer=args.issuer, definition=definition(args), requires=args.requires or [], actor=who))
    elif action == "revise":
        current = json.loads(registry.achievement(args.id).document)
        written(args, registry.revise_achievement(
            args.id, definition=definition(args, current), requires=args.requires,
            actor=who))
    elif action == "retire":
        written(args, registry.retire_achievement(args.id, reason=args.reason, actor=who))
    elif action == "show":
        found = registry.achievement(args.id)
        text = found.document if args.version is None else found.version_document(args.version)
        document = json.loads(text)
        emit(args, json.dumps(document, indent=2, ensure_ascii=False), document)
    elif action == "list":
        found = registry.list_achievements(args.issuer)
        emit(args, "\n".join(f"{a.id}\tv{a.current_version}\t{'retired ' if a.retired_at else ''}{a.name}" for a in found),
             [{"id": str(a.id), "name": a.name, "version": a.current_version,
               "retired": a.retired_at is not None, "requires": [str(r) for r in a.requires]} for a in found])
    return 0


def issue(registry: Registry, args, who: str) -> int:
    if args.batch:
        if args.achievement or args.recipient:
            raise DocumentError("--batch takes recipients and achievements from the file only")
        result = registry.issue_batch(parse_batch_csv(read_text(args.batch)), actor=who)
        if args.out:
            Path(args.out).write_text(json.dumps(result.documents, ensure_ascii=False, indent=2) + "\n")
        emit(args, "\n".join(result.ids), {"ids": result.ids, "position": result.position,
                                           "documents": result.documents})
        return 0
    if not args.achievement or not args.recipient:
        raise DocumentError("issue needs --achievement and --recipient (or --batch FILE.csv)")
    valid_until = parse_datetimez(args.valid_until, "--valid-until") if args.valid_until else None
    written(args, registry.issue_credential(
        Award(args.recipient, args.achievement, args.result, valid_until, args.evidence),
        actor=who), args.out)
    return 0


def verify(registry: Registry, args) -> int:
    lists = load_status_lists(getattr(args, "status_list", None) or [])
    all_valid = True
    for path in args.files:
        try:
            report = registry.verify_document(read_json(path), lists)
            valid, checks = report.valid, report.checks
            data = {"file": path, **msgspec.to_builtins(report)}
            failed = [f"{c.name}: {c.reason}" for c in checks if c.outcome == "fail"]
            line = f"VALID {path}" if valid else f"INVALID {path}: {'; '.join(failed)}"
        except DocumentError as exc:
            valid, data = False, {"file": path, "valid": False, "error": str(exc)}
            line = f"INVALID {path}: {exc}"
        all_valid &= valid
        emit(args, line, data)
    return 0 if all_valid else 1
