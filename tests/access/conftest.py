from __future__ import annotations

import pytest
from django.test import Client

from clientdesk.customers.models import Contact, Invitation
from tests import factories
from tests.conftest import PERSONAS, World


@pytest.fixture
def persona_clients(world: World) -> dict[str, Client]:
    clients: dict[str, Client] = {}
    for persona in PERSONAS:
        client = Client(raise_request_exception=False)
        user = world.persona(persona)
        if user is not None:
            client.force_login(user)
        clients[persona] = client
    return clients


@pytest.fixture
def route_params(world: World) -> dict[str, str]:
    """Values for URL parameters: customer A and B, a (non-owner) contact of A and a pending
    invitation of A."""
    member = Contact.objects.get(customer=world.customer_a, user=world.users["a_member"])
    invited = factories.make_contact(world.customer_a, portal=False, portal_access=True)
    invitation = Invitation.objects.get(contact=invited)
    return {
        "customer_a": str(world.customer_a.number),
        "customer_b": str(world.customer_b.number),
        "contact_a": str(member.pk),
        "invitation_a": str(invitation.pk),
    }
