"""The contact actions (seeds 004 and 001): adding, editing, removing contacts and switching
their portal access. Every change writes one Activity row and one outbox Event per step;
every refusal changes nothing; the database holds the invariants even against direct ORM
writes."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.db import IntegrityError, transaction

from clientdesk.audit.models import Activity
from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers import invitations
from clientdesk.customers.access import portal_memberships
from clientdesk.customers.contact_actions import (
    change_role,
    create_contact,
    delete_contact,
    grant_portal_access,
    revoke_portal_access,
    update_contact,
)
from clientdesk.customers.contact_rules import LOGIN_EMAIL_LOCKED, PRIMARY_EMAIL_LOCKED
from clientdesk.customers.invitations import LinkState
from clientdesk.customers.models import Contact, Customer, Invitation
from clientdesk.customers.resources import contact_resource
from clientdesk.customers.roles import Role
from clientdesk.events.models import Event
from clientdesk.users.models import User
from tests import factories

pytestmark = pytest.mark.django_db

TOKEN_RE = re.compile(r"/invitations/([A-Za-z0-9_-]+)/")

NEW_PERSON = {
    "first_name": "Siti",
    "last_name": "Aminah",
    "email": "Siti.Aminah@Alpha.example",
    "phone": "012-345 6789",
    "job_title": "Finance Manager",
    "role": "billing",
}


# --- helpers ------------------------------------------------------------------------------


def portal(world, persona: str = "a_owner") -> Actor:
    return Actor(world.users[persona], Source.PORTAL)


def staff(world, persona: str = "staff_support") -> Actor:
    return Actor(world.users[persona], Source.STAFF)


def contact_of(world, persona: str) -> Contact:
    """The persona's own contact on their customer (``a_…`` on A, ``b_…`` on B)."""
    customer = world.customer_a if persona.startswith("a_") else world.customer_b
    return Contact.objects.select_related("customer").get(
        customer=customer, user=world.users[persona]
    )


def stored(contact: Contact) -> dict[str, Any]:
    return dict(Contact.objects.filter(pk=contact.pk).values().get())


def activity(customer: Customer, verb: str, *, target: Contact | None = None) -> list[Activity]:
    rows = Activity.objects.filter(customer=customer, verb=verb).order_by("id")
    if target is not None:
        rows = rows.filter(target_id=str(target.pk))
    return list(rows)


def events(customer: Customer, event_type: str, *, contact: Contact | None = None) -> list[Event]:
    rows = Event.objects.filter(customer=customer, type=event_type)
    if contact is not None:
        rows = rows.filter(data__id=contact.pk)
    return list(rows)


def event_types(customer: Customer, since: set[Any]) -> Counter[str]:
    """The types of the customer's events that are not in ``since`` (ids seen before)."""
    return Counter(e.type for e in Event.objects.filter(customer=customer).exclude(pk__in=since))


def event_ids(customer: Customer) -> set[Any]:
    return set(Event.objects.filter(customer=customer).values_list("pk", flat=True))


@contextmanager
def nothing_changes(*customers: Customer) -> Iterator[None]:
    """No contact, invitation, Activity row, Event or email appears, changes or goes."""

    def snapshot() -> tuple[Any, ...]:
        per_customer = tuple(
            (
                sorted(Contact.objects.filter(customer=c).values_list()),
                sorted(Invitation.objects.filter(customer=c).values_list()),
                Activity.objects.filter(customer=c).count(),
                Event.objects.filter(customer=c).count(),
            )
            for c in customers
        )
        return (*per_customer, User.objects.count(), len(mail.outbox))

    before = snapshot()
    yield
    assert snapshot() == before


def refused(code: ErrorCode, action: Any, *args: Any, customer: Customer, **kwargs: Any):
    """Call ``action`` and expect a refusal with ``code`` that leaves everything as it was."""
    with nothing_changes(customer), pytest.raises(DomainError) as caught:
        action(*args, **kwargs)
    assert caught.value.code == code, (caught.value.message, caught.value.errors)
    assert caught.value.message
    return caught.value


def token_in(message: mail.EmailMessage) -> str:
    found = TOKEN_RE.search(str(message.body))
    assert found, message.body
    return found.group(1)


# --- create_contact -----------------------------------------------------------------------


def test_an_admin_adds_a_contact_stored_normalised_with_one_activity_and_event(world) -> None:
    """A valid add stores the values in their normal form (email lower-cased, phone E.164,
    topics defaulting to account), records contact.created with what was set and publishes
    the contact resource."""
    customer = world.customer_a
    contact = create_contact(customer, values=NEW_PERSON, actor=portal(world, "a_admin"))

    row = stored(contact)
    assert row["email"] == "siti.aminah@alpha.example"
    assert row["phone"] == "+60123456789"
    assert row["job_title"] == "Finance Manager"
    assert row["role"] == "billing"
    assert row["notification_topics"] == ["account"]
    assert (row["portal_access"], row["user_id"], row["version"]) == (False, None, 1)

    [created] = activity(customer, "contact.created", target=contact)
    assert created.actor == world.users["a_admin"]
    assert created.source == "portal"
    assert created.target_id == str(contact.pk)
    assert created.changes == {
        "first_name": [None, "Siti"],
        "last_name": [None, "Aminah"],
        "email": [None, "siti.aminah@alpha.example"],
        "phone": [None, "+60123456789"],
        "job_title": [None, "Finance Manager"],
        "role": [None, "billing"],
        "notification_topics": [None, ["account"]],
    }
    [event] = events(customer, "contact.created", contact=contact)
    assert event.data == contact_resource(Contact.objects.get(pk=contact.pk))
    assert event.data["customer"] == customer.client_id
    assert event.data["has_login"] is False
    assert event.actor == {
        "user_id": world.users["a_admin"].pk,
        "impersonator_id": None,
        "source": "portal",
    }
    # Without portal access nobody is invited.
    assert not Invitation.objects.filter(contact=contact).exists()
    assert not events(customer, "invitation.sent")


