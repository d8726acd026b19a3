"""The ledger's screens (issue 8, Part A item 4): the portal's "Billing & credits" page and
the staff 360's Billing tab — who sees them, the summary, the statement's filters, keyset
pages and CSV, the review → confirm flow with its idempotency key, reversals, the billing
mode switch, refusals that post nothing, and constant queries."""

from __future__ import annotations

import csv
import datetime
import io
import re
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clientdesk.audit.models import Activity
from clientdesk.core.actor import Actor
from clientdesk.customers.models import Customer
from clientdesk.events.models import Event
from clientdesk.ledger import queries
from clientdesk.ledger.actions import post_entry, reverse_entry
from clientdesk.ledger.models import Entry
from tests import factories

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system()
HTMX = {"HTTP_HX_REQUEST": "true"}
UTC = datetime.UTC


# --- helpers -------------------------------------------------------------------------------------


def client_for(user: Any) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def html(response: Any) -> str:
    return str(response.content.decode())


def main(response: Any) -> str:
    """The page's main content (not the sidebar or the header)."""
    return html(response).split('id="main"', 1)[1]


def portal_url(customer: Customer) -> str:
    return reverse("portal:billing", args=[customer.number])


def portal_csv(customer: Customer) -> str:
    return reverse("portal:billing-csv", args=[customer.number])


def tab_url(customer: Customer) -> str:
    return reverse("staff:customer-billing", args=[customer.number])


def staff_csv(customer: Customer) -> str:
    return reverse("staff:customer-billing-csv", args=[customer.number])


def entry_url(customer: Customer) -> str:
    return reverse("staff:customer-billing-entry", args=[customer.number])


def reverse_url(customer: Customer, entry: Entry) -> str:
    return reverse("staff:customer-billing-reverse", args=[customer.number, entry.pk])


def mode_url(customer: Customer) -> str:
    return reverse("staff:customer-billing-mode", args=[customer.number])


_keys = iter(range(1, 10**9))


def post(customer: Customer, kind: str, amount: str, description: str = "", **extra: Any) -> Entry:
    posting = post_entry(
        customer,
        kind=kind,
        amount=amount,
        description=description or f"{kind} {amount}",
        idempotency_key=extra.pop("key", f"test-{next(_keys)}"),
        actor=SYSTEM,
        **extra,
    )
    return posting.entry


def entry_ids(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr id="entry-(\d+)"', page)]


def older_link(page: str) -> str | None:
    match = re.search(r'href="([^"]*before=\d+[^"]*)" rel="next"', page)
    return match.group(1).replace("&amp;", "&") if match else None


def fresh(customer: Customer) -> Customer:
    return Customer.objects.get(pk=customer.pk)


def postpaid(name: str = "Postpaid Trading Sdn Bhd", limit: str = "1000") -> Customer:
    return factories.make_customer(name, billing_mode="postpaid", credit_limit=limit)


def form_key(page: str) -> str:
    match = re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', page)
    assert match, "no idempotency key in the form"
    return match.group(1)


def entry_form(**values: str) -> dict[str, str]:
    data = {
        "kind": "top_up",
        "amount": "250.00",
        "description": "Payment received by bank transfer",
        "external_reference": "MBB-1234",
        "reason": "",
        "direction": "",
        "idempotency_key": "a" * 32,
        "step": "review",
    }
    data.update(values)
    return data


def csv_table(response: Any) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


# --- portal: who sees it --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("a_owner", 200),
        ("a_admin", 200),
        ("a_billing", 200),
        ("a_technical", 403),
        ("a_member", 403),
        ("b_owner", 404),
        ("staff_billing", 404),
    ],
)
def test_portal_billing_page_by_role(world: Any, persona: str, status: int) -> None:
    client = client_for(world.users[persona])
    assert client.get(portal_url(world.customer_a)).status_code == status
    assert client.get(portal_csv(world.customer_a)).status_code == status


