"""Portal settings & contacts (seed 004) through HTTP: what each role sees and may post, and
that bad input (forged fields, other customers' ids, duplicates) changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from clientdesk.audit.models import Activity
from clientdesk.customers.models import Contact, Customer, Invitation
from clientdesk.events.models import Event
from tests import factories

from .conftest import client_for

pytestmark = pytest.mark.django_db


def contacts_url(customer: Customer) -> str:
    return reverse("portal:contacts", args=[customer.number])


def create_url(customer: Customer) -> str:
    return reverse("portal:contact-create", args=[customer.number])


def edit_url(contact: Contact) -> str:
    return reverse("portal:contact-edit", args=[contact.customer.number, contact.pk])


def delete_url(contact: Contact) -> str:
    return reverse("portal:contact-delete", args=[contact.customer.number, contact.pk])


def access_url(contact: Contact) -> str:
    return reverse("portal:contact-access", args=[contact.customer.number, contact.pk])


def contact_of(world: Any, persona: str) -> Contact:
    return Contact.objects.get(user=world.users[persona])


NEW_CONTACT = {
    "first_name": "Zara",
    "last_name": "Yusof",
    "email": "Zara@Example.org",
    "phone": "012-345 6789",
    "job_title": "Finance Manager",
    "role": "billing",
    "notification_topics": ["account", "billing"],
    "portal_access": "on",
}


def test_the_settings_cog_and_sidebar_lead_owners_and_admins_to_contacts(world: Any) -> None:
    url = contacts_url(world.customer_a)
    for persona in ("a_owner", "a_admin"):
        page = client_for(world.users[persona]).get(
            reverse("portal:account", args=[world.customer_a.number])
        )
        assert "Portal settings &amp; contacts" in page.content.decode()
        assert url in page.content.decode()
    member_page = client_for(world.users["a_member"]).get(
        reverse("portal:account", args=[world.customer_a.number])
    )
    assert url not in member_page.content.decode()
    assert (
        reverse("portal:my-contact", args=[world.customer_a.number]) in member_page.content.decode()
    )


def test_the_table_lists_every_contact_with_role_and_portal_state(world: Any) -> None:
    factories.make_contact(world.customer_a, portal=False, first_name="Invited", portal_access=True)
    response = client_for(world.users["a_owner"]).get(contacts_url(world.customer_a))
    assert response.status_code == 200
    html = response.content.decode()
    for contact in Contact.objects.filter(customer=world.customer_a):
        assert contact.email in html
    assert "Invitation sent" in html
    assert 'aria-label="Customer Portal Enabled for' in html
    assert "Pending invitations" in html
    # Customer B's people are not listed.
    assert "b.owner@example.org" not in html


def test_the_contacts_page_costs_the_same_queries_for_5_or_60_contacts(
    world: Any, django_assert_max_num_queries: Any
) -> None:
    client = client_for(world.users["a_owner"])
    client.get(contacts_url(world.customer_a))  # warm the session
    with django_assert_max_num_queries(12) as small:
        client.get(contacts_url(world.customer_a))
    for n in range(55):
        factories.make_contact(world.customer_a, portal=False, first_name=f"Bulk{n:02d}")
    with django_assert_max_num_queries(len(small.captured_queries)) as large:
        response = client.get(contacts_url(world.customer_a))
    assert response.status_code == 200
    assert len(large.captured_queries) == len(small.captured_queries)
    assert "More contacts" in response.content.decode()  # 60 contacts: more than one page


def test_keyset_pages_cover_every_contact_once(world: Any) -> None:
    for n in range(60):
        factories.make_contact(
            world.customer_a, portal=False, first_name="Same", last_name=f"{n:02d}"
        )
    client = client_for(world.users["a_owner"])
    seen: list[str] = []
    url = contacts_url(world.customer_a)
    while url:
        response = client.get(url)
        rows = response.context["rows"]
        seen += [row.contact.email for row in rows]
        more = response.context["more_url"]
        url = contacts_url(world.customer_a) + more if more else ""
    assert len(seen) == len(set(seen)) == Contact.objects.filter(customer=world.customer_a).count()


def test_search_filters_by_name_or_email(world: Any) -> None:
    factories.make_contact(
        world.customer_a, portal=False, first_name="Quentin", email="q@x.example"
    )
    client = client_for(world.users["a_owner"])
    rows = client.get(contacts_url(world.customer_a), {"q": "quent"}).context["rows"]
    assert [row.contact.first_name for row in rows] == ["Quentin"]
    rows = client.get(contacts_url(world.customer_a), {"q": "x.example"}).context["rows"]
    assert [row.contact.email for row in rows] == ["q@x.example"]


def test_add_contact_with_portal_access_invites_them(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_for(world.users["a_admin"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(create_url(world.customer_a), NEW_CONTACT)
    assert response.status_code == 302
    assert response["Location"] == contacts_url(world.customer_a)
    contact = Contact.objects.get(customer=world.customer_a, email="zara@example.org")
    assert contact.phone == "+60123456789"
    assert contact.role == "billing"
    assert contact.notification_topics == ["account", "billing"]
    assert contact.portal_access and contact.user is None
    assert Invitation.objects.filter(contact=contact, status="pending").count() == 1
    assert [m.to for m in mail.outbox] == [["zara@example.org"]]
    types = set(Event.objects.filter(customer=world.customer_a).values_list("type", flat=True))
    assert {"contact.created", "contact.portal_access_granted", "invitation.sent"} <= types
    followed = client.get(response["Location"])
    assert "An invitation to the portal was sent to zara@example.org" in followed.content.decode()


def test_invalid_input_shows_errors_and_creates_nothing(world: Any) -> None:
    client = client_for(world.users["a_owner"])
    before = Contact.objects.count()
    response = client.post(
        create_url(world.customer_a),
        {**NEW_CONTACT, "email": "not-an-email", "phone": "12", "role": "overlord"},
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"email", "phone", "role"}
    assert Contact.objects.count() == before
    assert 'role="alert"' in response.content.decode()


def test_a_duplicate_email_is_refused_next_to_the_field(world: Any) -> None:
    client = client_for(world.users["a_owner"])
    existing = contact_of(world, "a_member")
    response = client.post(
        create_url(world.customer_a), {**NEW_CONTACT, "email": existing.email.upper()}
    )
    assert response.status_code == 400
    assert "already has a contact with this email" in response.context["form"].errors["email"][0]


def test_an_admin_cannot_make_anyone_owner(world: Any) -> None:
    client = client_for(world.users["a_admin"])
    response = client.post(create_url(world.customer_a), {**NEW_CONTACT, "role": "owner"})
    assert response.status_code == 400
    assert not Contact.objects.filter(email="zara@example.org").exists()
    member = contact_of(world, "a_member")
    response = client.post(
        edit_url(member),
        {"first_name": member.first_name, "role": "owner", "version": member.version},
    )
    assert response.status_code == 400
    assert Contact.objects.get(pk=member.pk).role == "member"


def test_an_admin_cannot_promote_themselves(world: Any) -> None:
    admin = contact_of(world, "a_admin")
    response = client_for(world.users["a_admin"]).post(
        edit_url(admin), {"first_name": admin.first_name, "role": "admin", "version": admin.version}
    )
    # The role is not theirs to change: the whole save is refused.
    assert response.status_code == 400
    assert "own role" in str(response.context["form"].non_field_errors())


def test_edit_applies_at_once_and_is_in_activity(world: Any) -> None:
    member = contact_of(world, "a_member")
    response = client_for(world.users["a_owner"]).post(
        edit_url(member),
        {
            "first_name": "Farah",
            "last_name": member.last_name,
            "phone": "+65 6123 4567",
            "job_title": "Ops Lead",
            "role": "technical",
            "notification_topics": ["technical"],
            "version": member.version,
        },
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert (member.first_name, member.job_title, member.role, member.phone) == (
        "Farah",
        "Ops Lead",
        "technical",
        "+6561234567",
    )
    activity = Activity.objects.filter(verb="contact.updated").latest("id")
    assert activity.changes["role"] == ["member", "technical"]
    assert Event.objects.filter(type="contact.updated").latest("id").data["role"] == "technical"


def test_the_email_of_a_portal_user_is_locked_and_says_where_it_changes(world: Any) -> None:
    member = contact_of(world, "a_member")
    client = client_for(world.users["a_owner"])
    page = client.get(edit_url(member))
    assert 'name="email"' not in page.content.decode()
    assert "sign-in email" in page.content.decode()
    forged = client.post(
        edit_url(member),
        {"first_name": member.first_name, "email": "new@example.org", "version": member.version},
    )
    assert forged.status_code == 400
    assert Contact.objects.get(pk=member.pk).email == member.email


def test_a_stale_edit_is_refused_with_a_conflict(world: Any) -> None:
    member = contact_of(world, "a_member")
    client = client_for(world.users["a_owner"])
    old_version = member.version
    client.post(edit_url(member), {"first_name": "First", "role": "member", "version": old_version})
    response = client.post(
        edit_url(member), {"first_name": "Second", "role": "member", "version": old_version}
    )
    assert response.status_code == 409
    assert Contact.objects.get(pk=member.pk).first_name == "First"


def test_another_customers_contact_id_is_not_found_and_nothing_changes(world: Any) -> None:
    b_member = contact_of(world, "b_member")
    client = client_for(world.users["a_owner"])
    number = world.customer_a.number
    for name in ("portal:contact-edit", "portal:contact-delete"):
        assert client.get(reverse(name, args=[number, b_member.pk])).status_code == 404
    assert (
        client.post(reverse("portal:contact-delete", args=[number, b_member.pk])).status_code == 404
    )
    assert (
        client.post(
            reverse("portal:contact-access", args=[number, b_member.pk]), {"enabled": "off"}
        ).status_code
        == 404
    )
    b_member.refresh_from_db()
    assert b_member.portal_access


def test_members_cannot_post_to_the_contacts_endpoints(world: Any) -> None:
    client = client_for(world.users["a_member"])
    other = contact_of(world, "a_technical")
    assert client.post(create_url(world.customer_a), NEW_CONTACT).status_code == 403
    assert client.post(delete_url(other)).status_code == 403
    assert client.post(access_url(other), {"enabled": "off"}).status_code == 403
    assert Contact.objects.filter(pk=other.pk, portal_access=True).exists()
    assert not Contact.objects.filter(email="zara@example.org").exists()


def test_delete_confirms_by_name_then_removes(world: Any) -> None:
    member = contact_of(world, "a_member")
    client = client_for(world.users["a_owner"])
    page = client.get(delete_url(member))
    assert f"Delete {member.full_name}?" in page.content.decode()
    response = client.post(delete_url(member))
    assert response.status_code == 302
    assert not Contact.objects.filter(pk=member.pk).exists()
    assert Event.objects.filter(type="contact.deleted").latest("id").data["email"] == member.email


def test_nobody_deletes_the_owner_or_themselves(world: Any) -> None:
    owner = contact_of(world, "a_owner")
    admin = contact_of(world, "a_admin")
    assert client_for(world.users["a_admin"]).get(delete_url(owner)).status_code == 403
    response = client_for(world.users["a_admin"]).post(delete_url(admin), follow=True)
    assert "cannot remove yourself" in response.content.decode()
    assert Contact.objects.filter(pk__in=[owner.pk, admin.pk]).count() == 2


def test_the_toggle_revokes_access_on_the_very_next_request(world: Any) -> None:
    member_user = world.users["a_member"]
    member_client = client_for(member_user)
    home = reverse("portal:customer-home", args=[world.customer_a.number])
    assert member_client.get(home).status_code == 200
    response = client_for(world.users["a_owner"]).post(
        access_url(contact_of(world, "a_member")), {"enabled": "off"}
    )
    assert response.status_code == 302
    assert member_client.get(home).status_code == 404


def test_revoking_leaves_the_users_other_customers_alone(world: Any) -> None:
    shared_user = factories.make_user("accountant@example.org")
    on_a = factories.make_contact(world.customer_a, user=shared_user)
    factories.make_contact(world.customer_b, user=shared_user)
    client = client_for(shared_user)
    client_for(world.users["a_owner"]).post(access_url(on_a), {"enabled": "off"})
    assert (
        client.get(reverse("portal:customer-home", args=[world.customer_a.number])).status_code
        == 404
    )
    assert (
        client.get(reverse("portal:customer-home", args=[world.customer_b.number])).status_code
        == 200
    )


def test_toggling_twice_is_harmless(world: Any) -> None:
    contact = factories.make_contact(world.customer_a, portal=False)
    client = client_for(world.users["a_owner"])
    client.post(access_url(contact), {"enabled": "on"})
    client.post(access_url(contact), {"enabled": "on"})
    assert Invitation.objects.filter(contact=contact).count() == 1
    assert Event.objects.filter(type="contact.portal_access_granted").count() == 1


def test_nobody_switches_off_their_own_access_or_the_owners(world: Any) -> None:
    client = client_for(world.users["a_admin"])
    for persona in ("a_admin", "a_owner"):
        response = client.post(
            access_url(contact_of(world, persona)), {"enabled": "off"}, follow=True
        )
        assert response.status_code == 200
        assert contact_of(world, persona).portal_access


def test_resend_and_cancel_an_invitation(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    contact = factories.make_contact(world.customer_a, portal=False, portal_access=True)
    invitation = Invitation.objects.get(contact=contact)
    client = client_for(world.users["a_owner"])
    number = world.customer_a.number
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("portal:invitation-resend", args=[number, invitation.pk]))
    invitation.refresh_from_db()
    assert invitation.sent_count == 2
    assert len(mail.outbox) == 1
    client.post(reverse("portal:invitation-cancel", args=[number, invitation.pk]))
    invitation.refresh_from_db()
    contact.refresh_from_db()
    assert invitation.status == "cancelled"
    assert not contact.portal_access


def test_an_invitation_flood_is_refused_with_a_clear_message(world: Any, settings: Any) -> None:
    settings.CLIENTDESK_INVITATIONS_PER_HOUR = 2
    client = client_for(world.users["a_owner"])
    for n in range(2):
        response = client.post(
            create_url(world.customer_a), {**NEW_CONTACT, "email": f"p{n}@example.org"}
        )
        assert response.status_code == 302
    response = client.post(create_url(world.customer_a), {**NEW_CONTACT, "email": "p3@example.org"})
    assert response.status_code == 429
    assert "invitations in the last hour" in response.content.decode()
    assert not Contact.objects.filter(email="p3@example.org").exists()


def test_every_contact_edits_their_own_details(world: Any) -> None:
    url = reverse("portal:my-contact", args=[world.customer_a.number])
    client = client_for(world.users["a_member"])
    member = contact_of(world, "a_member")
    response = client.post(
        url,
        {
            "first_name": "Mira",
            "last_name": "Member",
            "phone": "03-2123 4567",
            "notification_topics": ["billing", "marketing"],
            "version": member.version,
        },
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert (member.first_name, member.phone, member.notification_topics) == (
        "Mira",
        "+60321234567",
        ["billing", "marketing"],
    )
    # Job title and role are not theirs to change: a forged field refuses the save.
    forged = client.post(
        url, {"first_name": "Mira", "role": "admin", "version": member.version + 1}
    )
    assert forged.status_code == 400
    assert Contact.objects.get(pk=member.pk).role == "member"


def test_markup_in_names_is_shown_escaped(world: Any) -> None:
    factories.make_contact(world.customer_a, portal=False, first_name="<script>x</script>")
    html = client_for(world.users["a_owner"]).get(contacts_url(world.customer_a)).content.decode()
    assert "<script>x</script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html


def test_a_huge_name_gets_a_clear_error(world: Any) -> None:
    response = client_for(world.users["a_owner"]).post(
        create_url(world.customer_a), {**NEW_CONTACT, "first_name": "A" * 5000}
    )
    assert response.status_code == 400
    assert "first_name" in response.context["form"].errors


def test_staff_manage_contacts_from_the_console(world: Any) -> None:
    client: Client = client_for(world.users["staff_support"])
    number = world.customer_a.number
    page = client.get(reverse("staff:contacts", args=[number]))
    assert page.status_code == 200
    assert contact_of(world, "a_member").email in page.content.decode()
    response = client.post(reverse("staff:contact-create", args=[number]), NEW_CONTACT)
    assert response.status_code == 302
    created = Contact.objects.get(email="zara@example.org")
    activity = Activity.objects.filter(verb="contact.created").latest("id")
    assert activity.source == "staff"
    billing = client_for(world.users["staff_billing"])
    assert (
        billing.post(reverse("staff:contact-delete", args=[number, created.pk])).status_code == 403
    )
    assert Contact.objects.filter(pk=created.pk).exists()


def test_contact_changes_read_as_sentences_in_activity(world: Any) -> None:
    member = contact_of(world, "a_member")
    owner = client_for(world.users["a_owner"])
    owner.post(access_url(member), {"enabled": "off"})
    owner.post(
        edit_url(member),
        {
            "first_name": "Farah",
            "last_name": member.last_name,
            "role": "technical",
            "email": member.email,  # no sign-in any more: editable, so posted
            "version": member.version + 1,
        },
    )
    page = owner.get(
        reverse("portal:activity", args=[world.customer_a.number]), {"what": "contacts"}
    )
    html = page.content.decode()
    owner_name = world.users["a_owner"].full_name
    assert f"{owner_name} switched off portal access for {member.full_name}" in html
    assert f"{owner_name} changed the contact Farah {member.last_name}" in html
    assert "Role" in html and "Technical" in html  # the change lines are listed


def test_the_more_link_keeps_a_search_with_special_characters(world: Any) -> None:
    for n in range(55):
        factories.make_contact(
            world.customer_a, portal=False, first_name="R&D", email=f"rd{n}@x.example"
        )
    client = client_for(world.users["a_owner"])
    first = client.get(contacts_url(world.customer_a), {"q": "R&D"})
    more = first.context["more_url"]
    assert "q=R%26D" in more
    second = client.get(contacts_url(world.customer_a) + more)
    seen = [r.contact.pk for r in first.context["rows"]] + [
        r.contact.pk for r in second.context["rows"]
    ]
    assert len(set(seen)) == 55
