"""The staff login-email change wizard (seed 003, issue 7 part B) through its views: each
step's validation, the final transaction's effects, the change request it closes, repeated
and forged submits, and who may run it."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from allauth.account.forms import default_token_generator as allauth_tokens
from allauth.account.models import EmailAddress
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.test import Client
from django.urls import reverse

from clientdesk.audit.models import Activity
from clientdesk.change_requests.actions import submit_change_request
from clientdesk.change_requests.models import ChangeRequest, Status
from clientdesk.core.actor import Actor, Source
from clientdesk.customers.models import Contact, Customer, Note
from clientdesk.customers.queries import profile_customer
from clientdesk.customers.roles import Role
from clientdesk.events.models import Event
from clientdesk.staff.email_change import SESSION_KEY, STATE_MAX_AGE
from clientdesk.users.models import User
from tests import factories

pytestmark = pytest.mark.django_db

NEW = "alpha.owner@newmail.example"
CYRILLIC_A = "\u0430"


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def wizard_url(customer: Customer, step: int | None = None, **query: Any) -> str:
    url = reverse("staff:customer-email-change", args=[customer.number])
    params = {**({"step": step} if step else {}), **query}
    if params:
        url += "?" + "&".join(f"{k}={v}" for k, v in params.items())
    return url


def html(response: Any) -> str:
    return str(response.content.decode())


def text(response: Any) -> str:
    """The page's text without tags, whitespace collapsed (for sentences split by markup)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html(response))).replace(" .", ".")


