"""The self-service login email pages (issue 7 item 9): the owner's form behind
re-authentication, the verification link's page and the "this was not me" page."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.core import mail
from django.test import Client, override_settings
from django.urls import reverse

from clientdesk.audit.models import Activity
from clientdesk.change_requests.models import LoginEmailChange
from clientdesk.users.models import User
from tests import factories

pytestmark = pytest.mark.django_db

NEW = "aisha.new@example.net"


@pytest.fixture(autouse=True)
def self_service_on() -> Iterator[None]:
    with override_settings(CLIENTDESK_SELF_SERVICE_EMAIL_CHANGE=True):
        yield


def change_url(world: Any, customer: Any = None) -> str:
    return reverse("portal:login-email-change", args=[(customer or world.customer_a).number])


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def reauthenticated(user: User, *, totp_secret: str = "") -> Client:
    """A signed-in client that has just re-entered its password (and its authenticator
    code when it has one), through allauth's own pages."""
    client = signed_in(user)
    response = client.post(reverse("account_reauthenticate"), {"password": factories.PASSWORD})
    assert response.status_code == 302, response.content[:300]
    if totp_secret:
        code = format_hotp_value(hotp_value(totp_secret, int(time.time()) // 30))
        response = client.post(reverse("mfa_reauthenticate"), {"code": code})
        assert response.status_code == 302, response.content[:300]
    return client


def token_in(address: str, name: str) -> str:
    [message] = [m for m in mail.outbox if address in m.to and f"/login-email/{name}/" in m.body]
    match = re.search(rf"/login-email/{name}/([A-Za-z0-9_-]+)/", message.body)
    assert match
    return match.group(1)


def owner_email(world: Any) -> str:
    return User.objects.get(pk=world.users["a_owner"].pk).email


@pytest.fixture
def requested(world: Any, django_capture_on_commit_callbacks: Any) -> dict[str, str]:
    """The owner asked for NEW through the page; the two links from the emails."""
    client = reauthenticated(world.users["a_owner"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(change_url(world), {"new_email": NEW})
    assert response.status_code == 302
    return {
        "confirm": token_in(NEW, "confirm"),
        "not_me": token_in("a.owner@example.org", "not-me"),
    }


# --- off by default --------------------------------------------------------------------------


def test_every_page_is_a_404_while_the_setting_is_off(world: Any) -> None:
    owner = reauthenticated(world.users["a_owner"])
    with override_settings(CLIENTDESK_SELF_SERVICE_EMAIL_CHANGE=False):
        for client in (Client(), owner):
            for url in (
                change_url(world),
                reverse("portal:login-email-confirm", args=["x" * 43]),
                reverse("portal:login-email-not-me", args=["x" * 43]),
            ):
                assert client.get(url).status_code == 404
                assert client.post(url, {"new_email": NEW}).status_code == 404
    assert not LoginEmailChange.objects.exists()


# --- the form: who, and re-authentication ----------------------------------------------------


def test_the_form_is_for_the_owner_only(world: Any) -> None:
    assert Client().get(change_url(world)).status_code == 302  # sign in first
    assert signed_in(world.users["a_admin"]).get(change_url(world)).status_code == 403
    assert signed_in(world.users["a_member"]).get(change_url(world)).status_code == 403
    assert signed_in(world.users["b_owner"]).get(change_url(world)).status_code == 404
    assert signed_in(world.users["staff_support"]).get(change_url(world)).status_code == 404
    response = signed_in(world.users["a_admin"]).post(change_url(world), {"new_email": NEW})
    assert response.status_code == 403
    assert not LoginEmailChange.objects.exists()


def test_the_owner_must_re_enter_their_password(world: Any) -> None:
    client = signed_in(world.users["a_owner"])
    response = client.get(change_url(world))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    # A POST without re-authentication changes nothing either.
    response = client.post(change_url(world), {"new_email": NEW})
    assert response.status_code == 302
    assert not LoginEmailChange.objects.exists()
    response = client.post(reverse("account_reauthenticate"), {"password": "wrong-password"})
    assert client.get(change_url(world)).status_code == 302
    client = reauthenticated(world.users["a_owner"])
    page = client.get(change_url(world))
    assert page.status_code == 200
    assert "Change your login email" in page.content.decode()


def test_with_two_factor_the_owner_needs_the_code_as_well(world: Any) -> None:
    secret = factories.enrol_totp(world.users["a_owner"])
    client = reauthenticated(world.users["a_owner"])  # password only
    response = client.get(change_url(world))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_reauthenticate"))
    client = reauthenticated(world.users["a_owner"], totp_secret=secret)
    assert client.get(change_url(world)).status_code == 200


# --- the form: asking ------------------------------------------------------------------------


def test_asking_sends_the_links_and_says_check_your_inbox(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = reauthenticated(world.users["a_owner"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(change_url(world), {"new_email": NEW}, follow=True)
    page = response.content.decode()
    assert response.status_code == 200
    assert f"Check your inbox at {NEW}" in page
    assert "a.owner@example.org" in page  # still signs in with the old one
    assert owner_email(world) == "a.owner@example.org"
    assert len([m for m in mail.outbox if NEW in m.to]) == 1
    assert len([m for m in mail.outbox if "a.owner@example.org" in m.to]) == 1


@pytest.mark.parametrize(
    ("address", "words"),
    [
        ("a.admin@example.org", "Another sign-in already uses this address"),
        ("A.ADMIN@example.org", "Another sign-in already uses this address"),
        ("new@example.org\r\nBcc: x@example.org", "line breaks"),
        ("a.admin@ex\u0430mple.org", "mixes letters from different alphabets"),
        ("x" * 300 + "@example.org", "at most 254 characters"),
        ("nul\x00@example.org", "Null characters are not allowed"),
        ("", "This field is required"),
    ],
)
def test_bad_addresses_are_shown_next_to_the_field(world: Any, address: str, words: str) -> None:
    client = reauthenticated(world.users["a_owner"])
    response = client.post(change_url(world), {"new_email": address})
    assert response.status_code == 400
    page = response.content.decode()
    assert words in page.replace("&#x27;", "'")
    assert 'id="id_new_email_error"' in page
    assert not LoginEmailChange.objects.exists()
    assert mail.outbox == []


def test_a_likely_typo_needs_the_tick(world: Any) -> None:
    client = reauthenticated(world.users["a_owner"])
    response = client.post(change_url(world), {"new_email": "aisha@gmial.com"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Did you mean aisha@gmail.com?" in page
    assert 'name="confirm_spelling"' in page
    assert '<input type="hidden" name="new_email" value="aisha@gmail.com">' in page
    assert not LoginEmailChange.objects.exists()
    response = client.post(
        change_url(world), {"new_email": "aisha@gmial.com", "confirm_spelling": "on"}
    )
    assert response.status_code == 302
    assert LoginEmailChange.objects.get().new_email == "aisha@gmial.com"


def test_forged_fields_change_nothing_else(world: Any) -> None:
    client = reauthenticated(world.users["a_owner"])
    response = client.post(
        change_url(world),
        {"new_email": NEW, "customer": world.customer_b.pk, "user": world.users["b_owner"].pk},
    )
    assert response.status_code == 302
    change = LoginEmailChange.objects.get()
    assert (change.customer, change.user) == (world.customer_a, world.users["a_owner"])


# --- the verification link -------------------------------------------------------------------


def test_the_link_changes_nothing_on_get_and_confirms_on_post(
    world: Any, requested: dict[str, str], django_capture_on_commit_callbacks: Any
) -> None:
    url = reverse("portal:login-email-confirm", args=[requested["confirm"]])
    owner_browser = signed_in(world.users["a_owner"])
    page = Client().get(url)
    assert page.status_code == 200
    assert "Confirm new login email" in page.content.decode()
    assert owner_email(world) == "a.owner@example.org"  # a mail scanner's GET did nothing

    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(url)
    assert response.status_code == 200
    body = response.content.decode()
    assert f"Your login email is now {NEW}" in body
    assert reverse("account_login") in body
    assert owner_email(world) == NEW
    # The owner's other browser is signed out.
    assert owner_browser.get(reverse("portal:home")).status_code == 302
    assert Activity.objects.filter(verb="customer.primary_email_changed").count() == 1
    # Replaying the link is refused, with a page rather than an error.
    replay = Client().post(url)
    assert replay.status_code == 410
    assert "already been used" in replay.content.decode()
    assert Client().get(url).status_code == 410


def test_confirming_in_the_owners_own_browser_signs_it_out(
    world: Any, requested: dict[str, str]
) -> None:
    client = signed_in(world.users["a_owner"])
    url = reverse("portal:login-email-confirm", args=[requested["confirm"]])
    assert client.post(url).status_code == 200
    response = client.get(reverse("portal:home"))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


@pytest.mark.parametrize("token", ["not-a-real-token", "x" * 500, "%00"])
def test_made_up_links_are_a_404_page(world: Any, token: str) -> None:
    for name in ("portal:login-email-confirm", "portal:login-email-not-me"):
        url = reverse(name, args=[token])
        assert Client().get(url).status_code == 404
        assert Client().post(url).status_code == 404


def test_an_expired_link_says_so(world: Any, requested: dict[str, str]) -> None:
    from datetime import timedelta

    from django.utils import timezone

    LoginEmailChange.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    url = reverse("portal:login-email-confirm", args=[requested["confirm"]])
    for response in (Client().get(url), Client().post(url)):
        assert response.status_code == 410
        assert "expired" in response.content.decode()
    assert owner_email(world) == "a.owner@example.org"


def test_an_address_taken_meanwhile_is_explained(world: Any, requested: dict[str, str]) -> None:
    factories.make_user(NEW)
    url = reverse("portal:login-email-confirm", args=[requested["confirm"]])
    response = Client().post(url)
    assert response.status_code == 409
    assert "Another sign-in already uses this address" in response.content.decode()
    assert owner_email(world) == "a.owner@example.org"


# --- "this was not me" ------------------------------------------------------------------------


def test_not_me_explains_on_get_and_reports_on_post(
    world: Any, requested: dict[str, str], django_capture_on_commit_callbacks: Any
) -> None:
    url = reverse("portal:login-email-not-me", args=[requested["not_me"]])
    intruder = signed_in(world.users["a_owner"])
    page = Client().get(url)
    assert page.status_code == 200
    assert "Was this change not made by you?" in page.content.decode()
    assert LoginEmailChange.objects.get().status == "pending"

    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(url)
    assert response.status_code == 200
    assert "The change was stopped" in response.content.decode()
    assert LoginEmailChange.objects.get().status == "cancelled"
    assert intruder.get(reverse("portal:home")).status_code == 302
    assert Activity.objects.filter(verb="customer.flagged_for_review", staff_only=True).exists()
    assert any("manager@staff.example" in m.to for m in mail.outbox)
    # The confirmation link is dead now.
    confirm = Client().post(reverse("portal:login-email-confirm", args=[requested["confirm"]]))
    assert confirm.status_code == 410
    assert owner_email(world) == "a.owner@example.org"
    # A second click: already reported, nothing new.
    again = Client().post(url)
    assert again.status_code == 200
    assert "Already reported" in again.content.decode()
    assert "Already reported" in Client().get(url).content.decode()
    assert Activity.objects.filter(verb="customer.flagged_for_review").count() == 1
