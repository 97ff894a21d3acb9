"""`registry verify FILE...`: one line per document, VALID or INVALID with the failed checks."""

from __future__ import annotations

from registry.cli.output import emit, read_json
from registry.errors import InputError
from registry.vc.errors import DocumentError
from registry.vc.status_list import MIN_ENTRIES

# 131,072 random entries compress to about 22 KiB of base64url; larger lists are allowed, within reason.
MAX_LIST_CREDENTIAL_BYTES = 1024 * 1024


def register(grammar) -> None:
    p = grammar.command("verify", "verify credentials and endorsements, one line each", verify)
    p.add_argument("files", nargs="+")
    p.add_argument("--status-list", action="append", default=[], metavar="FILE",
                   help=f"a BitstringStatusListCredential (at least {MIN_ENTRIES} entries) to check "
                        "credentials' credentialStatus against; repeatable")
    p.add_argument("--recipient", metavar="EMAIL_OR_DID",
                   help="also check that the credential was issued to this e-mail address (hashed or "
                        "plain identifier) or DID")


def verify(registry, args) -> int:
    lists = status_lists(args.status_list)
    all_valid = True
    for path in args.files:
        try:
            report = registry.queries.verify(read_json(path), lists, recipient=args.recipient)
            valid = report.valid
            data = {"file": path, **report.to_dict()}
            failed = [f"{c.name}: {c.reason}" for c in report.failures]
            line = f"VALID {path}" if valid else f"INVALID {path}: {'; '.join(failed)}"
        except (DocumentError, InputError) as exc:
            valid, data = False, {"file": path, "valid": False, "error": str(exc)}
            line = f"INVALID {path}: {exc}"
        all_valid &= valid
        emit(args, line, data)
    return 0 if all_valid else 1


def status_lists(paths: list[str]) -> dict[str, dict]:
    """The list credentials given with --status-list, by their id (the URL entries point to)."""
    lists: dict[str, dict] = {}
    for path in paths:
        document = read_json(path, MAX_LIST_CREDENTIAL_BYTES)
        if not isinstance(document, dict) or not isinstance(document.get("id"), str):
            raise DocumentError(f"{path}: a status list credential is a JSON object with an id")
        if document["id"] in lists:
            raise DocumentError(f"{path}: a second status list with id {document['id']}")
        lists[document["id"]] = document
    return lists
