"""Fixed-window rate limits kept in the shared cache (Redis or the database cache), so every
app process counts the same hits."""

from __future__ import annotations

import time

from django.core.cache import cache


def allow(key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one hit on ``key``; False once more than ``limit`` hits fall in this window."""
    window = int(time.time() // window_seconds)
    cache_key = f"ratelimit:{key}:{window}"
    # add() is atomic: only the first hit of a window creates the counter.
    if cache.add(cache_key, 1, timeout=window_seconds + 5):
        return limit >= 1
    try:
        hits = cache.incr(cache_key)
    except ValueError:  # expired between add() and incr()
        cache.add(cache_key, 1, timeout=window_seconds + 5)
        hits = 1
    return hits <= limit
