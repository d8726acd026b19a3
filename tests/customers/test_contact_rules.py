"""Who may do what to a customer's contacts (``contact_rules``) and how a contact's values
are checked (``contact_forms``). The contacts pages ask these same functions which buttons
to show, so the tables here are also what every persona sees."""

from __future__ import annotations

import pytest

from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers import contact_forms, contact_rules
from clientdesk.customers.contact_rules import (
    GRANTABLE_ROLES,
    LOGIN_EMAIL_LOCKED,
    MANAGED_FIELDS,
    OWN_FIELDS,
    PRIMARY_EMAIL_LOCKED,
    ContactActor,
)
from clientdesk.customers.models import Contact
from clientdesk.customers.roles import Role
from tests import factories

pytestmark = pytest.mark.django_db

OWNER_OWN = frozenset({"first_name", "last_name", "phone", "job_title", "notification_topics"})
UNLINKED = "unlinked"  # a contact of customer A without a sign-in


def actor_of(world, persona: str) -> Actor:
    if persona == "system":
        return Actor.system()
    source = Source.PORTAL if persona[:2] in ("a_", "b_") else Source.STAFF
    return Actor(world.users[persona], source)


def contact(world, persona: str) -> Contact:
    if persona == UNLINKED:
        return factories.make_contact(world.customer_a, Role.MEMBER, portal=False)
    return Contact.objects.select_related("customer").get(
        customer=world.customer_a, user=world.users[persona]
    )


def who(world, persona: str) -> ContactActor:
    return contact_rules.contact_actor(actor_of(world, persona), world.customer_a)


# --- contact_actor: who the actor is on this customer -------------------------------------


@pytest.mark.parametrize(
    ("persona", "manages"),
    [
        ("a_owner", True),
        ("a_admin", True),
        ("a_billing", False),
        ("a_technical", False),
        ("a_member", False),
    ],
)
def test_a_portal_contact_manages_by_their_role(world, persona, manages) -> None:
    resolved = who(world, persona)
    assert resolved.manages is manages
    assert resolved.source == Source.PORTAL
    assert resolved.own_contact_id == contact(world, persona).pk
    assert resolved.grantable_roles == (GRANTABLE_ROLES if manages else ())


def test_an_api_actor_is_seen_as_the_same_contact(world) -> None:
    resolved = contact_rules.contact_actor(
        Actor(world.users["a_admin"], Source.API), world.customer_a
    )
    assert resolved.manages and resolved.own_contact_id == contact(world, "a_admin").pk


@pytest.mark.parametrize("persona", ["b_owner", "b_member", "staff_manager", "superuser"])
def test_in_the_portal_a_customer_you_are_not_a_contact_of_does_not_exist(world, persona) -> None:
    with pytest.raises(DomainError) as caught:
        contact_rules.contact_actor(Actor(world.users[persona], Source.PORTAL), world.customer_a)
    assert caught.value.code == ErrorCode.NOT_FOUND


def test_an_anonymous_portal_actor_is_nobody(world) -> None:
    with pytest.raises(DomainError) as caught:
        contact_rules.contact_actor(Actor(None, Source.PORTAL), world.customer_a)
    assert caught.value.code == ErrorCode.NOT_FOUND


def test_a_contact_whose_access_is_off_is_nobody(world) -> None:
    Contact.objects.filter(user=world.users["a_admin"]).update(user=None, portal_access=False)
    with pytest.raises(DomainError) as caught:
        who(world, "a_admin")
    assert caught.value.code == ErrorCode.NOT_FOUND


@pytest.mark.parametrize(
    ("persona", "manages"),
    [
        ("staff_support", True),
        ("staff_manager", True),
        ("staff_billing", False),
        ("superuser", True),
        ("system", True),
    ],
)
def test_staff_manage_contacts_by_their_group(world, persona, manages) -> None:
    resolved = who(world, persona)
    assert resolved.manages is manages
    assert resolved.own_contact_id is None  # staff are never contacts


@pytest.mark.parametrize("user", ["a_owner", None])
def test_only_staff_act_from_the_staff_console(world, user) -> None:
    actor = Actor(world.users[user] if user else None, Source.STAFF)
    with pytest.raises(DomainError) as caught:
        contact_rules.contact_actor(actor, world.customer_a)
    assert caught.value.code == ErrorCode.NOT_ALLOWED


