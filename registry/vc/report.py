"""The verification report, and what the registry knows about an issuer's keys over time.

The registry fills IssuerKnowledge from its event log; verification.verify turns a credential and
that knowledge into a VerificationReport, one Check per question asked, in a fixed order."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

Outcome = Literal["pass", "fail", "warn", "skip"]


class Check(msgspec.Struct, frozen=True):
    """One question asked of a credential. "warn" passes with a caveat; "skip" could not be asked."""

    name: str
    outcome: Outcome
    reason: str
    details: list[dict] | None = None  # structured facts behind the reason (endorsements, hops)


class VerificationReport(msgspec.Struct, frozen=True):
    valid: bool  # no check failed
    credential_id: str | None
    issuer_id: str | None
    checks: list[Check]

    def find(self, name: str) -> Check | None:
        """The check of that name, if it was made."""
        return next((check for check in self.checks if check.name == name), None)

    @property
    def failures(self) -> list[Check]:
        return [check for check in self.checks if check.outcome == "fail"]

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