def test_not_signed_in_goes_to_sign_in(world: Any) -> None:
    response = Client().get(portal_url(world.customer_a))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_sidebar_link_only_for_roles_that_see_billing(world: Any) -> None:
    home = reverse("portal:customer-home", args=[world.customer_a.number])
    link = f'href="{portal_url(world.customer_a)}"'
    assert link in html(client_for(world.users["a_billing"]).get(home))
    assert link not in html(client_for(world.users["a_member"]).get(home))
    page = html(client_for(world.users["a_owner"]).get(portal_url(world.customer_a)))
    assert re.search(re.escape(link) + r' aria-current="page"', page)


# --- portal: what it shows ------------------------------------------------------------------------


def test_empty_state_when_there_are_no_entries(world: Any) -> None:
    page = main(client_for(world.users["a_owner"]).get(portal_url(world.customer_a)))
    assert "No entries yet" in page
    assert "MYR 0.00" in page
    assert "Settled: no credits and nothing owed." in page
    assert "<table" not in page


def test_prepaid_summary_and_entries_with_debits_marked_in_words(world: Any) -> None:
    customer = world.customer_a
    post(customer, "top_up", "500", "Credit top-up by FPX", external_reference="FPX-1")
    post(customer, "charge", "120.50", "Managed hosting, March")
    page = main(client_for(world.users["a_owner"]).get(portal_url(customer)))
    assert "Credits available" in page
    assert "MYR 379.50" in page
    assert "Prepaid" in page
    assert "Available to spend" in page
    assert "MYR -120.50" in page  # the sign is visible, not only the colour
    assert "Debit" in page and "Credit" in page
    assert "FPX-1" in page
    # newest first
    assert page.index("Managed hosting, March") < page.index("Credit top-up by FPX")


def test_postpaid_summary_shows_debt_limit_and_what_is_left(world: Any) -> None:
    customer = postpaid()
    owner = factories.make_user("owner@postpaid.example")
    factories.make_contact(customer, "owner", user=owner)
    post(customer, "charge", "300", "Hosting on account")
    page = main(client_for(owner).get(portal_url(customer)))
    assert "Postpaid" in page
    assert "Balance (owed)" in page
    assert "MYR -300.00" in page
    assert "You owe MYR 300.00." in page
    assert "Credit limit MYR 1,000.00" in page
    assert re.search(r'data-testid="ledger-available">MYR 700.00<', page)


def test_reversed_entries_and_reversals_are_marked(world: Any) -> None:
    customer = world.customer_a
    post(customer, "top_up", "100")
    charge = post(customer, "charge", "40", "Charged twice")
    reversal = reverse_entry(charge, reason="Duplicate", idempotency_key="r1", actor=SYSTEM).entry
    page = main(client_for(world.users["a_owner"]).get(portal_url(customer)))
    assert f'Reversed by <a href="#entry-{reversal.pk}">#{reversal.pk}</a>' in page
    assert f'Reverses <a href="#entry-{charge.pk}">#{charge.pk}</a>' in page
    assert "MYR 100.00" in page


def test_amounts_and_text_are_escaped(world: Any) -> None:
    customer = world.customer_a
    post(customer, "top_up", "10", "<script>alert(1)</script> Ümlaut 付款")
    page = main(client_for(world.users["a_owner"]).get(portal_url(customer)))
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Ümlaut 付款" in page


# --- portal: filters ------------------------------------------------------------------------------


def test_filter_by_kind(world: Any) -> None:
    customer = world.customer_a
    top_up = post(customer, "top_up", "100")
    charge = post(customer, "charge", "10")
    client = client_for(world.users["a_owner"])
    page = main(client.get(portal_url(customer), {"kind": "charge"}))
    assert entry_ids(page) == [charge.pk]
    page = main(client.get(portal_url(customer), {"kind": "top_up"}))
    assert entry_ids(page) == [top_up.pk]
    page = main(client.get(portal_url(customer), {"kind": "withdrawal"}))
    assert "No entries match these filters" in page


