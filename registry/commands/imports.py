"""Bringing in credentials other platforms issued: OB 3.0 (JSON-LD with a Data Integrity proof, or a
VC-JWT) and OB 2.0 (a hosted assertion, its JSON or just its URL; a signed one, the JWS), any of them
possibly baked into a PNG or SVG. Each is verified with the registry's own verifier (documents it
needs may be given by URL instead of fetched) and recorded as an `Imported` fact with its provenance:
the original as it came, where from, every check, and the documents verification rested on.
Importing the same document again finds the first import; a different document under the same id is
refused (except for an OB 2.0 hosted assertion imported as one before, whose URL is the truth: its
copy may have changed)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from uuid import UUID

from registry.commands import backpack
from registry.commands.achievements import AchievementCommands
from registry.commands.credentials import Award, CredentialCommands
from registry.commands.policy import Actor, authorise
from registry.commands.records import Records
from registry.commands.results import Written
from registry.domain import AlreadyExists, DomainError, ImportedCredential, LegacyProfile, NotFound
from registry.domain.identity import imported_credential_id, legacy_profile_id, reissued_achievement_id
from registry.domain.legacy_profile import carries_claim, claim_token
from registry.vc import baking, json_text, ob2, ob2_migration, vc_jwt
from registry.vc.errors import DocumentError
from registry.vc.report import VerificationReport

# No credential comes near this; a larger file is refused before it is parsed.
MAX_IMPORT_BYTES = 256 * 1024
MAX_IMPORTS = 1000  # in one transaction
UNSIGNED_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.")


class ImportCommands:
    def __init__(self, records: Records, verify: Callable[..., VerificationReport],
                 verify_ob2: Callable[..., ob2.Ob2Badge], fetch_document: Callable[..., object],
                 achievements: AchievementCommands, credentials: CredentialCommands) -> None:
        """`verify(document, documents=...)`: the registry's verifier (Queries.verify);
        `verify_ob2(assertion, documents=...)`: its OB 2.0 verifier (Queries.verify_ob2);
        `fetch_document(url, what, documents)`: a JSON document fetched now (Queries.fetch_document);
        `achievements` and `credentials`: what re-issuing defines and signs with."""
        self.records = records
        self.store = records.store
        self.verify = verify
        self.verify_ob2 = verify_ob2
        self.fetch_document = fetch_document
        self.achievements = achievements
        self.credentials = credentials

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
        source it concerns. The same credential twice in one call is recorded once. A backpack
        export (a zip archive, a JSON list, Badgr's API answer: registry.commands.backpack) is
        the badges in it."""
        items = [badge for data, source in items
                 for badge in backpack.expand(data.encode("utf-8") if isinstance(data, str) else data, source)]
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
                # Its first event says what was imported (one read, where `find` replays them all).
                found = made.get(candidate.credential_id) or self.store.created(imported_credential_id(candidate.credential_id))
                if isinstance(found, (ImportedCredential, ImportedCredential.Imported)):
                    # A hosted assertion's URL is the truth of what was imported from it, not of a
                    # signed badge or an OB 3.0 credential that took that URL as its id first.
                    if found.original != candidate.text and not candidate.format == found.format == "ob2-hosted":
                        raise AlreadyExists(f"{candidate.source}: credential {candidate.credential_id} was imported "
                                            "already, from other bytes" + (f" (as {found.format})" if
                                                                          found.format != candidate.format else ""))
                    first_id = found.id if isinstance(found, ImportedCredential) else found.originator_id
                    answers.append((str(first_id), None))
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
        unbaked = baking.unbake(raw) if baked else None
        text = unbaked.text if unbaked else _text(raw)
        if len(text.encode("utf-8")) > MAX_IMPORT_BYTES:
            raise DocumentError(f"the credential is larger than {MAX_IMPORT_BYTES} bytes")
        if UNSIGNED_JWS.fullmatch(text.strip()):
            raise DocumentError("a JWS without a signature (alg none, or an empty signature part) is no credential")
        stripped = text.strip()
        parsed = json_text.loads(stripped) if stripped.startswith(("{", "[")) else None  # once, for both checks
        # A bare URL is a hosted OB 2.0 assertion (what Baking 1.0 may bake, and Badgr's export names).
        if (unbaked is not None and unbaked.version == "2.0") or _is_url(text) or \
                (ob2.is_ob2(parsed) if parsed is not None else ob2.is_ob2_text(stripped)):
            return self._ob2_candidate(text, baked, source, actor, documents, unverified)
        credential, format = _parse(text, parsed)
        credential_id = credential.get("id")
        if not isinstance(credential_id, str) or not credential_id.strip():
            raise DocumentError("the credential has no id: an import is known by it")
        report = self.verify(text.strip() if format == "ob3-vc-jwt" else credential, documents=documents)
        logged = next((c for c in report.checks if c.name == "log"), None)
        if logged is not None and logged.outcome == "pass":
            raise DomainError(f"credential {credential_id} was issued in this registry: nothing to import")
        _refuse_unverified(report, credential_id, unverified)
        issuer_did = _issuer_of(credential)
        issuer = self.records.issuer_by_did(issuer_did) if issuer_did else None
        # An organisation imports what it issued itself; anything else is the operator's to import.
        authorise(actor, issuer.slug if issuer is not None else None, "import credentials")
        return _Candidate(credential_id, format, baked, source, text, issuer_did or "",
                          None if issuer is None else issuer.id, _name_of(credential), report, unverified)

    def _ob2_candidate(self, text: str, baked: str | None, source: str, actor: Actor,
                       documents: Mapping[str, bytes | dict] | None, unverified: bool) -> _Candidate:
        """An OB 2.0 assertion: verified by the OB 2.0 rules (hosted: the copy its URL serves is
        the assertion; signed: the JWS), recorded with the documents it rests on."""
        badge = self.verify_ob2(text.strip(), documents=documents)
        report = badge.report
        if len(report.checks) == 1 and report.checks[0].outcome == "fail":  # not an assertion at all
            raise DocumentError(report.checks[0].reason)
        assertion = badge.assertion or {}
        credential_id = assertion.get("id")
        if not isinstance(credential_id, str) or not credential_id.strip():
            raise DocumentError("the assertion has no id: an import is known by it")
        _refuse_unverified(report, credential_id, unverified)
        profile_id = report.issuer_id or ""
        # An OB 2.0 issuer is a URL: its badges are an organisation's own once it proved control of
        # that Profile (registry.domain.legacy_profile); anything else is the operator's to import.
        owner = self._legacy_owner(profile_id)
        authorise(actor, None if owner is None else owner.slug, "import credentials")
        name = (badge.badge_class or {}).get("name")
        return _Candidate(credential_id, f"ob2-{badge.form}", baked, source, text.strip(), profile_id,
                          None if owner is None else owner.id,
                          name.strip() if isinstance(name, str) and name.strip() else "(unnamed badge)",
                          report, unverified, json.dumps(badge.documents, ensure_ascii=False, sort_keys=True))


    def _legacy_owner(self, profile_url: str):
        found = self.store.find(legacy_profile_id(profile_url)) if profile_url else None
        return self.records.issuer_by_id(found.issuer_id) if isinstance(found, LegacyProfile) else None

    # --- proving control of an OB 2.0 issuer Profile --------------------------------------------

    def prove_profile(self, slug: str, profile_url: str, *, actor: Actor, signed_claim: str | None = None,
                      documents: Mapping[str, bytes | dict] | None = None) -> Written:
        """Record that organisation `slug` controls the OB 2.0 issuer Profile at `profile_url`:
        the Profile, fetched from that URL now, carries the organisation's claim token
        (`badge-registry-claim=<its DID>`) in a text value; or `signed_claim`, a JWS (RS256) over
        {"claim": <its DID>, "profile": <the URL>}, verifies with a key the Profile lists and owns.
        One organisation per Profile."""
        owner = self.records.issuer(slug)
        authorise(actor, owner.slug, "prove control of an OB 2.0 issuer Profile")
        claimed = self.store.find(legacy_profile_id(profile_url))
        if isinstance(claimed, LegacyProfile) and claimed.issuer_id != owner.id:
            raise AlreadyExists(f"{profile_url} was proved to be {claimed.slug}'s")
        profile = self.fetch_document(profile_url, "the OB 2.0 issuer Profile", documents)
        if not isinstance(profile, dict) or profile.get("id") != profile_url:
            raise DocumentError(f"{profile_url} does not serve an OB 2.0 Profile with that id")
        if not {"Issuer", "Profile"} & set(ob2.types_of(profile.get("type"))):
            raise DocumentError(f"{profile_url} serves no Issuer or Profile")
        token = claim_token(owner.did)
        if signed_claim is not None:
            try:
                claims = ob2.signed_claim(signed_claim, profile, lambda url, what: self.fetch_document(url, what, documents))
            except ob2.Unavailable as exc:
                raise DocumentError(str(exc)) from None
            if claims != {"claim": owner.did, "profile": profile_url}:
                raise DocumentError(f"the signed claim must be exactly {{\"claim\": \"{owner.did}\", \"profile\": "
                                    f"\"{profile_url}\"}}")
            method, evidence = "signed-claim", signed_claim.strip()
        elif any(carries_claim(value, owner.did) for value in ob2.own_texts(profile)):
            method, evidence = "profile-claim", json.dumps(profile, ensure_ascii=False, sort_keys=True)
        else:
            raise DocumentError(f"the Profile at {profile_url} does not carry {token} (put it in its description, "
                                "or prove control with a signed claim)")

        def use_case() -> Written:
            found = self.store.find(legacy_profile_id(profile_url))
            if isinstance(found, LegacyProfile):
                if found.issuer_id == owner.id:
                    return Written(id=str(found.id), position=self.store.max_position())
                raise AlreadyExists(f"{profile_url} was proved to be {found.slug}'s")
            proved = LegacyProfile.prove(profile_url=profile_url, slug=owner.slug, issuer_id=owner.id,
                                         method=method, evidence=evidence, actor=actor.name)
            return Written(id=str(proved.id), position=self.store.commit(proved))

        return self.store.attempt(use_case)

    # --- re-issuing an OB 2.0 badge as OB 3.0 ------------------------------------------------------

    def reissue(self, ref: str, *, actor: Actor) -> Written:
        """Re-issue an imported OB 2.0 badge as an OB 3.0 credential signed with the registry-held
        key of the organisation that proved control of its issuer Profile: its BadgeClass becomes
        (once) an Achievement with the same name, description, criteria, alignments, tags and image;
        issuedOn becomes validFrom, expires validUntil; evidence and narrative are kept, with the
        original assertion as one more Evidence entry. The import records the new credential."""
        imported = self._imported(ref)
        owner = self._legacy_owner(imported.issuer)
        if owner is None:
            raise DomainError(f"no organisation has proved control of the issuer {imported.issuer or '(none)'} "
                              "(registry issuer prove-ob2): the badge is not re-issued")
        authorise(actor, owner.slug, "re-issue badges")
        if imported.reissued_as is not None:
            return Written(id=str(imported.reissued_as), position=self.store.max_position())
        documents = json.loads(imported.documents)
        assertion = documents.get(imported.credential_id) if imported.format == "ob2-hosted" \
            else ob2.jws_payload(imported.original)
        if not isinstance(assertion, dict):
            raise DocumentError("the imported assertion is not among the documents it was verified with")
        badge_class = ob2_migration.badge_class_of(assertion, documents)
        achievement_id = reissued_achievement_id(owner.id, str(badge_class.get("id")))
        if self.store.find(achievement_id) is None:
            self.achievements.define(issuer=owner.slug, actor=actor, id=achievement_id,
                                     definition=ob2_migration.achievement_definition(badge_class))
        email, identity = ob2_migration.recipient_of(assertion)
        expires = assertion.get("expires")
        award = Award(recipient=email or "", identity=identity, achievement=str(achievement_id),
                      valid_from=ob2.datetime_of(assertion.get("issuedOn"), "issuedOn"),
                      valid_until=None if expires is None else ob2.datetime_of(expires, "expires"),
                      evidence=tuple(ob2_migration.evidence_of(assertion)))
        def link(credential) -> list:
            # Loaded again in the award's own transaction (and on each retry of it): a concurrent
            # re-issue that linked first makes this one refuse, and its award is not stored.
            found = self._imported(ref)
            found.reissue(credential=credential.id, achievement=achievement_id, actor=actor.name)
            return [found]

        return self.credentials.issue(award, actor=actor, also=link)

    def _imported(self, ref: str) -> ImportedCredential:
        for candidate in (lambda: UUID(ref), lambda: imported_credential_id(ref)):
            try:
                found = self.store.find(candidate())
            except ValueError:
                continue
            if isinstance(found, ImportedCredential):
                return found
        raise NotFound(f"no imported credential {ref}")


