"""Shared fixtures: personas for two customers and the staff roles."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pytest

from clientdesk.customers.models import Customer
from clientdesk.customers.roles import Role
from clientdesk.users.models import User

from . import factories

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API + the ORM


@dataclass
class World:
    """Customer A and B, each with one portal user per role, plus staff of every kind."""

    customer_a: Customer
    customer_b: Customer
    users: dict[str, User] = field(default_factory=dict)

    def persona(self, name: str) -> User | None:
        return None if name == "anonymous" else self.users[name]


PORTAL_ROLES = [role.value for role in Role]
STAFF_PERSONAS = ["staff_support", "staff_billing", "staff_manager", "superuser"]
PERSONAS = (
    ["anonymous"]
    + [f"a_{role}" for role in PORTAL_ROLES]
    + [f"b_{role}" for role in PORTAL_ROLES]
    + STAFF_PERSONAS
)


def build_world() -> World:
    world = World(
        customer_a=factories.make_customer("Alpha Trading Sdn Bhd"),
        customer_b=factories.make_customer("Beta Services Pte Ltd"),
    )
    for prefix, customer in (("a", world.customer_a), ("b", world.customer_b)):
        for role in PORTAL_ROLES:
            user = factories.make_user(f"{prefix}.{role}@example.org", full_name=f"{prefix} {role}")
            factories.make_contact(customer, role, user=user)
            world.users[f"{prefix}_{role}"] = user
    for role in ("support", "billing", "manager"):
        world.users[f"staff_{role}"] = factories.make_staff(role, email=f"{role}@staff.example")
    world.users["superuser"] = factories.make_superuser(email="root@staff.example")
    return world


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``postgres_only`` tests (real row locks and concurrency) belong to the PostgreSQL run
    of ``make test``, ``sqlite_only`` tests (SQLite's own triggers and tables) to the SQLite
    run; the other run deselects them rather than skipping them."""
    from django.conf import settings

    other = (
        "sqlite_only"
        if "postgresql" in settings.DATABASES["default"]["ENGINE"]
        else "postgres_only"
    )
    kept = [item for item in items if item.get_closest_marker(other) is None]
    deselected = [item for item in items if item.get_closest_marker(other)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Rate-limit counters live in the cache; each test starts with none."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def world(db: None) -> World:
    return build_world()


@pytest.fixture
def user(db: None) -> User:
    return factories.make_user("mike@example.org", full_name="Mike Example")
