"""The shortest chain of endorsements between organisations: a bidirectional breadth-first search
over whatever supplies the edges (an indexed table, or an in-memory adjacency).

An edge u -> v means "u stands behind v": u endorsed v, or one of v's achievements. Parallel edges
are one hop whose evidence is every endorsement id behind it. The search expands the smaller
frontier one whole level at a time (one call to the edge source per level, so one SQL query), keeps
visited sets on both sides (cycles end there) and stops when the two sides' depths add up to the
limit. Ties are broken by sorted ids, so the same graph always gives the same chain."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import NamedTuple, Protocol
from uuid import UUID

# Edges of a frontier: node -> [(neighbour, endorsement id)], parallel edges repeated.
# Ids are UUIDs, or their text form as the read store keeps them; both sort the same way.
Node = UUID | str
Neighbours = Mapping[Node, Sequence[tuple[Node, str]]]


class EdgeSource(Protocol):
    def successors(self, ids: Collection[Node]) -> Neighbours:
        """For each of `ids`: the organisations it endorses (directly or through an achievement)."""

    def predecessors(self, ids: Collection[Node]) -> Neighbours:
        """For each of `ids`: the organisations that endorse it."""


class Link(NamedTuple):
    endorser_id: Node
    subject_id: Node
    endorsement_ids: tuple[str, ...]  # sorted


class MemoryEdges:
    """An adjacency held in memory: the unit-test edge source, and the snapshot the SQL side can
    load in one read. Rows are (endorser id, subject issuer id, endorsement id)."""

    def __init__(self, rows: Iterable[tuple[Node, Node, str]]) -> None:
        self.out: dict[Node, list[tuple[Node, str]]] = {}
        self.into: dict[Node, list[tuple[Node, str]]] = {}
        self.edge_count = 0
        for endorser, subject, endorsement in rows:
            if endorser == subject:  # endorsing one's own achievement vouches for nothing
                continue
            self.out.setdefault(endorser, []).append((subject, endorsement))
            self.into.setdefault(subject, []).append((endorser, endorsement))
            self.edge_count += 1

    def successors(self, ids: Collection[Node]) -> Neighbours:
        return {i: self.out[i] for i in ids if i in self.out}

    def predecessors(self, ids: Collection[Node]) -> Neighbours:
        return {i: self.into[i] for i in ids if i in self.into}


class _Reached(NamedTuple):
    depth: int
    via: Node | None  # the neighbour one step nearer this side's start
    evidence: tuple[str, ...]


def shortest_chain(edges: EdgeSource, sources: Iterable[Node], target: Node,
                   max_depth: int) -> list[Link] | None:
    """The shortest chain of links from any of `sources` to `target` of at most `max_depth` links;
    [] when the target is a source, None when there is none."""
    starts = sorted(set(sources))
    if not starts:
        return None
    if target in starts:
        return []
    forward = {s: _Reached(0, None, ()) for s in starts}
    backward = {target: _Reached(0, None, ())}
    forward_frontier, backward_frontier = starts, [target]
    depth = 0  # forward depth + backward depth: the longest chain the search has ruled out + 1
    while depth < max_depth and forward_frontier and backward_frontier:
        depth += 1
        if len(forward_frontier) <= len(backward_frontier):
            forward_frontier = _expand(edges.successors, forward_frontier, forward)
            meetings = [n for n in forward_frontier if n in backward]
        else:
            backward_frontier = _expand(edges.predecessors, backward_frontier, backward)
            meetings = [n for n in backward_frontier if n in forward]
        if meetings:
            # Every meeting is at most `depth` links long, and no shorter chain exists (it would
            # have met one level earlier); the shortest of them, then the smallest id, wins.
            meeting = min(meetings, key=lambda n: (forward[n].depth + backward[n].depth, n))
            return _chain(meeting, forward, backward)
    return None


def _expand(neighbours: Callable[[Collection[Node]], Neighbours], frontier: list[Node],
            reached: dict[Node, _Reached]) -> list[Node]:
    """One level: every node first reached from `frontier`, with the smallest frontier node it
    was reached from and all endorsements of that edge. Returns the new frontier, sorted."""
    found = neighbours(frontier)
    depth = reached[frontier[0]].depth + 1
    evidence: dict[Node, list[str]] = {}
    via: dict[Node, Node] = {}
    for node in sorted(found):
        for neighbour, endorsement in found[node]:
            if neighbour in reached:
                continue
            if neighbour not in via:
                via[neighbour] = node
            if via[neighbour] == node:
                evidence.setdefault(neighbour, []).append(endorsement)
    for neighbour, node in via.items():
        reached[neighbour] = _Reached(depth, node, tuple(sorted(evidence[neighbour])))
    return sorted(via)


def _chain(meeting: Node, forward: dict[Node, _Reached], backward: dict[Node, _Reached]) -> list[Link]:
    links: list[Link] = []
    node = meeting
    while (step := forward[node]).via is not None:
        links.append(Link(step.via, node, step.evidence))
        node = step.via
    links.reverse()
    node = meeting
    while (step := backward[node]).via is not None:
        links.append(Link(node, step.via, step.evidence))
        node = step.via
    return links
