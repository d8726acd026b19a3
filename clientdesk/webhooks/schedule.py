"""When to try again: exponential backoff with jitter over about a day, or what the
receiver asked for with ``Retry-After``."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

# Delay before attempt 2, 3, … 8. Eight attempts span about 24 hours; after the last one
# fails the delivery is "failed", kept and replayable from the console.
RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=1),
    timedelta(minutes=10),
    timedelta(hours=1),
    timedelta(hours=3),
    timedelta(hours=8),
    timedelta(hours=12),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
JITTER = 0.2  # ±20 %: retries from many deliveries that failed together spread out
LONGEST_RETRY_AFTER = timedelta(hours=12)

_random = random.SystemRandom()


def next_delay(attempts_made: int) -> timedelta | None:
    """The pause after ``attempts_made`` failed attempts, with jitter; None when spent."""
    if attempts_made >= MAX_ATTEMPTS:
        return None
    base = RETRY_DELAYS[attempts_made - 1]
    return base * _random.uniform(1 - JITTER, 1 + JITTER)


def retry_after(value: str | None, *, now: datetime) -> timedelta | None:
    """``Retry-After`` as seconds or an HTTP date, capped at 12 hours; None if absent or
    unreadable."""
    if not value:
        return None
    value = value.strip()
    delay: timedelta | None
    if value.isdecimal():
        if len(value) > 6:  # over 11 days: capped below anyway (and no overflow)
            return LONGEST_RETRY_AFTER
        delay = timedelta(seconds=int(value))
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, OverflowError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        delay = when - now
    return max(timedelta(0), min(delay, LONGEST_RETRY_AFTER))
