"""API v1 ledger: balance, entries (filters, keyset pages), posting and reversing with the
ledger's own idempotency key, amounts as strings."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clientdesk.audit.models import Activity
from clientdesk.core.actor import Actor, Source
from clientdesk.customers.models import Customer
from clientdesk.events.models import Event
from clientdesk.ledger import actions
from clientdesk.ledger.models import Balance, Entry

from .conftest import ApiClient, customer_token, staff_token

pytestmark = pytest.mark.django_db

TOP_UP = {"kind": "top_up", "amount": "12.50", "description": "Bank transfer"}


def ledger(customer: Customer) -> str:
    return f"/api/v1/customers/{customer.client_id}/ledger"


def entries(customer: Customer) -> str:
    return f"{ledger(customer)}/entries"


@pytest.fixture
def billing_api(world: Any) -> ApiClient:
    return ApiClient(staff_token(world.users["staff_billing"]))


def post(world: Any, customer: Customer | None = None, **values: Any) -> Entry:
    """An entry posted in the console by the billing team."""
    body = {**TOP_UP, "idempotency_key": f"k{Entry.objects.count()}"} | values
    return actions.post_entry(
        customer or world.customer_a,
        actor=Actor(world.users["staff_billing"], Source.STAFF),
        **body,
    ).entry


def balance(customer: Customer) -> Decimal:
    row = Balance.objects.filter(customer=customer).first()
    return row.amount if row else Decimal("0.00")


# --- posting -----------------------------------------------------------------------------------


def test_billing_posts_with_an_idempotency_key(world: Any, billing_api: ApiClient) -> None:
    response = billing_api.post(
        entries(world.customer_a), TOP_UP, headers={"Idempotency-Key": "t1"}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    entry = Entry.objects.get()
    assert body["id"] == entry.pk and body["amount"] == "12.50" and body["balance_after"] == "12.50"
    assert body["idempotency_key"] == "t1" and entry.idempotency_key == "t1"
    assert body["source"] == "api" and body["reversed_by"] is None
    assert response["Location"] == body["url"]
    assert balance(world.customer_a) == Decimal("12.50")
    activity = Activity.objects.get(verb="ledger.entry_posted")
    assert activity.source == "api"
    assert billing_api.token is not None and billing_api.token[:12] in activity.actor_label
    event = Event.objects.get(type="ledger.entry_posted")
    assert event.data["amount"] == "12.50"
    assert event.actor == {
        "user_id": world.users["staff_billing"].pk,
        "impersonator_id": None,
        "source": "api",
        "api_key": billing_api.token[:12],
    }
    # The same key and body: the first answer again, nothing posted twice.
    again = billing_api.post(entries(world.customer_a), TOP_UP, headers={"Idempotency-Key": "t1"})
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == body
    # The same key with another body: refused.
    other = billing_api.post(
        entries(world.customer_a), {**TOP_UP, "amount": "99.00"}, headers={"Idempotency-Key": "t1"}
    )
    assert other.status_code == 422 and other.json()["code"] == "idempotency_mismatch"
    assert Entry.objects.count() == 1 and balance(world.customer_a) == Decimal("12.50")


def test_the_ledger_key_holds_across_api_keys(world: Any, billing_api: ApiClient) -> None:
    """The Idempotency-Key is the ledger's own: another program (or the console) sending
    the same key for this customer gets the first posting, not a second one."""
    first = billing_api.post(
        entries(world.customer_a), TOP_UP, headers={"Idempotency-Key": "inv-7"}
    )
    second_program = ApiClient(staff_token(world.users["staff_billing"]))
    again = second_program.post(
        entries(world.customer_a), TOP_UP, headers={"Idempotency-Key": "inv-7"}
    )
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    other = second_program.post(
        entries(world.customer_a),
        {**TOP_UP, "amount": "1.00"},
        headers={"Idempotency-Key": "inv-7"},
    )
    assert other.status_code == 422 and other.json()["code"] == "idempotency_mismatch"
    assert Entry.objects.count() == 1


def test_an_idempotency_key_is_required(world: Any, billing_api: ApiClient) -> None:
    response = billing_api.post(entries(world.customer_a), TOP_UP)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["detail"]
    too_long = billing_api.post(
        entries(world.customer_a), TOP_UP, headers={"Idempotency-Key": "k" * 101}
    )
    assert too_long.status_code == 400
    assert not Entry.objects.exists()


def test_amounts_are_strings_never_numbers(world: Any, billing_api: ApiClient) -> None:
    url = entries(world.customer_a)
    for n, amount in enumerate([12.5, 12, "1e3", "-5.00", "0", "1.234", "1,000.00", "NaN", None]):
        response = billing_api.post(
            url, {**TOP_UP, "amount": amount}, headers={"Idempotency-Key": f"a{n}"}
        )
        assert response.status_code == 400, (amount, response.content)
        assert "amount" in response.json()["errors"], amount
    number = billing_api.post(url, {**TOP_UP, "amount": 12.5}, headers={"Idempotency-Key": "z"})
    assert "string" in number.json()["errors"]["amount"][0]
    # A raw body with a very precise number is refused, not rounded.
    raw = json.dumps(TOP_UP).replace('"12.50"', "12.500000000000000001")
    refused = billing_api.post(url, raw, headers={"Idempotency-Key": "raw"})
    assert refused.status_code == 400
    assert not Entry.objects.exists()


def test_bad_postings_change_nothing(world: Any, billing_api: ApiClient) -> None:
    url = entries(world.customer_a)
    cases: list[tuple[dict[str, Any], int]] = [
        ({**TOP_UP, "kind": "charge"}, 409),  # prepaid, no credits
        ({**TOP_UP, "kind": "reversal"}, 400),  # only through /reverse
        ({**TOP_UP, "kind": "adjustment"}, 400),  # no direction, no reason
        ({**TOP_UP, "description": ""}, 400),
        ({**TOP_UP, "balance_after": "1000000.00"}, 400),  # forged
        ({**TOP_UP, "amount": "9999999999.00"}, 400),
        ({**TOP_UP, "description": "ok\x00"}, 400),
    ]
    for n, (payload, status) in enumerate(cases):
        response = billing_api.post(url, payload, headers={"Idempotency-Key": f"b{n}"})
        assert response.status_code == status, (payload, response.content)
    assert not Entry.objects.exists()
    assert not Event.objects.filter(type="ledger.entry_posted").exists()


def test_an_adjustment_with_direction_and_reason(world: Any, billing_api: ApiClient) -> None:
    response = billing_api.post(
        entries(world.customer_a),
        {**TOP_UP, "kind": "adjustment", "direction": "credit", "reason": "Goodwill"},
        headers={"Idempotency-Key": "adj"},
    )
    assert response.status_code == 201, response.content
    assert response.json()["amount"] == "12.50" and response.json()["reason"] == "Goodwill"


def test_only_the_billing_group_posts(world: Any, a_owner_api: ApiClient) -> None:
    for persona in ("staff_support", "staff_manager"):
        api = ApiClient(staff_token(world.users[persona]))
        response = api.post(entries(world.customer_a), TOP_UP, headers={"Idempotency-Key": "x"})
        assert response.status_code == 403, persona
    own = a_owner_api.post(entries(world.customer_a), TOP_UP, headers={"Idempotency-Key": "x"})
    assert own.status_code == 403  # a customer key cannot hold ledger:write
    no_scope = ApiClient(staff_token(world.users["staff_billing"], scopes=["ledger:read"]))
    refused = no_scope.post(entries(world.customer_a), TOP_UP, headers={"Idempotency-Key": "x"})
    assert refused.status_code == 403 and "ledger:write" in refused.json()["detail"]
    assert not Entry.objects.exists()


# --- reversing ---------------------------------------------------------------------------------


def test_reversing_an_entry(world: Any, billing_api: ApiClient) -> None:
    entry = post(world)
    url = f"{entries(world.customer_a)}/{entry.pk}/reverse"
    assert billing_api.post(url, {"reason": "Wrong customer"}).status_code == 400  # no key
    missing = billing_api.post(url, {"reason": " "}, headers={"Idempotency-Key": "r0"})
    assert missing.status_code == 400
    response = billing_api.post(
        url, {"reason": "Wrong customer"}, headers={"Idempotency-Key": "r1"}
    )
    assert response.status_code == 201, response.content
    reversal = response.json()
    assert reversal["kind"] == "reversal" and reversal["amount"] == "-12.50"
    assert reversal["reverses"] == entry.pk and reversal["balance_after"] == "0.00"
    replay = billing_api.post(url, {"reason": "Wrong customer"}, headers={"Idempotency-Key": "r1"})
    assert replay["Idempotent-Replayed"] == "true" and replay.json()["id"] == reversal["id"]
    twice = billing_api.post(url, {"reason": "Again"}, headers={"Idempotency-Key": "r2"})
    assert twice.status_code == 409
    of_reversal = billing_api.post(
        f"{entries(world.customer_a)}/{reversal['id']}/reverse",
        {"reason": "x"},
        headers={"Idempotency-Key": "r3"},
    )
    assert of_reversal.status_code == 409
    shown = billing_api.get(f"{entries(world.customer_a)}/{entry.pk}")
    assert shown.json()["reversed_by"] == reversal["id"]
    assert shown["ETag"] == f'"{entry.pk}.{reversal["id"]}"'
    assert Entry.objects.count() == 2 and balance(world.customer_a) == Decimal("0.00")
    assert Activity.objects.filter(verb="ledger.entry_posted", source="api").count() == 1


# --- reading -----------------------------------------------------------------------------------


def test_balance_and_its_etag(world: Any, a_owner_api: ApiClient) -> None:
    empty = a_owner_api.get(ledger(world.customer_a))
    assert empty.status_code == 200
    assert empty.json() == {
        "customer": world.customer_a.client_id,
        "currency": world.customer_a.currency,
        "balance": "0.00",
        "credits": "0.00",
        "debt": "0.00",
        "available": "0.00",
        "billing_mode": "prepaid",
        "credit_limit": None,
        "entry_count": 0,
    }
    post(world, amount="100.00")
    post(world, kind="charge", amount="30.25", description="Hosting")
    after = a_owner_api.get(ledger(world.customer_a))
    assert after.json()["balance"] == "69.75" and after.json()["available"] == "69.75"
    assert after["ETag"] != empty["ETag"]


def test_entries_in_keyset_pages_with_filters(world: Any, a_owner_api: ApiClient) -> None:
    top_up = post(world, amount="100.00")
    charges = [post(world, kind="charge", amount="1.00", description=f"c{n}") for n in range(3)]
    post(world, world.customer_b)
    seen: list[int] = []
    cursor = ""
    for _ in range(5):
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = a_owner_api.get(entries(world.customer_a), **params).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [c.pk for c in reversed(charges)] + [top_up.pk]  # newest first
    only = a_owner_api.get(entries(world.customer_a), kind="top_up").json()["items"]
    assert [item["id"] for item in only] == [top_up.pk]
    assert only[0]["reason"] is None and only[0]["actor"] is None  # staff-only details
    today = timezone.now().date()
    tomorrow = today + timedelta(days=2)
    assert (
        len(
            a_owner_api.get(entries(world.customer_a), since=str(today - timedelta(days=1))).json()[
                "items"
            ]
        )
        == 4
    )
    assert a_owner_api.get(entries(world.customer_a), since=str(tomorrow)).json()["items"] == []
    ancient = a_owner_api.get(entries(world.customer_a), since="0001-01-01", until="9999-12-31")
    assert ancient.status_code == 200 and len(ancient.json()["items"]) == 4
    for bad in (
        {"since": "yesterday"},
        {"since": str(tomorrow), "until": str(today)},
        {"kind": "gift"},
        {"cursor": "abc"},
        {"cursor": "9" * 19},
        {"limit": 101},
    ):
        assert a_owner_api.get(entries(world.customer_a), **bad).status_code == 400, bad
    one = a_owner_api.get(f"{entries(world.customer_a)}/{top_up.pk}")
    assert one.status_code == 200 and one.json()["amount"] == "100.00"


def test_the_entry_list_costs_the_same_for_more_entries(world: Any, billing_api: ApiClient) -> None:
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert billing_api.get(entries(world.customer_a)).status_code == 200
        return len(queries)

    post(world, amount="500.00")
    count()  # the key's first use records when it was used
    few = count()
    for n in range(8):
        reversed_one = post(world, kind="charge", amount="1.00", description=f"c{n}")
        if n % 3 == 0:
            actions.reverse_entry(
                reversed_one,
                reason="Mistake",
                idempotency_key=f"rev{n}",
                actor=Actor(world.users["staff_billing"], Source.STAFF),
            )
    assert count() == few


# --- who may see what --------------------------------------------------------------------------


def test_other_customers_find_nothing(world: Any, billing_api: ApiClient) -> None:
    entry = post(world)
    b_api = ApiClient(customer_token(world.users["b_owner"], world.customer_b))
    only_b = ApiClient(staff_token(world.users["staff_billing"], customers=[world.customer_b]))
    one = f"{entries(world.customer_a)}/{entry.pk}"
    for api in (b_api, only_b):
        assert api.get(ledger(world.customer_a)).status_code == 404
        assert api.get(entries(world.customer_a)).status_code == 404
        assert api.get(one).status_code == 404
        posted = api.post(entries(world.customer_a), TOP_UP, headers={"Idempotency-Key": "b"})
        assert posted.status_code == 404
        reversed_ = api.post(f"{one}/reverse", {"reason": "x"}, headers={"Idempotency-Key": "c"})
        assert reversed_.status_code == 404
    # B's entry id through A's URL is not found either.
    entry_b = post(world, world.customer_b)
    assert billing_api.get(f"{entries(world.customer_a)}/{entry_b.pk}").status_code == 404
    for entry_id in ("999999", str(10**30), "0"):
        assert billing_api.get(f"{entries(world.customer_a)}/{entry_id}").status_code == 404
    assert Entry.objects.count() == 2


def test_reading_needs_the_scope(world: Any) -> None:
    reader = ApiClient(customer_token(world.users["a_owner"], world.customer_a, ["customers:read"]))
    assert reader.get(ledger(world.customer_a)).status_code == 403
    assert reader.get(entries(world.customer_a)).status_code == 403
    assert ApiClient(None).get(ledger(world.customer_a)).status_code == 401
