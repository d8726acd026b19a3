"""The lifecycle's pages: the staff 360's Status & ownership tab (suspend, the live checklist,
close, reopen, ownership transfer), the portal's owner pages (transfer, close) and what a
suspended or closed account looks like from the portal."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from clientdesk.audit.models import Activity
from clientdesk.customers.models import Contact, Customer
from clientdesk.customers.roles import Role
from clientdesk.events.models import Event
from clientdesk.lifecycle import actions as lifecycle
from tests import factories
from tests.conftest import World

from .test_actions import (
    cancel_pending_invitations,
    fresh,
    open_change_request,
    owner_contact,
    owners,
    post,
    primary_email,
    staff,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def client_for(user: Any) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def reauthenticated(user: Any) -> Client:
    """A signed-in portal client that has just re-entered its password (allauth's page)."""
    client = client_for(user)
    response = client.post(reverse("account_reauthenticate"), {"password": factories.PASSWORD})
    assert response.status_code == 302, response.content[:300]
    return client


def tab(customer: Customer) -> str:
    return reverse("staff:customer-lifecycle", args=[customer.number])


def staff_url(name: str, customer: Customer) -> str:
    return reverse(f"staff:{name}", args=[customer.number])


def portal_url(name: str, customer: Customer) -> str:
    return reverse(f"portal:{name}", args=[customer.number])


def text(response: Any) -> str:
    return response.content.decode()


# --- the staff tab ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "persona", ["staff_support", "staff_billing", "staff_manager", "superuser"]
)
def test_every_staff_role_sees_status_checklist_and_owner(world: World, persona: str) -> None:
    response = client_for(world.users[persona]).get(tab(world.customer_a))
    assert response.status_code == 200
    html = text(response)
    assert "Status &amp; ownership" in html
    assert 'id="check-balance"' in html and 'id="check-invitations"' in html
    assert "a.owner@example.org" in html
    manager = persona in ("staff_manager", "superuser")
    assert ("Suspend account" in html) is manager
    assert ('id="close-submit"' in html) is manager
    assert ("Transfer ownership" in html) is manager
    assert ("Only managers make these changes" in html) is not manager


def test_the_tab_costs_the_same_queries_for_a_big_customer(
    world: World, django_assert_max_num_queries: Any
) -> None:
    client = client_for(world.users["staff_manager"])
    customer = world.customer_a
    client.get(tab(customer))  # warm up (session, content types)
    with django_assert_max_num_queries(20) as small:
        assert client.get(tab(customer)).status_code == 200
    for _ in range(15):
        factories.make_contact(customer, "member")
        post(world, customer, "top_up", "1.00")
    lifecycle.suspend_customer(customer, reason="Unpaid", actor=staff(world))
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(tab(customer)).status_code == 200


def test_a_manager_suspends_and_the_owner_is_refused_on_the_next_request(world: World) -> None:
    customer = world.customer_a
    owner = world.users["a_owner"]
    # The owner also belongs to customer B, which must keep working.
    factories.make_contact(world.customer_b, "member", user=owner)
    browser = client_for(owner)
    assert browser.get(portal_url("customer-home", customer)).status_code == 200

    manager = client_for(world.users["staff_manager"])
    response = manager.post(staff_url("customer-suspend", customer), {"suspend-reason": "Unpaid"})
    assert response.status_code == 302 and response["Location"] == tab(customer)
    assert fresh(customer).status == Customer.Status.SUSPENDED

    for name in ("customer-home", "account", "contacts", "my-contact"):
        refused = browser.get(portal_url(name, customer))
        assert refused.status_code == 403, name
        page = text(refused)
        assert "This account is suspended — contact support" in page
        assert settings.CLIENTDESK_SUPPORT_EMAIL in page
        assert settings.CLIENTDESK_SUPPORT_PHONE in page
    assert "Your other accounts are not affected" in page
    assert world.customer_b.display_name in page
    assert browser.get(portal_url("customer-home", world.customer_b)).status_code == 200
    # A change posted from a page loaded before the suspension is refused too.
    member = owner_contact(world, "a_member")
    response = browser.post(reverse("portal:contact-delete", args=[customer.number, member.pk]), {})
    assert response.status_code == 403
    assert Contact.objects.filter(pk=member.pk).exists()

    html = text(manager.get(tab(customer)))
    assert "Lift suspension" in html and "Unpaid" in html
    response = manager.post(staff_url("customer-unsuspend", customer), {"unsuspend-reason": "Paid"})
    assert response.status_code == 302
    assert browser.get(portal_url("customer-home", customer)).status_code == 200


