"""JSON-LD extension contexts over HTTP.

- `POST /contexts` (an admin key: the registry's operator): pin an extension context, as `registry
  context add URL FILE` does; the body carries the document's exact text.
- `GET /contexts`: what is registered; `GET /contexts/{sha256 or URL}` (the URL percent-encoded):
  the pinned bytes themselves, immutable, so a verifier may load them instead of fetching the URL."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import unquote

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from registry.api.http import IMMUTABLE, LD_JSON, READ_PROBLEMS, WRITES, Write, document_response
from registry.api.schemas import ContextOut, ContextRegistration
from registry.commands import AddedContext, Commands
from registry.domain.extension_context import MAX_BYTES
from registry.projections import ContextView, Queries
from registry.settings import Config


def context_out(found: ContextView, config: Config) -> ContextOut:
    return ContextOut(url=found.url, sha256=found.sha256, href=f"{config.public_url}/contexts/{found.sha256}",
                      registered_at=datetime.fromisoformat(found.registered_at))


# The body is JSON: the document's text JSON-escaped may take up to twice its bytes.
@post("/contexts", **WRITES, status_code=201, tags=["contexts"], request_max_body_size=2 * MAX_BYTES + 4096,
      summary="Pin a JSON-LD extension context (registry admin)",
      description="A JSON-LD processor must accept it after VC 2.0, OB 3.0.3 and the OB extensions context, "
                  "without redefining their protected terms or naming a context that is not pinned; refused "
                  "(422) with its reason otherwise. The same URL again with the same bytes answers as before "
                  "(`added` false); other bytes under a registered URL are refused (409).")
async def add_context(write: NamedDependency[Write], commands: NamedDependency[Commands],
                      data: JSONBody[ContextRegistration]) -> Response[AddedContext]:
    return await write(lambda: commands.contexts.add(data.url, data.document.encode("utf-8"), sha256=data.sha256,
                                                     actor=write.actor), status=201)


@get("/contexts", sync_to_thread=True, responses=READ_PROBLEMS, tags=["contexts"],
     summary="The registered extension contexts")
def list_contexts(queries: NamedDependency[Queries], config: NamedDependency[Config]) -> list[ContextOut]:
    return [context_out(found, config) for found in queries.extension_contexts()]


@get("/contexts/{ref:path}", sync_to_thread=True, responses=READ_PROBLEMS, tags=["contexts"], media_type=LD_JSON,
     summary="A registered context's pinned bytes, by SHA-256 or by its URL percent-encoded")
def show_context(request: Request, queries: NamedDependency[Queries], ref: FromPath[str]) -> Response:
    # The router has decoded %2F and merged the URL's "//": the path as sent keeps the URL intact.
    raw = request.scope.get("raw_path")
    sent = raw.decode("latin-1").partition("/contexts/")[2] if raw else ref.lstrip("/")
    found = queries.extension_context(unquote(sent))
    return document_response(request, found.document, LD_JSON, IMMUTABLE)


HANDLERS = [add_context, list_contexts, show_context]
