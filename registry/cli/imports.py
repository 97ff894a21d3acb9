"""`registry credential import FILE|URL...`: credentials other platforms issued, verified and
recorded with their provenance (see registry.commands.imports), in one transaction."""

from __future__ import annotations

from pathlib import Path

from registry.cli.output import actor, emit
from registry.cli.verify import given_documents
from registry.commands import MAX_IMPORT_BYTES
from registry.errors import InputError
from registry.vc import baking


def register(grammar, group) -> None:
    p = grammar.command("import", "verify credentials other platforms issued (OB 3.0 JSON-LD, VC-JWT, baked "
                                  "PNG/SVG; a file or an https URL) and record each with its provenance", run, group)
    p.add_argument("sources", nargs="+", metavar="FILE_OR_URL")
    p.add_argument("--document", action="append", default=[], metavar="URL=FILE",
                   help="use FILE as the document at URL instead of fetching it (the credential itself, a DID "
                        "document, a status list); repeatable")
    p.add_argument("--unverified", action="store_true",
                   help="record a credential that does not verify, explicitly as not verified, instead of refusing it")


def run(registry, args) -> int:
    documents = given_documents(args.document, [])
    items = [(registry.queries.fetch_credential(source, documents) if source.startswith(("https://", "http://"))
              else _read(source), source) for source in args.sources]
    results = []
    # One transaction: all of them, or (a refusal naming its source) none.
    for (_, source), done in zip(items, registry.commands.imports.import_credentials(
            items, documents=documents, unverified=args.unverified, actor=actor())):
        found = registry.queries.imported(done.id)
        results.append({"id": done.id, "credential_id": found.credential_id, "verdict": found.verdict,
                        "unverified": found.unverified, "source": source, "position": done.position})
    emit(args, "\n".join(f"{r['id']}\t{r['verdict']}\t{r['credential_id']}" for r in results), results)
    return 0


def _read(path: str) -> bytes:
    file = Path(path)
    if not file.is_file():
        raise InputError(path, "no such file")
    limit = MAX_IMPORT_BYTES + baking.MAX_IMAGE_BYTES
    if file.stat().st_size > limit:
        raise InputError(path, f"larger than {limit} bytes: no credential is")
    return file.read_bytes()
