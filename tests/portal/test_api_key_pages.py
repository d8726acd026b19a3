"""The portal's API keys page (issue 9, part B 7): owner and admin make and revoke their
customer's keys; the token is shown once; forged permissions, bad dates and Login As are
refused with a message and change nothing; other customers' keys are 404; the list costs the
same number of queries whatever the number of keys."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clientdesk.apikeys import actions as keys
from clientdesk.apikeys.models import ApiKey
from clientdesk.audit.models import Activity
from clientdesk.core.actor import Actor, Source
from clientdesk.customers.models import Contact, Customer
from clientdesk.events.models import Event
from tests import factories
from tests.api.conftest import ApiClient
from tests.conftest import World

pytestmark = pytest.mark.django_db

MANAGERS = ["a_owner", "a_admin"]
OTHERS = ["a_billing", "a_technical", "a_member"]
TOKEN = re.compile(r"cdk_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")


def client_for(world: World, persona: str) -> Client:
    client = Client()
    client.force_login(world.users[persona])
    return client


def keys_url(customer: Customer) -> str:
    return reverse("portal:api-keys", args=[customer.number])


def create_url(customer: Customer) -> str:
    return reverse("portal:api-key-create", args=[customer.number])


def revoke_url(customer: Customer, key: ApiKey | int) -> str:
    pk = key if isinstance(key, int) else key.pk
    return reverse("portal:api-key-revoke", args=[customer.number, pk])


def text(response: Any) -> str:
    """The page's words, tags dropped and whitespace collapsed."""
    html = response.content.decode()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&amp;", "&").strip()


def make_key(world: World, persona: str = "a_owner", **kwargs: Any) -> ApiKey:
    customer = world.customer_b if persona.startswith("b_") else world.customer_a
    kwargs.setdefault("name", "Our ERP")
    kwargs.setdefault("scopes", ["customers:read"])
    key, _ = keys.create_customer_key(
        actor=Actor(world.users[persona], Source.PORTAL), customer=customer, **kwargs
    )
    return key


def new_key_post(**values: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"name": "Our ERP", "scopes": ["customers:read", "contacts:read"]}
    data.update(values)
    return data


# --- who may look --------------------------------------------------------------------------


@pytest.mark.parametrize("persona", MANAGERS)
def test_owner_and_admin_see_the_list_and_the_form_with_the_docs_link(
    world: World, persona: str
) -> None:
    client = client_for(world, persona)
    response = client.get(keys_url(world.customer_a))
    assert response.status_code == 200
    assert "No API keys yet" in text(response)
    assert f'href="{create_url(world.customer_a)}"' in response.content.decode()
    assert 'href="/api/v1/docs"' in response.content.decode()
    form = client.get(create_url(world.customer_a))
    assert form.status_code == 200
    html = form.content.decode()
    assert "New API key" in text(form) and 'id="new-key"' in html
    # The customer's scopes are offered, in words; staff-only ones are not.
    assert "Read customers and their profile" in text(form)
    assert (
        'value="customers:read" id="id_scopes_1" aria-describedby="id_scopes_1_code" checked'
        in html
    )
    assert 'value="contacts:write"' in html
    assert 'value="notes:read"' not in html
    assert 'value="ledger:write"' not in html


@pytest.mark.parametrize("persona", OTHERS)
def test_other_roles_get_403_and_cannot_post(world: World, persona: str) -> None:
    client = client_for(world, persona)
    assert client.get(keys_url(world.customer_a)).status_code == 403
    assert client.get(create_url(world.customer_a)).status_code == 403
    assert client.post(create_url(world.customer_a), new_key_post()).status_code == 403
    key = make_key(world)
    assert client.get(revoke_url(world.customer_a, key)).status_code == 403
    assert client.post(revoke_url(world.customer_a, key)).status_code == 403
    assert ApiKey.objects.count() == 1
    assert ApiKey.objects.get().revoked_at is None


@pytest.mark.parametrize("persona", ["b_owner", "b_admin", "staff_manager", "superuser"])
def test_people_of_other_customers_and_staff_get_404(world: World, persona: str) -> None:
    client = client_for(world, persona)
    assert client.get(keys_url(world.customer_a)).status_code == 404
    assert client.get(create_url(world.customer_a)).status_code == 404
    assert client.post(create_url(world.customer_a), new_key_post()).status_code == 404
    assert not ApiKey.objects.exists()


