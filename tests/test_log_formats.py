"""The transparency log's pure formats: RFC 9162 Merkle trees (transparency-dev vectors, RFC 6962
reference roots, a naive reference of PATH and PROOF), C2SP signed notes, checkpoints, tlog-tiles
paths and bundles, and the log entry line. Vector sources: tests/vectors/tlog/SOURCE.md."""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Mapping
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from uuid import UUID

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from registry.log import tree
from registry.log.checkpoint import Checkpoint
from registry.log.entries import EntryError, entry, parse
from registry.log.note import NoteError, Verifier, key_id, open_note, sign
from registry.log.tiles import TileError, bundle, index_path, parse_tile_path, tile_path, tiles_for, unbundle
from registry.log.tree import ProofError

VECTORS = Path(__file__).resolve().parent / "vectors" / "tlog"


# --- transparency-dev vectors ------------------------------------------------------------------


def _vector_files(kind: str) -> list[Path]:
    return sorted((VECTORS / kind).rglob("*.json"))


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


def _proof(vector: dict) -> list[bytes]:
    return [_b64(h) for h in vector.get("proof") or []]


def test_vector_files_match_their_checksums():
    listed = {}
    for line in (VECTORS / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ", 1)
        listed[name] = digest
    on_disk = {p.relative_to(VECTORS).as_posix() for p in _vector_files("inclusion") + _vector_files("consistency")}
    assert set(listed) == on_disk
    assert len(listed) == 196
    for name, digest in listed.items():
        assert hashlib.sha256((VECTORS / name).read_bytes()).hexdigest() == digest, name


def test_vector_set_has_both_outcomes():
    outcomes = {}
    for kind in ("inclusion", "consistency"):
        wanted = [json.loads(p.read_text())["wantErr"] for p in _vector_files(kind)]
        outcomes[kind] = (len(wanted), wanted.count(False), wanted.count(True))
    assert outcomes == {"inclusion": (98, 6, 92), "consistency": (98, 6, 92)}


@pytest.mark.parametrize("path", _vector_files("inclusion"), ids=lambda p: p.relative_to(VECTORS).as_posix())
def test_inclusion_vector(path):
    v = json.loads(path.read_text())
    args = (v["leafIdx"], v["treeSize"], _b64(v["leafHash"]), _proof(v), _b64(v["root"]))
    if v["wantErr"]:
        with pytest.raises(ProofError):
            tree.verify_inclusion(*args)
    else:
        tree.verify_inclusion(*args)


@pytest.mark.parametrize("path", _vector_files("consistency"), ids=lambda p: p.relative_to(VECTORS).as_posix())
def test_consistency_vector(path):
    v = json.loads(path.read_text())
    args = (v["size1"], v["size2"], _b64(v["root1"]), _b64(v["root2"]), _proof(v))
    if v["wantErr"]:
        with pytest.raises(ProofError):
            tree.verify_consistency(*args)
    else:
        tree.verify_consistency(*args)


# --- RFC 6962 reference tree (transparency-dev testonly/constants.go) --------------------------

RFC6962_LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                  "606162636465666768696a6b6c6d6e6f"]
RFC6962_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def _grow(nodes: dict, size: int, leaves: list[bytes]) -> None:
    frontier = {n: nodes[n] for n in tree.decomposition(size)}
    for offset, value in enumerate(leaves):
        nodes[(0, size + offset)] = value
    for level, index, value in tree.append(size, frontier, leaves):
        nodes[(level, index)] = value


def test_rfc6962_roots_from_leaves():
    hashes = [tree.leaf_hash(bytes.fromhex(x)) for x in RFC6962_LEAVES]
    for size, expected in enumerate(RFC6962_ROOTS):
        assert tree.root_of_leaves(hashes[:size]) == (size, bytes.fromhex(expected))


def test_rfc6962_roots_from_stored_nodes():
    nodes: dict = {}
    assert tree.root(0, nodes).hex() == RFC6962_ROOTS[0]
    for size, leaf in enumerate(RFC6962_LEAVES):
        _grow(nodes, size, [tree.leaf_hash(bytes.fromhex(leaf))])
        assert tree.root(size + 1, nodes).hex() == RFC6962_ROOTS[size + 1]
    assert tree.root(8, nodes).hex() == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    assert len(nodes) == 15


# --- stored-node proofs against a naive RFC 9162 reference ------------------------------------

