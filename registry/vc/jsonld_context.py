"""Active JSON-LD contexts for the fast expansion path, each processed once by pyld and cached.

pyld re-processes every pinned and scoped context on every call; that is most of the cost of
canonicalizing a credential. Here pyld's own context processing builds each active context
exactly once (so term definitions are pyld's, bit for bit) and the result of every transition
(document context, property-scoped context, type-scoped context) is memoized on the context it
was derived from. Readers never lock; derivations run under one lock because pyld's context
processing mutates shared state (context `_uuid`s, its resolver caches)."""

from __future__ import annotations

import json
import re
import threading

from cachetools import LRUCache
from pyld.context_resolver import ContextResolver
from pyld.jsonld import KEYWORDS, JsonLdProcessor

from registry.vc import contexts

_PROCESSOR = JsonLdProcessor()
_KEYWORDS = frozenset(KEYWORDS)
# VC 2.0's catch-all vocabulary: a term that only resolves here has no defined meaning.
ISSUER_DEPENDENT = "https://www.w3.org/ns/credentials/issuer-dependent#"

LOCK = threading.RLock()  # also serializes the pyld reference path, whose caches are not thread safe

# Per-context memo sizes: keys seen in documents are bounded by these, so a hostile document
# with many distinct keys costs time, not memory.
_MAX_KEYS = 4096
_MISSING = object()
_MAX_DERIVED = 512


class Unsupported(Exception):
    """The document needs a JSON-LD construct outside the fast path's subset (or is invalid);
    the caller must use the pyld reference path instead."""


def is_keyword(value: str) -> bool:
    return value in _KEYWORDS


# pyld's _is_absolute_iri pattern, compiled once.
_ABSOLUTE_IRI = re.compile(r"^([A-Za-z][A-Za-z0-9+-.]*|_):[^\s]*$")


def is_absolute(value: str) -> bool:
    return _ABSOLUTE_IRI.match(value) is not None


def _options() -> dict:
    # A fresh resolver per derivation: contexts.register() may re-pin a URL, and pyld's
    # resolver would otherwise keep serving the document it saw first.
    return {
        "base": "",
        "processingMode": "json-ld-1.1",
        "isFrame": False,
        "keepFreeFloatingNodes": False,
        "documentLoader": contexts.document_loader,
        "contextResolver": ContextResolver(LRUCache(maxsize=64), contexts.document_loader),
    }


class TermInfo:
    """What expansion needs from one term definition, read once from pyld's mapping."""

    __slots__ = ("mapping", "container", "scoped", "coercion", "language", "has_language", "direction")

    def __init__(self, mapping: dict | None):
        self.mapping = mapping
        m = mapping or {}
        container = m.get("@container")
        self.container = frozenset(container if isinstance(container, list) else [] if container is None else [container])
        self.scoped = m.get("@context")
        self.coercion = m.get("@type")
        self.has_language = mapping is not None and "@language" in m
        self.language = m.get("@language")
        self.direction = m.get("@direction")


_NO_TERM = TermInfo(None)


