"""Clientdesk under a mixed load: customers, API clients and staff at once.

Run by ``scripts/loadtest.py`` (which prepares the database, starts gunicorn and the
workers, and checks the invariants afterwards); by hand::

    LOADTEST_FIXTURE=fixture.json locust -f loadtest/locustfile.py --host http://127.0.0.1:8000

This file runs in locust's own process (gevent) and imports neither Django nor Clientdesk:
it speaks HTTP like any client, reading the sign-ins, API tokens and search terms from the
JSON fixture that ``manage.py loadtest_prepare`` wrote (``LOADTEST_FIXTURE``).

Who does what (``weight``: the share of the simulated users; a task's number: how often
that user picks it):

- **CustomerUser** (weight 5): signs in once through the allauth form (CSRF token from the
  page) and browses the portal — overview 4, My Account 4, contacts 2, activity 2,
  resources 1, billing 1, requests 1 — edits Business Details through the htmx edit form
  with the section's ``etag`` 3, asks for a legal-address change (an approval section:
  becomes a change request) 1, reads its requests 1 (opening one, and cancelling an open
  one a tenth of the time). Consecutive simulated customers share an account (its owner
  and admin), and API clients edit the same accounts, so saves meet.
- **ApiClient** (weight 3): a Bearer API key — staff keys (support + billing groups) and
  customer keys (made by an owner). Lists customers page by page with the cursor 2, reads
  one 3, PATCHes Business Details with ``If-Match`` from the ETag 3, reads the event feed
  1; staff keys also read the balance 1 and POST ledger entries with an ``Idempotency-Key``
  3, sending the same key and body again one time in four (the first answer must come
  back, marked ``Idempotent-Replayed``).
- **SupportStaff** (weight 1): signs in with password + TOTP (the code computed here,
  RFC 6238) and searches (3-letter fragments, names, client IDs, emails) through the
  console's htmx results partial 5, opens a hit's 360 5 and its Activity 1, looks at the
  request queue 1.
- **ManagerStaff** (weight 1): as support, and decides open change requests 4: opens the
  queue, one request, approves it (most) or rejects it with a reason.

Every simulated user sends its own ``X-Forwarded-For`` address, as the proxy in front of a
production site would (the orchestrator runs the app with ``TRUSTED_PROXY_COUNT=1``), so
the per-address sign-in limits apply per person, not to the whole load at once.

What counts as a success besides a 2xx/3xx (``catch_response``; the outcome is counted per
request name and written to ``LOADTEST_OUTCOMES`` at the end):

- 429 anywhere (a rate limit doing its job; the user then waits ``Retry-After``);
- portal section save (htmx answers 200 either way): the form again with "This section
  changed" (the version moved: optimistic concurrency), "Nothing was sent" (a request for
  the section is open already) or "No changes to save" (the values asked for are there);
- API PATCH: 412 ``precondition_failed`` (someone changed it since the ETag); API ledger
  posting: 409 (a balance rule: not enough credit) or 409 ``idempotency_in_progress``;
- staff decision: 409 (another manager decided first, or the section moved since the
  page was drawn); 302 "already approved";
- portal cancel: 409 (decided meanwhile).

Anything else — a 5xx, a connection error, an unexpected 4xx, a missing marker, a replay
that answers differently — is a failure.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import os
import random
import re
import struct
import time
import uuid
from collections import Counter
from collections.abc import Callable
from html import unescape
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from locust import between, events, task
from locust.contrib.fasthttp import FastHttpUser

FIXTURE_ENV = "LOADTEST_FIXTURE"
OUTCOMES_ENV = "LOADTEST_OUTCOMES"
TOTP_PERIOD = 30

_fixture: dict[str, Any] | None = None
OUTCOMES: Counter[tuple[str, str]] = Counter()
_next = {"portal": itertools.count(), "support": itertools.count(), "manager": itertools.count()}
_next_key = itertools.count()
_next_ip = itertools.count(1)


def fixture() -> dict[str, Any]:
    global _fixture
    if _fixture is None:
        path = os.environ.get(FIXTURE_ENV, "")
        if not path:
            raise RuntimeError(f"Set {FIXTURE_ENV} to the fixture written by loadtest_prepare.")
        with open(path, encoding="utf-8") as handle:
            _fixture = json.load(handle)
    return _fixture


@events.test_stop.add_listener
def _write_outcomes(**_: Any) -> None:
    path = os.environ.get(OUTCOMES_ENV, "")
    if not path:
        return
    table: dict[str, dict[str, int]] = {}
    for (name, outcome), count in sorted(OUTCOMES.items()):
        table.setdefault(name, {})[outcome] = count
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(table, handle, indent=2)


# --- TOTP (RFC 6238: HMAC-SHA1, 30 s, 6 digits), as an authenticator app computes it ---------


def totp(secret: str, at: float | None = None) -> str:
    counter = int((time.time() if at is None else at) // TOTP_PERIOD)
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 10**6:06d}"


# --- HTML forms, read the way a browser submits them -----------------------------------------


class Form:
    def __init__(self, action: str, attrs: dict[str, str]) -> None:
        self.action = action
        self.attrs = attrs
        self.fields: list[tuple[str, str]] = []
        self.checkboxes: list[tuple[str, str, bool]] = []

    def get(self, name: str) -> str | None:
        return next((value for key, value in self.fields if key == name), None)

    def data(self, **changes: str) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for key, value in self.fields:
            values.setdefault(key, value)
        for key, value, checked in self.checkboxes:
            if checked:
                values.setdefault(key, [])
                if isinstance(values[key], list):
                    values[key].append(value)
        values.update(changes)
        return values


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: tuple[str, list[tuple[str, bool]]] | None = None
        self._option: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag == "form":
            self._form = Form(a.get("hx-post") or a.get("action", ""), a)
            self.forms.append(self._form)
        if self._form is None:
            return
        name = a.get("name", "")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                self._form.checkboxes.append((name, a.get("value", "on"), "checked" in a))
            elif kind not in ("submit", "button", "file", "image", "reset"):
                self._form.fields.append((name, a.get("value", "")))
        elif tag == "select" and name:
            self._select = (name, [])
        elif tag == "option" and self._select is not None:
            self._option = a.get("value", "")
            self._select[1].append((self._option, "selected" in a))
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select is not None and self._form is not None:
            name, options = self._select
            chosen = next(
                (v for v, selected in options if selected), options[0][0] if options else ""
            )
            self._form.fields.append((name, chosen))
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            self._form.fields.append((self._textarea, "".join(self._text).lstrip("\n")))
            self._textarea = None
        elif tag == "form":
            self._form = None


def forms(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def form_to(html: str, action_part: str) -> Form | None:
    return next((f for f in forms(html) if action_part in f.action), None)


# --- the shared request helper -----------------------------------------------------------------

# An outcome judge: the response → the outcome's name (a success), or None (a failure).
Judge = Callable[[Any], "str | None"]
RATE_LIMITED = "429 rate limited (expected)"


class Client(FastHttpUser):
    abstract = True
    network_timeout = 60.0
    connection_timeout = 10.0

    def on_start(self) -> None:
        # As a proxy in front of the app would say (TRUSTED_PROXY_COUNT=1): each simulated
        # person comes from their own address, so per-address limits apply per person.
        n = next(_next_ip)
        self.ip = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
        self.rng = random.Random()  # noqa: S311 - picks what to do, not secrets

    def call(
        self,
        method: str,
        path: str,
        *,
        name: str,
        judge: Judge,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> tuple[Any, str | None]:
        """One request, judged: returns (response, outcome); outcome None is a failure
        (already reported), ``RATE_LIMITED`` means the user has waited and should move on."""
        sent = {"X-Forwarded-For": self.ip, **(headers or {})}
        if isinstance(kwargs.get("data"), dict):  # a form, encoded as a browser does
            kwargs["data"] = urlencode(kwargs["data"], doseq=True)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        with self.client.request(
            method,
            path,
            name=name,
            headers=sent,
            catch_response=True,
            allow_redirects=False,
            **kwargs,
        ) as response:
            status = response.status_code or 0
            outcome: str | None
            if status == 0:  # no answer at all (fasthttp also sets ``error`` on a 4xx)
                outcome = None
                response.failure(f"connection error: {getattr(response, 'error', '')}")
            elif status == 429:
                outcome = RATE_LIMITED
                response.success()
            elif status >= 500:
                outcome = None
                response.failure(f"{status} server error")
            else:
                try:
                    outcome = judge(response)
                except Exception as error:  # a malformed answer is the app's failure
                    outcome = None
                    response.failure(f"{status}: unreadable answer ({error!r})")
                    OUTCOMES[(name, "failure")] += 1
                    return response, None
                if outcome is None:
                    response.failure(f"{status} unexpected: {gist(response.text or '')}")
                else:
                    response.success()
            OUTCOMES[(name, outcome or "failure")] += 1
        if outcome == RATE_LIMITED:
            retry = response.headers.get("Retry-After", "") if response.headers else ""
            time.sleep(min(float(retry), 10.0) if retry.isdigit() else 2.0)
        return response, outcome


def gist(text: str) -> str:
    """What a person would read first in an answer: the alert's title, else the start."""
    title = re.search(r'class="alert-title">([^<]+)<', text) or re.search(r"<title>([^<]+)<", text)
    if title:
        return unescape(title.group(1).strip())[:200]
    return " ".join(text.split())[:200]