LEAVES = tuple(hashlib.sha256(b"\x00" + f"entry {i}".encode()).digest() for i in range(1000))
ALL_PAIRS = range(1, 71)
SIZES = [pytest.param(ALL_PAIRS, id="1-70"), *(pytest.param((n,), id=str(n)) for n in (255, 256, 257, 1000))]


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


@cache
def mth(lo: int, hi: int) -> bytes:
    n = hi - lo
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return LEAVES[lo]
    k = _split(n)
    return hashlib.sha256(b"\x01" + mth(lo, lo + k) + mth(lo + k, hi)).digest()


def ref_path(m: int, lo: int, hi: int) -> list[tuple[bytes, bool]]:
    """PATH(m, D[lo:hi]) as (hash, sibling is on the left)."""
    n = hi - lo
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return ref_path(m, lo, lo + k) + [(mth(lo + k, hi), False)]
    return ref_path(m - k, lo + k, hi) + [(mth(lo, lo + k), True)]


def ref_subproof(m: int, lo: int, hi: int, whole: bool) -> list[tuple[bytes, bool]]:
    """SUBPROOF(m, D[lo:hi], b) as (hash, lies left of the old tree's edge)."""
    n = hi - lo
    if m == n:
        return [] if whole else [(mth(lo, hi), True)]
    k = _split(n)
    if m <= k:
        return ref_subproof(m, lo, lo + k, whole) + [(mth(lo + k, hi), False)]
    return ref_subproof(m - k, lo + k, hi, False) + [(mth(lo, lo + k), True)]


def inclusion_shape(index: int, size: int) -> tuple[bool, ...]:
    return tuple(left for _, left in ref_path(index, 0, size))


def consistency_shape(old: int, size: int) -> tuple:
    return old & (old - 1) == 0, tuple(left for _, left in ref_subproof(old, 0, size, True))


@cache
def stored(size: int) -> dict:
    nodes: dict = {}
    at, chunk = 0, 1
    while at < size:
        take = min(chunk, size - at)
        _grow(nodes, at, list(LEAVES[at:at + take]))
        at, chunk = at + take, chunk % 7 + 1
    return nodes


def _complete_nodes(size: int) -> set:
    return {(level, index) for level in range(size.bit_length())
            for index in range(size >> level)}


class _Reads(Mapping):
    """The stored nodes, remembering which of them a proof read."""

    def __init__(self, nodes: dict) -> None:
        self.nodes, self.read = nodes, set()

    def __getitem__(self, node):
        self.read.add(node)
        return self.nodes[node]

    def __iter__(self):
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)


def _bound(size: int) -> float:
    return 2 * math.log2(size) + 2


