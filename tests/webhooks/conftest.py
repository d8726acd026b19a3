"""Webhook fixtures: a manager, two customers and endpoints on a real local HTTP server."""

from __future__ import annotations

import pytest

from clientdesk.core.actor import Actor, Source
from clientdesk.customers.models import Customer
from clientdesk.webhooks import actions, sending
from clientdesk.webhooks.models import WebhookEndpoint
from clientdesk.webhooks.worker import Worker
from tests import factories


@pytest.fixture
def manager(db: None) -> Actor:
    return Actor(factories.make_staff("manager", email="boss@staff.example"), Source.STAFF)


@pytest.fixture
def customer(db: None) -> Customer:
    return factories.make_customer("Maju Digital Sdn Bhd")


@pytest.fixture
def other_customer(db: None) -> Customer:
    return factories.make_customer("Beta Services Pte Ltd")


@pytest.fixture(autouse=True)
def _fresh_pools() -> None:
    """Connection pools are per process; a test's server is gone after it."""
    sending._pools.clear()


def make_endpoint(
    manager: Actor, url: str, *, target: str = "Billing", **kwargs: object
) -> tuple[WebhookEndpoint, str]:
    return actions.create_endpoint(actor=manager, url=url, target=target, **kwargs)  # type: ignore[arg-type]


def deliver() -> None:
    Worker(threads=4).run_once()
