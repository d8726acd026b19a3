"""Health endpoints, security headers, request ids, and private-page caching."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from .factories import make_user

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_the_database(django_assert_num_queries: object) -> None:
    with django_assert_num_queries(0):  # type: ignore[operator]
        response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_the_database() -> None:
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_readyz_reports_an_unreachable_database(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_cursor(*args: object, **kwargs: object) -> None:
        raise OSError("connection refused")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = Client().get("/readyz")
    assert response.status_code == 503


def test_pages_carry_the_security_headers() -> None:
    response = Client().get(reverse("account_login"))
    csp = response["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_every_script_tag_is_local_and_inline_scripts_carry_the_nonce() -> None:
    page = Client().get(reverse("account_login")).content.decode()
    assert "//cdn" not in page and "https://" not in page.split("<body")[0]


def test_signed_in_pages_are_never_cached() -> None:
    client = Client()
    client.force_login(make_user())
    response = client.get(reverse("security"))
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_each_response_has_a_request_id_and_a_forged_one_is_replaced() -> None:
    client = Client()
    kept = client.get("/healthz", HTTP_X_REQUEST_ID="abc12345-trace")
    assert kept["X-Request-ID"] == "abc12345-trace"
    forged = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nwith newline")
    assert forged["X-Request-ID"] != "bad id\nwith newline"
    assert len(forged["X-Request-ID"]) == 32


def test_production_settings_turn_on_https_only_cookies_and_hsts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib

    monkeypatch.setenv("SECRET_KEY", "p" * 64)
    import config.env

    importlib.reload(config.env)
    prod = importlib.import_module("config.settings.prod")
    prod = importlib.reload(prod)
    assert prod.SESSION_COOKIE_SECURE and prod.CSRF_COOKIE_SECURE
    assert prod.SECURE_HSTS_SECONDS >= 31536000
    assert prod.SESSION_COOKIE_NAME.startswith("__Host-")
    assert prod.DEBUG is False


def test_production_settings_refuse_to_start_without_a_secret_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib

    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.delenv("SECRET_KEY", raising=False)
    import config.env

    importlib.reload(config.env)
    with pytest.raises(ImproperlyConfigured):
        importlib.reload(importlib.import_module("config.settings.prod"))
