"""Change requests in the staff console (issue 7, part A item 4): the queue with its filters,
counts and keyset pages; one request compared with the account as it is now, the conflict
banner, the conversation and the decision forms; the customer 360's tab and header count; the
nav count; constant queries."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clientdesk.change_requests import actions, queries
from clientdesk.change_requests.models import ChangeRequest, Message, Status
from clientdesk.core.actor import Actor, Source
from clientdesk.customers.actions import update_profile_section
from clientdesk.customers.models import Customer
from clientdesk.customers.sections import section_etag
from clientdesk.events.models import Event
from tests import factories

pytestmark = pytest.mark.django_db

NEW_LEGAL = {
    "legal_name": "Alpha Trading Berhad",
    "legal_line1": "Level 5, Menara Alpha",
    "legal_city": "Kuala Lumpur",
    "legal_postcode": "50250",
    "legal_state": "Wilayah Persekutuan Kuala Lumpur",
}
NEW_BILLING = {
    "billing_follows_legal": False,
    "billing_name": "Alpha Billing",
    "billing_line1": "PO Box 1234",
    "billing_city": "Shah Alam",
    "billing_postcode": "40000",
    "billing_state": "Selangor",
    "billing_country": "MY",
}
QUEUE = reverse("staff:change-requests")


# --- helpers ---------------------------------------------------------------------------------


def client_for(user: Any) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def html(response: Any) -> str:
    return str(response.content.decode())


def portal(world: Any, persona: str = "a_owner") -> Actor:
    return Actor(world.users[persona], Source.PORTAL)


def staff(world: Any, persona: str = "staff_manager") -> Actor:
    return Actor(world.users[persona], Source.STAFF)


def fresh(customer: Customer) -> Customer:
    return Customer.objects.get(pk=customer.pk)


def legal_request(world: Any, values: dict[str, Any] | None = None, **kw: Any) -> ChangeRequest:
    customer = kw.pop("customer", None) or world.customer_a
    result = actions.save_section(
        customer,
        section="legal",
        values=values or NEW_LEGAL,
        actor=kw.pop("actor", None) or portal(world),
        **kw,
    )
    assert result.request is not None
    return result.request


def billing_request(world: Any) -> ChangeRequest:
    result = actions.save_section(
        world.customer_a, section="billing", values=NEW_BILLING, actor=portal(world)
    )
    assert result.request is not None
    return result.request


def give_legal_address(customer: Customer, world: Any) -> None:
    update_profile_section(
        customer,
        section="legal",
        values={k: v for k, v in NEW_LEGAL.items() if k != "legal_name"},
        actor=staff(world, "superuser"),
        reason="Onboarding",
    )


def detail(cr: ChangeRequest, suffix: str = "") -> str:
    name = f"staff:change-request{suffix}"
    return reverse(name, args=[cr.number])


def age(cr: ChangeRequest, days: float) -> None:
    ChangeRequest.objects.filter(pk=cr.pk).update(created_at=timezone.now() - timedelta(days=days))


def references(page: str) -> list[str]:
    """The references in the queue's table, in order."""
    table = page.split("<tbody>")[1].split("</tbody>")[0] if "<tbody>" in page else ""
    return re.findall(r">(CR-\d{6})</a></th>", table)


def bulk_requests(n: int, *, kinds: tuple[str, ...] = ("legal", "billing", "business")) -> None:
    """``n`` open requests on new customers (rows as the action would leave them)."""
    made = 0
    while made < n:
        customer = factories.make_customer()
        for kind in kinds:
            if made == n:
                break
            number = 10_000 + ChangeRequest.objects.count()
            ChangeRequest.objects.create(
                number=number,
                customer=customer,
                kind=kind,
                requested={"legal_name": f"Name {number}"} if kind == "legal" else {},
                snapshot={},
                submitted_by_label="Someone",
                submitted_source="portal",
            )
            made += 1


# --- the queue ---------------------------------------------------------------------------------


