"""The verification report, and what the registry knows about an issuer's keys over time.

The registry fills IssuerKnowledge from its event log; verification.verify turns a credential and
that knowledge into a VerificationReport, one Check per question asked, in a fixed order."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

Outcome = Literal["pass", "fail", "warn", "skip", "indeterminate"]
Verdict = Literal["VALID", "INVALID", "INDETERMINATE"]


class Check(msgspec.Struct, frozen=True):
    """One question asked of a credential. "warn" passes with a caveat; "skip" did not apply (or
    only informs); "indeterminate": it had to be answered and could not be (a document could not be
    fetched, a DID method is not resolvable here)."""

    name: str
    outcome: Outcome
    reason: str  # in English
    details: list[dict] | None = None  # structured facts behind the reason (endorsements, hops)
    # The reason as a key and its values, so that a page can say it in its own language
    # (registry/api/pages/texts_*.py: "reason_<code>"); None where only the English reason exists.
    code: str | None = None
    params: dict[str, str] | None = None


class Summary(msgspec.Struct, frozen=True):
    """What a document says, so a person sees what was verified (not whether it holds: that is
    the checks')."""

    kind: str  # credential, endorsement, or document
    name: str | None  # the badge (achievement) or the document's name
    issuer_id: str | None
    issuer_name: str | None
    recipient: str | None  # a DID or URL, or what kind of identifier stands for the recipient
    issued: str | None  # validFrom
    valid_until: str | None
    results: list[str] = msgspec.field(default_factory=list)
    subject: str | None = None  # what an endorsement endorses
    comment: str | None = None  # an endorsement's comment


class VerificationReport(msgspec.Struct, frozen=True):
    """VALID only when every required check passed; INVALID when one failed; INDETERMINATE when
    none failed but one that had to be answered could not be. `valid` is verdict == VALID."""

    valid: bool
    verdict: Verdict
    credential_id: str | None
    issuer_id: str | None
    checks: list[Check]
    summary: Summary | None = None

    @classmethod
    def of(cls, credential_id: str | None, issuer_id: str | None, checks: list[Check],
           summary: Summary | None = None) -> VerificationReport:
        verdict = verdict_of(checks)
        return cls(verdict == "VALID", verdict, credential_id, issuer_id, checks, summary)

    @property
    def state(self) -> str:
        """The verdict in one word a page can style: valid, revoked, suspended, compromised,
        expired, not-yet-valid, forged (the proof fails), invalid (anything else), indeterminate."""
        if self.verdict == "VALID":
            return "valid"
        if self.verdict == "INDETERMINATE":
            return "indeterminate"
        failed = {c.name: c for c in self.failures}
        status = failed.get("status")
        if status is not None and status.code in ("status.revoked", "status.suspended", "status.compromised"):
            return status.code.split(".", 1)[1]
        if status is not None and "revo" in status.reason:
            return "revoked"
        if "proof" in failed:
            return "forged"
        if "key-history" in failed and "compromised" in failed["key-history"].reason:
            return "compromised"
        if "valid-until" in failed:
            return "expired"
        if "valid-from" in failed:
            return "not-yet-valid"
        return "invalid"

    def find(self, name: str) -> Check | None:
        """The check of that name, if it was made."""
        return next((check for check in self.checks if check.name == name), None)

    @property
    def failures(self) -> list[Check]:
        return [check for check in self.checks if check.outcome == "fail"]

    @property
    def unanswered(self) -> list[Check]:
        return [check for check in self.checks if check.outcome == "indeterminate"]

    def to_dict(self) -> dict:
        return msgspec.to_builtins(self)


class KeyInterval(msgspec.Struct, frozen=True):
    """One key of an issuer: registered at added_at, retired (no longer signs) at retired_at, and,
    if it leaked, untrustworthy for every signature from compromised_since on."""

    verification_method: str
    public_key_multibase: str
    added_at: datetime
    retired_at: datetime | None = None
    compromised_since: datetime | None = None


class IssuerKnowledge(msgspec.Struct, frozen=True):
    issuer_id: str
    keys: list[KeyInterval]
    deactivated_at: datetime | None = None


def verdict_of(checks: list[Check]) -> Verdict:
    outcomes = {check.outcome for check in checks}
    if "fail" in outcomes:
        return "INVALID"
    if "indeterminate" in outcomes:
        return "INDETERMINATE"
    return "VALID"
