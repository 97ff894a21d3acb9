"""Trust between organisations: chains of standing endorsements, searched over the read side
(the `endorsements` and `directory` projections), as of any instant.

A package rather than a projection module: it keeps no tables and no position of its own; it is a
query over the endorsements projection, plus the search, which does not know where edges come from."""

from registry.trust.chains import EdgeSource, Link, MemoryEdges, shortest_chain
from registry.trust.sql_edges import SqlEdges, slugs

__all__ = ["EdgeSource", "Link", "MemoryEdges", "SqlEdges", "shortest_chain", "slugs"]
