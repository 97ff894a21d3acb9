"""Status lists: every credential the registry issues takes one random entry of its issuer's
revocation list (allocation), and the signed BitstringStatusListCredential is made on request from
the revoked entries the read side knows (signing).

Allocation. The uniqueness of an entry is the event store's: a StatusListSlot named after
(issuer, purpose, list, index) is saved in the credential's transaction, so a concurrent writer
that drew the same entry fails and is retried with a new draw. To avoid drawing taken entries
(and to know when a list is 3/4 allocated) the allocator keeps a ledger of allocated entries,
caught up incrementally from the event log (StatusListSlot.Allocated events: small, and read only
after the last position seen). The ledger may lag a concurrent writer by a few entries: that costs
at worst a retry or a list a few entries past 3/4, never a duplicate.

Lists. An issuer's lists are numbered 1, 2, ...; a list takes entries until 3/4 of it is allocated
(98,304 of 131,072), so a random draw finds a free entry in at most four tries on average.

Suspension is not in any list: credentials carry one entry (OB 3.0), for revocation; the registry
answers suspension itself (status queries, verification reports)."""

from __future__ import annotations

import copy
import hashlib
import secrets
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from threading import Lock, RLock

import msgspec
from typing import Protocol
from uuid import UUID

from registry.commands.custody import KeyCustody
from registry.commands.records import Records
from registry.domain import DomainError, Issuer, NotAuthorised, NotFound
from registry.domain.status_list import LIST_SIZE, REVOCATION, StatusListSlot
from registry.settings import Config
from registry.store import EventStore
from registry.store.slot_snapshots import SlotSnapshots
from registry.vc import proofs, status_list
from registry.vc.openbadges import xsd_datetime

# Draws before giving up on a list that should be at most ~3/4 full: 0.75**200 is about 1e-25.
MAX_DRAWS = 200

ListKey = tuple[UUID, str, int]  # (issuer id, purpose, list number)


class RevocationFacts(Protocol):
    """What signing a list needs from the read side."""

    def revoked_indexes(self, list_url: str) -> set[int]: ...

    def status_list_exists(self, list_url: str) -> bool: ...

    def log_version(self) -> object:
        """Up to date, and a token any later write changes (Queries.log_version)."""


class PendingSlots:
    """Entries drawn in one transaction (a batch) but not yet stored: never drawn twice."""

    def __init__(self) -> None:
        self.slots: list[StatusListSlot] = []
        self.taken: dict[ListKey, set[int]] = defaultdict(set)
        self.ledger_read = False  # the ledger is caught up once per transaction, not per award


