"""API v1 webhook endpoints: managers list, read, register, change, switch and rotate."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clientdesk.api.models import IdempotentRequest
from clientdesk.audit.models import Activity
from clientdesk.core.actor import Actor, Source
from clientdesk.events.models import Event
from clientdesk.webhooks import actions, signing
from clientdesk.webhooks.models import WebhookEndpoint

from .conftest import ApiClient, customer_token, staff_token

pytestmark = pytest.mark.django_db

BASE = "/api/v1/webhook-endpoints"
HOOK = {"url": "http://127.0.0.1:9/hook", "target": "Billing", "event_types": ["contact.*"]}


def made(world: Any, **values: Any) -> WebhookEndpoint:
    endpoint, _ = actions.create_endpoint(
        actor=Actor(world.users["staff_manager"], Source.STAFF), **(HOOK | values)
    )
    return endpoint


def test_registering_shows_the_secret_once(world: Any, manager_api: ApiClient) -> None:
    body = {**HOOK, "customers": [world.customer_a.client_id], "description": "ERP sync"}
    response = manager_api.post(BASE, body, headers={"Idempotency-Key": "hook-1"})
    assert response.status_code == 201, response.content
    created = response.json()
    endpoint = WebhookEndpoint.objects.get()
    assert created["id"] == endpoint.pk and created["customers"] == [world.customer_a.client_id]
    assert created["secret"].startswith("whsec_")
    assert signing.decrypt(endpoint.secret_encrypted) == created["secret"]
    assert created["secret_hint"] == endpoint.secret_hint and created["version"] == 1
    assert response["ETag"] == '"1"' and response["Location"] == created["href"]
    # A replay is the same endpoint, but the secret is not kept for replays.
    replay = manager_api.post(BASE, body, headers={"Idempotency-Key": "hook-1"})
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert replay.json() == {**created, "secret": None}
    stored = IdempotentRequest.objects.get(key="hook-1")
    assert created["secret"].encode() not in bytes(stored.body)
    assert WebhookEndpoint.objects.count() == 1
    # Reading it never shows the secret.
    shown = manager_api.get(created["href"])
    assert shown.status_code == 200 and "secret" not in shown.json()
    assert created["secret"] not in shown.content.decode()
    listed = manager_api.get(BASE).content.decode()
    assert created["secret"] not in listed
    activity = Activity.objects.get(verb="webhook_endpoint.created")
    assert activity.source == "api" and activity.staff_only
    assert manager_api.token is not None and manager_api.token[:12] in activity.actor_label
    event = Event.objects.get(type="webhook_endpoint.created")
    assert event.actor["api_key"] == manager_api.token[:12]
    assert created["secret"] not in str(event.data)


def test_bad_registrations_change_nothing(world: Any, manager_api: ApiClient) -> None:
    cases: list[dict[str, Any]] = [
        {**HOOK, "url": "http://10.0.0.1/hook"},  # private
        {**HOOK, "url": "http://169.254.169.254/latest/meta-data"},  # cloud metadata
        {**HOOK, "url": "ftp://example.org/"},
        {**HOOK, "url": "not a url"},
        {**HOOK, "target": ""},
        {**HOOK, "event_types": ["nonsense.thing"]},
        {**HOOK, "customers": ["C-999999"]},
        {**HOOK, "secret": "whsec_mine"},  # forged
        {**HOOK, "is_active": False},  # not a registration field
        {**HOOK, "url": "https://" + "a" * 3000 + ".example/"},
    ]
    for payload in cases:
        response = manager_api.post(BASE, payload)
        assert response.status_code == 400, (payload, response.content)
    assert not WebhookEndpoint.objects.exists()


def test_changing_needs_the_current_etag(world: Any, manager_api: ApiClient) -> None:
    endpoint = made(world)
    url = f"{BASE}/{endpoint.pk}"
    change = {"target": "cPanel", "customers": [world.customer_b.client_id]}
    missing = manager_api.patch(url, change)
    assert missing.status_code == 428 and missing.json()["code"] == "precondition_required"
    stale = manager_api.patch(url, change, headers={"If-Match": '"7"'})
    assert stale.status_code == 412 and stale.json()["code"] == "precondition_failed"
    unquoted = manager_api.patch(url, change, headers={"If-Match": "1"})
    assert unquoted.status_code == 400
    done = manager_api.patch(url, change, headers={"If-Match": '"1"'})
    assert done.status_code == 200, done.content
    body = done.json()
    assert body["target"] == "cPanel" and body["customers"] == [world.customer_b.client_id]
    assert body["url"] == HOOK["url"] and body["event_types"] == ["contact.*"]  # kept
    assert body["version"] == 2 and done["ETag"] == '"2"'
    again = manager_api.patch(url, {"target": "WHOIS"}, headers={"If-Match": '"1"'})
    assert again.status_code == 412  # a change made meanwhile is not overwritten
    for payload in ({"target": None}, {"url": "http://10.1.1.1/"}, {"version": 9}):
        response = manager_api.patch(url, payload, headers={"If-Match": '"2"'})
        assert response.status_code == 400, payload
    endpoint.refresh_from_db()
    assert endpoint.target == "cPanel" and endpoint.version == 2
    activity = Activity.objects.get(verb="webhook_endpoint.updated")
    assert activity.source == "api" and activity.changes["target"] == ["Billing", "cPanel"]


def test_switching_off_and_on(world: Any, manager_api: ApiClient) -> None:
    endpoint = made(world)
    url = f"{BASE}/{endpoint.pk}/active"
    assert manager_api.put(url, {"active": False}).status_code == 428
    off = manager_api.put(
        url, {"active": False, "reason": "Receiver moved"}, headers={"If-Match": '"1"'}
    )
    assert off.status_code == 200, off.content
    assert off.json()["is_active"] is False and off.json()["disabled_reason"] == "Receiver moved"
    assert manager_api.put(url, {"active": True}, headers={"If-Match": '"1"'}).status_code == 412
    on = manager_api.put(url, {"active": True}, headers={"If-Match": off["ETag"]})
    assert on.status_code == 200 and on.json()["is_active"] is True
    verbs = list(
        Activity.objects.filter(verb__startswith="webhook_endpoint.")
        .order_by("id")
        .values_list("verb", "source")
    )
    assert verbs[-2:] == [("webhook_endpoint.disabled", "api"), ("webhook_endpoint.enabled", "api")]
    assert manager_api.put(url, {"active": "maybe"}, headers={"If-Match": '"3"'}).status_code == 400


def test_rotating_the_secret(world: Any, manager_api: ApiClient) -> None:
    endpoint = made(world)
    old = signing.decrypt(endpoint.secret_encrypted)
    url = f"{BASE}/{endpoint.pk}/rotate-secret"
    assert manager_api.post(url).status_code == 428
    rotated = manager_api.post(url, headers={"If-Match": '"1"'})
    assert rotated.status_code == 200, rotated.content
    body = rotated.json()
    assert body["secret"].startswith("whsec_") and body["secret"] != old
    assert body["previous_secret_valid_until"] is not None and body["version"] == 2
    endpoint.refresh_from_db()
    assert signing.decrypt(endpoint.secret_encrypted) == body["secret"]
    assert signing.decrypt(endpoint.previous_secret_encrypted) == old
    # A retry of the same rotation does not replace the secret a second time.
    retry = manager_api.post(url, headers={"If-Match": '"1"'})
    assert retry.status_code == 412
    endpoint.refresh_from_db()
    assert signing.decrypt(endpoint.secret_encrypted) == body["secret"]
    assert Activity.objects.get(verb="webhook_endpoint.secret_rotated").source == "api"
    assert body["secret"] not in str(Event.objects.get(type="webhook_endpoint.secret_rotated").data)


def test_list_in_keyset_pages_at_a_constant_cost(world: Any, manager_api: ApiClient) -> None:
    first = made(world, customers=[world.customer_a.client_id])
    second = made(world, target="cPanel")

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert manager_api.get(BASE).status_code == 200
        return len(queries)

    page = manager_api.get(BASE, limit=1).json()
    assert [item["id"] for item in page["items"]] == [first.pk]
    assert page["items"][0]["customers"] == [world.customer_a.client_id]
    rest = manager_api.get(BASE, limit=1, cursor=page["next_cursor"]).json()
    assert [item["id"] for item in rest["items"]] == [second.pk] and rest["next_cursor"] is None
    few = count()
    for n in range(5):
        made(
            world,
            target=f"T{n}",
            customers=[world.customer_a.client_id, world.customer_b.client_id],
        )
    assert count() == few
    for bad in ({"cursor": "x"}, {"cursor": "9" * 15}, {"limit": 0}, {"limit": 101}):
        assert manager_api.get(BASE, **bad).status_code == 400, bad


def test_only_managers_with_an_unlimited_key(world: Any, a_owner_api: ApiClient) -> None:
    endpoint = made(world)
    keys = {
        "support with the scope": ApiClient(staff_token(world.users["staff_support"])),
        "billing with the scope": ApiClient(staff_token(world.users["staff_billing"])),
        "a manager without the scope": ApiClient(
            staff_token(world.users["staff_manager"], scopes=["customers:read"])
        ),
        "a manager limited to a customer": ApiClient(
            staff_token(world.users["staff_manager"], customers=[world.customer_a])
        ),
        "a customer key": a_owner_api,
        "B's customer key": ApiClient(customer_token(world.users["b_owner"], world.customer_b)),
    }
    one = f"{BASE}/{endpoint.pk}"
    for name, api in keys.items():
        statuses = [
            api.get(BASE).status_code,
            api.post(BASE, HOOK).status_code,
            api.get(one).status_code,
            api.patch(one, {"target": "x"}, headers={"If-Match": '"1"'}).status_code,
            api.put(f"{one}/active", {"active": False}, headers={"If-Match": '"1"'}).status_code,
            api.post(f"{one}/rotate-secret", headers={"If-Match": '"1"'}).status_code,
        ]
        assert statuses == [403] * 6, name
    assert ApiClient(None).get(BASE).status_code == 401
    endpoint.refresh_from_db()
    assert endpoint.version == 1 and WebhookEndpoint.objects.count() == 1


def test_unknown_endpoints_are_not_found(world: Any, manager_api: ApiClient) -> None:
    for endpoint_id in ("999999", str(10**30), "0", "-3"):
        assert manager_api.get(f"{BASE}/{endpoint_id}").status_code == 404, endpoint_id
        rotate = manager_api.post(
            f"{BASE}/{endpoint_id}/rotate-secret", headers={"If-Match": '"1"'}
        )
        assert rotate.status_code == 404
    assert manager_api.get(f"{BASE}/abc").status_code == 400