def test_the_queue_lists_open_requests_oldest_first_with_every_column(world: Any) -> None:
    first = legal_request(world)
    second = billing_request(world)
    other = legal_request(world, customer=world.customer_b, actor=portal(world, "b_owner"))
    age(first, 2)
    response = client_for(world.users["staff_billing"]).get(QUEUE)
    assert response.status_code == 200
    page = html(response)
    assert references(page) == [first.reference, second.reference, other.reference]
    row = page.split(f'id="cr-{first.number}"')[1].split("</tr>")[0]
    assert f'href="{detail(first)}"' in row
    assert f'href="{reverse("staff:customer", args=[world.customer_a.number])}"' in row
    assert "Alpha Trading Sdn Bhd" in row and world.customer_a.client_id in row
    assert "Legal identity" in row
    assert "a owner" in row  # requested by
    assert "2\xa0days" in row  # age
    assert "badge-info" in row and ">Open<" in row


def test_status_tabs_show_the_counts_per_status(world: Any) -> None:
    first = legal_request(world)
    billing_request(world)
    decided = legal_request(world, customer=world.customer_b, actor=portal(world, "b_owner"))
    actions.reject_change_request(decided, reason="No proof.", actor=staff(world))
    actions.comment_on_change_request(first, body="Which office?", actor=staff(world))
    page = html(client_for(world.users["staff_support"]).get(QUEUE))
    tabs = page.split('aria-label="Requests by status"')[1].split("</nav>")[0]
    counts = dict(re.findall(r">([A-Z][a-z ]+) <span class=\"tab-count\">(\d+)</span>", tabs))
    assert counts == {
        "Open": "2",  # open + awaiting customer
        "Awaiting customer": "1",
        "Approved": "0",
        "Partly approved": "0",
        "Rejected": "1",
        "Cancelled": "0",
        "All": "3",
    }
    assert re.search(r'aria-current="page">Open <span', tabs)
    rejected = html(client_for(world.users["staff_support"]).get(QUEUE + "?status=rejected"))
    assert references(rejected) == [decided.reference]


def test_the_open_tab_includes_requests_awaiting_the_customer(world: Any) -> None:
    first = legal_request(world)
    second = billing_request(world)
    actions.comment_on_change_request(first, body="Which office?", actor=staff(world))
    page = html(client_for(world.users["staff_support"]).get(QUEUE))
    assert references(page) == [first.reference, second.reference]
    awaiting = html(
        client_for(world.users["staff_support"]).get(QUEUE + "?status=awaiting_customer")
    )
    assert references(awaiting) == [first.reference]


def test_filters_by_kind_age_and_customer(world: Any) -> None:
    legal = legal_request(world)
    billing = billing_request(world)
    other = legal_request(world, customer=world.customer_b, actor=portal(world, "b_owner"))
    age(legal, 4)
    age(other, 10)
    client = client_for(world.users["staff_manager"])
    assert references(html(client.get(QUEUE + "?kind=legal"))) == [
        legal.reference,
        other.reference,
    ]
    assert references(html(client.get(QUEUE + "?age=3"))) == [legal.reference, other.reference]
    assert references(html(client.get(QUEUE + "?age=7"))) == [other.reference]
    assert references(html(client.get(QUEUE + "?age=14"))) == []
    for given in (
        world.customer_a.client_id,
        str(world.customer_a.number),
        "c-" + str(world.customer_a.number),
    ):
        page = html(client.get(QUEUE, {"customer": given}))
        assert references(page) == [legal.reference, billing.reference], given
        assert "Requests of" in page
    page = html(client.get(QUEUE, {"customer": world.customer_b.client_id, "kind": "billing"}))
    assert references(page) == []
    assert "No request matches these filters" in page


def test_a_client_id_that_names_nobody_shows_nothing_and_says_why(world: Any) -> None:
    legal_request(world)
    for given in ("C-999999", "nonsense", "²³", "x" * 500):
        response = client_for(world.users["staff_support"]).get(QUEUE, {"customer": given})
        assert response.status_code == 200
        page = html(response)
        assert references(page) == []
        assert "No customer has that client ID" in page