def status_is(*codes: int, label: str = "") -> Judge:
    def judge(response: Any) -> str | None:
        if response.status_code in codes:
            return label or str(response.status_code)
        return None

    return judge


def page_ok(marker: str = "") -> Judge:
    """A 200 page (with ``marker`` in it when given)."""

    def judge(response: Any) -> str | None:
        if response.status_code != 200:
            return None
        if marker and marker not in (response.text or ""):
            return None
        return "200"

    return judge


def location(response: Any) -> str:
    value = response.headers.get("Location", "") if response.headers else ""
    return urlsplit(value).path or value


# --- signing in ----------------------------------------------------------------------------


class SignedIn(Client):
    abstract = True
    signed_in = False

    def sign_in(self, email: str, password: str) -> str | None:
        """The allauth form: GET (CSRF cookie and token), POST; returns the redirect target
        (None: failed, already reported). A 429 waits and tries again."""
        for _ in range(5):
            response, outcome = self.call(
                "GET",
                "/accounts/login/",
                name="sign in: form",
                judge=page_ok("csrfmiddlewaretoken"),
            )
            if outcome is None:
                return None
            form = (
                form_to(response.text or "", "/accounts/login/")
                if outcome != RATE_LIMITED
                else None
            )
            if form is None:
                continue
            response, outcome = self.call(
                "POST",
                "/accounts/login/",
                name="sign in: password",
                judge=status_is(302, label="302 signed in"),
                data=form.data(login=email, password=password),
            )
            if outcome == RATE_LIMITED:
                continue
            return location(response) if outcome else None
        return None


