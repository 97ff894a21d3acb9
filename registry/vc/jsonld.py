"""JSON-LD to canonical N-Quads (RDFC-1.0), over pinned contexts only.

This is the reference path through pyld. A faster expansion path may replace the internals,
but the public functions and their results must stay identical."""

from __future__ import annotations

from pyld import jsonld

from registry.vc import contexts
from registry.vc.errors import DocumentError, UnknownContextError


def _options(**extra) -> dict:
    return {"documentLoader": contexts.document_loader, **extra}


def _check_contexts(document: dict) -> None:
    ctx = document.get("@context")
    if ctx is None:
        raise DocumentError("document has no @context")
    for entry in ctx if isinstance(ctx, list) else [ctx]:
        if isinstance(entry, str) and not contexts.is_pinned(entry):
            contexts.load(entry)  # raises UnknownContextError with the precise message


def canonical_nquads(document: dict) -> str:
    """RDFC-1.0 canonical N-Quads of a JSON-LD document (every quad ends with a newline)."""
    _check_contexts(document)
    try:
        return jsonld.normalize(
            document, _options(algorithm="URDNA2015", format="application/n-quads")
        )
    except jsonld.JsonLdError as exc:
        cause = exc
        while cause is not None:
            if isinstance(cause, UnknownContextError):
                raise cause from None
            cause = getattr(cause, "cause", None) or cause.__cause__
        raise DocumentError(f"JSON-LD processing failed: {exc}") from exc
