"""Trust between organisations: the shortest chain of standing endorsements, searched over whatever
supplies the edges (the endorsements read model in registry.projections, or memory in tests)."""

from registry.trust.chains import EdgeSource, Link, MemoryEdges, shortest_chain

__all__ = ["EdgeSource", "Link", "MemoryEdges", "shortest_chain"]