def test_adding_a_contact_with_portal_access_invites_them_at_once(
    world, django_capture_on_commit_callbacks
) -> None:
    """Portal access on: access is granted and one invitation is sent, by email with the
    link in both the text and the HTML part, to the new contact only."""
    customer = world.customer_a
    before = event_ids(customer)
    with django_capture_on_commit_callbacks(execute=True):
        contact = create_contact(
            customer, values={**NEW_PERSON, "portal_access": True}, actor=portal(world)
        )

    assert event_types(customer, before) == Counter(
        ["contact.created", "contact.portal_access_granted", "invitation.sent"]
    )
    assert [a.verb for a in activity(customer, "contact.portal_access_granted")] == [
        "contact.portal_access_granted"
    ]
    row = stored(contact)
    assert row["portal_access"] is True
    assert row["user_id"] is None
    [invitation] = Invitation.objects.filter(contact=contact)
    assert invitation.status == Invitation.Status.PENDING
    assert invitation.email == "siti.aminah@alpha.example"
    assert invitation.sent_count == 1
    assert invitation.invited_by == world.users["a_owner"]

    [message] = mail.outbox
    assert message.to == ["siti.aminah@alpha.example"]
    assert customer.display_name in message.subject
    token = token_in(message)
    url = invitations.accept_url(token)
    assert url in message.body
    assert isinstance(message, mail.EmailMultiAlternatives)
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert url in str(html)
    assert invitations.find(token) == invitation
    assert invitations.link_state(invitations.find(token)) == LinkState.VALID


@pytest.mark.parametrize(
    "email", ["a.member@example.org", "A.Member@Example.ORG", "  a.member@EXAMPLE.org  "]
)
def test_an_email_already_on_the_customer_is_refused_whatever_its_case(world, email) -> None:
    """The same address twice on one customer (compared case-insensitively) is refused
    next to the email field, and nothing is created."""
    error = refused(
        ErrorCode.CONFLICT,
        create_contact,
        world.customer_a,
        values={"first_name": "Again", "email": email, "portal_access": True},
        actor=portal(world),
        customer=world.customer_a,
    )
    assert error.field == "email"
    assert "email" in error.errors


def test_another_spelling_of_an_address_is_the_same_address(world) -> None:
    """Emails are stored as a sign-in stores them (NFKC, lower case): full-width letters
    are the same address, so they are not a second contact."""
    contact = create_contact(
        world.customer_a,
        values={"first_name": "Wide", "email": "Wide@Ｅxample.org"},
        actor=portal(world),
    )
    assert stored(contact)["email"] == "wide@example.org"
    error = refused(
        ErrorCode.CONFLICT,
        create_contact,
        world.customer_a,
        values={"first_name": "Member", "email": "a.member@exａmple.org"},
        actor=portal(world),
        customer=world.customer_a,
    )
    assert error.field == "email"


def test_the_same_email_may_be_a_contact_of_another_customer(world) -> None:
    """An accountant may be a contact of several customers."""
    contact = create_contact(
        world.customer_b,
        values={"first_name": "Member", "email": "a.member@example.org"},
        actor=portal(world, "b_owner"),
    )
    assert contact.customer == world.customer_b
    assert Contact.objects.filter(email="a.member@example.org").count() == 2


def test_invalid_values_are_refused_per_field_and_nothing_is_created(world) -> None:
    error = refused(
        ErrorCode.INVALID,
        create_contact,
        world.customer_a,
        values={
            "first_name": "",
            "email": "not-an-email",
            "phone": "12",
            "role": "superuser",
            "notification_topics": ["account", "lottery"],
        },
        actor=portal(world),
        customer=world.customer_a,
    )
    assert set(error.errors) == {"first_name", "email", "phone", "role", "notification_topics"}
    assert "phone number" in error.errors["phone"][0]


@pytest.mark.parametrize("forged", ["user", "customer", "version", "id", "is_staff"])
def test_a_forged_field_is_refused_not_silently_dropped(world, forged) -> None:
    """Mass assignment: a field that is not a contact field refuses the whole add."""
    error = refused(
        ErrorCode.INVALID,
        create_contact,
        world.customer_a,
        values={**NEW_PERSON, forged: world.users["a_owner"].pk},
        actor=portal(world),
        customer=world.customer_a,
    )
    assert error.field == forged


