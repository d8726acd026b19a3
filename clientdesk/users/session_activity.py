"""Session activity (the Security page's "last active", address and device), recorded at
most once a minute per session.

allauth's ``UserSessionsMiddleware`` writes the session's row in a transaction on every
signed-in request. On SQLite that takes the database's one write lock for every page view
(each reader queued behind the writers), and on any database it is a row update per click;
``manage.py bench`` measured a commit of ~8 ms on each staff page. This middleware calls the
same allauth code, but only when the minute has passed since the last record or the
address or browser changed (allauth's "client changed" signal keeps firing then). The time
of the last record is kept in the session itself, so deciding costs no query.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

from allauth.account.adapter import get_adapter
from allauth.usersessions.models import UserSession
from django.http import HttpRequest, HttpResponse

SESSION_KEY = "_activity_recorded"
INTERVAL_SECONDS = 60


def _client(request: HttpRequest) -> str:
    """The address and browser, as allauth records them (a short digest)."""
    ip = get_adapter().get_client_ip(request) or ""
    agent = request.META.get("HTTP_USER_AGENT", "")[:200]
    return hashlib.sha256(f"{ip}\n{agent}".encode()).hexdigest()[:16]


class SessionActivityMiddleware:
    """Replaces ``allauth.usersessions.middleware.UserSessionsMiddleware``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session: Any = getattr(request, "session", None)
        user = getattr(request, "user", None)
        if session is not None and session.session_key and user and user.is_authenticated:
            now, client = time.time(), _client(request)
            last = session.get(SESSION_KEY)
            if not (
                isinstance(last, list)
                and len(last) == 2
                and last[1] == client
                and 0 <= now - float(last[0]) < INTERVAL_SECONDS
            ):
                UserSession.objects.create_from_request(request)
                session[SESSION_KEY] = [now, client]
        return self.get_response(request)
