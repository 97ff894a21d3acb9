"""Expanded JSON-LD -> RDF dataset in pyld's own structure, ready for pyld's URDNA2015.

Equivalent to pyld's `_create_node_map` + `_graph_to_rdf` for what registry.vc.expansion emits,
without building the node map: triples are produced while walking, and the node map's
de-duplication (per graph, subject and property: node references by @id, values by @value,
@type and @language, lists never) is reproduced with keys. Literals are converted by pyld's
own `_object_to_rdf`, so numbers, booleans and @json serialize exactly as pyld does."""

from __future__ import annotations

import math

from pyld.jsonld import (RDF_FIRST, RDF_LANGSTRING, RDF_NIL, RDF_REST, RDF_TYPE, XSD_DOUBLE, XSD_STRING,
                         JsonLdProcessor)

from registry.vc.jsonld_context import Unsupported, is_absolute

_PROCESSOR = JsonLdProcessor()
_LITERAL_OPTIONS = {"processingMode": "json-ld-1.1"}
_TYPE = {"type": "IRI", "value": RDF_TYPE}
_FIRST = {"type": "IRI", "value": RDF_FIRST}
_REST = {"type": "IRI", "value": RDF_REST}
_NIL = {"type": "IRI", "value": RDF_NIL}


_PREDICATES: dict[str, dict | None] = {}


def _predicate(iri: str) -> dict | None:
    """The predicate term for a property IRI (None for relative IRIs and blank nodes), shared:
    canonicalization never rewrites predicates. Memoized, bounded."""
    term = _PREDICATES.get(iri)
    if term is None and iri not in _PREDICATES:
        term = {"type": "IRI", "value": iri} if is_absolute(iri) and not iri.startswith("_:") else None
        if len(_PREDICATES) < 4096:
            _PREDICATES[iri] = term
    return term


class Dataset:
    def __init__(self):
        self.graphs: dict[str, list] = {"@default": []}
        self._labels: dict[str, str] = {}
        self._counter = 0
        self._seen: dict[tuple, tuple] = {}

    def _blank(self, label: str | None = None) -> str:
        if label is not None:
            hit = self._labels.get(label)
            if hit is not None:
                return hit
        issued = f"_:b{self._counter}"
        self._counter += 1
        if label is not None:
            self._labels[label] = issued
        return issued

    @staticmethod
    def _term(iri: str) -> dict | None:
        if iri.startswith("_:"):
            return {"type": "blank node", "value": iri}
        return {"type": "IRI", "value": iri} if is_absolute(iri) else None

    def add_nodes(self, expanded: list) -> dict:
        for node in expanded:
            self.node(node, "@default")
        return {name: triples for name, triples in self.graphs.items() if name == "@default" or is_absolute(name)}

    def node(self, node: dict, graph: str) -> str:
        id_ = node.get("@id")
        if id_ is None or id_.startswith("_:"):
            id_ = self._blank(id_)
        subject = self._term(id_) if is_absolute(id_) else None
        for key, items in node.items():
            if key == "@type":
                for type_ in items:
                    if type_.startswith("_:"):
                        type_ = self._blank(type_)
                    obj = self._term(type_)
                    if subject is not None and obj is not None:
                        self._emit(graph, subject, "@type", _TYPE, obj, type_)
            elif key == "@graph":
                self.graphs.setdefault(id_, [])
                for inner in items:
                    self.node(inner, id_)
            elif key[0] == "@":
                continue  # @id
            else:
                predicate = _predicate(key)
                for item in items:
                    obj, dedup = self._object(item, graph)  # walks nested nodes even if not linked
                    if subject is None or predicate is None or obj is None:
                        continue
                    if isinstance(obj, list):
                        self.graphs.setdefault(graph, []).append(
                            {"subject": subject, "predicate": predicate, "object": self._list(obj, graph)}
                        )
                    else:
                        self._emit(graph, subject, key, predicate, obj, dedup)
        return id_

    def _object(self, item: dict, graph: str):
        """(RDF term, de-duplication key); a list object gives a Python list of item terms."""
        if "@value" in item:
            value = item["@value"]
            if isinstance(value, float) and not math.isfinite(value):
                raise Unsupported("non-finite number")
            datatype = item.get("@type")
            if type(value) is str and datatype != "@json" and datatype != XSD_DOUBLE and "@direction" not in item:
                # pyld's _object_to_rdf for a string, its commonest case, without the detour
                if "@language" in item:
                    literal = {"type": "literal", "value": value, "datatype": datatype or RDF_LANGSTRING,
                               "language": item["@language"]}
                else:
                    literal = {"type": "literal", "value": value, "datatype": datatype or XSD_STRING}
                return literal, ("value", False, value, datatype, item.get("@language"))
            literal = _PROCESSOR._object_to_rdf(item, None, None, _LITERAL_OPTIONS)
            if item.get("@type") == "@json":
                return literal, ("json",)  # pyld compares @json values as Python objects
            return literal, ("value", type(value) is bool, value, item.get("@type"), item.get("@language"))
        if "@list" in item:
            terms = []
            for inner in item["@list"]:
                term, _ = self._object(inner, graph)
                if term is None:
                    raise Unsupported("relative IRI in a list")
                terms.append(term)
            return terms, None
        id_ = self.node(item, graph)
        return self._term(id_), ("id", id_)

    def _list(self, terms: list, graph: str) -> dict:
        if not terms:
            return _NIL
        triples = self.graphs.setdefault(graph, [])
        head = subject = {"type": "blank node", "value": self._blank()}
        for i, term in enumerate(terms):
            if isinstance(term, list):
                term = self._list(term, graph)
            rest = {"type": "blank node", "value": self._blank()} if i + 1 < len(terms) else _NIL
            triples.append({"subject": subject, "predicate": _FIRST, "object": term})
            triples.append({"subject": subject, "predicate": _REST, "object": rest})
            subject = rest
        return head

    def _emit(self, graph: str, subject: dict, key: str, predicate: dict, obj: dict, dedup) -> None:
        seen_key = (graph, subject["value"], key, dedup)
        rendered = (obj["type"], obj["value"], obj.get("datatype"), obj.get("language"))
        previous = self._seen.get(seen_key)
        if previous is not None:
            if previous != rendered:
                # pyld keeps whichever came first in its node-map order (e.g. 1 vs 1.0)
                raise Unsupported("values pyld considers equal render differently")
            return
        self._seen[seen_key] = rendered
        self.graphs.setdefault(graph, []).append({"subject": subject, "predicate": predicate, "object": obj})


def dataset(expanded: list) -> dict:
    return Dataset().add_nodes(expanded)