def _flip(value: bytes, bit: int) -> bytes:
    raw = bytearray(value)
    raw[bit // 8 % len(raw)] ^= 1 << bit % 8
    return bytes(raw)


@pytest.mark.parametrize("sizes", SIZES)
def test_stored_nodes_are_the_complete_subtrees(sizes):
    for size in sizes:
        nodes = stored(size)
        assert set(nodes) == _complete_nodes(size), size
        for (level, index), value in nodes.items():
            assert value == mth(index << level, (index + 1) << level), (size, level, index)
        assert tree.root(size, nodes) == mth(0, size), size
        assert tree.root_of_leaves(LEAVES[:size]) == (size, mth(0, size))


@pytest.mark.parametrize("sizes", SIZES)
def test_inclusion_proofs_match_the_reference(sizes):
    for size in sizes:
        nodes, root = stored(size), mth(0, size)
        for index in range(size):
            reads = _Reads(nodes)
            proof = tree.inclusion_proof(index, size, reads)
            assert proof == [h for h, _ in ref_path(index, 0, size)], (index, size)
            tree.verify_inclusion(index, size, LEAVES[index], proof, root)
            needed = tree.needed_for_inclusion(index, size)
            assert needed == reads.read, (index, size)
            assert needed <= set(nodes), (index, size)
            assert len(needed) <= _bound(size), (index, size)


@pytest.mark.parametrize("sizes", SIZES)
def test_consistency_proofs_match_the_reference(sizes):
    for size in sizes:
        nodes, root = stored(size), mth(0, size)
        for old in range(1, size + 1):
            reads = _Reads(nodes)
            proof = tree.consistency_proof(old, size, reads)
            assert proof == [h for h, _ in ref_subproof(old, 0, size, True)], (old, size)
            tree.verify_consistency(old, size, mth(0, old), root, proof)
            needed = tree.needed_for_consistency(old, size)
            assert needed == reads.read, (old, size)
            assert needed <= set(nodes), (old, size)
            assert len(needed) <= _bound(size), (old, size)


def _accepts(verify, *args) -> bool:
    try:
        verify(*args)
    except ProofError:
        return False
    return True


def _mutants(proof: list[bytes], seed: int) -> list[list[bytes]]:
    flipped = [proof[:j] + [_flip(h, seed + 7 * j)] + proof[j + 1:] for j, h in enumerate(proof)]
    dropped = [proof[:j] + proof[j + 1:] for j in range(len(proof))]
    return flipped + dropped + [proof + [LEAVES[0]], [LEAVES[0]] + proof]


def test_mutated_inclusion_proofs_are_refused():
    wrong, checked = [], 0
    for size in ALL_PAIRS:
        nodes, root = stored(size), mth(0, size)
        for index in range(size):
            proof = tree.inclusion_proof(index, size, nodes)
            leaf = LEAVES[index]
            claims = [(index, size, leaf, mutant, root) for mutant in _mutants(proof, index)]
            claims += [(index, size, _flip(leaf, index), proof, root),
                       (index, size, leaf, proof, _flip(root, index))]
            claims += [(other, size, leaf, proof, root) for other in {index - 1, index + 1, size, -1} - {index}]
            for claim in claims:
                checked += 1
                if _accepts(tree.verify_inclusion, *claim):
                    wrong.append(("accepted", size, claim[:2]))
            for other in (size - 1, size + 1, 2 * size):
                honest = other > index and inclusion_shape(index, other) == inclusion_shape(index, size)
                if _accepts(tree.verify_inclusion, index, other, leaf, proof, root) != honest:
                    wrong.append(("size", size, index, other))
    assert wrong == []
    assert checked == 47998


def test_mutated_consistency_proofs_are_refused():
    wrong, checked = [], 0
    for size in ALL_PAIRS:
        nodes, root = stored(size), mth(0, size)
        for old in range(1, size + 1):
            proof = tree.consistency_proof(old, size, nodes)
            old_root = mth(0, old)
            claims = [(old, size, old_root, root, mutant) for mutant in _mutants(proof, old)]
            claims += [(old, size, _flip(old_root, old), root, proof),
                       (old, size, old_root, _flip(root, old), proof)]
            for claim in claims:
                checked += 1
                if _accepts(tree.verify_consistency, *claim):
                    wrong.append(("accepted", size, claim[:2]))
            for other_old, other_size in ((old - 1, size), (old + 1, size), (old, size - 1), (old, size + 1)):
                honest = 0 < other_old <= other_size and \
                    consistency_shape(other_old, other_size) == consistency_shape(old, size)
                if _accepts(tree.verify_consistency, other_old, other_size, old_root, root, proof) != honest:
                    wrong.append(("sizes", size, old, other_old, other_size))
    assert wrong == []
    assert checked == 37472


def test_proofs_do_not_bind_the_tree_size():
    """RFC 9162 proofs take the size from the signed checkpoint: a proof for size 3 is also a
    well-formed proof for size 4 against the size-3 root."""
    nodes = stored(3)
    tree.verify_inclusion(0, 4, LEAVES[0], tree.inclusion_proof(0, 3, nodes), mth(0, 3))
    tree.verify_consistency(1, 4, mth(0, 1), mth(0, 3), tree.consistency_proof(1, 3, nodes))
    with pytest.raises(ProofError):
        tree.verify_inclusion(0, 5, LEAVES[0], tree.inclusion_proof(0, 3, nodes), mth(0, 3))


def test_proof_requests_outside_the_tree_are_refused():
    nodes = stored(8)
    for index, size in ((8, 8), (-1, 8), (0, 0)):
        with pytest.raises(ProofError):
            tree.inclusion_proof(index, size, nodes)
        with pytest.raises(ProofError):
            tree.needed_for_inclusion(index, size)
    for old, size in ((9, 8), (-1, 8)):
        with pytest.raises(ProofError):
            tree.consistency_proof(old, size, nodes)
        with pytest.raises(ProofError):
            tree.needed_for_consistency(old, size)
    assert tree.consistency_proof(8, 8, nodes) == []
    assert tree.needed_for_consistency(0, 8) == set()


# --- signed notes ------------------------------------------------------------------------------

C2SP_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
C2SP_NOTE = ("This is an example message.\n\n\u2014 example.com/foo "
             "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n")

GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = ("If you think cryptography is the answer to your problem,\n"
           "then you don't know what your problem is.\n")
GO_SIGNATURE = ("\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdng"
                "otpRZb6KE6RyyBwJnAM=\n")
GO_NOTE = GO_TEXT + "\n" + GO_SIGNATURE
ENOCH_SIGNATURE = ("\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox"
                   "33WWd1RvMc+QQ=\n")


def _go_private_key() -> Ed25519PrivateKey:
    raw = base64.b64decode(GO_SKEY.split("+", 4)[4])
    assert raw[0] == 0x01 and len(raw) == 33
    return Ed25519PrivateKey.from_private_bytes(raw[1:])


def test_c2sp_example_note_verifies():
    verifier = Verifier.parse(C2SP_VKEY)
    assert (verifier.name, verifier.key_id) == ("example.com/foo", 0x530D903A)
    assert verifier.vkey == C2SP_VKEY
    assert open_note(C2SP_NOTE, verifier) == "This is an example message.\n"
    assert open_note(C2SP_NOTE.encode(), verifier) == "This is an example message.\n"


def test_go_note_is_reproduced_by_signing():
    private = _go_private_key()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    verifier = Verifier.parse(GO_VKEY)
    assert verifier.public_key == public
    assert key_id("PeterNeumann", public) == 0xC74F20A3
    assert sign(GO_TEXT, "PeterNeumann", public, private.sign) == GO_NOTE
    assert open_note(GO_NOTE, verifier) == GO_TEXT


def test_signatures_by_unknown_keys_are_ignored():
    verifier = Verifier.parse(GO_VKEY)
    assert open_note(GO_NOTE + ENOCH_SIGNATURE, verifier) == GO_TEXT
    assert open_note(GO_TEXT + "\n" + ENOCH_SIGNATURE + GO_SIGNATURE, verifier) == GO_TEXT
    with pytest.raises(NoteError, match="no signature"):
        open_note(GO_TEXT + "\n" + ENOCH_SIGNATURE, verifier)


def test_signing_refuses_a_key_that_does_not_match():
    public = _go_private_key().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    with pytest.raises(NoteError):
        sign(GO_TEXT, "PeterNeumann", public, Ed25519PrivateKey.generate().sign)
    with pytest.raises(NoteError):
        sign(GO_TEXT.rstrip("\n"), "PeterNeumann", public, _go_private_key().sign)
    with pytest.raises(NoteError):
        sign("a\x01b\n", "PeterNeumann", public, _go_private_key().sign)


def _tampered_signature() -> str:
    blob = bytearray(base64.b64decode(GO_SIGNATURE.split(" ")[2]))
    blob[10] ^= 0x01
    return f"\u2014 PeterNeumann {base64.b64encode(bytes(blob)).decode()}\n"


@pytest.mark.parametrize(("note", "reason"), [
    (GO_NOTE.replace("your problem,", "your problems,"), "does not verify"),
    (GO_TEXT + "\n" + _tampered_signature(), "does not verify"),
    (GO_TEXT + "\n" + GO_SIGNATURE.replace("PeterNeumann", "PeterNeuman"), "no signature"),
    (GO_TEXT + GO_SIGNATURE, "no blank line"),
    (GO_NOTE.rstrip("\n"), "no blank line"),
    (GO_NOTE.replace("\u2014", "-"), "not a signature line"),
    (GO_NOTE.encode()[:-3] + b"\xff\n", "UTF-8"),
    (b"If you think \xff\n\n" + GO_SIGNATURE.encode(), "UTF-8"),
    (GO_NOTE.replace("cryptography", "crypto\x01graphy"), "control"),
    (GO_NOTE.replace("cryptography", "crypto\tgraphy"), "control"),
    (GO_NOTE.replace("cryptography", "crypto\rgraphy"), "control"),
    (GO_NOTE.replace("x08go/", "x08go!"), "base64"),
], ids=["tampered-text", "bad-signature", "other-name", "no-blank-line", "no-final-newline", "ascii-dash",
        "non-utf8-signature", "non-utf8-text", "control-char", "tab", "carriage-return", "bad-base64"])
def test_bad_notes_are_refused(note, reason):
    with pytest.raises(NoteError, match=reason):
        open_note(note, Verifier.parse(GO_VKEY))


def test_a_note_is_refused_under_another_key():
    with pytest.raises(NoteError, match="no signature"):
        open_note(GO_NOTE, Verifier.parse(C2SP_VKEY))
    with pytest.raises(NoteError, match="no signature"):
        open_note(C2SP_NOTE, Verifier.parse(GO_VKEY))
    other = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    with pytest.raises(NoteError, match="no signature"):
        open_note(GO_NOTE, Verifier.of("PeterNeumann", other))


@pytest.mark.parametrize(("vkey", "reason"), [
    ("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "does not match"),
    ("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "lowercase hex"),
    ("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "not an Ed25519"),
    ("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==", "32 bytes"),
    (f"PeterNeumann+c74f20a3+{base64.b64encode(bytes([1]) + bytes(31)).decode()}", "32 bytes"),
    ("PeterNeumann+c74f20a3", "three parts"),
    ("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "key name"),
    ("+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "key name"),
    ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq!LDE4izWy10TW", "base64"),
    ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW+x", "base64"),
], ids=["wrong-id", "uppercase-id", "wrong-type", "wrong-length", "short-key", "two-parts", "space-in-name",
        "empty-name", "bad-base64", "trailing-plus"])
def test_malformed_verifier_keys_are_refused(vkey, reason):
    with pytest.raises(NoteError, match=reason):
        Verifier.parse(vkey)


# --- checkpoints -------------------------------------------------------------------------------

ROOT = hashlib.sha256(b"root").digest()
ROOT_B64 = base64.b64encode(ROOT).decode()
C2SP_CHECKPOINT = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"


def test_checkpoint_text_and_round_trip():
    moment = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)
    checkpoint = Checkpoint("badges.example.org/log", 12345, ROOT, moment)
    assert checkpoint.text == f"badges.example.org/log\n12345\n{ROOT_B64}\ntime 2025-01-02T03:04:05.678901Z\n"
    assert Checkpoint.parse(checkpoint.text) == checkpoint
    plain = Checkpoint("badges.example.org/log", 0, tree.EMPTY_ROOT)
    assert plain.text == "badges.example.org/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
    assert Checkpoint.parse(plain.text) == plain
    extended = Checkpoint("o", 7, ROOT, moment, ("note one", "time is not this"))
    assert Checkpoint.parse(extended.text) == extended
    assert extended.text.endswith("\ntime 2025-01-02T03:04:05.678901Z\nnote one\ntime is not this\n")


def test_c2sp_example_checkpoint_parses():
    checkpoint = Checkpoint.parse(C2SP_CHECKPOINT)
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert checkpoint.root.hex() == "0ac5186a91863e8e1d90c808014aa89bf5da8e3ee1d9f07630f0378f68f1ab62"
    assert (checkpoint.time, checkpoint.extensions) == (None, ())
    assert checkpoint.text == C2SP_CHECKPOINT


@pytest.mark.parametrize("text", [
    f"o\n012\n{ROOT_B64}\n",
    f"o\n+12\n{ROOT_B64}\n",
    f"o\n 12\n{ROOT_B64}\n",
    f"o\n\n{ROOT_B64}\n",
    f"o\n12\n{base64.b64encode(ROOT[:31]).decode()}\n",
    f"o\n12\n{base64.b64encode(ROOT + b'x').decode()}\n",
    f"o\n12\n{ROOT_B64.rstrip('=')}\n",
    f"o\n12\n{ROOT_B64}\n\n",
    f"o\n12\n{ROOT_B64}\n\ntime 2025-01-02T03:04:05.678901Z\n",
    f"o\n12\n{ROOT_B64}",
    f"o\n12\n{ROOT_B64}\ntime 2025-01-02T03:04:05.678901Z",
    f"\n12\n{ROOT_B64}\n",
    "o\n12\n",
], ids=["leading-zero", "plus-sign", "space", "empty-size", "root-31-bytes", "root-33-bytes", "unpadded-root",
        "empty-extension", "empty-line-before-time", "no-final-newline", "no-final-newline-after-time",
        "empty-origin", "no-root"])
def test_bad_checkpoints_are_refused(text):
    with pytest.raises(NoteError):
        Checkpoint.parse(text)


# --- tiles -------------------------------------------------------------------------------------


def test_index_paths():
    assert index_path(1234067) == "x001/x234/067"
    assert index_path(5) == "005"
    assert index_path(0) == "000"
    assert index_path(1000) == "x001/000"
    assert tile_path(0, 1234067) == "tile/0/x001/x234/067"
    assert tile_path("entries", 5, 17) == "tile/entries/005.p/17"


def test_tile_paths_round_trip():
    for level in ("0", "1", "63", "entries"):
        for n in (0, 5, 999, 1000, 1234, 1234067, 10**9):
            for width in (1, 17, 255, 256):
                path = tile_path(level, n, width)
                assert path.startswith("tile/")
                assert parse_tile_path(path.removeprefix("tile/")) == (level, n, width)


@pytest.mark.parametrize("path", [
    "0/x000/005", "0/5", "0/05", "0/0005", "0/005.p/256", "0/005.p/0", "0/005.p/007", "0/005.p/",
    "64/000", "00/005", "-1/005", "entries/abc", "entries/", "0/x1/005", "0/x001/5", "0/005/", "1/x001",
    "0/x001/x000", "Entries/005",
])
def test_non_canonical_tile_paths_are_refused(path):
    with pytest.raises(TileError):
        parse_tile_path(path)


def test_tiles_for():
    assert tiles_for(70000, 0) == (273, 112)
    assert tiles_for(70000, 1) == (1, 17)
    assert tiles_for(70000, 2) == (0, 1)
    assert tiles_for(256, 0) == (1, 0)
    assert tiles_for(0, 0) == (0, 0)


def test_bundles_round_trip():
    entries = [b"", b"a", b"x" * 300, bytes(range(256)), b"\x00" * 0xFFFF]
    data = bundle(entries)
    assert data[:5] == b"\x00\x00\x00\x01a"
    assert len(data) == 2 * len(entries) + sum(map(len, entries))
    assert unbundle(data, len(entries)) == entries
    assert unbundle(b"", 0) == []


def test_truncated_and_miscounted_bundles_are_refused():
    entries = [b"first", b"", b"third entry"]
    data = bundle(entries)
    for cut in range(len(data)):
        with pytest.raises(TileError):
            unbundle(data[:cut], len(entries))
    with pytest.raises(TileError):
        unbundle(data, 2)
    with pytest.raises(TileError):
        unbundle(data + b"\x00", 3)
    with pytest.raises(TileError):
        bundle([b"x" * 0x10000])


# --- entries -----------------------------------------------------------------------------------

ENTRY_ID = UUID("0f8fad5b-d9cb-469f-a165-70867728950e")
ENTRY_TOPIC = "registry.domain.issuer:Issuer.Registered"
ENTRY_STATE = b'{"a":1,"b":[true,null],"c":"\\u00e9"}'
ENTRY_LINE = (b'{"originator_id":"0f8fad5b-d9cb-469f-a165-70867728950e","originator_version":3,'
              b'"topic":"registry.domain.issuer:Issuer.Registered","state":{"a":1,"b":[true,null],"c":"\\u00e9"}}')


def test_entry_round_trip():
    line = entry(ENTRY_ID, 3, ENTRY_TOPIC, ENTRY_STATE)
    assert line == ENTRY_LINE
    assert parse(line) == (ENTRY_ID, 3, ENTRY_TOPIC, ENTRY_STATE)
    assert parse(entry(ENTRY_ID, 0, "t\u00e9\"x", b"{}")) == (ENTRY_ID, 0, "t\u00e9\"x", b"{}")


@pytest.mark.parametrize("line", [
    ENTRY_LINE.replace(b'","originator_version"', b'", "originator_version"'),
    ENTRY_LINE.replace(b'"originator_version":3', b'"originator_version": 3'),
    ENTRY_LINE + b"\n",
    b" " + ENTRY_LINE,
    b'{"originator_version":3,"originator_id":"0f8fad5b-d9cb-469f-a165-70867728950e",'
    b'"topic":"registry.domain.issuer:Issuer.Registered","state":{"a":1}}',
    ENTRY_LINE.replace(b"0f8fad5b-d9cb", b"0F8FAD5B-D9CB"),
    ENTRY_LINE.replace(b"0f8fad5b-d9cb-469f-a165-70867728950e", b"0f8fad5bd9cb469fa16570867728950e"),
    ENTRY_LINE.replace(b'"originator_version":3', b'"originator_version":03'),
    ENTRY_LINE.replace(b'"originator_version":3', b'"originator_version":-3'),
    ENTRY_LINE.replace(b'"topic":"registry', b'"topic":"\\u0072egistry'),
    ENTRY_LINE.replace(b'"state":{"a":1,"b":[true,null],"c":"\\u00e9"}', b'"state":[1]'),
    ENTRY_LINE[:-1],
], ids=["space-after-comma", "space-after-colon", "trailing-newline", "leading-space", "reordered-keys",
        "uppercase-uuid", "unhyphenated-uuid", "leading-zero-version", "negative-version", "escaped-topic",
        "state-not-object", "missing-brace"])
def test_non_canonical_entries_are_refused(line):
    with pytest.raises(EntryError):
        parse(line)
