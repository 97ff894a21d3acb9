"""The endorsement network as a picture: organisations are nodes, standing endorsements (of an
organisation or of its achievements) are arrows from endorser to endorsed. The layout is computed
here, deterministically, so the same log always gives the same picture and no JavaScript runs.

Layout: every organisation on one circle, the best-connected at the top and the rest clockwise
by slug. Names sit outside the circle and arrows inside it, so no arrow crosses a name; arrows are
slight arcs, so A->B and B->A stay apart, and end at the node's rim."""

from __future__ import annotations

import math
from dataclasses import dataclass

WIDTH, HEIGHT = 1200, 680  # wide: names to the left and right need room
NODE_RADIUS = 26
MAX_NODES = 40  # beyond this a circle is unreadable; the text list still has every link
MAX_LABEL = 32  # characters; a longer name is cut in the picture (the node's title has it all)
BEND = 0.12  # how far an arc bows out, as a share of its length


@dataclass(frozen=True)
class Node:
    id: str
    slug: str
    name: str
    x: float
    y: float
    label: str
    label_x: float  # the name sits outside the circle, radially away from its centre
    label_y: float
    anchor: str  # SVG text-anchor: start (right half), end (left half), middle (top, bottom)


@dataclass(frozen=True)
class Edge:
    endorser: str  # slugs
    subject: str
    endorser_name: str
    subject_name: str
    direct: int  # endorsements of the organisation itself
    via_achievements: int
    path: str  # SVG path data, empty when an end is not drawn


@dataclass(frozen=True)
class Network:
    nodes: list[Node]
    edges: list[Edge]  # every link, drawn or not
    total_nodes: int
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def drawn_edges(self) -> list[Edge]:
        return [e for e in self.edges if e.path]


def build(issuers: list[tuple[str, str, str]], rows: list[tuple[str, str, str, int]]) -> Network:
    """`issuers`: (id, slug, name); `rows`: (endorser id, subject issuer id, subject kind, count)."""
    known = {i: (slug, name) for i, slug, name in issuers}
    links: dict[tuple[str, str], list[int]] = {}
    for endorser, subject, kind, count in rows:
        if endorser in known and subject in known and endorser != subject:
            counts = links.setdefault((endorser, subject), [0, 0])
            counts[0 if kind == "issuer" else 1] += count
    degree = {i: 0 for i in known}
    for endorser, subject in links:
        degree[endorser] += 1
        degree[subject] += 1
    # The most connected first (ties by slug), so the picture keeps the core of a large network.
    ranked = sorted(known, key=lambda i: (-degree[i], known[i][0]))
    placed = layout(ranked[:MAX_NODES], degree, known)
    edges = []
    for (endorser, subject), (direct, via) in sorted(links.items(), key=lambda kv: (known[kv[0][0]][0], known[kv[0][1]][0])):
        a, b = placed.get(endorser), placed.get(subject)
        edges.append(Edge(known[endorser][0], known[subject][0], known[endorser][1], known[subject][1],
                          direct, via, arc(a, b) if a and b else ""))
    return Network(sorted(placed.values(), key=lambda n: n.slug), edges, len(known))


def layout(ids: list[str], degree: dict[str, int], known: dict[str, tuple[str, str]]) -> dict[str, Node]:
    cx, cy = WIDTH / 2, HEIGHT / 2
    radius = min(WIDTH, HEIGHT) / 2 - NODE_RADIUS - 40  # room for the names above and below
    first = ids[:1]
    ring = first + sorted((i for i in ids if i not in first), key=lambda i: known[i][0])
    placed: dict[str, Node] = {}
    for k, node_id in enumerate(ring):
        # Start at the top and go clockwise; a lone node sits at the top.
        angle = -math.pi / 2 + 2 * math.pi * k / max(len(ring), 1)
        ux, uy = math.cos(angle), math.sin(angle)
        x, y = cx + radius * ux, cy + radius * uy
        # The name goes outward, where no arrow is: arrows run inside the circle. The baseline
        # shifts with uy so a name above ends at the rim and one below starts there.
        anchor = "middle" if abs(ux) < 0.3 else "start" if ux > 0 else "end"
        label_x = x + ux * (NODE_RADIUS + 10)
        label_y = y + uy * (NODE_RADIUS + 12) + 5 + 10 * uy
        slug, name = known[node_id]
        label = name if len(name) <= MAX_LABEL else name[:MAX_LABEL - 1] + "\u2026"
        placed[node_id] = Node(node_id, slug, name, round(x, 1), round(y, 1), label,
                               round(label_x, 1), round(label_y, 1), anchor)
    return placed


def arc(a: Node, b: Node) -> str:
    """A quadratic curve from a's rim to b's rim, bowing to the right of the direction a->b
    (so the reverse link bows the other way)."""
    dx, dy = b.x - a.x, b.y - a.y
    length = math.hypot(dx, dy) or 1.0
    ux, uy = dx / length, dy / length
    # control point: the midpoint pushed sideways
    mx, my = (a.x + b.x) / 2 - uy * BEND * length, (a.y + b.y) / 2 + ux * BEND * length
    start = _toward(a.x, a.y, mx, my, NODE_RADIUS + 2)
    end = _toward(b.x, b.y, mx, my, NODE_RADIUS + 6)  # the arrowhead's tip touches the rim
    return (f"M {start[0]:.1f} {start[1]:.1f} Q {mx:.1f} {my:.1f} {end[0]:.1f} {end[1]:.1f}")


def _toward(x: float, y: float, tx: float, ty: float, distance: float) -> tuple[float, float]:
    d = math.hypot(tx - x, ty - y) or 1.0
    return x + (tx - x) / d * distance, y + (ty - y) / d * distance
