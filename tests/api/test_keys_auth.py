"""API keys at the door: who gets in, who gets 401 (problem+json with WWW-Authenticate), how
often ``last_used_at`` is written, and the per-key rate limit."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clientdesk.apikeys import actions as keys
from clientdesk.apikeys.models import ApiKey
from clientdesk.core.actor import Actor, Source
from clientdesk.customers import contact_actions
from clientdesk.customers.models import Contact
from clientdesk.lifecycle import actions as lifecycle
from clientdesk.users.models import User

from .conftest import ApiClient, customer_token, staff_token

pytestmark = pytest.mark.django_db


def customer_path(world: Any) -> str:
    return f"/api/v1/customers/{world.customer_a.client_id}"


def assert_unauthenticated(response: Any) -> None:
    assert response.status_code == 401, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"].startswith("Bearer")
    body = response.json()
    assert body["status"] == 401
    assert body["code"] == "unauthenticated"
    assert "Authorization: Bearer" in body["detail"]


def key_of(token: str) -> ApiKey:
    return ApiKey.objects.get(prefix=token[: len(keys.TOKEN_PREFIX) + 8])


def test_a_live_key_gets_in(world: Any) -> None:
    response = ApiClient(customer_token(world.users["a_owner"], world.customer_a)).get(
        customer_path(world)
    )
    assert response.status_code == 200
    assert response.json()["id"] == world.customer_a.client_id


def test_without_an_authorization_header_the_answer_is_401(world: Any) -> None:
    assert_unauthenticated(ApiClient(None).get(customer_path(world)))


def test_a_signed_in_browser_session_is_not_a_key(world: Any) -> None:
    client = ApiClient(None)
    client.client.force_login(world.users["a_owner"])
    assert_unauthenticated(client.get(customer_path(world)))


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Basic YWxhZGRpbjpvcGVuc2VzYW1l",
        "Token cdk_0123abcd_x",
        "bearer-cdk_0123abcd_x",
        "Bearer cdk_",
        "Bearer cdk_0123abcd",
        "Bearer cdk_0123abcdX" + "y" * 43,
        "Bearer " + "cdk_0123abcd_" + "x" * 5000,
        "Bearer cdk_0123abcd_ünïcødé",
        "Bearer not-a-key-at-all",
    ],
)
def test_a_malformed_authorization_header_is_401(world: Any, header: str) -> None:
    response = ApiClient(None).get(customer_path(world), headers={"Authorization": header})
    assert_unauthenticated(response)


def test_an_unknown_token_is_401(world: Any) -> None:
    token = customer_token(world.users["a_owner"], world.customer_a)
    prefix, secret = token.rsplit("_", 1)
    forged = f"{prefix}_{'A' * len(secret)}"  # a real prefix with the wrong secret
    unknown = f"{keys.TOKEN_PREFIX}deadbeef_{secret}"  # a prefix nobody has
    for attempt in (forged, unknown):
        assert_unauthenticated(ApiClient(attempt).get(customer_path(world)))


def test_a_revoked_key_is_401_on_its_next_request(world: Any) -> None:
    token = customer_token(world.users["a_owner"], world.customer_a)
    client = ApiClient(token)
    assert client.get(customer_path(world)).status_code == 200
    keys.revoke_key(
        actor=Actor(world.users["a_owner"], Source.PORTAL), key=key_of(token), reason="Leaked"
    )
    assert_unauthenticated(client.get(customer_path(world)))


def test_an_expired_key_is_401(world: Any) -> None:
    _, token = keys.create_customer_key(
        actor=Actor(world.users["a_owner"], Source.PORTAL),
        customer=world.customer_a,
        name="Short-lived",
        scopes=["customers:read"],
        expires_at=timezone.now() + dt.timedelta(days=1),
    )
    client = ApiClient(token)
    assert client.get(customer_path(world)).status_code == 200
    with time_machine.travel(timezone.now() + dt.timedelta(days=1, seconds=1)):
        assert_unauthenticated(client.get(customer_path(world)))


def test_the_key_of_a_suspended_customer_is_401_and_works_again_when_lifted(world: Any) -> None:
    client = ApiClient(customer_token(world.users["a_owner"], world.customer_a))
    manager = Actor(world.users["staff_manager"], Source.STAFF)
    lifecycle.suspend_customer(world.customer_a, reason="Unpaid invoices", actor=manager)
    assert_unauthenticated(client.get(customer_path(world)))
    lifecycle.unsuspend_customer(world.customer_a, reason="Paid in full", actor=manager)
    assert client.get(customer_path(world)).status_code == 200


def test_a_key_whose_maker_is_no_longer_owner_or_admin_is_401(world: Any) -> None:
    admin = world.users["a_admin"]
    client = ApiClient(customer_token(admin, world.customer_a))
    assert client.get(customer_path(world)).status_code == 200
    contact = Contact.objects.get(customer=world.customer_a, user=admin)
    contact_actions.change_role(
        contact, role="member", actor=Actor(world.users["a_owner"], Source.PORTAL)
    )
    assert_unauthenticated(client.get(customer_path(world)))


def test_a_key_whose_maker_lost_portal_access_is_401(world: Any) -> None:
    admin = world.users["a_admin"]
    client = ApiClient(customer_token(admin, world.customer_a))
    contact = Contact.objects.get(customer=world.customer_a, user=admin)
    contact_actions.revoke_portal_access(
        contact, actor=Actor(world.users["a_owner"], Source.PORTAL), reason="Left the company"
    )
    assert_unauthenticated(client.get(customer_path(world)))


def test_a_staff_key_whose_maker_left_the_staff_or_was_deactivated_is_401(world: Any) -> None:
    support = world.users["staff_support"]
    manager = world.users["staff_manager"]
    support_client = ApiClient(staff_token(support))
    manager_client = ApiClient(staff_token(manager))
    assert support_client.get(customer_path(world)).status_code == 200
    User.objects.filter(pk=support.pk).update(is_staff=False)
    User.objects.filter(pk=manager.pk).update(is_active=False)
    assert_unauthenticated(support_client.get(customer_path(world)))
    assert_unauthenticated(manager_client.get(customer_path(world)))


def test_last_used_at_is_written_at_most_once_a_minute(world: Any) -> None:
    token = customer_token(world.users["a_owner"], world.customer_a)
    client = ApiClient(token)
    assert key_of(token).last_used_at is None
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert client.get(customer_path(world)).status_code == 200
    first = key_of(token).last_used_at
    assert first == start
    with time_machine.travel(start + dt.timedelta(seconds=59), tick=False):
        assert client.get(customer_path(world)).status_code == 200
        assert client.get(customer_path(world)).status_code == 200
    assert key_of(token).last_used_at == first
    later = start + dt.timedelta(seconds=61)
    with time_machine.travel(later, tick=False):
        assert client.get(customer_path(world)).status_code == 200
    assert key_of(token).last_used_at == later


def test_a_request_within_the_minute_does_not_write_the_key(world: Any) -> None:
    """The second request inside the minute reads the key but writes nothing to it."""
    token = customer_token(world.users["a_owner"], world.customer_a)
    client = ApiClient(token)
    client.get(customer_path(world))
    with CaptureQueriesContext(connection) as queries:
        assert client.get(customer_path(world)).status_code == 200
    writes = [q["sql"] for q in queries if q["sql"].startswith("UPDATE") and "apikey" in q["sql"]]
    assert writes == []


def test_the_rate_limit_answers_429_with_retry_after_per_key(world: Any, settings: Any) -> None:
    settings.CLIENTDESK_API_REQUESTS_PER_MINUTE = 3
    busy = ApiClient(customer_token(world.users["a_owner"], world.customer_a))
    calm = ApiClient(customer_token(world.users["a_admin"], world.customer_a))
    start = timezone.now().replace(second=10, microsecond=0)
    with time_machine.travel(start, tick=False):
        for _ in range(3):
            assert busy.get(customer_path(world)).status_code == 200
        limited = busy.get(customer_path(world))
        assert limited.status_code == 429
        assert limited["Content-Type"] == "application/problem+json"
        assert limited.json()["code"] == "rate_limited"
        assert limited["Retry-After"] == "50"  # the rest of this minute
        # Another key of the same customer has its own budget.
        assert calm.get(customer_path(world)).status_code == 200
    with time_machine.travel(start + dt.timedelta(seconds=50), tick=False):
        assert busy.get(customer_path(world)).status_code == 200


def test_the_rate_limit_counts_refused_requests_too(world: Any, settings: Any) -> None:
    """Hammering with bad requests spends the budget like good ones (no free probing)."""
    settings.CLIENTDESK_API_REQUESTS_PER_MINUTE = 2
    client = ApiClient(customer_token(world.users["a_owner"], world.customer_a))
    other = f"/api/v1/customers/{world.customer_b.client_id}"
    with time_machine.travel(timezone.now().replace(second=0, microsecond=0), tick=False):
        assert client.get(other).status_code == 404
        assert client.get(other).status_code == 404
        assert client.get(customer_path(world)).status_code == 429