def flashes(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def owner_of(customer: Customer) -> Contact:
    return Contact.objects.select_related("user").get(customer=customer, role=Role.OWNER)


def start(client: Client, customer: Customer, **query: Any) -> Any:
    response = client.get(wizard_url(customer, **query))
    assert response.status_code == 302
    assert response["Location"] == wizard_url(customer, 1)
    return response


def post(client: Client, customer: Customer, step: int, **data: Any) -> Any:
    return client.post(wizard_url(customer, step), {"step": step, **data})


def verify(client: Client, customer: Customer) -> None:
    response = post(
        client,
        customer,
        1,
        verification_method="phone_callback",
        verification_reference="Call ref 7781",
    )
    assert response.status_code == 302 and response["Location"] == wizard_url(customer, 2)


def confirm(client: Client, customer: Customer) -> None:
    response = post(client, customer, 2, confirmed="on")
    assert response.status_code == 302 and response["Location"] == wizard_url(customer, 3)


def new_email(client: Client, customer: Customer, address: str = NEW) -> None:
    response = post(client, customer, 3, new_email=address)
    assert response.status_code == 302, text(response)
    assert response["Location"] == wizard_url(customer, 4)


def reason(client: Client, customer: Customer, authoriser: User) -> None:
    response = post(
        client,
        customer,
        4,
        reason="Client lost access to the old mailbox",
        authorised_by=authoriser.pk,
    )
    assert response.status_code == 302 and response["Location"] == wizard_url(customer, 5)


def through_step_4(client: Client, world: Any, customer: Customer | None = None) -> None:
    customer = customer or world.customer_a
    start(client, customer)
    verify(client, customer)
    confirm(client, customer)
    new_email(client, customer)
    reason(client, customer, world.users["staff_manager"])


def finish(client: Client, customer: Customer) -> Any:
    return post(client, customer, 5, confirm="1")


# --- the whole procedure ------------------------------------------------------------------


def test_the_whole_wizard_changes_the_login_everywhere_at_once(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    customer = world.customer_a
    owner_user = world.users["a_owner"]
    old = owner_user.email
    owner_client = client_for(owner_user)
    assert owner_client.get(reverse("portal:home")).status_code in (200, 302)
    reset_token = default_token_generator.make_token(owner_user)
    allauth_token = allauth_tokens.make_token(owner_user)
    support = client_for(world.users["staff_support"])

    start(support, customer)
    page = support.get(wizard_url(customer, 1))
    assert page.status_code == 200
    assert "Step 1 of 5" in text(page) and "Verify identity" in text(page)
    assert 'aria-current="step"' in html(page)
    verify(support, customer)
    page = support.get(wizard_url(customer, 2))
    assert "Step 2 of 5" in text(page)
    for fact in (customer.client_id, customer.display_name, "Active", old):
        assert fact in text(page)
    confirm(support, customer)
    new_email(support, customer)
    page = support.get(wizard_url(customer, 4))
    assert re.search(rf'<option value="{world.users["staff_support"].pk}" selected>', html(page)), (
        "the authoriser defaults to the current user"
    )
    reason(support, customer, world.users["staff_manager"])
    review = support.get(wizard_url(customer, 5))
    assert review.status_code == 200
    for shown in (
        "Step 5 of 5",
        "Phone call-back to the number on file",
        "Call ref 7781",
        old,
        NEW,
        "Client lost access to the old mailbox",
        "manager@staff.example",
    ):
        assert shown in text(review), shown
    assert "Change login email" in html(review)
    assert User.objects.get(pk=owner_user.pk).email == old  # nothing changed yet

    with django_capture_on_commit_callbacks(execute=True):
        done = finish(support, customer)
    assert done.status_code == 302
    assert done["Location"].startswith(reverse("staff:customer", args=[customer.number]))
    landing = support.get(done["Location"])
    assert (
        f"Login email changed to {NEW}. The client has been signed out everywhere; "
        "confirmation sent to the new address and a notice to the old one." in flashes(landing)
    )

    # The login, the owner contact and the primary email agree.
    user = User.objects.get(pk=owner_user.pk)
    assert user.email == NEW
    assert owner_of(customer).email == NEW
    assert profile_customer(customer.pk).owner_email == NEW
    assert list(EmailAddress.objects.filter(user=user).values_list("email", "verified")) == [
        (NEW, True)
    ]
    # Sessions and reset links are over.
    response = owner_client.get(reverse("portal:home"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not default_token_generator.check_token(user, reset_token)
    assert not allauth_tokens.check_token(user, allauth_token)
    # The note, the trail, the outbox.
    note = Note.objects.get(customer=customer, kind=Note.Kind.EMAIL_CHANGE)
    assert note.reason == "Client lost access to the old mailbox"
    assert note.authorised_by == world.users["staff_manager"]
    assert note.author == world.users["staff_support"]
    assert "Phone call-back to the number on file" in note.body and "Call ref 7781" in note.body
    activity = Activity.objects.get(verb="customer.primary_email_changed")
    assert activity.changes == {"primary_email": [old, NEW]}
    event = Event.objects.get(type="customer.primary_email_changed")
    assert (event.data["old_email"], event.data["new_email"]) == (old, NEW)
    # Two emails: a confirmation to the new address, a notice to the old one.
    assert sorted(m.to[0] for m in mail.outbox) == sorted([NEW, old])
    [to_new] = [m for m in mail.outbox if m.to == [NEW]]
    [to_old] = [m for m in mail.outbox if m.to == [old]]
    assert "has been changed" in to_new.subject and "was changed" in to_old.subject
    assert "If this was not you" in to_old.body
    # The wizard's state is gone.
    assert str(customer.number) not in support.session.get(SESSION_KEY, {})


def test_the_client_signs_in_with_the_new_email_only(world: Any) -> None:
    support = client_for(world.users["staff_support"])
    through_step_4(support, world)
    finish(support, world.customer_a)
    fresh = Client()
    assert not fresh.login(email="a.owner@example.org", password=factories.PASSWORD)
    assert fresh.login(email=NEW, password=factories.PASSWORD)


def test_a_repeated_final_submit_changes_nothing_more(world: Any) -> None:
    support = client_for(world.users["staff_support"])
    through_step_4(support, world)
    assert finish(support, world.customer_a).status_code == 302
    again = finish(support, world.customer_a)
    assert again.status_code == 302
    assert again["Location"].startswith(reverse("staff:customer", args=[world.customer_a.number]))
    landing = support.get(again["Location"])
    assert any("already completed or cancelled" in m for m in flashes(landing))
    assert Activity.objects.filter(verb="customer.primary_email_changed").count() == 1
    assert Event.objects.filter(type="customer.primary_email_changed").count() == 1
    assert Note.objects.filter(kind=Note.Kind.EMAIL_CHANGE).count() == 1


def test_a_submit_that_lost_the_race_to_its_twin_is_told_it_is_done(world: Any) -> None:
    """Two submits read the same session: the second reaches the action after the first
    committed, so the address is already the login; it is told so, not shown an error."""
    support = client_for(world.users["staff_support"])
    through_step_4(support, world)
    saved = support.session[SESSION_KEY]
    assert finish(support, world.customer_a).status_code == 302
    session = support.session
    session[SESSION_KEY] = saved
    session.save()
    twin = finish(support, world.customer_a)
    assert twin.status_code == 302
    landing = support.get(twin["Location"])
    assert any(f"already {NEW}" in m for m in flashes(landing))
    assert Activity.objects.filter(verb="customer.primary_email_changed").count() == 1


# --- each step refuses what is missing or wrong --------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"verification_reference": "TCK-1"}, "Choose how you verified the client"),
        ({"verification_method": "telepathy", "verification_reference": "x"}, "Choose one of"),
        ({"verification_method": "id_document"}, "Enter the ticket, call reference"),
        ({"verification_method": "id_document", "verification_reference": "   "}, "Enter the"),
        (
            {"verification_method": "id_document", "verification_reference": "a\r\nb"},
            "control characters",
        ),
        (
            {"verification_method": "id_document", "verification_reference": "x" * 301},
            "at most 300 characters",
        ),
    ],
)
def test_step_1_needs_a_method_and_evidence(world: Any, data: dict[str, str], message: str) -> None:
    support = client_for(world.users["staff_support"])
    start(support, world.customer_a)
    response = post(support, world.customer_a, 1, **data)
    assert response.status_code == 400
    assert message in text(response)
    assert 'role="alert"' in html(response)
    # Not done: step 2 sends back to step 1.
    ahead = support.get(wizard_url(world.customer_a, 2))
    assert ahead["Location"] == wizard_url(world.customer_a, 1)


def test_step_2_needs_the_confirmation_ticked(world: Any) -> None:
    support = client_for(world.users["staff_support"])
    start(support, world.customer_a)
    verify(support, world.customer_a)
    response = post(support, world.customer_a, 2)
    assert response.status_code == 400
    assert "Tick this once you have checked" in text(response)
    assert support.get(wizard_url(world.customer_a, 3))["Location"] == wizard_url(
        world.customer_a, 2
    )


def at_step_3(world: Any) -> Client:
    support = client_for(world.users["staff_support"])
    start(support, world.customer_a)
    verify(support, world.customer_a)
    confirm(support, world.customer_a)
    return support


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("", "Enter the new email address."),
        ("not an address", "Enter a valid email address"),
        ("b.owner@example.org", "Another sign-in already uses this address"),
        ("B.Owner@Example.ORG", "Another sign-in already uses this address"),
        ("new@example.org\r\nBcc: victim@example.org", "line breaks or control characters"),
        ("new@example.org\n", "line breaks or control characters"),
        # Django's validator takes only ASCII before the @, so a look-alike there is invalid.
        (f"p{CYRILLIC_A}ypal@example.org", "Enter a valid email address"),
        (f"new@ex{CYRILLIC_A}mple.org", "mixes letters from different alphabets"),
        ("A.Owner@example.org", "That is already the login email."),
        ("x" * 1001 + "@example.org", "at most 1000 characters"),
    ],
)
def test_step_3_refuses_bad_addresses_next_to_the_field(
    world: Any, address: str, message: str
) -> None:
    support = at_step_3(world)
    response = post(support, world.customer_a, 3, new_email=address)
    assert response.status_code == 400
    page = html(response)
    field_error = page.split('id="id_new_email_error"')[1].split("</div>")[0]
    assert message in field_error.replace("&#x27;", "'").replace("&quot;", '"')
    assert 'aria-invalid="true"' in page
    assert support.get(wizard_url(world.customer_a, 4))["Location"] == wizard_url(
        world.customer_a, 3
    )


