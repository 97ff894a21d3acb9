"""`registry status-list SLUG [--list N]`: print an issuer's signed BitstringStatusListCredential.
Also gives `registry verify` its `--status-list FILE` option (list credentials a verifier holds)."""

from __future__ import annotations

import json
from pathlib import Path

from registry.vc.errors import DocumentError
from registry.vc.status_list import MIN_ENTRIES

# 131,072 random entries compress to about 22 KiB of base64url; larger lists are allowed, within reason.
MAX_LIST_CREDENTIAL_BYTES = 1024 * 1024


def add_commands(subparsers, command) -> None:
    p = command(subparsers, "status-list", "print an issuer's signed revocation status list credential")
    p.add_argument("slug")
    p.add_argument("--list", dest="list_number", type=int, default=1, metavar="N",
                   help="the list number (an issuer's lists are 1, 2, ...; default 1)")
    p.add_argument("--out", help="also write the signed list credential to this file")
    p.set_defaults(handler=show)
    subparsers.choices["verify"].add_argument(
        "--status-list", action="append", default=[], metavar="FILE",
        help=f"a BitstringStatusListCredential (at least {MIN_ENTRIES} entries) to check credentials' "
             "credentialStatus against; repeatable")


def show(registry, args) -> int:
    document = registry.status_list_credential(args.slug, args.list_number)
    text = json.dumps(document, ensure_ascii=False, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    print(json.dumps(document, ensure_ascii=False) if args.json else text)
    return 0


def load_status_lists(paths: list[str]) -> dict[str, dict]:
    """The list credentials given with --status-list, by their id (the URL entries point to)."""
    lists: dict[str, dict] = {}
    for path in paths:
        file = Path(path)
        if not file.is_file():
            raise DocumentError(f"{path}: no such file")
        if file.stat().st_size > MAX_LIST_CREDENTIAL_BYTES:
            raise DocumentError(f"{path}: larger than {MAX_LIST_CREDENTIAL_BYTES} bytes")
        try:
            document = json.loads(file.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DocumentError(f"{path}: not a JSON document: {exc}") from None
        if not isinstance(document, dict) or not isinstance(document.get("id"), str):
            raise DocumentError(f"{path}: a status list credential is a JSON object with an id")
        if document["id"] in lists:
            raise DocumentError(f"{path}: a second status list with id {document['id']}")
        lists[document["id"]] = document
    return lists
