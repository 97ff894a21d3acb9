"""JSON-LD to canonical N-Quads (RDFC-1.0), over pinned contexts only, and undefined-term checks.

Fast path: registry.vc.expansion (lean expansion over active contexts pyld processed once) ->
registry.vc.rdf (pyld's dataset structure) -> registry.vc.canon (RDFC-1.0). Documents using
JSON-LD outside the fast path's subset go through pyld's `to_rdf` unchanged (the reference path)
and the same canonicalization, so the result is always exactly pyld's `normalize`."""

from __future__ import annotations

from pyld import jsonld

from registry.vc import contexts
from registry.vc.canon import canonize
from registry.vc.errors import DocumentError, UndefinedTermError, UnknownContextError
from registry.vc.expansion import Expansion
from registry.vc.jsonld_context import ISSUER_DEPENDENT, LOCK, Unsupported, is_absolute, is_keyword
from registry.vc.rdf import dataset

def _check_contexts(document: dict) -> None:
    if not isinstance(document, dict):
        raise DocumentError("a JSON-LD document must be a JSON object")
    ctx = document.get("@context")
    if ctx is None:
        raise DocumentError("document has no @context")
    for entry in ctx if isinstance(ctx, list) else [ctx]:
        if isinstance(entry, str) and not contexts.is_pinned(entry):
            contexts.load(entry)  # raises UnknownContextError with the precise message


def _unknown_context_cause(exc: BaseException) -> UnknownContextError | None:
    cause = exc
    while cause is not None:
        if isinstance(cause, UnknownContextError):
            return cause
        cause = getattr(cause, "cause", None) or cause.__cause__
    return None


def reference_nquads(document: dict) -> str:
    """pyld's own `to_rdf` over the pinned contexts, canonicalized: the slow path. (pyld's
    `normalize` is to_rdf and URDNA2015; registry.vc.canon bounds the latter's work.)"""
    _check_contexts(document)
    try:
        with LOCK:  # pyld's shared context caches are not thread safe
            graphs = jsonld.to_rdf(document, {"documentLoader": contexts.document_loader})
    except jsonld.JsonLdError as exc:
        unknown = _unknown_context_cause(exc)
        if unknown is not None:
            raise unknown from None
        raise DocumentError(f"JSON-LD processing failed: {exc}") from exc
    return canonize(graphs)


def fast_dataset(document: dict) -> dict:
    """The RDF dataset (pyld's structure) of a document, by the fast path only.
    Raises Unsupported when the document needs the reference path."""
    try:
        return dataset(Expansion().document(document))
    except Unsupported as exc:
        unknown = _unknown_context_cause(exc)
        if unknown is not None:
            raise unknown from None
        raise


def canonical_nquads(document: dict) -> str:
    """RDFC-1.0 canonical N-Quads of a JSON-LD document (every quad ends with a newline)."""
    _check_contexts(document)
    try:
        quads = fast_dataset(document)
    except Unsupported:
        return reference_nquads(document)
    return canonize(quads)


def canonical_form(document: dict) -> tuple[str, list[str]]:
    """canonical_nquads and undefined_terms from one expansion: signing and verifying need both,
    and expansion is most of the cost of either."""
    _check_contexts(document)
    found: list[str] = []
    try:
        quads = dataset(Expansion(report=found).document(document))
    except Unsupported as exc:
        unknown = _unknown_context_cause(exc)
        if unknown is not None:
            raise unknown from None
        return reference_nquads(document), _TermWatcher().undefined(document)
    return canonize(quads), found


def undefined_error(terms: list[str]) -> UndefinedTermError:
    return UndefinedTermError(f"terms not defined by the pinned contexts: {', '.join(terms)}")


def undefined_terms(document: dict) -> list[str]:
    """Paths of keys the pinned contexts do not define: dropped by expansion, or given an IRI
    only by the issuer-dependent @vocab catch-all (which later VC 2.0 context copies carry)."""
    _check_contexts(document)
    found: list[str] = []
    try:
        Expansion(report=found).document(document)
    except Unsupported as exc:
        unknown = _unknown_context_cause(exc)
        if unknown is not None:
            raise unknown from None
        return _TermWatcher().undefined(document)
    return found


class _TermWatcher(jsonld.JsonLdProcessor):
    """Undefined-term detection for documents outside the fast subset, through pyld's own
    expansion. It cannot tell paths, so it reports bare keys (for a key pyld cannot even
    expand to a relative IRI, such as `@foo`, the dropped-key hook gets nothing to name)."""

    def __init__(self):
        super().__init__(on_property_dropped=self._dropped)
        self.found: list[str] = []

    def _dropped(self, iri) -> None:
        self._note(iri if isinstance(iri, str) else "<unnamed key>")

    def _note(self, key: str) -> None:
        if key not in self.found:
            self.found.append(key)

    def _expand_iri(self, active_ctx, value, base=None, vocab=False, local_ctx=None, defined=None):
        iri = super()._expand_iri(active_ctx, value, base, vocab, local_ctx, defined)
        # keys are expanded with vocab and without a base; an IRI built from @vocab + key
        # means no term defines the key
        if (
            vocab and base is None and local_ctx is None and isinstance(value, str)
            and not is_keyword(value) and value not in active_ctx["mappings"]
            and active_ctx.get("@vocab") == ISSUER_DEPENDENT and iri == ISSUER_DEPENDENT + value
        ):
            self._note(value)
        return iri

    def undefined(self, document: dict) -> list[str]:
        try:
            with LOCK:
                self.expand(document, {"documentLoader": contexts.document_loader})
        except jsonld.JsonLdError as exc:
            unknown = _unknown_context_cause(exc)
            if unknown is not None:
                raise unknown from None
            raise DocumentError(f"JSON-LD processing failed: {exc}") from exc
        return self.found


def undefined_types(document: dict) -> list[str]:
    """Values of the document's own `type` that its contexts do not define (undefined_terms reads
    keys, not type values): one that is neither a term, nor a compact IRI with a defined prefix, nor
    an absolute IRI is a relative IRI, which each reader resolves against its own base (Digital
    Bazaar's verifiers refuse it), or is given one only by VC 2.0's issuer-dependent @vocab."""
    _check_contexts(document)
    given = document.get("type")
    given = [t for t in (given if isinstance(given, list) else [given]) if isinstance(t, str)]
    probe = {"@context": document["@context"], "id": "urn:uuid:00000000-0000-4000-8000-000000000000", "type": given}
    try:
        with LOCK:
            # base None: a relative IRI stays relative (pyld would resolve "" against its example base)
            expanded = jsonld.expand(probe, {"documentLoader": contexts.document_loader, "base": None})
    except jsonld.JsonLdError as exc:
        unknown = _unknown_context_cause(exc)
        if unknown is not None:
            raise unknown from None
        raise DocumentError(f"JSON-LD processing failed: {exc}") from exc
    iris = expanded[0].get("@type", []) if expanded else []
    return [value for value, iri in zip(given, iris)
            if not is_absolute(iri) or iri.startswith(ISSUER_DEPENDENT)]


def assert_terms_defined(document: dict) -> None:
    terms = undefined_terms(document)
    if terms:
        raise undefined_error(terms)