def test_step_3_warns_about_a_likely_typo_until_confirmed(world: Any) -> None:
    support = at_step_3(world)
    response = post(support, world.customer_a, 3, new_email="alpha.owner@gmial.com")
    assert response.status_code == 200
    assert "Did you mean alpha.owner@gmail.com?" in text(response)
    assert "The address is correct" in text(response)
    # Next again without the tick: the same warning.
    again = post(
        support,
        world.customer_a,
        3,
        new_email="alpha.owner@gmial.com",
        warned_for="alpha.owner@gmial.com",
    )
    assert again.status_code == 200 and "Did you mean" in text(again)
    # A tick given for another address does not count for this one.
    other = post(
        support,
        world.customer_a,
        3,
        new_email="alpha.owner@gmial.com",
        warned_for="someone@else.example",
        address_confirmed="on",
    )
    assert other.status_code == 200 and "Did you mean" in text(other)
    ticked = post(
        support,
        world.customer_a,
        3,
        new_email="alpha.owner@gmial.com",
        warned_for="alpha.owner@gmial.com",
        address_confirmed="on",
    )
    assert ticked.status_code == 302 and ticked["Location"] == wizard_url(world.customer_a, 4)
    # Or fixing the address clears the warning.
    fixed = post(support, world.customer_a, 3, new_email="alpha.owner@gmail.com")
    assert fixed.status_code == 302