def _refuse_unverified(report: VerificationReport, credential_id: str, unverified: bool) -> None:
    if report.verdict != "VALID" and not unverified:
        reasons = "; ".join(f"{c.name}: {c.reason}" for c in report.checks if c.outcome in ("fail", "indeterminate"))
        raise DocumentError(f"the credential is {report.verdict} ({reasons}); nothing was imported "
                            "(--unverified records it as not verified)")


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
    documents: str = "{}"  # JSON {url: document}: what verification rested on

    def record(self, actor: Actor) -> ImportedCredential:
        checks = [{"name": c.name, "outcome": c.outcome, "reason": c.reason} for c in self.report.checks]
        return ImportedCredential.record(
            credential_id=self.credential_id, format=self.format, baked=self.baked, source=self.source,
            original=self.text, issuer=self.issuer, issuer_id=self.issuer_id, name=self.name,
            verdict=self.report.verdict, unverified=self.unverified, actor=actor.name,
            checks=json.dumps(checks, ensure_ascii=False), documents=self.documents)


def _is_url(text: str) -> bool:
    stripped = text.strip()
    return stripped.startswith(("https://", "http://")) and not any(c.isspace() for c in stripped)


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8", errors="strict").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise DocumentError("neither UTF-8 text nor a baked PNG or SVG") from None


def _parse(text: str, parsed: object = None) -> tuple[dict, str]:
    """The credential and its format, from JSON-LD text (`parsed` already, if given) or a compact
    JWS (VC-JWT)."""
    stripped = text.strip()
    if parsed is not None:
        document, format = parsed, "ob3-json-ld"
    elif vc_jwt.is_compact(stripped):
        document, format = vc_jwt.parse(stripped).credential, "ob3-vc-jwt"
    else:
        document, format = json_text.loads(text), "ob3-json-ld"
    if not isinstance(document, dict):
        raise DocumentError(f"expected a credential (a JSON object), got {type(document).__name__}")
    context = document.get("@context")
    contexts = context if isinstance(context, list) else [context]
    if ob2.OB1_CONTEXT in contexts:
        raise DocumentError("an Open Badges 1.x assertion: only 2.0 and 3.0 badges can be imported")
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
