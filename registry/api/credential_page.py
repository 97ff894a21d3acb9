"""A credential's public address, `GET /credentials/{id}`, negotiated on Accept: a browser
(text/html preferred) gets the credential's page (registry/api/pages/credential.py), everything
else the signed credential exactly as it was logged (application/ld+json, or application/json
when that is what was asked for), `Vary: Accept` either way. An unknown id is a 404 page for a
browser and an RFC 9457 problem for a program. `/credentials/{id}/credential.json` is the same
JSON as a download."""

from __future__ import annotations

import anyio.to_thread
from litestar import Request, Response, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath
from litestar.response import Template

from registry.api.http import JSON, LD_JSON, READ_PROBLEMS, document_response
from registry.api.pages.credential import credential_html, wants_html
from registry.api.problems import problem_details
from registry.projections import Queries

DOCUMENT_CACHE = "public, max-age=300"  # the document never changes; the page's status does
RESPONSES = {
    200: ResponseSpec(data_container=dict, media_type=LD_JSON,
                      description="the signed OpenBadgeCredential as logged (text/html: its page for people)"),
    **READ_PROBLEMS,
}


def _document(request: Request, credential_id: str, media_type: str,
              disposition: str | None = None) -> Response:
    queries: Queries = request.app.state.queries
    found = queries.credential(credential_id)
    response = document_response(request, found.document, media_type, DOCUMENT_CACHE)
    response.headers["Vary"] = "Accept"
    if disposition:
        response.headers["Content-Disposition"] = disposition
    return response


@get("/credentials/{credential_id:str}", tags=["credentials"], responses=RESPONSES,
     summary="A credential: the signed JSON, or its page for people (Accept: text/html)",
     description="Content-negotiated on Accept (Vary: Accept). JSON is the document byte for byte as logged.")
async def credential_document(request: Request, credential_id: FromPath[str]) -> Response | Template:
    accept = request.headers.get("accept")
    if wants_html(accept):
        return await credential_html(request, request.app.state.queries, credential_id)
    wanted = (accept or "").lower()
    media_type = JSON if "application/json" in wanted and "ld+json" not in wanted else LD_JSON
    try:
        return await anyio.to_thread.run_sync(_document, request, credential_id, media_type)
    except Exception as exc:  # the RFC 9457 problem the API gives, negotiated like the answer
        response = problem_details(request, exc)
        response.headers["Vary"] = "Accept"
        return response


@get("/credentials/{credential_id:str}/credential.json", tags=["credentials"], responses=RESPONSES,
     summary="The signed credential as logged, as a download")
async def credential_download(request: Request, credential_id: FromPath[str]) -> Response:
    def answer() -> Response:
        response = _document(request, credential_id, LD_JSON)
        name = "".join(c for c in credential_id.lower()[-36:] if c in "0123456789abcdef-")
        response.headers["Content-Disposition"] = f'attachment; filename="credential-{name}.json"'
        return response

    return await anyio.to_thread.run_sync(answer)


HANDLERS = [credential_document, credential_download]