def test_step_3_stores_the_normalised_address(world: Any) -> None:
    support = at_step_3(world)
    new_email(support, world.customer_a, "  Alpha.Owner@NewMail.Example ")
    state = support.session[SESSION_KEY][str(world.customer_a.number)]
    assert state["new_email"] == NEW


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"authorised_by": "me"}, "Say why the login email is being changed."),
        ({"reason": "Lost mailbox"}, "Choose who authorised the change."),
        ({"reason": "Lost mailbox", "authorised_by": "999999"}, "Choose an active member"),
        ({"reason": "Lost mailbox", "authorised_by": "not-a-number"}, "Choose an active member"),
        ({"reason": "two\nlines", "authorised_by": "me"}, "control characters"),
        ({"reason": "x" * 301, "authorised_by": "me"}, "at most 300 characters"),
    ],
)
def test_step_4_needs_a_reason_and_an_authoriser(
    world: Any, data: dict[str, str], message: str
) -> None:
    support = at_step_3(world)
    new_email(support, world.customer_a)
    if data.get("authorised_by") == "me":
        data = {**data, "authorised_by": str(world.users["staff_support"].pk)}
    response = post(support, world.customer_a, 4, **data)
    assert response.status_code == 400
    assert message in text(response)
    assert support.get(wizard_url(world.customer_a, 5))["Location"] == wizard_url(
        world.customer_a, 4
    )


def test_step_4_refuses_a_customer_as_authoriser(world: Any) -> None:
    support = at_step_3(world)
    new_email(support, world.customer_a)
    response = post(
        support,
        world.customer_a,
        4,
        reason="Lost mailbox",
        authorised_by=world.users["a_admin"].pk,
    )
    assert response.status_code == 400 and "Choose an active member" in text(response)


# --- the order of steps, Back, Cancel, expiry ----------------------------------------------


def test_steps_cannot_be_skipped_by_url_or_forged_post(world: Any) -> None:
    support = client_for(world.users["staff_support"])
    start(support, world.customer_a)
    assert support.get(wizard_url(world.customer_a, 5))["Location"] == wizard_url(
        world.customer_a, 1
    )
    forged = post(support, world.customer_a, 5, confirm="1")
    assert forged.status_code == 302 and forged["Location"] == wizard_url(world.customer_a, 1)
    assert User.objects.get(pk=world.users["a_owner"].pk).email == "a.owner@example.org"
    odd = support.get(wizard_url(world.customer_a, step="99"))
    assert odd.status_code == 200 and "Step 1 of 5" in text(odd)


def test_back_shows_what_was_entered(world: Any) -> None:
    support = client_for(world.users["staff_support"])
    through_step_4(support, world)
    page = html(support.get(wizard_url(world.customer_a, 1)))
    assert re.search(r'value="phone_callback"[^>]*checked', page)
    assert 'value="Call ref 7781"' in page
    assert f'value="{NEW}"' in html(support.get(wizard_url(world.customer_a, 3)))
    review = html(support.get(wizard_url(world.customer_a, 5)))
    assert f'href="{wizard_url(world.customer_a, 4)}"' in review  # Back
    assert f'href="{wizard_url(world.customer_a, 1)}"' in review  # a done step


def test_cancel_forgets_everything(world: Any) -> None:
    support = client_for(world.users["staff_support"])
    through_step_4(support, world)
    response = post(support, world.customer_a, 5, cancel="1")
    assert response.status_code == 302
    assert "cancelled" in flashes(support.get(response["Location"]))[0]
    assert str(world.customer_a.number) not in support.session.get(SESSION_KEY, {})
    assert User.objects.get(pk=world.users["a_owner"].pk).email == "a.owner@example.org"


def test_opening_the_wizard_again_starts_afresh(world: Any) -> None:
    support = client_for(world.users["staff_support"])
    through_step_4(support, world)
    start(support, world.customer_a)
    assert support.get(wizard_url(world.customer_a, 2))["Location"] == wizard_url(
        world.customer_a, 1
    )


