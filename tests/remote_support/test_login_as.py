"""Login As (issue 8, Part C): who may start it and on whom, the form and its POST, the
banner, attribution of what support does meanwhile, the blocked sensitive pages, the other
customers' pages, the time box and the end."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib.auth.models import Group
from django.test import Client, override_settings
from django.urls import resolve, reverse
from django.utils import timezone

from clientdesk.audit.models import Activity
from clientdesk.change_requests.models import ChangeRequest
from clientdesk.customers.models import Contact, Customer
from clientdesk.events.models import Event
from clientdesk.remote_support.middleware import BLOCKED_VIEWS, SESSION_KEY
from clientdesk.remote_support.models import LoginAsSession
from tests import factories

pytestmark = pytest.mark.django_db

REASON = "Ticket #4711: the owner cannot find where to change the billing phone"
HTMX = {"HTTP_HX_REQUEST": "true"}


# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def sam(world: Any) -> Any:
    """A support-group staff member with a name, as customers will read it."""
    user = factories.make_user("sam@staff.example", full_name="Sam Tan", is_staff=True)
    user.groups.set([Group.objects.get_or_create(name="support")[0]])
    factories.enrol_totp(user)
    return user


def client_for(user: Any, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def html(response: Any) -> str:
    return str(response.content.decode())


def text(response: Any) -> str:
    """The page's words, tags dropped and whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html(response))).strip()


def contact_of(world: Any, persona: str, customer: Customer | None = None) -> Contact:
    return Contact.objects.get(customer=customer or world.customer_a, user=world.users[persona])


def start_url(contact: Contact) -> str:
    return reverse("staff:login-as-start", args=[contact.customer.number, contact.pk])


def end_url() -> str:
    return reverse("portal:login-as-end")


def home_url(customer: Customer) -> str:
    return reverse("portal:customer-home", args=[customer.number])


def contacts_url(customer: Customer) -> str:
    return reverse("staff:contacts", args=[customer.number])


def start(client: Client, contact: Contact, reason: str = REASON) -> Any:
    return client.post(start_url(contact), {"reason": reason})


def signed_in_as(world: Any, staff: Any, persona: str = "a_owner") -> Client:
    """A staff member's browser with an open Login As session as ``persona`` of customer A."""
    client = client_for(staff)
    response = start(client, contact_of(world, persona))
    assert response.status_code == 302, html(response)
    return client


def open_sessions() -> int:
    return LoginAsSession.objects.filter(ended_at__isnull=True).count()


def activity(customer: Customer, verb: str) -> list[Activity]:
    return list(Activity.objects.filter(customer=customer, verb=verb).order_by("id"))


def events(customer: Customer, event_type: str) -> list[Event]:
    return list(Event.objects.filter(customer=customer, type=event_type).order_by("occurred_at"))


def contact_section_post(customer: Customer, **values: str) -> dict[str, str]:
    """Every field of the Contact Information form, as the browser sends it."""
    from clientdesk.customers.policy import Section
    from clientdesk.customers.sections import section_etag

    fresh = Customer.objects.get(pk=customer.pk)
    fields = {
        "billing_email": fresh.billing_email,
        "phone": fresh.phone,
        "other_emails": "",
        "mobile": "",
        "postal_line1": "",
        "postal_line2": "",
        "postal_city": "",
        "postal_postcode": "",
        "postal_state": "",
        "postal_country": "",
    }
    return {"etag": section_etag(fresh, Section("contact")), **fields, **values}


# --- starting: who, on whom, how -------------------------------------------------------------


def test_the_form_says_how_long_and_that_the_customer_will_see_it_and_get_never_starts(
    world: Any, sam: Any
) -> None:
    owner = contact_of(world, "a_owner")
    client = client_for(sam)
    response = client.get(start_url(owner), {"reason": "a reason in the query string"})
    assert response.status_code == 200
    page = text(response)
    assert f"Login As {owner.full_name}" in page
    assert f"The session lasts {settings.CLIENTDESK_LOGIN_AS_MINUTES} minutes" in page
    assert "will see in their Activity that support (Sam Tan) accessed their account" in page
    assert 'name="reason"' in html(response) and "csrfmiddlewaretoken" in html(response)
    assert LoginAsSession.objects.count() == 0
    assert activity(world.customer_a, "support.login_as_started") == []
    assert SESSION_KEY not in client.session


