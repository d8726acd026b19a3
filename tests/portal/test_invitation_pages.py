"""The invitation link's page: every way it can be opened, and what each person is told."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clientdesk.core.actor import Actor
from clientdesk.customers import invitations
from clientdesk.customers.models import Contact, Invitation
from clientdesk.users.models import User
from tests import factories

from .conftest import client_for

pytestmark = pytest.mark.django_db

STRONG = "violet-harbour-lantern-42"


def invite(world: Any, email: str = "newbie@example.org") -> tuple[Contact, str]:
    """A contact of customer A with portal access on, and the token of their invitation."""
    contact = factories.make_contact(world.customer_a, portal=False, email=email)
    from clientdesk.customers import contact_actions

    contact_actions.grant_portal_access(contact, actor=Actor.system())
    issued = invitations.send_invitation(contact, actor=Actor.system())  # a resend: new token
    return contact, issued.token


def link(token: str) -> str:
    return reverse("portal:invitation", args=[token])


def test_a_new_person_sets_a_password_and_lands_on_the_customer(world: Any) -> None:
    contact, token = invite(world)
    client = Client()
    page = client.get(link(token))
    assert page.status_code == 200
    assert page.context["mode"] == "new"
    assert world.customer_a.display_name in page.content.decode()
    response = client.post(
        link(token), {"full_name": "New Bie", "password1": STRONG, "password2": STRONG}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:customer-home", args=[world.customer_a.number])
    # Signed in: the customer's pages open.
    assert client.get(response["Location"]).status_code == 200
    contact.refresh_from_db()
    assert contact.user is not None and contact.user.email == contact.email
    assert contact.user.full_name == "New Bie"
    # The link was single-use.
    again = Client().get(link(token))
    assert again.status_code == 410
    assert "already been used" in again.content.decode()


def test_mismatched_or_weak_passwords_are_explained_and_change_nothing(world: Any) -> None:
    contact, token = invite(world)
    client = Client()
    response = client.post(
        link(token), {"full_name": "X", "password1": STRONG, "password2": STRONG + "x"}
    )
    assert response.status_code == 400
    assert "differ" in str(response.context["form"].errors["password2"])
    response = client.post(link(token), {"full_name": "X", "password1": "123", "password2": "123"})
    assert response.status_code == 400
    assert response.context["form"].errors["password1"]
    assert not User.objects.filter(email="newbie@example.org").exists()
    assert Invitation.objects.get(contact=contact).status == "pending"


def test_an_existing_sign_in_is_asked_to_sign_in_then_links(world: Any) -> None:
    user = factories.make_user("known@example.org")
    contact, token = invite(world, email="known@example.org")
    page = Client().get(link(token))
    assert page.context["mode"] == "sign_in"
    assert reverse("account_login") + "?next=" in page.content.decode()
    client = client_for(user)
    assert client.get(link(token)).context["mode"] == "join"
    response = client.post(link(token))
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.user == user


def test_signed_in_as_somebody_else_changes_nothing(world: Any) -> None:
    contact, token = invite(world)
    client = client_for(world.users["b_member"])
    page = client.get(link(token))
    assert page.context["mode"] == "wrong_user"
    assert "This invitation is for someone else" in page.content.decode()
    assert "newbie@example.org" not in page.content.decode()  # masked: n•••@example.org
    response = client.post(link(token))
    assert response.status_code == 409
    contact.refresh_from_db()
    assert contact.user is None
    assert Invitation.objects.get(contact=contact).status == "pending"


def test_staff_cannot_accept_an_invitation(world: Any) -> None:
    _, token = invite(world)
    page = client_for(world.users["staff_support"]).get(link(token))
    assert page.context["mode"] == "wrong_user"


def test_an_expired_link_offers_to_ask_for_a_new_one(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    contact, token = invite(world)
    Invitation.objects.filter(contact=contact).update(expires_at=timezone.now() - timedelta(1))
    client = Client()
    page = client.get(link(token))
    assert page.status_code == 410
    assert "Ask for a new invitation" in page.content.decode()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("portal:invitation-renew", args=[token]))
    assert response.status_code == 200
    # The account's contact managers (owner and admin), a copy each.
    assert sorted(m.to for m in mail.outbox) == [["a.admin@example.org"], ["a.owner@example.org"]]
    # Asking again at once sends nothing more, and the page reads the same.
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(reverse("portal:invitation-renew", args=[token]))
    assert again.status_code == response.status_code == 200
    assert again.context["state"] == response.context["state"] == "renewal_requested"
    assert len(mail.outbox) == 2


def test_a_made_up_link_is_not_found_and_renewing_it_reveals_nothing(world: Any) -> None:
    client = Client()
    page = client.get(link("made-up-token"))
    assert page.status_code == 404
    assert "not valid" in page.content.decode()
    response = client.post(reverse("portal:invitation-renew", args=["made-up-token"]))
    assert response.status_code == 200


def test_a_cancelled_link_says_so(world: Any) -> None:
    contact, token = invite(world)
    invitations.cancel_invitation(Invitation.objects.get(contact=contact), actor=Actor.system())
    page = Client().get(link(token))
    assert page.status_code == 410
    assert "cancelled" in page.content.decode()


def test_inviting_an_address_with_a_sign_in_elsewhere_looks_the_same(world: Any) -> None:
    """The inviter cannot learn whether an address already has a sign-in."""
    owner = client_for(world.users["a_owner"])
    url = reverse("portal:contact-create", args=[world.customer_a.number])
    answers = []
    for email in ("b.owner@example.org", "nobody-yet@example.org"):
        response = owner.post(
            url,
            {"first_name": "P", "email": email, "role": "member", "portal_access": "on"},
            follow=True,
        )
        answers.append(response.content.decode().replace(email, "EMAIL"))
        contact = Contact.objects.get(customer=world.customer_a, email=email)
        assert contact.user is None  # never linked without the person accepting
    flash = [a[a.index("was added") : a.index("was added") + 120] for a in answers]
    assert flash[0] == flash[1]
