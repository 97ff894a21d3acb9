"""Status lists: every credential the registry issues takes one random entry of its issuer's
revocation list, and the signed BitstringStatusListCredential is regenerated on request.

Allocation. The uniqueness of an entry is the event store's: a StatusListSlot named after
(issuer, purpose, list, index) is saved in the credential's transaction, so a concurrent writer
that drew the same entry fails and is retried with a new draw. To avoid drawing taken entries
(and to know when a list is 3/4 allocated) the application keeps a ledger of allocated entries,
caught up incrementally from the event log (StatusListSlot.Allocated events: small, and read only
after the last position seen). The ledger may lag a concurrent writer by a few entries: that costs
at worst a retry or a list a few entries past 3/4, never a duplicate.

Lists. An issuer's lists are numbered 1, 2, ...; a list takes entries until 3/4 of it is allocated
(98,304 of 131,072), so a random draw finds a free entry in at most four tries on average.

Suspension is not in any list: credentials carry one entry (OB 3.0), for revocation; the registry
answers suspension itself (status queries, verification reports)."""

from __future__ import annotations

import copy
import secrets
from collections import defaultdict
from threading import RLock
from uuid import UUID

from eventsourcing.utils import get_topic

from registry.application.registry import PAGE, RegistryCore, xsd_datetime
from registry.domain import DomainError, Issuer, NotAuthorised, NotFound
from registry.domain.status_list import LIST_SIZE, REVOCATION, StatusListSlot
from registry.projections.read_model import read_model
from registry.vc import did, multikey, proofs, status_list
from registry.vc.errors import DocumentError

# Draws before giving up on a list that should be at most ~3/4 full: 0.75**200 is about 1e-25.
MAX_DRAWS = 200

ListKey = tuple[UUID, str, int]  # (issuer id, purpose, list number)


class PendingSlots:
    """Entries drawn in one transaction (a batch) but not yet stored: never drawn twice."""

    def __init__(self) -> None:
        self.slots: list[StatusListSlot] = []
        self.taken: dict[ListKey, set[int]] = defaultdict(set)
        self.ledger_read = False  # the ledger is caught up once per transaction, not per award


