"""`registry audit`: what a public auditor runs against a registry it does not run.

1. Fetch the checkpoint (through registry.network.Fetcher: the verifier's client and policy) and
   verify its signature with the log key the auditor was given.
2. Fetch the entry bundles (and level-0 tiles) from where the last run stopped, recompute every
   leaf hash and the root from the saved frontier: the root must be the signed one, and, since the
   old frontier is the one that gave the last verified root, the new tree extends the old one
   (consistency without trusting a proof). A smaller tree than last time is a rollback.
3. Replay the entries and re-check what the registry claims: every credential and endorsement
   proof verifies against the key history recorded in the log itself, with a key inside its
   validity when it was logged (read through the extension contexts the log registered before it); every suspension, reinstatement or revocation refers to an issued
   credential; no status-list entry is given to two credentials.
4. Save the checkpoint, the frontier, the replay's state and every verified leaf hash in --state
   (files 0600), so the next run fetches only what is new. When a later log does not extend the
   saved one, every entry is read again and the first one that differs from what was verified is
   named; --full reads every entry again on every run, comparing each with what was verified.

Offline (--export FILE --checkpoint FILE) the same checks run over an export. Any failure is an
AuditFailed naming the first divergent leaf and what diverged."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from registry.log import entries, note, tiles, tree
from registry.log.checkpoint import Checkpoint
from registry.network import Fetcher, FetchError
from registry.vc import contexts, multikey, proofs

STATE_FILE = "audit-state.json"
LEAVES_FILE = "leaves.bin"  # the leaf hashes verified so far: a later rewrite is named by its index


class AuditFailed(Exception):
    def __init__(self, position: int | None, problem: str) -> None:
        super().__init__(problem if position is None else f"leaf {position}: {problem}")
        self.position, self.problem = position, problem


@dataclass
class Replay:
    """What the log has said so far, as the audit's checks need it."""

    keys: dict[str, dict[str, Any]] = field(default_factory=dict)  # vm -> {key, added, retired, compromised}
    issuer_keys: dict[str, list[str]] = field(default_factory=dict)  # issuer aggregate id -> vms
    issued: set[str] = field(default_factory=set)  # credential aggregate ids
    slots: dict[str, str] = field(default_factory=dict)  # "list#index" -> credential id
    counts: dict[str, int] = field(default_factory=lambda: {"events": 0, "credentials": 0, "endorsements": 0})
    # The extension contexts the log registered (url -> [sha256, text]): later proofs are read
    # through them, and a resumed audit must know them without reading their entries again.
    extension_contexts: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"keys": self.keys, "issuer_keys": self.issuer_keys, "issued": sorted(self.issued),
                "slots": self.slots, "counts": self.counts, "extension_contexts": self.extension_contexts}

    @classmethod
    def of(cls, data: dict[str, Any]) -> Replay:
        replay = cls(data["keys"], data["issuer_keys"], set(data["issued"]), data["slots"], data["counts"],
                     data.get("extension_contexts", {}))
        for url, (sha256, text) in replay.extension_contexts.items():
            contexts.register(url, text.encode("utf-8"), sha256)
        return replay

    def apply(self, index: int, line: bytes) -> None:
        try:
            originator, _version, topic, state_bytes = entries.parse(line)
            state = json.loads(state_bytes)
        except (entries.EntryError, ValueError) as exc:
            raise AuditFailed(index, f"not a log entry: {exc}") from None
        try:
            self._apply(index, str(originator), topic.rsplit(":", 1)[-1], state)
        except (KeyError, TypeError, ValueError) as exc:  # a field missing or of the wrong kind
            raise AuditFailed(index, f"the entry's {topic.rsplit(':', 1)[-1]} event is malformed "
                                     f"({type(exc).__name__}: {exc})") from None

    def _apply(self, index: int, aggregate: str, kind: str, state: dict) -> None:
        when = state.get("timestamp")
        self.counts["events"] += 1
        if kind in ("Issuer.KeyAdded", "Issuer.KeyRotated"):
            if kind == "Issuer.KeyRotated":
                retired = self.keys.get(state["retired_verification_method"])
                if retired is None:
                    raise AuditFailed(index, f"rotates key {state['retired_verification_method']}, never added")
                retired["retired"] = when
            self.keys[state["verification_method"]] = {"key": state["public_key_multibase"], "added": when,
                                                       "retired": None, "compromised": None}
            self.issuer_keys.setdefault(aggregate, []).append(state["verification_method"])
        elif kind == "Issuer.KeyCompromised":
            found = self.keys.get(state["verification_method"])
            if found is None:
                raise AuditFailed(index, f"reports key {state['verification_method']} compromised, never added")
            # Signatures logged between `since` and this report were made with a key still in use:
            # they stand in the log (their status says compromised); none may follow the report.
            found["compromised"] = state["since"]
            found["retired"] = found["retired"] or when
        elif kind == "Credential.Issued":
            self._signed(index, state, when, "credential")
            self.issued.add(aggregate)
            self.counts["credentials"] += 1
            self._slot(index, aggregate, json.loads(state["document"]))
        elif kind in ("Credential.Suspended", "Credential.Reinstated", "Credential.Revoked"):
            if aggregate not in self.issued:
                raise AuditFailed(index, f"{kind.split('.')[1].lower()} credential {aggregate}, which was never issued")
        elif kind == "Endorsement.Endorsed":
            self._signed(index, state, when, "endorsement")
            self.counts["endorsements"] += 1
        elif kind == "ExtensionContext.Registered":
            self._context(index, state["url"], state["sha256"], state["document"])

    def _context(self, index: int, url: str, sha256: str, text: str) -> None:
        """Pin a context the log registered, as the registry did: exactly its recorded bytes, and
        one meaning per URL."""
        data = text.encode("utf-8")
        if hashlib.sha256(data).hexdigest() != sha256:
            raise AuditFailed(index, f"the context {url} registered does not have its recorded sha256 {sha256}")
        if self.extension_contexts.get(url, [sha256])[0] != sha256:
            raise AuditFailed(index, f"the context {url} is registered again with other bytes")
        self.extension_contexts[url] = [sha256, text]
        contexts.register(url, data, sha256)

    def _signed(self, index: int, state: dict, when: str, what: str) -> None:
        vm = state["verification_method"]
        key = self.keys.get(vm)
        if key is None:
            raise AuditFailed(index, f"{what} signed with {vm}, a key the log never recorded")
        at = _instant(when)
        if at < _instant(key["added"]) or (key["retired"] is not None and at >= _instant(key["retired"])):
            raise AuditFailed(index, f"{what} logged at {when}, outside the validity of key {vm} "
                                     f"({key['added']} until {key['retired'] or 'now'})")
        document = json.loads(state["document"])
        raw = multikey.decode_public_key(key["key"])
        checked = proofs.verify(document, lambda method: raw if method == vm else None)
        if not checked.ok:
            raise AuditFailed(index, f"the {what}'s proof does not verify against {vm}: {checked.reason}")

    def _slot(self, index: int, credential: str, document: dict) -> None:
        status = document.get("credentialStatus")
        for entry in status if isinstance(status, list) else [status] if isinstance(status, dict) else []:
            slot = f"{entry.get('statusListCredential')}#{entry.get('statusListIndex')}"
            other = self.slots.get(slot)
            if other is not None and other != credential:
                raise AuditFailed(index, f"status list entry {slot} given to credential {credential}, already "
                                         f"given to {other}")
            self.slots[slot] = credential


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass
class AuditResult:
    origin: str
    size: int
    root: bytes
    previous: int
    replay: Replay
    seconds: float
    bundles: int | None = None  # entry bundles fetched (online)

    def summary(self) -> str:
        c = self.replay.counts
        new = self.size - self.previous
        return (f"consistent: {self.origin} at size {self.size} (root {base64.b64encode(self.root).decode()}); "
                f"{new} new entries checked in {self.seconds:.2f} s ({c['credentials']} credentials, "
                f"{c['endorsements']} endorsements verified in all)")

    def as_dict(self) -> dict[str, Any]:
        return {"consistent": True, "origin": self.origin, "size": self.size,
                "root": base64.b64encode(self.root).decode(), "previous_size": self.previous,
                "seconds": round(self.seconds, 3), "bundles_fetched": self.bundles, **self.replay.counts}


