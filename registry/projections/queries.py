"""The read side's one door: every question the edges (CLI, HTTP API, pages) and verification ask,
answered from the read models, now or as of any instant. This is the only code that reads the
projection tables; each answer first makes them reflect every write that returned before it was
asked (read-your-writes), then reads with one or a few indexed statements.

Listings are keyset pages: a cursor is the log position of the last item shown, so a page costs the
same wherever it is. Organisations are named by slug, id (UUID or urn:uuid:) or DID, the same way
for every question."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, Generic, TypeVar
from uuid import UUID

import msgspec

from registry.domain import Achievement, Credential, DidClaim, Endorsement, Issuer, NotFound
from registry.errors import InputError, Unavailable
from registry.log.service import TransparencyLog
from registry import badges
from registry.images import ImageStore, StoredImage
from registry.network import Fetcher, FetchError
from registry.vc.errors import DocumentError
from registry.vc.ob2 import Ob2Badge
from registry.projections import credentials, directory, endorsements, extension_contexts, imports, issuer_keys, trust, trust_anchors
from registry.projections import kpis as kpi_tables
from registry.projections.credentials import CredentialStatus
from registry.projections.directory import AchievementView, IssuerView
from registry.projections.endorsements import EndorsementView
from registry.projections.extension_contexts import ContextView
from registry.projections.imports import ImportView
from registry.projections.issuer_keys import KeyState
from registry.projections.read_model import ReadModel
from registry.projections.runner import ProjectionStatus
from registry.projections.trust_anchors import AnchorView
from registry.projections.verification import Verifier
from registry.settings import Config
from registry.store.database import SQLiteDatabase
from registry.vc import did as dids
from registry.vc import contexts, openbadges
from registry.vc.report import VerificationReport

T = TypeVar("T")
MAX_PAGE = 1000


class Page(msgspec.Struct, Generic[T], frozen=True):
    items: list[T]
    next_cursor: str | None  # give it back as `after` for the next page; None on the last


class CredentialRecord(msgspec.Struct, frozen=True):
    """A credential as logged: its status now and the exact signed JSON text."""

    id: str
    status: str
    reason: str | None
    document: str
    caused_by: str | None = None  # the credential whose award completed this automatic pathway


class EventRecord(msgspec.Struct, frozen=True):
    position: int
    originator_id: str
    originator_version: int
    topic: str
    state: dict[str, Any]


@dataclass(frozen=True)
class Figures:
    totals: dict[str, int]
    months: list[tuple[str, dict[str, int]]]  # newest month first


@dataclass(frozen=True)
class LogEntry:
    position: int
    topic: str
    event: Any  # the domain event
    owner: str | None  # the slug of the organisation it concerns, when known
    achievement: str | None  # the achievement's name, for an achievement's events


@dataclass(frozen=True)
class LogPage:
    entries: list[LogEntry]
    after: int
    next_after: int | None  # where the next page starts, None at the end of the log
    last_position: int  # the log's newest position when read


# Home page figures, each (name, SQL giving (year-month, count) rows). Months are UTC: times are
# stored as ISO 8601 UTC text, so the first seven characters are the month.
_MONTHLY = (
    ("issuers", "SELECT substr(registered_at, 1, 7), count(*) FROM issuers GROUP BY 1"),
    ("achievements", "SELECT substr(defined_at, 1, 7), count(*) FROM achievements GROUP BY 1"),
    ("issued", "SELECT substr(issued_at, 1, 7), count(*) FROM credential_status GROUP BY 1"),
    ("revoked", "SELECT substr(at, 1, 7), count(*) FROM credential_status_changes"
                " WHERE status = 'revoked' GROUP BY 1"),
    ("endorsements", "SELECT substr(given_at, 1, 7), count(*) FROM endorsements GROUP BY 1"),
    ("withdrawn", "SELECT substr(withdrawn_at, 1, 7), count(*) FROM endorsements"
                  " WHERE withdrawn_at IS NOT NULL GROUP BY 1"),
)
FIGURES = tuple(name for name, _ in _MONTHLY)
# The event log page: at most this many events read per request, in batches.
LOG_PAGE, LOG_SCAN_BUDGET, LOG_BATCH = 50, 2000, 250
# What a credential to import may be served as, and how large (a baked image included).
CREDENTIAL_TYPES = ("application/json", "application/ld+json", "application/vc+ld+json", "application/vc+jwt",
                    "application/jwt", "text/plain", "image/png", "image/svg+xml")
CREDENTIAL_BYTES = 1024 * 1024


class Queries:
    def __init__(self, read_model: ReadModel, config: Config, clock: Callable[[], datetime],
                 fetcher: Fetcher, log: TransparencyLog, images: ImageStore | None = None) -> None:
        self.read_model = read_model
        self.images = images  # the image store (registry.images): achievement and organisation images
        self.log = log  # the transparency log: checkpoints, proofs, tiles, receipts
        read_model.covered_at = log.covered_at
        self.store = read_model.store
        self.db = read_model.db
        self.config = config
        self._verifier = Verifier(self.store, self.db, config, clock, fetcher, self._passed_over, log)
        self.clock = clock
        self._kpis: dict[tuple, tuple[int, kpi_tables.Kpis]] = {}  # kept until the log grows
        self._figures: tuple[int, Figures] | None = None
        self._figures_lock = threading.Lock()

    def fresh(self) -> None:
        self.read_model.fresh()

    def log_version(self) -> tuple[str, int]:
        """The read models brought up to date, and a token of the log as of now that any later
        write (by this process or another) changes: a cache of an answer is good while it holds."""
        return self.read_model.fresh()

    def _passed_over(self, aggregate_id: str) -> str | None:
        """Why answers about this aggregate are withheld (an event of it was quarantined), or None."""
        if not self.read_model.quarantined_events:
            return None
        found = self.read_model.runner.quarantined(aggregate_id)
        if found is None:
            return None
        return (f"its event at position {found.position} ({found.topic.rsplit(':', 1)[-1]}) could not be applied "
                f"to the read models ({found.reason}); an operator must fix the cause and run "
                "`registry projections rebuild`")

    def _withhold(self, aggregate_id: str, what: str) -> None:
        reason = self._passed_over(aggregate_id)
        if reason is not None:
            raise Unavailable(f"the registry cannot answer for {what} {aggregate_id}: {reason}")

    def close(self) -> None:
        self.read_model.close()
        self.log.reader.db.close()
        if self._verifier.fetcher.cache is not None:
            self._verifier.fetcher.cache.close()

    @property
    def local(self) -> bool:
        """True when answers come from a local file (SQLite): a lookup takes microseconds, less
        than handing it to a worker thread."""
        return isinstance(self.db, SQLiteDatabase)

    # --- organisations ----------------------------------------------------------------------------

    def issuer(self, ref: str) -> IssuerView:
        self.fresh()
        return self._issuer(ref)

    def issuers(self, *, after: str | None = None, limit: int = 50) -> Page[IssuerView]:
        """Organisations in the order they registered."""
        self.fresh()
        start, limit = _after(after), _limit(limit)
        found = directory.issuers_after(self.db, start, limit + 1)
        return _page(found, limit, lambda i: i.position)

    def issuers_by_name(self, *, after: str | None = None, limit: int = 100) -> Page[IssuerView]:
        """Organisations alphabetically (for people); `after` is the last slug shown."""
        self.fresh()
        limit = _limit(limit)
        last = None
        if after:
            shown = directory.issuer_by(self.db, "slug", after)
            if shown is None:
                raise InputError("after", f"no issuer with slug {after!r}")
            last = (shown.name, shown.slug)
        found = directory.issuers_by_name(self.db, last, limit + 1)
        return Page(found[:limit], found[limit - 1].slug if len(found) > limit else None)

    def issuer_figures(self, issuer_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
        """id -> (achievements, credentials) for these organisations."""
        self.fresh()
        achievements = directory.achievement_counts(self.db, issuer_ids)
        issued = credentials.credential_counts(self.db, issuer_ids)
        return {i: (achievements.get(i, 0), issued.get(i, 0)) for i in issuer_ids}

    def keys(self, issuer: str, at: datetime | None = None) -> list[KeyState]:
        """Every key the organisation had at `at` (all when None), each with its state then."""
        self.fresh()
        return issuer_keys.keys(self.db, self._issuer(issuer).id, _aware(at))

    def keys_of(self, issuer_ids: Sequence[str]) -> dict[str, list[KeyState]]:
        self.fresh()
        return issuer_keys.keys_of(self.db, issuer_ids)

    def did_document(self, issuer: str) -> dict:
        """The DID document of an organisation: did:web documents are made from its key history
        (retired keys stay listed, compromised ones marked revoked); a did:key resolves itself."""
        self.fresh()
        found = self._issuer(issuer)
        if not found.hosted:
            return dids.resolve_did_key_document(found.did)
        keys = [dids.DidKey(fragment=k.verification_method.split("#", 1)[1],
                            public_key_multibase=k.public_key_multibase, state=k.state,
                            revoked=None if k.compromised_since is None else
                            datetime.fromisoformat(k.compromised_since).isoformat())
                for k in issuer_keys.keys(self.db, found.id)]
        return dids.did_web_document(found.did, keys)

    def profile(self, issuer: str) -> dict:
        """The organisation's Open Badges Profile, as a JSON-LD document of its own."""
        found = self.issuer(issuer)
        return {"@context": list(contexts.OB_CONTEXTS),
                **openbadges.profile(found.did, found.name, url=found.url, email=found.email,
                                     description=found.description, image=found.image, phone=found.phone,
                                     address=found.address, other_identifier=found.other_identifier)}

    # --- achievements -------------------------------------------------------------------------------

    def achievement(self, ref: str) -> AchievementView:
        self.fresh()
        return self._achievement(ref)

    def achievements(self, *, issuer: str | None = None, after: str | None = None,
                     limit: int = 50) -> Page[AchievementView]:
        """Achievements in the order they were defined (of one organisation, if given)."""
        self.fresh()
        owner = None if issuer is None else self._issuer(issuer).id
        limit = _limit(limit)
        found = directory.achievements_after(self.db, _after(after), limit + 1, owner)
        return _page(found, limit, lambda a: a.position)

    def automatic_pathways_requiring(self, achievement_id: str) -> list[str]:
        """Automatic pathways an award of `achievement_id` may complete (candidates: the write side
        checks each against what the recipient holds)."""
        self.fresh()
        return directory.automatic_pathways_requiring(self.db, str(achievement_id))

    def achievement_document(self, ref: str, version: int | None = None) -> dict:
        """One version (the latest when None) of an achievement as published, with its @context."""
        found = self.achievement(ref)
        if version is not None and not 1 <= version <= found.version:
            raise NotFound(f"achievement {found.id} has no version {version} (latest is {found.version})")
        text = directory.achievement_document(self.db, found.id, version)
        if text is None:
            raise NotFound(f"achievement {found.id} has no version {version}")
        document = json.loads(text)
        if "@context" in document:  # one using extension contexts is stored as published
            return document
        return {"@context": list(openbadges.CREDENTIAL_CONTEXTS), **document}

    # --- extension contexts -------------------------------------------------------------------------

    def extension_contexts(self, *, catch_up: bool = True) -> list[ContextView]:
        """The JSON-LD contexts the operator registered, in the order they were. `catch_up` False:
        as the read model holds them now, without applying what was logged since (start-up)."""
        if catch_up:
            self.fresh()
        return extension_contexts.all_contexts(self.db)

    def extension_context(self, ref: str) -> ContextView:
        """A registered context by its URL or the SHA-256 of its bytes."""
        ref = ref.strip()
        self.fresh()
        if len(ref) == 64 and all(c in "0123456789abcdefABCDEF" for c in ref):
            found = extension_contexts.by_sha256(self.db, ref.lower())
        else:
            found = extension_contexts.by_url(self.db, ref)
        if found is None:
            raise NotFound(f"no registered context {ref[:200]!r}")
        return found

    def pinned_context(self, url: str) -> tuple[bytes, str] | None:
        """A registered context's bytes and SHA-256, or None: how this process learns of a context
        another process registered after it started (registry.vc.contexts asks, once per URL)."""
        self.fresh()
        found = extension_contexts.by_url(self.db, url)
        return None if found is None else (found.document.encode("utf-8"), found.sha256)

    # --- credentials --------------------------------------------------------------------------------

    def credential_status(self, ref: str, at: datetime | None = None) -> CredentialStatus:
        """A credential's status now, or as of `at`."""
        at = _aware(at)
        # The hot path: canonical lowercase UUID text, as stored, needs no parsing.
        canonical = len(ref) == 36 and ref.islower()
        if canonical and at is None and not isinstance(self.db, SQLiteDatabase):
            found = self.read_model.fresh_status(ref)  # PostgreSQL: one round trip
            if found is not None:
                self._withhold(found.credential_id, "credential")
                return found
        self.fresh()
        if canonical:
            found = credentials.status(self.db, ref, at, self.log.covered_at)
            if found is not None:
                self._withhold(found.credential_id, "credential")
                return found
        uuid = self._id(ref, "credential")
        self._withhold(str(uuid), "credential")
        found = credentials.status(self.db, str(uuid), at, self.log.covered_at)
        if found is None:
            raise NotFound(f"no credential {uuid}")
        return found

    def credential_statuses(self, refs: Sequence[str]) -> dict[str, CredentialStatus]:
        """The current status of each of these credentials (canonical lowercase UUIDs) that can be
        answered plainly, by id: PostgreSQL's batched hot path, one round trip for a whole batch
        when the read models are up to date. Those left out (not found, not canonical, withheld)
        are for `credential_status` to answer, with its reasons."""
        canonical = [ref for ref in refs if len(ref) == 36 and ref.islower()]
        if isinstance(self.db, SQLiteDatabase) or not canonical:
            return {}
        found = self.read_model.fresh_statuses(canonical)
        if found is None:
            self.fresh()
            found = self.read_model.fresh_statuses(canonical) or {}
        if self.read_model.quarantined_events:
            found = {ref: status for ref, status in found.items() if self._passed_over(ref) is None}
        return found

    def credential(self, ref: str) -> CredentialRecord:
        """A logged credential: its status now and the signed document, byte for byte."""
        found = self.credential_status(ref)
        event = self.store.created(UUID(found.credential_id))
        if not isinstance(event, Credential.Issued):
            raise NotFound(f"no credential {found.credential_id}")
        return CredentialRecord(found.credential_id, found.status, found.reason, event.document,
                                None if event.caused_by is None else str(event.caused_by))

    def image(self, sha256: str) -> StoredImage:
        """A stored image by its SHA-256 (lowercase hex)."""
        found = self.images.get(sha256) if self.images is not None and len(sha256) == 64 else None
        if found is None:
            raise NotFound(f"no image {sha256[:80]}")
        return found

    def image_at(self, url: str | None) -> StoredImage | None:
        """The image this registry serves at `url` (an achievement's or organisation's), else None."""
        named = self.config.image_of(url)
        return None if named is None or self.images is None else self.images.get(named[0])

    def baked(self, ref: str, kind: str) -> tuple[str, bytes]:
        """(credential id, its badge image with the signed credential baked in): "png" or "svg"
        (OB 3.0 section 5.3). Badge images are parsed once (registry.vc.baking keeps them)."""
        found = self.credential(ref)
        lookup = self.images.get if self.images is not None else (lambda sha: None)
        return found.id, badges.baked(found.document, kind, self.config, lookup)

    def affected(self, issuer: str, key: str | None = None) -> list[credentials.Affected]:
        """The organisation's credentials that a key compromise invalidates (logged at or after
        the compromise of the key that signed them), of one key if given (its verification method,
        fragment or Multikey)."""
        self.fresh()
        found = self._issuer(issuer)
        vm = None
        if key is not None:
            matches = [k.verification_method for k in issuer_keys.keys(self.db, found.id)
                       if key in (k.verification_method, k.public_key_multibase, k.verification_method.split("#")[-1])]
            if not matches:
                raise NotFound(f"issuer {found.slug} has no key {key!r}")
            vm = matches[0]
        return credentials.affected(self.db, found.id, vm, self.log.covered_at)

    def revoked_indexes(self, list_url: str) -> set[int]:
        """The revoked entries of one status list."""
        self.fresh()
        return credentials.revoked_indexes(self.db, list_url)

    def status_list_exists(self, list_url: str) -> bool:
        self.fresh()
        return credentials.status_list_issuer(self.db, list_url) is not None

    # --- endorsements --------------------------------------------------------------------------------

    def endorsements(self, *, of: str | None = None, by: str | None = None, received_by: str | None = None,
                     at: datetime | None = None, after: str | None = None,
                     limit: int | None = None) -> Page[EndorsementView]:
        """Endorsements in the order given: of a subject (an organisation by slug or DID, an
        achievement or a credential), by an organisation, received by an organisation (of it, its
        achievements or its credentials), or all. With `at`, those standing then; without,
        withdrawn ones with their withdrawal."""
        self.fresh()
        where = {}
        if of is not None:
            where["subject_id"] = self._subject(of)
        if by is not None:
            where["endorser_id"] = self._issuer(by).id
        if received_by is not None:
            where["subject_issuer_id"] = self._issuer(received_by).id
        size = None if limit is None else _limit(limit)
        found = endorsements.endorsements(self.db, where, at=_aware(at), after=_after(after),
                                          limit=None if size is None else size + 1)
        if size is None:
            return Page(found, None)
        return _page(found, size, lambda e: e.position)

    def endorsement_document(self, ref: str) -> str:
        """A logged endorsement's signed JSON text, exactly as given or submitted."""
        uuid = self._id(ref, "endorsement")
        event = self.store.created(uuid)
        if not isinstance(event, Endorsement.Endorsed):
            raise NotFound(f"no endorsement {uuid}")
        return event.document

    def network(self) -> tuple[list[IssuerView], list[tuple[str, str, str, int]]]:
        """Every organisation, and the standing endorsements between organisations as
        (endorser id, subject issuer id, subject kind, count)."""
        self.fresh()
        issuers = directory.issuers_after(self.db, 0, 1_000_000)
        return issuers, endorsements.network(self.db)

    # --- trust ------------------------------------------------------------------------------------------

    def trust_anchors(self, at: datetime | None = None) -> list[AnchorView]:
        self.fresh()
        return trust_anchors.anchors(self.db, _aware(at))

    def trust_path(self, source: str, target: str, *, max_depth: int = trust.DEFAULT_MAX_DEPTH,
                   at: datetime | None = None) -> list[trust.Hop] | None:
        """The shortest chain of endorsements standing at `at` from one organisation to another
        ([] from an organisation to itself), or None when there is none within `max_depth` hops."""
        trust.check_depth(max_depth)
        self.fresh()
        start, end = self._issuer(source).id, self._issuer(target).id
        return trust.chain(self.db, [start], end, max_depth, _aware(at))

    def chain_from_anchors(self, issuer: str, at: datetime | None = None, *,
                           max_depth: int = trust.DEFAULT_MAX_DEPTH) -> list[trust.Hop] | None:
        """The shortest chain from any anchor standing at `at` to the organisation ([] when it is
        one); None when no chain reaches it or there are no anchors."""
        trust.check_depth(max_depth)
        self.fresh()
        anchors = [a.issuer_id for a in trust_anchors.anchors(self.db, _aware(at))]
        return trust.chain(self.db, anchors, self._issuer(issuer).id, max_depth, _aware(at))

    # --- verification -------------------------------------------------------------------------------------

    def verify(self, document: object, documents: Mapping[str, bytes | dict] | None = None,
               recipient: str | None = None, *, offline: bool = False) -> VerificationReport:
        """The full verification report of a credential or endorsement. What the registry does
        not know of its issuer is fetched (a did:web DID document, a status or revocation list),
        unless `offline` or given in `documents` (by URL); with `recipient` (an e-mail address or
        a DID) it also says whether the credential was issued to them."""
        self.fresh()
        return self._verifier.verify(document, documents, recipient, offline=offline)

    def verify_ob2(self, given: object, documents: Mapping[str, bytes | dict] | None = None,
                   recipient: str | None = None, *, offline: bool = False) -> Ob2Badge:
        """An Open Badges 2.0 assertion verified by the OB 2.0 rules (hosted or signed), with
        the BadgeClass, issuer Profile and endorsements it rests on."""
        return self._verifier.verify_ob2(given, documents, recipient, offline=offline)

    def fetch_document(self, url: str, what: str, documents: Mapping[str, bytes | dict] | None = None) -> object:
        """The JSON document at a URL, fetched now (never from the cache: a proof of control must
        see what the URL serves now) by the one network client, or taken from `documents`;
        DocumentError with the one-line reason when it cannot be had."""
        fetcher = replace(self._verifier.fetcher, cache=None).configured(documents=documents)
        try:
            return fetcher.json(url, what).document
        except FetchError as exc:
            raise DocumentError(str(exc)) from None

    def issuer_of_did(self, did: str) -> IssuerView | None:
        self.fresh()
        return directory.issuer_by(self.db, "did", did)

    # --- credentials brought in from other platforms ------------------------------------------------

    def imported(self, ref: str) -> ImportView:
        """An imported credential by the registry's id for it or the credential's own id."""
        self.fresh()
        found = imports.by_id(self.db, ref)
        if found is None:
            raise NotFound(f"no imported credential {ref}")
        return found

    def fetch_credential(self, url: str, documents: Mapping[str, bytes | dict] | None = None) -> bytes:
        """A credential at a URL, to import it: JSON(-LD), a VC-JWT or a baked PNG/SVG, fetched by the
        one network client under its policy (https, public addresses, size and time bounds), or
        taken from `documents` when given there."""
        if documents and url in documents:
            given = documents[url]
            return given if isinstance(given, bytes) else json.dumps(given).encode()
        try:
            return self._verifier.fetcher.raw(url, "the credential", kinds=CREDENTIAL_TYPES, max_bytes=CREDENTIAL_BYTES)
        except FetchError as exc:
            raise InputError("url", str(exc)) from None

    def reissue_of(self, credential_id: str) -> ImportView | None:
        """The imported OB 2.0 badge a credential of this registry re-issues, if it is one."""
        self.fresh()
        return imports.reissue_of(self.db, credential_id)

    def imported_original(self, ref: str) -> str:
        """The imported document exactly as it came (a VC-JWT: its compact JWS)."""
        found = self.imported(ref)
        event = self.store.created(UUID(found.id))
        return event.original

    def imports(self, *, issuer: str | None = None, after: str | None = None, limit: int = 50) -> Page[ImportView]:
        """Imported credentials in the order they were imported (of one organisation, if given)."""
        self.fresh()
        owner = None if issuer is None else self._issuer(issuer).id
        limit = _limit(limit)
        return _page(imports.after(self.db, _after(after), limit + 1, owner), limit, lambda i: i.position)

    # --- the event log ------------------------------------------------------------------------------------

    def events(self, *, after: int = 0, limit: int = 100) -> list[EventRecord]:
        """Stored events after a log position, in order (no secrets: private keys never enter
        events and e-mail recipients are stored hashed)."""
        if after < 0:
            raise InputError("after", f"a log position is 0 or more, not {after}")
        return [_record(n) for n in self.store.recorder.select_notifications(start=after + 1, limit=_limit(limit))]

    def export(self, *, after: int = 0) -> Iterator[EventRecord]:
        """Every stored event after `after`, in log order."""
        return (_record(n) for n in self.store.notifications(after))

    def last_position(self) -> int:
        return self.store.max_position()

    def event_log(self, *, after: int = 0, topics: Iterable[str] = (), issuer: str | None = None) -> LogPage:
        """A page of the log for people: events after `after` (of these topics), of one
        organisation if given (its own events and those of what it owns). One request reads at
        most LOG_SCAN_BUDGET events; the next page continues where it stopped."""
        self.fresh()
        owner = None if issuer is None else self._issuer(issuer)
        topics = list(topics)
        last = self.store.max_position()
        position, scanned, at_end = after, 0, False
        found: list[tuple[Any, Any, str | None]] = []
        while len(found) < LOG_PAGE and scanned < LOG_SCAN_BUDGET:
            batch = self.store.recorder.select_notifications(start=position + 1, limit=LOG_BATCH, topics=topics)
            if not batch:
                at_end = True
                break
            events = [(n, self.store.mapper.to_domain_event(n)) for n in batch]
            owners = self._owners(events)
            for notification, event in events:
                position = notification.id
                if owner is None or owners.get(notification.id) == owner.id:
                    found.append((notification, event, owners.get(notification.id)))
                    if len(found) == LOG_PAGE:
                        break
            scanned += len(batch)
            if len(batch) < LOG_BATCH and len(found) < LOG_PAGE:
                at_end = True
                break
        slugs = directory.issuer_column(self.db, "slug", {o for _, _, o in found if o})
        names = directory.achievement_names(
            self.db, {str(e.originator_id) for _, e, _ in found if isinstance(e, Achievement.Event)})
        entries = [LogEntry(n.id, n.topic, e, slugs.get(o) if o else None, names.get(str(e.originator_id)))
                   for n, e, o in found]
        return LogPage(entries, after, None if at_end or position >= last else position, last)

    def _owners(self, events: list[tuple[Any, Any]]) -> dict[int, str]:
        """notification position -> the id of the organisation an event concerns: named in the
        event, or the owner of its aggregate (an achievement's or credential's issuer, an
        endorsement's endorser, also of the standing endorsement it renews or ends) from the read
        models."""
        found: dict[int, str] = {}
        unknown: dict[int, set[str]] = {}
        for notification, event in events:
            direct = (getattr(event, "issuer_id", None) or getattr(event, "endorser_id", None)
                      or (event.originator_id if isinstance(event, Issuer.Event) else None))
            if isinstance(event, DidClaim.Claimed):
                direct = self._slug_id(event.slug)
            if direct is not None:
                found[notification.id] = str(direct)
            else:
                unknown[notification.id] = {str(ref) for ref in
                                            (event.originator_id, getattr(event, "credential_id", None),
                                             getattr(event, "endorsement_id", None)) if ref}
        refs = set().union(*unknown.values()) if unknown else set()
        if refs:
            owned = {**directory.achievement_issuers(self.db, refs), **credentials.issuers_of(self.db, refs),
                     **endorsements.endorsers_of(self.db, refs)}
            for position, ids in unknown.items():
                owner = next((owned[i] for i in sorted(ids) if i in owned), None)
                if owner is not None:
                    found[position] = owner
        return found

    # --- KPIs for programme managers ------------------------------------------------------------------------

    def kpis(self, *, issuer: str | None = None, achievement: str | None = None,
             months: int = kpi_tables.DEFAULT_MONTHS) -> kpi_tables.Kpis:
        """Issued per month (the last `months` months, zeros included), revocation and suspension
        rates, the time to complete pathways, and endorsements received by the endorser's kind: of
        one achievement, one organisation (slug, id or DID), or the whole registry."""
        if not 1 <= months <= kpi_tables.MAX_MONTHS:
            raise InputError("months", f"1 to {kpi_tables.MAX_MONTHS} months, not {months}")
        now = self.clock()
        asked = (issuer, achievement, months, kpi_tables.window(now, 1)[0])
        position = self.store.max_position()
        kept = self._kpis.get(asked)
        if kept is not None and kept[0] == position:
            return kept[1]
        self.fresh()
        found_issuer = found_achievement = None
        if achievement is not None:
            found_achievement = self._achievement(achievement)
            scope, key = "achievement", found_achievement.id
        elif issuer is not None:
            found_issuer = self._issuer(issuer)
            scope, key = "issuer", found_issuer.id
        else:
            scope, key = "registry", None
        found = kpi_tables.kpis(self.db, scope, key, now, months, found_issuer, found_achievement)
        if len(self._kpis) >= kpi_tables.KEPT_ANSWERS:
            self._kpis.clear()
        self._kpis[asked] = (position, found)
        return found

    # --- the read models ------------------------------------------------------------------------------------

    def projection_status(self) -> list[ProjectionStatus]:
        return self.read_model.runner.status()

    def operations(self) -> tuple[int, list[ProjectionStatus], int]:
        """What operators watch: the log's last position, each read model's lag and quarantine, and
        the size of the latest signed checkpoint (0 before the first). Unavailable when the store
        cannot be reached."""
        latest = None if self.log is None else self.log.reader.latest()
        return self.store.max_position(), self.projection_status(), 0 if latest is None else latest.size

    # --- home page figures ----------------------------------------------------------------------------------

    def figures(self) -> Figures:
        """Counts per month. They scan whole tables and change only when the log grows, so they
        are kept until its last position moves."""
        position = self.store.max_position()
        with self._figures_lock:
            if self._figures is not None and self._figures[0] == position:
                return self._figures[1]
        self.fresh()
        per_month: dict[str, dict[str, int]] = {}
        totals = dict.fromkeys(FIGURES, 0)
        for name, sql in _MONTHLY:
            for month, count in self.db.query(sql):
                per_month.setdefault(month, dict.fromkeys(FIGURES, 0))[name] = count
                totals[name] += count
        result = Figures(totals, sorted(per_month.items(), reverse=True))
        with self._figures_lock:
            self._figures = (position, result)
        return result

    def labels(self, ids: Iterable[str]) -> dict[str, tuple[str, str]]:
        """id -> (kind, name) for organisations and achievements among `ids`, for links."""
        self.fresh()
        ids = set(ids)
        found = {i: ("issuer", name) for i, name in directory.issuer_column(self.db, "name", ids).items()}
        found.update({i: ("achievement", name) for i, name in directory.achievement_names(self.db, ids).items()})
        return found

    # --- naming ----------------------------------------------------------------------------------------------

    def _issuer(self, ref: str) -> IssuerView:
        """An organisation by slug, id (UUID or urn:uuid:) or DID."""
        ref = ref.strip()
        if ref.startswith("did:"):
            found = directory.issuer_by(self.db, "did", ref)
            if found is None:
                raise NotFound(f"no issuer with DID {ref}")
            return found
        found = directory.issuer_by(self.db, "slug", ref)
        if found is None:
            uuid = self.config.id_in(ref)
            found = None if uuid is None else directory.issuer_by(self.db, "id", str(uuid))
        if found is None:
            raise NotFound(f"no issuer with slug {ref!r}")
        return found

    def _slug_id(self, slug: str) -> str | None:
        found = directory.issuer_by(self.db, "slug", slug)
        return None if found is None else found.id

    def _achievement(self, ref: str) -> AchievementView:
        uuid = self._id(ref, "achievement")
        found = directory.achievement(self.db, str(uuid))
        if found is None:
            raise NotFound(f"no achievement {uuid}")
        return found

    def _subject(self, ref: str) -> str:
        """The id of an endorsement subject: an organisation, an achievement or a credential."""
        ref = ref.strip()
        if not ref:
            raise InputError("of", "an endorsement subject is needed")
        if ref.startswith("did:") or directory.issuer_by(self.db, "slug", ref) is not None:
            return self._issuer(ref).id
        uuid = self.config.id_in(ref)
        if uuid is None:
            raise NotFound(f"unknown endorsement subject {ref!r}: an issuer slug or DID, an "
                           "achievement or a credential id")
        subject = str(uuid)
        if (directory.achievement(self.db, subject) is None
                and credentials.status(self.db, subject) is None
                and directory.issuer_by(self.db, "id", subject) is None):
            raise NotFound(f"unknown endorsement subject {ref!r}")
        return subject

    def _id(self, ref: str, what: str) -> UUID:
        uuid = self.config.id_in(ref)
        if uuid is None:
            raise NotFound(f"{ref!r} is not a {what} id (a UUID)")
        return uuid


