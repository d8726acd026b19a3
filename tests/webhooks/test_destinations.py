"""SSRF: webhooks never reach the provider's own network, at registration or at delivery."""

from __future__ import annotations

import socket

import pytest

from clientdesk.core.errors import DomainError
from clientdesk.webhooks import actions, destinations
from clientdesk.webhooks.models import Delivery, WebhookEndpoint
from tests import factories

from .conftest import deliver, make_endpoint

REFUSED = [
    "http://127.0.0.1/hook",
    "http://127.1.2.3:8080/hook",
    "http://0.0.0.0/",
    "http://10.0.0.5/hook",
    "http://172.16.4.4/hook",
    "http://192.168.1.10/hook",
    "http://100.64.0.1/hook",  # carrier-grade NAT (shared address space)
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped loopback
    "http://[fe80::1]/hook",
    "http://[fd00::1]/hook",
    "http://224.0.0.1/hook",
    "http://localhost/hook",
    "http://[64:ff9b::a00:5]/hook",  # NAT64 of 10.0.0.5
    "http://[2002:a9fe:a9fe::]/hook",  # 6to4 of 169.254.169.254
    "http://[::7f00:1]/hook",  # IPv4-compatible 127.0.0.1
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook",  # Teredo
]


@pytest.fixture
def production_rules(settings) -> None:
    settings.CLIENTDESK_WEBHOOK_ALLOWED_NETWORKS = []
    settings.CLIENTDESK_WEBHOOK_ALLOW_HTTP = True  # to test the address rules on their own


@pytest.mark.usefixtures("production_rules")
@pytest.mark.parametrize("url", REFUSED)
def test_private_and_reserved_destinations_are_refused(url: str) -> None:
    with pytest.raises(DomainError) as refused:
        destinations.resolve(url)
    assert "private or reserved" in refused.value.message
    assert refused.value.field == "url"


@pytest.mark.usefixtures("production_rules")
def test_a_public_address_is_allowed() -> None:
    destination = destinations.resolve("http://93.184.215.14:8443/hooks/in?x=1")
    assert destination.address == "93.184.215.14"
    assert (destination.port, destination.path) == (8443, "/hooks/in?x=1")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://93.184.215.14/", "https://"),
        ("http://user:pw@93.184.215.14/", "no user name or password"),
        ("https://93.184.215.14/#frag", "fragment"),
        ("https:///nohost", "no host name"),
        ("https://[::1/", "not a valid URL"),
        ("https://93.184.215.14:99999/", "not a valid URL"),
        ("https://no-such-host.invalid/", "could not be resolved"),
    ],
)
def test_malformed_urls_get_a_clear_message(url: str, message: str) -> None:
    with pytest.raises(DomainError) as refused:
        destinations.resolve(url)
    assert message in refused.value.message


def test_production_requires_https(settings) -> None:
    settings.CLIENTDESK_WEBHOOK_ALLOW_HTTP = False
    with pytest.raises(DomainError, match="HTTPS only"):
        destinations.resolve("http://93.184.215.14/hook")


def test_a_name_with_one_private_address_is_refused(production_rules, monkeypatch) -> None:
    def two_addresses(host, port, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", two_addresses)
    with pytest.raises(DomainError, match=r"10\.1\.2\.3"):
        destinations.resolve("https://hooks.example.com/in")


def test_registration_refuses_a_private_url(production_rules, manager) -> None:
    with pytest.raises(DomainError) as refused:
        actions.create_endpoint(actor=manager, url="http://169.254.169.254/", target="Billing")
    assert "url" in refused.value.errors
    assert not WebhookEndpoint.objects.exists()


def test_delivery_checks_again_after_dns_resolution(
    manager, customer, monkeypatch, settings
) -> None:
    """DNS rebinding: public at registration, private at delivery → refused, no request."""
    real = socket.getaddrinfo
    answers = {"hooks.example.com": "93.184.215.14"}

    def fake_dns(host, port, *args, **kwargs):
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_dns)
    settings.CLIENTDESK_WEBHOOK_ALLOWED_NETWORKS = []
    make_endpoint(manager, "http://hooks.example.com/in", event_types=["contact.*"])
    answers["hooks.example.com"] = "127.0.0.1"  # the name now points inside
    factories.make_contact(customer, "billing", portal=False)
    deliver()
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING  # retried later, never sent inside
    assert delivery.last_status_code is None
    assert "private or reserved" in delivery.attempt_log.get().error
