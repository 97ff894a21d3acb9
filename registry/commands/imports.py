"""Bringing in credentials other platforms issued (OB 3.0 JSON-LD with a Data Integrity proof, or a
VC-JWT; either may come baked into a PNG or SVG): each is verified with the registry's own verifier
(documents it needs may be given by URL instead of fetched) and recorded as an `Imported` fact with
its provenance. Importing the same document again finds the first import; a different document under
the same id is refused."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from uuid import UUID

from registry.commands.policy import Actor, authorise
from registry.commands.records import Records
from registry.commands.results import Written
from registry.domain import AlreadyExists, DomainError, ImportedCredential
from registry.domain.identity import imported_credential_id
from registry.vc import baking, json_text, vc_jwt
from registry.vc.errors import DocumentError
from registry.vc.report import VerificationReport

# No credential comes near this; a larger file is refused before it is parsed.
MAX_IMPORT_BYTES = 256 * 1024
OB2_CONTEXT = "https://w3id.org/openbadges/v2"
MAX_IMPORTS = 1000  # in one transaction
UNSIGNED_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.")


class ImportCommands:
    def __init__(self, records: Records, verify: Callable[..., VerificationReport]) -> None:
        """`verify(document, documents=...)`: the registry's verifier (Queries.verify)."""
        self.records = records
        self.store = records.store
        self.verify = verify

    def import_credential(self, data: bytes | str, *, source: str, actor: Actor,
                          documents: Mapping[str, bytes | dict] | None = None,
                          unverified: bool = False) -> Written:
        """Verify and record one credential. `source` says where it came from (a URL or a file
        name). Refused with the reason when it does not verify, unless `unverified`, which records
        it explicitly as not verified (INVALID or INDETERMINATE, with every check)."""
        return self.import_credentials([(data, source)], actor=actor, documents=documents, unverified=unverified)[0]

    def import_credentials(self, items: Sequence[tuple[bytes | str, str]], *, actor: Actor,
                           documents: Mapping[str, bytes | dict] | None = None,
                           unverified: bool = False) -> list[Written]:
        """Several (data, source) at once, in one transaction: all or nothing, a refusal naming the
        source it concerns. The same credential twice in one call is recorded once."""
        if not items:
            raise DomainError("nothing to import")
        if len(items) > MAX_IMPORTS:
            raise DomainError(f"at most {MAX_IMPORTS} credentials in one import, got {len(items)}")
        candidates = []
        for data, source in items:
            try:
                candidates.append(self._candidate(data, source, actor, documents, unverified))
            except (DomainError, DocumentError) as exc:
                raise type(exc)(f"{source}: {exc}" if len(items) > 1 else str(exc)) from None

        def use_case() -> list[Written]:
            made: dict[str, ImportedCredential] = {}
            answers: list[tuple[str, ImportedCredential | None]] = []
            for candidate in candidates:
                found = made.get(candidate.credential_id) or self.store.find(imported_credential_id(candidate.credential_id))
                if isinstance(found, ImportedCredential):
                    if found.original != candidate.text:
                        raise AlreadyExists(f"{candidate.source}: credential {candidate.credential_id} was imported "
                                            "already, from other bytes")
                    answers.append((str(found.id), None))
                    continue
                imported = candidate.record(actor)
                made[candidate.credential_id] = imported
                answers.append((str(imported.id), imported))
            position = self.store.commit(*made.values()) if made else self.store.max_position()
            return [Written(id=answer, position=position) for answer, _ in answers]

        return self.store.attempt(use_case)

    def _candidate(self, data: bytes | str, source: str, actor: Actor,
                   documents: Mapping[str, bytes | dict] | None, unverified: bool) -> _Candidate:
        """Parsed, verified and authorised: what one import would record."""
        raw = data.encode("utf-8") if isinstance(data, str) else data
        if len(raw) > MAX_IMPORT_BYTES + baking.MAX_IMAGE_BYTES:
            raise DocumentError(f"larger than {MAX_IMPORT_BYTES + baking.MAX_IMAGE_BYTES} bytes: no credential is")
        baked = baking.kind_of(raw)
        text = baking.unbake(raw).text if baked else _text(raw)
        if len(text.encode("utf-8")) > MAX_IMPORT_BYTES:
            raise DocumentError(f"the credential is larger than {MAX_IMPORT_BYTES} bytes")
        credential, format = _parse(text)
        credential_id = credential.get("id")
        if not isinstance(credential_id, str) or not credential_id.strip():
            raise DocumentError("the credential has no id: an import is known by it")
        report = self.verify(text.strip() if format == "ob3-vc-jwt" else credential, documents=documents)
        logged = next((c for c in report.checks if c.name == "log"), None)
        if logged is not None and logged.outcome == "pass":
            raise DomainError(f"credential {credential_id} was issued in this registry: nothing to import")
        if report.verdict != "VALID" and not unverified:
            reasons = "; ".join(f"{c.name}: {c.reason}" for c in report.checks if c.outcome in ("fail", "indeterminate"))
            raise DocumentError(f"the credential is {report.verdict} ({reasons}); nothing was imported "
                                "(--unverified records it as not verified)")
        issuer_did = _issuer_of(credential)
        issuer = self.records.issuer_by_did(issuer_did) if issuer_did else None
        # An organisation imports what it issued itself; anything else is the operator's to import.
        authorise(actor, issuer.slug if issuer is not None else None, "import credentials")
        return _Candidate(credential_id, format, baked, source, text, issuer_did or "",
                          None if issuer is None else issuer.id, _name_of(credential), report, unverified)