def test_filter_by_dates_in_the_customers_time_zone(world: Any) -> None:
    customer = world.customer_a  # Asia/Kuala_Lumpur, UTC+8
    assert customer.timezone == "Asia/Kuala_Lumpur"
    with time_machine.travel(datetime.datetime(2026, 3, 1, 10, 0, tzinfo=UTC)):
        march_1 = post(customer, "top_up", "100")
    # 17:00 UTC on 1 March is 01:00 on 2 March in Kuala Lumpur.
    with time_machine.travel(datetime.datetime(2026, 3, 1, 17, 0, tzinfo=UTC)):
        march_2 = post(customer, "charge", "10")
    with time_machine.travel(datetime.datetime(2026, 3, 5, 4, 0, tzinfo=UTC)):
        march_5 = post(customer, "charge", "20")
    client = client_for(world.users["a_owner"])
    url = portal_url(customer)
    assert entry_ids(main(client.get(url, {"from": "2026-03-02", "to": "2026-03-02"}))) == [
        march_2.pk
    ]
    assert entry_ids(main(client.get(url, {"to": "2026-03-01"}))) == [march_1.pk]
    assert entry_ids(main(client.get(url, {"from": "2026-03-02"}))) == [march_5.pk, march_2.pk]
    both = {"from": "2026-03-01", "to": "2026-03-05", "kind": "charge"}
    assert entry_ids(main(client.get(url, both))) == [march_5.pk, march_2.pk]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"from": "2026-02-30"}, "Enter a date as YYYY-MM-DD"),
        ({"to": "yesterday"}, "Enter a date as YYYY-MM-DD"),
        ({"from": "0001-01-01"}, "Enter a date between 2000 and 9998"),
        ({"from": "2026-05-01", "to": "2026-04-01"}, "The end date is before the start date."),
        ({"kind": "free_money"}, "Choose a kind of entry from the list."),
        ({"before": "abc"}, "That page link is not valid"),
        ({"before": str(2**70)}, "That page link is not valid"),
        ({"before": "-3"}, "That page link is not valid"),
        ({"from": "٢٠٢٦-٠١-٠١"}, "Enter a date as YYYY-MM-DD"),
        ({"from": "2026-01-01" * 500}, "Enter a date as YYYY-MM-DD"),
    ],
)
def test_bad_filters_get_a_clear_message_not_a_500(
    world: Any, query: dict[str, str], message: str
) -> None:
    customer = world.customer_a
    entry = post(customer, "top_up", "100")
    client = client_for(world.users["a_owner"])
    response = client.get(portal_url(customer), query)
    assert response.status_code == 200
    page = main(response)
    assert "Some filters were ignored" in page
    assert message in page
    assert entry_ids(page) == [entry.pk]  # the bad value is dropped, the rest applies
    assert client.get(portal_csv(customer), query).status_code == 200


# --- portal: keyset pages -------------------------------------------------------------------------


def test_older_entries_page_by_keyset_without_repeats(world: Any) -> None:
    customer = world.customer_a
    ids = [post(customer, "top_up", "1").pk for _ in range(60)]
    client = client_for(world.users["a_owner"])
    seen: list[int] = []
    url: str | None = portal_url(customer)
    pages = 0
    while url:
        page = main(client.get(url))
        seen += entry_ids(page)
        url = older_link(page)
        pages += 1
        if pages > 1:
            assert "Newest entries" in page
    assert pages == 3
    assert seen == sorted(ids, reverse=True)
    assert len(set(seen)) == 60


def test_older_entries_keep_the_filters(world: Any) -> None:
    customer = world.customer_a
    post(customer, "top_up", "1000")
    charges = [post(customer, "charge", "1").pk for _ in range(30)]
    for _ in range(5):
        post(customer, "top_up", "1")
    client = client_for(world.users["a_owner"])
    first = main(client.get(portal_url(customer), {"kind": "charge"}))
    link = older_link(first)
    assert link and "kind=charge" in link
    second = main(client.get(link))
    assert entry_ids(first) + entry_ids(second) == sorted(charges, reverse=True)


def test_htmx_older_entries_answer_with_rows_and_new_links(world: Any) -> None:
    customer = world.customer_a
    ids = [post(customer, "top_up", "1").pk for _ in range(30)]
    client = client_for(world.users["a_owner"])
    first = main(client.get(portal_url(customer)))
    link = older_link(first)
    assert link
    response = client.get(link, **HTMX)
    body = html(response)
    assert "<html" not in body
    assert body.lstrip().startswith("<tr")
    assert entry_ids(body) == sorted(ids, reverse=True)[25:]
    assert 'id="ledger-pages" hx-swap-oob="true"' in body
    assert "Older entries" not in body
    assert "HX-Request" in response["Vary"]


