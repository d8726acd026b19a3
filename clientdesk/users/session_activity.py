"""Session activity (the Security page's "last active", address and device), recorded at
most once a minute per session.

allauth's ``UserSessionsMiddleware`` writes the session's row in a transaction on every
signed-in request. On SQLite that takes the database's one write lock for every page view
(each reader queued behind the writers), and on any database it is a row update per click;
``manage.py bench`` measured a commit of ~8 ms on each staff page. This middleware calls the
same allauth code, but only when this process has not recorded the same session, from the
same address and browser, in the last minute. A new session key (sign-in, Login As, a
password change) is a new session and is recorded at once, as is a changed address or
browser (allauth's "client changed" signal keeps firing then).

The memo is per process and in memory, on purpose: it costs no query, and it leaves the
Django session untouched (writing a marker there would save the session, and a saved session
gets a new expiry date: the 12-hour absolute limit would become an idle limit). Several
processes may each record the same session once a minute; that is still a write per minute,
not per click.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from allauth.account.adapter import get_adapter
from allauth.usersessions.models import UserSession
from django.http import HttpRequest, HttpResponse

INTERVAL_SECONDS = 60
MEMO_SIZE = 10_000  # sessions remembered per process (the least recently seen are dropped)


class _Memo:
    """When each (session, address, browser) was last recorded by this process."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.recorded: OrderedDict[tuple[str, str, str], float] = OrderedDict()
        self.lock = threading.Lock()

    def due(self, key: tuple[str, str, str], now: float) -> bool:
        with self.lock:
            last = self.recorded.get(key)
            if last is not None and 0 <= now - last < INTERVAL_SECONDS:
                self.recorded.move_to_end(key)
                return False
            return True

    def done(self, key: tuple[str, str, str], now: float) -> None:
        with self.lock:
            self.recorded[key] = now
            self.recorded.move_to_end(key)
            while len(self.recorded) > self.size:
                self.recorded.popitem(last=False)


MEMO = _Memo(MEMO_SIZE)


class SessionActivityMiddleware:
    """Replaces ``allauth.usersessions.middleware.UserSessionsMiddleware``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session: Any = getattr(request, "session", None)
        user = getattr(request, "user", None)
        if session is not None and session.session_key and user and user.is_authenticated:
            ip = get_adapter().get_client_ip(request) or ""
            agent = request.META.get("HTTP_USER_AGENT", "")[:200]
            key, now = (str(session.session_key), ip, agent), time.time()
            if MEMO.due(key, now):
                UserSession.objects.create_from_request(request)
                MEMO.done(key, now)
        return self.get_response(request)