@pytest.mark.parametrize("persona", ["a_admin", "a_owner", "staff_manager"])
def test_nobody_adds_an_owner(world, persona) -> None:
    """There is one owner; ownership moves only by an ownership transfer."""
    actor = portal(world, persona) if persona.startswith("a_") else staff(world, persona)
    error = refused(
        ErrorCode.NOT_ALLOWED,
        create_contact,
        world.customer_a,
        values={**NEW_PERSON, "role": "owner"},
        actor=actor,
        customer=world.customer_a,
    )
    assert error.field == "role"


def test_not_even_the_system_adds_a_second_owner(world) -> None:
    refused(
        ErrorCode.NOT_ALLOWED,
        create_contact,
        world.customer_a,
        values={**NEW_PERSON, "role": "owner"},
        actor=factories.SYSTEM,
        customer=world.customer_a,
    )


def test_the_system_adds_the_first_owner_of_a_new_customer(db) -> None:
    customer = factories.make_customer()
    owner = factories.make_contact(customer, Role.OWNER)
    assert owner.is_owner
    assert owner.portal_access and owner.user is not None


def test_staff_add_the_first_owner_of_a_customer_without_one(world) -> None:
    customer = factories.make_customer()
    actor = staff(world, "staff_support")
    owner = create_contact(customer, values={**NEW_PERSON, "role": "owner"}, actor=actor)
    assert owner.is_owner
    refused(
        ErrorCode.NOT_ALLOWED,
        create_contact,
        customer,
        values={**NEW_PERSON, "email": "second@example.org", "role": "owner"},
        actor=actor,
        customer=customer,
    )


@pytest.mark.parametrize("persona", ["a_member", "a_billing", "a_technical"])
def test_a_contact_without_the_manage_capability_cannot_add(world, persona) -> None:
    refused(
        ErrorCode.NOT_ALLOWED,
        create_contact,
        world.customer_a,
        values=NEW_PERSON,
        actor=portal(world, persona),
        customer=world.customer_a,
    )


@pytest.mark.parametrize("persona", ["b_owner", "b_member"])
def test_another_customers_user_is_told_the_customer_does_not_exist(world, persona) -> None:
    refused(
        ErrorCode.NOT_FOUND,
        create_contact,
        world.customer_a,
        values=NEW_PERSON,
        actor=portal(world, persona),
        customer=world.customer_a,
    )


def test_only_the_system_links_an_existing_sign_in_directly(world) -> None:
    """A portal admin cannot attach somebody's sign-in without their invitation."""
    outsider = factories.make_user("outsider@example.org")
    refused(
        ErrorCode.NOT_ALLOWED,
        create_contact,
        world.customer_a,
        values={"first_name": "Out", "email": "outsider@example.org"},
        user=outsider,
        actor=portal(world),
        customer=world.customer_a,
    )


@pytest.mark.parametrize(
    ("typed", "stored_as"),
    [
        ("Zoe\u0308", "Zoë"),  # decomposed: stored NFC
        ("Ñúñez-Ōtsuka", "Ñúñez-Ōtsuka"),
        ("王小明", "王小明"),
        ("محمد", "محمد"),  # right-to-left script is fine; only the overrides are not
        ("  Ana  ", "Ana"),
    ],
)
def test_unicode_names_are_welcome(world, typed, stored_as) -> None:
    contact = create_contact(
        world.customer_a,
        values={"first_name": typed, "last_name": typed, "email": "uni@alpha.example"},
        actor=portal(world),
    )
    assert (stored(contact)["first_name"], stored(contact)["last_name"]) == (stored_as, stored_as)


@pytest.mark.parametrize("field", ["first_name", "last_name", "job_title"])
@pytest.mark.parametrize("char", ["\u202e", "\u2066", "\u200f", "\x00", "\n"])
def test_bidi_overrides_and_control_characters_are_refused(world, field, char) -> None:
    error = refused(
        ErrorCode.INVALID,
        create_contact,
        world.customer_a,
        values={**NEW_PERSON, field: f"abc{char}fdp.exe"},
        actor=portal(world),
        customer=world.customer_a,
    )
    assert list(error.errors) == [field]


def test_topics_are_stored_once_each_in_the_catalogues_order(world) -> None:
    contact = create_contact(
        world.customer_a,
        values={**NEW_PERSON, "notification_topics": ["technical", "billing", "billing"]},
        actor=portal(world),
    )
    assert stored(contact)["notification_topics"] == ["billing", "technical"]


def test_no_topics_chosen_is_kept_as_none(world) -> None:
    contact = create_contact(
        world.customer_a, values={**NEW_PERSON, "notification_topics": []}, actor=portal(world)
    )
    assert stored(contact)["notification_topics"] == []


def test_a_phone_abroad_needs_its_country_code(world) -> None:
    contact = create_contact(
        world.customer_a, values={**NEW_PERSON, "phone": "+65 6123 4567"}, actor=portal(world)
    )
    assert stored(contact)["phone"] == "+6561234567"


# --- update_contact and change_role -------------------------------------------------------


