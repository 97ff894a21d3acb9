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
    reason: str
    details: list[dict] | None = None  # structured facts behind the reason (endorsements, hops)


class VerificationReport(msgspec.Struct, frozen=True):
    """VALID only when every required check passed; INVALID when one failed; INDETERMINATE when
    none failed but one that had to be answered could not be. `valid` is verdict == VALID."""

    valid: bool
    verdict: Verdict
    credential_id: str | None
    issuer_id: str | None
    checks: list[Check]

    @classmethod
    def of(cls, credential_id: str | None, issuer_id: str | None, checks: list[Check]) -> VerificationReport:
        verdict = verdict_of(checks)
        return cls(verdict == "VALID", verdict, credential_id, issuer_id, checks)

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
