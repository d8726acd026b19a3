"""The webhook console (list, add, detail, one delivery, edit, rotate, switch, replay) and the
customer 360's Integrations tab: who may do what, a secret shown once, bad input refused
with a message and nothing changed, and query counts that do not grow with deliveries."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clientdesk.core.actor import Actor, Source
from clientdesk.customers.models import Customer
from clientdesk.events.models import Event
from clientdesk.webhooks import actions, queries, signing
from clientdesk.webhooks.models import Delivery, DeliveryAttempt, WebhookEndpoint
from tests.conftest import World

pytestmark = pytest.mark.django_db

HOOK = "http://127.0.0.1:9/hook"  # the test settings allow loopback and http
NON_MANAGERS = ["staff_support", "staff_billing"]


def client_for(world: World, persona: str) -> Client:
    client = Client()
    if persona != "anonymous":
        client.force_login(world.users[persona])
    return client


def manager_actor(world: World) -> Actor:
    return Actor(world.users["staff_manager"], Source.STAFF)


def make_endpoint(
    world: World, *, target: str = "Billing", url: str = HOOK, **kwargs: object
) -> tuple[WebhookEndpoint, str]:
    return actions.create_endpoint(actor=manager_actor(world), url=url, target=target, **kwargs)  # type: ignore[arg-type]


def make_delivery(
    endpoint: WebhookEndpoint,
    customer: Customer | None,
    *,
    status: str = Delivery.Status.DELIVERED,
    event_type: str = "contact.updated",
    attempts: int = 1,
    status_code: int | None = 200,
    error: str = "",
) -> Delivery:
    event = Event.objects.create(
        type=event_type,
        customer=customer,
        data={"contact": {"email": "new@example.org"}},
        actor={"source": "staff"},
    )
    now = timezone.now()
    finished = status in (Delivery.Status.DELIVERED, Delivery.Status.FAILED)
    return Delivery.objects.create(
        event=event,
        endpoint=endpoint,
        customer=customer,
        status=status,
        attempts=attempts,
        next_attempt_at=now + timedelta(minutes=10),
        last_status_code=status_code,
        last_error=error,
        finished_at=now if finished else None,
    )


def html_of(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


def flashes(client: Client, response) -> list[str]:  # type: ignore[no-untyped-def]
    page = client.get(response["Location"])
    return [str(m) for m in page.context["messages"]]


def count_queries(client: Client, url: str) -> int:
    client.get(url)  # the first request of a session does one-off work (session, MFA)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


# --- who may see and do what ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "persona", ["staff_support", "staff_billing", "staff_manager", "superuser"]
)
def test_every_staff_role_reads_the_list_detail_and_delivery(world: World, persona: str) -> None:
    endpoint, _ = make_endpoint(world, description="Invoices and credit notes")
    delivery = make_delivery(endpoint, world.customer_a)
    client = client_for(world, persona)
    listing = client.get(reverse("staff:webhooks"))
    assert listing.status_code == 200
    assert "Invoices and credit notes" in html_of(listing)
    manages = persona in ("staff_manager", "superuser")
    assert ("Add endpoint" in html_of(listing)) is manages
    detail = client.get(reverse("staff:webhook-detail", args=[endpoint.pk]))
    assert detail.status_code == 200
    assert ("Rotate secret" in html_of(detail)) is manages
    assert ('name="scope" value="failed"' in html_of(detail)) is manages
    one = client.get(reverse("staff:webhook-delivery", args=[endpoint.pk, delivery.pk]))
    assert one.status_code == 200


@pytest.mark.parametrize("persona", ["a_owner", "b_admin"])
def test_customers_get_404_everywhere(world: World, persona: str) -> None:
    endpoint, _ = make_endpoint(world)
    delivery = make_delivery(endpoint, world.customer_a, status=Delivery.Status.FAILED)
    client = client_for(world, persona)
    urls = [
        reverse("staff:webhooks"),
        reverse("staff:webhook-create"),
        reverse("staff:webhook-detail", args=[endpoint.pk]),
        reverse("staff:webhook-edit", args=[endpoint.pk]),
        reverse("staff:webhook-rotate", args=[endpoint.pk]),
        reverse("staff:webhook-delivery", args=[endpoint.pk, delivery.pk]),
        reverse("staff:customer-integrations", args=[world.customer_a.number]),
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url
    posts = [
        reverse("staff:webhook-toggle", args=[endpoint.pk]),
        reverse("staff:webhook-replay", args=[endpoint.pk]),
        reverse("staff:customer-integrations-replay", args=[world.customer_a.number, delivery.pk]),
    ]
    for url in posts:
        assert client.post(url, {"active": "off", "delivery": delivery.pk}).status_code == 404
    delivery.refresh_from_db()
    endpoint.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED and endpoint.is_active


def test_anonymous_is_sent_to_sign_in(world: World) -> None:
    response = Client().get(reverse("staff:webhooks"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("persona", NON_MANAGERS)
def test_other_staff_get_403_on_every_manager_page_and_change_nothing(
    world: World, persona: str
) -> None:
    endpoint, _ = make_endpoint(world)
    failed = make_delivery(endpoint, world.customer_a, status=Delivery.Status.FAILED)
    client = client_for(world, persona)
    for name in ("staff:webhook-edit", "staff:webhook-rotate"):
        assert client.get(reverse(name, args=[endpoint.pk])).status_code == 403
    assert client.get(reverse("staff:webhook-create")).status_code == 403
    posts = {
        reverse("staff:webhook-create"): {"url": HOOK, "target": "cPanel"},
        reverse("staff:webhook-edit", args=[endpoint.pk]): {
            "url": HOOK,
            "target": "Forged",
            "version": endpoint.version,
        },
        reverse("staff:webhook-rotate", args=[endpoint.pk]): {"version": endpoint.version},
        reverse("staff:webhook-toggle", args=[endpoint.pk]): {"active": "off"},
        reverse("staff:webhook-replay", args=[endpoint.pk]): {"scope": "failed"},
    }
    for url, data in posts.items():
        assert client.post(url, data).status_code == 403, url
    endpoint.refresh_from_db()
    failed.refresh_from_db()
    assert WebhookEndpoint.objects.count() == 1
    assert endpoint.target == "Billing" and endpoint.is_active and endpoint.version == 1
    assert failed.status == Delivery.Status.FAILED


# --- adding an endpoint: the secret once ---------------------------------------------------------


def create_form(client: Client) -> str:
    page = client.get(reverse("staff:webhook-create"))
    assert page.status_code == 200
    token = re.search(r'name="form_token" value="([^"]+)"', html_of(page))
    assert token
    return token.group(1)


def test_a_manager_adds_an_endpoint_and_sees_its_secret_once(world: World) -> None:
    client = client_for(world, "staff_manager")
    token = create_form(client)
    response = client.post(
        reverse("staff:webhook-create"),
        {
            "url": HOOK,
            "target": "cPanel",
            "description": "Hosting control panel",
            "event_types": ["contact.*", "customer.primary_email_changed"],
            "customers": f"c-{world.customer_a.number}, {world.customer_b.number}",
            "form_token": token,
        },
    )
    assert response.status_code == 200
    assert (
        response["Cache-Control"].startswith("no-store") or "no-store" in response["Cache-Control"]
    )
    endpoint = WebhookEndpoint.objects.get()
    secret = signing.decrypt(endpoint.secret_encrypted)
    page = html_of(response)
    assert secret in page
    assert "it will not be shown again" in page
    assert "from standardwebhooks import Webhook" in page
    assert endpoint.target == "cPanel" and endpoint.description == "Hosting control panel"
    assert endpoint.event_types == ["contact.*", "customer.primary_email_changed"]
    assert sorted(endpoint.customers.values_list("pk", flat=True)) == sorted(
        [world.customer_a.pk, world.customer_b.pk]
    )
    assert secret not in response.request.get("QUERY_STRING", "")
    # Afterwards only the hint: not on the detail page, the list, or the edit form.
    for url in (
        reverse("staff:webhook-detail", args=[endpoint.pk]),
        reverse("staff:webhooks"),
        reverse("staff:webhook-edit", args=[endpoint.pk]),
    ):
        later = html_of(client.get(url))
        assert secret not in later
        assert secret[10:] not in later
    assert endpoint.secret_hint in html_of(
        client.get(reverse("staff:webhook-detail", args=[endpoint.pk]))
    )
    assert all(secret not in str(value) for value in client.session.values())


def test_sending_the_create_form_again_adds_no_second_endpoint(world: World) -> None:
    client = client_for(world, "staff_manager")
    token = create_form(client)
    data = {"url": HOOK, "target": "WHOIS", "form_token": token}
    assert client.post(reverse("staff:webhook-create"), data).status_code == 200
    again = client.post(reverse("staff:webhook-create"), data)
    endpoint = WebhookEndpoint.objects.get()
    assert again.status_code == 302
    assert again["Location"] == reverse("staff:webhook-detail", args=[endpoint.pk])
    assert "shown only once" in flashes(client, again)[0]
    assert signing.decrypt(endpoint.secret_encrypted) not in html_of(client.get(again["Location"]))


def test_the_create_form_groups_event_types_by_family(world: World) -> None:
    page = html_of(client_for(world, "staff_manager").get(reverse("staff:webhook-create")))
    assert "<legend>Events</legend>" in page
    assert "<legend>Contacts</legend>" in page
    assert 'value="contact.*"' in page and 'value="contact.created"' in page
    assert '<datalist id="webhook-target-suggestions">' in page
    for name in ("Billing", "cPanel", "WHOIS"):
        assert f'<option value="{name}">' in page


@override_settings(CLIENTDESK_WEBHOOK_ALLOWED_NETWORKS=[])
@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/hook", "http://10.1.2.3/hook", "http://169.254.169.254/"]
)
def test_a_private_address_is_refused_with_a_clear_message(world: World, url: str) -> None:
    client = client_for(world, "staff_manager")
    response = client.post(reverse("staff:webhook-create"), {"url": url, "target": "Billing"})
    assert response.status_code == 400
    errors = response.context["form"].errors["url"]
    assert "private or reserved address" in errors[0]
    assert "public internet" in errors[0]
    assert 'id="id_url_error" role="alert"' in html_of(response)
    assert not WebhookEndpoint.objects.exists()


@override_settings(CLIENTDESK_WEBHOOK_ALLOWED_NETWORKS=[])
def test_every_mistake_is_named_at_once(world: World) -> None:
    response = client_for(world, "staff_manager").post(
        reverse("staff:webhook-create"),
        {"url": "http://10.0.0.5/hook", "target": "", "customers": "C-999999"},
    )
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"url", "target", "customers"}
    assert "Please correct the highlighted fields." in html_of(response)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"event_types": ["contact.created", "no.such_type"]}, "event_types", "Unknown event type"),
        ({"event_types": ["x" * 5000]}, "event_types", "Unknown event type"),
        ({"customers": "C-999999"}, "customers", "No customer has the client ID C-999999"),
        ({"customers": "hello"}, "customers", "is not a client ID"),
        ({"url": ""}, "url", "Enter the URL"),
        ({"url": "ftp://example.com/x"}, "url", "https://"),
        ({"url": "https://x.example/" + "a" * 3000}, "url", "under 2000"),
        ({"target": ""}, "target", "Name the system"),
        ({"target": "T" * 61}, "target", "under 60"),
        ({"description": "ü" * 301}, "description", "under 300"),
    ],
)
def test_bad_input_is_named_next_to_its_field_and_nothing_is_added(
    world: World, data: dict[str, object], field: str, message: str
) -> None:
    client = client_for(world, "staff_manager")
    response = client.post(
        reverse("staff:webhook-create"), {"url": HOOK, "target": "Billing", **data}
    )
    assert response.status_code == 400
    errors = response.context["form"].errors[field]
    assert message in errors[0], errors
    assert len(errors[0]) < 300
    assert not WebhookEndpoint.objects.exists()


def test_a_forged_extra_field_is_ignored(world: World) -> None:
    client = client_for(world, "staff_manager")
    response = client.post(
        reverse("staff:webhook-create"),
        {"url": HOOK, "target": "Billing", "is_active": "", "secret_hint": "mine", "version": 9},
    )
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.is_active and endpoint.version == 1 and endpoint.secret_hint != "mine"


# --- editing, rotating, switching ----------------------------------------------------------------


def test_edit_is_prefilled_saves_and_refuses_a_stale_version(world: World) -> None:
    endpoint, _ = make_endpoint(
        world, event_types=["contact.*"], customers=[world.customer_a.client_id]
    )
    client = client_for(world, "staff_manager")
    url = reverse("staff:webhook-edit", args=[endpoint.pk])
    form = client.get(url).context["form"]
    assert form.initial["event_types"] == ["contact.*"]
    assert form.initial["customers"] == world.customer_a.client_id
    assert form.initial["version"] == 1
    saved = client.post(
        url,
        {"url": HOOK, "target": "Billing v2", "event_types": ["customer.*"], "version": 1},
    )
    assert saved.status_code == 302
    assert saved["Location"] == reverse("staff:webhook-detail", args=[endpoint.pk])
    assert "Saved the settings of Billing v2." in flashes(client, saved)
    endpoint.refresh_from_db()
    assert endpoint.target == "Billing v2" and endpoint.event_types == ["customer.*"]
    assert not endpoint.customers.exists() and endpoint.version == 2
    # Someone else's tab still holds version 1.
    stale = client.post(url, {"url": HOOK, "target": "Old tab", "version": 1})
    assert stale.status_code == 409
    assert "Someone else changed this endpoint meanwhile" in html_of(stale)
    assert "Reload the current settings" in html_of(stale)
    endpoint.refresh_from_db()
    assert endpoint.target == "Billing v2"
    # A save that changes nothing says so.
    same = client.post(
        url, {"url": HOOK, "target": "Billing v2", "event_types": ["customer.*"], "version": 2}
    )
    assert "Nothing to save" in flashes(client, same)[0]
    # A forged version value is a message, not a 500.
    forged = client.post(url, {"url": HOOK, "target": "X", "version": "abc"})
    assert forged.status_code == 400 and "Reload the page" in html_of(forged)


def test_rotation_is_confirmed_then_shows_the_new_secret_once(world: World) -> None:
    endpoint, old = make_endpoint(world)
    client = client_for(world, "staff_manager")
    url = reverse("staff:webhook-rotate", args=[endpoint.pk])
    confirm = client.get(url)
    assert confirm.status_code == 200 and "Rotate the signing secret" in html_of(confirm)
    endpoint.refresh_from_db()
    assert signing.decrypt(endpoint.secret_encrypted) == old  # a GET changes nothing
    response = client.post(url, {"version": endpoint.version})
    assert response.status_code == 200
    endpoint.refresh_from_db()
    new = signing.decrypt(endpoint.secret_encrypted)
    assert new != old and new in html_of(response) and old not in html_of(response)
    assert "24 hours" in html_of(response)
    assert endpoint.previous_secret_expires_at is not None
    assert endpoint.previous_secret_expires_at > timezone.now() + timedelta(hours=23)
    detail = html_of(client.get(reverse("staff:webhook-detail", args=[endpoint.pk])))
    assert new not in detail and "the previous secret also signs until" in detail
    # The browser sends the confirmation again (a refresh): no second rotation.
    again = client.post(url, {"version": 1})
    assert again.status_code == 302 and "was not rotated" in flashes(client, again)[0]
    endpoint.refresh_from_db()
    assert signing.decrypt(endpoint.secret_encrypted) == new


def test_switching_off_and_on_with_a_reason(world: World) -> None:
    endpoint, _ = make_endpoint(world)
    client = client_for(world, "staff_manager")
    url = reverse("staff:webhook-toggle", args=[endpoint.pk])
    assert client.get(url).status_code == 405
    off = client.post(url, {"active": "off", "reason": "Receiver being migrated"})
    assert off.status_code == 302
    assert "is switched off" in flashes(client, off)[0]
    endpoint.refresh_from_db()
    assert not endpoint.is_active and endpoint.disabled_reason == "Receiver being migrated"
    listing = html_of(client.get(reverse("staff:webhooks")))
    assert "Switched off" in listing and "Receiver being migrated" in listing
    forged = client.post(url, {"active": "maybe"})
    assert "Choose to switch the endpoint on or off." in flashes(client, forged)[0]
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    on = client.post(url, {"active": "on"})
    assert "is switched on" in flashes(client, on)[0]
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.disabled_reason == ""


def test_unknown_endpoints_and_deliveries_are_404(world: World) -> None:
    endpoint, _ = make_endpoint(world)
    other, _ = make_endpoint(world, target="WHOIS")
    elsewhere = make_delivery(other, world.customer_a, status=Delivery.Status.FAILED)
    client = client_for(world, "staff_manager")
    assert client.get(reverse("staff:webhook-detail", args=[999999])).status_code == 404
    assert client.get(reverse("staff:webhook-edit", args=[2**63])).status_code == 404
    url = reverse("staff:webhook-delivery", args=[endpoint.pk, elsewhere.pk])
    assert client.get(url).status_code == 404
    replay = client.post(
        reverse("staff:webhook-replay", args=[endpoint.pk]), {"delivery": elsewhere.pk}
    )
    assert replay.status_code == 404
    elsewhere.refresh_from_db()
    assert elsewhere.status == Delivery.Status.FAILED


# --- deliveries on the endpoint's page -----------------------------------------------------------


def test_deliveries_are_newest_first_filtered_and_paged_by_id(world: World) -> None:
    endpoint, _ = make_endpoint(world)
    delivered = [make_delivery(endpoint, world.customer_a) for _ in range(queries.PAGE_SIZE + 3)]
    failed = make_delivery(
        endpoint, world.customer_b, status=Delivery.Status.FAILED, status_code=500, error="Boom"
    )
    client = client_for(world, "staff_support")
    url = reverse("staff:webhook-detail", args=[endpoint.pk])
    first = client.get(url)
    rows = first.context["rows"]
    newest = [d.pk for d in reversed(delivered)]
    assert [row.delivery.pk for row in rows] == [failed.pk, *newest[: queries.PAGE_SIZE - 1]]
    older_url = first.context["older_url"]
    assert f"before={rows[-1].delivery.pk}" in older_url
    second = client.get(older_url.split("#")[0])
    assert [row.delivery.pk for row in second.context["rows"]] == newest[queries.PAGE_SIZE - 1 :]
    assert second.context["older_url"] == "" and second.context["newest_url"]
    only_failed = client.get(url, {"status": "failed"})
    assert [row.delivery.pk for row in only_failed.context["rows"]] == [failed.pk]
    assert "HTTP 500 — Boom" in html_of(only_failed)
    assert world.customer_b.client_id in html_of(only_failed)
    # A forged filter shows everything rather than failing.
    assert client.get(url, {"status": "nope", "before": "x" * 50}).status_code == 200


def test_the_endpoint_page_costs_the_same_with_5_or_80_deliveries(world: World) -> None:
    endpoint, _ = make_endpoint(world)
    client = client_for(world, "staff_manager")
    url = reverse("staff:webhook-detail", args=[endpoint.pk])
    for _ in range(5):
        make_delivery(endpoint, world.customer_a)
    few = count_queries(client, url)
    for index in range(75):
        make_delivery(
            endpoint,
            world.customer_a if index % 2 else world.customer_b,
            status=Delivery.Status.FAILED if index % 3 else Delivery.Status.PENDING,
        )
    assert count_queries(client, url) == few


def test_the_list_costs_the_same_with_more_deliveries_and_caps_its_counts(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queries, "COUNT_CAP", 9)
    endpoint, _ = make_endpoint(world, customers=[world.customer_a.client_id])
    make_endpoint(world, target="WHOIS")
    client = client_for(world, "staff_support")
    make_delivery(endpoint, world.customer_a, status=Delivery.Status.FAILED)
    few = count_queries(client, reverse("staff:webhooks"))
    for _ in range(12):
        make_delivery(endpoint, world.customer_a, status=Delivery.Status.FAILED)
    for _ in range(3):
        make_delivery(endpoint, world.customer_a, status=Delivery.Status.PENDING)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("staff:webhooks"))
    assert len(captured) == few
    row = next(item["row"] for item in response.context["rows"] if item["row"].endpoint == endpoint)
    assert str(row.failed) == "9+" and str(row.waiting) == "3"
    assert world.customer_a.client_id in html_of(response)
    assert "All customers" in html_of(response) and "All events" in html_of(response)


def test_one_delivery_shows_its_attempts_escaped_and_the_event(world: World) -> None:
    endpoint, _ = make_endpoint(world)
    delivery = make_delivery(
        endpoint, world.customer_a, status=Delivery.Status.FAILED, status_code=500, attempts=2
    )
    now = timezone.now()
    DeliveryAttempt.objects.create(
        delivery=delivery,
        number=1,
        started_at=now,
        duration_ms=12,
        status_code=500,
        response_excerpt="<script>alert(1)</script>",
    )
    DeliveryAttempt.objects.create(
        delivery=delivery, number=2, started_at=now, duration_ms=10000, error="Timed out"
    )
    response = client_for(world, "staff_support").get(
        reverse("staff:webhook-delivery", args=[endpoint.pk, delivery.pk])
    )
    page = html_of(response)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "10000 ms" in page and "Timed out" in page
    assert f"evt_{delivery.event_id.hex}" in page
    assert "&quot;type&quot;: &quot;contact.updated&quot;" in page
    assert world.customer_a.client_id in page
    assert "Send again" not in page  # support reads; managers replay here


# --- replays from the console --------------------------------------------------------------------


def test_a_manager_replays_one_delivery_or_every_failed_one(world: World) -> None:
    endpoint, _ = make_endpoint(world)
    failed = [
        make_delivery(endpoint, world.customer_a, status=Delivery.Status.FAILED) for _ in range(3)
    ]
    done = make_delivery(endpoint, world.customer_b)
    client = client_for(world, "staff_manager")
    url = reverse("staff:webhook-replay", args=[endpoint.pk])
    one = client.post(url, {"delivery": done.pk})
    assert one.status_code == 302 and one["Location"].endswith(f"#delivery-{done.pk}")
    assert "1 delivery queued to be sent again." in flashes(client, one)
    done.refresh_from_db()
    assert done.status == Delivery.Status.PENDING
    again = client.post(url, {"delivery": done.pk})
    assert "already queued" in flashes(client, again)[0]
    bulk = client.post(url, {"scope": "failed"})
    assert "3 deliveries queued to be sent again." in flashes(client, bulk)
    assert set(
        Delivery.objects.filter(pk__in=[d.pk for d in failed]).values_list("status", flat=True)
    ) == {Delivery.Status.PENDING}
    none_left = client.post(url, {"scope": "failed"})
    assert "No failed deliveries" in flashes(client, none_left)[0]
    forged = client.post(url, {"delivery": "abc"})
    assert forged.status_code == 302
    assert flashes(client, forged)  # a message, not a 500


def test_bulk_replay_is_capped(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(actions, "REPLAY_MAX", 2)
    endpoint, _ = make_endpoint(world)
    for _ in range(3):
        make_delivery(endpoint, world.customer_a, status=Delivery.Status.FAILED)
    client = client_for(world, "staff_manager")
    response = client.post(reverse("staff:webhook-replay", args=[endpoint.pk]), {"scope": "failed"})
    text = flashes(client, response)[0]
    assert text.startswith("2 deliveries queued") and "press again for the rest" in text
    assert Delivery.objects.filter(status=Delivery.Status.FAILED).count() == 1


# --- the 360's Integrations tab ------------------------------------------------------------------


def test_the_integrations_tab_groups_deliveries_by_target(world: World) -> None:
    cpanel, _ = make_endpoint(world, target="cPanel")
    whois, _ = make_endpoint(world, target="WHOIS", customers=[world.customer_a.client_id])
    make_endpoint(world, target="Only B", customers=[world.customer_b.client_id])
    off, _ = make_endpoint(world, target="Archive")
    actions.set_endpoint_active(actor=manager_actor(world), endpoint=off, active=False)
    make_delivery(
        cpanel, world.customer_a, event_type="customer.primary_email_changed", status_code=204
    )
    make_delivery(
        cpanel,
        world.customer_a,
        status=Delivery.Status.FAILED,
        status_code=503,
        error="Service unavailable",
    )
    make_delivery(cpanel, world.customer_b)  # another customer's: not shown
    response = client_for(world, "staff_support").get(
        reverse("staff:customer-integrations", args=[world.customer_a.number])
    )
    assert response.status_code == 200
    page = html_of(response)
    targets = [item["group"].target for item in response.context["groups"]]
    assert targets == ["cPanel", "WHOIS"]  # applies to A; "Only B" and the switched-off one not
    cpanel_rows = response.context["groups"][0]["rows"]
    assert [row.state.label for row in cpanel_rows] == ["Failed", "Delivered ✓"]
    assert "The owner&#x27;s login and primary email changed" in page
    assert "HTTP 503 — Service unavailable" in page
    assert "Nothing sent about this customer yet: the next change will be." in page
    assert "cPanel and WHOIS" in page  # the seed 003 hint
    assert page.count("Send again") >= 2
    assert whois.url in page


def test_the_integrations_tab_shows_waiting_with_the_next_try(world: World) -> None:
    endpoint, _ = make_endpoint(world, target="WHOIS")
    make_delivery(
        endpoint,
        world.customer_a,
        status=Delivery.Status.PENDING,
        status_code=500,
        attempts=2,
    )
    page = html_of(
        client_for(world, "staff_billing").get(
            reverse("staff:customer-integrations", args=[world.customer_a.number])
        )
    )
    assert "Waiting" in page and "Next try at" in page and "Last try: HTTP 500" in page


def test_the_integrations_tab_costs_the_same_with_more_deliveries(world: World) -> None:
    first, _ = make_endpoint(world, target="cPanel")
    second, _ = make_endpoint(world, target="WHOIS")
    client = client_for(world, "staff_support")
    url = reverse("staff:customer-integrations", args=[world.customer_a.number])
    make_delivery(first, world.customer_a)
    few = count_queries(client, url)
    for index in range(60):
        make_delivery(
            second if index % 2 else first,
            world.customer_a,
            status=Delivery.Status.FAILED if index % 3 else Delivery.Status.DELIVERED,
        )
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert len(captured) == few
    for item in response.context["groups"]:
        assert len(item["rows"]) == queries.PER_ENDPOINT


@pytest.mark.parametrize("persona", ["staff_support", "staff_billing", "staff_manager"])
def test_any_staff_role_sends_a_delivery_again_from_the_360(world: World, persona: str) -> None:
    endpoint, _ = make_endpoint(world, target="cPanel")
    failed = make_delivery(endpoint, world.customer_a, status=Delivery.Status.FAILED)
    client = client_for(world, persona)
    url = reverse("staff:customer-integrations-replay", args=[world.customer_a.number, failed.pk])
    assert client.get(url).status_code == 405
    response = client.post(url)
    assert response.status_code == 302
    assert response["Location"].endswith(
        reverse("staff:customer-integrations", args=[world.customer_a.number])
        + f"#delivery-{failed.pk}"
    )
    assert "Queued to be sent again now" in flashes(client, response)[0]
    failed.refresh_from_db()
    assert failed.status == Delivery.Status.PENDING and failed.schedule_step == 0
    again = client.post(url)
    assert "already queued" in flashes(client, again)[0]


def test_another_customers_delivery_is_404_from_the_360(world: World) -> None:
    endpoint, _ = make_endpoint(world)
    theirs = make_delivery(endpoint, world.customer_b, status=Delivery.Status.FAILED)
    client = client_for(world, "staff_support")
    url = reverse("staff:customer-integrations-replay", args=[world.customer_a.number, theirs.pk])
    assert client.post(url).status_code == 404
    missing = reverse("staff:customer-integrations-replay", args=[world.customer_a.number, 99999])
    assert client.post(missing).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Delivery.Status.FAILED


def test_the_integrations_tab_without_endpoints(world: World) -> None:
    response = client_for(world, "staff_manager").get(
        reverse("staff:customer-integrations", args=[world.customer_a.number])
    )
    page = html_of(response)
    assert "No integrations for this customer" in page
    assert reverse("staff:webhook-create") in page