def test_an_admin_edits_a_members_details_recording_old_and_new(world) -> None:
    customer = world.customer_a
    member = contact_of(world, "a_member")
    version = member.version
    before = stored(member)

    update_contact(
        member,
        values={
            "first_name": "Mei Ling",
            "last_name": "Tan",
            "phone": "03-7890 1234",
            "job_title": "Accounts",
            "role": "billing",
            "notification_topics": ["billing", "account"],
        },
        actor=portal(world, "a_admin"),
        version=version,
    )

    row = stored(member)
    assert row["first_name"] == "Mei Ling"
    assert row["phone"] == "+60378901234"
    assert row["role"] == "billing"
    assert row["notification_topics"] == ["account", "billing"]
    assert row["version"] == version + 1
    [updated] = activity(customer, "contact.updated")
    assert updated.changes == {
        "first_name": [before["first_name"], "Mei Ling"],
        "last_name": [before["last_name"], "Tan"],
        "phone": ["", "+60378901234"],
        "job_title": ["", "Accounts"],
        "role": ["member", "billing"],
        "notification_topics": [["account"], ["account", "billing"]],
    }
    [event] = events(customer, "contact.updated")
    assert event.data["changes"] == updated.changes
    assert event.data["role"] == "billing"
    assert event.data["version"] == version + 1


def test_change_role_gives_another_role_up_to_admin(world) -> None:
    technical = contact_of(world, "a_technical")
    change_role(technical, role="admin", actor=portal(world, "a_admin"))
    assert stored(technical)["role"] == "admin"
    [updated] = activity(world.customer_a, "contact.updated")
    assert updated.changes == {"role": ["technical", "admin"]}


@pytest.mark.parametrize("persona", ["a_owner", "a_admin", "staff_manager", "superuser"])
def test_nobody_is_made_owner_by_a_role_change(world, persona) -> None:
    actor = portal(world, persona) if persona.startswith("a_") else staff(world, persona)
    error = refused(
        ErrorCode.NOT_ALLOWED,
        change_role,
        contact_of(world, "a_member"),
        role="owner",
        actor=actor,
        customer=world.customer_a,
    )
    assert error.field == "role"
    assert "ownership" in error.message


def test_an_unknown_role_is_refused(world) -> None:
    refused(
        ErrorCode.NOT_ALLOWED,
        change_role,
        contact_of(world, "a_member"),
        role="superuser",
        actor=portal(world),
        customer=world.customer_a,
    )


def test_an_admin_cannot_change_their_own_role(world) -> None:
    error = refused(
        ErrorCode.NOT_ALLOWED,
        change_role,
        contact_of(world, "a_admin"),
        role="member",
        actor=portal(world, "a_admin"),
        customer=world.customer_a,
    )
    assert error.field == "role"
    assert "own role" in error.message


@pytest.mark.parametrize("actor_persona", ["a_owner", "staff_manager"])
def test_the_owners_role_cannot_be_changed(world, actor_persona) -> None:
    actor = (
        portal(world, actor_persona)
        if actor_persona.startswith("a_")
        else staff(world, actor_persona)
    )
    error = refused(
        ErrorCode.NOT_ALLOWED,
        change_role,
        contact_of(world, "a_owner"),
        role="admin",
        actor=actor,
        customer=world.customer_a,
    )
    assert "transferring ownership" in error.message


@pytest.mark.parametrize("field", ["first_name", "phone", "job_title", "notification_topics"])
def test_an_admin_cannot_edit_the_owners_details(world, field) -> None:
    """The owner is above an admin."""
    value = {"phone": "0123456789", "notification_topics": ["billing"]}.get(field, "Changed")
    error = refused(
        ErrorCode.NOT_ALLOWED,
        update_contact,
        contact_of(world, "a_owner"),
        values={field: value},
        actor=portal(world, "a_admin"),
        customer=world.customer_a,
    )
    assert error.field == field
    assert "owner" in error.message


def test_the_owner_edits_their_own_details(world) -> None:
    owner = contact_of(world, "a_owner")
    update_contact(
        owner,
        values={"first_name": "Aisha", "last_name": "Rahman", "job_title": "Director"},
        actor=portal(world),
    )
    row = stored(owner)
    assert (row["first_name"], row["last_name"], row["job_title"]) == (
        "Aisha",
        "Rahman",
        "Director",
    )


def test_support_staff_edit_the_owners_name_but_not_role_or_email(world) -> None:
    owner = contact_of(world, "a_owner")
    update_contact(owner, values={"first_name": "Aisha"}, actor=staff(world))
    assert stored(owner)["first_name"] == "Aisha"
    assert activity(world.customer_a, "contact.updated")[0].source == "staff"
    error = refused(
        ErrorCode.NOT_ALLOWED,
        update_contact,
        owner,
        values={"email": "new@alpha.example"},
        actor=staff(world),
        customer=world.customer_a,
    )
    assert error.message == PRIMARY_EMAIL_LOCKED


def test_a_member_edits_their_own_name_phone_and_topics(world) -> None:
    member = contact_of(world, "a_member")
    update_contact(
        member,
        values={
            "first_name": "Farid",
            "phone": "+60 12-345 6789",
            "notification_topics": ["technical"],
        },
        actor=portal(world, "a_member"),
    )
    row = stored(member)
    assert (row["first_name"], row["phone"], row["notification_topics"]) == (
        "Farid",
        "+60123456789",
        ["technical"],
    )
    [updated] = activity(world.customer_a, "contact.updated")
    assert updated.actor == world.users["a_member"]


