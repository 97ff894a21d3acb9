"""Which failures mean "the database cannot be reached now" rather than "this request or event is
wrong": a PostgreSQL server that is down, restarting or refusing connections, a connection that
broke, a pool with no connection to give, a SQLite file whose write lock stayed taken. Those are
answered with 503 and Retry-After (the command line: exit 75), are never blamed on the caller and
never quarantine an event. The one place that knows the drivers' and the library's error classes."""

from __future__ import annotations

import sqlite3

import eventsourcing.persistence as es
import psycopg
import psycopg.errors
import psycopg_pool

from registry.errors import Unavailable

# Seconds a client should wait before asking again: a restarting PostgreSQL is back in about 3 s.
RETRY_AFTER = 5

_DRIVER_OUTAGES = (psycopg.OperationalError, psycopg.InterfaceError, psycopg_pool.PoolTimeout)
# The library's own classes wrap the drivers' errors (then the cause decides: "no such table" is
# no outage), or stand alone (no connection to be had from its pool).
_LIBRARY_OUTAGES = (es.OperationalError, es.InterfaceError, es.ConnectionPoolClosedError)
_SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")


def is_outage(exc: BaseException) -> bool:
    """True when `exc`, or an error it was raised from, says the database is out of reach."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 10:
        if isinstance(current, _DRIVER_OUTAGES):
            return True
        if isinstance(current, sqlite3.OperationalError):
            return any(m in str(current) for m in _SQLITE_BUSY)
        cause = current.__cause__ or current.__context__
        if isinstance(current, _LIBRARY_OUTAGES) and cause is None:
            return True
        current = current.__cause__ or current.__context__
        seen += 1
    return False


def missing_privilege(exc: BaseException) -> str | None:
    """The database's refusal when the connected role lacks a right (PostgreSQL), or None."""
    current: BaseException | None = exc
    for _ in range(10):
        if current is None:
            return None
        if isinstance(current, psycopg.errors.InsufficientPrivilege):
            return (str(current).strip().splitlines() or ["permission denied"])[0]
        current = current.__cause__ or current.__context__
    return None


def unavailable(exc: BaseException) -> Unavailable:
    """The error to answer with for an outage: what happened, in one line, and when to ask again."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return Unavailable(f"the registry's database is unavailable ({first[:200]}); try again shortly",
                       retry_after=RETRY_AFTER)


__all__ = ["RETRY_AFTER", "is_outage", "missing_privilege", "unavailable"]