class Auditor:
    def __init__(self, fetcher: Fetcher, progress: bool = False) -> None:
        self.fetcher = fetcher
        self.progress = progress
        self.fetched = 0  # entry bundles fetched by the last online run

    def online(self, url: str, vkey: str, state_dir: str | None, full: bool = False) -> AuditResult:
        _verifier(vkey)  # a malformed key is said before anything is fetched
        base = url.rstrip("/") + "/log/"
        self.fetched = 0
        text = self._get(base + "checkpoint", "the checkpoint", ("text/plain",))

        def bundles(start: int, size: int) -> Iterator[bytes]:
            for n in range(start // tiles.WIDTH, (size + tiles.WIDTH - 1) // tiles.WIDTH):
                width = min(tiles.WIDTH, size - n * tiles.WIDTH)
                data = self._get(base + tiles.tile_path("entries", n, width), f"entry bundle {n}",
                                 ("application/octet-stream",))
                self.fetched += 1
                leaf_tile = self._get(base + tiles.tile_path(0, n, width), f"tile 0/{n}", ("application/octet-stream",))
                try:
                    lines = tiles.unbundle(data, width)
                    claimed = tiles.split_hashes(leaf_tile, width)
                except tiles.TileError as exc:
                    raise AuditFailed(n * tiles.WIDTH, str(exc)) from None
                for offset, line in enumerate(lines):
                    index = n * tiles.WIDTH + offset
                    if tree.leaf_hash(line) != claimed[offset]:
                        raise AuditFailed(index, "the level-0 tile's hash differs from the entry's")
                    if index >= start:
                        yield line
        result = self._audit(text, vkey, state_dir, bundles, full)
        result.bundles = self.fetched
        return result

    def offline(self, export: str, checkpoint: str, vkey: str, state_dir: str | None,
                full: bool = False) -> AuditResult:
        text = _read(checkpoint)

        def lines(start: int, size: int) -> Iterator[bytes]:
            with open(export, "rb") as file:
                for index, raw in enumerate(file):
                    if index >= size:
                        return
                    if index >= start:
                        yield raw.rstrip(b"\n")
        return self._audit(text, vkey, state_dir, lines, full)

    def _get(self, url: str, what: str, kinds: tuple[str, ...]) -> bytes:
        try:
            return self.fetcher.raw(url, what, kinds=kinds, max_bytes=tiles.WIDTH * (tiles.MAX_ENTRY + 2))
        except FetchError as exc:
            raise AuditFailed(None, str(exc)) from None

    def _audit(self, signed: bytes, vkey: str, state_dir: str | None,
               source: Callable[[int, int], Iterator[bytes]], full: bool = False) -> AuditResult:
        started = time.perf_counter()
        verifier = _verifier(vkey)
        try:
            checkpoint = Checkpoint.parse(note.open_note(signed, verifier))
        except note.NoteError as exc:
            raise AuditFailed(None, f"checkpoint: {exc}") from None
        if checkpoint.origin != verifier.name:
            raise AuditFailed(None, f"the checkpoint is of log {checkpoint.origin!r}, the key of {verifier.name!r}")
        saved = _load(state_dir)
        previous = saved["size"] if saved else 0
        if checkpoint.size < previous:
            raise AuditFailed(checkpoint.size, f"the log shrank: {previous} entries were verified last time, the "
                                               f"checkpoint now says {checkpoint.size} (a rollback)")
        known = _load_leaves(state_dir, previous) if saved else b""
        resume = saved is not None and not full
        replay = Replay.of(saved["replay"]) if resume else Replay()
        frontier = tree.Frontier((level, base64.b64decode(h)) for level, h in saved["frontier"]) if resume \
            else tree.Frontier()
        if resume and (frontier.size != previous or frontier.root() != base64.b64decode(saved["root"])):
            raise AuditFailed(None, f"the saved state in {state_dir} is inconsistent; remove it to audit from the start")
        index, added = frontier.size, bytearray()
        for line in source(index, checkpoint.size):
            if index >= checkpoint.size:
                break
            value = tree.leaf_hash(line)
            if index < len(known) // tree.HASH_SIZE and known[index * 32:(index + 1) * 32] != value:
                raise AuditFailed(index, REWRITTEN)
            frontier.push(value)
            if index >= previous:
                added += value
            replay.apply(index, line)
            index += 1
            if self.progress and index % 1000 == 0:
                _bar(index, checkpoint.size)
        if index != checkpoint.size:
            raise AuditFailed(index, f"the log has {index} entries, the checkpoint says {checkpoint.size}")
        root = frontier.root()
        if root != checkpoint.root:
            if resume and known:  # name the entry that changed since the last run, reading all again
                for old, line in enumerate(source(0, previous)):
                    if known[old * 32:(old + 1) * 32] != tree.leaf_hash(line):
                        raise AuditFailed(old, REWRITTEN)
            raise AuditFailed(None, f"the entries give another root than the checkpoint of size {checkpoint.size}"
                                    + (f" (it no longer extends the tree of size {previous} verified last time)"
                                       if previous else ""))
        if self.progress:
            print(file=sys.stderr)
        if state_dir is not None:
            _save(state_dir, bytes(added), {
                "size": checkpoint.size, "root": base64.b64encode(root).decode(),
                "checkpoint": signed.decode("utf-8") if isinstance(signed, bytes) else signed,
                "frontier": [[lvl, base64.b64encode(h).decode()] for lvl, h in frontier.stack],
                "replay": replay.to_json()})
        return AuditResult(checkpoint.origin, checkpoint.size, root, previous, replay, time.perf_counter() - started)


def _verifier(vkey: str) -> note.Verifier:
    try:
        return note.Verifier.parse(vkey)
    except note.NoteError as exc:
        raise AuditFailed(None, f"--key: {exc}") from None


REWRITTEN = "the entry differs from the one verified on an earlier run: the log was rewritten"


def _bar(done: int, total: int) -> None:
    width = 40
    filled = width * done // max(total, 1)
    print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} entries", end="", file=sys.stderr, flush=True)


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise AuditFailed(None, f"cannot read {path}: {exc.strerror}") from None


