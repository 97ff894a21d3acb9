"""Images and baked badges over HTTP.

- `POST /images` (API key): the body is the image itself (PNG or SVG, judged by its bytes, at most
  512 KiB); the answer names the URL to give as an achievement's or organisation's image.
- `GET /images/{sha256}.{png|svg}`: content-addressed, so cached forever (immutable) with a strong
  ETag; `nosniff`, and an SVG is served under a policy that lets nothing in it run or load.
- `GET /credentials/{id}/baked.png|svg`: the credential's badge image with the signed credential
  baked in (OB 3.0 section 5.3), as a download."""

from __future__ import annotations

import anyio.to_thread
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath

from registry.api.http import IMMUTABLE, READ_PROBLEMS, WRITES, Write, etag_of, none_match
from registry.commands import Commands, StoredImageOut
from registry.domain import NotFound
from registry.projections import Queries
from registry.vc.images import MAX_BYTES

SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'"
BAKED_CACHE = "public, max-age=300"


def image_response(request: Request, data: bytes, media_type: str, etag: str, cache_control: str,
                   extra: dict[str, str] | None = None) -> Response:
    headers = {"ETag": etag, "Cache-Control": cache_control, "X-Content-Type-Options": "nosniff", **(extra or {})}
    if media_type == "image/svg+xml":
        headers["Content-Security-Policy"] = SVG_POLICY
    if none_match(request.headers.get("if-none-match"), etag):
        return Response(content=b"", status_code=304, headers=headers, media_type=media_type)
    return Response(content=data, status_code=200, headers=headers, media_type=media_type)


@post("/images", **WRITES, status_code=201, tags=["images"], request_max_body_size=MAX_BYTES + 1,
      summary="Store an image (PNG or SVG, at most 512 KiB): the answer's url names it",
      description="The body is the image's bytes (Content-Type image/png or image/svg+xml). PNG: checked "
                  "chunk by chunk, at most 2048x2048 pixels. SVG: refused with the reason if it has a script, "
                  "foreignObject, event handler, a reference outside itself, a DOCTYPE or entities. Storing "
                  "the same bytes again answers the same URL.")
async def add_image(request: Request, write: NamedDependency[Write],
                    commands: NamedDependency[Commands]) -> Response[StoredImageOut]:
    data = await request.body()
    return await write(lambda: commands.images.add(data, actor=write.actor), status=201)


@get("/images/{name:str}", sync_to_thread=True,
       tags=["images"], responses={**READ_PROBLEMS, 200: ResponseSpec(data_container=bytes, media_type="image/png",
                                                                        description="the image (PNG or SVG)")},
       summary="A stored image by its SHA-256: /images/<sha256>.png or .svg (immutable)")
def get_image(request: Request, queries: NamedDependency[Queries], name: FromPath[str]) -> Response:
    sha, _, extension = name.partition(".")
    found = queries.image(sha.lower()) if extension in ("png", "svg") else None
    if found is None or found.extension != extension:
        raise NotFound(f"no image {name[:100]}")
    return image_response(request, found.data, found.media_type, f'"{found.sha256}"', IMMUTABLE)


@get(["/credentials/{credential_id:str}/baked.png", "/credentials/{credential_id:str}/baked.svg"],
       tags=["credentials"], responses={**READ_PROBLEMS, 200: ResponseSpec(
           data_container=bytes, media_type="image/png", description="the baked image, as an attachment")},
       summary="The credential baked into its badge image (OB 3.0 5.3): baked.png or baked.svg")
async def baked(request: Request, credential_id: FromPath[str]) -> Response:
    kind = "png" if request.url.path.endswith(".png") else "svg"
    queries: Queries = request.app.state.queries
    found_id, data = await anyio.to_thread.run_sync(queries.baked, credential_id, kind)
    media_type = "image/png" if kind == "png" else "image/svg+xml"
    return image_response(request, data, media_type, etag_of(data), BAKED_CACHE, {
        "Content-Disposition": f'attachment; filename="badge-{found_id}.{kind}"'})


HANDLERS = [add_image, get_image, baked]
