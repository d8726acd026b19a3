from __future__ import annotations

import pytest
from django.test import Client

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
    return {"customer_a": str(world.customer_a.number), "customer_b": str(world.customer_b.number)}