@pytest.mark.parametrize(
    "values",
    [{"job_title": "CEO"}, {"role": "admin"}, {"email": "me@alpha.example"}],
    ids=["job_title", "role", "email"],
)
def test_a_member_cannot_change_their_job_title_role_or_email(world, values) -> None:
    error = refused(
        ErrorCode.NOT_ALLOWED,
        update_contact,
        contact_of(world, "a_member"),
        values={"first_name": "Farid", **values},
        actor=portal(world, "a_member"),
        customer=world.customer_a,
    )
    assert error.field == next(iter(values))


@pytest.mark.parametrize("persona", ["a_member", "a_billing", "a_technical"])
def test_a_contact_without_the_manage_capability_cannot_edit_others(world, persona) -> None:
    error = refused(
        ErrorCode.NOT_ALLOWED,
        update_contact,
        contact_of(world, "a_admin"),
        values={"first_name": "Hijacked"},
        actor=portal(world, persona),
        customer=world.customer_a,
    )
    assert "owner or an administrator" in error.message


def test_another_customers_user_cannot_edit_a_contact(world) -> None:
    refused(
        ErrorCode.NOT_FOUND,
        update_contact,
        contact_of(world, "a_member"),
        values={"first_name": "Hijacked"},
        actor=portal(world, "b_owner"),
        customer=world.customer_a,
    )


def test_the_email_of_a_contact_who_signs_in_is_refused(world) -> None:
    """It is their login: it changes through the login email flows only."""
    error = refused(
        ErrorCode.NOT_ALLOWED,
        update_contact,
        contact_of(world, "a_member"),
        values={"email": "other@alpha.example"},
        actor=portal(world, "a_admin"),
        customer=world.customer_a,
    )
    assert error.field == "email"
    assert error.message == LOGIN_EMAIL_LOCKED
    assert "sign-in" in error.message


def test_the_owners_email_is_refused_even_to_the_owner(world) -> None:
    error = refused(
        ErrorCode.NOT_ALLOWED,
        update_contact,
        contact_of(world, "a_owner"),
        values={"email": "boss@alpha.example"},
        actor=portal(world),
        customer=world.customer_a,
    )
    assert error.message == PRIMARY_EMAIL_LOCKED


def test_the_email_of_a_contact_without_sign_in_can_be_corrected(world) -> None:
    contact = create_contact(world.customer_a, values=NEW_PERSON, actor=portal(world))
    update_contact(contact, values={"email": "Siti@Alpha.example"}, actor=portal(world, "a_admin"))
    assert stored(contact)["email"] == "siti@alpha.example"
    # No portal access: nobody is invited.
    assert not Invitation.objects.filter(contact=contact).exists()


def test_an_email_edited_to_another_contacts_is_refused(world) -> None:
    contact = create_contact(world.customer_a, values=NEW_PERSON, actor=portal(world))
    error = refused(
        ErrorCode.CONFLICT,
        update_contact,
        contact,
        values={"email": "A.Admin@example.org"},
        actor=portal(world),
        customer=world.customer_a,
    )
    assert error.field == "email"


def test_invalid_values_in_an_edit_are_refused_per_field(world) -> None:
    error = refused(
        ErrorCode.INVALID,
        update_contact,
        contact_of(world, "a_member"),
        values={"first_name": "\u202eevil", "phone": "call me"},
        actor=portal(world),
        customer=world.customer_a,
    )
    assert set(error.errors) == {"first_name", "phone"}


@pytest.mark.parametrize("forged", ["user", "portal_access", "customer", "version"])
def test_a_forged_field_in_an_edit_is_refused(world, forged) -> None:
    """Access is switched by its own actions; user, customer and version are not editable."""
    error = refused(
        ErrorCode.INVALID,
        update_contact,
        contact_of(world, "a_member"),
        values={"first_name": "Farid", forged: 1},
        actor=portal(world),
        customer=world.customer_a,
    )
    assert error.field == forged


def test_a_stale_version_is_refused(world) -> None:
    """Two editors: the second, who started from the old version, is told, not overwriting."""
    member = contact_of(world, "a_member")
    started_from = member.version
    update_contact(member, values={"job_title": "Ops"}, actor=portal(world), version=started_from)
    error = refused(
        ErrorCode.STALE_VERSION,
        update_contact,
        member,
        values={"job_title": "Sales"},
        actor=portal(world, "a_admin"),
        version=started_from,
        customer=world.customer_a,
    )
    assert "Reload" in error.message
    assert stored(member)["job_title"] == "Ops"


def test_saving_without_a_change_writes_nothing(world) -> None:
    """The same values (even typed differently) are no change: no version, Activity or
    Event."""
    member = contact_of(world, "a_member")
    update_contact(member, values={"phone": "012-345 6789"}, actor=portal(world))
    version = stored(member)["version"]
    with nothing_changes(world.customer_a):
        update_contact(
            member,
            values={
                "first_name": f"  {member.first_name} ",
                "phone": "+60 12 345 6789",
                "notification_topics": ["account"],
            },
            actor=portal(world),
            version=version,
        )
    assert stored(member)["version"] == version


