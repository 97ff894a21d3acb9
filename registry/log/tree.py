"""RFC 9162 (RFC 6962) Merkle trees over the log's entries: hashes, proofs and their verification.

Pure functions. A tree is addressed by its complete subtrees: node (level, index) is the root of
the subtree over leaves [index * 2**level, (index + 1) * 2**level); level 0 are the leaf hashes.
The storage keeps every complete node, so a proof is a handful of lookups (`needed_*` say which),
never a recomputation of the tree. Verification follows RFC 9162 sections 2.1.3.2 and 2.1.4.2 to
the letter; tests/test_log_formats.py runs the transparency-dev vectors (mutated proofs included)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from hashlib import sha256

Node = tuple[int, int]  # (level, index)
EMPTY_ROOT = sha256(b"").digest()
HASH_SIZE = 32


class ProofError(ValueError):
    """A proof that does not prove what it claims; the message says how it fails."""


def leaf_hash(entry: bytes) -> bytes:
    return sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two smaller than size (size > 1)."""
    return 1 << ((size - 1).bit_length() - 1)


def decomposition(size: int, start: int = 0) -> list[Node]:
    """The complete subtrees that make up leaves [start, start + size) when start is a multiple
    of the largest of them (always so in the RFC's recursion), largest first."""
    nodes, at = [], start
    for level in reversed(range(size.bit_length())):
        if size >> level & 1:
            nodes.append((level, at >> level))
            at += 1 << level
    return nodes


def aligned_blocks(start: int, end: int) -> list[Node]:
    """Leaves [start, end) as the fewest complete subtrees (nodes of any tree that holds them all)."""
    blocks = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start:
            level = min(level, (start & -start).bit_length() - 1)
        blocks.append((level, start >> level))
        start += 1 << level
    return blocks


def _range_nodes(start: int, end: int) -> list[Node]:
    return decomposition(end - start, start)


