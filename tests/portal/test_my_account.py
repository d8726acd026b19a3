"""My Account (seed 000): sections by role, edit in place with htmx, saves through the action,
validation, forged fields, conflicts, escaping, scoping and a constant number of queries."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clientdesk.audit.models import Activity
from clientdesk.audit.record import record
from clientdesk.core.actor import Actor, Source
from clientdesk.customers.actions import update_profile_section
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

BUSINESS_TITLES = [
    "Personal Details",
    "E-Invoice Information",
    "Business Details",
    "Contact Information",
    "Legal identity",
    "Billing identity",
    "Preferences",
    "Account",
]


def html(response: Any) -> str:
    return str(response.content.decode())


def pencils(page: str) -> list[str]:
    pencil = r'class="icon-button profile-section-edit"[^>]*aria-label="Edit ([^"]+)"'
    return re.findall(pencil, page)


def updates(customer: Customer) -> int:
    return Activity.objects.filter(customer=customer, verb="customer.updated").count()


# --- viewing --------------------------------------------------------------------------------


def test_owner_sees_every_section_in_order_with_pencils_where_they_may_edit(world: Any) -> None:
    response = client_for(world.users["a_owner"]).get(account_url(world.customer_a))
    assert response.status_code == 200
    page = html(response)
    positions = [page.index(f">{title}</h2>") for title in BUSINESS_TITLES]
    assert positions == sorted(positions)
    assert pencils(page) == [
        "Personal Details",
        "E-Invoice Information",
        "Business Details",
        "Contact Information",
        "Legal identity",
        "Billing identity",
        "Preferences",
    ]
    # Legal and billing identity need approval (a save sends a change request); the account
    # is set by the provider.
    assert "Changes to Legal identity are reviewed by Clientdesk before they apply." in page
    assert "Set by your provider. Contact support to change it." in page


def test_the_username_menu_and_sidebar_lead_to_my_account(world: Any) -> None:
    client = client_for(world.users["a_owner"])
    page = html(client.get(f"/c/{world.customer_a.number}/"))
    url = account_url(world.customer_a)
    assert f'<a role="menuitem" href="{url}">' in page
    assert f'href="{url}"' in page.split('aria-label="Customer sections"')[1]
    assert f'href="/c/{world.customer_a.number}/activity/"' in page


def test_primary_email_is_locked_with_how_to_change_it(world: Any) -> None:
    page = html(client_for(world.users["a_owner"]).get(account_url(world.customer_a)))
    contact = page.split('id="section-contact"')[1].split("</section>")[0]
    assert "a.owner@example.org" in contact
    assert "(locked)" in contact
    assert "It can only be changed through a verified request to support." in contact


def test_business_details_show_the_registered_name_and_billing_says_same_as_legal(
    world: Any,
) -> None:
    page = html(client_for(world.users["a_owner"]).get(account_url(world.customer_a)))
    business = page.split('id="section-business"')[1].split("</section>")[0]
    assert "Registered company name" in business
    assert "Alpha Trading Sdn Bhd" in business
    billing = page.split('id="section-billing"')[1].split("</section>")[0]
    assert "Same as legal" in billing
    assert "Invoices are addressed to" in billing
    assert "Alpha Trading Sdn Bhd" in billing


def test_einvoice_panel_lists_what_is_missing_then_shows_ready(
    world: Any, complete_business: Customer
) -> None:
    client = client_for(world.users["a_owner"])
    page = html(client.get(account_url(complete_business)))
    einvoice = page.split('id="section-einvoice"')[1].split("</section>")[0]
    assert "Details missing" in einvoice
    assert "Tax identification number (TIN)" in einvoice
    assert "BRN 202001012345" in einvoice
    assert "Taken from Business Details" in einvoice

    set_profile(complete_business, "contact", phone="03-2161 0000")
    set_profile(complete_business, "einvoice", tin="C2584563200", msic_code="62010")
    page = html(client.get(account_url(complete_business)))
    einvoice = page.split('id="section-einvoice"')[1].split("</section>")[0]
    assert "E-invoice ready" in einvoice
    assert "Ready for e-invoicing." in einvoice


def test_member_sees_the_profile_read_only_and_cannot_save(world: Any) -> None:
    customer = world.customer_a
    client = client_for(world.users["a_member"])
    page = html(client.get(account_url(customer)))
    assert pencils(page) == []
    assert "Contact Information" in page
    assert "Personal Details" not in page  # personal details are for owners and admins
    assert "lets you see the profile but not change it" in page

    assert client.get(edit_url(customer, "contact")).status_code == 403
    response = client.post(section_url(customer, "contact"), {"billing_email": "x@example.org"})
    assert response.status_code == 403
    assert fresh(customer).billing_email == ""
    assert updates(customer) == 0


def test_member_htmx_post_gets_a_clear_error_not_a_save(world: Any) -> None:
    customer = world.customer_a
    client = client_for(world.users["a_member"])
    response = client.post(
        section_url(customer, "contact"), {"billing_email": "x@example.org"}, **HTMX
    )
    assert response.status_code == 200
    assert "Nothing was saved" in html(response)
    assert fresh(customer).billing_email == ""


def test_billing_role_edits_einvoice_but_not_contact_information(world: Any) -> None:
    customer = world.customer_a
    client = client_for(world.users["a_billing"])
    page = html(client.get(account_url(customer)))
    assert "E-Invoice Information" in pencils(page)
    assert "Contact Information" not in pencils(page)

    assert client.get(edit_url(customer, "einvoice"), **HTMX).status_code == 200
    assert client.get(edit_url(customer, "contact"), **HTMX).status_code == 403
    response = client.post(
        section_url(customer, "einvoice"),
        {"tin": "C2584563200", "etag": etag_of(customer, "einvoice")},
        **HTMX,
    )
    assert "Saved — changes are live" in html(response)
    assert fresh(customer).tin == "C2584563200"
    assert client.post(section_url(customer, "contact"), {"phone": "0321610000"}).status_code == 403
    assert fresh(customer).phone == ""


# --- editing with htmx --------------------------------------------------------------------


def test_pencil_returns_the_edit_partial_and_save_applies_at_once(world: Any) -> None:
    customer = world.customer_a
    client = client_for(world.users["a_owner"])
    response = client.get(edit_url(customer, "contact"), **HTMX)
    assert response.status_code == 200
    partial = html(response)
    assert "<html" not in partial
    assert 'class="profile-section is-editing" id="section-contact"' in partial
    assert 'name="billing_email"' in partial
    assert 'name="primary_email"' not in partial  # locked: shown, not editable
    assert "a.owner@example.org" in partial
    etag = re.search(r'name="etag" value="([0-9a-f]+)"', partial)
    assert etag is not None
    assert "Save Changes" in partial and "Cancel" in partial

    response = client.post(
        section_url(customer, "contact"),
        {
            "etag": etag.group(1),
            "billing_email": "Accounts@Alpha.example",
            "phone": "03-2161 0000",
            "other_emails": "",
            "mobile": "",
            "postal_line1": "",
            "postal_line2": "",
            "postal_city": "",
            "postal_postcode": "",
            "postal_state": "",
            "postal_country": "",
        },
        **HTMX,
    )
    assert response.status_code == 200
    partial = html(response)
    assert 'role="status"' in partial
    assert "Saved — changes are live" in partial
    assert 'class="profile-section" id="section-contact"' in partial
    assert "accounts@alpha.example" in partial
    # E-invoice readiness is refreshed out of band (the phone counts towards it).
    assert 'id="einvoice-status" hx-swap-oob="true"' in partial

    saved = fresh(customer)
    assert saved.billing_email == "accounts@alpha.example"
    assert saved.phone == "+60321610000"
    row = Activity.objects.filter(customer=customer, verb="customer.updated").get()
    assert row.actor == world.users["a_owner"]
    assert row.source == "portal"
    assert set(row.changes) == {"billing_email", "phone"}


def test_saving_unchanged_values_says_so(world: Any) -> None:
    customer = world.customer_a
    client = client_for(world.users["a_owner"])
    response = client.post(
        section_url(customer, "business"),
        {"etag": etag_of(customer, "business"), "trading_name": "", "website": ""},
        **HTMX,
    )
    assert "No changes to save" in html(response)
    assert updates(customer) == 0


def test_cancel_returns_the_view_partial(world: Any) -> None:
    response = client_for(world.users["a_owner"]).get(
        section_url(world.customer_a, "contact"), **HTMX
    )
    assert response.status_code == 200
    assert 'class="profile-section" id="section-contact"' in html(response)
    assert "<html" not in html(response)


@pytest.mark.parametrize(
    ("section", "data", "field", "message"),
    [
        ("einvoice", {"tin": "12345"}, "tin", "Enter the LHDN tax identification number"),
        (
            "personal",
            {"full_name": "Aisha", "id_type": "nric", "id_number": "770399-02-1234"},
            "id_number",
            "Enter a valid MyKad/NRIC number",
        ),
        ("contact", {"phone": "12"}, "phone", "This is not a valid phone number"),
    ],
)
def test_invalid_values_show_next_to_the_field_and_save_nothing(
    world: Any, section: str, data: dict[str, str], field: str, message: str
) -> None:
    customer = world.customer_a
    client = client_for(world.users["a_owner"])
    etag = etag_of(customer, section)
    response = client.post(section_url(customer, section), {"etag": etag, **data}, **HTMX)
    assert response.status_code == 200  # htmx swaps it
    partial = html(response)
    error = partial.split(f'id="id_{field}_error"')[1].split("</div>")[0]
    assert message in error
    assert "data-error-summary" in partial
    # The person's input is kept, and the original version too (no silent overwrite later).
    assert f'name="etag" value="{etag}"' in partial
    assert updates(customer) == 0


def test_forged_fields_are_refused_and_nothing_changes(world: Any) -> None:
    customer = world.customer_a
    client = client_for(world.users["a_owner"])
    response = client.post(
        section_url(customer, "contact"),
        {
            "etag": etag_of(customer, "contact"),
            "billing_email": "new@alpha.example",
            "status": "closed",
            "legal_name": "Hijacked Sdn Bhd",
        },
        **HTMX,
    )
    partial = html(response)
    assert "This save includes fields you may not change; nothing was saved." in partial
    assert "Status is not part of Contact Information." in partial
    assert "Legal name is not part of Contact Information." in partial
    saved = fresh(customer)
    assert (saved.status, saved.legal_name, saved.billing_email) == (
        "active",
        "Alpha Trading Sdn Bhd",
        "",
    )
    assert updates(customer) == 0


def test_an_approval_field_posted_to_its_own_section_becomes_a_change_request(
    world: Any,
) -> None:
    customer = world.customer_a
    response = client_for(world.users["a_owner"]).post(
        section_url(customer, "business"),
        {"trading_name": "Alpha", "registration_number": "202001012345"},
        **HTMX,
    )
    assert re.search(r"Your request CR-\d{6} has been sent", html(response))
    saved = fresh(customer)
    assert (saved.trading_name, saved.registration_number) == ("Alpha", "")


def test_a_stale_save_shows_the_current_values_and_a_second_save_overwrites(world: Any) -> None:
    customer = world.customer_a
    owner = client_for(world.users["a_owner"])
    old_etag = etag_of(customer, "business")
    # Meanwhile an admin saves the same section.
    admin = Actor(user=world.users["a_admin"], source=Source.PORTAL)
    update_profile_section(
        customer, section="business", values={"trading_name": "Alpha Cloud"}, actor=admin
    )
    response = owner.post(
        section_url(customer, "business"),
        {"etag": old_etag, "trading_name": "Alpha Hosting", "website": ""},
        **HTMX,
    )
    partial = html(response)
    assert "Someone else saved this section while you were editing it" in partial
    conflict = partial.split('id="section-business-conflict"')[1].split("</table>")[0]
    # Only the field that differs, saved value beside the owner's.
    assert re.findall(r'<th scope="row">([^<]+)</th>', conflict) == ["Trading name"]
    assert 'data-label="Saved now">Alpha Cloud<' in conflict
    assert 'data-label="Yours">Alpha Hosting<' in conflict
    assert 'value="Alpha Hosting"' in partial  # the owner's input is kept
    new_etag = re.search(r'name="etag" value="([0-9a-f]+)"', partial)
    assert new_etag is not None and new_etag.group(1) != old_etag
    assert fresh(customer).trading_name == "Alpha Cloud"

    response = owner.post(
        section_url(customer, "business"),
        {"etag": new_etag.group(1), "trading_name": "Alpha Hosting", "website": ""},
        **HTMX,
    )
    assert "Saved — changes are live" in html(response)
    assert fresh(customer).trading_name == "Alpha Hosting"


def test_markup_in_a_text_field_is_shown_escaped(world: Any) -> None:
    customer = world.customer_a
    client = client_for(world.users["a_owner"])
    payload = '<script>alert("x")</script><b>Bold</b>'
    response = client.post(
        section_url(customer, "business"),
        {"etag": etag_of(customer, "business"), "trading_name": payload, "website": ""},
        **HTMX,
    )
    assert "Saved — changes are live" in html(response)
    assert fresh(customer).trading_name == payload
    for page in (html(response), html(client.get(account_url(customer)))):
        assert "<script>alert" not in page
        assert "<b>Bold</b>" not in page
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;b&gt;Bold&lt;/b&gt;" in page


def test_a_huge_value_gets_a_clear_error(world: Any) -> None:
    customer = world.customer_a
    response = client_for(world.users["a_owner"]).post(
        section_url(customer, "business"),
        {"etag": etag_of(customer, "business"), "trading_name": "x" * 10_000, "website": ""},
        **HTMX,
    )
    assert response.status_code == 200
    assert "Ensure this value has at most 200 characters (it has 10000)." in html(response)
    assert fresh(customer).trading_name == ""


# --- without JavaScript ---------------------------------------------------------------------


def test_without_javascript_edit_is_a_page_and_save_redirects_with_a_message(world: Any) -> None:
    customer = world.customer_a
    client = client_for(world.users["a_owner"])
    page = html(client.get(edit_url(customer, "business")))
    assert "<html" in page
    assert 'class="profile-section is-editing" id="section-business"' in page
    assert 'id="section-contact"' in page  # the rest of the page is there, in view mode

    response = client.post(
        section_url(customer, "business"),
        {"etag": etag_of(customer, "business"), "trading_name": "Alpha", "website": ""},
    )
    assert response.status_code == 302
    assert response["Location"] == f"{account_url(customer)}?open=business#section-business"
    page = html(client.get(response["Location"]))
    assert "Saved — changes are live" in page
    assert fresh(customer).trading_name == "Alpha"


def test_without_javascript_errors_render_the_page_with_the_form(world: Any) -> None:
    customer = world.customer_a
    response = client_for(world.users["a_owner"]).post(
        section_url(customer, "einvoice"), {"etag": etag_of(customer, "einvoice"), "tin": "nope"}
    )
    assert response.status_code == 200
    page = html(response)
    assert "<html" in page and 'id="id_tin_error"' in page
    assert fresh(customer).tin == ""


def test_view_partial_url_without_htmx_goes_back_to_the_page(world: Any) -> None:
    response = client_for(world.users["a_owner"]).get(section_url(world.customer_a, "contact"))
    assert response.status_code == 302
    assert response["Location"].endswith("?open=contact#section-contact")


# --- scoping ------------------------------------------------------------------------------


def test_another_customers_user_gets_404_everywhere(world: Any) -> None:
    customer = world.customer_a
    client = client_for(world.users["b_owner"])
    assert client.get(account_url(customer)).status_code == 404
    assert client.get(edit_url(customer, "contact"), **HTMX).status_code == 404
    response = client.post(section_url(customer, "contact"), {"billing_email": "b@b.example"})
    assert response.status_code == 404
    assert fresh(customer).billing_email == ""


def test_unknown_or_inapplicable_sections_are_404(world: Any) -> None:
    client = client_for(world.users["a_owner"])
    assert client.get(edit_url(world.customer_a, "nope"), **HTMX).status_code == 404
    assert client.post(section_url(world.customer_a, "nope"), {}).status_code == 404
    individual = factories.make_customer("Nurul Aina", kind="individual")
    owner = factories.make_user("nurul@example.org")
    factories.make_contact(individual, "owner", user=owner)
    client = client_for(owner)
    assert client.get(edit_url(individual, "business"), **HTMX).status_code == 404
    page = html(client.get(account_url(individual)))
    assert "Business Details" not in page and "Personal Details" in page


def test_a_suspended_account_shows_the_profile_without_pencils(world: Any) -> None:
    Customer.objects.filter(pk=world.customer_a.pk).update(status="suspended")
    page = html(client_for(world.users["a_owner"]).get(account_url(world.customer_a)))
    assert pencils(page) == []
    assert "This account is suspended" in page


# --- queries ------------------------------------------------------------------------------


def _count(client: Any, url: str, **extra: Any) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **extra)
    assert response.status_code == 200
    return len(captured)


def test_my_account_costs_the_same_queries_whatever_the_contacts_and_activity(
    world: Any, django_assert_num_queries: Any, django_assert_max_num_queries: Any
) -> None:
    customer = world.customer_a
    client = client_for(world.users["a_owner"])
    url = account_url(customer)
    client.get(url)  # warm caches (reference lists, session)
    baseline = _count(client, url)

    # 7 for the request plumbing (session, user, allauth's session tracking in a savepoint)
    # + the membership + the customer with its profile + its open change requests + the
    # customer switcher's list.
    with django_assert_max_num_queries(11):
        client.get(url)

    for _ in range(25):  # 5 portal contacts (world) + 25 more = 30
        factories.make_contact(customer, "member", portal=False)
    actor = Actor.system()
    for n in range(200):
        record(
            "customer.updated",
            actor=actor,
            customer=customer,
            target=customer,
            changes={"trading_name": [f"Old {n}", f"New {n}"]},
        )
    with django_assert_num_queries(baseline):
        response = client.get(url)
    assert response.status_code == 200


def test_the_edit_partial_costs_a_constant_number_of_queries(
    world: Any, django_assert_num_queries: Any
) -> None:
    customer = world.customer_a
    client = client_for(world.users["a_owner"])
    url = edit_url(customer, "contact")
    client.get(url, **HTMX)
    baseline = _count(client, url, **HTMX)
    for _ in range(28):
        factories.make_contact(customer, "member", portal=False)
    with django_assert_num_queries(baseline):
        client.get(url, **HTMX)


def test_a_stale_save_with_invalid_input_lists_every_saved_value(world: Any) -> None:
    customer = world.customer_a
    old_etag = etag_of(customer, "business")
    admin = Actor(user=world.users["a_admin"], source=Source.PORTAL)
    update_profile_section(
        customer, section="business", values={"trading_name": "Alpha Cloud"}, actor=admin
    )
    partial = html(
        client_for(world.users["a_owner"]).post(
            section_url(customer, "business"),
            {"etag": old_etag, "trading_name": "Alpha", "website": "not a website"},
            **HTMX,
        )
    )
    conflict = partial.split('id="section-business-conflict"')[1].split("</table>")[0]
    assert re.findall(r'<th scope="row">([^<]+)</th>', conflict) == [
        "Company registration number",
        "Trading name",
        "Website",
    ]
    assert "Alpha Cloud" in conflict
    assert fresh(customer).trading_name == "Alpha Cloud"


def test_sections_the_viewer_cannot_edit_or_see_are_refused(world: Any) -> None:
    customer = world.customer_a
    owner = client_for(world.users["a_owner"])
    # The Account section is set by the provider: no pencil, no edit form, no save.
    assert owner.get(edit_url(customer, "account"), **HTMX).status_code == 403
    response = owner.post(section_url(customer, "account"), {"kind": "individual"})
    assert response.status_code == 403
    assert fresh(customer).kind == "business"
    # Legal identity needs approval: a save does not change it (it becomes a request).
    owner.post(section_url(customer, "legal"), {"legal_name": "Other Sdn Bhd"})
    assert fresh(customer).legal_name == "Alpha Trading Sdn Bhd"
    # Personal details are for owners and admins only.
    member = client_for(world.users["a_member"])
    assert member.get(section_url(customer, "personal"), **HTMX).status_code == 403


def test_the_derived_registration_is_masked_for_roles_that_cannot_see_identity_numbers(
    world: Any,
) -> None:
    individual = factories.make_customer("Nurul Aina", kind="individual")
    owner = factories.make_user("nurul@example.org")
    member = factories.make_user("adik@example.org")
    factories.make_contact(individual, "owner", user=owner)
    factories.make_contact(individual, "member", user=member)
    set_profile(individual, "personal", id_type="nric", id_number="770305-02-1234")

    owner_page = html(client_for(owner).get(account_url(individual)))
    assert "NRIC 770305-02-1234" in owner_page
    member_page = html(client_for(member).get(account_url(individual)))
    assert "770305" not in member_page
    assert "NRIC ••••••••1234" in member_page
    assert "Taken from Personal Details" in member_page