# --- portal: CSV ----------------------------------------------------------------------------------


def test_csv_holds_the_filtered_statement_with_numbers_and_neutralised_text(world: Any) -> None:
    customer = world.customer_a
    top_up = post(
        customer, "top_up", "500", '=HYPERLINK("http://evil")', external_reference="@SUM(1)"
    )
    charge = post(customer, "charge", "120.50", "+cmd|' /C calc'!A0")
    reversal = reverse_entry(charge, reason="Mistake", idempotency_key="r", actor=SYSTEM).entry
    response = client_for(world.users["a_billing"]).get(portal_csv(customer))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    assert customer.client_id in response["Content-Disposition"]
    rows = csv_table(response)
    assert rows[0][:6] == ["Entry", "Date", "Kind", "Description", "Reference", "Amount"]
    assert "Reason" not in rows[0]  # the staff columns stay in the console
    by_id = {row[0]: row for row in rows[1:]}
    assert list(by_id) == [str(reversal.pk), str(charge.pk), str(top_up.pk)]
    assert by_id[str(top_up.pk)][3] == '\'=HYPERLINK("http://evil")'
    assert by_id[str(top_up.pk)][4] == "'@SUM(1)"
    assert by_id[str(charge.pk)][3] == "'+cmd|' /C calc'!A0"
    # amounts stay numbers (a minus sign is not neutralised away)
    assert by_id[str(charge.pk)][5] == "-120.50"
    assert by_id[str(charge.pk)][7] == "379.50"
    assert by_id[str(charge.pk)][9] == str(reversal.pk)
    assert by_id[str(reversal.pk)][8] == str(charge.pk)
    filtered = csv_table(
        client_for(world.users["a_owner"]).get(portal_csv(customer), {"kind": "top_up"})
    )
    assert [row[0] for row in filtered[1:]] == [str(top_up.pk)]


# --- constant queries -----------------------------------------------------------------------------


def _count(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_portal_page_queries_do_not_grow_with_entries(
    world: Any, django_assert_max_num_queries: Any
) -> None:
    customer = world.customer_a
    for _ in range(3):
        post(customer, "top_up", "1")
    charge = post(customer, "charge", "1")
    reverse_entry(charge, reason="x", idempotency_key="rq", actor=SYSTEM)
    client = client_for(world.users["a_owner"])
    url = portal_url(customer)
    client.get(url)
    small = _count(client, url)
    assert small <= 12
    for _ in range(60):
        post(customer, "top_up", "1")
    more = post(customer, "charge", "1")
    reverse_entry(more, reason="x", idempotency_key="rq2", actor=SYSTEM)
    with django_assert_max_num_queries(small):
        client.get(url)


def test_staff_tab_queries_do_not_grow_with_entries(
    world: Any, django_assert_max_num_queries: Any
) -> None:
    customer = world.customer_a
    for _ in range(3):
        post(customer, "top_up", "1")
    client = client_for(world.users["staff_billing"])
    url = tab_url(customer)
    client.get(url)
    small = _count(client, url)
    for _ in range(60):
        post(customer, "top_up", "1")
    charge = post(customer, "charge", "1")
    reverse_entry(charge, reason="x", idempotency_key="rq", actor=SYSTEM)
    with django_assert_max_num_queries(small):
        client.get(url)


# --- staff: the tab -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "persona", ["staff_support", "staff_billing", "staff_manager", "superuser"]
)
def test_every_staff_role_sees_the_tab(world: Any, persona: str) -> None:
    customer = world.customer_a
    post(customer, "top_up", "75", "Top-up by FPX")
    client = client_for(world.users[persona])
    page = main(client.get(tab_url(customer)))
    assert "Top-up by FPX" in page
    assert "MYR 75.00" in page
    assert "Recorded by System" in page
    rows = csv_table(client.get(staff_csv(customer)))
    assert rows[0][-2:] == ["Reason", "Recorded by"]