def test_suspend_without_a_reason_changes_nothing(world: World) -> None:
    customer = world.customer_a
    manager = client_for(world.users["staff_manager"])
    for data in ({}, {"suspend-reason": "   "}, {"suspend-reason": "x" * 5000}):
        response = manager.post(staff_url("customer-suspend", customer), data)
        assert response.status_code == 400
        assert 'id="id_suspend-reason_error"' in text(response)
    response = manager.post(staff_url("customer-suspend", customer), {"suspend-reason": "a\x00b"})
    assert response.status_code == 400
    assert fresh(customer).status == Customer.Status.ACTIVE
    assert not Event.objects.filter(type="customer.suspended").exists()
    # Unicode is fine.
    response = manager.post(
        staff_url("customer-suspend", customer), {"suspend-reason": "Tunggakan 😕 — 未付款"}
    )
    assert response.status_code == 302
    assert Activity.objects.get(verb="customer.suspended").reason == "Tunggakan 😕 — 未付款"


@pytest.mark.parametrize("persona", ["staff_support", "staff_billing"])
@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("customer-suspend", {"suspend-reason": "x"}),
        ("customer-close", {"close-reason": "x"}),
        ("customer-transfer", {"new_owner": "1", "reason": "x", "confirm": "yes"}),
    ],
)
def test_forged_posts_from_non_managers_are_forbidden(
    world: World, persona: str, name: str, data: dict[str, str]
) -> None:
    cancel_pending_invitations(world.customer_a)
    data = {**data}
    if name == "customer-transfer":
        data["new_owner"] = str(owner_contact(world, "a_member").pk)
    response = client_for(world.users[persona]).post(staff_url(name, world.customer_a), data)
    assert response.status_code == 403
    assert fresh(world.customer_a).status == Customer.Status.ACTIVE
    assert [c.user_id for c in owners(world.customer_a)] == [world.users["a_owner"].pk]
    assert (
        not Event.objects.filter(type__startswith="customer.")
        .exclude(type="customer.created")
        .exists()
    )


def test_the_action_routes_are_post_only(world: World) -> None:
    manager = client_for(world.users["staff_manager"])
    for name in ("customer-suspend", "customer-unsuspend", "customer-close", "customer-reopen"):
        assert manager.get(staff_url(name, world.customer_a)).status_code == 405


def test_close_button_is_disabled_while_money_is_on_the_account(world: World) -> None:
    customer = world.customer_a
    cancel_pending_invitations(customer)
    post(world, customer, "top_up", "12.50")
    manager = client_for(world.users["staff_manager"])
    html = text(manager.get(tab(customer)))
    button = re.search(r'<button[^>]*id="close-submit"[^>]*>', html)
    assert button and "disabled" in button.group(0)
    assert "Credits of" in html and "12.50" in html and "must be withdrawn" in html
    assert 'data-ok="false"' in html

    # A forged close is refused by the action (re-checked in its transaction).
    response = manager.post(staff_url("customer-close", customer), {"close-reason": "Left"})
    assert response.status_code == 409
    assert "cannot close yet" in text(response)
    assert fresh(customer).status == Customer.Status.ACTIVE

    # The live partial: red now; green after the refund, with the button enabled (oob).
    partial = manager.get(staff_url("customer-lifecycle-checklist", customer), **HTMX)
    assert partial.status_code == 200
    assert 'id="check-balance" data-ok="false"' in text(partial)
    post(world, customer, "withdrawal", "12.50")
    partial = text(manager.get(staff_url("customer-lifecycle-checklist", customer), **HTMX))
    assert 'data-ok="false"' not in partial
    assert 'hx-swap-oob="true"' in partial
    button = re.search(r'<button[^>]*id="close-submit"[^>]*>', partial)
    assert button and "disabled" not in button.group(0)
    # Other staff get the list without the button.
    support = client_for(world.users["staff_support"])
    partial = text(support.get(staff_url("customer-lifecycle-checklist", customer), **HTMX))
    assert 'id="check-balance"' in partial and "close-submit" not in partial


def test_the_live_checklist_reloads_the_page_when_the_status_changed(world: World) -> None:
    customer = world.customer_a
    support = client_for(world.users["staff_support"])
    url = staff_url("customer-lifecycle-checklist", customer)
    assert support.get(f"{url}?shown=active", **HTMX).status_code == 200
    lifecycle.suspend_customer(customer, reason="Unpaid", actor=staff(world))
    response = support.get(f"{url}?shown=active", **HTMX)
    assert response.status_code == 204 and response["HX-Refresh"] == "true"


