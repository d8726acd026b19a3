"""Test data builders. They create rows through the same actions the product uses."""

from __future__ import annotations

import itertools
from typing import Any

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth.models import Group

from clientdesk.core.actor import Actor
from clientdesk.customers import actions as customer_actions
from clientdesk.customers import contact_actions
from clientdesk.customers.models import Contact, Customer
from clientdesk.customers.roles import Role
from clientdesk.users import actions as user_actions
from clientdesk.users.models import User

PASSWORD = "correct-horse-battery-9"
_seq = itertools.count(1)
SYSTEM = Actor.system()


def make_user(email: str | None = None, *, password: str = PASSWORD, **extra: Any) -> User:
    """A user created by the product's own action (verified allauth email included)."""
    email = email or f"user{next(_seq)}@example.org"
    is_staff = extra.pop("is_staff", False)
    is_superuser = extra.pop("is_superuser", False)
    user = user_actions.create_user(
        email=email,
        full_name=extra.pop("full_name", ""),
        password=password,
        is_superuser=is_superuser,
        actor=SYSTEM,
    )
    if is_staff and not user.is_staff:
        User.objects.filter(pk=user.pk).update(is_staff=True)
        user.refresh_from_db()
    assert not extra, f"unexpected arguments: {extra}"
    return user


def make_staff(role: str, *, email: str | None = None, with_mfa: bool = True) -> User:
    user = make_user(email or f"{role}{next(_seq)}@staff.example", is_staff=True)
    # get_or_create: transactional tests flush the groups that a migration created.
    user.groups.set([Group.objects.get_or_create(name=role)[0]])
    if with_mfa:
        enrol_totp(user)
    return user


def make_superuser(*, email: str | None = None, with_mfa: bool = True) -> User:
    user = make_user(email or f"root{next(_seq)}@staff.example", is_staff=True, is_superuser=True)
    if with_mfa:
        enrol_totp(user)
    return user


def enrol_totp(user: User, secret: str | None = None) -> str:
    """Give ``user`` a TOTP authenticator (as if enrolled) and return its secret."""
    secret = secret or generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def has_totp(user: User) -> bool:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def make_customer(name: str | None = None, **kwargs: Any) -> Customer:
    return customer_actions.create_customer(
        display_name=name or f"Customer {next(_seq)} Sdn Bhd", actor=SYSTEM, **kwargs
    )


def make_contact(
    customer: Customer,
    role: str = Role.MEMBER,
    *,
    user: User | None = None,
    portal: bool = True,
    **values: Any,
) -> Contact:
    """A contact; with ``portal`` (the default) linked to a sign-in, as after an accepted
    invitation."""
    if user is None and portal:
        user = make_user()
    n = next(_seq)
    return contact_actions.create_contact(
        customer,
        values={
            "first_name": f"Person{n}",
            "last_name": role.title(),
            "email": user.email if user else f"contact{n}@example.org",
            "role": role,
            **values,
        },
        user=user,
        actor=SYSTEM,
    )
