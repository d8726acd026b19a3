"""Session activity (the Security page's last active, address and device) is recorded when
a session starts, when its address or browser changes, and otherwise at most once a minute:
not a database write on every click."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from allauth.usersessions.models import UserSession
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clientdesk.users.session_activity import MEMO
from tests.conftest import World

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_memo() -> None:
    MEMO.recorded.clear()


LAPTOP = "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1"


def seen(client: Client) -> UserSession:
    return UserSession.objects.get(session_key=client.session.session_key)


def test_clicks_within_a_minute_write_nothing_and_a_later_one_is_recorded(world: World) -> None:
    client = Client(HTTP_USER_AGENT=LAPTOP)
    client.force_login(world.users["a_owner"])
    home = reverse("portal:home")
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client.get(home)
        first = seen(client).last_seen_at
        writes: list[str] = []

        def count_writes(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
            if sql.lstrip().upper().startswith(("UPDATE", "INSERT")):
                writes.append(sql)
            return execute(sql, params, many, context)

        clock.shift(timedelta(seconds=30))
        with connection.execute_wrapper(count_writes):
            client.get(home)
        assert writes == []  # neither the session row nor allauth's UserSession
        assert seen(client).last_seen_at == first

        clock.shift(timedelta(seconds=31))
        client.get(home)
        assert seen(client).last_seen_at > first


def test_a_new_address_or_browser_is_recorded_at_once(world: World) -> None:
    client = Client(HTTP_USER_AGENT=LAPTOP, REMOTE_ADDR="10.0.0.1")
    client.force_login(world.users["a_owner"])
    home = reverse("portal:home")
    client.get(home)
    assert seen(client).user_agent == LAPTOP
    client.get(home, HTTP_USER_AGENT=PHONE)
    assert seen(client).user_agent == PHONE
    client.get(home, HTTP_USER_AGENT=PHONE, REMOTE_ADDR="10.0.0.2")
    assert seen(client).ip == "10.0.0.2"


def test_recording_activity_never_extends_the_sessions_absolute_limit(world: World) -> None:
    """The session itself is never written by the tracking, so its expiry stays where sign-in
    put it (12 hours): used every hour or not, it ends then."""
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client = Client(HTTP_USER_AGENT=LAPTOP)
        client.force_login(world.users["a_owner"])
        security = reverse("security")
        for _ in range(11):
            clock.shift(timedelta(hours=1))
            assert client.get(security).status_code == 200
        clock.shift(timedelta(hours=1, minutes=1))
        answer = client.get(security)
        assert answer.status_code == 302 and reverse("account_login") in answer["Location"]


def test_a_new_session_key_is_recorded_at_once(world: World) -> None:
    """Sign-in, Login As and a password change rotate the key: the new key is a new session
    on the Security page (and for "sign out other sessions") from its first request."""
    client = Client(HTTP_USER_AGENT=LAPTOP)
    client.force_login(world.users["a_owner"])
    home = reverse("portal:home")
    client.get(home)
    session = client.session
    session.cycle_key()
    session.save()
    client.cookies["sessionid"] = session.session_key
    client.get(home)
    assert UserSession.objects.filter(session_key=session.session_key).exists()