@override_settings(CLIENTDESK_LOGIN_AS_MINUTES=45)
def test_the_form_reads_the_configured_time_limit(world: Any, sam: Any) -> None:
    page = text(client_for(sam).get(start_url(contact_of(world, "a_owner"))))
    assert "The session lasts 45 minutes" in page


def test_support_starts_a_session_and_lands_in_the_customers_portal(world: Any, sam: Any) -> None:
    client = client_for(sam)
    key_before = client.session.session_key
    response = start(client, contact_of(world, "a_owner"))
    assert response.status_code == 302
    assert response["Location"] == home_url(world.customer_a)

    session = LoginAsSession.objects.get()
    assert (session.staff, session.user, session.customer) == (
        sam,
        world.users["a_owner"],
        world.customer_a,
    )
    assert session.reason == REASON and session.is_open
    minutes = (session.expires_at - session.started_at).total_seconds() / 60
    assert minutes == settings.CLIENTDESK_LOGIN_AS_MINUTES
    assert client.session[SESSION_KEY] == session.pk
    assert client.session.session_key != key_before  # a fresh key once the session starts

    [started] = activity(world.customer_a, "support.login_as_started")
    assert started.actor == sam and started.impersonator is None and started.reason == REASON
    [event] = events(world.customer_a, "support.login_as_started")
    assert event.data["staff_id"] == sam.pk and event.data["user_id"] == session.user_id

    page = client.get(response["Location"])
    assert page.status_code == 200
    words = text(page)
    assert (
        f"You are signed in as {session.contact_name} for {world.customer_a.display_name} "
        f"({world.customer_a.client_id}) on behalf of Sam Tan" in words
    )
    assert re.search(r"(29|30) minutes left", words)
    assert 'aria-label="Login As session"' in html(page)
    assert f'action="{end_url()}"' in html(page)
    assert "clientdesk/login_as.css" in html(page)


@pytest.mark.parametrize("persona", ["staff_billing", "staff_manager"])
def test_staff_without_the_support_role_cannot_start(world: Any, persona: str) -> None:
    client = client_for(world.users[persona])
    owner = contact_of(world, "a_owner")
    assert client.get(start_url(owner)).status_code == 403
    assert start(client, owner).status_code == 403
    assert LoginAsSession.objects.count() == 0
    assert activity(world.customer_a, "support.login_as_started") == []
    assert SESSION_KEY not in client.session


def test_customers_do_not_find_the_start_page_and_a_superuser_may_start(world: Any) -> None:
    owner = contact_of(world, "a_owner")
    for persona in ("a_owner", "a_admin", "b_owner"):
        assert (
            client_for(world.users[persona]).post(start_url(owner), {"reason": "x"}).status_code
            == 404
        )
    assert LoginAsSession.objects.count() == 0
    assert start(client_for(world.users["superuser"]), owner).status_code == 302
    assert LoginAsSession.objects.get().staff == world.users["superuser"]


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("", "Give the reason for signing in as the customer; they will see it."),
        ("    ", "Give the reason for signing in as the customer; they will see it."),
        ("x" * 5000, "at most 500 characters"),
        ("bad\x00byte", "Null characters are not allowed"),
        ("bell\x07rings", "control"),
    ],
)
def test_a_reason_is_required_and_must_be_sensible(
    world: Any, sam: Any, reason: str, message: str
) -> None:
    client = client_for(sam)
    response = start(client, contact_of(world, "a_owner"), reason)
    assert response.status_code == 400
    assert message.lower() in html(response).lower()
    assert 'aria-invalid="true"' in html(response)
    assert LoginAsSession.objects.count() == 0
    assert SESSION_KEY not in client.session


def test_a_unicode_reason_is_kept_as_written(world: Any, sam: Any) -> None:
    reason = "Client asked by phone — 客户要求 · Ärger mit der Rechnung 🙂"
    assert start(client_for(sam), contact_of(world, "a_owner"), reason).status_code == 302
    assert LoginAsSession.objects.get().reason == reason


def test_a_post_without_the_csrf_token_is_refused(world: Any, sam: Any) -> None:
    client = client_for(sam, enforce_csrf_checks=True)
    response = start(client, contact_of(world, "a_owner"))
    assert response.status_code == 403
    assert LoginAsSession.objects.count() == 0


