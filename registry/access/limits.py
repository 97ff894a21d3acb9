"""Per-key rate limiting: a token bucket for each API key, in this process. (With several
workers each has its own buckets, so the effective limit is the rate times the worker count.)"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from registry.errors import InputError


class RateLimiter:
    def __init__(self, per_minute: int, *, burst: int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 1:
            raise InputError("rate", f"must be at least 1 request per minute, got {per_minute}")
        self.rate = per_minute / 60.0
        self.capacity = float(burst or per_minute)
        self.clock = clock
        self.buckets: dict[str, tuple[float, float]] = {}  # key id -> (tokens, last refill)
        self.lock = threading.Lock()

    def take(self, key_id: str) -> int | None:
        """None if the request may go ahead; else whole seconds until it may (for Retry-After)."""
        with self.lock:
            now = self.clock()
            tokens, last = self.buckets.get(key_id, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self.buckets[key_id] = (tokens - 1, now)
                return None
            self.buckets[key_id] = (tokens, now)
            return max(1, math.ceil((1 - tokens) / self.rate))