def test_actions_show_by_group(world: Any) -> None:
    customer = world.customer_a
    post(customer, "top_up", "75")
    support = main(client_for(world.users["staff_support"]).get(tab_url(customer)))
    billing = main(client_for(world.users["staff_billing"]).get(tab_url(customer)))
    manager = main(client_for(world.users["staff_manager"]).get(tab_url(customer)))
    root = main(client_for(world.users["superuser"]).get(tab_url(customer)))
    assert "Record a payment" not in support and "Reverse</a>" not in support
    assert "recorded by the billing team" in support
    assert "Change billing mode" not in support
    assert "Record a payment" in billing and "Reverse</a>" in billing
    assert "Change billing mode" not in billing
    assert "Record a payment" not in manager and "Change billing mode" in manager
    assert "Record a payment" in root and "Change billing mode" in root
    assert len(form_key(billing)) == 32


def test_portal_and_staff_cannot_see_each_others_routes(world: Any) -> None:
    customer = world.customer_a
    assert client_for(world.users["a_owner"]).get(tab_url(customer)).status_code == 404
    assert client_for(world.users["a_owner"]).get(staff_csv(customer)).status_code == 404
    assert client_for(world.users["staff_billing"]).get(tab_url(customer) + "x/").status_code == 404


# --- staff: record an entry -----------------------------------------------------------------------


def test_review_shows_the_signed_amount_and_resulting_balance_and_posts_nothing(world: Any) -> None:
    customer = world.customer_a
    post(customer, "top_up", "100")
    client = client_for(world.users["staff_billing"])
    response = client.post(
        entry_url(customer), entry_form(kind="charge", amount="30.25", description="Setup fee")
    )
    assert response.status_code == 200
    page = main(response)
    assert "Review the entry" in page
    assert 'data-testid="review-amount">MYR -30.25<' in page
    assert "MYR 100.00" in page  # the balance now
    assert 'data-testid="review-balance-after">MYR 69.75<' in page
    assert 'name="idempotency_key" value="' + "a" * 32 + '"' in page
    assert Entry.objects.filter(customer=customer).count() == 1


def test_confirm_posts_once_even_when_sent_twice(world: Any) -> None:
    customer = world.customer_a
    client = client_for(world.users["staff_billing"])
    key = form_key(html(client.get(tab_url(customer))))
    data = entry_form(step="confirm", idempotency_key=key, amount="250")
    first = client.post(entry_url(customer), data, follow=True)
    assert first.status_code == 200
    assert "Recorded: Credit top-up of MYR 250.00" in html(first)
    assert "The balance is now MYR 250.00." in html(first)
    second = client.post(entry_url(customer), data, follow=True)
    assert "Already recorded" in html(second)
    assert "nothing was posted twice" in html(second)
    entries = Entry.objects.filter(customer=customer)
    assert entries.count() == 1
    entry = entries.get()
    assert entry.amount == Decimal("250.00")
    assert entry.idempotency_key == key
    assert entry.actor == world.users["staff_billing"]
    assert entry.external_reference == "MBB-1234"
    assert queries.summary(customer).balance == Decimal("250.00")
    # Activity and the outbox event, once
    activity = Activity.objects.filter(customer=customer, verb="ledger.entry_posted")
    assert activity.count() == 1
    events = Event.objects.filter(customer=customer, type="ledger.entry_posted")
    assert events.count() == 1
    assert events.get().data["amount"] == "250.00"
    assert events.get().data["idempotency_key"] == key


def test_the_same_key_with_another_amount_is_refused_with_a_fresh_form(world: Any) -> None:
    customer = world.customer_a
    client = client_for(world.users["staff_billing"])
    client.post(entry_url(customer), entry_form(step="confirm", idempotency_key="k" * 32))
    response = client.post(
        entry_url(customer), entry_form(step="confirm", idempotency_key="k" * 32, amount="99")
    )
    assert response.status_code == 400
    page = main(response)
    assert "already used to record a different entry" in page
    assert form_key(page) != "k" * 32
    assert Entry.objects.filter(customer=customer).count() == 1


@pytest.mark.parametrize("key", ["", " ", "x" * 101, "tab\tkey"])
def test_confirm_without_a_usable_key_posts_nothing(world: Any, key: str) -> None:
    customer = world.customer_a
    client = client_for(world.users["staff_billing"])
    response = client.post(
        entry_url(customer), entry_form(step="confirm", idempotency_key=key, amount="abc")
    )
    assert response.status_code == 400
    page = main(response)
    assert "This form has expired. Review the entry again, then confirm." in page
    assert "plain number" in page  # the other problems are still shown
    assert len(form_key(page)) == 32
    assert not Entry.objects.filter(customer=customer).exists()


