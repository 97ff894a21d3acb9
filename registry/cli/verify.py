"""`registry verify FILE...`: one line per document: VALID, INVALID with the failed checks, or
INDETERMINATE with what could not be checked. Exit 0 when all are VALID, 1 when one is INVALID,
3 when none is INVALID but one is INDETERMINATE."""

from __future__ import annotations

from pathlib import Path

from registry.cli.output import emit, parse_json, read_json
from registry.errors import InputError
from registry.network import MAX_BYTES
from registry.commands import MAX_DOCUMENT_BYTES
from registry.vc import baking, vc_jwt
from registry.vc.errors import DocumentError
from registry.vc.status_list import MIN_ENTRIES

INVALID, INDETERMINATE = 1, 3


def register(grammar) -> None:
    p = grammar.command("verify", "verify credentials and endorsements, one line each "
                                  "(exit 0 VALID, 1 INVALID, 3 INDETERMINATE)", verify)
    p.add_argument("files", nargs="+")
    p.add_argument("--offline", action="store_true",
                   help="fetch nothing: what needs a DID document or status list from elsewhere is INDETERMINATE")
    p.add_argument("--document", action="append", default=[], metavar="URL=FILE",
                   help="use FILE as the document at URL instead of fetching it (a DID document, a status "
                        "list, a revocation list); repeatable")
    p.add_argument("--status-list", action="append", default=[], metavar="FILE",
                   help=f"a BitstringStatusListCredential (at least {MIN_ENTRIES} entries), used for the URL "
                        "its id names; repeatable")
    p.add_argument("--recipient", metavar="EMAIL_OR_DID",
                   help="also check that the credential was issued to this e-mail address (hashed or "
                        "plain identifier) or DID")


def verify(registry, args) -> int:
    documents = given_documents(args.document, args.status_list)
    worst = 0
    for path in args.files:
        try:
            report = registry.queries.verify(read_credential(path), documents, recipient=args.recipient,
                                             offline=args.offline)
            data = {"file": path, **report.to_dict()}
            if report.verdict == "VALID":
                line = f"VALID {path}"
            elif report.verdict == "INVALID":
                line = f"INVALID {path}: {'; '.join(f'{c.name}: {c.reason}' for c in report.failures)}"
            else:
                line = f"INDETERMINATE {path}: {'; '.join(f'{c.name}: {c.reason}' for c in report.unanswered)}"
            said = what(report.summary)
            if said:
                line += f" \u2014 {said}"
            code = {"VALID": 0, "INVALID": INVALID, "INDETERMINATE": INDETERMINATE}[report.verdict]
        except (DocumentError, InputError) as exc:
            data = {"file": path, "valid": False, "verdict": "INVALID", "error": str(exc)}
            line, code = f"INVALID {path}: {exc}", INVALID
        worst = INVALID if INVALID in (worst, code) else max(worst, code)
        emit(args, line, data)
    return worst


def read_credential(path: str) -> object:
    """A credential file: JSON, a VC-JWT (a compact JWS, as OB 3.0's JSON Web Token Proof Format
    writes it), or a baked badge image (PNG or SVG, OB 3.0 section 5.3) carrying either."""
    raw = _read_image_or_text(path)
    if baking.kind_of(raw) is not None:
        try:
            text = baking.unbake(raw).text  # BakingError: one line, "the PNG holds no credential ..."
        except baking.BakingError as exc:
            raise DocumentError(str(exc)) from None  # printed after the file's name
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(path, "not UTF-8 text, and not a PNG or SVG image") from None
    return text.strip() if vc_jwt.is_compact(text) else parse_json(text, path)


def _read_image_or_text(path: str) -> bytes:
    file = Path(path)
    if not file.is_file():
        raise InputError(path, "no such file")
    if file.stat().st_size > baking.MAX_IMAGE_BYTES:
        raise InputError(path, f"larger than {baking.MAX_IMAGE_BYTES} bytes")
    raw = file.read_bytes()
    if baking.kind_of(raw) is None and len(raw) > MAX_DOCUMENT_BYTES:
        raise InputError(path, f"larger than {MAX_DOCUMENT_BYTES} bytes")
    return raw


def given_documents(pairs: list[str], status_lists: list[str]) -> dict[str, bytes]:
    """URL -> the bytes given for it: --document URL=FILE, and --status-list FILE under its id."""
    documents: dict[str, bytes] = {}
    for pair in pairs:
        url, equals, path = pair.partition("=")
        if not equals or not url.startswith(("https://", "http://")) or not path:
            raise InputError("--document", f"{pair!r} is not URL=FILE")
        documents[url] = _read_bytes(path)
    for path in status_lists:
        document = read_json(path, MAX_BYTES)
        if not isinstance(document, dict) or not isinstance(document.get("id"), str):
            raise DocumentError(f"{path}: a status list credential is a JSON object with an id")
        if document["id"] in documents:
            raise DocumentError(f"{path}: a second document for {document['id']}")
        documents[document["id"]] = _read_bytes(path)
    return documents


def _read_bytes(path: str) -> bytes:
    file = Path(path)
    if not file.is_file():
        raise InputError(path, "no such file")
    if file.stat().st_size > MAX_BYTES:
        raise InputError(path, f"larger than {MAX_BYTES} bytes")
    return file.read_bytes()


def what(summary) -> str:
    """What was verified, in a few words: the badge, who issued it to whom, then when and the result."""
    if summary is None:
        return ""
    who = []
    if summary.name:
        who.append(f'"{summary.name}"')
    if summary.issuer_id:
        who.append(f"from {summary.issuer_name} ({summary.issuer_id})" if summary.issuer_name
                   else f"from {summary.issuer_id}")
    if summary.recipient:
        who.append(f"to {summary.recipient}")
    if summary.subject:
        who.append(f"endorsing {summary.subject}")
    facts = [f"issued {summary.issued}"] if summary.issued else []
    if summary.results:
        facts.append(f"result {', '.join(summary.results)}")
    return ", ".join(filter(None, [" ".join(who), *facts]))