def test_staff_and_superusers_cannot_be_signed_in_as(world: Any, sam: Any) -> None:
    for target in (world.users["staff_manager"], world.users["superuser"]):
        contact = factories.make_contact(world.customer_a, "admin", user=target)
        assert contact.user_id == target.pk
        response = start(client_for(sam), contact)
        assert response.status_code == 403
        assert "Staff accounts cannot be signed in as." in html(response)
    assert LoginAsSession.objects.count() == 0


def test_a_contact_without_a_sign_in_is_refused(world: Any, sam: Any) -> None:
    no_sign_in = factories.make_contact(world.customer_a, portal=False)
    invited = factories.make_contact(world.customer_a, portal=False, portal_access=True)
    for contact in (no_sign_in, invited):
        response = start(client_for(sam), contact)
        assert response.status_code == 409
        assert "has no portal sign-in to use" in html(response)
    assert LoginAsSession.objects.count() == 0


def test_another_customers_contact_is_not_found(world: Any, sam: Any) -> None:
    b_owner = contact_of(world, "b_owner", world.customer_b)
    url = reverse("staff:login-as-start", args=[world.customer_a.number, b_owner.pk])
    assert client_for(sam).get(url).status_code == 404
    assert client_for(sam).post(url, {"reason": REASON}).status_code == 404
    assert LoginAsSession.objects.count() == 0


def test_a_suspended_customer_is_refused(world: Any, sam: Any) -> None:
    Customer.objects.filter(pk=world.customer_a.pk).update(status=Customer.Status.SUSPENDED)
    response = start(client_for(sam), contact_of(world, "a_owner"))
    assert response.status_code == 409
    assert "suspended" in html(response)
    assert LoginAsSession.objects.count() == 0


def test_the_contacts_tab_offers_login_as_to_support_only(world: Any, sam: Any) -> None:
    owner = contact_of(world, "a_owner")
    no_sign_in = factories.make_contact(world.customer_a, portal=False)
    for user in (sam, world.users["superuser"]):
        page = html(client_for(user).get(contacts_url(world.customer_a)))
        assert f'href="{start_url(owner)}"' in page
        assert f'aria-label="Login As {owner.full_name}"' in page
        assert start_url(no_sign_in) not in page
    for persona in ("staff_billing", "staff_manager"):
        page = html(client_for(world.users[persona]).get(contacts_url(world.customer_a)))
        assert "/login-as/" not in page
    # The portal's own contacts page (the same template) never has it.
    portal_page = html(
        client_for(world.users["a_owner"]).get(
            reverse("portal:contacts", args=[world.customer_a.number])
        )
    )
    assert "/login-as/" not in portal_page and "Login As" not in portal_page
    # A suspended customer: no button either.
    Customer.objects.filter(pk=world.customer_a.pk).update(status=Customer.Status.SUSPENDED)
    assert "/login-as/" not in html(client_for(sam).get(contacts_url(world.customer_a)))


# --- while signed in as the customer -------------------------------------------------------


def test_a_profile_save_is_recorded_as_staff_as_user(world: Any, sam: Any) -> None:
    client = signed_in_as(world, sam)
    owner = world.users["a_owner"]
    url = reverse("portal:account-section", args=[world.customer_a.number, "contact"])
    response = client.post(url, contact_section_post(world.customer_a, phone="03-2161 0000"))
    assert response.status_code == 302
    assert Customer.objects.get(pk=world.customer_a.pk).phone == "+60321610000"

    [row] = activity(world.customer_a, "customer.updated")
    assert row.actor == owner
    assert row.impersonator == sam
    assert row.actor_label == f"Sam Tan as {owner}"
    assert row.source == "portal"
    [event] = events(world.customer_a, "customer.updated")
    assert event.actor["user_id"] == owner.pk
    assert event.actor["impersonator_id"] == sam.pk


