"""RDFC-1.0 (URDNA2015) canonical N-Quads of an RDF dataset in pyld's structure.

The W3C algorithm, written for speed on what credentials are: tree-shaped JSON-LD whose blank
nodes nearly always differ at first degree, so canonical labels follow from the first-degree hashes
(RDFC-1.0 steps 4-5) and step 6, the n-degree hashing, has nothing to do. Every quad is rendered
once and hashed as a string (pyld's implementation deep-copies a term per blank-node occurrence).
Step 6 is here too, bounded: a dataset needing more n-degree work than a credential ever does is
refused, so a "poison" graph (RDFC-1.0 section 4.4) cannot hold a worker. tests/test_canon.py runs
the W3C RDFC-1.0 test suite and compares with pyld."""

from __future__ import annotations

import hashlib
from itertools import permutations

from pyld.jsonld import RDF_LANGSTRING, XSD_STRING

from registry.vc.errors import DocumentError

# Hash N-Degree Quads calls allowed in the fallback. A credential with two alike blank nodes needs
# a handful; the W3C suite's hardest accepted tests (test044-046, 24 blank nodes in circles) 468;
# its poison clique (test074) would take millions.
MAX_N_DEGREE_STEPS = 2000


# Canonical N-Quads escape in literals (RDFC-1.0 section 4.3, as the W3C suite's test060 shows): the
# ECHARs \b \t \n \f \r \" \\, every other character below U+0020 and U+007F as \u00XX in upper
# case, everything else as itself. (pyld escapes only \t \n \r \" \\; the registry refuses the other
# control characters in documents anyway, so the two never meet there.)
_LITERAL_ESCAPES = {code: f"\\u{code:04X}" for code in [*range(0x20), 0x7F]} | {
    ord("\b"): "\\b", ord("\t"): "\\t", ord("\n"): "\\n", ord("\f"): "\\f", ord("\r"): "\\r",
    ord('"'): '\\"', ord("\\"): "\\\\"}


def escape_literal(value: str) -> str:
    return value.translate(_LITERAL_ESCAPES)


class PoisonGraphError(DocumentError):
    """Canonicalization would take more n-degree hashing than MAX_N_DEGREE_STEPS allows."""


def canonize(graphs: dict[str, list[dict]]) -> str:
    """Canonical N-Quads (sorted, each ending in a newline) of `graphs` (graph name or "@default"
    -> triples as pyld builds them)."""
    rows, occurrences = _rows(graphs)
    state = _State(occurrences)
    by_hash: dict[str, list[str]] = {}
    for node in occurrences:
        by_hash.setdefault(state.first_degree(node), []).append(node)
    shared = []
    for first, nodes in sorted(by_hash.items()):  # step 5: unique first-degree hashes first
        if len(nodes) == 1:
            state.canonical.issue(nodes[0])
        else:
            shared.append(nodes)
    for nodes in shared:  # step 6
        paths = []
        for node in nodes:
            if node in state.canonical:
                continue
            temporary = _Issuer("_:b")
            temporary.issue(node)
            paths.append(state.n_degree(node, temporary))
        for _, issuer in sorted(paths, key=lambda result: result[0]):
            for existing in issuer.order:
                state.canonical.issue(existing)
    return "".join(sorted(_line(row, state.canonical.issued.__getitem__) for row in rows))


# A row is a quad rendered as N-Quads terms: (subject, subject is blank, predicate, object,
# object is blank, graph or None, graph is blank). Blank nodes keep their input labels here.
Row = tuple[str, bool, str, str, bool, "str | None", bool]


def _rows(graphs: dict[str, list[dict]]) -> tuple[list[Row], dict[str, list[Row]]]:
    rows: list[Row] = []
    occurrences: dict[str, list[Row]] = {}
    for graph_name, triples in graphs.items():
        if graph_name == "@default":
            graph, graph_blank = None, False
        else:
            graph_blank = graph_name.startswith("_:")
            graph = graph_name if graph_blank else f"<{graph_name}>"
        for triple in triples:
            subject, predicate, obj = triple["subject"], triple["predicate"], triple["object"]
            subject_blank = subject["type"] == "blank node"
            row = (
                subject["value"] if subject_blank else f"<{subject['value']}>",
                subject_blank,
                f"<{predicate['value']}>" if predicate["type"] == "IRI" else predicate["value"],
                _object(obj),
                obj["type"] == "blank node",
                graph,
                graph_blank,
            )
            rows.append(row)
            # As pyld (and the spec's blank node to quads map) does: one reference per occurrence,
            # so a quad linking a blank node to itself is hashed twice for it.
            if subject_blank:
                occurrences.setdefault(row[0], []).append(row)
            if row[4]:
                occurrences.setdefault(row[3], []).append(row)
            if graph_blank:
                occurrences.setdefault(graph, []).append(row)
    return rows, occurrences