# --- editable_fields: the fields each persona may change on each contact ------------------


@pytest.mark.parametrize(
    ("persona", "target", "expected"),
    [
        # The owner: everything on others except a sign-in's email; not their own role/email.
        ("a_owner", "a_owner", OWNER_OWN),
        ("a_owner", "a_admin", MANAGED_FIELDS - {"email"}),
        ("a_owner", UNLINKED, MANAGED_FIELDS),
        # An admin: not the owner at all; not their own role.
        ("a_admin", "a_owner", frozenset()),
        ("a_admin", "a_admin", MANAGED_FIELDS - {"role", "email"}),
        ("a_admin", "a_member", MANAGED_FIELDS - {"email"}),
        ("a_admin", UNLINKED, MANAGED_FIELDS),
        # Everyone else: their own name, phone and topics only.
        ("a_member", "a_member", OWN_FIELDS),
        ("a_billing", "a_billing", OWN_FIELDS),
        ("a_technical", "a_technical", OWN_FIELDS),
        ("a_member", "a_admin", frozenset()),
        ("a_billing", "a_owner", frozenset()),
        ("a_technical", UNLINKED, frozenset()),
        # Staff who manage contacts: the owner's details but not role or primary email.
        ("staff_support", "a_owner", OWNER_OWN),
        ("staff_manager", "a_member", MANAGED_FIELDS - {"email"}),
        ("superuser", UNLINKED, MANAGED_FIELDS),
        ("staff_billing", "a_member", frozenset()),
        ("staff_billing", "a_owner", frozenset()),
        ("system", "a_owner", OWNER_OWN),
    ],
)
def test_editable_fields(world, persona, target, expected) -> None:
    assert contact_rules.editable_fields(who(world, persona), contact(world, target)) == expected


def test_own_fields_are_a_subset_of_managed_fields() -> None:
    assert OWN_FIELDS < MANAGED_FIELDS
    assert "email" not in OWN_FIELDS and "role" not in OWN_FIELDS


# --- locked_reason and check_fields -------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "target", "field", "expected"),
    [
        ("a_owner", "a_owner", "email", PRIMARY_EMAIL_LOCKED),
        ("staff_manager", "a_owner", "email", PRIMARY_EMAIL_LOCKED),
        ("a_owner", "a_member", "email", LOGIN_EMAIL_LOCKED),
        ("a_owner", "a_owner", "role", "The owner's role changes only by transferring ownership."),
        (
            "a_admin",
            "a_admin",
            "role",
            "You cannot change your own role; ask another administrator.",
        ),
        (
            "a_admin",
            "a_owner",
            "first_name",
            "Only the owner, or your provider's support, can change the owner's details.",
        ),
        (
            "a_member",
            "a_admin",
            "first_name",
            "Only the account's owner or an administrator can change contacts.",
        ),
        (
            "staff_billing",
            "a_member",
            "phone",
            "Only the account's owner or an administrator can change contacts.",
        ),
        (
            "a_member",
            "a_member",
            "job_title",
            "Ask the account's owner or an administrator to change this for you.",
        ),
    ],
)
def test_a_locked_field_says_why(world, persona, target, field, expected) -> None:
    subject = contact(world, target)
    assert contact_rules.locked_reason(field, who(world, persona), subject) == expected
    assert field not in contact_rules.editable_fields(who(world, persona), subject)


def test_check_fields_passes_what_may_be_edited(world) -> None:
    contact_rules.check_fields(
        who(world, "a_member"), contact(world, "a_member"), {"first_name", "phone"}
    )
    contact_rules.check_fields(who(world, "a_member"), contact(world, "a_member"), set())


def test_check_fields_refuses_the_first_locked_field_with_its_reason(world) -> None:
    with pytest.raises(DomainError) as caught:
        contact_rules.check_fields(
            who(world, "a_member"), contact(world, "a_member"), {"first_name", "role", "job_title"}
        )
    assert caught.value.code == ErrorCode.NOT_ALLOWED
    assert caught.value.field == "job_title"  # in name order, so the answer is stable
    assert caught.value.errors == {"job_title": [caught.value.message]}


