"""Commands about issued badges: issue (one, or a batch in one transaction; by score on a ladder;
completed automatic pathways awarded with them), re-issue, submit (signed by an organisation with
its own key), suspend, reinstate, revoke. Recipients given by e-mail appear in credentials only as
salted hashes. The batch file's format is registry.commands.batch_file's."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from uuid import UUID

from eventsourcing.domain import Aggregate

from registry.commands.custody import KeyCustody
from registry.commands.policy import Actor, authorise
from registry.commands import self_signed
from registry.commands.records import Records
from registry.commands.results import BatchWritten, Written
from registry.commands.status_lists import PendingSlots, StatusListSlots
from registry.domain import Achievement, AlreadyExists, Credential, DomainError, InvalidTransition, Issuer, Recipient
from registry.domain.credential import REVOKED
from registry.domain.identity import recipient_id, submitted_credential_id
from registry.domain.ladder import ladder_of
from registry.settings import Config
from registry.vc import identity, jsonld, openbadges, proofs, schema
from registry.vc.errors import DocumentError
from registry.vc.openbadges import document_text, xsd_datetime

# An automatic award may complete another pathway in turn; pathways nest only this deep.
MAX_PATHWAY_DEPTH = 8
# validFrom given with an award: old badges brought in, or one valid from the start of a course.
EARLIEST_VALID_FROM = datetime(1900, 1, 1, tzinfo=timezone.utc)
LATEST_VALID_FROM = timedelta(days=366)
MAX_BATCH = 10_000
# A batch's text (a CSV file, a JSON request): MAX_BATCH rows of a few hundred bytes each.
MAX_BATCH_BYTES = 4 * 1024 * 1024
# A submitted credential: as for endorsements, none comes near this.
MAX_SUBMITTED_BYTES = 256 * 1024


@dataclass(frozen=True)
class Award:
    """One credential to issue: who gets which achievement, with optional result and evidence."""

    recipient: str  # an e-mail address, a DID or a URL
    achievement: str
    result: str | None = None  # e.g. "87%": recorded as the achieved score
    valid_until: datetime | None = None
    evidence: str | tuple[dict, ...] | None = None  # a URL, or OB Evidence objects (narrative, name, genre, ...)
    score: str | None = None  # on a ladder: the level is picked by this score and put in the result
    valid_from: datetime | None = None  # default: now; at most a year ahead, not before 1900
    results: tuple[dict, ...] = ()  # more OB Result objects, as given
    credential_schema: tuple[dict, ...] = ()  # credentialSchema entries beside the 1EdTech one
    # An OB IdentityObject carried over as it is (a re-issued OB 2.0 badge's hashed recipient, whose
    # address the registry never learns); `recipient` is then ignored.
    identity: dict | None = None


class _Batch:
    """What one transaction has loaded and made so far, so that later awards in the same batch see
    earlier ones (a Super Badge after the five Excellent badges in one file)."""

    def __init__(self, records: Records) -> None:
        self.records = records
        self.issuers: dict[UUID, Issuer] = {}
        self.achievements: dict[str, Achievement] = {}
        self.recipients: dict[str, Recipient] = {}
        self.credentials: dict[UUID, Credential] = {}
        self.status_slots = PendingSlots()
        self.pathways: dict[UUID, list[str]] = {}  # achievement -> automatic pathways requiring it

    def achievement(self, ref: str) -> Achievement:
        if ref not in self.achievements:
            self.achievements[ref] = self.records.achievement(ref)
        return self.achievements[ref]

    def issuer(self, uuid: UUID) -> Issuer:
        if uuid not in self.issuers:
            self.issuers[uuid] = self.records.issuer_by_id(uuid)
        return self.issuers[uuid]

    def recipient(self, stored: str) -> Recipient:
        if stored not in self.recipients:
            found = self.records.store.find(recipient_id(stored))
            self.recipients[stored] = found if isinstance(found, Recipient) else Recipient.enrol(stored)
        return self.recipients[stored]

    def credential(self, uuid: UUID) -> Credential:
        if uuid not in self.credentials:
            self.credentials[uuid] = self.records.credential(uuid)
        return self.credentials[uuid]


class CredentialCommands:
    def __init__(self, records: Records, custody: KeyCustody, config: Config,
                 slots: StatusListSlots, clock: Callable[[], datetime], *,
                 pathways: Callable[[str], list[str]] = lambda achievement_id: []) -> None:
        """`pathways(achievement_id)`: the automatic pathways an award of it may complete (a read
        of the directory; each candidate is then checked against the aggregates)."""
        self.records = records
        self.pathways = pathways
        self.store = records.store
        self.custody = custody
        self.config = config
        self.slots = slots
        self.clock = clock

    def issue(self, award: Award, *, actor: Actor,
              also: Callable[[Credential], Sequence[Aggregate]] | None = None) -> Written:
        """`also(credential)`: aggregates changed because of this award, saved in its transaction
        (a re-issued import that names it): a conflict on them undoes the award too."""
        def use_case() -> Written:
            batch = _Batch(self.records)
            credential, document = self._award(batch, award, actor)
            followed = self._complete_pathways(batch, credential, actor)
            position = self.store.commit(credential, *followed, *batch.status_slots.slots,
                                         *batch.recipients.values(), *(also(credential) if also else ()))
            return Written(id=str(credential.id), position=position, document=document,
                           also_awarded=[str(c.id) for c in followed])

        return self.store.attempt(use_case)

    def issue_batch(self, awards: list[Award], *, actor: Actor) -> BatchWritten:
        """All or nothing: one transaction; a refused row refuses the batch, naming the row."""
        if not awards:
            raise DomainError("the batch is empty")
        if len(awards) > MAX_BATCH:
            raise DomainError(f"a batch holds at most {MAX_BATCH} credentials, got {len(awards)}")

        def use_case() -> BatchWritten:
            batch = _Batch(self.records)
            made = []
            followed: list[Credential] = []
            for row, award in enumerate(awards, start=2):  # row 1 is the CSV header
                try:
                    made.append(self._award(batch, award, actor))
                    followed += self._complete_pathways(batch, made[-1][0], actor)
                except (DomainError, DocumentError) as exc:
                    raise type(exc)(f"row {row}: {exc}") from None
            position = self.store.commit(*(c for c, _ in made), *followed, *batch.status_slots.slots,
                                         *batch.recipients.values())
            return BatchWritten(ids=[str(c.id) for c, _ in made], position=position,
                                documents=[d for _, d in made], also_awarded=[str(c.id) for c in followed])

        return self.store.attempt(use_case)

    def reissue(self, credential_ids: list[str], *, actor: Actor) -> BatchWritten:
        """Fresh copies of credentials, signed with their issuer's active key, each old one revoked
        ("re-issued as <new id>"), all in one transaction: how an issuer recovers the badges a key
        compromise invalidated. A copy keeps what the old one said (subject, achievement, result,
        evidence, validity) under a new id and a new status entry."""
        if not credential_ids:
            raise DomainError("nothing to re-issue")
        if len(credential_ids) > MAX_BATCH:
            raise DomainError(f"a batch holds at most {MAX_BATCH} credentials, got {len(credential_ids)}")

        def use_case() -> BatchWritten:
            batch = _Batch(self.records)
            made: list[tuple[Credential, dict]] = []
            changed: list[Credential] = []
            for ref in dict.fromkeys(credential_ids):
                old = batch.credential(self.records.uuid(ref, "credential"))
                issuer = batch.issuer(old.issuer_id)
                authorise(actor, issuer.slug, "re-issue credentials")
                key = issuer.require_signing_key()
                if old.status == REVOKED:
                    raise InvalidTransition(f"credential {old.id} is revoked; only what stands can be re-issued")
                if old.verification_method == key.verification_method:
                    raise DomainError(f"credential {old.id} is signed with {issuer.slug}'s active key already")
                new, document = self._copy(batch, old, issuer, key, actor)
                old.revoke(reason=f"re-issued as {new.id} with {key.verification_method}", actor=actor.name)
                made.append((new, document))
                changed.append(old)
            position = self.store.commit(*(c for c, _ in made), *changed, *batch.status_slots.slots,
                                         *batch.recipients.values())
            return BatchWritten(ids=[str(c.id) for c, _ in made], position=position,
                                documents=[d for _, d in made])

        return self.store.attempt(use_case)

    def submit(self, text: str, *, actor: Actor) -> Written:
        """Log an OpenBadgeCredential its issuer signed itself (an organisation with its own did:key
        or did:web): the exact text is stored, after the proof verifies against the organisation's
        registered active key. It awards one of the organisation's achievements as the registry
        publishes it (any version); its status is the registry's record (revoke, suspend) and, if
        it carries one, the issuer's own status list. Replaying the same document is refused."""
        signed = self_signed.parse(text, {"AchievementCredential", "OpenBadgeCredential"}, "credential",
                                   MAX_SUBMITTED_BYTES)
        document, doc_id = signed.document, signed.id
        subject = document.get("credentialSubject")
        if not isinstance(subject, dict) or not isinstance(subject.get("achievement"), dict):
            raise DocumentError("the credential's credentialSubject needs its achievement")
        status = document.get("credentialStatus")
        for entry in status if isinstance(status, list) else [status] if status else []:
            if isinstance(entry, dict) and self.config.status_list_of(str(entry.get("statusListCredential", ""))):
                raise DocumentError("the credential names one of this registry's status lists: only the registry "
                                    "allocates their entries (leave credentialStatus out, or use your own list)")
        valid_from = openbadges.parse_datetimez(document.get("validFrom"), "validFrom")
        valid_until = (None if document.get("validUntil") is None
                       else openbadges.parse_datetimez(document["validUntil"], "validUntil"))
        stored = self._submitted_recipient(subject)
        new_id = _submitted_id(doc_id)

        def use_case() -> Written:
            issuer, verification_method = self_signed.signed_by(self.records, signed, actor,
                                                                "submit credentials", "credential")
            achievement = self.records.achievement(str(subject["achievement"].get("id", "")))
            if achievement.issuer_id != issuer.id:
                raise DomainError(f"the achievement {achievement.name} is not {issuer.slug}'s")
            embedded = subject["achievement"]
            if not any(openbadges.achievement_parts(json.loads(version))[0] == embedded
                       for version in achievement.versions):
                raise DocumentError(f"the embedded achievement differs from every published version of "
                                    f"{achievement.name}: embed it as GET /achievements/{achievement.id} gives it")
            if self.store.exists(new_id):
                raise AlreadyExists(f"credential {doc_id} was already submitted")
            batch = _Batch(self.records)
            recipient = batch.recipient(stored)
            self._check_prerequisites(batch, achievement, recipient, valid_from)
            credential = Credential.issue(
                id=new_id, issuer=issuer, achievement=achievement, recipient=stored, document=text,
                verification_method=verification_method, valid_from=valid_from, valid_until=valid_until,
                actor=actor.name)
            recipient.award(credential_id=new_id, achievement_id=achievement.id)
            return Written(id=str(new_id), position=self.store.commit(credential, recipient), document=document)

        return self.store.attempt(use_case)

    @staticmethod
    def _submitted_recipient(subject: dict) -> str:
        """The stored form of a submitted credential's subject: its id (a DID or URL), or the
        identity hash it carries (the registry never learns the address behind it)."""
        if isinstance(subject.get("id"), str) and subject["id"]:
            return subject["id"]
        for given in subject.get("identifier") or ():
            if isinstance(given, dict) and isinstance(given.get("identityHash"), str):
                return f"{given.get('identityType', 'identity')}:{given['identityHash']}"
        raise DocumentError("the credential's subject has neither an id nor an identifier with an identityHash")

    def revoke(self, credential_id: str, *, reason: str, actor: Actor) -> Written:
        return self._change(credential_id, actor, "revoke credentials",
                            lambda c: c.revoke(reason=reason, actor=actor.name))

    def suspend(self, credential_id: str, *, reason: str, actor: Actor) -> Written:
        return self._change(credential_id, actor, "suspend credentials",
                            lambda c: c.suspend(reason=reason, actor=actor.name))

    def reinstate(self, credential_id: str, *, reason: str, actor: Actor) -> Written:
        return self._change(credential_id, actor, "reinstate credentials",
                            lambda c: c.reinstate(reason=reason, actor=actor.name))

    # --- helpers ---------------------------------------------------------------------------------

    def _change(self, credential_id: str, actor: Actor, action: str,
                change: Callable[[Credential], None]) -> Written:
        def use_case() -> Written:
            credential = self.records.credential(credential_id)
            authorise(actor, self.records.owner(credential).slug, action)
            change(credential)
            return Written(id=str(credential.id), position=self.store.commit(credential))

        return self.store.attempt(use_case)

    def _award(self, batch: _Batch, award: Award, actor: Actor, *,
               caused_by: Credential | None = None) -> tuple[Credential, dict]:
        achievement = batch.achievement(award.achievement)
        issuer = batch.issuer(achievement.issuer_id)
        authorise(actor, issuer.slug, "issue credentials")
        achievement.require_awardable()
        key = issuer.require_signing_key()
        if caused_by is None:
            subject, stored = self._recipient(award.recipient) if award.identity is None \
                else self._carried_identity(award.identity)
        else:  # the same subject as the award that completed the pathway (an address is never kept)
            subject, stored = _same_subject(caused_by), caused_by.recipient
        recipient = batch.recipient(stored)
        now = self.clock()
        self._check_prerequisites(batch, achievement, recipient, now)
        results = self._results(achievement, award)
        valid_from = _valid_from(award.valid_from, now)

        credential_id = Credential.new_id()
        document = openbadges.open_badge_credential(
            f"urn:uuid:{credential_id}", self.records.profile(issuer),
            json.loads(achievement.document), subject,
            valid_from=xsd_datetime(valid_from),
            valid_until=None if award.valid_until is None else xsd_datetime(award.valid_until),
            result=results,
            evidence=_evidence(award.evidence),
        )
        # What the registry's verifier would refuse, it does not sign.
        openbadges.refuse_unsafe(document, "the credential")
        if award.results or award.credential_schema or isinstance(award.evidence, tuple):
            _check_given_parts(document, award)
        status = document["credentialStatus"] = self.slots.allocate(issuer, credential_id, batch.status_slots)
        signer = self.custody.signer(key.public_key_multibase, key.verification_method)
        signed = proofs.sign(document, signer, created=xsd_datetime(now))
        credential = Credential.issue(
            id=credential_id, issuer=issuer, achievement=achievement, recipient=stored,
            document=document_text(signed), verification_method=key.verification_method,
            valid_from=valid_from.replace(microsecond=0), valid_until=award.valid_until, actor=actor.name,
            status_list=status["statusListCredential"], status_list_index=int(status["statusListIndex"]),
            caused_by=None if caused_by is None else caused_by.id,
        )
        recipient.award(credential_id=credential_id, achievement_id=achievement.id)
        batch.credentials[credential_id] = credential
        return credential, signed

    @staticmethod
    def _results(achievement: Achievement, award: Award) -> list[dict] | None:
        """The Result of the award: a score on a ladder names the level it reaches (picked here, by
        the achievement's own bands), a free result is kept as its value."""
        given = [dict(r) for r in award.results]
        if award.score is None:
            return ([openbadges.result(value=award.result)] if award.result else []) + given or None
        if award.result:
            raise DomainError("give a score or a result, not both: a ladder's result is its score")
        ladder = ladder_of(json.loads(achievement.document))
        if ladder is None:
            raise DomainError(f"{achievement.name} has no levels to pick by score; give a result instead")
        level = ladder.level_for(award.score)
        return [openbadges.result(result_description=ladder.result_description, achieved_level=level.id,
                                  value=award.score.strip()), *given]

    def _complete_pathways(self, batch: _Batch, cause: Credential, actor: Actor,
                           depth: int = 0) -> list[Credential]:
        """Automatic pathways this award completes, awarded now to the same recipient, each
        recorded as caused by `cause` (and what those complete in turn)."""
        if depth >= MAX_PATHWAY_DEPTH:
            return []
        recipient = batch.recipient(cause.recipient)
        now = self.clock()
        awarded: list[Credential] = []
        if cause.achievement_id not in batch.pathways:  # one read per achievement per batch
            batch.pathways[cause.achievement_id] = self.pathways(str(cause.achievement_id))
        for candidate in batch.pathways[cause.achievement_id]:
            pathway = batch.achievement(candidate)
            if not pathway.automatic or pathway.retired_at is not None or cause.achievement_id not in pathway.requires:
                continue
            if any(batch.credential(c).is_valid_at(now) for c in recipient.credentials_for(pathway.id)):
                continue  # held already: a pathway is awarded once
            if self._missing(batch, pathway, recipient, now, first_only=True):
                continue
            # The issuer's own rule, applied for it: the actor that made the completing award.
            credential, _ = self._award(batch, Award(cause.recipient, str(pathway.id)), actor, caused_by=cause)
            awarded += [credential, *self._complete_pathways(batch, credential, actor, depth + 1)]
        return awarded

    def _copy(self, batch: _Batch, old: Credential, issuer: Issuer, key, actor: Actor) -> tuple[Credential, dict]:
        achievement = batch.achievement(str(old.achievement_id))
        document = {k: v for k, v in json.loads(old.document).items() if k not in ("proof", "credentialStatus")}
        credential_id = Credential.new_id()
        document["id"] = f"urn:uuid:{credential_id}"
        document["issuer"] = self.records.profile(issuer)
        openbadges.refuse_unsafe(document, "the credential")
        status = document["credentialStatus"] = self.slots.allocate(issuer, credential_id, batch.status_slots)
        signer = self.custody.signer(key.public_key_multibase, key.verification_method)
        signed = proofs.sign(document, signer, created=xsd_datetime(self.clock()))
        credential = Credential.issue(
            id=credential_id, issuer=issuer, achievement=achievement, recipient=old.recipient,
            document=document_text(signed), verification_method=key.verification_method,
            valid_from=old.valid_from, valid_until=old.valid_until, actor=actor.name,
            status_list=status["statusListCredential"], status_list_index=int(status["statusListIndex"]),
        )
        batch.recipient(old.recipient).award(credential_id=credential_id, achievement_id=achievement.id)
        batch.credentials[credential_id] = credential
        return credential, signed

    def _carried_identity(self, given: dict) -> tuple[dict, str]:
        """An IdentityObject kept as it came (stored like a submitted credential's recipient)."""
        subject = {"identifier": [given]}
        return subject, self._submitted_recipient(subject)

    def _recipient(self, recipient: str) -> tuple[dict, str]:
        """The credentialSubject part and the form the registry stores."""
        value = recipient.strip()
        if value.startswith("did:") or value.startswith(("https://", "http://")):
            return {"id": value}, value
        if "@" in value:
            return ({"identifier": [identity.hashed_email_identity(value)]},
                    self.custody.recipient_reference(value))
        raise DocumentError(f"recipient {recipient!r} is neither an e-mail address, a DID nor an http(s) URL")

    @classmethod
    def _check_prerequisites(cls, batch: _Batch, achievement: Achievement, recipient: Recipient,
                             now: datetime) -> None:
        missing = cls._missing(batch, achievement, recipient, now)
        if missing:
            raise DomainError(f"{achievement.name} requires {missing[0]}, which the recipient does not hold as an active credential")

    @staticmethod
    def _missing(batch: _Batch, achievement: Achievement, recipient: Recipient, now: datetime,
                 first_only: bool = False) -> list[str]:
        """What the recipient lacks of the achievement's requirements, in words: an active
        credential of each required achievement, at its minimum level where one is set. With
        `first_only`, stops at the first gap (every award of a module asks this of its pathways)."""
        if first_only and any(not recipient.credentials_for(required) for required in achievement.requires):
            return ["a requirement"]  # cheap: nothing of it held at all, no document read
        missing = []
        for required in achievement.requires:
            if first_only and missing:
                break
            prerequisite = batch.achievement(str(required))
            held = [c for c in (batch.credential(c) for c in recipient.credentials_for(required)) if c.is_valid_at(now)]
            minimum = achievement.minimum_levels.get(str(required))
            if minimum is None:
                if not held:
                    missing.append(f"{prerequisite.name} ({required})")
                continue
            ladder = ladder_of(json.loads(prerequisite.document))
            needed = None if ladder is None else ladder.rank_of(minimum)
            reached = [ladder.rank_of(level) for c in held for level in c.achieved_levels] if ladder else []
            if needed is None or not any(rank is not None and rank >= needed for rank in reached):
                level = next((lv.name for lv in ladder.levels if lv.id == minimum), minimum) if ladder else minimum
                missing.append(f"{prerequisite.name} at level {level} or higher ({required})")
        return missing