def _object(term: dict) -> str:
    kind = term["type"]
    if kind == "IRI":
        return f"<{term['value']}>"
    if kind == "blank node":
        return term["value"]
    literal = f'"{escape_literal(term["value"])}"'
    datatype = term["datatype"]
    if datatype == RDF_LANGSTRING:
        return literal + (f"@{term['language']}" if term.get("language") else "")
    if datatype != XSD_STRING:
        return literal + f"^^<{datatype}>"
    return literal


def _line(row: Row, label) -> str:
    subject, subject_blank, predicate, obj, object_blank, graph, graph_blank = row
    if subject_blank:
        subject = label(subject)
    if object_blank:
        obj = label(obj)
    if graph is None:
        return f"{subject} {predicate} {obj} .\n"
    return f"{subject} {predicate} {obj} {label(graph) if graph_blank else graph} .\n"


def _first_degree_hash(node: str, mentions: list[Row]) -> str:
    """Hash First Degree Quads (RDFC-1.0 4.6): the node as _:a, every other blank node as _:z."""
    def label(other: str) -> str:
        return "_:a" if other == node else "_:z"
    lines = sorted(_line(row, label) for row in mentions)
    return _sha256("".join(lines))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class _Issuer:
    """Identifier Issuer (RDFC-1.0 4.5): labels in the order they were issued."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.issued: dict[str, str] = {}

    def issue(self, node: str) -> str:
        label = self.issued.get(node)
        if label is None:
            label = self.issued[node] = f"{self.prefix}{len(self.issued)}"
        return label

    def __contains__(self, node: str) -> bool:
        return node in self.issued

    @property
    def order(self) -> list[str]:
        return list(self.issued)

    def copy(self) -> _Issuer:
        twin = _Issuer(self.prefix)
        twin.issued = dict(self.issued)
        return twin


class _State:
    def __init__(self, occurrences: dict[str, list[Row]]) -> None:
        self.occurrences = occurrences
        self.canonical = _Issuer("_:c14n")
        self.hashes: dict[str, str] = {}
        self.steps = 0

    def first_degree(self, node: str) -> str:
        found = self.hashes.get(node)
        if found is None:
            found = self.hashes[node] = _first_degree_hash(node, self.occurrences[node])
        return found

    def related(self, related: str, row: Row, issuer: _Issuer, position: str) -> str:
        """Hash Related Blank Node (RDFC-1.0 4.7)."""
        if related in self.canonical:
            identifier = self.canonical.issued[related]
        elif related in issuer:
            identifier = issuer.issued[related]
        else:
            identifier = self.first_degree(related)
        return _sha256(position + (row[2] if position != "g" else "") + identifier)

    def n_degree(self, node: str, issuer: _Issuer) -> tuple[str, _Issuer]:
        """Hash N-Degree Quads (RDFC-1.0 4.8), counting its calls against MAX_N_DEGREE_STEPS."""
        self.steps += 1
        if self.steps > MAX_N_DEGREE_STEPS:
            raise PoisonGraphError(
                f"the document's blank nodes are too alike and interlinked to canonicalize within "
                f"{MAX_N_DEGREE_STEPS} n-degree hashing steps (RDFC-1.0 section 4.4)")
        by_hash: dict[str, list[str]] = {}
        for row in self.occurrences[node]:
            subject, subject_blank, _, obj, object_blank, graph, graph_blank = row
            for related, blank, position in ((subject, subject_blank, "s"), (obj, object_blank, "o"),
                                             (graph, graph_blank, "g")):
                if blank and related != node:
                    by_hash.setdefault(self.related(related, row, issuer, position), []).append(related)
        data = ""
        for related_hash, nodes in sorted(by_hash.items()):
            data += related_hash
            chosen_path, chosen_issuer = "", None
            for permutation in permutations(nodes):
                copy, path, recursion = issuer.copy(), "", []
                skip = False
                for related in permutation:
                    if related in self.canonical:
                        path += self.canonical.issued[related]
                    else:
                        if related not in copy:
                            recursion.append(related)
                        path += copy.issue(related)
                    if chosen_path and len(path) >= len(chosen_path) and path > chosen_path:
                        skip = True
                        break
                if skip:
                    continue
                for related in recursion:
                    result_hash, copy = self.n_degree(related, copy)
                    path += copy.issue(related) + f"<{result_hash}>"
                    if chosen_path and len(path) >= len(chosen_path) and path > chosen_path:
                        skip = True
                        break
                if skip:
                    continue
                if not chosen_path or path < chosen_path:
                    chosen_path, chosen_issuer = path, copy
            data += chosen_path
            issuer = chosen_issuer
        return _sha256(data), issuer
