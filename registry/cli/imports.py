"""`registry credential import FILE|URL...`: credentials other platforms issued, verified and
recorded with their provenance (see registry.commands.imports), in one transaction."""

from __future__ import annotations

from pathlib import Path

from registry.cli.output import actor, emit
from registry.cli.verify import given_documents
from registry.commands.backpack import MAX_EXPORT_BYTES
from registry.errors import InputError


def register(grammar, group) -> None:
    p = grammar.command("import", "verify badges other platforms issued (OB 3.0 JSON-LD or VC-JWT; OB 2.0 hosted "
                                  "or signed; baked PNG/SVG; a backpack export: zip or JSON list; a file or an "
                                  "https URL) and record each with its provenance", run, group)
    p.add_argument("sources", nargs="+", metavar="FILE_OR_URL")
    p.add_argument("--document", action="append", default=[], metavar="URL=FILE",
                   help="use FILE as the document at URL instead of fetching it (the credential itself, a DID "
                        "document, a status list); repeatable")
    p.add_argument("--unverified", action="store_true",
                   help="record a credential that does not verify, explicitly as not verified, instead of refusing it")
    p.add_argument("--reissue", action="store_true",
                   help="also re-issue each OB 2.0 badge as an OB 3.0 credential signed by the organisation that "
                        "proved control of its issuer Profile (registry issuer prove-ob2)")


def prove_ob2_command(grammar, group) -> None:
    p = grammar.command("prove-ob2", "record that an organisation controls an OB 2.0 issuer Profile (a Badgr, "
                                     "Open Badge Factory or Moodle issuer URL): the Profile must carry "
                                     "badge-registry-claim=<the organisation's DID>, or --signed-claim verifies "
                                     "with a key it lists", prove_ob2, group)
    p.add_argument("slug")
    p.add_argument("profile_url", metavar="PROFILE_URL")
    p.add_argument("--signed-claim", metavar="FILE",
                   help='a JWS (RS256) over {"claim": DID, "profile": PROFILE_URL} signed with a key the Profile lists')
    p.add_argument("--document", action="append", default=[], metavar="URL=FILE",
                   help="use FILE as the document at URL instead of fetching it; repeatable")


def prove_ob2(registry, args) -> int:
    claim = None
    if args.signed_claim:
        claim = Path(args.signed_claim).read_text(encoding="utf-8") if Path(args.signed_claim).is_file() else None
        if claim is None:
            raise InputError(args.signed_claim, "no such file")
    done = registry.commands.imports.prove_profile(args.slug, args.profile_url, actor=actor(), signed_claim=claim,
                                                   documents=given_documents(args.document, []))
    emit(args, f"{args.slug} controls {args.profile_url}", {"id": done.id, "slug": args.slug,
                                                             "profile": args.profile_url, "position": done.position})
    return 0


def run(registry, args) -> int:
    documents = given_documents(args.document, [])
    items = [(registry.queries.fetch_credential(source, documents) if source.startswith(("https://", "http://"))
              else _read(source), source) for source in args.sources]
    results = []
    # One transaction: all of them (a backpack export: every badge in it), or (a refusal naming its
    # source) none.
    for done in registry.commands.imports.import_credentials(
            items, documents=documents, unverified=args.unverified, actor=actor()):
        found = registry.queries.imported(done.id)
        results.append({"id": done.id, "credential_id": found.credential_id, "verdict": found.verdict,
                        "unverified": found.unverified, "source": found.source, "position": done.position})
    if args.reissue:
        for result in results:
            if registry.queries.imported(result["id"]).format.startswith("ob2-"):
                result["reissued_as"] = registry.commands.imports.reissue(result["id"], actor=actor()).id
    emit(args, "\n".join(f"{r['id']}\t{r['verdict']}\t{r['credential_id']}"
                          + (f"\treissued as {r['reissued_as']}" if r.get("reissued_as") else "") for r in results), results)
    return 0


def _read(path: str) -> bytes:
    file = Path(path)
    if not file.is_file():
        raise InputError(path, "no such file")
    if file.stat().st_size > MAX_EXPORT_BYTES:
        raise InputError(path, f"larger than {MAX_EXPORT_BYTES // (1024 * 1024)} MiB: no badge or backpack export is")
    return file.read_bytes()