def test_unknown_filter_values_are_ignored(world: Any) -> None:
    cr = legal_request(world)
    client = client_for(world.users["staff_support"])
    response = client.get(
        QUEUE, {"status": "bogus", "kind": "<script>", "age": "999", "after": "-4"}
    )
    assert response.status_code == 200
    page = html(response)
    assert references(page) == [cr.reference]
    assert "Some filters were ignored" in page
    assert "Unknown values for: Status, What, Age, Page." in page
    assert "<script>" not in page


def test_keyset_pages_follow_the_next_link(world: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(queries, "QUEUE_PAGE", 2)
    made = [legal_request(world), billing_request(world)]
    made.append(legal_request(world, customer=world.customer_b, actor=portal(world, "b_owner")))
    client = client_for(world.users["staff_support"])
    page = html(client.get(QUEUE + "?kind="))
    assert references(page) == [made[0].reference, made[1].reference]
    next_url = re.search(r'href="([^"]+)" rel="next"', page)
    assert next_url is not None
    second = html(client.get(next_url.group(1).replace("&amp;", "&")))
    assert references(second) == [made[2].reference]
    assert 'rel="next"' not in second
    assert "First page" in second


def test_the_queue_costs_the_same_queries_for_5_or_50_requests(
    world: Any, django_assert_num_queries: Any
) -> None:
    bulk_requests(5)
    client = client_for(world.users["staff_support"])
    client.get(QUEUE)  # warm caches (content types, sessions)
    with CaptureQueriesContext(connection) as small:
        page = html(client.get(QUEUE))
    assert len(references(page)) == 5
    bulk_requests(45)
    with django_assert_num_queries(len(small)):
        page = html(client.get(QUEUE))
    assert len(references(page)) == 50


def test_the_staff_nav_shows_the_number_of_open_requests(world: Any) -> None:
    first = legal_request(world)
    billing_request(world)
    actions.comment_on_change_request(first, body="?", actor=staff(world))
    page = html(client_for(world.users["staff_billing"]).get(QUEUE))
    nav = page.split('aria-label="Staff console"')[1].split("</nav>")[0]
    link = re.search(r'<a href="/staff/requests/"[^>]*>(.*?)</a>', nav, re.S)
    assert link is not None
    assert 'aria-current="page"' in nav.split("/staff/requests/")[1][:40]
    assert re.search(r'class="tab-count nav-count">2<span class="sr-only"> open', link.group(1))
    # The detail page and the 360's tab count the same.
    for url in (
        detail(first),
        reverse("staff:customer-change-requests", args=[world.customer_a.number]),
    ):
        assert 'nav-count">2<' in html(client_for(world.users["staff_billing"]).get(url)), url


def test_customers_and_anonymous_never_see_the_queue(world: Any) -> None:
    cr = legal_request(world)
    for persona in ("a_owner", "a_admin", "b_owner"):
        client = client_for(world.users[persona])
        assert client.get(QUEUE).status_code == 404
        assert client.get(detail(cr)).status_code == 404
        assert client.post(detail(cr, "-approve")).status_code == 404
    assert Client().get(detail(cr)).status_code == 302


# --- one request -----------------------------------------------------------------------------


def test_detail_shows_requested_against_the_current_values(world: Any) -> None:
    cr = legal_request(world, note="We moved offices.\nNew SSM form attached.")
    response = client_for(world.users["staff_support"]).get(detail(cr))
    assert response.status_code == 200
    page = html(response)
    assert cr.reference in page and "Legal identity" in page
    row = page.split('id="field-legal_name"')[1].split("</tr>")[0]
    assert "Alpha Trading Sdn Bhd" in row  # now
    assert "Alpha Trading Berhad" in row  # requested
    state = page.split('id="field-legal_state"')[1].split("</tr>")[0]
    assert "Wilayah Persekutuan Kuala Lumpur" in state  # the stored code in words
    country = page.split('id="field-country"')[1].split("</tr>")[0]
    assert "Not part of the request" in country
    assert "We moved offices.<br>New SSM form attached." in page
    assert 'id="conflict"' not in page and "When sent" not in page


def test_detail_shows_the_current_values_not_only_the_snapshot(world: Any) -> None:
    give_legal_address(world.customer_a, world)
    cr = legal_request(world, {"legal_name": "Alpha Trading Berhad"})
    update_profile_section(
        world.customer_a,
        section="legal",
        values={"legal_city": "Johor Bahru"},
        actor=staff(world, "superuser"),
        reason="Phone call",
    )
    page = html(client_for(world.users["staff_manager"]).get(detail(cr)))
    banner = page.split('id="conflict"')[1].split("</div>\n</div>")[0]
    assert "The account changed after this request was sent" in banner
    assert "Registered city" in banner
    city = page.split('id="field-legal_city"')[1].split("</tr>")[0]
    assert "Johor Bahru" in city  # now
    assert "Changed since sent" in city
    assert 'data-label="When sent"' in city
    # The approve form confirms against the values the page shows.
    etag = section_etag(fresh(world.customer_a), "legal")
    assert f'name="reviewed_etag" value="{etag}"' in page


def test_approving_after_a_conflict_confirms_the_current_values(world: Any) -> None:
    give_legal_address(world.customer_a, world)
    cr = legal_request(world, {"legal_name": "Alpha Trading Berhad"})
    old_etag = section_etag(fresh(world.customer_a), "legal")
    update_profile_section(
        world.customer_a,
        section="legal",
        values={"legal_city": "Johor Bahru"},
        actor=staff(world, "superuser"),
        reason="Phone call",
    )
    client = client_for(world.users["staff_manager"])
    # An approval confirmed against the values as they were is refused, with the reason.
    response = client.post(
        detail(cr, "-approve"), {"apply": ["legal_name"], "reviewed_etag": old_etag}
    )
    assert response.status_code == 409
    page = html(response)
    assert "Nothing changed" in page and "changed after this request was sent" in page
    assert fresh(world.customer_a).legal_name == "Alpha Trading Sdn Bhd"
    new_etag = section_etag(fresh(world.customer_a), "legal")
    assert f'name="reviewed_etag" value="{new_etag}"' in page  # ready to confirm again
    response = client.post(
        detail(cr, "-approve"), {"apply": ["legal_name"], "reviewed_etag": new_etag}
    )
    assert response.status_code == 302
    customer = fresh(world.customer_a)
    assert customer.legal_name == "Alpha Trading Berhad"
    assert customer.legal_city == "Johor Bahru"


def test_approve_all_through_the_page(world: Any) -> None:
    cr = legal_request(world)
    client = client_for(world.users["staff_manager"])
    page = html(client.get(detail(cr)))
    form = page.split(f'action="{detail(cr, "-approve")}"')[1].split("</form>")[0]
    boxes = re.findall(r'<input type="checkbox" name="apply" value="(\w+)"[^>]*checked', form)
    assert sorted(boxes) == sorted(cr.requested)  # every requested field ticked
    etag = re.search(r'name="reviewed_etag" value="(\w+)"', form)
    assert etag is not None
    response = client.post(
        detail(cr, "-approve"), {"apply": boxes, "reviewed_etag": etag.group(1)}, follow=True
    )
    assert response.redirect_chain[-1][0] == detail(cr)
    page = html(response)
    assert "approved: the changes are live" in page
    customer = fresh(world.customer_a)
    assert customer.legal_name == "Alpha Trading Berhad" and customer.legal_state == "MY-14"
    cr.refresh_from_db()
    assert cr.status == Status.APPROVED
    decision = page.split('id="decision-heading"')[1].split("</section>")[0]
    assert "Approved" in decision and str(world.users["staff_manager"]) in decision
    assert "Legal name" in decision
    assert f'action="{detail(cr, "-approve")}"' not in page  # decided: no forms
    assert "Before the request" in page and "Changed since sent" not in page  # history
    # A double submit changes nothing more and says so.
    response = client.post(detail(cr, "-approve"), {"apply": boxes}, follow=True)
    assert "was already approved" in html(response)
    assert Event.objects.filter(type="change_request.approved").count() == 1
    assert Event.objects.filter(type="customer.updated").count() == 1


def test_partial_approval_needs_a_reason(world: Any) -> None:
    give_legal_address(world.customer_a, world)
    cr = legal_request(world, {"legal_name": "Alpha Trading Berhad", "legal_line1": "Lot 9"})
    client = client_for(world.users["staff_manager"])
    response = client.post(detail(cr, "-approve"), {"apply": ["legal_name"]})
    assert response.status_code == 400
    page = html(response)
    reason = page.split('id="id_reason_error"')[1].split("</div>")[0]
    assert "Say why the fields you leave out are rejected" in reason
    assert re.search(r'value="legal_name"[^>]*checked', page)  # the choice is kept
    assert not re.search(r'value="legal_line1"[^>]*checked', page)
    assert fresh(world.customer_a).legal_name == "Alpha Trading Sdn Bhd"
    response = client.post(
        detail(cr, "-approve"),
        {"apply": ["legal_name"], "reason": "Address not proven yet."},
        follow=True,
    )
    assert "partly approved" in html(response)
    customer = fresh(world.customer_a)
    assert customer.legal_name == "Alpha Trading Berhad"
    assert customer.legal_line1 == "Level 5, Menara Alpha"
    cr.refresh_from_db()
    assert cr.status == Status.PARTLY_APPROVED
    decision = html(response).split('id="decision-heading"')[1].split("</section>")[0]
    assert "Address not proven yet." in decision and "Registered address line 1" in decision


def test_approving_nothing_or_a_forged_field_is_refused(world: Any) -> None:
    cr = legal_request(world)
    client = client_for(world.users["staff_manager"])
    for data in ({}, {"apply": ["credit_limit"]}, {"apply": ["legal_name"] * 3 + ["x" * 5000]}):
        response = client.post(detail(cr, "-approve"), data)
        assert response.status_code == 400, data
        assert "Approve" in html(response)
    cr.refresh_from_db()
    assert cr.status == Status.OPEN
    assert fresh(world.customer_a).legal_name == "Alpha Trading Sdn Bhd"


def test_reject_needs_a_reason(world: Any) -> None:
    cr = legal_request(world)
    client = client_for(world.users["staff_manager"])
    response = client.post(detail(cr, "-reject"), {"reason": "   "})
    assert response.status_code == 400
    assert "Say why the request is rejected." in html(response)
    cr.refresh_from_db()
    assert cr.status == Status.OPEN
    response = client.post(
        detail(cr, "-reject"), {"reason": "The SSM record <b>differs</b>."}, follow=True
    )
    page = html(response)
    assert "rejected. The customer has been emailed the reason." in page
    assert "The SSM record &lt;b&gt;differs&lt;/b&gt;." in page
    cr.refresh_from_db()
    assert cr.status == Status.REJECTED
    assert fresh(world.customer_a).legal_name == "Alpha Trading Sdn Bhd"
    # Approving a rejected request: the action's message, not a 500.
    response = client.post(detail(cr, "-approve"), {"apply": ["legal_name"]})
    assert response.status_code == 409
    assert "is rejected; it cannot be approved" in html(response)


@pytest.mark.parametrize("persona", ["staff_support", "staff_billing"])
def test_only_managers_approve_or_reject(world: Any, persona: str) -> None:
    cr = legal_request(world)
    client = client_for(world.users[persona])
    page = html(client.get(detail(cr)))
    assert detail(cr, "-approve") not in page and detail(cr, "-reject") not in page
    assert "Only managers approve or reject change requests." in page
    assert detail(cr, "-comment") in page  # they may write
    for suffix, data in (
        ("-approve", {"apply": list(cr.requested)}),
        ("-reject", {"reason": "No"}),
    ):
        response = client.post(detail(cr, suffix), data)
        assert response.status_code == 403
        assert "Only managers decide change requests." in html(response)
    cr.refresh_from_db()
    assert cr.status == Status.OPEN
    assert fresh(world.customer_a).legal_name == "Alpha Trading Sdn Bhd"


def test_a_staff_raised_request_waits_for_another_manager(world: Any) -> None:
    give_legal_address(world.customer_a, world)
    cr = actions.submit_change_request(
        world.customer_a, kind="legal", values={"legal_city": "Ipoh"}, actor=staff(world)
    )
    client = client_for(world.users["staff_manager"])
    page = html(client.get(detail(cr)))
    assert detail(cr, "-approve") not in page
    assert "another manager must approve it" in page
    assert detail(cr, "-reject") in page
    response = client.post(detail(cr, "-approve"), {"apply": ["legal_city"]})
    assert response.status_code == 403
    assert fresh(world.customer_a).legal_city == "Kuala Lumpur"
    other = client_for(world.users["superuser"])
    assert detail(cr, "-approve") in html(other.get(detail(cr)))


def test_a_staff_question_waits_for_the_customer(world: Any) -> None:
    cr = legal_request(world)
    client = client_for(world.users["staff_billing"])
    page = html(client.get(detail(cr)))
    form = page.split(f'action="{detail(cr, "-comment")}"')[1].split("</form>")[0]
    assert re.search(r'name="awaiting_reply"[^>]*checked', form)  # on by default
    assert "Wait for the customer&#x27;s reply" in form or "Wait for the customer's reply" in form
    response = client.post(
        detail(cr, "-comment"),
        {"body": "Please send <script>alert(1)</script>\nthe SSM form.", "awaiting_reply": "on"},
        follow=True,
    )
    page = html(response)
    assert "waits for the customer" in page
    cr.refresh_from_db()
    assert cr.status == Status.AWAITING_CUSTOMER
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<br>the SSM form." in page
    assert "<script>alert(1)" not in page
    assert "Awaiting customer" in page


def test_a_note_without_waiting_keeps_the_request_open(world: Any) -> None:
    cr = legal_request(world)
    client = client_for(world.users["staff_support"])
    client.post(detail(cr, "-comment"), {"body": "Checked with SSM: fine."})
    cr.refresh_from_db()
    assert cr.status == Status.OPEN
    assert Message.objects.filter(change_request=cr, from_staff=True).count() == 1
    response = client.post(detail(cr, "-comment"), {"body": "   "})
    assert response.status_code == 400
    assert "Write a message." in html(response)
    response = client.post(detail(cr, "-comment"), {"body": "x" * 6000})
    assert response.status_code == 400
    assert Message.objects.filter(change_request=cr).count() == 1


def test_support_and_managers_cancel_billing_may_not(world: Any) -> None:
    cr = legal_request(world)
    assert client_for(world.users["staff_billing"]).post(detail(cr, "-cancel")).status_code == 403
    assert detail(cr, "-cancel") not in html(
        client_for(world.users["staff_billing"]).get(detail(cr))
    )
    client = client_for(world.users["staff_support"])
    response = client.post(detail(cr, "-cancel"), follow=True)
    page = html(response)
    assert "cancelled. The customer has been emailed." in page
    cr.refresh_from_db()
    assert cr.status == Status.CANCELLED
    decision = page.split('id="decision-heading"')[1].split("</section>")[0]
    assert "Cancelled" in decision and str(world.users["staff_support"]) in decision
    again = client.post(detail(cr, "-cancel"), follow=True)
    assert "was already cancelled" in html(again)
    assert Event.objects.filter(type="change_request.cancelled").count() == 1
    response = client.post(detail(cr, "-comment"), {"body": "Hello?"})
    assert response.status_code == 409


def test_a_primary_email_request_links_to_the_email_change_procedure(world: Any) -> None:
    cr = actions.submit_change_request(
        world.customer_a,
        kind="primary_email",
        values={"primary_email": "owner.new@alpha.example"},
        actor=portal(world),
        note="New domain",
    )
    page = html(client_for(world.users["staff_manager"]).get(detail(cr)))
    assert detail(cr, "-approve") not in page
    wizard = reverse("staff:customer-email-change", args=[world.customer_a.number])
    assert f'href="{wizard}?request={cr.number}"' in page
    assert "Change the login email" in page
    assert "owner.new@alpha.example" in page and "a.owner@example.org" in page
    assert detail(cr, "-reject") in page  # a manager may still turn it down
    billing_page = html(client_for(world.users["staff_billing"]).get(detail(cr)))
    assert f"{wizard}?request=" not in billing_page  # billing does not run the procedure


def test_unknown_requests_are_not_found(world: Any) -> None:
    client = client_for(world.users["staff_manager"])
    for number in (999_999, 10**30):
        assert client.get(f"/staff/requests/{number}/").status_code == 404
        assert client.post(f"/staff/requests/{number}/approve/").status_code == 404
    cr = legal_request(world)
    assert client.get(detail(cr, "-approve")).status_code == 405


def test_the_detail_page_costs_the_same_queries_as_the_thread_grows(
    world: Any, django_assert_num_queries: Any
) -> None:
    cr = legal_request(world, note="Please")
    client = client_for(world.users["staff_manager"])
    for i in range(5):
        actions.comment_on_change_request(cr, body=f"Question {i}", actor=staff(world))
    bulk_requests(5)
    client.get(detail(cr))
    with CaptureQueriesContext(connection) as small:
        assert client.get(detail(cr)).status_code == 200
    for i in range(45):
        actions.comment_on_change_request(cr, body=f"More {i}", actor=staff(world))
    bulk_requests(45)
    with django_assert_num_queries(len(small)):
        page = html(client.get(detail(cr)))
    assert "More 44" in page


# --- the customer 360 ------------------------------------------------------------------------


def test_the_360_tab_lists_the_customers_requests(world: Any) -> None:
    legal = legal_request(world)
    billing = billing_request(world)
    actions.reject_change_request(billing, reason="No.", actor=staff(world))
    legal_request(world, customer=world.customer_b, actor=portal(world, "b_owner"))
    url = reverse("staff:customer-change-requests", args=[world.customer_a.number])
    response = client_for(world.users["staff_support"]).get(url)
    assert response.status_code == 200
    page = html(response)
    table = page.split('id="customer-change-requests"')[1].split("</table>")[0]
    assert re.findall(r">(CR-\d{6})</a>", table) == [billing.reference, legal.reference]
    assert f'href="{detail(legal)}"' in table
    assert "Rejected" in table and "Open" in table
    assert "1 open." in page


def test_the_360_tab_is_empty_without_requests(world: Any) -> None:
    url = reverse("staff:customer-change-requests", args=[world.customer_a.number])
    page = html(client_for(world.users["staff_support"]).get(url))
    assert "No change requests" in page and 'class="empty-state"' in page


def test_the_360_header_counts_the_pending_requests(world: Any) -> None:
    url = reverse("staff:customer", args=[world.customer_a.number])
    client = client_for(world.users["staff_support"])
    header = html(client.get(url)).split('id="c360-header"')[1].split("</section>")[0]
    tab = reverse("staff:customer-change-requests", args=[world.customer_a.number])
    assert f'<a href="{tab}">0 open</a>' in header
    first = legal_request(world)
    billing_request(world)
    actions.comment_on_change_request(first, body="?", actor=staff(world))
    decided = legal_request(world, customer=world.customer_b, actor=portal(world, "b_owner"))
    actions.reject_change_request(decided, reason="No.", actor=staff(world))
    page = html(client.get(url))
    header = page.split('id="c360-header"')[1].split("</section>")[0]
    assert f'<a href="{tab}">2 open</a>' in header
    assert re.search(r'Change requests <span class="tab-count">2</span>', page)


def test_the_nav_count_as_a_context_processor_counts_lazily(
    world: Any, django_assert_num_queries: Any
) -> None:
    from clientdesk.staff.change_requests import nav_open_requests

    legal_request(world)
    billing_request(world)
    with django_assert_num_queries(0):
        context = nav_open_requests(None)  # type: ignore[arg-type]
    with django_assert_num_queries(1):
        assert context["nav_open_requests"] == 2
        assert str(context["nav_open_requests"]) == "2"