def test_an_old_attempt_expires(world: Any) -> None:
    support = client_for(world.users["staff_support"])
    through_step_4(support, world)
    session = support.session
    session[SESSION_KEY][str(world.customer_a.number)]["started"] = time.time() - STATE_MAX_AGE - 1
    session.save()
    response = support.get(wizard_url(world.customer_a, 5))
    assert response["Location"] == wizard_url(world.customer_a, 1)
    landing = support.get(response["Location"])
    assert any("Start again" in m for m in flashes(landing))
    assert finish(support, world.customer_a)["Location"] == wizard_url(world.customer_a, 1)
    assert User.objects.get(pk=world.users["a_owner"].pk).email == "a.owner@example.org"


def test_progress_is_kept_per_customer(world: Any) -> None:
    support = client_for(world.users["staff_support"])
    through_step_4(support, world)
    start(support, world.customer_b)
    assert support.get(wizard_url(world.customer_a, 5)).status_code == 200


# --- refusals of the final action go back to their step ------------------------------------


def test_an_address_taken_meanwhile_sends_back_to_step_3(world: Any) -> None:
    support = client_for(world.users["staff_support"])
    through_step_4(support, world)
    factories.make_user(NEW.upper())
    response = finish(support, world.customer_a)
    assert response.status_code == 400
    assert "Step 3 of 5" in text(response)
    assert "Another sign-in already uses this address" in text(response)
    assert support.get(wizard_url(world.customer_a, 5))["Location"] == wizard_url(
        world.customer_a, 3
    )
    assert User.objects.get(pk=world.users["a_owner"].pk).email == "a.owner@example.org"


def test_an_authoriser_gone_meanwhile_sends_back_to_step_4(world: Any) -> None:
    support = client_for(world.users["staff_support"])
    through_step_4(support, world)
    User.objects.filter(pk=world.users["staff_manager"].pk).update(is_active=False)
    response = finish(support, world.customer_a)
    assert response.status_code == 400
    assert "Step 4 of 5" in text(response)
    assert "Choose who authorised the change." in text(response)


def test_a_broken_verification_sends_back_to_step_1(world: Any) -> None:
    support = client_for(world.users["staff_support"])
    through_step_4(support, world)
    session = support.session
    session[SESSION_KEY][str(world.customer_a.number)]["verification_method"] = "forged"
    session.save()
    response = finish(support, world.customer_a)
    assert response.status_code == 400
    assert "Step 1 of 5" in text(response)
    assert "Choose how you verified the client" in text(response)


def test_an_owner_without_a_sign_in_cannot_be_changed(world: Any) -> None:
    customer = factories.make_customer("Delta Sdn Bhd")
    factories.make_contact(customer, "owner", portal=False)
    support = client_for(world.users["staff_support"])
    start(support, customer)
    page = support.get(wizard_url(customer, 1))
    assert page.status_code == 200
    assert "The owner has no sign-in yet" in text(page)
    assert 'name="verification_method"' not in html(page)
    forged = post(
        support,
        customer,
        1,
        verification_method="other",
        verification_reference="x",
    )
    assert forged.status_code == 409


# --- an open primary-email change request --------------------------------------------------


def primary_email_request(world: Any, address: str = NEW) -> ChangeRequest:
    return submit_change_request(
        world.customer_a,
        kind="primary_email",
        values={"primary_email": address},
        actor=Actor(world.users["a_owner"], Source.PORTAL),
        note="I lost access to my old mailbox.",
    )