class CustomerUser(SignedIn):
    """A customer's owner or admin in the portal."""

    weight = 5
    wait_time = between(1, 4)

    def on_start(self) -> None:
        super().on_start()
        users = fixture()["portal_users"]
        me = users[next(_next["portal"]) % len(users)]
        self.number = me["customer"].removeprefix("C-")
        self.base = f"/c/{self.number}"
        target = self.sign_in(me["email"], fixture()["password"])
        self.signed_in = target is not None
        if self.signed_in:
            self.call("GET", "/", name="portal: /", judge=status_is(302, label="302 to account"))

    def browse(self, suffix: str, name: str, marker: str = "") -> None:
        if self.signed_in:
            self.call("GET", f"{self.base}{suffix}", name=name, judge=page_ok(marker))

    @task(4)
    def overview(self) -> None:
        self.browse("/", "portal: overview")

    @task(4)
    def my_account(self) -> None:
        self.browse("/account/", "portal: My Account", "Business Details")

    @task(2)
    def contacts(self) -> None:
        self.browse("/settings/contacts/", "portal: contacts")

    @task(2)
    def activity(self) -> None:
        self.browse("/activity/", "portal: activity")

    @task(1)
    def resources(self) -> None:
        self.browse("/resources/", "portal: resources")

    @task(1)
    def billing(self) -> None:
        self.browse("/billing/", "portal: billing")

    @task(3)
    def edit_business(self) -> None:
        """The pencil on Business Details (htmx), a pause, Save Changes with the etag."""
        if not self.signed_in:
            return
        htmx = {"HX-Request": "true"}
        response, outcome = self.call(
            "GET",
            f"{self.base}/account/business/edit/",
            name="portal: edit section (form)",
            judge=page_ok('name="etag"'),
            headers=htmx,
        )
        form = form_to(response.text or "", "/account/business/") if outcome == "200" else None
        if form is None:
            return
        time.sleep(self.rng.uniform(0.5, 2.5))  # typing
        trading = f"Trading {self.rng.randrange(10**6):06d}"

        def judge(response: Any) -> str | None:
            text = response.text or ""
            if response.status_code != 200:
                return None
            if "Saved — changes are live" in text:
                return "200 saved"
            if "No changes to save" in text:  # another save had put the same value
                return "200 no changes to save"
            if "alert alert-warning conflict" in text:
                return "200 conflict: section changed (expected)"
            if "Nothing was sent" in text:
                return "200 request already open (expected)"
            return None

        self.call(
            "POST",
            f"{self.base}/account/business/",
            name="portal: save section",
            judge=judge,
            headers=htmx,
            data=form.data(trading_name=trading, note=""),
        )

    @task(1)
    def request_legal_change(self) -> None:
        """Legal identity needs approval: saving it sends a change request (seed 002)."""
        if not self.signed_in:
            return
        htmx = {"HX-Request": "true"}
        response, outcome = self.call(
            "GET",
            f"{self.base}/account/legal/edit/",
            name="portal: edit legal (form)",
            judge=page_ok(),
            headers=htmx,
        )
        text = response.text or "" if outcome == "200" else ""
        form = form_to(text, "/account/legal/")
        if form is None:  # a request is open: the section shows it, read-only
            return
        time.sleep(self.rng.uniform(0.5, 2.0))

        def judge(response: Any) -> str | None:
            text = response.text or ""
            if response.status_code != 200:
                return None
            if "has been sent" in text:
                return "200 request sent"
            if "No changes to save" in text:  # the address asked for is the current one
                return "200 no changes to save"
            if "Nothing was sent" in text:
                return "200 request already open (expected)"
            if "alert alert-warning conflict" in text:
                return "200 conflict: section changed (expected)"
            return None

        self.call(
            "POST",
            f"{self.base}/account/legal/",
            name="portal: request legal change",
            judge=judge,
            headers=htmx,
            data=form.data(
                legal_line1=f"Suite {self.rng.randrange(100, 4000)}, Menara Load",
                note="Moved offices (load test).",
            ),
        )

    @task(1)
    def requests(self) -> None:
        """The requests list; now and then one request, and rarely cancelling it."""
        if not self.signed_in:
            return
        response, outcome = self.call(
            "GET", f"{self.base}/requests/", name="portal: requests", judge=page_ok()
        )
        numbers = (
            re.findall(rf"{self.base}/requests/(\d+)/", response.text or "") if outcome else []
        )
        if not numbers:
            return
        number = self.rng.choice(numbers)
        response, outcome = self.call(
            "GET",
            f"{self.base}/requests/{number}/",
            name="portal: request",
            judge=page_ok(),
        )
        link = re.search(rf'href="({self.base}/requests/\d+/cancel/)"', response.text or "")
        if outcome != "200" or link is None or self.rng.random() > 0.1:
            return  # decided or cancelled already, or most of the time: just reading
        response, outcome = self.call(
            "GET", link.group(1), name="portal: cancel request (confirm)", judge=page_ok()
        )
        page = response.text or "" if outcome == "200" else ""
        # The confirmation posts to its own address (no action); decided meanwhile: no form.
        form = next((f for f in forms(page) if f.action in ("", link.group(1))), None)
        if form is None:
            return
        self.call(
            "POST",
            link.group(1),
            name="portal: cancel request",
            judge=lambda r: {302: "302 cancelled", 409: "409 decided meanwhile (expected)"}.get(
                r.status_code
            ),
            data=form.data(),
        )