class _Ledger:
    """Allocated entries per list, from the event log (revocations are the projection's)."""

    def __init__(self) -> None:
        self.lock = RLock()
        self.position = 0
        self.allocated: dict[ListKey, bytearray] = {}
        self.counts: dict[ListKey, int] = defaultdict(int)

    def is_allocated(self, key: ListKey, index: int) -> bool:
        bits = self.allocated.get(key)
        return bits is not None and bool(bits[index >> 3] & (0x80 >> (index & 7)))

    def allocate(self, key: ListKey, index: int) -> None:
        bits = self.allocated.get(key)
        if bits is None:
            bits = self.allocated[key] = bytearray(LIST_SIZE // 8)
        mask = 0x80 >> (index & 7)
        if not bits[index >> 3] & mask:
            bits[index >> 3] |= mask
            self.counts[key] += 1


_TOPICS = (get_topic(StatusListSlot.Allocated),)


class StatusListUseCases(RegistryCore):
    # Entries a list takes before the next list is opened (tests lower it to see lists roll over).
    status_list_capacity = LIST_SIZE * 3 // 4

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._ledger = _Ledger()
        # Signed list credentials by (list URL, signing key, number of revoked entries): revocation
        # is irreversible, so the count names the revoked set and a repeated request is not re-signed.
        self._signed: dict[str, tuple[tuple[str, int], dict]] = {}  # list URL -> (key, count), signed

    def status_list_url(self, slug: str, list_number: int) -> str:
        return f"{self.config.public_url}/status-lists/{slug}/{list_number}"

    # --- issuing -----------------------------------------------------------------------------------

    def allocate_status(self, issuer: Issuer, credential_id: UUID, pending: PendingSlots) -> dict:
        """The credentialStatus entry for a new credential; its slot joins `pending`, to be saved in
        the credential's transaction."""
        ledger = self._ledger if pending.ledger_read else self._caught_up()
        pending.ledger_read = True
        with ledger.lock:
            list_number = 1
            while True:
                key = (issuer.id, REVOCATION, list_number)
                if ledger.counts[key] + len(pending.taken[key]) < self.status_list_capacity:
                    break
                list_number += 1
            for _ in range(MAX_DRAWS):
                index = secrets.randbelow(LIST_SIZE)
                if not ledger.is_allocated(key, index) and index not in pending.taken[key]:
                    break
            else:
                raise DomainError(f"no free entry found in status list {list_number} of {issuer.slug} "
                                  f"after {MAX_DRAWS} draws")
        pending.taken[key].add(index)
        pending.slots.append(StatusListSlot.allocate(
            issuer_id=issuer.id, purpose=REVOCATION, list_number=list_number, index=index,
            credential_id=credential_id))
        return status_list.entry(self.status_list_url(issuer.slug, list_number), index)

    # --- the list credential -----------------------------------------------------------------------

    def revoked_indexes(self, issuer_id: UUID, list_number: int) -> set[int]:
        """The revoked entries of one list, from the `credential_status` projection (caught up
        first, so a revocation that has returned is in the list)."""
        url = self.status_list_url(self.issuer_by_uuid(issuer_id).slug, list_number)
        reads = read_model(self)
        reads.fresh()
        rows = reads.store.query(
            # The list URL names the issuer: no issuer_id condition, so the partial index covers it.
            "SELECT status_list_index FROM credential_status"
            " WHERE status_list = ? AND status = 'revoked'",
            (url,),
        )
        return {index for (index,) in rows}

    def status_list_lists(self, slug: str) -> list[int]:
        """The issuer's list numbers: 1 always (it may be empty), and every list with an entry."""
        issuer = self.issuer(slug)
        ledger = self._caught_up()
        with ledger.lock:
            numbers = {n for (owner, purpose, n) in ledger.counts if owner == issuer.id and purpose == REVOCATION}
        return sorted(numbers | {1})

    def status_list_credential(self, slug: str, list_number: int = 1) -> dict:
        """The issuer's signed BitstringStatusListCredential for one list, regenerated from the
        revoked entries (and re-signed only when a revocation has changed it)."""
        issuer = self.issuer(slug)
        if list_number not in self.status_list_lists(slug):
            raise NotFound(f"issuer {slug} has no status list {list_number}")
        key = issuer.require_signing_key()
        if not self.keystore.holds(key.public_key_multibase):
            raise NotAuthorised(f"{slug} holds its own key: the registry cannot sign its status list")
        url = self.status_list_url(slug, list_number)
        revoked = self.revoked_indexes(issuer.id, list_number)
        cache_key = (key.verification_method, len(revoked))
        cached_key, signed = self._signed.get(url, (None, None))
        if cached_key != cache_key:
            now = xsd_datetime(self.clock())
            document = status_list.status_list_credential(
                url, issuer.did, status_list.encode(revoked, LIST_SIZE), valid_from=now)
            signer = self.keystore.signer(key.public_key_multibase, key.verification_method)
            signed = proofs.sign(document, signer, created=now)
            self._signed[url] = (cache_key, signed)
        return copy.deepcopy(signed)

    def check_status(self, credential: dict, list_credentials: dict[str, dict]) -> tuple[bool, str]:
        """(ok, reason) for the credential's status entry against list credentials a verifier
        holds. The lists' proofs count only with keys the issuer registered here, or, for an
        issuer unknown here, with keys resolved offline from its DID."""
        issuer_ref = credential.get("issuer")
        issuer_did = issuer_ref.get("id") if isinstance(issuer_ref, dict) else issuer_ref
        issuer = self.issuer_by_did(issuer_did) if isinstance(issuer_did, str) else None
        if issuer is not None:
            registered = {k.verification_method: k.public_key_multibase for k in issuer.keys}

            def resolve(vm: str) -> bytes | None:
                try:
                    return multikey.decode_public_key(registered[vm]) if vm in registered else None
                except DocumentError:
                    return None
        else:
            def resolve(vm: str) -> bytes | None:
                resolved = did.resolve_verification_method(vm)
                return None if resolved is None else resolved.public_key
        return status_list.check_entry(credential, list_credentials, resolve)

    # --- the ledger ----------------------------------------------------------------------------------

    def _caught_up(self) -> _Ledger:
        """The ledger, after reading the events logged since it last looked (one query when
        nothing is new)."""
        ledger = self._ledger
        with ledger.lock:
            stop = self.max_position()
            start = ledger.position + 1
            while start <= stop:
                page = self.recorder.select_notifications(start=start, limit=PAGE, stop=stop, topics=_TOPICS)
                for notification in page:
                    self._apply(ledger, self.mapper.to_domain_event(notification))
                if len(page) < PAGE:
                    break
                start = page[-1].id + 1
            ledger.position = max(ledger.position, stop)
        return ledger

    @staticmethod
    def _apply(ledger: _Ledger, event: StatusListSlot.Allocated) -> None:
        ledger.allocate((event.issuer_id, event.purpose, event.list_number), event.index)
