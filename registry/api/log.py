"""The transparency log over HTTP: C2SP tlog-tiles under /log/ (checkpoint, tiles, entry bundles),
plus the log key, inclusion and consistency proofs, and a credential's receipt."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from registry.api.http import READ_PROBLEMS
from registry.domain import NotFound
from registry.errors import InputError
from registry.log.tiles import TileError, parse_tile_path
from registry.log.tree import ProofError
from registry.projections import Queries

IMMUTABLE = "public, max-age=31536000, immutable"
CHECKPOINT_CACHE = "no-cache, max-age=0"  # mutable: a client must see a new checkpoint at once
OCTETS = "application/octet-stream"


def _log(queries: Queries):
    queries.fresh()
    return queries.log


@get("/log/checkpoint", sync_to_thread=True, responses=READ_PROBLEMS, tags=["log"], media_type="text/plain",
     summary="The latest signed checkpoint (C2SP tlog-checkpoint as a signed note)")
def checkpoint(queries: NamedDependency[Queries]) -> Response[str]:
    latest = _log(queries).latest()
    return Response(latest.note, media_type="text/plain; charset=utf-8", headers={"Cache-Control": CHECKPOINT_CACHE})


@get("/log/tile/{path:path}", sync_to_thread=True, responses=READ_PROBLEMS, tags=["log"], media_type=OCTETS,
     summary="A tile (tile/<L>/<N>[.p/<W>]) or an entry bundle (tile/entries/<N>[.p/<W>]) of the log",
     description="Full tiles and bundles are immutable; partial ones are served only up to the latest "
                 "checkpoint. Entry bundles are big-endian uint16 length-prefixed entries: lines of "
                 "`registry export`.")
def tile(queries: NamedDependency[Queries], path: FromPath[str]) -> Response[bytes]:
    try:
        level, n, width = parse_tile_path(path.lstrip("/"))
    except TileError as exc:
        raise InputError("path", str(exc)) from None
    data = _log(queries).tile(level, n, width)
    cache = IMMUTABLE if width == 256 else "public, max-age=60"
    return Response(data, media_type=OCTETS, headers={"Cache-Control": cache})


@get("/log/key", sync_to_thread=True, responses=READ_PROBLEMS, tags=["log"],
     summary="The log's note verifier key and its origin")
def key(queries: NamedDependency[Queries]) -> dict[str, Any]:
    verifier = _log(queries).key()
    return {"key": verifier.vkey, "origin": verifier.name}


@get("/log/status", sync_to_thread=True, responses=READ_PROBLEMS, tags=["log"],
     summary="The latest checkpoint's size and time, and the last refusal to sign, if any")
def status(queries: NamedDependency[Queries]) -> dict[str, Any]:
    log = _log(queries)
    latest = log.reader.latest()
    problem = log.problem()
    return {"size": 0 if latest is None else latest.size, "signed_at": None if latest is None else latest.signed_at,
            "refused": None if problem is None else {"reason": problem[0], "at": problem[1]}}


Size = Annotated[int | None, QueryParameter(ge=0, description="tree size; default the latest checkpoint's")]


@get("/log/proof/inclusion", sync_to_thread=True, responses=READ_PROBLEMS, tags=["log"],
     summary="RFC 9162 inclusion proof of a leaf")
def inclusion(queries: NamedDependency[Queries], index: Annotated[int, QueryParameter(ge=0)],
              size: Size = None) -> dict[str, Any]:
    found = _proof(lambda: _log(queries).inclusion(index, size))
    return {"index": found.index, "size": found.size, "hashes": [base64.b64encode(h).decode() for h in found.hashes]}


@get("/log/proof/consistency", sync_to_thread=True, responses=READ_PROBLEMS, tags=["log"],
     summary="RFC 9162 consistency proof between two tree sizes")
def consistency(queries: NamedDependency[Queries], old: Annotated[int, QueryParameter(name="from", ge=0)],
                to: Size = None) -> dict[str, Any]:
    first, second, hashes = _proof(lambda: _log(queries).consistency(old, to))
    return {"from": first, "to": second, "hashes": [base64.b64encode(h).decode() for h in hashes]}


@get("/credentials/{credential_id:str}/receipt", sync_to_thread=True, responses=READ_PROBLEMS, tags=["log"],
     summary="An offline-verifiable receipt: signed checkpoint, index, inclusion proof and log entry")
def receipt(queries: NamedDependency[Queries], credential_id: FromPath[str]) -> dict[str, Any]:
    from uuid import UUID

    try:
        aggregate = UUID(credential_id.removeprefix("urn:uuid:"))
    except ValueError:
        raise InputError("credential_id", f"not a credential id: {credential_id!r}") from None
    log = _log(queries)
    found = log.inclusion_of(aggregate)
    if found is None:
        raise NotFound(f"{credential_id} is not in a signed checkpoint of this registry's log")
    return found.receipt(log.key().vkey)


def _proof(ask):
    try:
        return ask()
    except ProofError as exc:
        raise InputError("index", str(exc)) from None


HANDLERS = [checkpoint, tile, key, status, inclusion, consistency, receipt]