class ApiClient(Client):
    """A program with an API key: a CRM or billing system (staff key) or a customer's ERP."""

    weight = 3
    wait_time = between(0.5, 2)

    def on_start(self) -> None:
        super().on_start()
        keys = fixture()["api_keys"]
        self.key = keys[next(_next_key) % len(keys)]
        self.auth = {"Authorization": f"Bearer {self.key['token']}"}
        self.staff = self.key["kind"] == "staff"
        self.customers = fixture()["portal_customers"] if self.staff else [self.key["customer"]]
        self.ledger_keys: list[tuple[str, str, str, str]] = []  # key, customer, body, entry id

    def api(self, method: str, path: str, *, name: str, judge: Judge, **kwargs: Any) -> Any:
        headers = {**self.auth, **kwargs.pop("headers", {})}
        return self.call(
            method, f"/api/v1{path}", name=name, judge=judge, headers=headers, **kwargs
        )

    def customer(self) -> str:
        return self.rng.choice(self.customers)

    @task(2)
    def list_customers(self) -> None:
        cursor = ""
        for _ in range(self.rng.randint(1, 3)):
            query = f"?limit=50&cursor={quote(cursor)}" if cursor else "?limit=50"
            response, outcome = self.api(
                "GET", f"/customers{query}", name="api: list customers", judge=status_is(200)
            )
            if outcome != "200":
                return
            cursor = response.json().get("next_cursor") or ""
            if not cursor:
                return

    @task(3)
    def get_customer(self) -> None:
        self.api(
            "GET", f"/customers/{self.customer()}", name="api: get customer", judge=status_is(200)
        )

    @task(3)
    def patch_section(self) -> None:
        """Read Business Details, then PATCH with If-Match: 412 when someone saved first."""
        client_id = self.customer()
        path = f"/customers/{client_id}/profile/business"
        response, outcome = self.api("GET", path, name="api: get section", judge=status_is(200))
        etag = response.headers.get("ETag", "") if outcome == "200" and response.headers else ""
        if not etag:
            return
        time.sleep(self.rng.uniform(0.1, 1.0))
        body: dict[str, Any] = {"values": {"trading_name": f"API {self.rng.randrange(10**6):06d}"}}
        if self.staff:
            body["reason"] = "Synchronised from the CRM (load test)."
        self.api(
            "PATCH",
            path,
            name="api: patch section (If-Match)",
            judge=lambda r: {200: "200 saved", 412: "412 precondition failed (expected)"}.get(
                r.status_code
            ),
            headers={"If-Match": etag, "Content-Type": "application/json"},
            data=json.dumps(body),
        )

    @task(1)
    def events_feed(self) -> None:
        after = self.rng.choice([0, 0, 100, 1000])
        self.api(
            "GET", f"/events?after={after}&limit=100", name="api: event feed", judge=status_is(200)
        )

    @task(1)
    def balance(self) -> None:
        if self.staff:
            self.api(
                "GET",
                f"/customers/{self.customer()}/ledger",
                name="api: balance",
                judge=status_is(200),
            )

    @task(3)
    def post_ledger_entry(self) -> None:
        """A top-up or a small charge with an Idempotency-Key; one in four sends an earlier
        key and body again, and must get the first answer back."""
        if not self.staff:
            return
        if self.ledger_keys and self.rng.random() < 0.25:
            key, client_id, body, entry_id = self.rng.choice(self.ledger_keys)
            self.post_entry(client_id, key, body, replay_of=entry_id)
            return
        client_id = self.customer()
        kind = self.rng.choice(["top_up", "charge", "charge"])
        body = json.dumps(
            {
                "kind": kind,
                "amount": f"{self.rng.randint(1, 20)}.{self.rng.randrange(100):02d}",
                "description": "Load test " + ("credit" if kind == "top_up" else "usage"),
                "external_reference": f"LT-{uuid.uuid4().hex[:12]}",
            }
        )
        self.post_entry(client_id, f"lt-{uuid.uuid4()}", body)

    def post_entry(self, client_id: str, key: str, body: str, replay_of: str = "") -> None:
        def judge(response: Any) -> str | None:
            if response.status_code == 201:
                entry = str(response.json()["id"])
                replayed = (response.headers or {}).get("Idempotent-Replayed") == "true"
                if replay_of:
                    return "201 replayed, same entry" if replayed and entry == replay_of else None
                self.ledger_keys.append((key, client_id, body, entry))
                del self.ledger_keys[:-20]
                return "201 posted"
            if response.status_code == 409 and not replay_of:
                code = response.json().get("code")
                if code == "idempotency_in_progress":
                    return "409 idempotency in progress (expected)"
                if code == "conflict":  # not enough credit, over the limit, a closed account
                    return "409 refused by a balance rule (expected)"
                return None  # any other 409 is a bug
            return None

        self.api(
            "POST",
            f"/customers/{client_id}/ledger/entries",
            name="api: replay ledger entry" if replay_of else "api: post ledger entry",
            judge=judge,
            headers={"Idempotency-Key": key, "Content-Type": "application/json"},
            data=body,
        )


