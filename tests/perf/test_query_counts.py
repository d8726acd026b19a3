"""Pages keep a constant number of queries as their rows grow (DESIGN §5).

Every GET list or detail page of the staff console and the portal, and every API list and
detail operation, that no other module measures this way is measured here: the page's data
is built with a few rows, the page is fetched (once to warm the session, then counted), many
more rows of what it lists are added, and the count must not move. Each case is a row of
``PAGES``: who looks, which URL, and how its rows grow.

Measured elsewhere (and so not here): the staff customers list and export
(``staff/test_customer_list.py``), staff search (``staff/test_search_pages.py``), the 360
and its Activity, Notes, Contacts, Change requests tabs and the section editor
(``staff/test_customer360.py``), the Billing tab (``ledger/test_billing_pages.py``), the
Status & ownership tab (``lifecycle/test_pages.py``), the Integrations tab, the webhook list
(deliveries) and an endpoint's page (``staff/test_webhook_pages.py``), the queue and a
request's page (``staff/test_change_requests.py``), the mail log
(``staff/test_mail_log.py``), staff API keys, the resources console, and in the portal My
Account, Activity, Contacts, change requests, Billing, API keys, Resources and the home page
(``portal/``, ``taxes/test_pages.py``); in the API the lists of change requests, notes,
ledger entries, events and webhook endpoints (``api/``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import import_module
from types import SimpleNamespace
from typing import Any

import pytest
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clientdesk.audit.record import record
from clientdesk.change_requests import actions as requests
from clientdesk.core.actor import Actor, Source
from clientdesk.customers import contact_actions, invitations
from clientdesk.customers.models import Customer
from clientdesk.customers.notes import add_note
from clientdesk.ledger.actions import post_entry
from clientdesk.notifications.models import MailLog
from clientdesk.resources.actions import record_download
from clientdesk.taxes import actions as taxes
from clientdesk.webhooks import actions as webhooks
from clientdesk.webhooks.models import Delivery, DeliveryAttempt
from tests import factories
from tests.api.conftest import ApiClient, customer_token, staff_token
from tests.conftest import World
from tests.resources import factories as resources
from tests.staff.test_change_requests import legal_request

pytestmark = pytest.mark.django_db

FEW = 2  # rows before the first count
MORE = 30  # rows added before the second
SYSTEM = Actor.system()
_serial = itertools.count(1)


def serial() -> int:
    return next(_serial)


def staff_actor(world: World, persona: str = "staff_support") -> Actor:
    return Actor(world.users[persona], Source.STAFF)


def owner_actor(world: World) -> Actor:
    return Actor(world.users["a_owner"], Source.PORTAL)


# --- growing rows ----------------------------------------------------------------------------


def more_contacts(world: World, ctx: Any, n: int, *, portal: bool = False) -> None:
    for _ in range(n):
        factories.make_contact(world.customer_a, "member", portal=portal)


def more_portal_contacts(world: World, ctx: Any, n: int) -> None:
    more_contacts(world, ctx, n, portal=True)


def more_invited_contacts(world: World, ctx: Any, n: int) -> None:
    """Contacts with portal access switched on: each has a pending invitation."""
    for _ in range(n):
        contact = factories.make_contact(world.customer_a, "member", portal=False)
        contact_actions.grant_portal_access(contact, actor=SYSTEM)


def more_notes(world: World, ctx: Any, n: int) -> None:
    for i in range(n):
        customer = world.customer_b if i % 2 else world.customer_a
        add_note(customer, kind="general", body=f"Called {i}", reason="r", actor=staff_actor(world))


def more_activity(world: World, ctx: Any, n: int) -> None:
    for i in range(n):
        record(
            "customer.updated",
            actor=SYSTEM,
            customer=world.customer_a,
            target=world.customer_a,
            changes={"trading_name": [f"Old {i}", f"New {i}"]},
        )


def more_entries(world: World, ctx: Any, n: int) -> None:
    for i in range(n):
        kind, amount = ("charge", "1.00") if i % 3 == 2 else ("top_up", "2.00")
        post_entry(
            world.customer_a,
            kind=kind,
            amount=amount,
            description=f"Entry {i}",
            idempotency_key=f"perf-{serial()}",
            actor=SYSTEM,
        )


def more_history(world: World, ctx: Any, n: int) -> None:
    """What a customer's own pages show: contacts (with pending invitations), ledger
    entries, notes and activity."""
    more_contacts(world, ctx, n)
    more_invited_contacts(world, ctx, max(1, n // 5))
    more_entries(world, ctx, n)
    more_notes(world, ctx, n)


def more_customers(world: World, ctx: Any, n: int, *, name: str = "Delta") -> None:
    for _ in range(n):
        customer = factories.make_customer(f"{name} {serial()} Sdn Bhd")
        factories.make_contact(customer, "owner", portal=False)


def more_memberships(world: World, ctx: Any, n: int) -> None:
    """Customers the signed-in owner of A is also a contact of (the account switcher)."""
    for _ in range(n):
        customer = factories.make_customer(f"Group company {serial()}")
        factories.make_contact(customer, "admin", user=world.users["a_owner"])


def more_tax_rules(world: World, ctx: Any, n: int) -> None:
    """Rules of several countries, each for a month of its own (rules may not overlap)."""
    countries = ["MY", "SG", "TH", "ID", "PH", "VN"]
    for i in range(n):
        month = serial()
        start = date(2030 + month // 12, 1 + month % 12, 1)
        taxes.add_tax_rule(
            country=countries[i % len(countries)],
            name="VAT",
            rate=str(5 + i % 5),
            effective_from=start,
            effective_to=(start + timedelta(days=32)).replace(day=1) - timedelta(days=1),
            actor=SYSTEM,
        )


def more_endpoints(world: World, ctx: Any, n: int) -> None:
    manager = staff_actor(world, "staff_manager")
    for i in range(n):
        webhooks.create_endpoint(
            actor=manager,
            url="http://127.0.0.1:9/hook",
            target=f"Target {i % 4}",
            customers=[world.customer_a.client_id, world.customer_b.client_id],
        )


def more_restricted_customers(world: World, ctx: Any, n: int) -> None:
    """Customers the endpoint (or API key) in ``ctx`` is restricted to."""
    for _ in range(n):
        ctx.restricted.customers.add(factories.make_customer())


def more_attempts(world: World, ctx: Any, n: int) -> None:
    start = ctx.delivery.attempt_log.count()
    DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(
            delivery=ctx.delivery,
            number=start + i + 1,
            started_at=timezone.now(),
            duration_ms=120,
            status_code=500,
            error="Server error",
            response_excerpt="<html>oops</html>",
        )
        for i in range(n)
    )


def more_mail(world: World, ctx: Any, n: int) -> None:
    MailLog.objects.bulk_create(
        MailLog(
            to=f"p{serial()}@example.org",
            subject="Your account",
            template="customers/email/invitation",
            status=MailLog.Status.SENT,
            customer_id=world.customer_a.pk,
            kept_text="Hello",
        )
        for _ in range(n)
    )


def more_resources(world: World, ctx: Any, n: int) -> None:
    for _ in range(n):
        name = f"Release note {serial()}"
        item = resources.resource(name, level_from=ctx.level, upload=resources.pdf(f"{name}.pdf"))
        if ctx.downloads:
            for customer in Customer.objects.filter(software_level=ctx.level):
                record_download(item, customer=customer, actor=owner_actor(world))


def more_sessions(world: World, ctx: Any, n: int) -> None:
    """Live sessions of the owner of A on other devices (signed in, as a login leaves them)."""
    user = world.users["a_owner"]
    engine = import_module(settings.SESSION_ENGINE)
    now = timezone.now()
    for i in range(n):
        store = engine.SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        UserSession.objects.create(
            user=user,
            session_key=store.session_key,
            ip="192.0.2.1",
            user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0",
            created_at=now - timedelta(hours=i),
            last_seen_at=now - timedelta(minutes=i),
        )


def more_messages(world: World, ctx: Any, n: int) -> None:
    for i in range(n):
        author = staff_actor(world) if i % 2 else owner_actor(world)
        requests.comment_on_change_request(
            ctx.request, body=f"Message {i}", actor=author, awaiting_reply=False
        )


def more_requests_and_messages(world: World, ctx: Any, n: int) -> None:
    more_messages(world, ctx, n)
    more_contacts(world, ctx, n)


def more_contacts_and_history(world: World, ctx: Any, n: int) -> None:
    more_contacts(world, ctx, n)
    more_activity(world, ctx, n)


# --- setting pages up --------------------------------------------------------------------


def a_contact(world: World) -> Any:
    return SimpleNamespace(contact=factories.make_contact(world.customer_a, "member", portal=False))


def a_portal_contact(world: World) -> Any:
    return SimpleNamespace(contact=factories.make_contact(world.customer_a, "member"))


def an_endpoint_with_a_delivery(world: World) -> Any:
    endpoint, _ = webhooks.create_endpoint(
        actor=staff_actor(world, "staff_manager"), url="http://127.0.0.1:9/hook", target="WHOIS"
    )
    from clientdesk.events.models import Event

    event = Event.objects.create(
        type="contact.updated", customer=world.customer_a, data={}, actor={"source": "staff"}
    )
    delivery = Delivery.objects.create(
        event=event,
        endpoint=endpoint,
        customer=world.customer_a,
        status=Delivery.Status.FAILED,
        attempts=1,
        next_attempt_at=timezone.now(),
        finished_at=timezone.now(),
    )
    return SimpleNamespace(endpoint=endpoint, delivery=delivery, restricted=endpoint)


def a_mail(world: World) -> Any:
    mail = MailLog.objects.create(
        to="a.owner@example.org",
        subject="Welcome",
        template="customers/email/invitation",
        status=MailLog.Status.SENT,
        customer_id=world.customer_a.pk,
        kept_text="Hello",
    )
    return SimpleNamespace(mail=mail)


def a_level(world: World, *, downloads: bool = False) -> Any:
    level = resources.levels("4.0")["4.0"]
    Customer.objects.filter(pk__in=[world.customer_a.pk, world.customer_b.pk]).update(
        software_level=level
    )
    item = resources.resource("Installation guide", level_from=level, body="# Install\n\nSteps.")
    return SimpleNamespace(level=level, item=item, downloads=downloads)


def a_level_with_downloads(world: World) -> Any:
    return a_level(world, downloads=True)


def an_invitation(world: World) -> Any:
    contact = factories.make_contact(world.customer_a, "member", portal=False)
    contact_actions.grant_portal_access(contact, actor=SYSTEM)
    issued = invitations.send_invitation(contact, actor=SYSTEM)
    return SimpleNamespace(token=issued.token)


def a_request(world: World) -> Any:
    return SimpleNamespace(request=legal_request(world))


def a_note(world: World) -> Any:
    note = add_note(
        world.customer_a, kind="general", body="Hi", reason="r", actor=staff_actor(world)
    )
    return SimpleNamespace(note=note)


def an_entry(world: World) -> Any:
    posting = post_entry(
        world.customer_a,
        kind="top_up",
        amount="5.00",
        description="First",
        idempotency_key="perf-first",
        actor=SYSTEM,
    )
    return SimpleNamespace(entry=posting.entry)


def a_restricted_key(world: World) -> Any:
    """A staff API key limited to some customers (the list grows with them)."""
    from clientdesk.apikeys import actions as keys

    key, token = keys.create_staff_key(
        actor=staff_actor(world),
        name="Limited",
        scopes=["customers:read"],
        customers=[world.customer_a],
    )
    return SimpleNamespace(token=token, restricted=key)


# --- the pages ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """One page: who fetches ``url`` and how its rows grow (``grow(world, ctx, n)``);
    ``setup`` builds what the URL names (``ctx``)."""

    name: str
    persona: str  # a World persona; "reauth:" a portal user who just re-entered the
    # password; "key:" an API key of that persona ("key:staff_support" sees every customer)
    url: Callable[[World, Any], str]
    grow: Callable[[World, Any, int], None]
    setup: Callable[[World], Any] | None = None
    htmx: bool = False
    # Fetched first instead of ``url`` (to warm the session): a wizard's start.
    start: Callable[[World, Any], str] | None = None
    # Search tries its sources in turn and stops when the page is full: more matches may
    # cost fewer queries, never more.
    at_most: bool = False
    shows: str = ""  # text the page shows once its rows have grown (it lists them)
    known_n_plus_one: str = ""  # a known fault, reported: the case is a strict xfail


def number(world: World) -> int:
    return world.customer_a.number


def client_id(world: World) -> str:
    return world.customer_a.client_id


def deep_activity_page(world: World, ctx: Any) -> str:
    """The staff Activity page after the newest entries: a keyset page ("Older entries")."""
    from clientdesk.audit.models import Activity

    newest = Activity.objects.order_by("-id").values_list("id", flat=True)[5]
    return reverse("staff:activity") + f"?before={newest}"


PAGES = [
    # --- staff console ---
    Page(
        "staff home, search results without JavaScript",
        "staff_support",
        lambda w, c: reverse("staff:home") + "?q=delta",
        more_customers,
        at_most=True,
        shows="Delta",
    ),
    Page("staff activity", "staff_manager", lambda w, c: reverse("staff:activity"), more_notes),
    Page("staff activity, an older page", "staff_manager", deep_activity_page, more_notes),
    Page(
        "staff activity, one member of staff",
        "staff_manager",
        lambda w, c: reverse("staff:activity") + f"?who={w.users['staff_support'].pk}",
        more_notes,
    ),
    Page(
        "tax rules",
        "staff_manager",
        lambda w, c: reverse("staff:tax-rules"),
        more_tax_rules,
        shows="VAT",
    ),
    Page(
        "a customer's tax exemption",
        "staff_manager",
        lambda w, c: reverse("staff:customer-tax-exemption", args=[number(w)]),
        more_tax_rules,
    ),
    Page(
        "webhook endpoints",
        "staff_support",
        lambda w, c: reverse("staff:webhooks"),
        more_endpoints,
        shows="Target 3",
    ),
    Page(
        "a webhook delivery and its attempts",
        "staff_support",
        lambda w, c: reverse("staff:webhook-delivery", args=[c.endpoint.pk, c.delivery.pk]),
        more_attempts,
        setup=an_endpoint_with_a_delivery,
        shows="Server error",
    ),
    Page(
        "editing a webhook endpoint",
        "staff_manager",
        lambda w, c: reverse("staff:webhook-edit", args=[c.endpoint.pk]),
        more_restricted_customers,
        setup=an_endpoint_with_a_delivery,
    ),
    Page(
        "a mail log entry",
        "staff_support",
        lambda w, c: reverse("staff:mail-log-entry", args=[c.mail.pk]),
        more_mail,
        setup=a_mail,
    ),
    Page(
        "resources preview",
        "staff_manager",
        lambda w, c: reverse("staff:resources-preview") + f"?level={c.level.pk}&drafts=on",
        more_resources,
        setup=a_level,
        shows="Release note",
    ),
    Page(
        "the close checklist",
        "staff_support",
        lambda w, c: reverse("staff:customer-lifecycle-checklist", args=[number(w)]),
        more_history,
        htmx=True,
    ),
    Page(
        "the login email procedure",
        "staff_support",
        lambda w, c: reverse("staff:customer-email-change", args=[number(w)]) + "?step=1",
        more_contacts_and_history,
        start=lambda w, c: reverse("staff:customer-email-change", args=[number(w)]),
    ),
    Page(
        "editing a contact (staff)",
        "staff_support",
        lambda w, c: reverse("staff:contact-edit", args=[number(w), c.contact.pk]),
        more_contacts,
        setup=a_contact,
    ),
    Page(
        "the billing statement CSV (staff)",
        "staff_billing",
        lambda w, c: reverse("staff:customer-billing-csv", args=[number(w)]),
        more_entries,
        shows="Entry 29",
    ),
    Page(
        "choosing the new owner (staff)",
        "staff_manager",
        lambda w, c: reverse("staff:customer-transfer", args=[number(w)]),
        more_portal_contacts,
        shows="Member",
    ),
    Page(
        "reversing a ledger entry",
        "staff_billing",
        lambda w, c: reverse("staff:customer-billing-reverse", args=[number(w), c.entry.pk]),
        more_entries,
        setup=an_entry,
    ),
    Page(
        "editing a resource",
        "staff_manager",
        lambda w, c: reverse("staff:resource-edit", args=[c.item.pk]),
        more_resources,
        setup=a_level_with_downloads,
    ),
    Page(
        "rotating a webhook secret",
        "staff_manager",
        lambda w, c: reverse("staff:webhook-rotate", args=[c.endpoint.pk]),
        more_restricted_customers,
        setup=an_endpoint_with_a_delivery,
    ),
    Page(
        "Login As: the reason form",
        "staff_support",
        lambda w, c: reverse("staff:login-as-start", args=[number(w), c.contact.pk]),
        more_contacts_and_history,
        setup=a_portal_contact,
    ),
    # --- portal ---
    Page(
        "choosing an account",
        "a_owner",
        lambda w, c: reverse("portal:home"),
        more_memberships,
        shows="Group company",
    ),
    Page(
        "a My Account section",
        "a_owner",
        lambda w, c: reverse("portal:account-section", args=[number(w), "contact"]),
        more_contacts_and_history,
        htmx=True,
    ),
    Page(
        "my contact details",
        "a_member",
        lambda w, c: reverse("portal:my-contact", args=[number(w)]),
        more_contacts,
    ),
    Page(
        "editing a contact (portal)",
        "a_owner",
        lambda w, c: reverse("portal:contact-edit", args=[number(w), c.contact.pk]),
        more_contacts,
        setup=a_contact,
    ),
    Page(
        "the billing statement CSV (portal)",
        "a_owner",
        lambda w, c: reverse("portal:billing-csv", args=[number(w)]),
        more_entries,
        shows="Entry 29",
    ),
    Page(
        "a resource",
        "a_owner",
        lambda w, c: reverse("portal:resource", args=[number(w), c.item.pk]),
        more_resources,
        setup=a_level_with_downloads,
    ),
    Page(
        "choosing the new owner",
        "reauth:a_owner",
        lambda w, c: reverse("portal:ownership-transfer", args=[number(w)]),
        more_portal_contacts,
        shows="Member",
    ),
    Page(
        "the new owner (after a transfer)",
        "a_owner",
        lambda w, c: reverse("portal:ownership-transferred", args=[number(w)]),
        more_portal_contacts,
    ),
    Page(
        "closing the account",
        "reauth:a_owner",
        lambda w, c: reverse("portal:close-account", args=[number(w)]),
        more_history,
    ),
    Page(
        "an invitation link",
        "anonymous",
        lambda w, c: reverse("portal:invitation", args=[c.token]),
        more_invited_contacts,
        setup=an_invitation,
    ),
    Page(
        "security and sessions",
        "a_owner",
        lambda w, c: reverse("security"),
        more_sessions,
        shows="Firefox",
        known_n_plus_one=(
            "allauth's UserSession.objects.purge_and_list checks each session on its own: "
            "3 queries per signed-in session (exists, load, user)"
        ),
    ),
    # --- API ---
    Page(
        "API: customers",
        "key:staff_support",
        lambda w, c: "/api/v1/customers",
        more_customers,
        shows="Delta",
    ),
    Page(
        "API: customers matching a search",
        "key:staff_support",
        lambda w, c: "/api/v1/customers?q=delta",
        more_customers,
        at_most=True,
        shows="Delta",
    ),
    Page(
        "API: customers of a restricted key",
        "key:restricted",
        lambda w, c: "/api/v1/customers",
        more_restricted_customers,
        setup=a_restricted_key,
    ),
    Page(
        "API: a customer",
        "key:a_owner",
        lambda w, c: f"/api/v1/customers/{client_id(w)}",
        more_contacts,
    ),
    Page(
        "API: a profile section",
        "key:a_owner",
        lambda w, c: f"/api/v1/customers/{client_id(w)}/profile/contact",
        more_contacts_and_history,
    ),
    Page(
        "API: contacts",
        "key:a_owner",
        lambda w, c: f"/api/v1/customers/{client_id(w)}/contacts",
        more_contacts,
        shows="Person",
    ),
    Page(
        "API: a contact",
        "key:a_owner",
        lambda w, c: f"/api/v1/customers/{client_id(w)}/contacts/{c.contact.pk}",
        more_contacts,
        setup=a_contact,
    ),
    Page(
        "API: a change request and its thread",
        "key:staff_manager",
        lambda w, c: f"/api/v1/customers/{client_id(w)}/change-requests/{c.request.reference}",
        more_requests_and_messages,
        setup=a_request,
        shows="Message 29",
    ),
    Page(
        "API: a note",
        "key:staff_support",
        lambda w, c: f"/api/v1/customers/{client_id(w)}/notes/{c.note.pk}",
        more_notes,
        setup=a_note,
    ),
    Page(
        "API: the balance",
        "key:a_owner",
        lambda w, c: f"/api/v1/customers/{client_id(w)}/ledger",
        more_entries,
    ),
    Page(
        "API: a ledger entry",
        "key:a_owner",
        lambda w, c: f"/api/v1/customers/{client_id(w)}/ledger/entries/{c.entry.pk}",
        more_entries,
        setup=an_entry,
    ),
    Page(
        "API: a webhook endpoint",
        "key:staff_manager",
        lambda w, c: f"/api/v1/webhook-endpoints/{c.endpoint.pk}",
        more_restricted_customers,
        setup=an_endpoint_with_a_delivery,
    ),
]


# --- measuring ---------------------------------------------------------------------------------


def client_for(world: World, persona: str, ctx: Any) -> Callable[[str], Any]:
    """A function that GETs a URL as ``persona`` and returns the response, its body read
    (a streamed CSV is read inside the count)."""
    if persona.startswith("key:"):
        who = persona.removeprefix("key:")
        if who == "restricted":
            token = ctx.token
        elif who.startswith("staff_"):
            token = staff_token(world.users[who])
        else:
            token = customer_token(world.users[who], world.customer_a)
        api = ApiClient(token)
        return lambda url: read(api.get(url))
    client = Client()
    if persona.startswith("reauth:"):
        persona = persona.removeprefix("reauth:")
        client.force_login(world.users[persona])
        answer = client.post(reverse("account_reauthenticate"), {"password": factories.PASSWORD})
        assert answer.status_code == 302
    elif persona != "anonymous":
        client.force_login(world.users[persona])
    return lambda url, **extra: read(client.get(url, **extra))


def read(response: Any) -> Any:
    if getattr(response, "streaming", False):
        response.body = b"".join(response.streaming_content)
    return response


def count(fetch: Callable[..., Any], url: str, page: Page) -> tuple[int, Any]:
    extra = {"HTTP_HX_REQUEST": "true"} if page.htmx else {}
    with CaptureQueriesContext(connection) as queries:
        response = fetch(url, **extra) if extra else fetch(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(queries), response


def cases() -> list[Any]:
    return [
        pytest.param(
            page,
            id=page.name,
            marks=[pytest.mark.xfail(strict=True, reason=page.known_n_plus_one)]
            if page.known_n_plus_one
            else [],
        )
        for page in PAGES
    ]


@pytest.mark.parametrize("page", cases())
def test_the_queries_stay_constant_as_rows_grow(world: World, page: Page, settings: Any) -> None:
    settings.CLIENTDESK_INVITATIONS_PER_HOUR = 1000
    ctx = page.setup(world) if page.setup else None
    fetch = client_for(world, page.persona, ctx)
    page.grow(world, ctx, FEW)
    if page.start:
        fetch(page.start(world, ctx))
    else:
        count(fetch, page.url(world, ctx), page)  # a session's (or key's) first use does more
    few, _ = count(fetch, page.url(world, ctx), page)
    page.grow(world, ctx, MORE)
    many, response = count(fetch, page.url(world, ctx), page)
    body = response.body if getattr(response, "streaming", False) else response.content
    assert page.shows in body.decode(), f"{page.name} does not show {page.shows!r}"
    message = f"{page.name}: {few} queries with {FEW} rows, {many} with {FEW + MORE}"
    assert (many <= few) if page.at_most else (many == few), message
