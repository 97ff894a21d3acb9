"""Credentials other platforms issued: POST /imports verifies one and records it with its
provenance (registry.commands.imports); GET /imports and /imports/{id} read them back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import anyio
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from registry.access import Access
from registry.api.http import READ_PROBLEMS, WRITES, Write
from registry.api.issuers import Cursor, Limit, written
from registry.api.schemas import BatchOut, ImportOut, ImportPage, LegacyProfileProof, WrittenOut
from registry.commands import MAX_IMPORT_BYTES, Commands
from registry.commands.backpack import MAX_EXPORT_BYTES
from registry.projections import ImportView, Queries
from registry.vc.baking import MAX_IMAGE_BYTES


def import_out(found: ImportView, original: str | None = None) -> ImportOut:
    return ImportOut(id=found.id, credential_id=found.credential_id, format=found.format, baked=found.baked,
                     source=found.source, issuer=found.issuer, name=found.name, verdict=found.verdict,
                     unverified=found.unverified, checks=found.checks,
                     imported_at=datetime.fromisoformat(found.imported_at),
                     original=original, reissued_as=found.reissued_as)


@post("/imports", **WRITES, status_code=201, tags=["imports"], request_max_body_size=MAX_IMPORT_BYTES + MAX_IMAGE_BYTES,
      summary="Import a credential another platform issued: verified, then recorded with its provenance",
      description="The body is the credential exactly as it came: OB 3.0 JSON-LD with a Data Integrity proof, "
                  "a VC-JWT (the compact JWS as text), an OB 2.0 assertion (its JSON, a signed JWS, or a "
                  "hosted assertion's URL), or any of them baked into a PNG or SVG. It is verified like POST /verify "
                  "(documents it names are fetched); not VALID, it is refused with the reason unless "
                  "?unverified=true records it explicitly as not verified. The same bytes again answer the "
                  "first import; other bytes under the same credential id are refused (409).")
async def import_credential(
    request: Request, write: NamedDependency[Write], commands: NamedDependency[Commands],
    source: Annotated[str, QueryParameter(description="where it came from (a URL, a file name)", max_length=2048)] = "upload",
    unverified: Annotated[bool, QueryParameter(description="record it even if it does not verify")] = False,
) -> Response[WrittenOut]:
    data = await request.body()
    return await write(lambda: written(commands.imports.import_credential(
        data, source=source, unverified=unverified, actor=write.actor)), status=201)


@post("/imports/export", **WRITES, status_code=201, tags=["imports"], request_max_body_size=MAX_EXPORT_BYTES,
      summary="Import a backpack export: every badge in it, verified, in one transaction (all or none)",
      description="The body is a zip archive of badges (.json, .jws, .jwt, .txt, .png, .svg), a JSON list of "
                  "assertions, credentials, JWSs or hosted-assertion URLs, or Badgr's API v2 answer "
                  "({\"result\": [...]} with each openBadgeId). At most 1000 badges; a zip bomb, an encrypted "
                  "or nested archive is refused before anything is inflated. One refusal names its member "
                  "and nothing is imported.")
async def import_export(
    request: Request, write: NamedDependency[Write], commands: NamedDependency[Commands],
    source: Annotated[str, QueryParameter(description="the export's name", max_length=2048)] = "export",
    unverified: Annotated[bool, QueryParameter(description="record badges even if they do not verify")] = False,
) -> Response[BatchOut]:
    data = await request.body()

    def run() -> BatchOut:
        done = commands.imports.import_credentials([(data, source)], unverified=unverified, actor=write.actor)
        return BatchOut(ids=[d.id for d in done], position=max(d.position for d in done), documents=[])

    return await write(run, status=201)


@post("/imports/{ref:str}/reissue", **WRITES, status_code=201, tags=["imports"],
      summary="Re-issue an imported OB 2.0 badge as an OB 3.0 credential of the organisation that proved "
              "control of its issuer Profile",
      description="Its BadgeClass becomes (once) an Achievement with the same name, description, criteria, "
                  "alignments, tags and image; issuedOn becomes validFrom and expires validUntil; evidence and "
                  "narrative are kept, and the original assertion is one more Evidence entry. The answer is "
                  "the new credential; asking again answers the same one.")
async def reissue_import(write: NamedDependency[Write], commands: NamedDependency[Commands],
                         ref: FromPath[str]) -> Response[WrittenOut]:
    return await write(lambda: written(commands.imports.reissue(ref, actor=write.actor)), status=201)


@post("/issuers/{slug:str}/ob2-profiles", **WRITES, status_code=201, tags=["imports"],
      summary="Prove that an organisation controls an OB 2.0 issuer Profile (a Badgr, Open Badge Factory or "
              "Moodle issuer URL)",
      description="The Profile, fetched from its URL now, must carry badge-registry-claim=<the organisation's "
                  "DID> in a text value such as its description; or signed_claim, a JWS (RS256) over "
                  "{\"claim\": DID, \"profile\": url}, must verify with a key the Profile lists and owns. One "
                  "organisation per Profile. Then its badges import as the organisation's and re-issue with its key.")
async def prove_profile(write: NamedDependency[Write], commands: NamedDependency[Commands], slug: FromPath[str],
                        data: JSONBody[LegacyProfileProof]) -> Response[WrittenOut]:
    return await write(lambda: written(commands.imports.prove_profile(
        slug, data.url, actor=write.actor, signed_claim=data.signed_claim)), status=201)


@get("/imports", sync_to_thread=True, tags=["imports"], responses=READ_PROBLEMS,
     summary="Imported credentials, in the order they were imported (of one organisation with ?issuer=)")
def list_imports(queries: NamedDependency[Queries],
                 issuer: Annotated[str | None, QueryParameter(description="an organisation: slug, id or DID")] = None,
                 limit: Limit = 50, cursor: Cursor = None) -> ImportPage:
    page = queries.imports(issuer=issuer, after=cursor, limit=limit)
    return ImportPage(items=[import_out(i) for i in page.items], next_cursor=page.next_cursor)


@get("/imports/{ref:str}", tags=["imports"], responses=READ_PROBLEMS,
     summary="One imported credential: its provenance and what was checked at import; the original as it "
             "came to the operator and the organisation it belongs to",
     description="The original may name its recipient in plain (an OB 2.0 assertion often carries the "
                 "e-mail address), so it is in the answer only for a request with the operator's API key or "
                 "that of the organisation that issued it (Authorization: Bearer).")
async def show_import(request: Request, queries: NamedDependency[Queries], access: NamedDependency[Access],
                      ref: FromPath[str]) -> ImportOut:
    def answer() -> ImportOut:
        found = queries.imported(ref)
        return import_out(found, queries.imported_original(found.id) if _may_see_original(request, access, queries, found)
                          else None)

    return await anyio.to_thread.run_sync(answer)


def _may_see_original(request: Request, access: Access, queries: Queries, found: ImportView) -> bool:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return False
    principal = access.keys.authenticate(key.strip())
    if principal is None:
        return False
    if principal.admin:
        return True
    return found.issuer_id is not None and principal.issuer is not None and \
        str(queries.issuer(principal.issuer).id) == found.issuer_id


HANDLERS = [import_credential, import_export, reissue_import, prove_profile, list_imports, show_import]
