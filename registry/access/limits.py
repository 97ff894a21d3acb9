"""Rate limits that hold across workers and hosts: one bucket per client (an API key for writes,
the peer address for anonymous reads), kept in a table of the registry's own database, which every
worker of every host shares.

Each bucket is a GCRA (generic cell rate algorithm) bucket: its state is one number, the
theoretical arrival time `tat` of the next request; a request costing n is allowed while
`max(tat, now) + n / rate - now <= burst / rate`. Asking the database on every request would cost
a read a write transaction, so a worker takes a small **lease** of requests from the shared bucket
at once (at most a tenth of the burst and a second's worth of the rate) and spends it locally; what
is not spent within LEASE_SECONDS goes back. A lease is deducted from the shared bucket when taken, so all workers
together never admit more than the bucket allows: a worker that dies with a lease in hand only
makes the limit stricter for a moment."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

from registry.errors import InputError
from registry.store import Database, is_outage

log = logging.getLogger("registry.access")

TABLE = "rate_limits"
DDL = "CREATE TABLE IF NOT EXISTS rate_limits (bucket TEXT PRIMARY KEY, tat DOUBLE PRECISION NOT NULL)"
LEASE_SECONDS = 1.0


class _Lease:
    __slots__ = ("left", "until", "size")

    def __init__(self) -> None:
        self.left, self.until, self.size = 0, 0.0, 1


class RateLimiter:
    def __init__(self, db: Database, per_minute: int, *, burst: int | None = None, name: str = "",
                 clock: Callable[[], float] = time.time) -> None:
        if per_minute < 1:
            raise InputError("rate", f"must be at least 1 request per minute, got {per_minute}")
        self.db = db
        self.name = name  # the buckets' prefix: limiters of different kinds share the table
        self.interval = 60.0 / per_minute  # seconds one request costs the bucket
        self.burst = float(burst or per_minute)
        # A lease is at most a tenth of the burst and a second's worth of the rate.
        self.lease_max = max(1, min(int(self.burst) // 10, per_minute // 60))
        self.clock = clock
        self._leases: dict[str, _Lease] = {}
        self._lock = threading.Lock()

    def take(self, client: str, cost: int = 1) -> int | None:
        """None if the request may go ahead; else whole seconds until it may (for Retry-After)."""
        bucket = f"{self.name}:{client}"
        cost = min(cost, int(self.burst))  # a request dearer than the burst would never pass
        now = self.clock()
        with self._lock:
            lease = self._leases.get(bucket)
            if lease is None:
                lease = self._leases[bucket] = _Lease()
                if len(self._leases) > 10_000:  # forget clients long gone (their leases expired)
                    self._leases = {b: v for b, v in self._leases.items() if v.until > now or v is lease}
            if lease.left >= cost and now < lease.until:
                lease.left -= cost
                return None
            # A lease spent in time grows the next (a busy client asks the database less often);
            # one left unspent shrinks it, and what is left goes back to the shared bucket.
            refund = lease.left
            lease.size = max(1, lease.size // 2) if refund else min(self.lease_max, lease.size * 2)
            want, lease.left = max(lease.size, cost), 0
        try:
            granted, wait = self._grant(bucket, cost, want, refund, now)
        except Exception as exc:
            if not is_outage(exc):
                raise
            # The limits' store is out of reach: a limit protects the registry, it must not stop
            # it; the request goes ahead (and meets the same outage if it needs the database).
            log.warning("rate limits unavailable (%s); letting %s through", exc, bucket)
            return None
        if not granted:
            return max(1, math.ceil(wait))
        with self._lock:
            lease.left, lease.until = granted - cost, now + LEASE_SECONDS
        return None

    def _grant(self, bucket: str, cost: int, want: int, refund: int, now: float) -> tuple[int, float]:
        """Give back `refund`, take up to `want` (at least `cost`) from the shared bucket:
        (granted, 0), or (0, seconds until `cost` would be granted)."""
        limit = self.burst * self.interval
        with self.db.transaction() as cursor:
            cursor.execute("INSERT INTO rate_limits (bucket, tat) VALUES (?, ?) ON CONFLICT DO NOTHING", (bucket, now))
            lock = " FOR UPDATE" if self.db.kind == "postgres" else ""
            stored = cursor.execute(f"SELECT tat FROM rate_limits WHERE bucket = ?{lock}", (bucket,))[0][0]
            tat = max(stored - refund * self.interval, now)
            room = int((now + limit - tat) / self.interval + 1e-9)
            granted = min(want, room) if room >= cost else 0
            if granted or refund:
                cursor.execute("UPDATE rate_limits SET tat = ? WHERE bucket = ?", (tat + granted * self.interval, bucket))
            return (granted, 0.0) if granted else (0, tat + cost * self.interval - limit - now)