def _load(state_dir: str | None) -> dict[str, Any] | None:
    if state_dir is None:
        return None
    path = Path(state_dir) / STATE_FILE
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise AuditFailed(None, f"the saved state {path} cannot be read ({exc})") from None


def _load_leaves(state_dir: str | None, size: int) -> bytes:
    """The leaf hashes verified so far (a crash may have left more than the state records)."""
    path = Path(state_dir) / LEAVES_FILE
    try:
        data = path.read_bytes() if path.exists() else b""
    except OSError as exc:
        raise AuditFailed(None, f"the saved leaves {path} cannot be read ({exc.strerror})") from None
    return data[:size * tree.HASH_SIZE] if len(data) >= size * tree.HASH_SIZE else b""


def _save(state_dir: str, added: bytes, data: dict[str, Any]) -> None:
    """The new leaf hashes first (appended), then the state that counts them, replaced at once."""
    directory = Path(state_dir)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    leaves = directory / LEAVES_FILE
    verified = (data["size"] * tree.HASH_SIZE) - len(added)
    with open(os.open(leaves, os.O_RDWR | os.O_CREAT, 0o600), "r+b") as out:
        out.truncate(verified)
        out.seek(verified)
        out.write(added)
    path = directory / STATE_FILE
    temporary = directory / (STATE_FILE + ".new")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        json.dump(data, out)
    os.replace(temporary, path)