def test_close_from_the_tab_then_reopen(world: World) -> None:
    customer = world.customer_a
    cancel_pending_invitations(customer)
    manager = client_for(world.users["staff_manager"])
    response = manager.post(staff_url("customer-close", customer), {"close-reason": ""})
    assert response.status_code == 400
    response = manager.post(
        staff_url("customer-close", customer), {"close-reason": "Client's letter"}
    )
    assert response.status_code == 302
    closed = fresh(customer)
    assert closed.status == Customer.Status.CLOSED

    # Gone from the portal (404 for every one of its people) and from the default list.
    for role in Role:
        response = client_for(world.users[f"a_{role.value}"]).get(
            portal_url("customer-home", customer)
        )
        assert response.status_code == 404
    listing = text(manager.get(reverse("staff:customers")))
    assert customer.client_id not in listing
    assert world.customer_b.client_id in listing
    listing = text(manager.get(reverse("staff:customers"), {"status": "closed"}))
    assert customer.client_id in listing and world.customer_b.client_id not in listing
    listing = text(manager.get(reverse("staff:customers"), {"status": "all"}))
    assert customer.client_id in listing and world.customer_b.client_id in listing

    html = text(manager.get(tab(customer)))
    assert "Closed on" in html and "Personal data kept until" in html
    assert "Reopen account" in html and 'id="close-checklist"' not in html
    ends = lifecycle.retention_ends(closed)
    assert ends is not None and ends.strftime("%Y") in html
    response = manager.post(staff_url("customer-reopen", customer), {"reopen-reason": "Back"})
    assert response.status_code == 302
    assert fresh(customer).status == Customer.Status.ACTIVE
    assert (
        client_for(world.users["a_owner"]).get(portal_url("customer-home", customer)).status_code
        == 200
    )


def test_close_with_an_open_request_shows_why(world: World) -> None:
    customer = world.customer_a
    cancel_pending_invitations(customer)
    open_change_request(world, customer)
    manager = client_for(world.users["staff_manager"])
    html = text(manager.get(tab(customer)))
    assert 'id="check-change_requests" data-ok="false"' in html
    response = manager.post(staff_url("customer-close", customer), {"close-reason": "Left"})
    assert response.status_code == 409 and "change request" in text(response)
    assert fresh(customer).status == Customer.Status.ACTIVE


# --- staff: ownership transfer --------------------------------------------------------------------


def test_a_manager_transfers_ownership_through_a_confirmation(world: World) -> None:
    customer = world.customer_a
    member = owner_contact(world, "a_member")
    manager = client_for(world.users["staff_manager"])
    url = staff_url("customer-transfer", customer)
    page = text(manager.get(url))
    for persona in ("a_admin", "a_billing", "a_technical", "a_member"):
        assert f"{persona.replace('_', '.')}@example.org" in page
    assert f'value="{owner_contact(world, "a_owner").pk}"' not in page

    # No reason: the form again.
    response = manager.post(url, {"new_owner": member.pk, "reason": ""})
    assert response.status_code == 400
    # Step 1 → the confirmation, nothing changed yet.
    response = manager.post(url, {"new_owner": member.pk, "reason": "Signed letter"})
    assert response.status_code == 200
    html = text(response)
    for line in (*lifecycle.WHAT_MOVES, *lifecycle.WHAT_STAYS):
        assert line.replace("'", "&#x27;") in html
    assert "a.member@example.org" in html
    assert [c.user_id for c in owners(customer)] == [world.users["a_owner"].pk]
    # "Change" goes back with the choice kept.
    response = manager.post(url, {"new_owner": member.pk, "reason": "Signed letter", "edit": "yes"})
    assert "Review the transfer" in text(response) and "Signed letter" in text(response)
    # Confirm.
    response = manager.post(
        url, {"new_owner": member.pk, "reason": "Signed letter", "confirm": "yes"}
    )
    assert response.status_code == 302 and response["Location"] == tab(customer)
    assert [c.pk for c in owners(customer)] == [member.pk]
    assert owner_contact(world, "a_owner").role == Role.ADMIN
    assert primary_email(customer) == "a.member@example.org"
    assert Activity.objects.get(verb="customer.ownership_transferred").reason == "Signed letter"


@pytest.mark.parametrize("forged", ["other-customer", "no-portal", "owner", "junk", "huge"])
def test_a_forged_new_owner_changes_nothing(world: World, forged: str) -> None:
    customer = world.customer_a
    value = {
        "other-customer": lambda: owner_contact(world, "b_member", world.customer_b).pk,
        "no-portal": lambda: factories.make_contact(customer, portal=False).pk,
        "owner": lambda: owner_contact(world, "a_owner").pk,
        "junk": lambda: "1 OR 1=1",
        "huge": lambda: "9" * 40,
    }[forged]()
    manager = client_for(world.users["staff_manager"])
    response = manager.post(
        staff_url("customer-transfer", customer),
        {"new_owner": value, "reason": "x", "confirm": "yes"},
    )
    assert response.status_code == 400
    assert "Choose a contact from the list" in text(response)
    assert [c.user_id for c in owners(customer)] == [world.users["a_owner"].pk]
    assert not Event.objects.filter(type="customer.ownership_transferred").exists()