def test_the_customer_reads_that_support_accessed_the_account_and_why(world: Any, sam: Any) -> None:
    client = signed_in_as(world, sam)
    url = reverse("portal:account-section", args=[world.customer_a.number, "contact"])
    client.post(url, contact_section_post(world.customer_a, phone="03-2161 0000"))
    client.post(end_url())

    owner_page = text(
        client_for(world.users["a_owner"]).get(
            reverse("portal:activity", args=[world.customer_a.number])
        )
    )
    assert f"Support (Sam Tan) accessed your account: {REASON}" in owner_page
    assert f"Sam Tan as {world.users['a_owner']} set Phone to 03-2161 0000" in owner_page
    assert "Support (Sam Tan) ended the support session" in owner_page
    assert "You are signed in as" not in owner_page  # the owner has no banner


def test_portal_home_goes_to_the_sessions_customer_and_other_customers_are_404(
    world: Any, sam: Any
) -> None:
    # The owner of A is also a contact of B: still, only A is reachable through Login As.
    factories.make_contact(world.customer_b, "admin", user=world.users["a_owner"])
    assert client_for(world.users["a_owner"]).get(home_url(world.customer_b)).status_code == 200
    client = signed_in_as(world, sam)
    assert client.get(home_url(world.customer_a)).status_code == 200
    for url in (
        home_url(world.customer_b),
        reverse("portal:account", args=[world.customer_b.number]),
        reverse("portal:contacts", args=[world.customer_b.number]),
        reverse("portal:account", args=[f"C-{world.customer_b.number}"]),
        "/c/not-a-number/",
    ):
        assert client.get(url).status_code == 404, url
    response = client.get(reverse("portal:home"))
    assert response.status_code == 302
    assert response["Location"] == home_url(world.customer_a)


def test_the_banner_shows_in_the_staff_console_too_and_only_during_a_session(
    world: Any, sam: Any
) -> None:
    client = client_for(sam)
    assert "Login As session" not in html(client.get(contacts_url(world.customer_a)))
    start(client, contact_of(world, "a_owner"))
    console = client.get(reverse("staff:home"))
    assert console.status_code == 200
    assert 'aria-label="Login As session"' in html(console)
    assert "on behalf of Sam Tan" in text(console)
    # In the console the staff member is themselves: the user menu is theirs.
    assert 'aria-label="Account menu for Sam Tan"' in html(console)
    portal = client.get(home_url(world.customer_a))
    assert f'aria-label="Account menu for {world.users["a_owner"].display_name}"' in html(portal)


def blocked(response: Any) -> bool:
    return response.status_code == 403 and "Not available while signed in as a customer" in (
        html(response)
    )


def test_password_and_two_factor_pages_are_blocked_and_nothing_changes(
    world: Any, sam: Any
) -> None:
    client = signed_in_as(world, sam)
    staff_hash = type(sam).objects.get(pk=sam.pk).password
    owner_hash = type(sam).objects.get(pk=world.users["a_owner"].pk).password
    for url in (
        "/accounts/password/change/",
        "/accounts/2fa/",
        "/accounts/2fa/totp/activate/",
        "/accounts/2fa/totp/deactivate/",
        "/accounts/2fa/recovery-codes/",
        "/account/security/",
    ):
        assert blocked(client.get(url)), url
    new = "a-brand-new-password-42"
    response = client.post(
        "/accounts/password/change/",
        {"oldpassword": factories.PASSWORD, "password1": new, "password2": new},
    )
    assert blocked(response)
    assert blocked(client.post("/accounts/2fa/totp/deactivate/", {}))
    assert type(sam).objects.get(pk=sam.pk).password == staff_hash
    assert type(sam).objects.get(pk=world.users["a_owner"].pk).password == owner_hash
    assert Authenticator.objects.filter(user=sam, type=Authenticator.Type.TOTP).exists()
    # The blocked page offers the way back and the end of the session.
    page = html(client.get("/account/security/"))
    assert f'href="{home_url(world.customer_a)}"' in page
    assert f'action="{end_url()}"' in page
    assert LoginAsSession.objects.get().is_open  # blocked, not ended


def test_login_email_pages_are_blocked_and_nothing_changes(world: Any, sam: Any) -> None:
    client = signed_in_as(world, sam)
    number = world.customer_a.number
    request_url = reverse("portal:primary-email-request", args=[number])
    assert blocked(client.get(request_url))
    assert blocked(client.post(request_url, {"primary_email": "new-owner@example.org"}))
    assert ChangeRequest.objects.count() == 0
    with override_settings(CLIENTDESK_SELF_SERVICE_EMAIL_CHANGE=True):
        change_url = reverse("portal:login-email-change", args=[number])
        assert blocked(client.get(change_url))
        assert blocked(client.post(change_url, {"email": "new-owner@example.org"}))
    assert type(sam).objects.get(pk=world.users["a_owner"].pk).email == "a.owner@example.org"
    # Without Login As the owner reaches the request page: the block is Login As's doing.
    assert client_for(world.users["a_owner"]).get(request_url).status_code == 200


