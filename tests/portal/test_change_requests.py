"""Change requests in the portal (issue 7, seed 002): My Account saves approval fields as a
request, the section shows current vs requested while it is open, the Requests pages (list,
detail with the conversation, reply, cancel), the primary email request, scoping and the
cost of My Account with open requests."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clientdesk.change_requests import actions
from clientdesk.change_requests.models import ChangeRequest, Message, Status
from clientdesk.core.actor import Actor, Source
from clientdesk.customers.models import Customer
from tests import factories

from .conftest import (
    HTMX,
    account_url,
    client_for,
    edit_url,
    etag_of,
    fresh,
    section_url,
    set_profile,
)

pytestmark = pytest.mark.django_db

NEW_LEGAL = {
    "legal_name": "Alpha Trading Berhad",
    "legal_line1": "Level 5, Menara Alpha",
    "legal_line2": "",
    "legal_city": "Kuala Lumpur",
    "legal_postcode": "50250",
    "legal_state": "MY-14",
    "country": "MY",
}


def html(response: Any) -> str:
    return str(response.content.decode())


def panel(page: str, key: str) -> str:
    """The markup of one My Account section."""
    return page.split(f'id="section-{key}"')[1].split("</section>")[0]


def pencils(page: str) -> list[str]:
    pencil = r'class="icon-button profile-section-edit"[^>]*aria-label="Edit ([^"]+)"'
    return re.findall(pencil, page)


def portal_actor(world: Any, persona: str = "a_owner") -> Actor:
    return Actor(world.users[persona], Source.PORTAL)


def staff_actor(world: Any, persona: str = "staff_manager") -> Actor:
    return Actor(world.users[persona], Source.STAFF)


def raise_legal(world: Any, **values: Any) -> ChangeRequest:
    result = actions.save_section(
        world.customer_a,
        section="legal",
        values={**NEW_LEGAL, **values},
        actor=portal_actor(world),
        note="We moved offices.",
    )
    assert result.request is not None
    return result.request


def list_url(customer: Customer) -> str:
    return reverse("portal:change-requests", args=[customer.number])


def detail_url(customer: Customer, number: int) -> str:
    return reverse("portal:change-request", args=[customer.number, number])


def reply_url(customer: Customer, number: int) -> str:
    return reverse("portal:change-request-reply", args=[customer.number, number])


def cancel_url(customer: Customer, number: int) -> str:
    return reverse("portal:change-request-cancel", args=[customer.number, number])


def email_url(customer: Customer) -> str:
    return reverse("portal:primary-email-request", args=[customer.number])


def post_legal(client: Any, customer: Customer, *, htmx: bool = True, **extra: Any) -> Any:
    data = {"etag": etag_of(customer, "legal"), **NEW_LEGAL, **extra}
    return client.post(section_url(customer, "legal"), data, **(HTMX if htmx else {}))


# --- the form -------------------------------------------------------------------------------


def test_approval_sections_get_a_pencil_and_a_form_marked_needs_approval(world: Any) -> None:
    customer = world.customer_a
    client = client_for(world.users["a_owner"])
    page = html(client.get(account_url(customer)))
    assert {"Legal identity", "Billing identity", "Business Details"} <= set(pencils(page))
    assert "Changes to Legal identity are reviewed by" in panel(page, "legal")

    partial = html(client.get(edit_url(customer, "legal"), **HTMX))
    assert 'name="legal_name"' in partial and 'name="country"' in partial
    assert "Needs approval" in partial
    assert "Changes to Legal identity are reviewed by Clientdesk before they apply." in partial
    assert 'name="note"' in partial and "Note for the reviewer" in partial

    # Business Details: the registration number is marked, the trading name is not.
    partial = html(client.get(edit_url(customer, "business"), **HTMX))
    group = partial.split('class="approval-fields"')[1].split("</fieldset>")[0]
    assert 'name="registration_number"' in group
    assert 'name="trading_name"' not in group and 'name="trading_name"' in partial
    assert (
        "Changes to Company registration number are reviewed by Clientdesk before they apply"
        in partial
    )


def test_a_member_still_gets_no_pencil_and_no_form(world: Any) -> None:
    client = client_for(world.users["a_member"])
    assert pencils(html(client.get(account_url(world.customer_a)))) == []
    assert client.get(edit_url(world.customer_a, "legal"), **HTMX).status_code == 403
    response = client.post(section_url(world.customer_a, "legal"), NEW_LEGAL)
    assert response.status_code == 403
    assert not ChangeRequest.objects.exists()


# --- saving: a request instead of a change -----------------------------------------------------


def test_saving_legal_identity_sends_a_request_and_shows_it_side_by_side(world: Any) -> None:
    customer = world.customer_a
    client = client_for(world.users["a_owner"])
    response = post_legal(client, customer, note="We moved offices.\nSince May.")
    assert response.status_code == 200
    partial = html(response)
    change = ChangeRequest.objects.get()
    url = detail_url(customer, change.number)
    assert f"Your request {change.reference} has been sent" in partial
    assert f'href="{url}"' in partial
    assert "Saved — changes are live" not in partial  # no direct field changed
    # The profile itself does not change; the request holds the values and the note.
    assert fresh(customer).legal_name == "Alpha Trading Sdn Bhd"
    assert change.requested["legal_name"] == "Alpha Trading Berhad"
    assert change.note == "We moved offices.\nSince May."
    assert change.submitted_source == "portal"
    # The section is read-only now: current vs requested, status, age, link and Cancel.
    assert 'class="profile-section" id="section-legal"' in partial
    assert "Edit Legal identity" not in partial
    assert f"{change.reference} pending" in partial
    rows = re.findall(r'<tr( class="is-changed")?>\s*<th scope="row">([^<]+)</th>', partial)
    changed = {label for mark, label in rows if mark}
    assert changed == {
        "Legal name",
        "Registered address line 1",
        "Registered city",
        "Registered postcode",
        "Registered state",
    }
    assert "Country" in {label for _, label in rows} - changed
    name_row = partial.split('<th scope="row">Legal name</th>')[1].split("</tr>")[0]
    assert 'data-label="Current">Alpha Trading Sdn Bhd<' in name_row
    assert '<mark class="cr-mark"><strong>Alpha Trading Berhad</strong></mark>' in name_row
    assert '<span class="sr-only"> (changed)</span>' in name_row
    assert ">Open</span>" in partial
    assert re.search(r'<time datetime="[^"]+" title="[^"]+">sent just now</time>', partial)
    assert f"View request {change.reference}" in partial
    assert f'href="{cancel_url(customer, change.number)}"' in partial


def test_without_javascript_the_save_redirects_with_the_message_and_a_link(world: Any) -> None:
    customer = world.customer_a
    client = client_for(world.users["a_owner"])
    response = post_legal(client, customer, htmx=False)
    assert response.status_code == 302
    assert response["Location"] == f"{account_url(customer)}?open=legal#section-legal"
    change = ChangeRequest.objects.get()
    page = html(client.get(response["Location"]))
    assert f"Your request {change.reference} has been sent" in page
    assert f'<a href="{detail_url(customer, change.number)}">View request' in page
    legal = panel(page, "legal")
    assert "Current and requested details" in legal
    assert "Alpha Trading Berhad" in legal


def test_direct_fields_apply_and_approval_fields_become_a_request_in_one_save(
    world: Any,
) -> None:
    customer = world.customer_a
    client = client_for(world.users["a_owner"])
    response = client.post(
        section_url(customer, "business"),
        {
            "etag": etag_of(customer, "business"),
            "trading_name": "Alpha",
            "website": "",
            "registration_number": "202001012345",
        },
        **HTMX,
    )
    partial = html(response)
    change = ChangeRequest.objects.get()
    assert f"Your request {change.reference} has been sent" in partial
    assert "Saved — changes are live" in partial
    saved = fresh(customer)
    assert saved.trading_name == "Alpha"
    assert saved.registration_number == ""
    # While the number is pending the trading name stays editable, the number is locked.
    form = html(client.get(edit_url(customer, "business"), **HTMX))
    assert 'name="trading_name"' in form
    assert 'name="registration_number"' not in form
    assert f"Change requested in {change.reference}" in form
    assert "Needs approval" not in form


def test_invalid_values_are_shown_like_a_direct_save_and_nothing_is_sent(world: Any) -> None:
    customer = world.customer_a
    client = client_for(world.users["a_owner"])
    etag = etag_of(customer, "legal")
    response = post_legal(client, customer, legal_postcode="ABC", note="Moved")
    partial = html(response)
    assert response.status_code == 200
    assert 'id="id_legal_postcode_error"' in partial
    assert "data-error-summary" in partial
    assert 'value="Alpha Trading Berhad"' in partial  # the input is kept
    assert "Moved</textarea>" in partial  # and the note
    assert f'name="etag" value="{etag}"' in partial
    assert not ChangeRequest.objects.exists()


def test_a_huge_note_is_refused_next_to_the_note(world: Any) -> None:
    response = post_legal(client_for(world.users["a_owner"]), world.customer_a, note="x" * 6000)
    partial = html(response)
    assert 'id="id_note_error"' in partial
    assert "Keep this under 5000 characters" in partial
    assert not ChangeRequest.objects.exists()


def test_a_double_submit_gives_one_request_and_points_to_it(world: Any) -> None:
    customer = world.customer_a
    client = client_for(world.users["a_owner"])
    post_legal(client, customer, htmx=False)
    response = post_legal(client, customer, htmx=False)  # the same form sent again
    assert ChangeRequest.objects.count() == 1
    change = ChangeRequest.objects.get()
    assert response.status_code == 302
    page = html(client.get(response["Location"]))
    assert f"{change.reference} for Legal identity is still open" in page
    assert f'href="{detail_url(customer, change.number)}"' in page
    # With htmx: the section with the message and the link.
    partial = html(post_legal(client, customer, legal_city="Shah Alam"))
    assert f"{change.reference} for Legal identity is still open" in partial
    assert 'role="alert"' in partial
    assert f"View request {change.reference}" in partial
    assert ChangeRequest.objects.count() == 1


def test_a_forged_approval_field_while_pending_points_to_the_open_request(world: Any) -> None:
    customer = world.customer_a
    client = client_for(world.users["a_owner"])
    client.post(
        section_url(customer, "business"),
        {"etag": etag_of(customer, "business"), "registration_number": "202001012345"},
        **HTMX,
    )
    change = ChangeRequest.objects.get()
    partial = html(
        client.post(
            section_url(customer, "business"),
            {
                "etag": etag_of(customer, "business"),
                "trading_name": "Alpha",
                "registration_number": "202001099999",
            },
            **HTMX,
        )
    )
    assert f"{change.reference} for Business Details is still open" in partial
    assert f"View request {change.reference}" in partial
    assert fresh(customer).trading_name == ""  # nothing applied
    assert ChangeRequest.objects.count() == 1


# --- pending view, cancel and raise again --------------------------------------------------------


def test_cancel_asks_first_then_cancels_and_a_new_request_can_be_raised(world: Any) -> None:
    customer = world.customer_a
    client = client_for(world.users["a_owner"])
    first = raise_legal(world)

    confirm = client.get(cancel_url(customer, first.number))
    assert confirm.status_code == 200
    assert f"Cancel {first.reference}?" in html(confirm)
    assert fresh_request(first).status == Status.OPEN  # GET changes nothing

    response = client.post(cancel_url(customer, first.number))
    assert response.status_code == 302
    assert response["Location"] == detail_url(customer, first.number)
    assert fresh_request(first).status == Status.CANCELLED
    page = html(client.get(response["Location"]))
    assert f"{first.reference} was cancelled" in page
    assert "Cancel request" not in page and 'id="reply"' not in page

    # My Account: the section is editable again, and a new request goes through.
    page = html(client.get(account_url(customer)))
    assert "Legal identity" in pencils(page)
    assert "pending" not in panel(page, "legal")
    post_legal(client, customer, legal_city="Shah Alam")
    second = ChangeRequest.objects.exclude(pk=first.pk).get()
    assert second.status == Status.OPEN and second.number > first.number

    # Cancelling the cancelled one again changes nothing.
    response = client.post(cancel_url(customer, first.number))
    assert response.status_code == 302
    assert fresh_request(second).status == Status.OPEN


def test_a_pending_section_has_nothing_to_edit_so_its_edit_url_shows_the_request(
    world: Any,
) -> None:
    customer = world.customer_a
    change = raise_legal(world)
    client = client_for(world.users["a_owner"])
    partial = html(client.get(edit_url(customer, "legal"), **HTMX))
    assert 'class="profile-section" id="section-legal"' in partial
    assert f'Change requested in <span class="nowrap">{change.reference}</span>' in partial
    assert "<form" not in partial
    response = client.get(edit_url(customer, "legal"))
    assert response.status_code == 302
    assert response["Location"] == f"{account_url(customer)}?open=legal#section-legal"


def test_a_decided_request_cannot_be_cancelled(world: Any) -> None:
    customer = world.customer_a
    change = raise_legal(world)
    actions.reject_change_request(change, reason="Not a registered name.", actor=staff_actor(world))
    client = client_for(world.users["a_owner"])
    page = html(client.get(cancel_url(customer, change.number)))
    assert "Only an open request can be cancelled." in page
    response = client.post(cancel_url(customer, change.number))
    assert response.status_code == 409
    assert "was already rejected" in html(response)
    assert fresh_request(change).status == Status.REJECTED


def fresh_request(change: ChangeRequest) -> ChangeRequest:
    return ChangeRequest.objects.get(pk=change.pk)


# --- the request page and the conversation ----------------------------------------------------


def test_staff_question_then_customer_reply_sets_the_request_open_again(world: Any) -> None:
    customer = world.customer_a
    change = raise_legal(world)
    actions.comment_on_change_request(
        change,
        body='Please send the SSM form.\n<b>Thanks</b> <script>alert("x")</script>',
        actor=staff_actor(world, "staff_support"),
    )
    assert fresh_request(change).status == Status.AWAITING_CUSTOMER
    client = client_for(world.users["a_owner"])

    page = html(client.get(account_url(customer)))
    assert ">Awaiting your reply</span>" in panel(page, "legal")

    page = html(client.get(detail_url(customer, change.number)))
    assert "Awaiting your reply" in page
    thread = page.split('id="conversation"')[1]
    assert "<strong>Clientdesk</strong>" in thread  # staff speak as the provider
    assert "support@staff.example" not in thread
    assert "Please send the SSM form.<br>&lt;b&gt;Thanks&lt;/b&gt;" in thread
    assert "<script>alert" not in page
    assert "We moved offices." in page  # the note

    response = client.post(
        reply_url(customer, change.number), {"body": "Attached.\nSee page 2 <i>please</i>"}
    )
    assert response.status_code == 302
    assert fresh_request(change).status == Status.OPEN
    reply = Message.objects.filter(change_request=change, from_staff=False).get()
    assert reply.body == "Attached.\nSee page 2 <i>please</i>"
    assert reply.author == world.users["a_owner"]
    page = html(client.get(response["Location"]))
    assert "Attached.<br>See page 2 &lt;i&gt;please&lt;/i&gt;" in page
    assert "Your reply was added" in page


def test_an_empty_or_late_reply_is_refused(world: Any) -> None:
    customer = world.customer_a
    change = raise_legal(world)
    client = client_for(world.users["a_owner"])
    response = client.post(reply_url(customer, change.number), {"body": "   "})
    assert response.status_code == 400
    assert 'id="id_body_error"' in html(response)
    actions.cancel_change_request(change, actor=portal_actor(world))
    response = client.post(reply_url(customer, change.number), {"body": "One more thing"})
    assert response.status_code == 409
    assert "raise a new request instead" in html(response)
    assert not Message.objects.exists()
    assert client.get(reply_url(customer, change.number)).status_code == 405


def test_the_outcome_shows_on_the_request_page(world: Any) -> None:
    customer = world.customer_a
    set_profile(customer, "legal", **{k: v for k, v in NEW_LEGAL.items() if k != "legal_name"})
    change = raise_legal(world, legal_city="Shah Alam", legal_postcode="40000", legal_state="MY-10")
    actions.approve_change_request(
        change,
        fields=["legal_name"],
        reason="The address needs a utility bill first.",
        actor=staff_actor(world),
    )
    client = client_for(world.users["a_owner"])
    page = html(client.get(detail_url(customer, change.number)))
    assert "Partly approved" in page
    assert "Applied: Legal name." in page
    assert "The address needs a utility bill first." in page
    name_row = page.split('<th scope="row">Legal name</th>')[1].split("</tr>")[0]
    assert 'data-label="Before">Alpha Trading Sdn Bhd<' in name_row
    assert "Approved</span>" in name_row
    city_row = page.split('<th scope="row">Registered city</th>')[1].split("</tr>")[0]
    assert "Rejected</span>" in city_row
    assert 'id="reply"' not in page
    assert fresh(customer).legal_name == "Alpha Trading Berhad"


def test_the_list_shows_newest_first_with_status_and_age(world: Any) -> None:
    customer = world.customer_a
    legal = raise_legal(world)
    billing = actions.save_section(
        customer,
        section="billing",
        values={
            "billing_follows_legal": False,
            "billing_name": "Alpha Billing",
            "billing_line1": "PO Box 1234",
            "billing_city": "Shah Alam",
            "billing_postcode": "40000",
            "billing_state": "MY-10",
            "billing_country": "MY",
        },
        actor=portal_actor(world),
    ).request
    assert billing is not None
    actions.cancel_change_request(legal, actor=portal_actor(world))
    page = html(client_for(world.users["a_owner"]).get(list_url(customer)))
    refs = re.findall(r'class="cell-primary mono" href="[^"]+">(CR-\d+)<', page)
    assert refs == [billing.reference, legal.reference]
    assert ">Cancelled</span>" in page and ">Open</span>" in page
    assert ">Just now</time>" in page

    # The billing role sees billing requests only; members have no Requests page.
    page = html(client_for(world.users["a_billing"]).get(list_url(customer)))
    assert billing.reference in page and legal.reference not in page
    assert client_for(world.users["a_member"]).get(list_url(customer)).status_code == 403
    assert client_for(world.users["a_technical"]).get(list_url(customer)).status_code == 403


def test_the_sidebar_shows_requests_to_roles_that_have_them(world: Any) -> None:
    customer = world.customer_a
    url = list_url(customer)
    nav = 'aria-label="Customer sections"'
    for persona, shown in (("a_owner", True), ("a_billing", True), ("a_member", False)):
        page = html(client_for(world.users[persona]).get(account_url(customer)))
        assert (f'href="{url}"' in page.split(nav)[1]) is shown, persona


# --- scoping ------------------------------------------------------------------------------------


def test_another_customers_request_is_not_found(world: Any) -> None:
    change = raise_legal(world)
    a, b = world.customer_a, world.customer_b
    outsider = client_for(world.users["b_owner"])
    assert outsider.get(detail_url(a, change.number)).status_code == 404
    # Through their own customer's URLs, the number does not exist either.
    assert outsider.get(detail_url(b, change.number)).status_code == 404
    assert outsider.get(cancel_url(b, change.number)).status_code == 404
    assert outsider.post(cancel_url(b, change.number)).status_code == 404
    assert outsider.post(reply_url(b, change.number), {"body": "hi"}).status_code == 404
    assert fresh_request(change).status == Status.OPEN
    assert not Message.objects.exists()


def test_a_kind_the_role_may_not_see_is_not_found(world: Any) -> None:
    customer = world.customer_a
    change = raise_legal(world)
    billing = client_for(world.users["a_billing"])  # edits billing sections only
    assert billing.get(detail_url(customer, change.number)).status_code == 404
    assert billing.post(cancel_url(customer, change.number)).status_code == 404
    member = client_for(world.users["a_member"])
    assert member.get(detail_url(customer, change.number)).status_code == 403
    assert member.post(cancel_url(customer, change.number)).status_code == 403
    assert fresh_request(change).status == Status.OPEN
    # An admin sees legal requests but not the owner's login email request.
    email = actions.submit_change_request(
        customer,
        kind="primary_email",
        values={"primary_email": "owner.new@example.org"},
        actor=portal_actor(world),
    )
    admin = client_for(world.users["a_admin"])
    assert admin.get(detail_url(customer, change.number)).status_code == 200
    assert admin.get(detail_url(customer, email.number)).status_code == 404
    assert email.reference not in html(admin.get(list_url(customer)))


@pytest.mark.parametrize("number", ["999999", "0", "2147483648", "99999999999999999999999"])
def test_a_forged_request_number_is_not_found(world: Any, number: str) -> None:
    raise_legal(world)
    client = client_for(world.users["a_owner"])
    base = f"/c/{world.customer_a.number}/requests/{number}/"
    assert client.get(base).status_code == 404
    assert client.get(f"{base}cancel/").status_code == 404
    assert client.post(f"{base}cancel/").status_code == 404
    assert client.post(f"{base}reply/", {"body": "x"}).status_code == 404


# --- the primary (login) email --------------------------------------------------------------------


def test_the_owner_may_request_a_primary_email_change_from_contact_information(
    world: Any,
) -> None:
    customer = world.customer_a
    owner = client_for(world.users["a_owner"])
    contact = panel(html(owner.get(account_url(customer))), "contact")
    assert f'href="{email_url(customer)}">Request a change</a>' in contact
    # Other roles see the lock text only.
    admin_contact = panel(
        html(client_for(world.users["a_admin"]).get(account_url(customer))), "contact"
    )
    assert "verified request to support" in admin_contact
    assert email_url(customer) not in admin_contact
    assert client_for(world.users["a_admin"]).get(email_url(customer)).status_code == 403
    assert client_for(world.users["a_member"]).get(email_url(customer)).status_code == 403

    page = html(owner.get(email_url(customer)))
    assert "a.owner@example.org" in page and 'name="primary_email"' in page

    response = owner.post(
        email_url(customer), {"primary_email": "Owner.New@Example.org", "reason": "New domain"}
    )
    change = ChangeRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail_url(customer, change.number)
    assert change.kind == "primary_email"
    assert change.requested == {"primary_email": "owner.new@example.org"}
    assert change.note == "New domain"
    page = html(owner.get(response["Location"]))
    assert f"Your request {change.reference} has been sent" in page
    assert "Reason for the change" in page

    # The row says a change is requested, with a link; the form is not offered twice.
    contact = panel(html(owner.get(account_url(customer))), "contact")
    assert f"Change to owner.new@example.org requested ({change.reference})." in contact
    assert f'href="{detail_url(customer, change.number)}"' in contact
    assert "Request a change" not in contact
    page = html(owner.get(email_url(customer)))
    assert f"You already asked: {change.reference}" in page
    assert 'name="primary_email"' not in page
    # Nothing changed on the account.
    assert fresh(customer).contacts.get(role="owner").user.email == "a.owner@example.org"


def test_with_verified_self_service_the_owner_is_sent_to_change_it_themselves(
    world: Any, settings: Any
) -> None:
    settings.CLIENTDESK_SELF_SERVICE_EMAIL_CHANGE = True
    customer = world.customer_a
    contact = panel(html(client_for(world.users["a_owner"]).get(account_url(customer))), "contact")
    change_url = reverse("portal:login-email-change", args=[customer.number])
    assert f'href="{change_url}">Change login email</a>' in contact
    assert "Request a change" not in contact
    admin = panel(html(client_for(world.users["a_admin"]).get(account_url(customer))), "contact")
    assert change_url not in admin


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("not-an-email", "Enter a valid email address"),
        ("new@example.org\r\nBcc: evil@example.org", "line breaks"),
        ("a.owner@example.org", "already has"),
        ("A.Admin@example.org", "Another sign-in already uses this address"),
        ("", "Enter the new email address."),
    ],
)
def test_a_bad_new_email_is_refused_next_to_the_field(world: Any, email: str, message: str) -> None:
    response = client_for(world.users["a_owner"]).post(
        email_url(world.customer_a), {"primary_email": email, "reason": "Because"}
    )
    assert response.status_code == 400
    error = html(response).split('id="id_primary_email_error"')[1].split("</div>")[0]
    assert message in error
    assert not ChangeRequest.objects.exists()


def test_the_reason_is_required(world: Any) -> None:
    response = client_for(world.users["a_owner"]).post(
        email_url(world.customer_a), {"primary_email": "owner.new@example.org", "reason": " "}
    )
    assert response.status_code == 400
    assert 'id="id_reason_error"' in html(response)
    assert not ChangeRequest.objects.exists()


def test_a_likely_typo_is_checked_once_before_sending(world: Any) -> None:
    client = client_for(world.users["a_owner"])
    url = email_url(world.customer_a)
    data = {"primary_email": "owner@gmial.com", "reason": "Personal address"}
    page = html(client.post(url, data))
    assert "Did you mean owner@gmail.com?" in page
    assert not ChangeRequest.objects.exists()
    confirmed = re.search(r'name="confirmed" value="([^"]+)"', page)
    assert confirmed is not None and confirmed.group(1) == "owner@gmial.com"
    response = client.post(url, {**data, "confirmed": confirmed.group(1)})
    assert response.status_code == 302
    assert ChangeRequest.objects.get().requested == {"primary_email": "owner@gmial.com"}


# --- cost -----------------------------------------------------------------------------------------


def _count(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def test_my_account_with_open_requests_costs_a_constant_number_of_queries(
    world: Any, django_assert_max_num_queries: Any, django_assert_num_queries: Any
) -> None:
    customer = world.customer_a
    client = client_for(world.users["a_owner"])
    url = account_url(customer)
    raise_legal(world)
    client.get(url)  # warm caches
    baseline = _count(client, url)
    # Request plumbing + membership + the customer + the switcher + ONE for the requests.
    with django_assert_max_num_queries(11):
        client.get(url)

    actions.comment_on_change_request(
        ChangeRequest.objects.get(), body="A question", actor=staff_actor(world)
    )
    actions.save_section(
        customer,
        section="business",
        values={"registration_number": "202001012345"},
        actor=portal_actor(world),
    )
    actions.submit_change_request(
        customer,
        kind="primary_email",
        values={"primary_email": "owner.new@example.org"},
        actor=portal_actor(world),
    )
    for n in range(5):  # closed requests of other customers and kinds do not count
        other = factories.make_customer(f"Other {n}")
        factories.make_contact(other, "owner", user=factories.make_user(f"o{n}@example.org"))
    with django_assert_num_queries(baseline):
        page = html(client.get(url))
    assert page.count(" pending</span>") == 2
    assert "Change to owner.new@example.org requested" in page


def test_the_requests_pages_cost_a_constant_number_of_queries(
    world: Any, django_assert_num_queries: Any
) -> None:
    customer = world.customer_a
    client = client_for(world.users["a_owner"])
    change = raise_legal(world)
    for url in (list_url(customer), detail_url(customer, change.number)):
        client.get(url)
        baseline = _count(client, url)
        for n in range(3):
            actions.comment_on_change_request(
                fresh_request(change), body=f"Question {n}", actor=staff_actor(world)
            )
            actions.comment_on_change_request(
                fresh_request(change), body=f"Answer {n}", actor=portal_actor(world)
            )
        with django_assert_num_queries(baseline):
            client.get(url)
