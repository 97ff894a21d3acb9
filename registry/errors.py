"""Errors that cross layers, by whose fault they are. The edges map them once (HTTP problem details,
CLI exit codes); anything not listed here is a fault of the registry itself, never the user's.

- `registry.domain.DomainError` and its kinds: a rule of the registry refused the command.
- `InputError`: a value from outside (a parameter, a file, a setting) cannot be used; names the field.
- `registry.vc.errors.DocumentError`: a document (credential, achievement, list) is unacceptable.
- `registry.store.ConflictError`: concurrent writes kept colliding; nothing was stored.
- `registry.access.AccessError`: authentication, rate limits and idempotency keys.
- `Unavailable`: the answer cannot be given now, through no fault of the caller.
"""

from __future__ import annotations


class InputError(Exception):
    """A value given from outside cannot be used. `field` names it (a parameter, an option, a
    setting), so an answer can point at it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


class ConfigurationError(InputError):
    """The environment the registry was started with is unusable (a setting, the keystore, the
    database): the operator's to fix, reported before any command runs."""


class Unavailable(Exception):
    """The registry cannot give this answer now, through no fault of the caller: its database is
    unreachable (ask again after `retry_after` seconds), or an event the answer depends on could not
    be applied to the read models (quarantined; no retry helps until an operator rebuilds). HTTP
    503; the command line exits 75 (EX_TEMPFAIL)."""

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