def test_the_wizard_from_a_request_prefills_and_closes_it(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    request = primary_email_request(world)
    support = client_for(world.users["staff_support"])
    start(support, world.customer_a, request=request.number)
    verify(support, world.customer_a)
    step_2 = text(support.get(wizard_url(world.customer_a, 2)))
    assert request.reference in step_2 and NEW in step_2
    confirm(support, world.customer_a)
    step_3 = html(support.get(wizard_url(world.customer_a, 3)))
    assert f'value="{NEW}"' in step_3
    new_email(support, world.customer_a)
    reason(support, world.customer_a, world.users["staff_support"])
    assert request.reference in text(support.get(wizard_url(world.customer_a, 5)))
    with django_capture_on_commit_callbacks(execute=True):
        done = finish(support, world.customer_a)
    request.refresh_from_db()
    assert request.status == Status.APPROVED
    assert any(request.reference in m for m in flashes(support.get(done["Location"])))
    assert Activity.objects.filter(verb="change_request.approved", target_id=str(request.pk))


def test_an_open_request_is_found_without_the_link(world: Any) -> None:
    request = primary_email_request(world)
    support = client_for(world.users["staff_support"])
    through_step_4(support, world)
    finish(support, world.customer_a)
    request.refresh_from_db()
    assert request.status == Status.APPROVED


def test_a_closed_request_link_is_said_and_ignored(world: Any) -> None:
    request = primary_email_request(world)
    ChangeRequest.objects.filter(pk=request.pk).update(status=Status.CANCELLED)
    support = client_for(world.users["staff_support"])
    response = start(support, world.customer_a, request=request.reference)
    landing = support.get(response["Location"])
    assert any("already cancelled" in m for m in flashes(landing))


@pytest.mark.parametrize("value", ["abc", "0", "999999", "CR-", "1" * 30])
def test_an_unknown_request_is_not_found(world: Any, value: str) -> None:
    support = client_for(world.users["staff_support"])
    assert support.get(wizard_url(world.customer_a, request=value)).status_code == 404


def test_another_customers_request_is_not_found(world: Any) -> None:
    request = submit_change_request(
        world.customer_b,
        kind="primary_email",
        values={"primary_email": "beta.new@example.org"},
        actor=Actor(world.users["b_owner"], Source.PORTAL),
    )
    support = client_for(world.users["staff_support"])
    response = support.get(wizard_url(world.customer_a, request=request.number))
    assert response.status_code == 404


# --- who may run it -------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["staff_support", "staff_manager", "superuser"])
def test_support_managers_and_superusers_run_it(world: Any, persona: str) -> None:
    client = client_for(world.users[persona])
    start(client, world.customer_a)
    assert client.get(wizard_url(world.customer_a, 1)).status_code == 200


def test_billing_staff_are_refused(world: Any) -> None:
    client = client_for(world.users["staff_billing"])
    assert client.get(wizard_url(world.customer_a)).status_code == 403
    assert client.get(wizard_url(world.customer_a, 1)).status_code == 403
    response = post(
        client, world.customer_a, 1, verification_method="other", verification_reference="x"
    )
    assert response.status_code == 403


@pytest.mark.parametrize("persona", ["a_owner", "b_owner", "a_admin"])
def test_customers_do_not_find_the_wizard(world: Any, persona: str) -> None:
    client = client_for(world.users[persona])
    assert client.get(wizard_url(world.customer_a)).status_code == 404
    assert client.get(wizard_url(world.customer_a, 5)).status_code == 404


def test_an_unknown_customer_number_is_not_found(world: Any) -> None:
    client = client_for(world.users["staff_support"])
    for number in ("999999", "C-999999", "not-a-number"):
        url = reverse("staff:customer-email-change", args=[number])
        assert client.get(url).status_code == 404
        assert client.post(url, {"step": "1"}).status_code == 404


# --- the button on the 360 ------------------------------------------------------------------


BUTTON = "Change login email"


@pytest.mark.parametrize(
    ("persona", "shown"),
    [
        ("staff_support", True),
        ("staff_manager", True),
        ("superuser", True),
        ("staff_billing", False),
    ],
)
def test_the_profile_row_offers_the_wizard(world: Any, persona: str, shown: bool) -> None:
    client = client_for(world.users[persona])
    page = html(client.get(reverse("staff:customer", args=[world.customer_a.number])))
    link = f'href="{wizard_url(world.customer_a)}"'
    assert (link in page) is shown
    if shown:
        row = page.split('id="row-primary_email"')[1].split('class="kv-row')[0]
        assert BUTTON in row and link in row


def test_the_button_survives_an_htmx_save_of_the_section(world: Any) -> None:
    client = client_for(world.users["staff_support"])
    response = client.get(
        reverse("staff:customer", args=[world.customer_a.number]),
        {"open": "contact"},
        HTTP_HX_REQUEST="true",
    )
    assert f'href="{wizard_url(world.customer_a)}"' in html(response)
    billing = client_for(world.users["staff_billing"])
    response = billing.get(
        reverse("staff:customer", args=[world.customer_a.number]),
        {"open": "contact"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert f'href="{wizard_url(world.customer_a)}"' not in html(response)
