"""API key actions: who may make and revoke keys, and what a key may hold."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from clientdesk.apikeys import actions
from clientdesk.apikeys.models import ApiKey
from clientdesk.audit.models import Activity
from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError
from clientdesk.events.models import Event


def portal(user, **extra) -> Actor:
    return Actor(user, Source.PORTAL, **extra)


def test_an_owner_makes_a_key_shown_once_and_stored_hashed(world) -> None:
    key, token = actions.create_customer_key(
        actor=portal(world.users["a_owner"]),
        customer=world.customer_a,
        name="Our ERP",
        scopes=["contacts:read", "customers:read"],
    )
    assert token.startswith(key.prefix + "_")
    assert token not in key.token_hash and len(key.token_hash) == 64
    assert actions.authenticate(token) == key
    assert actions.authenticate(token + "x") is None
    assert Activity.objects.filter(verb="api_key.created", customer=world.customer_a).exists()
    event = Event.objects.get(type="api_key.created")
    assert token not in str(event.data) and event.data["prefix"] == key.prefix


@pytest.mark.parametrize("persona", ["a_member", "a_billing", "a_technical", "b_owner"])
def test_only_the_owner_or_an_admin_of_that_customer_makes_keys(world, persona) -> None:
    with pytest.raises(DomainError):
        actions.create_customer_key(
            actor=portal(world.users[persona]),
            customer=world.customer_a,
            name="Nope",
            scopes=["customers:read"],
        )
    assert not ApiKey.objects.exists()


def test_a_customer_key_cannot_hold_staff_scopes(world) -> None:
    with pytest.raises(DomainError) as refused:
        actions.create_customer_key(
            actor=portal(world.users["a_admin"]),
            customer=world.customer_a,
            name="Sneaky",
            scopes=["customers:read", "notes:read"],
        )
    assert "scopes" in refused.value.errors


@pytest.mark.parametrize(
    "expires", [timedelta(days=-1), timedelta(days=800)], ids=["past", "too-far"]
)
def test_expiry_must_be_within_two_years(world, expires) -> None:
    with pytest.raises(DomainError) as refused:
        actions.create_customer_key(
            actor=portal(world.users["a_owner"]),
            customer=world.customer_a,
            name="K",
            scopes=["customers:read"],
            expires_at=timezone.now() + expires,
        )
    assert "expires_at" in refused.value.errors


def test_no_keys_are_made_or_revoked_during_login_as(world) -> None:
    staff = world.users["staff_support"]
    key, _ = actions.create_customer_key(
        actor=portal(world.users["a_owner"]),
        customer=world.customer_a,
        name="K",
        scopes=["customers:read"],
    )
    as_owner = portal(world.users["a_owner"], impersonator=staff)
    with pytest.raises(DomainError, match="Login As"):
        actions.create_customer_key(
            actor=as_owner, customer=world.customer_a, name="K2", scopes=["customers:read"]
        )
    with pytest.raises(DomainError, match="Login As"):
        actions.revoke_key(actor=as_owner, key=key)
    key.refresh_from_db()
    assert key.revoked_at is None


def test_staff_keys_are_made_from_the_console_and_revoked_by_maker_or_manager(world) -> None:
    support = Actor(world.users["staff_support"], Source.STAFF)
    key, token = actions.create_staff_key(actor=support, name="Script", scopes=["customers:read"])
    with pytest.raises(DomainError):
        actions.create_staff_key(
            actor=portal(world.users["a_owner"]), name="No", scopes=["customers:read"]
        )
    with pytest.raises(DomainError):  # another support agent: not theirs
        actions.revoke_key(actor=Actor(world.users["staff_billing"], Source.STAFF), key=key)
    actions.revoke_key(actor=Actor(world.users["staff_manager"], Source.STAFF), key=key)
    assert actions.authenticate(token) is None
    assert Activity.objects.get(verb="api_key.revoked").staff_only


def test_a_key_acts_as_its_maker_recorded_as_api(world) -> None:
    key, token = actions.create_customer_key(
        actor=portal(world.users["a_owner"]),
        customer=world.customer_a,
        name="K",
        scopes=["customers:read"],
    )
    actor = actions.actor_for(actions.authenticate(token), ip="127.0.0.1", request_id="r1")
    assert actor.user == world.users["a_owner"] and actor.source == Source.API
    assert actor.interface == Source.API and key.prefix in actor.label
    _, staff_token = actions.create_staff_key(
        actor=Actor(world.users["staff_support"], Source.STAFF), name="S", scopes=["customers:read"]
    )
    staff_actor = actions.actor_for(actions.authenticate(staff_token), ip=None, request_id="")
    assert staff_actor.source == Source.STAFF  # the staff authority…
    assert staff_actor.interface == Source.API  # …recorded as an API change