def _record(notification: Any) -> EventRecord:
    return EventRecord(notification.id, str(notification.originator_id), notification.originator_version,
                       notification.topic, json.loads(notification.state))


def _aware(at: datetime | None) -> datetime | None:
    if at is not None and (at.tzinfo is None or at.utcoffset() is None):
        raise InputError("at", "a moment needs an offset, e.g. 2026-05-01T12:00:00Z")
    if at is not None:
        try:
            at.astimezone(timezone.utc)
        except OverflowError:  # 9999-12-31T23:59:59-23:59 is in year 10000 in UTC
            raise InputError("at", f"{at.isoformat()} is out of range (years 1 to 9999 in UTC)") from None
    return at


def _after(cursor: str | None) -> int:
    """The log position after which a page starts."""
    if cursor is None or cursor == "":
        return 0
    if not cursor.isascii() or not cursor.isdigit() or len(cursor) > 15:
        raise InputError("cursor", f"{cursor!r} is not a cursor this registry handed out")
    return int(cursor)


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise InputError("limit", f"a page holds 1 to {MAX_PAGE} items, not {limit}")
    return limit


def _page(found: list[T], limit: int, position: Callable[[T], int]) -> Page[T]:
    return Page(found[:limit], str(position(found[limit - 1])) if len(found) > limit else None)
