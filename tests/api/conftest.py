"""API fixtures: keys for the world's personas and a client that sends them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from clientdesk.apikeys import actions as keys
from clientdesk.apikeys.scopes import CUSTOMER_SCOPES, SCOPES
from clientdesk.core.actor import Actor, Source


class ApiClient:
    """Sends ``Authorization: Bearer`` and JSON; ``.json`` on the response parses it."""

    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.token = token

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        sent = dict(headers or {})
        if self.token is not None:
            sent.setdefault("Authorization", f"Bearer {self.token}")
        return sent

    def get(self, path: str, headers: dict[str, str] | None = None, **params: Any):
        return self.client.get(path, params, headers=self._headers(headers))

    def send(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None):
        data = (
            body if isinstance(body, (bytes, str)) else json.dumps(body if body is not None else {})
        )
        return getattr(self.client, method.lower())(
            path, data=data, content_type="application/json", headers=self._headers(headers)
        )

    def post(self, path: str, body: Any = None, headers: dict[str, str] | None = None):
        return self.send("post", path, body, headers)

    def patch(self, path: str, body: Any = None, headers: dict[str, str] | None = None):
        return self.send("patch", path, body, headers)

    def put(self, path: str, body: Any = None, headers: dict[str, str] | None = None):
        return self.send("put", path, body, headers)

    def delete(self, path: str, headers: dict[str, str] | None = None):
        return self.client.delete(path, headers=self._headers(headers))


def staff_token(user, scopes=None, customers=()) -> str:
    _, token = keys.create_staff_key(
        actor=Actor(user, Source.STAFF),
        name="Test script",
        scopes=scopes or sorted(SCOPES),
        customers=customers,
    )
    return token


def customer_token(user, customer, scopes=None) -> str:
    _, token = keys.create_customer_key(
        actor=Actor(user, Source.PORTAL),
        customer=customer,
        name="Our ERP",
        scopes=scopes or sorted(CUSTOMER_SCOPES),
    )
    return token


@pytest.fixture
def a_owner_api(world) -> ApiClient:
    return ApiClient(customer_token(world.users["a_owner"], world.customer_a))


@pytest.fixture
def manager_api(world) -> ApiClient:
    return ApiClient(staff_token(world.users["staff_manager"]))


@pytest.fixture
def support_api(world) -> ApiClient:
    return ApiClient(staff_token(world.users["staff_support"]))