@pytest.mark.parametrize("name", ["ownership-transfer", "close-account"])
def test_ownership_transfer_and_closing_are_blocked(world: Any, sam: Any, name: str) -> None:
    assert f"portal:{name}" in BLOCKED_VIEWS
    url = reverse(f"portal:{name}", args=[world.customer_a.number])
    assert resolve(url).view_name == f"portal:{name}"
    # The owner on their own reaches it (the page, or its re-authentication step).
    assert client_for(world.users["a_owner"]).get(url).status_code in (200, 302)
    client = signed_in_as(world, sam)
    assert blocked(client.get(url))
    assert blocked(client.post(url, {"confirm": "yes", "password": factories.PASSWORD}))
    fresh = Customer.objects.get(pk=world.customer_a.pk)
    assert fresh.status == Customer.Status.ACTIVE
    assert contact_of(world, "a_owner").is_owner


# --- the time box ---------------------------------------------------------------------------


def test_the_session_ends_by_itself_after_the_time_limit(world: Any, sam: Any) -> None:
    limit = settings.CLIENTDESK_LOGIN_AS_MINUTES
    started = timezone.now()
    with time_machine.travel(started, tick=False):
        client = signed_in_as(world, sam)
    page = reverse("portal:account", args=[world.customer_a.number])
    with time_machine.travel(started + timedelta(minutes=limit - 1), tick=False):
        assert client.get(page).status_code == 200
    key_before = client.session.session_key
    with time_machine.travel(started + timedelta(minutes=limit, seconds=1), tick=False):
        response = client.get(page)
    assert response.status_code == 302
    assert response["Location"] == contacts_url(world.customer_a)
    assert client.session.session_key != key_before
    assert SESSION_KEY not in client.session

    session = LoginAsSession.objects.get()
    assert session.end_reason == LoginAsSession.EndReason.EXPIRED
    assert session.ended_at is not None
    [ended] = activity(world.customer_a, "support.login_as_ended")
    assert ended.actor == sam and ended.impersonator is None
    assert ended.reason == "Time limit reached"
    [event] = events(world.customer_a, "support.login_as_ended")
    assert event.data["end_reason"] == "expired"
    assert event.actor["user_id"] == sam.pk and event.actor["impersonator_id"] is None

    console = client.get(response["Location"])
    assert console.status_code == 200
    assert "reached its time limit and has ended" in text(console)
    assert 'aria-label="Login As session"' not in html(console)
    assert client.get(page).status_code == 404  # the staff member is themselves again


def test_an_htmx_request_after_the_time_limit_is_sent_to_the_console(world: Any, sam: Any) -> None:
    started = timezone.now()
    with time_machine.travel(started, tick=False):
        client = signed_in_as(world, sam)
    later = started + timedelta(minutes=settings.CLIENTDESK_LOGIN_AS_MINUTES + 1)
    with time_machine.travel(later, tick=False):
        response = client.get(
            reverse("portal:account-section", args=[world.customer_a.number, "contact"]), **HTMX
        )
    assert response.status_code == 200
    assert response["HX-Redirect"] == contacts_url(world.customer_a)
    assert LoginAsSession.objects.get().end_reason == "expired"


def test_signing_out_after_the_time_limit_still_signs_out(world: Any, sam: Any) -> None:
    started = timezone.now()
    with time_machine.travel(started, tick=False):
        client = signed_in_as(world, sam)
    later = started + timedelta(minutes=settings.CLIENTDESK_LOGIN_AS_MINUTES + 1)
    with time_machine.travel(later, tick=False):
        response = client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    assert LoginAsSession.objects.get().end_reason == "expired"


# --- ending ---------------------------------------------------------------------------------