def test_the_transfer_page_is_for_managers(world: World) -> None:
    url = staff_url("customer-transfer", world.customer_a)
    assert client_for(world.users["staff_support"]).get(url).status_code == 403
    assert client_for(world.users["a_owner"]).get(url).status_code == 404


# --- portal: My Account's ownership card -------------------------------------------------------


def test_only_the_owner_sees_the_account_ownership_card(world: World) -> None:
    customer = world.customer_a
    html = text(client_for(world.users["a_owner"]).get(portal_url("account", customer)))
    assert "Account ownership" in html
    assert portal_url("ownership-transfer", customer) in html
    assert portal_url("close-account", customer) in html
    for persona in ("a_admin", "a_billing", "a_member"):
        html = text(client_for(world.users[persona]).get(portal_url("account", customer)))
        assert "Account ownership" not in html
        assert portal_url("close-account", customer) not in html


# --- portal: ownership transfer -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["ownership-transfer", "close-account"])
def test_owner_pages_refuse_other_roles_and_customers(world: World, name: str) -> None:
    url = portal_url(name, world.customer_a)
    for persona in ("a_admin", "a_billing", "a_technical", "a_member"):
        assert reauthenticated(world.users[persona]).get(url).status_code == 403
        assert reauthenticated(world.users[persona]).post(url, {}).status_code == 403
    assert reauthenticated(world.users["b_owner"]).get(url).status_code == 404
    assert client_for(world.users["staff_manager"]).get(url).status_code == 404
    assert Client().get(url).status_code == 302


@pytest.mark.parametrize("name", ["ownership-transfer", "close-account"])
def test_owner_pages_ask_for_the_password_again(world: World, name: str) -> None:
    cancel_pending_invitations(world.customer_a)
    client = client_for(world.users["a_owner"])
    url = portal_url(name, world.customer_a)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    member = owner_contact(world, "a_member")
    data = {"new_owner": member.pk, "confirm": "yes", "client_id": world.customer_a.client_id}
    response = client.post(url, data)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert fresh(world.customer_a).status == Customer.Status.ACTIVE
    assert [c.user_id for c in owners(world.customer_a)] == [world.users["a_owner"].pk]


def test_the_owner_transfers_ownership_and_becomes_an_admin(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    from django.core import mail

    customer = world.customer_a
    member = owner_contact(world, "a_member")
    client = reauthenticated(world.users["a_owner"])
    url = portal_url("ownership-transfer", customer)
    html = text(client.get(url))
    assert "a.member@example.org" in html and "Who becomes the owner?" in html

    response = client.post(url, {"new_owner": member.pk})
    assert response.status_code == 200
    html = text(response)
    assert "What moves" in html and "What stays" in html
    for line in lifecycle.WHAT_STAYS:
        assert line.replace("'", "&#x27;") in html
    assert [c.user_id for c in owners(customer)] == [world.users["a_owner"].pk]

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"new_owner": member.pk, "confirm": "yes"})
    assert response.status_code == 302
    assert response["Location"] == portal_url("ownership-transferred", customer)
    assert [c.pk for c in owners(customer)] == [member.pk]
    assert primary_email(customer) == "a.member@example.org"
    done = text(client.get(response["Location"]))
    assert f"{member.full_name} is now the owner" in done
    assert "You are now <strong>admin</strong>" in done
    assert {m.to[0] for m in mail.outbox} >= {"a.owner@example.org", "a.member@example.org"}
    # The old owner lost the page.
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("forged", ["other-customer", "no-portal", "junk"])
def test_the_owner_cannot_forge_the_new_owner(world: World, forged: str) -> None:
    customer = world.customer_a
    value = {
        "other-customer": lambda: owner_contact(world, "b_member", world.customer_b).pk,
        "no-portal": lambda: factories.make_contact(customer, portal=False).pk,
        "junk": lambda: "<script>",
    }[forged]()
    client = reauthenticated(world.users["a_owner"])
    response = client.post(
        portal_url("ownership-transfer", customer), {"new_owner": value, "confirm": "yes"}
    )
    assert response.status_code == 400
    assert "Choose a contact from the list" in text(response)
    assert [c.user_id for c in owners(customer)] == [world.users["a_owner"].pk]


