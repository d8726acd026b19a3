"""The staff console's API keys page (issue 9, part B 7): every staff member makes and
revokes their own keys, limited to some customers if they like; managers also see and revoke
everyone's staff keys; the token is shown once; bad input is refused with a message and
changes nothing; the page costs the same number of queries whatever the number of keys."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clientdesk.apikeys import actions as keys
from clientdesk.apikeys.models import ApiKey
from clientdesk.audit.models import Activity
from clientdesk.core.actor import Actor, Source
from tests import factories
from tests.api.conftest import ApiClient
from tests.conftest import World

pytestmark = pytest.mark.django_db

STAFF = ["staff_support", "staff_billing", "staff_manager", "superuser"]
MANAGERS = ["staff_manager", "superuser"]
NON_MANAGERS = ["staff_support", "staff_billing"]
TOKEN = re.compile(r"cdk_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")
KEYS_URL = "/staff/api-keys/"
CREATE_URL = "/staff/api-keys/new/"


def client_for(world: World, persona: str) -> Client:
    client = Client()
    client.force_login(world.users[persona])
    return client


def revoke_url(key: ApiKey | int) -> str:
    return reverse("staff:api-key-revoke", args=[key if isinstance(key, int) else key.pk])


def text(response: Any) -> str:
    html = response.content.decode()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&amp;", "&").strip()


def staff_key(world: World, persona: str, **kwargs: Any) -> ApiKey:
    kwargs.setdefault("name", f"{persona} script")
    kwargs.setdefault("scopes", ["customers:read"])
    key, _ = keys.create_staff_key(actor=Actor(world.users[persona], Source.STAFF), **kwargs)
    return key


def new_key_post(**values: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"name": "Billing sync", "scopes": ["customers:read", "ledger:read"]}
    data.update(values)
    return data


def test_the_urls() -> None:
    assert reverse("staff:api-keys") == KEYS_URL
    assert reverse("staff:api-key-create") == CREATE_URL


# --- who may look --------------------------------------------------------------------------


@pytest.mark.parametrize("persona", STAFF)
def test_every_staff_role_sees_the_page_with_every_scope(world: World, persona: str) -> None:
    client = client_for(world, persona)
    listing = client.get(KEYS_URL)
    assert listing.status_code == 200
    assert f'href="{CREATE_URL}"' in listing.content.decode()
    assert 'href="/api/v1/docs"' in listing.content.decode()
    response = client.get(CREATE_URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "New API key" in text(response)
    for scope in ("customers:read", "notes:write", "ledger:write", "webhooks:manage"):
        assert f'value="{scope}"' in html


@pytest.mark.parametrize("persona", ["a_owner", "a_admin", "b_member"])
def test_customers_get_404(world: World, persona: str) -> None:
    key = staff_key(world, "staff_support")
    client = client_for(world, persona)
    assert client.get(KEYS_URL).status_code == 404
    assert client.get(CREATE_URL).status_code == 404
    assert client.post(CREATE_URL, new_key_post()).status_code == 404
    assert client.post(revoke_url(key)).status_code == 404
    assert ApiKey.objects.count() == 1 and ApiKey.objects.get().revoked_at is None


def test_anonymous_is_sent_to_sign_in() -> None:
    response = Client().get(KEYS_URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_staff_without_two_factor_are_sent_to_enrol(world: World) -> None:
    user = factories.make_staff("support", email="new@staff.example", with_mfa=False)
    client = Client()
    client.force_login(user)
    response = client.post(CREATE_URL, new_key_post())
    assert response.status_code == 302 and "2fa" in response["Location"]
    assert not ApiKey.objects.exists()


# --- making a key ----------------------------------------------------------------------------


@pytest.mark.parametrize("persona", STAFF)
def test_making_a_key_shows_its_token_once_and_it_works(world: World, persona: str) -> None:
    client = client_for(world, persona)
    form_token = re.search(
        r'name="form_token" value="([^"]+)"', client.get(CREATE_URL).content.decode()
    )
    assert form_token is not None
    response = client.post(CREATE_URL, new_key_post(form_token=form_token.group(1)))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    shown = set(TOKEN.findall(html))
    assert len(shown) == 1
    token = shown.pop()
    assert "Copy it now: it will not be shown again." in text(response)
    assert f"Bearer {token}&quot; https://portal.clientdesk.test/api/v1/customers" in html
    key = ApiKey.objects.get()
    assert (key.kind, key.customer_id, key.created_by) == (
        ApiKey.Kind.STAFF,
        None,
        world.users[persona],
    )
    assert sorted(key.scopes) == ["customers:read", "ledger:read"]
    assert not key.customers.exists()
    listing = client.get(KEYS_URL).content.decode()
    assert token not in listing and key.prefix in listing
    assert token not in str(dict(client.session.items()))
    again = client.post(CREATE_URL, new_key_post(form_token=form_token.group(1)))
    assert again.status_code == 302 and ApiKey.objects.count() == 1
    assert "already made" in text(client.get(again["Location"]))
    assert ApiClient(token).get("/api/v1/customers").status_code == 200
    activity = Activity.objects.get(verb="api_key.created")
    assert activity.staff_only and activity.customer_id is None


def test_a_key_limited_to_some_customers_sees_only_them(world: World) -> None:
    client = client_for(world, "staff_support")
    response = client.post(
        CREATE_URL,
        new_key_post(customers=f"{world.customer_b.client_id.lower()},  {world.customer_b.number}"),
    )
    assert response.status_code == 200
    key = ApiKey.objects.get()
    assert list(key.customers.all()) == [world.customer_b]
    token = TOKEN.findall(response.content.decode())[0]
    api = ApiClient(token)
    assert api.get(f"/api/v1/customers/{world.customer_b.client_id}").status_code == 200
    assert api.get(f"/api/v1/customers/{world.customer_a.client_id}").status_code == 404
    assert world.customer_b.client_id in text(client.get(KEYS_URL))


def test_an_expiry_date_ends_the_key_at_that_days_end_utc(world: World) -> None:
    day = timezone.now().astimezone(UTC).date() + timedelta(days=10)
    response = client_for(world, "staff_billing").post(
        CREATE_URL, new_key_post(expires_on=day.isoformat())
    )
    assert response.status_code == 200
    key = ApiKey.objects.get()
    assert key.expires_at == datetime.combine(day, time(23, 59, 59), UTC)
    assert f"until {day:%-d %b %Y}, 23:59 UTC" in text(response)


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"name": "   "}, "name", "Name the key after the program that uses it."),
        ({"scopes": []}, "scopes", "Choose at least one permission."),
        ({"scopes": ["customers:admin"]}, "scopes", "There is no permission “customers:admin”."),
        ({"scopes": ["q" * 3000]}, "scopes", "There is no permission"),
        ({"customers": "C-999999"}, "customers", "No customer has the client ID C-999999."),
        ({"customers": "Alpha Trading"}, "customers", "“Alpha” is not a client ID like C-100042."),
        ({"customers": "C-1²"}, "customers", "is not a client ID"),
        ({"customers": "C-1 " * 1001}, "customers", "at most 1000 customers"),
        ({"customers": "9" * 20001}, "customers", "too many client IDs"),
        ({"expires_on": "2000-01-01"}, "expires_on", "That day has passed."),
        (
            {"expires_on": "9999-12-31"},
            "expires_on",
            "Choose an expiry date in the next two years.",
        ),
        ({"expires_on": "soon"}, "expires_on", "Enter a date like"),
    ],
)
def test_bad_input_is_named_next_to_its_field_and_nothing_is_made(
    world: World, values: dict[str, Any], field: str, message: str
) -> None:
    response = client_for(world, "staff_manager").post(CREATE_URL, new_key_post(**values))
    assert response.status_code == 400
    html = response.content.decode()
    assert f'id="id_{field}_error"' in html
    assert message in text(response)
    assert "q" * 100 not in html
    assert not ApiKey.objects.exists()


def test_a_forged_extra_field_changes_nothing(world: World) -> None:
    response = client_for(world, "staff_support").post(
        CREATE_URL,
        new_key_post(kind="customer", customer=str(world.customer_a.pk), created_by="1"),
    )
    assert response.status_code == 200
    key = ApiKey.objects.get()
    assert (key.kind, key.customer_id, key.created_by) == (
        ApiKey.Kind.STAFF,
        None,
        world.users["staff_support"],
    )


# --- the lists ---------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", NON_MANAGERS)
def test_others_keys_are_not_shown_to_non_managers(world: World, persona: str) -> None:
    mine = staff_key(world, persona, name="My own script")
    other = staff_key(world, "staff_manager", name="Manager's script")
    page = client_for(world, persona).get(KEYS_URL)
    html = page.content.decode()
    assert mine.prefix in html and "My own script" in text(page)
    assert other.prefix not in html and "Manager's script" not in text(page)
    assert "Other staff members' keys" not in text(page)


@pytest.mark.parametrize("persona", MANAGERS)
def test_managers_see_every_other_staff_key_but_no_customer_keys(
    world: World, persona: str
) -> None:
    other = staff_key(world, "staff_support", name="Support's script")
    customer_key, _ = keys.create_customer_key(
        actor=Actor(world.users["a_owner"], Source.PORTAL),
        customer=world.customer_a,
        name="Alpha ERP",
        scopes=["customers:read"],
    )
    page = client_for(world, persona).get(KEYS_URL)
    assert "Other staff members' keys" in text(page)
    assert other.prefix in page.content.decode() and "support@staff.example" in text(page)
    assert revoke_url(other) in page.content.decode()
    assert customer_key.prefix not in page.content.decode()


# --- revoking ----------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", STAFF)
def test_everyone_revokes_their_own_key(world: World, persona: str) -> None:
    key, token = keys.create_staff_key(
        actor=Actor(world.users[persona], Source.STAFF), name="Mine", scopes=["customers:read"]
    )
    assert ApiClient(token).get("/api/v1/customers").status_code == 200
    client = client_for(world, persona)
    confirm = client.get(revoke_url(key))
    assert confirm.status_code == 200 and "Revoke Mine?" in text(confirm)
    assert "made by you" in text(confirm)
    response = client.post(revoke_url(key), {"reason": "Rotating keys"})
    assert response.status_code == 302
    assert response["Location"] == KEYS_URL + f"#key-{key.pk}"
    key.refresh_from_db()
    assert key.revoked_at is not None and key.revoked_by == world.users[persona]
    assert Activity.objects.get(verb="api_key.revoked").reason == "Rotating keys"
    assert ApiClient(token).get("/api/v1/customers").status_code == 401


@pytest.mark.parametrize("persona", MANAGERS)
def test_managers_revoke_someone_elses_key(world: World, persona: str) -> None:
    key = staff_key(world, "staff_billing")
    client = client_for(world, persona)
    assert client.get(revoke_url(key)).status_code == 200
    assert client.post(revoke_url(key)).status_code == 302
    key.refresh_from_db()
    assert key.revoked_by == world.users[persona]


@pytest.mark.parametrize("persona", NON_MANAGERS)
def test_non_managers_cannot_revoke_someone_elses_key(world: World, persona: str) -> None:
    other = "staff_billing" if persona == "staff_support" else "staff_support"
    key = staff_key(world, other)
    client = client_for(world, persona)
    assert client.get(revoke_url(key)).status_code == 404
    assert client.post(revoke_url(key)).status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None


def test_customer_keys_and_unknown_ids_are_404(world: World) -> None:
    customer_key, _ = keys.create_customer_key(
        actor=Actor(world.users["a_owner"], Source.PORTAL),
        customer=world.customer_a,
        name="Alpha ERP",
        scopes=["customers:read"],
    )
    client = client_for(world, "superuser")
    for key_id in (customer_key.pk, 999999, 2**63):
        assert client.get(revoke_url(key_id)).status_code == 404
        assert client.post(revoke_url(key_id)).status_code == 404
    customer_key.refresh_from_db()
    assert customer_key.revoked_at is None


# --- cost ----------------------------------------------------------------------------------------


def test_the_page_costs_the_same_with_one_or_many_keys(
    world: World, django_assert_max_num_queries: Any
) -> None:
    client = client_for(world, "staff_manager")
    staff_key(world, "staff_manager")
    staff_key(world, "staff_support", customers=[world.customer_a])
    with CaptureQueriesContext(connection) as few:
        assert client.get(KEYS_URL).status_code == 200
    for number in range(8):
        staff_key(world, "staff_manager", name=f"Mine {number}", customers=[world.customer_b])
        staff_key(world, "staff_billing", name=f"Theirs {number}", customers=[world.customer_a])
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(KEYS_URL)
    assert "Mine 7" in text(response) and "Theirs 7" in text(response)