def test_a_new_email_for_a_pending_invitation_sends_a_new_one_there(
    world, django_capture_on_commit_callbacks
) -> None:
    """The old link stops working; the new address gets a fresh link."""
    customer = world.customer_a
    with django_capture_on_commit_callbacks(execute=True):
        contact = create_contact(
            customer, values={**NEW_PERSON, "portal_access": True}, actor=portal(world)
        )
    old_token = token_in(mail.outbox[0])
    old_invitation = invitations.find(old_token)
    assert old_invitation is not None

    before = event_ids(customer)
    with django_capture_on_commit_callbacks(execute=True):
        update_contact(contact, values={"email": "siti@alpha.example"}, actor=portal(world))

    assert event_types(customer, before) == Counter(
        ["contact.updated", "invitation.cancelled", "invitation.sent"]
    )
    old_invitation.refresh_from_db()
    assert old_invitation.status == Invitation.Status.CANCELLED
    assert old_invitation.cancel_reason == "email_changed"
    assert invitations.link_state(invitations.find(old_token)) == LinkState.CANCELLED
    with pytest.raises(DomainError) as caught:
        invitations.accept_invitation(
            old_token, actor=Actor(None, Source.PORTAL), password=factories.PASSWORD
        )
    assert caught.value.code == ErrorCode.CONFLICT

    [pending] = Invitation.objects.filter(contact=contact, status=Invitation.Status.PENDING)
    assert pending.email == "siti@alpha.example"
    [_, message] = mail.outbox
    assert message.to == ["siti@alpha.example"]
    new_token = token_in(message)
    assert new_token != old_token
    assert invitations.find(new_token) == pending
    accepted = invitations.accept_invitation(
        new_token, actor=Actor(None, Source.PORTAL), password=factories.PASSWORD
    )
    assert accepted.user is not None
    assert accepted.user.email == "siti@alpha.example"


# --- delete_contact -----------------------------------------------------------------------


def test_an_admin_removes_a_contact_their_sign_in_stays(world) -> None:
    customer = world.customer_a
    member = contact_of(world, "a_member")
    snapshot = contact_resource(member)
    user = world.users["a_member"]

    delete_contact(member, actor=portal(world, "a_admin"))

    assert not Contact.objects.filter(pk=member.pk).exists()
    [deleted] = activity(customer, "contact.deleted")
    assert deleted.target_id == str(member.pk)
    assert deleted.changes == {"email": ["a.member@example.org", None], "role": ["member", None]}
    [event] = events(customer, "contact.deleted")
    assert event.data == snapshot
    # The person's sign-in is theirs, not the customer's.
    assert User.objects.filter(pk=user.pk, is_active=True).exists()
    assert EmailAddress.objects.filter(user=user, verified=True).exists()
    assert not portal_memberships(user).exists()