@dataclass(frozen=True)
class _Candidate:
    credential_id: str
    format: str
    baked: str | None
    source: str
    text: str
    issuer: str
    issuer_id: UUID | None
    name: str
    report: VerificationReport
    unverified: bool

    def record(self, actor: Actor) -> ImportedCredential:
        checks = [{"name": c.name, "outcome": c.outcome, "reason": c.reason} for c in self.report.checks]
        return ImportedCredential.record(
            credential_id=self.credential_id, format=self.format, baked=self.baked, source=self.source,
            original=self.text, issuer=self.issuer, issuer_id=self.issuer_id, name=self.name,
            verdict=self.report.verdict, unverified=self.unverified, actor=actor.name,
            checks=json.dumps(checks, ensure_ascii=False))


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8", errors="strict").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise DocumentError("neither UTF-8 text nor a baked PNG or SVG") from None


def _parse(text: str) -> tuple[dict, str]:
    """The credential and its format, from JSON-LD text or a compact JWS (VC-JWT)."""
    stripped = text.strip()
    if vc_jwt.is_compact(stripped):
        document, format = vc_jwt.parse(stripped).credential, "ob3-vc-jwt"
    elif UNSIGNED_JWS.fullmatch(stripped):
        raise DocumentError("a JWS without a signature (alg none, or an empty signature part) is no credential")
    else:
        document, format = json_text.loads(text), "ob3-json-ld"
    if not isinstance(document, dict):
        raise DocumentError(f"expected a credential (a JSON object), got {type(document).__name__}")
    context = document.get("@context")
    contexts = context if isinstance(context, list) else [context]
    if OB2_CONTEXT in contexts:
        raise DocumentError("an Open Badges 2.0 assertion: only OB 3.0 credentials can be imported so far")
    types = document.get("type") if isinstance(document.get("type"), list) else [document.get("type")]
    if not {"OpenBadgeCredential", "AchievementCredential"} & set(types):
        raise DocumentError("not an OB 3.0 credential (type must include OpenBadgeCredential)")
    return document, format


def _issuer_of(credential: dict) -> str | None:
    issuer = credential.get("issuer")
    found = issuer.get("id") if isinstance(issuer, dict) else issuer
    return found if isinstance(found, str) else None


def _name_of(credential: dict) -> str:
    subject = credential.get("credentialSubject")
    subject = subject[0] if isinstance(subject, list) and subject else subject
    achievement = subject.get("achievement") if isinstance(subject, dict) else None
    for found in ((achievement or {}).get("name") if isinstance(achievement, dict) else None, credential.get("name")):
        if isinstance(found, str) and found.strip():
            return found.strip()
    return "(unnamed credential)"