class StaffUser(SignedIn):
    abstract = True
    wait_time = between(1, 4)
    role = "support"

    def on_start(self) -> None:
        super().on_start()
        people = [p for p in fixture()["staff"] if p["role"] == self.role]
        me = people[next(_next[self.role]) % len(people)]
        self.signed_in = self.staff_sign_in(me["email"], me["totp_secret"])
        self.terms = fixture()["search_terms"]

    def staff_sign_in(self, email: str, secret: str) -> bool:
        target = self.sign_in(email, fixture()["password"])
        if target is None or "/2fa/authenticate" not in target:
            return False
        for attempt in range(3):
            response, outcome = self.call(
                "GET", target, name="sign in: 2FA form", judge=page_ok('name="code"')
            )
            form = form_to(response.text or "", "/2fa/authenticate") if outcome == "200" else None
            if form is None:
                continue

            def judge(response: Any, last: bool = attempt == 2) -> str | None:
                if response.status_code == 302:
                    return "302 signed in"
                if response.status_code == 200 and not last:
                    # A code this person already used (another simulated session of the
                    # same sign-in): the authenticator shows the next one after a wait.
                    return "200 code refused, wait for the next (expected)"
                return None

            response, outcome = self.call(
                "POST",
                target,
                name="sign in: 2FA code",
                judge=judge,
                data=form.data(code=totp(secret)),
            )
            if outcome and outcome.startswith("302"):
                return True
            time.sleep(TOTP_PERIOD - time.time() % TOTP_PERIOD + 0.5)
        return False

    @task(5)
    def search(self) -> None:
        if not self.signed_in:
            return
        term = self.rng.choice(self.terms)
        response, outcome = self.call(
            "GET",
            f"/staff/search/?q={quote(term['q'])}",
            name=f"staff: search ({term['kind']})",
            judge=page_ok(),
            headers={"HX-Request": "true"},
        )
        numbers = (
            re.findall(r'href="/staff/customers/(\d+)/"', response.text or "") if outcome else []
        )
        if not numbers:
            return
        time.sleep(self.rng.uniform(0.3, 1.5))
        number = self.rng.choice(numbers[:5])
        self.call("GET", f"/staff/customers/{number}/", name="staff: customer 360", judge=page_ok())
        if self.rng.random() < 0.2:
            self.call(
                "GET",
                f"/staff/customers/{number}/activity/",
                name="staff: customer activity",
                judge=page_ok(),
            )

    @task(1)
    def queue(self) -> None:
        if self.signed_in:
            self.call("GET", "/staff/requests/", name="staff: request queue", judge=page_ok())