def test_check_fields_refuses_what_is_not_a_contact_field(world) -> None:
    with pytest.raises(DomainError) as caught:
        contact_rules.check_fields(
            who(world, "a_owner"), contact(world, "a_member"), {"first_name", "customer_id"}
        )
    assert caught.value.code == ErrorCode.INVALID
    assert caught.value.field == "customer_id"


# --- check_role ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", GRANTABLE_ROLES)
def test_a_contact_manager_gives_every_role_up_to_admin(world, role) -> None:
    contact_rules.check_role(who(world, "a_admin"), role)
    contact_rules.check_role(who(world, "staff_support"), role)


@pytest.mark.parametrize("persona", ["a_owner", "a_admin", "staff_manager", "superuser", "system"])
def test_nobody_gives_the_owner_role(world, persona) -> None:
    with pytest.raises(DomainError) as caught:
        contact_rules.check_role(who(world, persona), Role.OWNER)
    assert caught.value.code == ErrorCode.NOT_ALLOWED
    assert caught.value.field == "role"
    assert "ownership transfer" in caught.value.message


@pytest.mark.parametrize("role", ["member", "admin", "root", ""])
def test_a_contact_without_the_manage_capability_gives_no_role(world, role) -> None:
    with pytest.raises(DomainError) as caught:
        contact_rules.check_role(who(world, "a_member"), role)
    assert caught.value.code == ErrorCode.NOT_ALLOWED


def test_an_unknown_role_is_refused_to_everyone(world) -> None:
    with pytest.raises(DomainError):
        contact_rules.check_role(who(world, "a_owner"), "root")


# --- delete_refusal and access_refusal ----------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "target", "refusal"),
    [
        ("a_owner", "a_admin", ""),
        ("a_owner", UNLINKED, ""),
        ("a_admin", "a_member", ""),
        ("staff_support", "a_admin", ""),
        ("a_owner", "a_owner", "The owner cannot be removed. Transfer ownership first."),
        ("staff_manager", "a_owner", "The owner cannot be removed. Transfer ownership first."),
        ("a_admin", "a_admin", "You cannot remove yourself; ask another administrator."),
        (
            "a_member",
            UNLINKED,
            "Only the account's owner or an administrator can remove contacts.",
        ),
        (
            "staff_billing",
            "a_member",
            "Only the account's owner or an administrator can remove contacts.",
        ),
    ],
)
def test_delete_refusal(world, persona, target, refusal) -> None:
    assert contact_rules.delete_refusal(who(world, persona), contact(world, target)) == refusal


@pytest.mark.parametrize(
    ("persona", "target", "enable", "refused_because"),
    [
        ("a_admin", "a_member", False, ""),
        ("a_admin", UNLINKED, True, ""),
        ("staff_support", "a_member", False, ""),
        ("a_owner", "a_owner", True, ""),  # switching on what is on is harmless
        ("a_admin", "a_owner", False, "owner's portal access cannot be switched off"),
        ("superuser", "a_owner", False, "owner's portal access cannot be switched off"),
        ("a_admin", "a_admin", False, "your own access"),
        ("a_member", UNLINKED, True, "owner or an administrator"),
        ("a_billing", "a_member", False, "owner or an administrator"),
        ("staff_billing", UNLINKED, True, "owner or an administrator"),
    ],
)
def test_access_refusal(world, persona, target, enable, refused_because) -> None:
    refusal = contact_rules.access_refusal(
        who(world, persona), contact(world, target), enable=enable
    )
    if refused_because:
        assert refused_because in refusal
    else:
        assert refusal == ""


def test_require_raises_not_allowed_only_for_a_refusal() -> None:
    contact_rules.require("")
    with pytest.raises(DomainError) as caught:
        contact_rules.require("No.")
    assert (caught.value.code, caught.value.message) == (ErrorCode.NOT_ALLOWED, "No.")


# --- the contact form ---------------------------------------------------------------------