def _valid_from(given: datetime | None, now: datetime) -> datetime:
    if given is None:
        return now
    if given.tzinfo is None:
        raise DocumentError("validFrom needs a timezone (e.g. 2026-05-01T12:00:00Z)")
    if not EARLIEST_VALID_FROM <= given <= now + LATEST_VALID_FROM:
        raise DomainError(f"validFrom {given.isoformat()} is out of range: from 1900 to a year from now")
    return given


def _evidence(given: str | tuple[dict, ...] | None) -> list[dict] | None:
    if not given:
        return None
    if isinstance(given, str):
        return [openbadges.evidence(evidence_id=given)]
    found = []
    for item in given:
        if not isinstance(item, dict):
            raise DocumentError(f"evidence must be a URL or Evidence objects, got {item!r}")
        found.append({"type": ["Evidence"], **item})
    return found


def _check_given_parts(document: dict, award: Award) -> None:
    """Objects given as they are (results, evidence, schema entries) must make a credential the
    1EdTech schema accepts and whose every term the pinned contexts define: what the registry's
    verifier would refuse, it does not sign."""
    for entry in award.credential_schema:
        if not (isinstance(entry.get("id"), str) and entry["id"].startswith(("https://", "http://"))
                and isinstance(entry.get("type"), str) and entry["type"]):
            raise DocumentError(f"a credentialSchema entry needs an http(s) URL id and a type, got {entry!r}")
    document["credentialSchema"] = [*document.get("credentialSchema", []), *(dict(s) for s in award.credential_schema)]
    conformance = schema.check(document)
    if not conformance.ok:
        raise DocumentError(f"the credential would not conform to OB 3.0: {'; '.join(conformance.errors)}")
    jsonld.assert_terms_defined(document)


def _submitted_id(document_id: str) -> UUID:
    """A submitted credential keeps its urn:uuid as the registry's id; any other id is hashed."""
    if document_id.startswith("urn:uuid:"):
        try:
            return UUID(document_id.removeprefix("urn:uuid:"))
        except ValueError:
            raise DocumentError(f"{document_id!r} is not a urn:uuid") from None
    return submitted_credential_id(document_id)


def _same_subject(credential: Credential) -> dict:
    """The credentialSubject's identification (id or identifier) of an issued credential."""
    subject = json.loads(credential.document)["credentialSubject"]
    return {k: subject[k] for k in ("id", "identifier") if k in subject}