class SupportStaff(StaffUser):
    weight = 1
    role = "support"


class ManagerStaff(StaffUser):
    weight = 1
    role = "manager"

    @task(4)
    def decide(self) -> None:
        """Open the queue, one open request, approve it (or reject it with a reason)."""
        if not self.signed_in:
            return
        response, outcome = self.call(
            "GET", "/staff/requests/?status=open", name="staff: request queue", judge=page_ok()
        )
        numbers = (
            re.findall(r'href="/staff/requests/(\d+)/"', response.text or "") if outcome else []
        )
        if not numbers:
            return
        number = self.rng.choice(numbers[:10])
        response, outcome = self.call(
            "GET", f"/staff/requests/{number}/", name="staff: request", judge=page_ok()
        )
        if outcome != "200":
            return
        text = response.text or ""
        approve = form_to(text, "/approve/")
        reject = form_to(text, "/reject/")
        if approve is None or reject is None:  # decided meanwhile: nothing to do
            return
        time.sleep(self.rng.uniform(0.5, 2.0))  # reading the comparison

        def judge(response: Any) -> str | None:
            if response.status_code == 302:
                return "302 decided"
            if response.status_code == 409:
                return "409 decided by someone else or section moved (expected)"
            return None

        if self.rng.random() < 0.8:
            self.call(
                "POST",
                approve.action,
                name="staff: approve request",
                judge=judge,
                data=approve.data(),
            )
        else:
            self.call(
                "POST",
                reject.action,
                name="staff: reject request",
                judge=judge,
                data=reject.data(reason="Please send the registration certificate."),
            )