VALID = {
    "first_name": "Siti",
    "last_name": "Aminah",
    "email": "Siti@Alpha.Example",
    "phone": "012-345 6789",
    "job_title": "Finance",
    "role": "billing",
    "notification_topics": ["billing"],
    "portal_access": True,
}


def test_the_form_returns_exactly_the_fields_asked_for(world) -> None:
    clean = contact_forms.validated(
        {"first_name": " Siti ", "phone": ""},
        customer=world.customer_a,
        fields=["first_name", "phone"],
    )
    assert clean == {"first_name": "Siti", "phone": ""}


def test_the_form_normalises_every_value(world) -> None:
    clean = contact_forms.validated(VALID, customer=world.customer_a, fields=list(VALID))
    assert clean == {
        "first_name": "Siti",
        "last_name": "Aminah",
        "email": "siti@alpha.example",
        "phone": "+60123456789",
        "job_title": "Finance",
        "role": "billing",
        "notification_topics": ["billing"],
        "portal_access": True,
    }


def test_an_email_is_stored_as_a_sign_in_would_store_it(world) -> None:
    clean = contact_forms.validated(
        {"email": " Mike@ＥXAMPLE.org "}, customer=world.customer_a, fields=["email"]
    )
    assert clean == {"email": "mike@example.org"}


def test_a_phone_is_read_as_dialled_in_the_customers_country(db) -> None:
    singapore = factories.make_customer("Lion Pte Ltd", country="SG", currency="SGD")
    clean = contact_forms.validated({"phone": "6123 4567"}, customer=singapore, fields=["phone"])
    assert clean == {"phone": "+6561234567"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), ("on", True), ("true", True), (False, False), ("", False), (None, False)],
)
def test_portal_access_reads_a_checkbox_or_a_boolean(world, value, expected) -> None:
    clean = contact_forms.validated(
        {"portal_access": value}, customer=world.customer_a, fields=["portal_access"]
    )
    assert clean == {"portal_access": expected}


def test_one_topic_may_be_given_as_a_string(world) -> None:
    clean = contact_forms.validated(
        {"notification_topics": "technical"},
        customer=world.customer_a,
        fields=["notification_topics"],
    )
    assert clean == {"notification_topics": ["technical"]}


def test_roles_outside_those_offered_are_refused_without_echoing_the_value(world) -> None:
    forged = "admin" + "x" * 10_000
    for role in ("admin", forged):
        with pytest.raises(DomainError) as caught:
            contact_forms.validated(
                {"role": role}, customer=world.customer_a, fields=["role"], roles=["member"]
            )
        assert caught.value.code == ErrorCode.INVALID
        assert caught.value.errors == {"role": ["Choose one of the options in the list."]}


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"first_name": ""}, "first_name"),
        ({"first_name": "x" * 101}, "first_name"),
        ({"email": ""}, "email"),
        ({"email": "a@b@c"}, "email"),
        ({"email": "x" * 250 + "@a.example"}, "email"),
        ({"email": "a@" + ".".join(["\ufb01" * 30] * 6) + ".example"}, "email"),  # ﬁ → fi
        ({"phone": "+60 12"}, "phone"),
        ({"phone": "9" * 41}, "phone"),
        ({"job_title": "x" * 101}, "job_title"),
        ({"notification_topics": ["spam"]}, "notification_topics"),
        ({"last_name": "Ami\u202enah"}, "last_name"),
    ],
)
def test_the_form_refuses_a_bad_value_next_to_its_field(world, values, field) -> None:
    with pytest.raises(DomainError) as caught:
        contact_forms.validated(values, customer=world.customer_a, fields=list(values))
    assert caught.value.code == ErrorCode.INVALID
    assert list(caught.value.errors) == [field]
    assert all(len(message) < 300 for message in caught.value.errors[field])


def test_the_form_offers_only_the_given_roles_and_labels_every_field(world) -> None:
    form = contact_forms.ContactForm(
        customer=world.customer_a, fields=["first_name", "role"], roles=GRANTABLE_ROLES
    )
    assert list(form.fields) == ["first_name", "role"]
    assert [value for value, _ in form.fields["role"].choices] == [  # type: ignore[attr-defined]
        "admin",
        "billing",
        "technical",
        "member",
    ]
    assert form.fields["first_name"].label == "First name"
