"""Refusals of the access layer, each with the HTTP status it stands for."""

from __future__ import annotations


class AccessError(Exception):
    status = 400

    def __init__(self, message: str, status: int | None = None, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status
        self.retry_after = retry_after  # seconds, for a Retry-After header


class UnknownApiKey(AccessError):
    status = 404


class IdempotencyConflict(AccessError):
    """The key was used for another request (422), or its first request has not finished (409)."""