class StatusListSlots:
    """Allocates entries: the ledger of allocated entries per list, from the event log."""

    # Entries a list takes before the next list is opened (tests lower it to see lists roll over).
    capacity = LIST_SIZE * 3 // 4

    # Log positions between two snapshots of the ledger (registry.store.slot_snapshots).
    snapshot_every = 10_000

    def __init__(self, store: EventStore, config: Config, snapshots: SlotSnapshots | None = None) -> None:
        self.store = store
        self.config = config
        self.snapshots = snapshots
        self.lock = RLock()
        self.position = 0
        self.allocated: dict[ListKey, bytearray] = {}
        self.counts: dict[ListKey, int] = defaultdict(int)
        self._snapshot_read = False
        self._saved = 0  # the position of the newest snapshot this ledger read or wrote

    def allocate(self, issuer: Issuer, credential_id: UUID, pending: PendingSlots) -> dict:
        """The credentialStatus entry for a new credential; its slot joins `pending`, to be saved in
        the credential's transaction."""
        if not pending.ledger_read:
            self._catch_up()
            pending.ledger_read = True
        with self.lock:
            list_number = 1
            while True:
                key = (issuer.id, REVOCATION, list_number)
                if self.counts[key] + len(pending.taken[key]) < self.capacity:
                    break
                list_number += 1
            for _ in range(MAX_DRAWS):
                index = secrets.randbelow(LIST_SIZE)
                if not self._is_allocated(key, index) and index not in pending.taken[key]:
                    break
            else:
                raise DomainError(f"no free entry found in status list {list_number} of {issuer.slug} "
                                  f"after {MAX_DRAWS} draws")
        pending.taken[key].add(index)
        pending.slots.append(StatusListSlot.allocate(
            issuer_id=issuer.id, purpose=REVOCATION, list_number=list_number, index=index,
            credential_id=credential_id))
        return status_list.entry(self.config.status_list_url(issuer.slug, list_number), index)

    def _is_allocated(self, key: ListKey, index: int) -> bool:
        bits = self.allocated.get(key)
        return bits is not None and bool(bits[index >> 3] & (0x80 >> (index & 7)))

    def _catch_up(self) -> None:
        """Read the allocations logged since the ledger last looked (one query when none are new)."""
        with self.lock:
            if not self._snapshot_read and self.snapshots is not None:
                # A new process starts from the latest snapshot, not from the first allocation.
                self._snapshot_read = True
                position, lists = self.snapshots.load()
                if position > self.position:
                    for key, (bits, entries) in lists.items():
                        self.allocated[key], self.counts[key] = bits, entries
                    self.position = self._saved = position
            stop = self.store.max_position()
            for event in self.store.events_of(StatusListSlot.Allocated, after=self.position, stop=stop):
                key = (event.issuer_id, event.purpose, event.list_number)
                bits = self.allocated.get(key)
                if bits is None:
                    bits = self.allocated[key] = bytearray(LIST_SIZE // 8)
                mask = 0x80 >> (event.index & 7)
                if not bits[event.index >> 3] & mask:
                    bits[event.index >> 3] |= mask
                    self.counts[key] += 1
            self.position = max(self.position, stop)
            if self.snapshots is not None and self.position - self._saved >= self.snapshot_every:
                self.snapshots.save(self.position, {key: (bits, self.counts[key]) for key, bits in self.allocated.items()})
                self._saved = self.position


class StatusListCommands:
    """Signs an issuer's BitstringStatusListCredential, as of the revocations the read side has
    (which reflect every revocation that returned before the request)."""

    def __init__(self, records: Records, custody: KeyCustody, config: Config,
                 facts: RevocationFacts, clock: Callable[[], datetime]) -> None:
        self.records = records
        self.custody = custody
        self.config = config
        self.facts = facts
        self.clock = clock
        # Signed list credentials by (list URL, signing key, number of revoked entries): revocation
        # is irreversible, so the count names the revoked set and a repeated request is not re-signed.
        self._signed: dict[str, tuple[tuple[str, int], dict]] = {}
        # The signed list as served (its JSON bytes and strong ETag) by (slug, list number), with the
        # log's version it was made at: until the next write anywhere it is the answer, byte for byte,
        # so a read costs one look at that version (on SQLite the file's data_version, microseconds;
        # on PostgreSQL the last position). Any host's write changes it, so no host serves a list
        # older than an acknowledged revocation.
        self._published: dict[tuple[str, int], tuple[object, bytes, str]] = {}
        self._lock = Lock()

    def cached(self, slug: str, list_number: int, version: tuple[str, int]) -> tuple[bytes, str] | None:
        """`published` as made when the log was at `version` (Queries.log_version), if it was."""
        with self._lock:
            found = self._published.get((slug, list_number))
        return (found[1], found[2]) if found is not None and found[0] == version else None

    def published(self, slug: str, list_number: int = 1, version: tuple[str, int] | None = None) -> tuple[bytes, str]:
        """The signed BitstringStatusListCredential as JSON bytes, and its strong ETag (the first
        128 bits of their SHA-256), made again only after a write. `version`: the caller just read
        Queries.log_version (the read models are at least there)."""
        position = version or self.facts.log_version()  # read first: what is made below reflects at least it
        found = self.cached(slug, list_number, position)
        if found is not None:
            return found
        body = msgspec.json.encode(self.sign(slug, list_number))
        etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
        with self._lock:
            if len(self._published) > 4096:  # bounded: lists asked for once are forgotten first
                self._published.pop(next(iter(self._published)))
            self._published[(slug, list_number)] = (position, body, etag)
        return body, etag

    def sign(self, slug: str, list_number: int = 1) -> dict:
        issuer = self.records.issuer(slug)
        url = self.config.status_list_url(issuer.slug, list_number)
        # List 1 always exists (it may be empty); a later one once an entry of it was issued.
        if list_number != 1 and not self.facts.status_list_exists(url):
            raise NotFound(f"issuer {issuer.slug} has no status list {list_number}")
        key = issuer.require_signing_key()
        if not self.custody.holds(key.public_key_multibase):
            raise NotAuthorised(f"{issuer.slug} holds its own key: the registry cannot sign its status list")
        revoked = self.facts.revoked_indexes(url)
        cache_key = (key.verification_method, len(revoked))
        with self._lock:
            cached_key, signed = self._signed.get(url, (None, None))
        if cached_key != cache_key:
            now = xsd_datetime(self.clock())
            document = status_list.status_list_credential(
                url, issuer.did, status_list.encode(revoked, LIST_SIZE), valid_from=now)
            signer = self.custody.signer(key.public_key_multibase, key.verification_method)
            signed = proofs.sign(document, signer, created=now)
            with self._lock:
                self._signed[url] = (cache_key, signed)
        return copy.deepcopy(signed)