def test_edit_goes_back_to_the_form_with_the_values_and_the_key(world: Any) -> None:
    customer = world.customer_a
    client = client_for(world.users["staff_billing"])
    response = client.post(
        entry_url(customer),
        entry_form(step="edit", description="Payment for INV-77", idempotency_key="e" * 32),
    )
    assert response.status_code == 200
    page = main(response)
    assert 'value="Payment for INV-77"' in page
    assert form_key(page) == "e" * 32
    assert '<details class="card ledger-action" id="record-entry" open>' in page
    assert "Please correct" not in page
    assert not Entry.objects.filter(customer=customer).exists()


@pytest.mark.parametrize("step", ["review", "confirm"])
def test_a_charge_over_the_prepaid_balance_is_refused_and_posts_nothing(
    world: Any, step: str
) -> None:
    customer = world.customer_a
    post(customer, "top_up", "100")
    client = client_for(world.users["staff_billing"])
    response = client.post(entry_url(customer), entry_form(step=step, kind="charge", amount="150"))
    assert response.status_code == 400
    page = main(response)
    assert "Not enough credits: MYR 100.00 available, MYR 150.00 asked." in page
    assert 'id="id_amount_error"' in page  # next to the field
    assert '<details class="card ledger-action" id="record-entry" open>' in page
    assert Entry.objects.filter(customer=customer).count() == 1
    assert (
        not Event.objects.filter(customer=customer, type="ledger.entry_posted")
        .exclude(data__amount="100.00")
        .exists()
    )


def test_a_postpaid_charge_over_the_limit_is_refused(world: Any) -> None:
    customer = postpaid(limit="500")
    client = client_for(world.users["staff_billing"])
    response = client.post(
        entry_url(customer), entry_form(step="confirm", kind="charge", amount="500.01")
    )
    assert response.status_code == 400
    assert "Over the credit limit of MYR 500.00" in main(response)
    assert not Entry.objects.filter(customer=customer).exists()
    ok = client.post(entry_url(customer), entry_form(step="confirm", kind="charge", amount="500"))
    assert ok.status_code == 302
    assert queries.summary(customer).balance == Decimal("-500.00")


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"amount": "abc"}, "amount", "plain number"),
        ({"amount": "1e309"}, "amount", "plain number"),
        ({"amount": "NaN"}, "amount", "plain number"),
        ({"amount": "-5"}, "amount", "positive amount"),
        ({"amount": "0"}, "amount", "cannot be zero"),
        ({"amount": "1.001"}, "amount", "at most 2 decimals"),
        ({"amount": "9" * 39}, "amount", "plain number"),
        ({"amount": ""}, "amount", "Enter an amount"),
        ({"description": ""}, "description", "Describe the entry"),
        ({"description": "Ü" * 301}, "description", "Keep this under 300"),
        ({"kind": "reversal"}, "kind", "Choose a kind of entry from the list."),
        ({"kind": ""}, "kind", "Choose the kind of entry."),
        ({"kind": "adjustment", "reason": "x"}, "direction", "credits or debits"),
        (
            {"kind": "adjustment", "direction": "credit", "reason": ""},
            "reason",
            "An adjustment needs a reason.",
        ),
        (
            {"kind": "adjustment", "direction": "sideways", "reason": "x"},
            "direction",
            "credit or debit",
        ),
        ({"kind": "withdrawal"}, "amount", "Only MYR 0.00 in credits can be withdrawn."),
        ({"kind": "debt_payment"}, "kind", "There is no debt to pay"),
        ({"description": "bad\x00byte"}, "description", "Null characters are not allowed."),
    ],
)
@pytest.mark.parametrize("step", ["review", "confirm"])
def test_bad_input_shows_the_message_next_to_the_field_and_posts_nothing(
    world: Any, values: dict[str, str], field: str, message: str, step: str
) -> None:
    customer = world.customer_a
    client = client_for(world.users["staff_billing"])
    response = client.post(entry_url(customer), entry_form(step=step, **values))
    assert response.status_code == 400
    page = main(response)
    assert message in page
    assert f'id="id_{field}_error"' in page
    assert not Entry.objects.filter(customer=customer).exists()


