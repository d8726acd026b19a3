"""Every route × every persona against matrix.toml; the canary proves the sweep bites."""

from __future__ import annotations

import copy

import pytest
from django.test import Client

from .harness import load_matrix, sweep

pytestmark = pytest.mark.django_db


def test_every_route_matches_the_access_matrix(
    persona_clients: dict[str, Client], route_params: dict[str, str]
) -> None:
    problems = sweep(persona_clients, route_params)
    assert problems == [], "\n".join(problems)


def test_a_route_missing_from_the_matrix_fails_the_sweep(
    persona_clients: dict[str, Client], route_params: dict[str, str]
) -> None:
    problems = sweep(persona_clients, route_params, urlconf="tests.access.canary_urls")
    assert problems == ["canary (__canary__/): missing from the access matrix"]


def test_an_unprotected_route_is_caught_by_the_sweep(
    persona_clients: dict[str, Client], route_params: dict[str, str]
) -> None:
    """The canary answers 200 to anyone; a matrix that expects sign-in protection for it
    must report every persona whose status differs."""
    matrix = copy.deepcopy(load_matrix())
    matrix["route"]["canary"] = {"anonymous": 302, "portal": 404, "staff": 404, "superuser": 404}
    problems = sweep(
        persona_clients, route_params, urlconf="tests.access.canary_urls", matrix=matrix
    )
    canary_problems = [p for p in problems if p.startswith("canary ")]
    assert len(canary_problems) == 15
    assert "canary GET /__canary__/ as anonymous: got 200, matrix says [302]" in canary_problems
    assert len(problems) == len(canary_problems)
