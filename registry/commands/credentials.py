"""Commands about issued badges: issue (one, or a batch in one transaction), suspend, reinstate,
revoke. Recipients given by e-mail appear in credentials only as salted hashes."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from registry.commands.custody import KeyCustody
from registry.commands.policy import Actor, authorise
from registry.commands.records import Records
from registry.commands.results import BatchWritten, Written
from registry.commands.status_lists import PendingSlots, StatusListSlots
from registry.domain import Achievement, Credential, DomainError, InvalidTransition, Issuer, Recipient
from registry.domain.credential import REVOKED
from registry.domain.identity import recipient_id
from registry.settings import Config
from registry.vc import identity, openbadges, proofs
from registry.vc.errors import DocumentError
from registry.vc.openbadges import document_text, xsd_datetime

BATCH_COLUMNS = ("recipient", "achievement", "result", "valid_until", "evidence")
MAX_BATCH = 10_000
# A batch's text (a CSV file, a JSON request): MAX_BATCH rows of a few hundred bytes each.
MAX_BATCH_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Award:
    """One credential to issue: who gets which achievement, with optional result and evidence."""

    recipient: str  # an e-mail address or a DID
    achievement: str
    result: str | None = None  # e.g. "87%": recorded as the achieved score
    valid_until: datetime | None = None
    evidence: str | None = None  # a URL


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
                 slots: StatusListSlots, clock: Callable[[], datetime]) -> None:
        self.records = records
        self.store = records.store
        self.custody = custody
        self.config = config
        self.slots = slots
        self.clock = clock

    def issue(self, award: Award, *, actor: Actor) -> Written:
        def use_case() -> Written:
            batch = _Batch(self.records)
            credential, document = self._award(batch, award, actor)
            position = self.store.commit(credential, *batch.status_slots.slots, *batch.recipients.values())
            return Written(id=str(credential.id), position=position, document=document)

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
            for row, award in enumerate(awards, start=2):  # row 1 is the CSV header
                try:
                    made.append(self._award(batch, award, actor))
                except (DomainError, DocumentError) as exc:
                    raise type(exc)(f"row {row}: {exc}") from None
            position = self.store.commit(*(c for c, _ in made), *batch.status_slots.slots,
                                         *batch.recipients.values())
            return BatchWritten(ids=[str(c.id) for c, _ in made], position=position,
                                documents=[d for _, d in made])

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

    def _award(self, batch: _Batch, award: Award, actor: Actor) -> tuple[Credential, dict]:
        achievement = batch.achievement(award.achievement)
        issuer = batch.issuer(achievement.issuer_id)
        authorise(actor, issuer.slug, "issue credentials")
        achievement.require_awardable()
        key = issuer.require_signing_key()
        subject, stored = self._recipient(award.recipient)
        recipient = batch.recipient(stored)
        now = self.clock()
        self._check_prerequisites(batch, achievement, recipient, now)

        credential_id = Credential.new_id()
        document = openbadges.open_badge_credential(
            f"urn:uuid:{credential_id}", self.records.profile(issuer),
            json.loads(achievement.document), subject,
            valid_from=xsd_datetime(now),
            valid_until=None if award.valid_until is None else xsd_datetime(award.valid_until),
            result=[openbadges.result(value=award.result)] if award.result else None,
            evidence=[openbadges.evidence(evidence_id=award.evidence)] if award.evidence else None,
        )
        # What the registry's verifier would refuse, it does not sign.
        openbadges.refuse_unsafe(document, "the credential")
        status = document["credentialStatus"] = self.slots.allocate(issuer, credential_id, batch.status_slots)
        signer = self.custody.signer(key.public_key_multibase, key.verification_method)
        signed = proofs.sign(document, signer, created=xsd_datetime(now))
        credential = Credential.issue(
            id=credential_id, issuer=issuer, achievement=achievement, recipient=stored,
            document=document_text(signed), verification_method=key.verification_method,
            valid_from=now.replace(microsecond=0), valid_until=award.valid_until, actor=actor.name,
            status_list=status["statusListCredential"], status_list_index=int(status["statusListIndex"]),
        )
        recipient.award(credential_id=credential_id, achievement_id=achievement.id)
        batch.credentials[credential_id] = credential
        return credential, signed

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

    def _recipient(self, recipient: str) -> tuple[dict, str]:
        """The credentialSubject part and the form the registry stores."""
        value = recipient.strip()
        if value.startswith("did:"):
            return {"id": value}, value
        if "@" in value:
            return ({"identifier": [identity.hashed_email_identity(value)]},
                    self.custody.recipient_reference(value))
        raise DocumentError(f"recipient {recipient!r} is neither an e-mail address nor a DID")

    @staticmethod
    def _check_prerequisites(batch: _Batch, achievement: Achievement, recipient: Recipient,
                             now: datetime) -> None:
        for required in achievement.requires:
            held = [batch.credential(c) for c in recipient.credentials_for(required)]
            if not any(c.is_valid_at(now) for c in held):
                name = batch.achievement(str(required)).name
                raise DomainError(
                    f"{achievement.name} requires {name} ({required}), which the recipient does not hold as an active credential"
                )


def parse_batch_csv(text: str) -> list[Award]:
    """Rows of `recipient,achievement[,result,valid_until,evidence]` under a header row."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None:
        raise DocumentError("the batch file is empty")
    header = [h.strip() for h in reader.fieldnames]
    missing = {"recipient", "achievement"} - set(header)
    unknown = set(header) - set(BATCH_COLUMNS)
    if missing or unknown:
        raise DocumentError(
            f"batch header must have recipient,achievement and optionally result,valid_until,evidence; "
            f"missing {sorted(missing)}, unknown {sorted(unknown)}"
        )
    awards = []
    for row_number, raw in enumerate(reader, start=2):
        # DictReader files surplus values under the key None and fills missing ones with None:
        # either means the row does not match the header (an unquoted comma in a result, say).
        if None in raw or any(v is None for v in raw.values()):
            raise DocumentError(f"row {row_number}: wrong number of columns ({len(header)} expected, as in the header)")
        row = {k.strip(): v.strip() for k, v in raw.items()}
        if not row["recipient"] or not row["achievement"]:
            raise DocumentError(f"row {row_number}: recipient and achievement are required")
        valid_until = None
        if row.get("valid_until"):
            valid_until = openbadges.parse_datetimez(row["valid_until"], f"row {row_number}: valid_until")
        awards.append(Award(row["recipient"], row["achievement"], row.get("result") or None,
                            valid_until, row.get("evidence") or None))
    return awards