def test_an_adjustment_with_reason_posts_in_its_direction(world: Any) -> None:
    customer = world.customer_a
    post(customer, "top_up", "100")
    client = client_for(world.users["superuser"])
    data = entry_form(
        step="confirm",
        kind="adjustment",
        direction="debit",
        amount="12.34",
        description="Late fee",
        reason="Agreed with the client",
    )
    assert client.post(entry_url(customer), data).status_code == 302
    entry = Entry.objects.filter(customer=customer).first()
    assert entry is not None
    assert entry.kind == "adjustment" and entry.amount == Decimal("-12.34")
    assert entry.reason == "Agreed with the client"
    page = main(client.get(tab_url(customer)))
    assert "Agreed with the client" in page


@pytest.mark.parametrize("persona", ["staff_support", "staff_manager", "a_owner"])
def test_others_cannot_post_a_forged_entry(world: Any, persona: str) -> None:
    customer = world.customer_a
    entry = post(customer, "top_up", "100")
    client = client_for(world.users[persona])
    expected = 404 if persona.startswith("a_") else 403
    response = client.post(entry_url(customer), entry_form(step="confirm"))
    assert response.status_code == expected
    response = client.post(reverse_url(customer, entry), {"reason": "x", "idempotency_key": "z"})
    assert response.status_code == expected
    assert client.get(reverse_url(customer, entry)).status_code == expected
    assert Entry.objects.filter(customer=customer).count() == 1


# --- staff: reverse -------------------------------------------------------------------------------


def test_reverse_flow(world: Any) -> None:
    customer = world.customer_a
    post(customer, "top_up", "100")
    charge = post(customer, "charge", "40", "Charged twice")
    client = client_for(world.users["staff_billing"])
    tab = main(client.get(tab_url(customer)))
    assert f'href="{reverse_url(customer, charge)}"' in tab
    page = main(client.get(reverse_url(customer, charge)))
    assert "Reverse entry #" in page
    assert 'data-testid="review-balance-after">MYR 100.00<' in page
    key = form_key(page)
    refused = client.post(reverse_url(customer, charge), {"reason": "", "idempotency_key": key})
    assert refused.status_code == 400
    assert "Say why the entry is reversed." in main(refused)
    assert Entry.objects.filter(customer=customer).count() == 2
    done = client.post(
        reverse_url(customer, charge),
        {"reason": "Duplicate charge", "idempotency_key": key},
        follow=True,
    )
    reversal = Entry.objects.get(reverses=charge)
    assert f"Entry #{charge.pk} was reversed by entry #{reversal.pk}" in html(done)
    assert reversal.reason == "Duplicate charge"
    assert reversal.amount == Decimal("40.00")
    again = client.post(
        reverse_url(customer, charge),
        {"reason": "Duplicate charge", "idempotency_key": key},
        follow=True,
    )
    assert "Already recorded" in html(again)
    assert Entry.objects.filter(customer=customer).count() == 3
    tab = main(client.get(tab_url(customer)))
    assert f'href="{reverse_url(customer, charge)}"' not in tab
    assert f'href="{reverse_url(customer, reversal)}"' not in tab
    # already reversed, a reversal: the page says so, and a forged POST is refused
    assert "has already been reversed" in main(client.get(reverse_url(customer, charge)))
    assert "A reversal is not reversed" in main(client.get(reverse_url(customer, reversal)))
    forged = client.post(
        reverse_url(customer, charge), {"reason": "again", "idempotency_key": "new-key"}
    )
    assert forged.status_code == 400
    assert "has already been reversed" in main(forged)
    assert Entry.objects.filter(customer=customer).count() == 3


def test_reversing_a_spent_top_up_is_refused(world: Any) -> None:
    customer = world.customer_a
    top_up = post(customer, "top_up", "100")
    post(customer, "charge", "80")
    client = client_for(world.users["staff_billing"])
    response = client.post(
        reverse_url(customer, top_up), {"reason": "Bounced payment", "idempotency_key": "rk"}
    )
    assert response.status_code == 400
    assert "Not enough credits" in main(response)
    assert not Entry.objects.filter(reverses=top_up).exists()