class ActiveContext:
    """One pyld active context plus memoized key expansion and derived contexts."""

    __slots__ = ("raw", "terms", "vocab", "language", "previous", "_keys", "_infos", "_iris", "_derived")

    def __init__(self, raw: dict, previous: ActiveContext | None):
        if "@base" in raw or "@direction" in raw:
            raise Unsupported("context sets @base or @direction")
        self.raw = raw
        self.terms = raw["mappings"]
        self.vocab = raw.get("@vocab")
        self.language = raw.get("@language")
        self.previous = previous
        self._keys: dict[str, tuple[str | None, str, bool]] = {}
        self._infos: dict[str, TermInfo] = {}
        self._iris: dict[tuple[str, str], str | None] = {}
        self._derived: dict = {}

    # -- terms ---------------------------------------------------------------------------
    def info(self, term: str | None) -> TermInfo:
        info = self._infos.get(term)  # type: ignore[arg-type]
        if info is None:
            info = TermInfo(self.terms.get(term)) if term in self.terms else _NO_TERM
            if len(self._infos) < _MAX_KEYS:
                self._infos[term] = info  # type: ignore[index]
        return info

    def expand_key(self, key: str) -> tuple[str | None, str, bool]:
        """(IRI or keyword or None, how, kept): how is 'term', 'keyword', 'iri', 'vocab' or
        'none' ('vocab': the IRI comes only from the @vocab fallback); kept is False when
        expansion drops the key (no IRI, or a relative one)."""
        hit = self._keys.get(key)
        if hit is None:
            iri = _PROCESSOR._expand_iri(self.raw, key, vocab=True)
            kept = iri is not None and (is_keyword(iri) or is_absolute(iri))
            hit = (iri, self._how(key, iri), kept)
            if len(self._keys) < _MAX_KEYS:
                self._keys[key] = hit
        return hit

    def _how(self, key: str, iri: str | None) -> str:
        if iri is None:
            return "none"
        if key in self.terms:
            return "term"
        if is_keyword(key):
            return "keyword"
        colon = key.find(":")
        if colon > 0:
            prefix, suffix = key[:colon], key[colon + 1 :]
            mapping = self.terms.get(prefix)
            if prefix == "_" or suffix.startswith("//") or (mapping and mapping["_prefix"]) or is_absolute(key):
                return "iri"
        return "vocab" if self.vocab is not None and iri == self.vocab + key else "none"

    def vocab_iri(self, value: str):
        """A @type value or @vocab-coerced string (vocab-relative, then document-relative)."""
        key = ("vocab", value)
        hit = self._iris.get(key, _MISSING)
        if hit is _MISSING:
            hit = _PROCESSOR._expand_iri(self.raw, value, vocab=True, base="")
            if len(self._iris) < _MAX_KEYS:  # types, issuers and achievements repeat across documents
                self._iris[key] = hit
        return hit

    def document_iri(self, value: str):
        """An @id value or @id-coerced string (document-relative)."""
        key = ("document", value)
        hit = self._iris.get(key, _MISSING)
        if hit is _MISSING:
            hit = _PROCESSOR._expand_iri(self.raw, value, base="")
            if len(self._iris) < _MAX_KEYS:
                self._iris[key] = hit
        return hit

    # -- derived contexts ----------------------------------------------------------------
    def scoped(self, local, *, propagate: bool, override_protected: bool) -> ActiveContext:
        """A term's property- or type-scoped context applied to this one. `local` belongs to a
        cached term definition, so its identity is a stable key; the entry keeps it alive."""
        key = (id(local), propagate, override_protected)
        hit = self._derived.get(key)
        if hit is not None and hit[0] is local:
            return hit[1]
        derived = self._derive(local, propagate, override_protected)
        if len(self._derived) < _MAX_DERIVED:
            self._derived[key] = (local, derived)
        return derived

    def embedded(self, local) -> ActiveContext:
        """A context written in the document itself (URLs, inline objects or a list)."""
        key, pinned = _content_key(local)
        hit = self._derived.get(key)
        if hit is not None:
            return hit[1]
        derived = self._derive(local, True, False)
        if len(self._derived) < _MAX_DERIVED:
            self._derived[key] = (pinned, derived)  # pinned docs kept alive: their ids are in key
        return derived

    def _derive(self, local, propagate: bool, override_protected: bool) -> ActiveContext:
        with LOCK:
            try:
                raw = _PROCESSOR._process_context(
                    self.raw, local, _options(), override_protected=override_protected, propagate=propagate
                )
            except Exception as exc:  # invalid or unknown context: the reference path reports it
                raise Unsupported(f"context processing failed: {exc}") from exc
            return _wrap(raw, self)


def _wrap(raw: dict, parent: ActiveContext | None = None) -> ActiveContext:
    """Wrap a context pyld derived from `parent`. Its previousContext (the context a
    non-propagated type-scoped context reverts to) is always `parent` or one of its ancestors."""
    prev_raw = raw.get("previousContext")
    previous = None
    if prev_raw is not None:
        previous = parent
        while previous is not None and previous.raw is not prev_raw:
            previous = previous.previous
        if previous is None:
            previous = _wrap(prev_raw)
    return ActiveContext(raw, previous)


def _content_key(local) -> tuple[tuple, tuple]:
    """A cache key for a document-supplied context: its JSON text plus the identity of each
    pinned document it names (contexts.register() replaces them)."""
    urls = [local] if isinstance(local, str) else [u for u in local if isinstance(u, str)] if isinstance(local, list) else []
    pinned = tuple(contexts.load(u) for u in urls)  # UnknownContextError for an unpinned URL
    text = local if isinstance(local, str) else json.dumps(local, sort_keys=True)
    return ("document", text, tuple(map(id, pinned))), pinned


_INITIAL: ActiveContext | None = None


def initial() -> ActiveContext:
    global _INITIAL
    if _INITIAL is None:
        with LOCK:
            if _INITIAL is None:
                _INITIAL = _wrap(_PROCESSOR._get_initial_context({"processingMode": "json-ld-1.1"}))
    return _INITIAL
