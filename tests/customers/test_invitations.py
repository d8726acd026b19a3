"""Portal invitations (seed 004, DESIGN §3): an emailed, single-use link that expires in
seven days; accepted as a new person (set a password) or with the invited address's
existing sign-in; resend makes a new link, cancel voids it; sending is rate-limited per
customer. Of parallel acceptances exactly one wins (PostgreSQL)."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from clientdesk.audit.models import Activity
from clientdesk.core import ratelimit
from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers import invitations
from clientdesk.customers.access import portal_memberships
from clientdesk.customers.contact_actions import (
    create_contact,
    grant_portal_access,
    revoke_portal_access,
    update_contact,
)
from clientdesk.customers.invitations import (
    INVITATION_LIFETIME,
    RENEWAL_REQUEST_INTERVAL,
    LinkState,
    accept_invitation,
    cancel_invitation,
    request_new_invitation,
    send_invitation,
)
from clientdesk.customers.models import Contact, Customer, Invitation
from clientdesk.customers.roles import Role
from clientdesk.events.models import Event
from clientdesk.notifications.models import MailLog
from clientdesk.users.models import User
from tests import factories

pytestmark = pytest.mark.django_db

TOKEN_RE = re.compile(r"/invitations/([A-Za-z0-9_-]+)/")
ANONYMOUS = Actor(None, Source.PORTAL)  # someone holding the link, not signed in
NEW_PASSWORD = "purple-monkey-dishwasher-42"


# --- helpers ------------------------------------------------------------------------------


def portal(world, persona: str = "a_owner") -> Actor:
    return Actor(world.users[persona], Source.PORTAL)


def token_in(message: mail.EmailMessage) -> str:
    found = TOKEN_RE.search(str(message.body))
    assert found, message.body
    return found.group(1)


@pytest.fixture
def invite(world, django_capture_on_commit_callbacks):
    """``invite(email)``: customer A's owner adds a contact with portal access; returns the
    contact and the token from the email it was sent."""

    def invite(
        email: str = "siti@alpha.example",
        *,
        customer: Customer | None = None,
        actor: Actor | None = None,
    ) -> tuple[Contact, str]:
        sent = len(mail.outbox)
        with django_capture_on_commit_callbacks(execute=True):
            contact = create_contact(
                customer or world.customer_a,
                values={
                    "first_name": "Siti",
                    "last_name": "Aminah",
                    "email": email,
                    "portal_access": True,
                },
                actor=actor or portal(world),
            )
        [message] = mail.outbox[sent:]
        return contact, token_in(message)

    return invite


def pending(contact: Contact) -> Invitation:
    return Invitation.objects.get(contact=contact, status=Invitation.Status.PENDING)


def expire(invitation: Invitation) -> None:
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )


@contextmanager
def nothing_changes(customer: Customer) -> Iterator[None]:
    """No contact, invitation, user, email address, Activity row, Event or email changes."""

    def snapshot() -> tuple[Any, ...]:
        return (
            sorted(Contact.objects.filter(customer=customer).values_list()),
            sorted(Invitation.objects.filter(customer=customer).values_list()),
            sorted(User.objects.values_list()),
            sorted(EmailAddress.objects.values_list()),
            Activity.objects.count(),
            Event.objects.count(),
            len(mail.outbox),
        )

    before = snapshot()
    yield
    assert snapshot() == before


def refused(code: ErrorCode, action: Any, *args: Any, customer: Customer, **kwargs: Any):
    with nothing_changes(customer), pytest.raises(DomainError) as caught:
        action(*args, **kwargs)
    assert caught.value.code == code, (caught.value.message, caught.value.errors)
    return caught.value


# --- the link -----------------------------------------------------------------------------


def test_only_a_hash_of_the_token_is_stored(invite, world) -> None:
    """The database never holds a usable link: the invitation keeps a SHA-256, and the
    mail log drops the body once the email is delivered."""
    contact, token = invite()
    invitation = pending(contact)
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert len(token) >= 40  # 32 random bytes
    for invitation_row in Invitation.objects.values():
        assert token not in str(invitation_row)
    for mail_row in MailLog.objects.values():
        assert token not in str(mail_row)
    assert MailLog.objects.get(template="customers/email/invitation").status == "sent"


def test_an_invitation_expires_in_seven_days_and_names_the_customer(invite, world) -> None:
    before = timezone.now()
    contact, _ = invite()
    invitation = pending(contact)
    assert before + INVITATION_LIFETIME <= invitation.expires_at
    assert invitation.expires_at <= timezone.now() + INVITATION_LIFETIME
    assert timedelta(days=7) == INVITATION_LIFETIME
    message = mail.outbox[-1]
    assert world.customer_a.display_name in message.body
    assert world.customer_a.client_id in message.body
    assert message.body.startswith("Hello Siti,")


@pytest.mark.parametrize("token", ["", "nope", "x" * 101, "a" * 43])
def test_a_made_up_link_is_unknown(world, token) -> None:
    assert invitations.find(token) is None
    assert invitations.link_state(None) == LinkState.UNKNOWN
    refused(
        ErrorCode.CONFLICT,
        accept_invitation,
        token,
        actor=ANONYMOUS,
        password=NEW_PASSWORD,
        customer=world.customer_a,
    )


# --- accepting as a new person ------------------------------------------------------------


def test_accepting_as_a_new_person_creates_a_verified_sign_in_and_links_it(invite, world) -> None:
    customer = world.customer_a
    contact, token = invite("Siti@Alpha.example")
    invitation = pending(contact)

    accepted = accept_invitation(
        token, actor=ANONYMOUS, password=NEW_PASSWORD, full_name="Siti binti Aminah"
    )

    user = User.objects.get(email="siti@alpha.example")
    assert user.check_password(NEW_PASSWORD)
    assert user.full_name == "Siti binti Aminah"
    assert not user.is_staff
    assert EmailAddress.objects.filter(
        user=user, email="siti@alpha.example", verified=True, primary=True
    ).exists()
    row = Contact.objects.get(pk=contact.pk)
    assert row.user == user
    assert row.portal_access
    assert row.email == user.email  # one value: the contact's email is the login email
    assert row.version == contact.version + 1
    assert accepted.pk == contact.pk
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.ACCEPTED
    assert invitation.accepted_by == user
    assert invitation.accepted_at is not None
    assert [m.customer for m in portal_memberships(user)] == [customer]

    [activity] = Activity.objects.filter(customer=customer, verb="invitation.accepted")
    assert activity.actor == user
    assert activity.source == "portal"
    assert activity.changes == {"portal_login": [None, "siti@alpha.example"]}
    [event] = Event.objects.filter(customer=customer, type="invitation.accepted")
    assert event.data["status"] == "accepted"
    assert event.data["contact"]["has_login"] is True
    assert event.actor["user_id"] == user.pk


def test_the_name_defaults_to_the_contacts(invite) -> None:
    _, token = invite()
    contact = accept_invitation(token, actor=ANONYMOUS, password=NEW_PASSWORD)
    assert contact.user is not None
    assert contact.user.full_name == "Siti Aminah"


def test_a_link_works_once(invite, world) -> None:
    _, token = invite()
    accept_invitation(token, actor=ANONYMOUS, password=NEW_PASSWORD)
    error = refused(
        ErrorCode.CONFLICT,
        accept_invitation,
        token,
        actor=ANONYMOUS,
        password=NEW_PASSWORD,
        customer=world.customer_a,
    )
    assert "already been used" in error.message
    assert invitations.link_state(invitations.find(token)) == LinkState.USED


def test_an_expired_link_is_refused(invite, world) -> None:
    contact, token = invite()
    expire(pending(contact))
    assert invitations.link_state(invitations.find(token)) == LinkState.EXPIRED
    error = refused(
        ErrorCode.CONFLICT,
        accept_invitation,
        token,
        actor=ANONYMOUS,
        password=NEW_PASSWORD,
        customer=world.customer_a,
    )
    assert "expired" in error.message
    assert pending(contact)  # still pending: it can be resent


def test_a_weak_password_is_refused_and_the_link_still_works(invite, world) -> None:
    contact, token = invite()
    for weak in ("short", "1234567890123", "password123", "siti@alpha.example"):
        error = refused(
            ErrorCode.INVALID,
            accept_invitation,
            token,
            actor=ANONYMOUS,
            password=weak,
            customer=world.customer_a,
        )
        assert error.errors["password1"], weak
    assert pending(contact).status == Invitation.Status.PENDING
    assert not User.objects.filter(email="siti@alpha.example").exists()
    accept_invitation(token, actor=ANONYMOUS, password=NEW_PASSWORD)


@pytest.mark.parametrize("name", ["Siti\u202e", "Siti\x07Aminah"])
def test_a_name_with_direction_overrides_or_control_characters_is_refused(
    invite, world, name
) -> None:
    contact, token = invite()
    error = refused(
        ErrorCode.INVALID,
        accept_invitation,
        token,
        actor=ANONYMOUS,
        password=NEW_PASSWORD,
        full_name=name,
        customer=world.customer_a,
    )
    assert list(error.errors) == ["full_name"]
    assert pending(contact).status == Invitation.Status.PENDING


def test_a_new_sign_in_is_refused_when_the_address_already_has_one(invite, world) -> None:
    """The person must sign in first; the invitation stays pending for them."""
    existing = factories.make_user("siti@alpha.example")
    contact, token = invite("SITI@alpha.example")
    error = refused(
        ErrorCode.CONFLICT,
        accept_invitation,
        token,
        actor=ANONYMOUS,
        password=NEW_PASSWORD,
        customer=world.customer_a,
    )
    assert "Sign in first" in error.message
    assert pending(contact).status == Invitation.Status.PENDING
    assert existing.check_password(factories.PASSWORD)


# --- accepting while signed in ------------------------------------------------------------


def test_accepting_signed_in_as_the_invited_address_links_that_sign_in(invite, world) -> None:
    """An accountant who already uses the portal for customer B joins customer A."""
    accountant = factories.make_user("Accountant@Example.org")
    factories.make_contact(world.customer_b, Role.BILLING, user=accountant)
    EmailAddress.objects.filter(user=accountant).update(verified=False)
    contact, token = invite("accountant@example.org")

    linked = accept_invitation(token, actor=Actor(accountant, Source.PORTAL), user=accountant)

    assert linked.user == accountant
    assert Contact.objects.get(pk=contact.pk).user == accountant
    assert {m.customer_id for m in portal_memberships(accountant)} == {
        world.customer_a.pk,
        world.customer_b.pk,
    }
    assert accountant.check_password(factories.PASSWORD)  # the password is untouched
    assert EmailAddress.objects.get(user=accountant).verified  # the link proved the mailbox
    assert User.objects.filter(email="accountant@example.org").count() == 1
    invitation = Invitation.objects.get(contact=contact)
    assert (invitation.status, invitation.accepted_by) == ("accepted", accountant)


def test_the_contact_takes_the_spelling_of_the_login_it_is_linked_to(invite, world) -> None:
    """``straße`` and ``strasse`` are one login (the users' email key folds case); once
    linked, the contact's email is the login's, one value."""
    user = factories.make_user("a@strasse.example")
    contact, token = invite("a@straße.example")
    assert Contact.objects.get(pk=contact.pk).email == "a@straße.example"
    accept_invitation(token, actor=Actor(user, Source.PORTAL), user=user)
    assert Contact.objects.get(pk=contact.pk).email == "a@strasse.example"


def test_a_login_that_is_another_contacts_address_is_refused_not_a_crash(invite, world) -> None:
    """Linking would give this contact the login email another contact already has."""
    user = factories.make_user("a@strasse.example")
    create_contact(
        world.customer_a,
        values={"first_name": "Other", "email": "a@strasse.example"},
        actor=portal(world),
    )
    contact, token = invite("a@straße.example")
    error = refused(
        ErrorCode.CONFLICT,
        accept_invitation,
        token,
        actor=Actor(user, Source.PORTAL),
        user=user,
        customer=world.customer_a,
    )
    assert "a@strasse.example" in error.message
    assert pending(contact).status == Invitation.Status.PENDING


def test_a_user_who_already_uses_the_account_cannot_become_a_second_contact(invite, world) -> None:
    user = factories.make_user("a@strasse.example")
    factories.make_contact(world.customer_a, Role.MEMBER, user=user)
    _, token = invite("a@straße.example")
    error = refused(
        ErrorCode.CONFLICT,
        accept_invitation,
        token,
        actor=Actor(user, Source.PORTAL),
        user=user,
        customer=world.customer_a,
    )
    assert "already use the portal for this account" in error.message


def test_a_different_signed_in_user_is_refused_and_nothing_changes(invite, world) -> None:
    contact, token = invite()
    somebody = world.users["a_member"]
    error = refused(
        ErrorCode.NOT_ALLOWED,
        accept_invitation,
        token,
        actor=Actor(somebody, Source.PORTAL),
        user=somebody,
        customer=world.customer_a,
    )
    assert "another email address" in error.message
    assert Contact.objects.get(pk=contact.pk).user is None
    assert pending(contact).status == Invitation.Status.PENDING


def test_a_staff_sign_in_cannot_accept(invite, world) -> None:
    """Staff are never contacts, even when the invitation went to their address."""
    support = world.users["staff_support"]
    contact, token = invite(support.email)
    error = refused(
        ErrorCode.NOT_ALLOWED,
        accept_invitation,
        token,
        actor=Actor(support, Source.PORTAL),
        user=support,
        customer=world.customer_a,
    )
    assert "Staff" in error.message
    assert pending(contact).status == Invitation.Status.PENDING


# --- resend and cancel --------------------------------------------------------------------


def test_resending_makes_a_new_link_and_the_old_one_stops_working(
    invite, world, django_capture_on_commit_callbacks
) -> None:
    contact, old_token = invite()
    first = pending(contact)
    Invitation.objects.filter(pk=first.pk).update(expires_at=timezone.now() + timedelta(days=1))

    with django_capture_on_commit_callbacks(execute=True):
        issued = send_invitation(contact, actor=portal(world, "a_admin"))

    new_token = token_in(mail.outbox[-1])
    assert issued.token == new_token
    assert issued.url == invitations.accept_url(new_token)
    assert mail.outbox[-1].to == ["siti@alpha.example"]
    resent = pending(contact)
    assert resent.pk == first.pk  # one pending invitation per contact
    assert resent.sent_count == 2
    assert resent.expires_at > timezone.now() + timedelta(days=6)
    assert resent.invited_by == world.users["a_admin"]
    assert invitations.find(old_token) is None
    [sent, resend] = Event.objects.filter(customer=world.customer_a, type="invitation.sent")
    assert {sent.data["resend"], resend.data["resend"]} == {False, True}
    refused(
        ErrorCode.CONFLICT,
        accept_invitation,
        old_token,
        actor=ANONYMOUS,
        password=NEW_PASSWORD,
        customer=world.customer_a,
    )
    accept_invitation(new_token, actor=ANONYMOUS, password=NEW_PASSWORD)


def test_an_expired_invitation_can_be_resent(invite, world) -> None:
    contact, _ = invite()
    expire(pending(contact))
    issued = send_invitation(contact, actor=portal(world))
    assert invitations.link_state(invitations.find(issued.token)) == LinkState.VALID
    assert pending(contact).sent_count == 2


def test_no_invitation_is_sent_without_access_or_to_someone_who_signs_in(world) -> None:
    without_access = factories.make_contact(world.customer_a, portal=False)
    error = refused(
        ErrorCode.CONFLICT,
        send_invitation,
        without_access,
        actor=portal(world),
        customer=world.customer_a,
    )
    assert "Switch portal access on" in error.message
    member = Contact.objects.get(user=world.users["a_member"], customer=world.customer_a)
    refused(
        ErrorCode.CONFLICT, send_invitation, member, actor=portal(world), customer=world.customer_a
    )


@pytest.mark.parametrize("persona", ["a_member", "a_billing", "b_owner"])
def test_only_contact_managers_resend(invite, world, persona) -> None:
    contact, _ = invite()
    refused(
        ErrorCode.NOT_FOUND if persona.startswith("b_") else ErrorCode.NOT_ALLOWED,
        send_invitation,
        contact,
        actor=portal(world, persona),
        customer=world.customer_a,
    )


def test_cancelling_voids_the_link_and_switches_access_off(invite, world) -> None:
    contact, token = invite()
    invitation = pending(contact)

    cancel_invitation(invitation, actor=portal(world, "a_admin"))

    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.CANCELLED
    assert invitation.cancel_reason == "cancelled"
    assert invitation.cancelled_at is not None
    row = Contact.objects.get(pk=contact.pk)
    assert (row.portal_access, row.user_id) == (False, None)
    [activity] = Activity.objects.filter(customer=world.customer_a, verb="invitation.cancelled")
    assert activity.actor == world.users["a_admin"]
    [event] = Event.objects.filter(customer=world.customer_a, type="invitation.cancelled")
    assert event.data["contact"]["portal_access"] is False
    assert invitations.link_state(invitations.find(token)) == LinkState.CANCELLED
    error = refused(
        ErrorCode.CONFLICT,
        accept_invitation,
        token,
        actor=ANONYMOUS,
        password=NEW_PASSWORD,
        customer=world.customer_a,
    )
    assert "cancelled" in error.message


def test_an_invitation_is_cancelled_once(invite, world) -> None:
    contact, _ = invite()
    invitation = pending(contact)
    cancel_invitation(invitation, actor=portal(world))
    refused(
        ErrorCode.CONFLICT,
        cancel_invitation,
        invitation,
        actor=portal(world),
        customer=world.customer_a,
    )


@pytest.mark.parametrize("persona", ["a_member", "a_technical", "b_admin"])
def test_only_contact_managers_cancel(invite, world, persona) -> None:
    contact, _ = invite()
    refused(
        ErrorCode.NOT_FOUND if persona.startswith("b_") else ErrorCode.NOT_ALLOWED,
        cancel_invitation,
        pending(contact),
        actor=portal(world, persona),
        customer=world.customer_a,
    )


def test_access_switched_on_again_after_a_cancel_sends_a_fresh_link(invite, world) -> None:
    contact, old_token = invite()
    cancel_invitation(pending(contact), actor=portal(world))
    grant_portal_access(contact, actor=portal(world))
    assert Invitation.objects.filter(contact=contact).count() == 2
    assert pending(contact).sent_count == 1
    assert invitations.link_state(invitations.find(old_token)) == LinkState.CANCELLED


# --- asking for a new link ----------------------------------------------------------------


def test_an_expired_link_can_ask_the_account_managers_for_a_new_one(
    invite, world, django_capture_on_commit_callbacks
) -> None:
    """The owner and admins (the contact managers who sign in) each get the email; asking
    again within the interval sends nothing."""
    contact, token = invite()
    expire(pending(contact))
    sent = len(mail.outbox)

    with django_capture_on_commit_callbacks(execute=True):
        assert request_new_invitation(token, actor=ANONYMOUS) is True
    messages = mail.outbox[sent:]
    assert sorted(m.to for m in messages) == [["a.admin@example.org"], ["a.owner@example.org"]]
    message = messages[0]
    assert "Siti Aminah" in message.subject
    assert f"/c/{world.customer_a.number}/" in message.body
    assert token not in message.body
    assert Activity.objects.filter(verb="invitation.renewal_requested").count() == 1
    assert Event.objects.filter(type="invitation.renewal_requested").count() == 1

    with nothing_changes(world.customer_a), django_capture_on_commit_callbacks(execute=True):
        assert request_new_invitation(token, actor=ANONYMOUS) is False

    # Once the interval has passed, a new request goes out again.
    Invitation.objects.filter(pk=pending(contact).pk).update(
        renewal_requested_at=timezone.now() - RENEWAL_REQUEST_INTERVAL - timedelta(minutes=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert request_new_invitation(token, actor=ANONYMOUS) is True
    assert len(mail.outbox) == sent + 4  # the owner and the admin, twice


def test_a_cancelled_link_can_ask_for_a_new_one(
    invite, world, django_capture_on_commit_callbacks
) -> None:
    contact, token = invite()
    cancel_invitation(pending(contact), actor=portal(world))
    sent = len(mail.outbox)
    with django_capture_on_commit_callbacks(execute=True):
        assert request_new_invitation(token, actor=ANONYMOUS) is True
    assert len(mail.outbox) == sent + 2  # the owner and the admin, a copy each


def test_an_old_link_asks_nobody_once_the_person_signs_in_or_has_a_newer_link(
    invite, world, django_capture_on_commit_callbacks
) -> None:
    """A link cancelled because the address was corrected: the new link went out (nobody
    needs asking), and once it is accepted the person signs in (still nobody)."""
    contact, old_token = invite("siti@alpah.example")
    with django_capture_on_commit_callbacks(execute=True):
        update_contact(contact, values={"email": "siti@alpha.example"}, actor=portal(world))
    new_token = token_in(mail.outbox[-1])
    assert invitations.link_state(invitations.find(old_token)) == LinkState.CANCELLED

    with nothing_changes(world.customer_a), django_capture_on_commit_callbacks(execute=True):
        assert request_new_invitation(old_token, actor=ANONYMOUS) is False
    accept_invitation(new_token, actor=ANONYMOUS, password=NEW_PASSWORD)
    with nothing_changes(world.customer_a), django_capture_on_commit_callbacks(execute=True):
        assert request_new_invitation(old_token, actor=ANONYMOUS) is False


@pytest.mark.parametrize("state", ["valid", "used", "unknown"])
def test_only_an_expired_or_cancelled_link_asks_for_a_new_one(
    invite, world, state, django_capture_on_commit_callbacks
) -> None:
    _, token = invite()
    if state == "used":
        accept_invitation(token, actor=ANONYMOUS, password=NEW_PASSWORD)
    if state == "unknown":
        token = "made-up"
    with nothing_changes(world.customer_a), django_capture_on_commit_callbacks(execute=True):
        assert request_new_invitation(token, actor=ANONYMOUS) is False


# --- rate limit ---------------------------------------------------------------------------


@pytest.fixture
def one_hour(monkeypatch) -> None:
    """Keep the rate-limit clock inside one window, so the test cannot straddle two."""
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: 1_800_000_000.0))


def test_invitations_are_rate_limited_per_customer_and_a_refused_grant_rolls_back(
    invite, world, settings, one_hour
) -> None:
    settings.CLIENTDESK_INVITATIONS_PER_HOUR = 3
    first, _ = invite("one@alpha.example")
    invite("two@alpha.example")
    send_invitation(first, actor=portal(world))  # a resend counts too
    waiting = create_contact(
        world.customer_a,
        values={"first_name": "Four", "email": "four@alpha.example"},
        actor=portal(world),
    )

    error = refused(
        ErrorCode.RATE_LIMITED,
        grant_portal_access,
        waiting,
        actor=portal(world),
        customer=world.customer_a,
    )
    assert "3 invitations in the last hour" in error.message
    row = Contact.objects.get(pk=waiting.pk)
    assert (row.portal_access, row.version) == (False, 1)
    assert not Invitation.objects.filter(contact=waiting).exists()

    # Adding a contact with access is refused whole: no contact without its invitation.
    with pytest.raises(DomainError) as caught:
        invite("five@alpha.example")
    assert caught.value.code == ErrorCode.RATE_LIMITED
    assert not Contact.objects.filter(email="five@alpha.example").exists()

    # Another customer has its own allowance.
    invite("one@beta.example", customer=world.customer_b, actor=portal(world, "b_owner"))


# --- revoking after acceptance ------------------------------------------------------------


def test_revoking_an_accepted_invitation_leaves_the_link_used(invite, world) -> None:
    contact, token = invite()
    user = accept_invitation(token, actor=ANONYMOUS, password=NEW_PASSWORD).user
    revoke_portal_access(Contact.objects.get(pk=contact.pk), actor=portal(world))
    assert not portal_memberships(user).exists()
    assert invitations.link_state(invitations.find(token)) == LinkState.USED


# --- two people opening the same link at once (PostgreSQL) --------------------------------


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_parallel_acceptances_exactly_one_wins(world) -> None:
    """Both requests read the link as valid; the conditional update of the pending row lets
    exactly one through, and only one sign-in is created."""
    create_contact(
        world.customer_a,
        values={"first_name": "Siti", "email": "siti@alpha.example", "portal_access": True},
        actor=portal(world),
    )
    token = token_in(mail.outbox[-1])
    invitation = invitations.find(token)
    assert invitation is not None
    outcomes: list[str] = []

    def accept(password: str) -> None:
        try:
            accept_invitation(token, actor=ANONYMOUS, password=password)
            outcomes.append("accepted")
        except DomainError as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=accept, args=(password,))
        for password in ("first-person-password-1", "second-person-password-2")
    ]
    # Hold the invitation row so that both acceptances are past the validity check and
    # waiting on the row before either goes on: the race is real.
    with transaction.atomic():
        Invitation.objects.select_for_update().get(pk=invitation.pk)
        for thread in threads:
            thread.start()
        wait_for_lock_waiters(2)
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["accepted", ErrorCode.CONFLICT]
    [user] = User.objects.filter(email="siti@alpha.example")
    contact = Contact.objects.get(customer=world.customer_a, email="siti@alpha.example")
    assert contact.user == user
    invitation.refresh_from_db()
    assert (invitation.status, invitation.accepted_by) == ("accepted", user)
    assert Activity.objects.filter(verb="invitation.accepted").count() == 1
    assert Event.objects.filter(type="invitation.accepted").count() == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_double_submitted_acceptance_links_once(world) -> None:
    """The invited person, signed in, submits the page twice at once: the single-use gate
    alone decides (no new sign-in is created that could collide), so one acceptance is
    recorded and the other is told the link was used."""
    accountant = factories.make_user("accountant@example.org")
    create_contact(
        world.customer_a,
        values={"first_name": "Acc", "email": "accountant@example.org", "portal_access": True},
        actor=portal(world),
    )
    token = token_in(mail.outbox[-1])
    invitation = invitations.find(token)
    assert invitation is not None
    outcomes: list[str] = []

    def accept() -> None:
        try:
            accept_invitation(token, actor=Actor(accountant, Source.PORTAL), user=accountant)
            outcomes.append("accepted")
        except DomainError as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=accept) for _ in range(2)]
    with transaction.atomic():
        Invitation.objects.select_for_update().get(pk=invitation.pk)
        for thread in threads:
            thread.start()
        wait_for_lock_waiters(2)
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["accepted", ErrorCode.CONFLICT]
    assert Activity.objects.filter(verb="invitation.accepted").count() == 1
    assert Event.objects.filter(type="invitation.accepted").count() == 1
    assert Contact.objects.get(email="accountant@example.org").user == accountant


def wait_for_lock_waiters(count: int, timeout: float = 15.0) -> None:
    """Wait until ``count`` other PostgreSQL sessions are blocked on a lock."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0] >= count:
                return
            time.sleep(0.02)
    pytest.fail(f"{count} acceptances never queued on the invitation's row lock")
