"""The customer 360 in the staff console: header, tabs, View menu and shortcut, staff edits of
the profile with a reason (seed 001 "Edit a customer account"), the Activity tab, and a
constant number of queries whatever the customer's size."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clientdesk.audit.models import Activity
from clientdesk.core.actor import Actor, Source
from clientdesk.customers.actions import update_profile_section
from clientdesk.customers.models import Customer, Note
from clientdesk.customers.notes import add_note
from clientdesk.customers.policy import Section
from clientdesk.customers.sections import section_etag
from clientdesk.events.models import Event
from clientdesk.taxes.actions import add_tax_rule
from tests import factories

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system()
HTMX = {"HTTP_HX_REQUEST": "true"}


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(name: str, customer: Customer, *args: Any) -> str:
    return reverse(name, args=[customer.number, *args])


def html(response: Any) -> str:
    return str(response.content.decode())


def fresh(customer: Customer) -> Customer:
    return Customer.objects.get(pk=customer.pk)


def staff(world: Any, persona: str = "staff_support") -> Actor:
    return Actor(user=world.users[persona], source=Source.STAFF)


def sst(rate: str = "8") -> None:
    add_tax_rule(
        country="MY",
        name="SST",
        rate=rate,
        effective_from=datetime.date(2024, 3, 1),
        actor=SYSTEM,
    )


LEGAL_ADDRESS = {
    "legal_line1": "Level 8, Menara Alpha",
    "legal_city": "Kuala Lumpur",
    "legal_postcode": "50450",
    "legal_state": "MY-14",
    "country": "MY",
}


def update_events(section: str) -> list[Event]:
    return [
        e for e in Event.objects.filter(type="customer.updated") if e.data["section"] == section
    ]


def edit(client: Client, customer: Customer, section: str, **data: Any) -> Any:
    data.setdefault("etag", section_etag(fresh(customer), Section(section)))
    return client.post(url("staff:customer-section-edit", customer, section), data)


# --- the header ------------------------------------------------------------------------------


def test_the_header_says_who_the_customer_is_at_a_glance(world: Any) -> None:
    sst()
    page = html(
        client_for(world.users["staff_support"]).get(url("staff:customer", world.customer_a))
    )
    header = page.split('id="c360-header"')[1].split("</section>")[0]
    assert "<h1" in header and "Alpha Trading Sdn Bhd" in header
    assert world.customer_a.client_id in header  # C-1000…
    assert "Business" in header
    assert 'class="badge badge-active">Active<' in header
    assert "Malaysia" in header and "SST 8%" in header
    owner = world.users["a_owner"]
    assert "a.owner@example.org" in header and "Owner" in header
    assert "5 contacts" in header  # one per portal role
    assert "Pending change requests" in header and ">0 open</a>" in header
    assert "Balance" in header and "MYR 0.00" in header and "Zero balance" in header
    assert owner.email in header


def test_the_header_shows_an_exemption_and_a_country_without_tax(world: Any) -> None:
    page = html(
        client_for(world.users["staff_support"]).get(url("staff:customer", world.customer_a))
    )
    assert "No tax rule for this country" in page  # no rule for MY yet
    sst()
    from clientdesk.taxes.actions import exempt_customer

    exempt_customer(world.customer_a, reference="CERT-77", reason="Statutory body", actor=SYSTEM)
    page = html(
        client_for(world.users["staff_support"]).get(url("staff:customer", world.customer_a))
    )
    assert "SST 8% — exempt (ref CERT-77)" in page


def test_the_tabs_are_one_frame_with_the_current_tab_marked(world: Any) -> None:
    client = client_for(world.users["staff_billing"])
    tabs = {
        "staff:customer": "Profile",
        "staff:contacts": "Contacts",
        "staff:customer-change-requests": "Change requests",
        "staff:customer-billing": "Billing",
        "staff:notes": "Notes",
        "staff:customer-activity": "Activity",
        "staff:customer-integrations": "Integrations",
    }
    for name, label in tabs.items():
        response = client.get(url(name, world.customer_a))
        assert response.status_code == 200, name
        page = html(response)
        assert 'id="c360-header"' in page, name
        current = re.findall(r'<a href="[^"]+" aria-current="page">([^<]+)', page)
        assert [c.strip() for c in current] == [label], name
        for other in tabs:  # every tab links to the real page (no broken links)
            assert f'href="{url(other, world.customer_a)}"' in page


def test_the_contacts_tab_keeps_a_single_h1(world: Any) -> None:
    page = html(
        client_for(world.users["staff_support"]).get(url("staff:contacts", world.customer_a))
    )
    assert page.count("<h1") == 1
    assert 'id="c360-header"' in page and "Portal settings &amp; contacts" in page


def test_an_unknown_customer_is_not_found_and_outsiders_cannot_probe_numbers(world: Any) -> None:
    staff_client = client_for(world.users["staff_support"])
    assert staff_client.get("/staff/customers/999999/").status_code == 404
    assert staff_client.get("/staff/customers/not-a-number/").status_code == 404
    assert staff_client.get("/staff/customers/" + "9" * 5000 + "/").status_code == 404
    # The customer's existence is not revealed outside the console: same answer for both.
    anonymous = Client()
    assert anonymous.get("/staff/customers/999999/").status_code == 302
    assert anonymous.get(url("staff:customer", world.customer_a)).status_code == 302
    portal = client_for(world.users["a_owner"])
    assert portal.get("/staff/customers/999999/").status_code == 404
    assert portal.get(url("staff:customer", world.customer_a)).status_code == 404


def test_the_client_id_works_with_its_prefix_too(world: Any) -> None:
    client = client_for(world.users["staff_support"])
    response = client.get(f"/staff/customers/{world.customer_a.client_id}/")
    assert response.status_code == 200
    assert "Alpha Trading Sdn Bhd" in html(response)


# --- View menu and shortcut (seed 001 "Navigate to a section") --------------------------------


def test_the_view_menu_lists_every_section_and_page(world: Any) -> None:
    page = html(
        client_for(world.users["staff_support"]).get(url("staff:customer", world.customer_a))
    )
    menu = page.split('class="menu c360-view-menu"')[1].split("</details>")[0]
    assert ">View<" in re.sub(r"<svg.*?</svg>", "", menu, flags=re.S)
    items = re.findall(r'role="menuitem" href="([^"]+)"', menu)
    profile = url("staff:customer", world.customer_a)
    assert f"{profile}?open=legal#section-legal" in items
    assert f"{profile}?open=account#section-account" in items
    assert url("staff:notes", world.customer_a) in items
    assert url("staff:customer-activity", world.customer_a) in items
    assert len(items) == 8 + 7  # eight profile sections of a business, seven other pages


def test_the_shortcut_is_a_labelled_select_that_jumps_without_javascript(world: Any) -> None:
    client = client_for(world.users["staff_support"])
    profile = url("staff:customer", world.customer_a)
    page = html(client.get(profile))
    assert '<label for="c360-go">Shortcut</label>' in page
    assert '<select class="input" id="c360-go" name="go">' in page
    response = client.get(profile, {"go": "section-billing"})
    assert response.status_code == 302
    assert response["Location"] == f"{profile}?open=billing#section-billing"
    response = client.get(profile, {"go": "billing"})  # the Billing tab, not the section
    assert response["Location"] == url("staff:customer-billing", world.customer_a)
    response = client.get(profile, {"go": "notes"})
    assert response["Location"] == url("staff:notes", world.customer_a)


@pytest.mark.parametrize("go", ["https://evil.example/", "section-nope", "", "x" * 5000, "\u202e"])
def test_an_unknown_shortcut_stays_on_the_page_with_a_message(world: Any, go: str) -> None:
    response = client_for(world.users["staff_support"]).get(
        url("staff:customer", world.customer_a), {"go": go}
    )
    assert response.status_code == 200
    assert "Choose a section or a page from the list." in html(response)


def test_open_opens_that_section(world: Any) -> None:
    client = client_for(world.users["staff_support"])
    page = html(client.get(url("staff:customer", world.customer_a), {"open": "legal"}))
    opened = re.findall(r'id="section-(\w+)" aria-labelledby="[^"]+">\s*<details open>', page)
    assert opened == ["legal"]


# --- Profile tab: staff see everything, edit by group, masked identity numbers --------------


def test_staff_see_every_section_with_pencils_by_group(world: Any) -> None:
    pencil = r'class="icon-button profile-section-edit"[^>]*aria-label="Edit ([^"]+)"'
    page = html(
        client_for(world.users["staff_support"]).get(url("staff:customer", world.customer_a))
    )
    titles = re.findall(r'class="profile-section-title"[^>]*>([^<]+)<', page)
    assert titles == [
        "Personal Details",
        "E-Invoice Information",
        "Business Details",
        "Contact Information",
        "Legal identity",
        "Billing identity",
        "Preferences",
        "Account",
    ]
    support = re.findall(pencil, page)
    assert "Legal identity" not in support and "Account" not in support  # approval, staff modes
    assert "Contact Information" in support
    manager = html(
        client_for(world.users["staff_manager"]).get(url("staff:customer", world.customer_a))
    )
    assert set(re.findall(pencil, manager)) == set(titles)
    billing = html(
        client_for(world.users["staff_billing"]).get(url("staff:customer", world.customer_a))
    )
    assert re.findall(pencil, billing) == ["Account"]
    assert "Your staff role cannot change this." in billing


def test_the_profile_shows_pinned_notes_first(world: Any) -> None:
    add_note(world.customer_a, kind="general", body="Older remark", reason="r", actor=staff(world))
    add_note(
        world.customer_a,
        kind="identity_verification",
        body="Callback verified",
        reason="r",
        pinned=True,
        actor=staff(world),
    )
    add_note(world.customer_a, kind="general", body="Newest remark", reason="r", actor=staff(world))
    page = html(
        client_for(world.users["staff_billing"]).get(url("staff:customer", world.customer_a))
    )
    aside = page.split('class="c360-aside"')[1].split("</aside>")[0]
    assert (
        aside.index("Callback verified")
        < aside.index("Newest remark")
        < aside.index("Older remark")
    )
    assert "All notes (3)" in aside


def test_the_edit_form_asks_for_a_reason(world: Any) -> None:
    client = client_for(world.users["staff_support"])
    response = client.get(url("staff:customer-section-edit", world.customer_a, "contact"))
    page = html(response)
    assert response.status_code == 200
    assert 'name="reason"' in page and "Reason for this change" in page
    assert 'name="billing_email"' in page
    assert "Save Changes" in page
    # The primary email is shown locked with how it changes.
    assert "Changed only with the email-change procedure." in page
    partial = html(
        client.get(url("staff:customer-section-edit", world.customer_a, "contact"), **HTMX)
    )
    assert "<html" not in partial and 'name="reason"' in partial


def test_a_save_without_a_reason_changes_nothing_and_says_why(world: Any) -> None:
    client = client_for(world.users["staff_support"])
    response = edit(client, world.customer_a, "contact", billing_email="new@alpha.example")
    assert response.status_code == 400
    page = html(response)
    assert "Say why you are making this change." in page
    assert 'id="id_reason_error"' in page
    assert fresh(world.customer_a).billing_email == ""
    assert not Activity.objects.filter(verb="customer.updated", customer=world.customer_a).exists()


def test_a_missing_reason_and_a_bad_value_are_reported_together(world: Any) -> None:
    client = client_for(world.users["staff_support"])
    response = edit(client, world.customer_a, "contact", billing_email="not an email", reason=" ")
    page = html(response)
    assert "Say why you are making this change." in page
    assert 'id="id_billing_email_error"' in page
    assert fresh(world.customer_a).billing_email == ""


def test_a_staff_save_goes_through_the_action_with_the_reason(world: Any) -> None:
    client = client_for(world.users["staff_support"])
    response = edit(
        client,
        world.customer_a,
        "contact",
        billing_email="Accounts@Alpha.example",
        reason="Client asked by phone; identity verified",
    )
    assert response.status_code == 302
    assert response["Location"].endswith("?open=contact#section-contact")
    assert fresh(world.customer_a).billing_email == "accounts@alpha.example"
    activity = Activity.objects.get(verb="customer.updated", customer=world.customer_a)
    assert activity.reason == "Client asked by phone; identity verified"
    assert activity.source == "staff" and activity.actor == world.users["staff_support"]
    assert activity.changes == {"billing_email": ["", "accounts@alpha.example"]}
    [event] = update_events("contact")
    assert event.data["values"] == {"billing_email": "accounts@alpha.example"}
    page = html(client.get(response["Location"]))
    assert "Saved — the change is live and recorded in Activity with your reason." in page


def test_edit_a_customer_account_organisation_and_billing_name(world: Any) -> None:
    """Seed 001: organisation name; billing name defaults to it until set differently."""
    client = client_for(world.users["staff_manager"])
    response = edit(
        client,
        world.customer_a,
        "legal",
        legal_name="Alpha Trading Berhad",
        **LEGAL_ADDRESS,
        reason="Converted to a public company (Form 9 received)",
    )
    assert response.status_code == 302, html(response)
    customer = fresh(world.customer_a)
    assert customer.legal_name == "Alpha Trading Berhad"
    assert customer.display_name == "Alpha Trading Berhad"
    page = html(client.get(url("staff:customer", customer), {"open": "billing"}))
    billing = page.split('id="section-billing"')[1].split("</section>")[0]
    assert "Yes — same as legal" in billing and "Alpha Trading Berhad" in billing
    form = html(client.get(url("staff:customer-section-edit", customer, "billing")))
    assert 'value="Alpha Trading Berhad"' in form  # the billing name starts from the org name
    response = edit(
        client,
        customer,
        "billing",
        billing_name="Alpha Trading (Accounts Payable)",
        billing_line1="PO Box 12",
        billing_city="Kuala Lumpur",
        billing_postcode="50450",
        billing_state="MY-14",
        billing_country="MY",
        reason="Invoices go to the AP department",
    )
    assert response.status_code == 302, html(response)
    customer = fresh(customer)
    assert not customer.billing_follows_legal
    assert customer.billing_name == "Alpha Trading (Accounts Payable)"
    [event] = update_events("billing")
    assert event.data["billing_identity"]["name"] == "Alpha Trading (Accounts Payable)"


def test_staff_only_fields_are_changed_by_billing_staff_with_a_reason(world: Any) -> None:
    client = client_for(world.users["staff_billing"])
    response = edit(
        client,
        world.customer_a,
        "account",
        kind="business",
        pricing_model="custom",
        price_adjustment_percent="-10",
        reason="Reseller agreement signed",
    )
    assert response.status_code == 302, html(response)
    customer = fresh(world.customer_a)
    assert customer.pricing_model == "custom"
    assert str(customer.price_adjustment_percent) == "-10.00"


def test_a_group_that_may_not_change_a_section_is_refused_with_why(world: Any) -> None:
    client = client_for(world.users["staff_support"])
    response = client.get(url("staff:customer-section-edit", world.customer_a, "legal"))
    assert response.status_code == 403
    assert "Your staff role cannot change Legal identity." in html(response)
    response = edit(client, world.customer_a, "legal", legal_name="Hijack Sdn Bhd", reason="x")
    assert response.status_code == 403
    assert fresh(world.customer_a).legal_name == "Alpha Trading Sdn Bhd"


@pytest.mark.parametrize(
    "forged",
    [
        {"status": "closed"},  # readonly, another section
        {"number": "1"},
        {"legal_name": "Forged Sdn Bhd"},  # another section
        {"credit_limit": "999999"},  # staff mode, another section
        {"primary_email": "thief@example.org"},  # verified: its own procedure
    ],
)
def test_forged_fields_change_nothing(world: Any, forged: dict[str, str]) -> None:
    client = client_for(world.users["staff_support"])
    before = fresh(world.customer_a)
    response = edit(
        client, world.customer_a, "contact", billing_email="x@alpha.example", reason="r", **forged
    )
    assert response.status_code == 400
    assert "nothing was saved" in html(response)
    after = fresh(world.customer_a)
    assert (after.billing_email, after.status, after.legal_name, after.version) == (
        before.billing_email,
        before.status,
        before.legal_name,
        before.version,
    )


def test_keys_that_name_no_profile_field_are_never_applied(world: Any) -> None:
    client = client_for(world.users["staff_support"])
    response = edit(
        client,
        world.customer_a,
        "contact",
        billing_email="x@alpha.example",
        reason="r",
        display_name="Forged",
        version="1",
    )
    assert response.status_code == 302
    customer = fresh(world.customer_a)
    assert customer.display_name == "Alpha Trading Sdn Bhd" and customer.version == 2


def test_an_unknown_section_or_another_customers_number_is_not_found(world: Any) -> None:
    client = client_for(world.users["staff_manager"])
    assert (
        client.get(f"/staff/customers/{world.customer_a.number}/profile/nope/edit/").status_code
        == 404
    )
    assert client.get("/staff/customers/999999/profile/contact/edit/").status_code == 404
    personal = client.get(url("staff:customer-section-edit", world.customer_a, "business"))
    assert personal.status_code == 200  # a business has Business Details


def test_huge_and_unicode_input_is_a_clear_error_not_a_500(world: Any) -> None:
    client = client_for(world.users["staff_support"])
    response = edit(
        client, world.customer_a, "contact", billing_email="a@b.example", reason="x" * 20000
    )
    assert response.status_code == 400
    assert "Keep the reason under 1000 characters" in html(response)
    response = edit(
        client,
        world.customer_a,
        "contact",
        postal_city="Kuala\u202eLumpur",
        reason="Bidi 测试 ✓",
    )
    assert response.status_code == 400
    assert fresh(world.customer_a).postal_city == ""
    response = edit(
        client, world.customer_a, "contact", postal_city="Petaling Jaya 🌴", reason="测试 ✓"
    )
    assert response.status_code in (302, 400)
    assert response.status_code != 500


def test_a_conflicting_save_shows_both_values(world: Any) -> None:
    client = client_for(world.users["staff_support"])
    stale = section_etag(fresh(world.customer_a), Section.CONTACT)
    update_profile_section(
        world.customer_a, section="contact", values={"phone": "03-7890 1234"}, actor=SYSTEM
    )
    response = edit(
        client, world.customer_a, "contact", phone="03-1111 2222", reason="r", etag=stale, **{}
    )
    page = html(response)
    assert "This section changed" in page and "Saved now" in page
    assert fresh(world.customer_a).phone == "+60378901234"


def test_htmx_save_swaps_the_section_and_refreshes_the_header(world: Any) -> None:
    client = client_for(world.users["staff_manager"])
    data = {
        "legal_name": "Alpha Renamed Sdn Bhd",
        **LEGAL_ADDRESS,
        "reason": "Name change notified",
        "etag": section_etag(fresh(world.customer_a), Section.LEGAL),
    }
    response = client.post(
        url("staff:customer-section-edit", world.customer_a, "legal"), data, **HTMX
    )
    assert response.status_code == 200
    page = html(response)
    assert "<html" not in page
    assert 'id="section-legal"' in page and "Saved — the change is live" in page
    header = page.split('id="c360-header"')[1]
    assert 'hx-swap-oob="true"' in page.split('id="c360-header"')[0][-200:] + header[:200]
    assert "Alpha Renamed Sdn Bhd" in header
    assert 'id="einvoice-status" hx-swap-oob="true"' in page
    assert response["Vary"].count("HX-Request") == 1
    failed = client.post(
        url("staff:customer-section-edit", world.customer_a, "legal"),
        {**data, "reason": ""},
        **HTMX,
    )
    assert failed.status_code == 200 and "Say why you are making this change." in html(failed)


def test_cancel_with_htmx_returns_just_the_section(world: Any) -> None:
    client = client_for(world.users["staff_support"])
    response = client.get(url("staff:customer", world.customer_a), {"open": "contact"}, **HTMX)
    page = html(response)
    assert "<html" not in page and page.count('class="profile-section"') == 1
    assert 'id="section-contact"' in page


# --- identity numbers stay masked -----------------------------------------------------------


def individual_with_id(world: Any) -> Customer:
    customer = factories.make_customer("Siti Aminah", kind="individual")
    factories.make_contact(customer, "owner", user=factories.make_user("siti@example.org"))
    update_profile_section(
        customer,
        section="personal",
        values={"id_type": "nric", "id_number": "770305021234", "date_of_birth": "1977-03-05"},
        actor=SYSTEM,
    )
    return fresh(customer)


def test_identity_numbers_are_masked_in_every_staff_page(world: Any) -> None:
    customer = individual_with_id(world)
    client = client_for(world.users["staff_manager"])
    pages = [
        client.get(url("staff:customer", customer)),
        client.get(url("staff:customer-section-edit", customer, "personal")),
        client.get(url("staff:customer-section-edit", customer, "personal"), **HTMX),
        client.get(url("staff:customer-activity", customer)),
    ]
    for response in pages:
        page = html(response)
        assert response.status_code == 200
        for clear in ("770305021234", "770305-02-1234", "1977-03-05", "5 Mar 1977"):
            assert clear not in page
    assert "••••••••••1234" in html(pages[0]) and "NRIC ••••••••••1234" in html(pages[0])
    assert "Reveal Identity document number" in html(pages[0])


def test_a_blank_masked_field_keeps_its_value_a_typed_one_replaces_it(world: Any) -> None:
    customer = individual_with_id(world)
    client = client_for(world.users["staff_support"])
    response = edit(
        client,
        customer,
        "personal",
        full_name="Siti Aminah binti Abu",
        nationality="MY",
        id_type="nric",
        id_number="",
        date_of_birth="",
        reason="Name as on MyKad",
    )
    assert response.status_code == 302, html(response)
    customer = fresh(customer)
    assert customer.full_name == "Siti Aminah binti Abu"
    assert customer.id_number == "770305021234"
    assert str(customer.date_of_birth) == "1977-03-05"
    response = edit(
        client,
        customer,
        "personal",
        full_name="Siti Aminah binti Abu",
        nationality="MY",
        id_type="nric",
        id_number="770305-02-1235",
        date_of_birth="1977-03-05",
        reason="Typo in the MyKad number",
    )
    assert response.status_code == 302, html(response)
    assert fresh(customer).id_number == "770305021235"


def test_a_masked_value_can_be_removed_on_purpose_with_the_box(world: Any) -> None:
    customer = individual_with_id(world)
    client = client_for(world.users["staff_support"])
    form_page = html(client.get(url("staff:customer-section-edit", customer, "personal")))
    assert 'name="clear_id_number"' in form_page and 'name="clear_date_of_birth"' in form_page
    assert "Remove the saved date of birth" in form_page
    response = edit(
        client,
        customer,
        "personal",
        full_name="Siti Aminah",
        nationality="MY",
        id_type="",
        id_number="",
        clear_id_number="on",
        date_of_birth="",
        clear_date_of_birth="on",
        reason="Client asked us to delete her ID details",
    )
    assert response.status_code == 302, html(response)
    customer = fresh(customer)
    assert customer.id_number == "" and customer.date_of_birth is None
    page = html(client.get(url("staff:customer-activity", customer)))
    assert "Client asked us to delete her ID details" in page
    assert "770305021234" not in page  # the removed value stays masked in Activity


# --- Activity tab ---------------------------------------------------------------------------


def test_the_activity_tab_shows_staff_only_rows_and_notes_with_their_text(world: Any) -> None:
    add_note(
        world.customer_a,
        kind="identity_verification",
        body="Verified by callback to +60 3-7890 1234",
        reason="Email change request",
        actor=staff(world),
    )
    update_profile_section(
        world.customer_a,
        section="contact",
        values={"billing_email": "ap@alpha.example"},
        actor=staff(world),
        reason="Client asked",
    )
    client = client_for(world.users["staff_billing"])
    page = html(client.get(url("staff:customer-activity", world.customer_a)))
    assert "added a staff note" in page
    assert "Verified by callback to +60 3-7890 1234" in page
    assert "Staff only" in page
    assert "changed Billing email from" not in page or "ap@alpha.example" in page
    assert "Reason:</span> Client asked" in page
    notes_only = html(
        client.get(url("staff:customer-activity", world.customer_a), {"what": "notes"})
    )
    assert "added a staff note" in notes_only and "Billing email" not in notes_only


def test_the_activity_tab_pages_with_a_cursor_and_ignores_bad_filters(world: Any) -> None:
    for n in range(30):
        update_profile_section(
            world.customer_a,
            section="contact",
            values={"billing_email": f"b{n}@alpha.example"},
            actor=SYSTEM,
        )
    client = client_for(world.users["staff_support"])
    first = html(client.get(url("staff:customer-activity", world.customer_a)))
    assert "b29@alpha.example" in first and "b0@alpha.example" not in first
    older = re.search(r'href="([^"]+before=\d+)" rel="next"', first)
    assert older
    second = html(client.get(older.group(1).replace("&amp;", "&")))
    assert "b0@alpha.example" in second and "b29@alpha.example" not in second
    assert "Newest entries" in second
    bad = client.get(
        url("staff:customer-activity", world.customer_a), {"what": "<script>", "before": "x" * 99}
    )
    assert bad.status_code == 200
    assert "Some filters were ignored" in html(bad) and "<script>" not in html(bad)


def test_the_portal_activity_still_hides_staff_only_rows(world: Any) -> None:
    add_note(
        world.customer_a,
        kind="general",
        body="Internal only",
        reason="Do not show",
        actor=staff(world),
    )
    from clientdesk.customers.reveal import reveal_field

    reveal_field(world.customer_a, field="id_number", actor=staff(world))
    page = html(
        client_for(world.users["a_owner"]).get(
            reverse("portal:activity", args=[world.customer_a.number])
        )
    )
    assert "staff note" not in page and "Do not show" not in page
    assert "revealed" not in page
    assert Activity.objects.filter(customer=world.customer_a, staff_only=True).count() == 2


# --- a constant number of queries -------------------------------------------------------------


def grow(world: Any, customer: Customer, n: int) -> None:
    """``n`` more contacts, notes and profile changes (each writes Activity rows too)."""
    for i in range(n):
        factories.make_contact(customer, portal=False)
        add_note(
            customer,
            kind="general",
            body=f"note {i}",
            reason="r",
            pinned=i % 7 == 0,
            actor=staff(world),
        )
        update_profile_section(
            customer,
            section="contact",
            values={"billing_email": f"g{i}@alpha.example"},
            actor=SYSTEM,
        )


PAGES = [
    "staff:customer",
    "staff:customer-activity",
    "staff:notes",
    "staff:contacts",
    "staff:customer-change-requests",
]


@pytest.mark.parametrize("name", PAGES)
def test_the_360_costs_the_same_queries_for_3_or_60_of_everything(
    world: Any, name: str, django_assert_max_num_queries: Any
) -> None:
    sst()
    customer = world.customer_a
    grow(world, customer, 3)
    client = client_for(world.users["staff_support"])
    page = url(name, customer)
    client.get(page)  # warm caches (content types, sessions)
    with CaptureQueriesContext(connection) as small:
        assert client.get(page).status_code == 200
    assert len(small) <= 15, [q["sql"][:120] for q in small.captured_queries]  # +1: nav badge
    grow(world, customer, 57)
    assert Note.objects.filter(customer=customer).count() == 60
    with django_assert_max_num_queries(len(small)):
        response = client.get(page)
    assert response.status_code == 200
    if name == "staff:customer":
        assert "65 contacts" in html(response)  # five personas + sixty


def test_edit_form_and_save_cost_a_constant_number_of_queries(
    world: Any, django_assert_max_num_queries: Any
) -> None:
    customer = world.customer_a
    grow(world, customer, 3)
    client = client_for(world.users["staff_support"])
    edit_page = url("staff:customer-section-edit", customer, "contact")
    client.get(edit_page)
    with CaptureQueriesContext(connection) as small:
        client.get(edit_page)
    grow(world, customer, 57)
    with django_assert_max_num_queries(len(small)):
        assert client.get(edit_page).status_code == 200


def test_the_header_shows_the_running_balance(world: Any) -> None:
    from clientdesk.core.actor import Actor, Source
    from clientdesk.ledger.actions import post_entry

    post_entry(
        world.customer_a,
        kind="top_up",
        amount="120.50",
        description="Bank transfer",
        idempotency_key="header-1",
        actor=Actor(world.users["staff_billing"], Source.STAFF),
    )
    page = html(
        client_for(world.users["staff_support"]).get(url("staff:customer", world.customer_a))
    )
    header = page[page.index('id="c360-header"') :]
    assert "MYR 120.50" in header and "Credits available" in header
