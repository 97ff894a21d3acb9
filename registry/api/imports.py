"""Credentials other platforms issued: POST /imports verifies one and records it with its
provenance (registry.commands.imports); GET /imports and /imports/{id} read them back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from registry.api.http import READ_PROBLEMS, WRITES, Write
from registry.api.issuers import Cursor, Limit, written
from registry.api.schemas import ImportOut, ImportPage, WrittenOut
from registry.commands import MAX_IMPORT_BYTES, Commands
from registry.projections import ImportView, Queries
from registry.vc.baking import MAX_IMAGE_BYTES


def import_out(found: ImportView, original: str | None = None) -> ImportOut:
    return ImportOut(id=found.id, credential_id=found.credential_id, format=found.format, baked=found.baked,
                     source=found.source, issuer=found.issuer, name=found.name, verdict=found.verdict,
                     unverified=found.unverified, checks=found.checks,
                     imported_at=datetime.fromisoformat(found.imported_at),
                     original=original)


@post("/imports", **WRITES, status_code=201, tags=["imports"], request_max_body_size=MAX_IMPORT_BYTES + MAX_IMAGE_BYTES,
      summary="Import a credential another platform issued: verified, then recorded with its provenance",
      description="The body is the credential exactly as it came: OB 3.0 JSON-LD with a Data Integrity proof, "
                  "a VC-JWT (the compact JWS as text), or a baked PNG or SVG. It is verified like POST /verify "
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


@get("/imports", sync_to_thread=True, tags=["imports"], responses=READ_PROBLEMS,
     summary="Imported credentials, in the order they were imported (of one organisation with ?issuer=)")
def list_imports(queries: NamedDependency[Queries],
                 issuer: Annotated[str | None, QueryParameter(description="an organisation: slug, id or DID")] = None,
                 limit: Limit = 50, cursor: Cursor = None) -> ImportPage:
    page = queries.imports(issuer=issuer, after=cursor, limit=limit)
    return ImportPage(items=[import_out(i) for i in page.items], next_cursor=page.next_cursor)


@get("/imports/{ref:str}", sync_to_thread=True, tags=["imports"], responses=READ_PROBLEMS,
     summary="One imported credential: its provenance, what was checked at import, and the original as it came")
def show_import(queries: NamedDependency[Queries], ref: FromPath[str]) -> ImportOut:
    found = queries.imported(ref)
    return import_out(found, queries.imported_original(found.id))


HANDLERS = [import_credential, list_imports, show_import]