def range_hash(start: int, end: int, get: Callable[[Node], bytes]) -> bytes:
    """MTH(D[start:end]) from stored complete subtrees."""
    if end == start:
        return EMPTY_ROOT
    hashes = [get(node) for node in _range_nodes(start, end)]
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def _inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The ranges whose MTH make up PATH(index, D[size]), leaf end first."""
    ranges, start, end = [], 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    return ranges[::-1]


def _consistency_ranges(old: int, size: int) -> list[tuple[int, int]]:
    """The ranges whose MTH make up PROOF(old, D[size]) (RFC 9162 SUBPROOF), inner first."""
    ranges, start, end, whole = [], 0, size, True
    while True:
        if old == end:
            if not whole:
                ranges.append((start, end))
            break
        k = _split(end - start)
        if old <= start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
            whole = False
    return ranges[::-1]


def needed_for_inclusion(index: int, size: int) -> set[Node]:
    _check_index(index, size)
    return {n for r in _inclusion_ranges(index, size) for n in _range_nodes(*r)}


def needed_for_consistency(old: int, size: int) -> set[Node]:
    _check_sizes(old, size)
    if old in (0, size):
        return set()
    return {n for r in _consistency_ranges(old, size) for n in _range_nodes(*r)}


def needed_for_root(size: int) -> set[Node]:
    return set(decomposition(size))


def inclusion_proof(index: int, size: int, nodes: Mapping[Node, bytes]) -> list[bytes]:
    _check_index(index, size)
    return [range_hash(a, b, nodes.__getitem__) for a, b in _inclusion_ranges(index, size)]


def consistency_proof(old: int, size: int, nodes: Mapping[Node, bytes]) -> list[bytes]:
    _check_sizes(old, size)
    if old in (0, size):
        return []
    return [range_hash(a, b, nodes.__getitem__) for a, b in _consistency_ranges(old, size)]


def root(size: int, nodes: Mapping[Node, bytes]) -> bytes:
    return range_hash(0, size, nodes.__getitem__)


def _check_index(index: int, size: int) -> None:
    if not 0 <= index < size:
        raise ProofError(f"index {index} is not in a tree of size {size}")


def _check_sizes(old: int, size: int) -> None:
    if not 0 <= old <= size:
        raise ProofError(f"a tree of size {old} cannot be a prefix of one of size {size}")


# --- appending --------------------------------------------------------------------------------


def append(size: int, frontier: Mapping[Node, bytes], leaves: Sequence[bytes]) -> list[tuple[int, int, bytes]]:
    """The complete interior nodes that leaves appended to a tree of `size` complete, given the
    tree's frontier (its decomposition's hashes): [(level, index, hash)] in the order made."""
    edge = Frontier((level, frontier[(level, index)]) for level, index in decomposition(size))
    made: list[tuple[int, int, bytes]] = []
    for value in leaves:
        made.extend(edge.push(value))
    return made


class Frontier:
    """The right edge of a growing tree: the roots of its decomposition as (level, hash), which
    is all an auditor holding only entries needs to extend it and recompute its root (O(log n))."""

    def __init__(self, stack: Iterable[tuple[int, bytes]] = ()) -> None:
        self.stack = list(stack)
        self.size = sum(1 << level for level, _ in self.stack)

    def push(self, value: bytes) -> list[tuple[int, int, bytes]]:
        """Append a leaf hash; the interior nodes it completes, as (level, index, hash)."""
        index, level, made = self.size, 0, []
        while self.stack and self.stack[-1][0] == level:
            value = node_hash(self.stack.pop()[1], value)
            level += 1
            made.append((level, index >> level, value))
        self.stack.append((level, value))
        self.size += 1
        return made

    def root(self) -> bytes:
        if not self.stack:
            return EMPTY_ROOT
        result = self.stack[-1][1]
        for _, left in reversed(self.stack[:-1]):
            result = node_hash(left, result)
        return result


def root_of_leaves(leaves: Iterable[bytes]) -> tuple[int, bytes]:
    """(size, root) of the tree of these leaf hashes, in O(log n) memory."""
    frontier = Frontier()
    for value in leaves:
        frontier.push(value)
    return frontier.size, frontier.root()


# --- verification (RFC 9162 2.1.3.2 and 2.1.4.2) ----------------------------------------------


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root_hash: bytes) -> None:
    """Raises ProofError unless `proof` shows leaf hash `leaf` at `index` in the tree of `size`
    whose root is `root_hash`."""
    if index >= size or index < 0:
        raise ProofError(f"index {index} is not in a tree of size {size}")
    _check_hashes(proof)
    if len(leaf) != HASH_SIZE or len(root_hash) != HASH_SIZE:
        raise ProofError(f"a leaf hash and a root are {HASH_SIZE} bytes")
    if _climb(index, size - 1, leaf, proof, size) != root_hash:
        raise ProofError(f"the proof of index {index} does not lead to the root of the tree of size {size}")


def _climb(fn: int, sn: int, r: bytes, proof: Sequence[bytes], size: int) -> bytes:
    """RFC 9162 2.1.3.2 from node index fn (of last index sn at its level) up to the root."""
    for p in proof:
        if sn == 0:
            raise ProofError(f"the proof has {len(proof)} hashes, more than a tree of size {size} needs")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError(f"the proof has {len(proof)} hashes, fewer than a tree of size {size} needs")
    return r


def verify_consistency(old: int, size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> None:
    """Raises ProofError unless `proof` shows the tree of `old` leaves (root `old_root`) is a
    prefix of the tree of `size` leaves (root `new_root`)."""
    if old > size or old < 0:
        raise ProofError(f"the log shrank: a tree of size {size} cannot extend one of size {old}")
    _check_hashes(proof)
    if old == 0:
        # Everything extends the empty tree; a proof "from 0" proves nothing (RFC 9162 has none).
        raise ProofError("there is no consistency proof from the empty tree")
    if old == size:
        if proof:
            raise ProofError("trees of the same size need an empty consistency proof")
        if old_root != new_root:
            raise ProofError(f"two different roots for the tree of size {size}")
        return
    if not proof:
        raise ProofError(f"an empty proof cannot show size {old} is a prefix of size {size}")
    path = list(proof)
    if old & (old - 1) == 0:  # an exact power of two: the old root is itself a node of the new tree
        path.insert(0, old_root)
    fn, sn = old - 1, size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError(f"the consistency proof has {len(proof)} hashes, more than needed")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError(f"the consistency proof has {len(proof)} hashes, fewer than needed")
    if fr != old_root:
        raise ProofError(f"the consistency proof does not lead to the root of the tree of size {old}")
    if sr != new_root:
        raise ProofError(f"the consistency proof does not lead to the root of the tree of size {size}")


def _check_hashes(proof: Sequence[bytes]) -> None:
    for i, value in enumerate(proof):
        if len(value) != HASH_SIZE:
            raise ProofError(f"proof hash {i} is {len(value)} bytes, not {HASH_SIZE}")


def subtree_inclusion_proof(level: int, index: int, size: int, nodes: Mapping[Node, bytes]) -> list[bytes]:
    """The proof that complete node (level, index) is in the tree of `size`: a leaf's inclusion
    proof without the hashes inside that node."""
    if (index + 1) << level > size:
        raise ProofError(f"node ({level}, {index}) is not complete in a tree of size {size}")
    return [range_hash(a, b, nodes.__getitem__) for a, b in _inclusion_ranges(index << level, size)[level:]]


def needed_for_subtree(level: int, index: int, size: int) -> set[Node]:
    start = index << level
    return {n for r in _inclusion_ranges(start, size)[level:] for n in _range_nodes(*r)}


def verify_subtree_inclusion(level: int, index: int, size: int, value: bytes, proof: Sequence[bytes],
                             root_hash: bytes) -> None:
    """verify_inclusion for a complete node of the tree instead of a leaf."""
    if (index + 1) << level > size:
        raise ProofError(f"node ({level}, {index}) is not complete in a tree of size {size}")
    if _climb(index, (size - 1) >> level, value, proof, size) != root_hash:
        raise ProofError(f"node ({level}, {index}) does not lead to the root of the tree of size {size}")
