"""The demo webhook endpoint (issue 9): ``make run`` sends every event to the local
receiver (``manage.py run_webhook_receiver`` on port 8001), which checks its signature.

The endpoint is registered through ``webhooks.actions.create_endpoint`` like any other, as
the system, with the fixed ``DEMO_SECRET`` that the receiver knows, so the two work
together without copying a secret around. Only for the demo: a real endpoint gets a random
secret, shown once. ``seed_demo`` may call
``seed_webhook_endpoint`` on every run: an endpoint already registered for the URL is left
as it is (a manager may have edited, disabled or rotated it).
"""

from __future__ import annotations

from dataclasses import dataclass

from clientdesk.core.actor import Actor
from clientdesk.core.errors import DomainError
from clientdesk.webhooks import actions
from clientdesk.webhooks.management.commands.run_webhook_receiver import (
    DEFAULT_PORT,
    DEMO_SECRET,
    HOST,
    PATH,
)
from clientdesk.webhooks.models import WebhookEndpoint

DEMO_URL = f"http://{HOST}:{DEFAULT_PORT}{PATH}"
DEMO_TARGET = "Billing"
DEMO_DESCRIPTION = (
    "Demo: every event goes to the local receiver (manage.py run_webhook_receiver), "
    "which prints it with its signature check."
)


@dataclass(frozen=True)
class DemoEndpoint:
    endpoint: WebhookEndpoint | None
    created: bool
    problem: str = ""


def seed_webhook_endpoint() -> DemoEndpoint:
    """Register the demo endpoint once, signed with ``DEMO_SECRET``.

    Where plain http or loopback addresses are refused (production settings), nothing is
    created and ``problem`` says why."""
    existing = WebhookEndpoint.objects.filter(url=DEMO_URL).order_by("pk").first()
    if existing is not None:
        return DemoEndpoint(existing, created=False)
    try:
        endpoint, _ = actions.create_endpoint(
            actor=Actor.system(),
            url=DEMO_URL,
            target=DEMO_TARGET,
            description=DEMO_DESCRIPTION,
            secret=DEMO_SECRET,
        )
    except DomainError as refused:
        return DemoEndpoint(None, created=False, problem=f"{DEMO_URL}: {refused.message}")
    return DemoEndpoint(endpoint, created=True)