def test_anonymous_is_sent_to_sign_in(world: World) -> None:
    response = Client().get(keys_url(world.customer_a))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_a_suspended_customers_page_is_the_suspended_page(world: World) -> None:
    Customer.objects.filter(pk=world.customer_a.pk).update(status=Customer.Status.SUSPENDED)
    response = client_for(world, "a_owner").post(create_url(world.customer_a), new_key_post())
    assert response.status_code == 403
    assert not ApiKey.objects.exists()


# --- making a key ----------------------------------------------------------------------------


@pytest.mark.parametrize("persona", MANAGERS)
def test_making_a_key_shows_its_token_once_and_it_works(world: World, persona: str) -> None:
    client = client_for(world, persona)
    form = client.get(create_url(world.customer_a)).content.decode()
    form_token = re.search(r'name="form_token" value="([^"]+)"', form)
    assert form_token is not None
    response = client.post(
        create_url(world.customer_a), new_key_post(form_token=form_token.group(1))
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    shown = TOKEN.findall(html)
    assert shown, "the token is on the page"
    token = shown[0]
    assert set(shown) == {token}  # in the field and the curl example, nothing else
    page = text(response)
    assert "Copy it now: it will not be shown again." in page
    assert (
        f'curl -H "Authorization: Bearer {token}" https://portal.clientdesk.test/api/v1/customers'
        in (html.replace("&quot;", '"'))
    )
    key = ApiKey.objects.get()
    assert key.name == "Our ERP"
    assert key.kind == ApiKey.Kind.CUSTOMER
    assert key.customer_id == world.customer_a.pk
    assert key.created_by == world.users[persona]
    assert sorted(key.scopes) == ["contacts:read", "customers:read"]
    assert key.expires_at is None
    assert token.startswith(key.prefix + "_")
    assert token not in str(key.token_hash)
    # Never again: not on the list, not in the session, not after sending the form again.
    listing = client.get(keys_url(world.customer_a)).content.decode()
    assert token not in listing and key.prefix in listing
    assert token not in str(dict(client.session.items()))
    again = client.post(create_url(world.customer_a), new_key_post(form_token=form_token.group(1)))
    assert again.status_code == 302
    assert ApiKey.objects.count() == 1
    followed = client.get(again["Location"])
    assert "already made" in text(followed) and token not in followed.content.decode()
    # And the token works with the API.
    api = ApiClient(token).get("/api/v1/customers")
    assert api.status_code == 200, api.content
    # Recorded: Activity and an outbox event, as the person, from the portal.
    activity = Activity.objects.get(verb="api_key.created")
    assert activity.customer_id == world.customer_a.pk
    assert Event.objects.filter(type="api_key.created", customer=world.customer_a).exists()


def test_the_list_shows_each_keys_facts_in_words(world: World) -> None:
    key = make_key(world, scopes=["customers:read", "events:read"], name="Zebra sync")
    make_key(world, "a_admin", name="Old CRM")
    old = ApiKey.objects.get(name="Old CRM")
    keys.revoke_key(actor=Actor(world.users["a_owner"], Source.PORTAL), key=old)
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
    response = client_for(world, "a_admin").get(keys_url(world.customer_a))
    page = text(response)
    assert "Zebra sync" in page and f"{key.prefix}…" in page
    assert "Read customers and their profile" in page and "Read the event feed" in page
    assert "by a owner" in page  # who made it
    assert "Revoked" in page and "Active" in page
    html = response.content.decode()
    # Revoke is offered for the live key only.
    assert revoke_url(world.customer_a, key) in html
    assert revoke_url(world.customer_a, old) not in html
    # B's keys are not A's business.
    b_key = make_key(world, "b_owner", name="Beta secret thing")
    assert "Beta secret thing" not in text(
        client_for(world, "a_owner").get(keys_url(world.customer_a))
    )
    assert (
        b_key.prefix
        not in client_for(world, "a_owner").get(keys_url(world.customer_a)).content.decode()
    )


def test_times_are_in_the_customers_time_zone(world: World) -> None:
    key = make_key(world)
    local = key.created_at.astimezone(ZoneInfo(world.customer_a.timezone))
    html = client_for(world, "a_owner").get(keys_url(world.customer_a)).content.decode()
    assert f'datetime="{local.isoformat()}"' in html
    assert f"{local:%-d %b %Y}" in html and f"{local:%H:%M}" in html


def test_an_expiry_date_ends_the_key_at_that_days_end_in_the_customers_zone(
    world: World,
) -> None:
    zone = ZoneInfo(world.customer_a.timezone)
    day = timezone.now().astimezone(zone).date() + timedelta(days=30)
    response = client_for(world, "a_owner").post(
        create_url(world.customer_a), new_key_post(expires_on=day.isoformat())
    )
    assert response.status_code == 200
    key = ApiKey.objects.get()
    assert key.expires_at is not None
    local = key.expires_at.astimezone(zone)
    assert local.date() == day
    assert (local.hour, local.minute, local.second) == (23, 59, 59)
    assert f"{day:%-d %b %Y}, 23:59" in text(response)


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"name": ""}, "name", "Name the key after the program that uses it."),
        ({"name": "x" * 101}, "name", "Keep the name under 100 characters."),
        ({"name": "ERP\u202e"}, "name", None),  # a bidi override: refused, whatever the words
        ({"scopes": []}, "scopes", "Choose at least one permission."),
        ({"scopes": ["notes:read"]}, "scopes", "cannot hold the permission “notes:read”"),
        ({"scopes": ["ledger:write"]}, "scopes", "cannot hold the permission “ledger:write”"),
        ({"scopes": ["customers:read", "z" * 5000]}, "scopes", "cannot hold the permission"),
        ({"expires_on": "2020-01-01"}, "expires_on", "That day has passed."),
        (
            {"expires_on": "9999-12-31"},
            "expires_on",
            "Choose an expiry date in the next two years.",
        ),
        ({"expires_on": "31/12/2026"}, "expires_on", "Enter a date like 2026-12-31"),
        ({"expires_on": "2031-02-30"}, "expires_on", "Enter a date like 2026-12-31"),
        ({"expires_on": "x" * 5000}, "expires_on", "Enter a date like 2026-12-31"),
    ],
)
def test_bad_input_is_named_next_to_its_field_and_nothing_is_made(
    world: World, values: dict[str, Any], field: str, message: str | None
) -> None:
    response = client_for(world, "a_owner").post(
        create_url(world.customer_a), new_key_post(**values)
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert f'id="id_{field}_error"' in html
    if message:
        assert message in text(response)
    assert "z" * 100 not in html  # a huge forged value is not echoed
    assert not ApiKey.objects.exists()
    assert not TOKEN.search(html)


def test_a_forged_extra_field_changes_nothing(world: World) -> None:
    response = client_for(world, "a_owner").post(
        create_url(world.customer_a),
        new_key_post(customer=str(world.customer_b.pk), kind="staff", created_by="1"),
    )
    assert response.status_code == 200
    key = ApiKey.objects.get()
    assert key.customer_id == world.customer_a.pk
    assert key.kind == ApiKey.Kind.CUSTOMER
    assert key.created_by == world.users["a_owner"]


def test_a_unicode_name_is_kept(world: World) -> None:
    response = client_for(world, "a_owner").post(
        create_url(world.customer_a), new_key_post(name="Kế toán — 会計 ERP")
    )
    assert response.status_code == 200
    assert ApiKey.objects.get().name == "Kế toán — 会計 ERP"
    assert "Kế toán — 会計 ERP" in response.content.decode()


# --- revoking ----------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", MANAGERS)
def test_revoke_is_confirmed_then_the_key_stops_working(world: World, persona: str) -> None:
    token = keys.create_customer_key(
        actor=Actor(world.users["a_owner"], Source.PORTAL),
        customer=world.customer_a,
        name="Our ERP",
        scopes=["customers:read"],
    )[1]
    key = ApiKey.objects.get()
    assert ApiClient(token).get("/api/v1/customers").status_code == 200
    client = client_for(world, persona)
    confirm = client.get(revoke_url(world.customer_a, key))
    assert confirm.status_code == 200
    assert "Revoke Our ERP?" in text(confirm) and "401 Unauthorized" in text(confirm)
    assert ApiKey.objects.get().revoked_at is None  # a GET changes nothing
    response = client.post(revoke_url(world.customer_a, key), {"reason": "Laptop stolen"})
    assert response.status_code == 302
    assert response["Location"] == keys_url(world.customer_a) + f"#key-{key.pk}"
    key.refresh_from_db()
    assert key.revoked_at is not None and key.revoked_by == world.users[persona]
    activity = Activity.objects.get(verb="api_key.revoked")
    assert activity.reason == "Laptop stolen"
    assert "is revoked" in text(client.get(response["Location"]))
    assert ApiClient(token).get("/api/v1/customers").status_code == 401
    # Twice: nothing more happens.
    assert client.post(revoke_url(world.customer_a, key)).status_code == 302
    assert Activity.objects.filter(verb="api_key.revoked").count() == 1


def test_another_customers_key_and_unknown_ids_are_404(world: World) -> None:
    b_key = make_key(world, "b_owner")
    staff_key, _ = keys.create_staff_key(
        actor=Actor(world.users["staff_manager"], Source.STAFF), name="Ops", scopes=["events:read"]
    )
    client = client_for(world, "a_owner")
    for key_id in (b_key.pk, staff_key.pk, 999999, 2**63):
        assert client.get(revoke_url(world.customer_a, key_id)).status_code == 404
        assert client.post(revoke_url(world.customer_a, key_id)).status_code == 404
    # And B's key through B's URL is still B's people's business only.
    assert client.post(revoke_url(world.customer_b, b_key)).status_code == 404
    assert not ApiKey.objects.filter(revoked_at__isnull=False).exists()


def test_a_too_long_reason_is_refused_and_nothing_changes(world: World) -> None:
    key = make_key(world)
    response = client_for(world, "a_owner").post(
        revoke_url(world.customer_a, key), {"reason": "r" * 301}
    )
    assert response.status_code == 400
    assert "Keep the reason under 300 characters." in text(response)
    key.refresh_from_db()
    assert key.revoked_at is None


# --- Login As ----------------------------------------------------------------------------------


@pytest.fixture
def login_as_client(world: World) -> Client:
    """Support signed in as customer A's owner (Login As)."""
    sam = factories.make_user("sam@staff.example", full_name="Sam Tan", is_staff=True)
    sam.groups.set([Group.objects.get_or_create(name="support")[0]])
    factories.enrol_totp(sam)
    client = Client()
    client.force_login(sam)
    owner = Contact.objects.get(customer=world.customer_a, user=world.users["a_owner"])
    response = client.post(
        reverse("staff:login-as-start", args=[world.customer_a.number, owner.pk]),
        {"reason": "Ticket #4711: the owner asked us to check their integrations"},
    )
    assert response.status_code == 302
    return client


def test_during_login_as_keys_are_listed_but_not_made(
    world: World, login_as_client: Client
) -> None:
    key = make_key(world)
    page = login_as_client.get(keys_url(world.customer_a))
    assert page.status_code == 200
    assert "API keys cannot be made or revoked during Login As." in text(page)
    assert key.prefix in page.content.decode()
    assert create_url(world.customer_a) not in page.content.decode()
    assert revoke_url(world.customer_a, key) not in page.content.decode()
    # The Login As middleware blocks the pages themselves (and the action refuses too).
    form = login_as_client.get(create_url(world.customer_a))
    assert form.status_code == 403
    assert 'id="new-key"' not in form.content.decode()
    response = login_as_client.post(create_url(world.customer_a), new_key_post())
    assert response.status_code == 403
    assert not TOKEN.search(response.content.decode())
    assert ApiKey.objects.count() == 1


def test_during_login_as_keys_are_not_revoked(world: World, login_as_client: Client) -> None:
    key = make_key(world)
    response = login_as_client.post(revoke_url(world.customer_a, key), {"reason": "x"})
    assert response.status_code == 403
    key.refresh_from_db()
    assert key.revoked_at is None


# --- cost ----------------------------------------------------------------------------------------


def test_the_list_costs_the_same_with_one_or_many_keys(
    world: World, django_assert_max_num_queries: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(world, "a_owner")
    make_key(world)
    with CaptureQueriesContext(connection) as one:
        assert client.get(keys_url(world.customer_a)).status_code == 200
    for number in range(12):
        make_key(world, "a_admin" if number % 2 else "a_owner", name=f"Program {number}")
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(keys_url(world.customer_a))
    assert response.status_code == 200
    assert "Program 11" in text(response)