# --- portal: closing the account ------------------------------------------------------------------


def test_the_owner_sees_the_checklist_and_cannot_close_with_credits(world: World) -> None:
    customer = world.customer_a
    cancel_pending_invitations(customer)
    post(world, customer, "top_up", "0.01")
    client = reauthenticated(world.users["a_owner"])
    url = portal_url("close-account", customer)
    html = text(client.get(url))
    assert 'id="check-balance" data-ok="false"' in html
    assert "Type the client ID" not in html  # no form while red
    response = client.post(url, {"client_id": customer.client_id})
    assert response.status_code == 409
    assert "cannot close yet" in text(response)
    assert fresh(customer).status == Customer.Status.ACTIVE


def test_the_owner_closes_by_typing_the_client_id(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    customer = world.customer_a
    cancel_pending_invitations(customer)
    owner = world.users["a_owner"]
    factories.make_contact(world.customer_b, "member", user=owner)
    client = reauthenticated(owner)
    url = portal_url("close-account", customer)
    html = text(client.get(url))
    assert "Type the client ID" in html and customer.client_id in html
    for typed in ("", "C-1", world.customer_b.client_id):
        response = client.post(url, {"client_id": typed})
        assert response.status_code == 400
    assert fresh(customer).status == Customer.Status.ACTIVE

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url, {"client_id": f" {customer.client_id.lower()} ", "feedback": "Moving on"}
        )
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:account-closed")
    closed = fresh(customer)
    assert closed.status == Customer.Status.CLOSED
    activity = Activity.objects.get(verb="customer.closed")
    assert activity.reason == "Moving on" and activity.actor_id == owner.pk
    page = text(client.get(response["Location"]))
    assert f"{customer.display_name} is closed" in page
    assert "Go to your other accounts" in page
    # The account disappeared for them; the other customer stays.
    assert client.get(portal_url("customer-home", customer)).status_code == 404
    assert client.get(portal_url("customer-home", world.customer_b)).status_code == 200
    assert customer.display_name not in text(client.get(reverse("portal:home"), follow=True))


def test_the_closed_page_without_a_closure_goes_home(world: World) -> None:
    response = client_for(world.users["a_owner"]).get(reverse("portal:account-closed"))
    assert response.status_code == 302 and response["Location"] == reverse("portal:home")


# --- Login As: support signed in as the owner cannot transfer or close ------------------------


def test_support_signed_in_as_the_owner_cannot_transfer_or_close(world: World) -> None:
    customer = world.customer_a
    cancel_pending_invitations(customer)
    support = client_for(world.users["staff_support"])
    owner = owner_contact(world, "a_owner")
    response = support.post(
        reverse("staff:login-as-start", args=[customer.number, owner.pk]),
        {"reason": "Ticket 4411: the client cannot find the invoices"},
    )
    assert response.status_code == 302
    assert support.get(portal_url("customer-home", customer)).status_code == 200
    member = owner_contact(world, "a_member")
    for name, data in (
        ("ownership-transfer", {"new_owner": member.pk, "confirm": "yes"}),
        ("close-account", {"client_id": customer.client_id}),
    ):
        assert support.get(portal_url(name, customer)).status_code == 403
        assert support.post(portal_url(name, customer), data).status_code == 403
    assert fresh(customer).status == Customer.Status.ACTIVE
    assert [c.pk for c in owners(customer)] == [owner.pk]


def test_a_repeated_or_stale_action_says_so_and_never_fails(world: World) -> None:
    customer = world.customer_a
    cancel_pending_invitations(customer)
    manager = client_for(world.users["staff_manager"])
    # Reopen and lift on an active account: nothing to do, and the page says so.
    for name, prefix in (("customer-reopen", "reopen"), ("customer-unsuspend", "unsuspend")):
        response = manager.post(staff_url(name, customer), {f"{prefix}-reason": "x"}, follow=True)
        assert response.status_code == 200
        assert "Nothing changed: the account is already active." in text(response)
    # Closed meanwhile (another manager): a suspend from a stale page is refused, shown, no 500.
    lifecycle.close_customer(customer, reason="Left", actor=staff(world))
    response = manager.post(staff_url("customer-suspend", customer), {"suspend-reason": "x"})
    assert response.status_code == 409
    assert "A closed account cannot be suspended." in text(response)
    assert fresh(customer).status == Customer.Status.CLOSED
    response = manager.post(
        staff_url("customer-transfer", customer),
        {"new_owner": owner_contact(world, "a_member").pk, "reason": "x", "confirm": "yes"},
    )
    assert response.status_code == 400  # nobody can take over a closed account