def test_removing_a_contact_voids_their_pending_invitation(
    world, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        contact = create_contact(
            world.customer_a, values={**NEW_PERSON, "portal_access": True}, actor=portal(world)
        )
    token = token_in(mail.outbox[0])
    delete_contact(contact, actor=portal(world))
    assert invitations.find(token) is None
    assert not Invitation.objects.filter(contact_id=contact.pk).exists()
    [cancelled] = events(world.customer_a, "invitation.cancelled")
    assert cancelled.data["reason"] == "contact_deleted"


@pytest.mark.parametrize("persona", ["a_admin", "staff_manager", "superuser"])
def test_the_owner_cannot_be_removed(world, persona) -> None:
    actor = portal(world, persona) if persona.startswith("a_") else staff(world, persona)
    error = refused(
        ErrorCode.NOT_ALLOWED,
        delete_contact,
        contact_of(world, "a_owner"),
        actor=actor,
        customer=world.customer_a,
    )
    assert "Transfer ownership" in error.message


def test_nobody_removes_themselves(world) -> None:
    error = refused(
        ErrorCode.NOT_ALLOWED,
        delete_contact,
        contact_of(world, "a_admin"),
        actor=portal(world, "a_admin"),
        customer=world.customer_a,
    )
    assert "yourself" in error.message


@pytest.mark.parametrize("persona", ["a_member", "a_billing", "a_technical"])
def test_a_contact_without_the_manage_capability_cannot_remove(world, persona) -> None:
    refused(
        ErrorCode.NOT_ALLOWED,
        delete_contact,
        contact_of(world, "a_technical" if persona == "a_member" else "a_member"),
        actor=portal(world, persona),
        customer=world.customer_a,
    )


def test_a_contact_already_removed_is_not_found(world) -> None:
    member = contact_of(world, "a_member")
    delete_contact(member, actor=portal(world))
    refused(
        ErrorCode.NOT_FOUND,
        delete_contact,
        member,
        actor=portal(world),
        customer=world.customer_a,
    )


# --- portal access ------------------------------------------------------------------------


def test_granting_access_invites_the_contact(world, django_capture_on_commit_callbacks) -> None:
    customer = world.customer_a
    contact = create_contact(customer, values=NEW_PERSON, actor=portal(world))
    before = event_ids(customer)
    with django_capture_on_commit_callbacks(execute=True):
        granted = grant_portal_access(contact, actor=portal(world, "a_admin"))

    assert granted.portal_access is True
    assert stored(contact)["portal_access"] is True
    assert stored(contact)["version"] == 2
    assert event_types(customer, before) == Counter(
        ["contact.portal_access_granted", "invitation.sent"]
    )
    [grant] = activity(customer, "contact.portal_access_granted")
    assert grant.changes == {"portal_access": [False, True]}
    [invitation] = Invitation.objects.filter(contact=contact, status="pending")
    [message] = mail.outbox
    assert message.to == [invitation.email]
    assert invitations.find(token_in(message)) == invitation


def test_granting_access_twice_changes_nothing_the_second_time(
    world, django_capture_on_commit_callbacks
) -> None:
    """A double submit of the toggle is not an error and sends no second email."""
    contact = create_contact(world.customer_a, values=NEW_PERSON, actor=portal(world))
    with django_capture_on_commit_callbacks(execute=True):
        grant_portal_access(contact, actor=portal(world))
    with nothing_changes(world.customer_a), django_capture_on_commit_callbacks(execute=True):
        grant_portal_access(contact, actor=portal(world))
    assert Invitation.objects.get(contact=contact).sent_count == 1


def test_granting_access_to_someone_who_signs_in_changes_nothing(world) -> None:
    with nothing_changes(world.customer_a):
        grant_portal_access(contact_of(world, "a_member"), actor=portal(world))


@pytest.mark.parametrize("persona", ["a_member", "a_billing", "staff_billing"])
def test_only_contact_managers_grant_access(world, persona) -> None:
    contact = create_contact(world.customer_a, values=NEW_PERSON, actor=portal(world))
    actor = portal(world, persona) if persona.startswith("a_") else staff(world, persona)
    refused(
        ErrorCode.NOT_ALLOWED,
        grant_portal_access,
        contact,
        actor=actor,
        customer=world.customer_a,
    )


def test_revoking_access_unlinks_the_user_from_this_customer_only(world) -> None:
    """The person keeps their sign-in and their other customers."""
    accountant = factories.make_user("accountant@example.org")
    on_a = factories.make_contact(world.customer_a, Role.BILLING, user=accountant)
    factories.make_contact(world.customer_b, Role.BILLING, user=accountant)
    assert {m.customer_id for m in portal_memberships(accountant)} == {
        world.customer_a.pk,
        world.customer_b.pk,
    }

    revoked = revoke_portal_access(on_a, actor=portal(world, "a_admin"), reason="Left the firm")

    assert (revoked.portal_access, revoked.user_id) == (False, None)
    row = stored(on_a)
    assert (row["portal_access"], row["user_id"]) == (False, None)
    assert row["email"] == "accountant@example.org"  # still a contact, just without access
    assert [m.customer_id for m in portal_memberships(accountant)] == [world.customer_b.pk]
    [revoke] = activity(world.customer_a, "contact.portal_access_revoked")
    assert revoke.changes == {"portal_access": [True, False]}
    assert revoke.reason == "Left the firm"
    [event] = events(world.customer_a, "contact.portal_access_revoked")
    assert event.data["had_login"] is True
    assert event.data["portal_access"] is False
    assert event.data["has_login"] is False
    assert User.objects.filter(pk=accountant.pk).exists()


def test_revoking_access_cancels_a_pending_invitation(
    world, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        contact = create_contact(
            world.customer_a, values={**NEW_PERSON, "portal_access": True}, actor=portal(world)
        )
    token = token_in(mail.outbox[0])

    revoke_portal_access(contact, actor=portal(world))

    assert stored(contact)["portal_access"] is False
    assert invitations.link_state(invitations.find(token)) == LinkState.CANCELLED
    [event] = events(world.customer_a, "contact.portal_access_revoked")
    assert event.data["had_login"] is False
    [cancelled] = events(world.customer_a, "invitation.cancelled")
    assert cancelled.data["reason"] == "access_revoked"
    with pytest.raises(DomainError):
        invitations.accept_invitation(
            token, actor=Actor(None, Source.PORTAL), password=factories.PASSWORD
        )


def test_revoking_access_that_is_off_changes_nothing(world) -> None:
    contact = create_contact(world.customer_a, values=NEW_PERSON, actor=portal(world))
    with nothing_changes(world.customer_a):
        revoke_portal_access(contact, actor=portal(world))


@pytest.mark.parametrize("persona", ["a_admin", "staff_manager", "superuser"])
def test_the_owners_access_cannot_be_switched_off(world, persona) -> None:
    actor = portal(world, persona) if persona.startswith("a_") else staff(world, persona)
    error = refused(
        ErrorCode.NOT_ALLOWED,
        revoke_portal_access,
        contact_of(world, "a_owner"),
        actor=actor,
        customer=world.customer_a,
    )
    assert "owner" in error.message


def test_nobody_switches_off_their_own_access(world) -> None:
    error = refused(
        ErrorCode.NOT_ALLOWED,
        revoke_portal_access,
        contact_of(world, "a_admin"),
        actor=portal(world, "a_admin"),
        customer=world.customer_a,
    )
    assert "your own access" in error.message


@pytest.mark.parametrize("persona", ["a_member", "a_billing", "a_technical", "b_owner"])
def test_others_cannot_switch_access_off(world, persona) -> None:
    code = ErrorCode.NOT_FOUND if persona.startswith("b_") else ErrorCode.NOT_ALLOWED
    refused(
        code,
        revoke_portal_access,
        contact_of(world, "a_admin"),
        actor=portal(world, persona),
        customer=world.customer_a,
    )


def test_a_revoked_user_can_no_longer_act_on_the_customer(world) -> None:
    revoke_portal_access(contact_of(world, "a_admin"), actor=portal(world))
    refused(
        ErrorCode.NOT_FOUND,
        create_contact,
        world.customer_a,
        values=NEW_PERSON,
        actor=portal(world, "a_admin"),
        customer=world.customer_a,
    )


# --- staff actors -------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["staff_support", "staff_manager", "superuser"])
def test_support_managers_and_superusers_manage_contacts(
    world, persona, django_capture_on_commit_callbacks
) -> None:
    actor = staff(world, persona)
    with django_capture_on_commit_callbacks(execute=True):
        contact = create_contact(
            world.customer_a, values={**NEW_PERSON, "portal_access": True}, actor=actor
        )
    update_contact(contact, values={"job_title": "CFO", "role": "admin"}, actor=actor)
    revoke_portal_access(contact, actor=actor)
    grant_portal_access(contact, actor=actor)
    change_role(contact_of(world, "a_member"), role="technical", actor=actor)
    delete_contact(contact, actor=actor)

    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert stored(contact_of(world, "a_technical"))["role"] == "technical"
    created = activity(world.customer_a, "contact.created")[-1]
    assert (created.source, created.actor) == ("staff", world.users[persona])
    assert created.actor_label.endswith("(staff)")
    # The invitation names the provider's support, not the staff member.
    assert "Clientdesk support" in mail.outbox[0].body


@pytest.mark.parametrize("change", ["create", "update", "role", "delete", "grant", "revoke"])
def test_billing_staff_may_not_manage_contacts(world, change) -> None:
    actor = staff(world, "staff_billing")
    member = contact_of(world, "a_member")
    without_access = factories.make_contact(world.customer_a, portal=False)
    calls: dict[str, Callable[[], Any]] = {
        "create": lambda: create_contact(world.customer_a, values=NEW_PERSON, actor=actor),
        "update": lambda: update_contact(member, values={"first_name": "X"}, actor=actor),
        "role": lambda: change_role(member, role="admin", actor=actor),
        "delete": lambda: delete_contact(member, actor=actor),
        "grant": lambda: grant_portal_access(without_access, actor=actor),
        "revoke": lambda: revoke_portal_access(member, actor=actor),
    }
    refused(ErrorCode.NOT_ALLOWED, calls[change], customer=world.customer_a)


def test_a_customer_user_posing_as_staff_is_refused(world) -> None:
    refused(
        ErrorCode.NOT_ALLOWED,
        create_contact,
        world.customer_a,
        values=NEW_PERSON,
        actor=Actor(world.users["a_owner"], Source.STAFF),
        customer=world.customer_a,
    )


def test_staff_in_the_portal_are_not_contacts(world) -> None:
    """Staff act from the console; in the portal they are nobody on the customer."""
    refused(
        ErrorCode.NOT_FOUND,
        create_contact,
        world.customer_a,
        values=NEW_PERSON,
        actor=portal(world, "superuser"),
        customer=world.customer_a,
    )


# --- invariants in the database -----------------------------------------------------------


def test_a_second_owner_cannot_be_written_directly(world) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.create(
            customer=world.customer_a, first_name="Two", email="two@alpha.example", role="owner"
        )
    member = Contact.objects.filter(pk=contact_of(world, "a_member").pk)
    with pytest.raises(IntegrityError), transaction.atomic():
        member.update(role=Role.OWNER)
    assert Contact.objects.filter(customer=world.customer_a, role="owner").count() == 1
    # Another customer has an owner of its own.
    assert Contact.objects.filter(customer=world.customer_b, role="owner").count() == 1


def test_a_linked_user_always_has_portal_access_in_the_database(world) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.create(
            customer=world.customer_a,
            first_name="Linked",
            email="linked@alpha.example",
            user=factories.make_user(),
            portal_access=False,
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.filter(pk=contact_of(world, "a_member").pk).update(portal_access=False)
    assert stored(contact_of(world, "a_member"))["portal_access"] is True


def test_one_email_once_per_customer_in_the_database(world) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.create(
            customer=world.customer_a, first_name="Dup", email="A.MEMBER@example.org"
        )


def test_one_contact_per_user_per_customer_in_the_database(world) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.create(
            customer=world.customer_a,
            first_name="Twice",
            email="twice@alpha.example",
            user=world.users["a_member"],
            portal_access=True,
        )


def test_the_role_is_one_of_the_roles_in_the_database(world) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.filter(pk=contact_of(world, "a_member").pk).update(role="god")