def test_another_customers_entry_is_not_found(world: Any) -> None:
    other = post(world.customer_b, "top_up", "100")
    client = client_for(world.users["staff_billing"])
    assert client.get(reverse_url(world.customer_a, other)).status_code == 404
    response = client.post(
        reverse_url(world.customer_a, other), {"reason": "x", "idempotency_key": "k"}
    )
    assert response.status_code == 404
    too_big = f"/staff/customers/{world.customer_a.number}/billing/entries/{2**63}/reverse/"
    assert client.get(too_big).status_code == 404
    assert not Entry.objects.filter(reverses=other).exists()


# --- staff: billing mode --------------------------------------------------------------------------


def test_manager_switches_to_postpaid_with_a_limit(world: Any) -> None:
    customer = world.customer_a
    client = client_for(world.users["staff_manager"])
    response = client.post(
        mode_url(customer),
        {"billing_mode": "postpaid", "credit_limit": "2500", "reason": "Signed a contract"},
        follow=True,
    )
    assert "Billing mode changed: Postpaid, credit limit MYR 2,500.00." in html(response)
    customer = fresh(customer)
    assert customer.billing_mode == "postpaid"
    assert customer.credit_limit == Decimal("2500.00")
    assert Activity.objects.filter(customer=customer, verb="customer.billing_mode_changed").exists()


def test_mode_change_needs_a_reason_and_refuses_prepaid_while_in_debt(world: Any) -> None:
    customer = postpaid(limit="500")
    post(customer, "charge", "120")
    client = client_for(world.users["staff_manager"])
    missing = client.post(mode_url(customer), {"billing_mode": "postpaid", "credit_limit": "600"})
    assert missing.status_code == 400
    assert "Say why the billing mode or limit changes." in main(missing)
    refused = client.post(
        mode_url(customer), {"billing_mode": "prepaid", "credit_limit": "", "reason": "Asked"}
    )
    assert refused.status_code == 400
    page = main(refused)
    assert "The account owes MYR 120.00; it can become prepaid once the debt is paid." in page
    assert 'id="id_billing_mode_error"' in page
    assert '<details class="card ledger-action" id="billing-mode" open>' in page
    customer = fresh(customer)
    assert customer.billing_mode == "postpaid"
    assert customer.credit_limit == Decimal("500.00")
    bad = client.post(
        mode_url(customer), {"billing_mode": "barter", "credit_limit": "1e309", "reason": "x"}
    )
    assert bad.status_code == 400
    assert "Choose prepaid or postpaid." in main(bad)


@pytest.mark.parametrize("persona", ["staff_support", "staff_billing"])
def test_only_managers_change_the_mode(world: Any, persona: str) -> None:
    customer = world.customer_a
    response = client_for(world.users[persona]).post(
        mode_url(customer), {"billing_mode": "postpaid", "credit_limit": "1", "reason": "x"}
    )
    assert response.status_code == 403
    assert fresh(customer).billing_mode == "prepaid"


# --- demo -----------------------------------------------------------------------------------------


def test_demo_ledgers_load_once_and_cover_the_cases() -> None:
    from django.core.management import call_command

    from clientdesk.demo.ledger_demo import load_demo_ledgers

    call_command("seed_demo")  # loads the demo ledgers
    count = Entry.objects.count()
    assert count > 0
    second = load_demo_ledgers()
    assert second.problems == []
    assert second.posted == 0 and second.already == count
    assert Entry.objects.count() == count
    assert queries.reconcile() == []

    def summary(legal_name: str) -> queries.Summary:
        return queries.summary(Customer.objects.get(legal_name=legal_name))

    maju = summary("Maju Digital Sdn. Bhd.")
    assert maju.is_prepaid and maju.balance > 0
    teratai = summary("Teratai Hospitality Sdn. Bhd.")
    assert not teratai.is_prepaid and teratai.balance < 0
    assert teratai.credit_limit == Decimal("5000.00")
    assert summary("Harbourline Logistics Pte. Ltd.").balance == 0
    assert Entry.objects.filter(kind="reversal").count() == 1
