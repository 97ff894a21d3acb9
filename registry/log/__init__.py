"""The transparency log: every stored event a leaf of an RFC 9162 Merkle tree (written with the
events), C2SP checkpoints signed after every write, tlog-tiles, proofs, receipts, `registry
import`, and `registry audit`. Pure formats and algorithms (tree, note, checkpoint, tiles,
entries, receipts) beside the one module that knows the log's tables (storage), the signer with
its pre-signing check (checkpoints), the read side the edges use (service) and the auditor (audit)."""
