"""A token bucket per caller (the token's ``sub``), in this process's memory.

Good for one replica's protection against a runaway script; replicas do not share buckets,
so the effective limit is per replica (a shared limit belongs in the ingress or gateway)."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from fastapi import Depends, HTTPException

from platform_kit.auth.http import require_principal
from platform_kit.auth.principal import Principal


class RateLimit:
    """``Depends(RateLimit(per_minute=60))``: at most ``per_minute`` calls a minute per caller,
    with bursts up to ``burst``; beyond that 429 with ``Retry-After`` (seconds)."""

    def __init__(
        self, per_minute: int = 60, *, burst: int | None = None, max_callers: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.capacity = float(burst or per_minute)
        self.rate = per_minute / 60.0  # tokens a second
        self.max_callers, self.clock = max_callers, clock
        self._buckets: dict[str, tuple[float, float]] = {}  # sub -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 if the call may go ahead, else the seconds until it may."""
        with self._lock:
            now = self.clock()
            tokens, at = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - at) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                self._forget_idle(now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def _forget_idle(self, now: float) -> None:
        if len(self._buckets) <= self.max_callers:
            return
        # A bucket that has refilled is the same as no bucket: drop those first.
        full_after = self.capacity / self.rate
        for key, (_, at) in list(self._buckets.items()):
            if now - at >= full_after:
                del self._buckets[key]
        while len(self._buckets) > self.max_callers:
            del self._buckets[next(iter(self._buckets))]

    def __call__(self, principal: Principal = Depends(require_principal)) -> Principal:
        wait = self.take(principal.sub)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise HTTPException(
                429, detail=f"too many requests from {principal.sub}; try again in {seconds} s",
                headers={"Retry-After": str(seconds)},
            )
        return principal