def test_ending_returns_the_staff_member_to_the_console_as_themselves(world: Any, sam: Any) -> None:
    client = signed_in_as(world, sam)
    key_before = client.session.session_key
    response = client.post(end_url())
    assert response.status_code == 302
    assert response["Location"] == contacts_url(world.customer_a)
    assert client.session.session_key != key_before
    assert SESSION_KEY not in client.session
    assert client.session["_auth_user_id"] == str(sam.pk)

    session = LoginAsSession.objects.get()
    assert session.end_reason == LoginAsSession.EndReason.ENDED and not session.is_open
    [ended] = activity(world.customer_a, "support.login_as_ended")
    assert ended.actor == sam and ended.impersonator is None
    assert ended.actor_label == "Sam Tan (staff)"
    [event] = events(world.customer_a, "support.login_as_ended")
    assert event.data["end_reason"] == "ended" and event.data["id"] == session.pk
    assert event.actor == {"user_id": sam.pk, "impersonator_id": None, "source": "staff"}

    console = client.get(response["Location"])
    assert console.status_code == 200
    assert "has ended. You are signed in as yourself again." in text(console)
    assert 'aria-label="Login As session"' not in html(console)
    assert 'aria-label="Account menu for Sam Tan"' in html(console)
    assert client.get(home_url(world.customer_a)).status_code == 404
    # A second press (another tab): nothing left to end, no error.
    again = client.post(end_url())
    assert again.status_code == 302 and again["Location"] == reverse("portal:home")
    assert len(activity(world.customer_a, "support.login_as_ended")) == 1


def test_ending_is_post_only_with_csrf(world: Any, sam: Any) -> None:
    client = signed_in_as(world, sam)
    assert client.get(end_url()).status_code == 405
    assert LoginAsSession.objects.get().is_open
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = client.cookies
    assert strict.post(end_url()).status_code == 403
    assert LoginAsSession.objects.get().is_open
    assert client.post(end_url()).status_code == 302
    assert open_sessions() == 0


def test_ending_without_a_session_goes_to_the_portal_home(world: Any, sam: Any) -> None:
    for client in (Client(), client_for(world.users["a_owner"]), client_for(sam)):
        response = client.post(end_url())
        assert response.status_code == 302
        assert response["Location"] == reverse("portal:home")
    assert Activity.objects.filter(verb="support.login_as_ended").count() == 0


def test_signing_out_ends_the_session(world: Any, sam: Any) -> None:
    client = signed_in_as(world, sam)
    client.post(reverse("account_logout"))
    assert LoginAsSession.objects.get().end_reason == LoginAsSession.EndReason.SIGNED_OUT
    assert "_auth_user_id" not in client.session


def test_a_session_id_planted_in_another_staff_members_session_does_nothing(
    world: Any, sam: Any
) -> None:
    signed_in_as(world, sam)
    other = client_for(world.users["staff_support"])
    session = other.session
    session[SESSION_KEY] = LoginAsSession.objects.get().pk
    session.save()
    assert other.get(home_url(world.customer_a)).status_code == 404
    assert SESSION_KEY not in other.session
    assert LoginAsSession.objects.get().is_open  # Sam's session is untouched


def test_starting_again_replaces_the_open_session(world: Any, sam: Any) -> None:
    client = signed_in_as(world, sam)
    assert start(client, contact_of(world, "a_admin")).status_code == 302
    first, second = LoginAsSession.objects.order_by("id")
    assert first.end_reason == LoginAsSession.EndReason.REPLACED
    assert second.is_open and client.session[SESSION_KEY] == second.pk
    page = text(client.get(home_url(world.customer_a)))
    assert f"You are signed in as {second.contact_name}" in page


def test_losing_the_support_role_ends_the_session_on_the_next_request(world: Any, sam: Any) -> None:
    client = signed_in_as(world, sam)
    page = reverse("portal:account", args=[world.customer_a.number])
    assert client.get(page).status_code == 200
    sam.groups.clear()
    response = client.get(page)
    assert response.status_code == 302
    assert LoginAsSession.objects.get().end_reason == LoginAsSession.EndReason.ENDED
    assert SESSION_KEY not in client.session


def test_invitation_links_are_blocked_during_login_as(world: Any, sam: Any) -> None:
    client = signed_in_as(world, sam)
    response = client.get(reverse("portal:invitation", args=["some-token"]))
    assert response.status_code == 403
