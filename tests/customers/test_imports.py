"""Customer import from CSV (customers/imports.py): the same rules as create_customer,
every problem by line and column, duplicates in the file and against the database, all or
nothing, what is written (Activity, events with their sequence numbers, search), limits,
who may import, the management commands, and a query count that does not grow per row.
"""

from __future__ import annotations

import csv
import io
import json
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from clientdesk.audit.models import Activity
from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.core.models import Counter
from clientdesk.customers import actions, contact_forms, imports, notes
from clientdesk.customers.actions import NewOwner, create_customer
from clientdesk.customers.imports import COLUMN_NAMES, ImportResult, import_customers
from clientdesk.customers.models import Contact, Customer
from clientdesk.customers.policy import Section
from clientdesk.customers.search import search_customers
from clientdesk.customers.sections import SECTION_FORMS
from clientdesk.customers.trail import customer_trail
from clientdesk.demo.import_csv import make_import_csv
from clientdesk.events.feed import relay
from clientdesk.events.models import CustomerStream, Event
from tests import factories
from tests.conftest import World

pytestmark = pytest.mark.django_db


def manager(world: World) -> Actor:
    return Actor(world.users["staff_manager"], Source.STAFF)


def row(n: int = 1, **values: str) -> dict[str, str]:
    """A valid Malaysian business, unique by ``n``."""
    base = {
        "kind": "business",
        "name": f"Maju Digital {n} Sdn Bhd",
        "country": "MY",
        "registration_number": f"2020010{n:05d}",
        "tin": f"C25845{n:05d}",
        "owner_first_name": "Aisha",
        "owner_last_name": "Rahman",
        "owner_email": f"aisha{n}@maju.example",
    }
    return base | values


def csv_bytes(
    rows: list[dict[str, str]],
    *,
    header: list[str] | None = None,
    delimiter: str = ",",
    bom: bool = False,
) -> bytes:
    columns = header or list(COLUMN_NAMES)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(columns)
    for values in rows:
        writer.writerow([values.get(name, "") for name in columns])
    return ("\ufeff" if bom else "").encode() + out.getvalue().encode()


def run(actor: Actor, data: bytes | str, *, dry_run: bool = False) -> ImportResult:
    source = io.StringIO(data) if isinstance(data, str) else io.BytesIO(data)
    return import_customers(actor=actor, source=source, dry_run=dry_run, file_name="c.csv")


def problems(result: ImportResult) -> list[str]:
    return [str(problem) for problem in result.problems]


# --- the same rules as create_customer -----------------------------------------------------

FORM_KEYS = {
    "display_name": "name",
    "legal_name": "name",
    "legal_line1": "address_line1",
    "legal_line2": "address_line2",
    "legal_city": "city",
    "legal_postcode": "postcode",
    "legal_state": "state",
}


def by_forms(cells: dict[str, str]) -> tuple[dict[str, Any] | None, set[str]]:
    """A row checked the slow way: create_customer's own validation (the profile's section
    forms and the contact form), with the profile's forms for the phone and address."""
    errors: set[str] = set()
    kind = cells["kind"].lower() or "business"
    country = cells["country"].upper()
    values: dict[str, Any] = {}
    try:
        values = actions._validated_new_customer(
            display_name=cells["name"],
            kind=kind,
            country=country,
            currency=cells["currency"].upper() or None,
            timezone=cells["timezone"] or None,
            language=cells["language"].lower() or "en",
            pricing_model=cells["pricing_model"].lower() or "standard",
            price_adjustment_percent=cells["price_adjustment_percent"] or None,
            billing_mode=cells["billing_mode"].lower() or "prepaid",
            credit_limit=cells["credit_limit"] or None,
            registration_number=cells["registration_number"],
            tin=cells["tin"],
            owner=NewOwner(
                cells["owner_first_name"], cells["owner_last_name"], cells["owner_email"]
            ),
        )
    except DomainError as error:
        errors |= {FORM_KEYS.get(name, name) for name in error.errors}
    draft = Customer(kind=kind, country=country)
    phone_form = SECTION_FORMS[Section.CONTACT](
        data={"phone": cells["phone"]}, customer=draft, fields=["phone"]
    )
    if phone_form.is_valid():
        values["phone"] = phone_form.cleaned_data["phone"]
    else:
        errors.add("phone")
    address = {
        f"legal_{part}": cells[column]
        for part, column in (
            ("line1", "address_line1"),
            ("line2", "address_line2"),
            ("city", "city"),
            ("postcode", "postcode"),
            ("state", "state"),
        )
    }
    if any(address.values()):
        legal = SECTION_FORMS[Section.LEGAL](
            data={**address, "legal_name": cells["name"], "country": country},
            customer=draft,
            fields=[*address, "legal_name", "country"],
        )
        if legal.is_valid():
            values.update({name: legal.cleaned_data[name] for name in address})
        else:
            errors |= {FORM_KEYS.get(name, name) for name in legal.errors}
    else:
        values.update(dict.fromkeys(address, ""))
    try:
        owner_phone = contact_forms.validated(
            {"phone": cells["owner_phone"]}, customer=draft, fields=["phone"]
        )["phone"]
    except DomainError:
        errors.add("owner_phone")
    if errors:
        return None, errors
    owner = values.pop("owner")
    return {
        **values,
        "owner": (owner["first_name"], owner["last_name"], owner["email"], owner_phone),
    }, set()


def by_import(cells: dict[str, str]) -> tuple[dict[str, Any] | None, set[str]]:
    found: list[tuple[int, str, str, str]] = []
    checked, _ = imports._RowChecker().check(2, cells.__getitem__, found)
    if checked is None:
        return None, {column for _, column, _, _ in found}
    values = dict(zip(imports.CUSTOMER_FIELDS, checked.customer, strict=True))
    return {**values, "owner": checked.owner}, set()


VARIATIONS: dict[str, list[str]] = {
    "kind": ["", "Individual", "company"],
    "name": ["  Café Ünïcode Sdn Bhd ", "陈氏贸易", "x" * 201, "bad\u202ename", "tab\there", ""],
    "country": ["sg", "ZZ", "", "FR", "AQ", "AU"],
    "currency": ["usd", "XX1", "EUR"],
    "timezone": ["Asia/Singapore", "Mars/Olympus", "asia/singapore"],
    "language": ["MS", "zh-hans", "xx"],
    "pricing_model": ["custom", "CUSTOM", "standard", "flat"],
    "price_adjustment_percent": ["-10", "7.5", "abc", "600", "12.345", "-100", "1e1"],
    "billing_mode": ["postpaid", "Postpaid", "credit"],
    "credit_limit": ["5000", "-1", "1e3", "12345678901234", "0.5", "NaN"],
    "registration_number": ["123456-a", "2020 0101 2345", "202099012345", "bad", "JM0123456-T"],
    "tin": ["c2584563200", "IG11500200", "C 2584 563200", "X1", "C" + "1" * 30],
    "phone": ["03-2710 2000", "+6591234567", "12", "0123456789", "＋60 12-345 6789"],
    "address_line1": ["Level 12, Menara Maju", "x" * 201],
    "city": ["Kuala Lumpur"],
    "postcode": ["50450", "5045", "ABC12"],
    "state": ["Selangor", "MY-14", "kuala lumpur", "Narnia"],
    "owner_first_name": ["", "Ａｌｉ", "Zoë", "y" * 101],
    "owner_last_name": ["", "bin Abdullah", "z" * 101],
    "owner_email": ["Aisha@Example.COM", "bad", "ﬀ@example.com", "a" * 250 + "@x.com", ""],
    "owner_phone": ["0123456789", "abc", "+44 20 7946 0958"],
}


def variations() -> list[dict[str, str]]:
    base = dict.fromkeys(COLUMN_NAMES, "") | row(7)
    cases = [base]
    for column, values in VARIATIONS.items():
        cases += [base | {column: value} for value in values]
    # Combinations that interact: pricing × percent, billing × limit, kind × TIN, country ×
    # registration number, phone and address.
    cases += [
        base | {"pricing_model": "custom"},
        base | {"pricing_model": "standard", "price_adjustment_percent": "5"},
        base | {"billing_mode": "prepaid", "credit_limit": "100"},
        base | {"kind": "individual", "tin": "IG11500200", "registration_number": ""},
        base | {"kind": "individual", "tin": "C2584563200"},
        base | {"country": "SG", "registration_number": "201912345R", "tin": ""},
        base | {"country": "SG", "registration_number": "202001012345"},
        base | {"country": "SG", "phone": "6123 4567", "owner_phone": "9123 4567"},
        base | {"city": "Kuala Lumpur", "postcode": "50450", "address_line1": "", "state": ""},
        base
        | {
            "address_line1": "1 Raffles Place",
            "city": "Singapore",
            "postcode": "048616",
            "country": "SG",
            "registration_number": "",
        },
        base | {"address_line1": "1 Jalan", "city": "Ipoh", "postcode": "30000", "state": ""},
        base | {"address_line2": "Block B"},
        base | {"country": "GB", "currency": "", "tin": "", "registration_number": "12345678"},
        base | {"country": "AQ", "currency": "USD", "timezone": "Antarctica/Troll"},
    ]
    return cases


@pytest.mark.parametrize("cells", variations(), ids=lambda c: repr(c)[-60:])
def test_a_row_is_checked_as_create_customer_checks_it(cells: dict[str, str]) -> None:
    """Valid for one, valid for the other, with the same stored values; refused, on the
    same columns (the import may report fewer: no knock-on "required" after a bad country)."""
    expected, expected_errors = by_forms(cells)
    got, got_errors = by_import(cells)
    assert (got is None) == (expected is None), (got_errors, expected_errors)
    if expected is not None:
        assert got == expected
    else:
        assert got_errors
        assert got_errors <= expected_errors


def test_the_generated_bench_file_is_checked_as_create_customer_checks_it(
    tmp_path: Path,
) -> None:
    path = make_import_csv(tmp_path / "c.csv", 300, seed=3)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for cells in csv.DictReader(handle):
            expected, errors = by_forms(cells)
            assert errors == set()
            assert by_import(cells) == (expected, set())


# --- problems by line and column ----------------------------------------------------------


def test_every_problem_is_reported_with_its_line_and_column(world: World) -> None:
    data = csv_bytes(
        [
            row(1),
            row(2, owner_email="not-an-email", tin="X1"),
            row(3),
            row(4, country="ZZ", kind="company", name=""),
        ]
    )
    result = run(manager(world), data)
    assert not result.ok
    assert result.imported == 0
    assert result.rows == 4
    assert result.rows_with_problems == 2
    assert problems(result) == [
        "line 3, tin: Enter the LHDN tax identification number (TIN): a prefix and digits, "
        "such as IG11500200 for an individual or C2584563200 for a company. (“X1”)",
        "line 3, owner_email: Enter a valid email address. (“not-an-email”)",
        "line 5, kind: Use business or individual. (“company”)",
        "line 5, name: Enter the organisation name.",
        "line 5, country: Not a country code: use the two-letter ISO code, such as MY or SG. "
        "(“ZZ”)",
    ]
    assert not Customer.objects.filter(display_name__startswith="Maju Digital").exists()


def test_a_quoted_line_break_keeps_the_line_numbers_of_the_file(world: World) -> None:
    data = csv_bytes([row(1, address_line2="Block B\nLevel 3", city="Ipoh"), row(2, tin="X")])
    result = run(manager(world), data, dry_run=True)
    assert [(p.line, p.column) for p in result.problems] == [
        (2, "address_line1"),
        (2, "address_line2"),  # a line break inside a value: refused, as in the profile
        (2, "postcode"),
        (2, "state"),
        (4, "tin"),  # the next record starts on line 4
    ]


def test_the_list_of_problems_is_capped_but_counted(world: World) -> None:
    data = csv_bytes([row(n, owner_email="bad", tin="bad") for n in range(1, 151)])
    result = run(manager(world), data, dry_run=True)
    assert result.problem_count == 300
    assert len(result.problems) == imports.PROBLEMS_SHOWN
    assert result.more_problems == 100
    assert result.rows_with_problems == 150
    assert result.problems[0].line == 2
    assert result.problems[-1].line == 101


def test_unknown_missing_and_repeated_columns_are_refused(world: World) -> None:
    data = b"Name,Country,owner_first_name,Owner Email,owner_email,Fax\nA,MY,Ali,a@x.example,,1\n"
    result = run(manager(world), data)
    assert problems(result) == [
        "line 1: The column owner_email appears twice.",
        "line 1: Unknown column “fax”. The columns are: " + ", ".join(COLUMN_NAMES) + ".",
    ]
    result = run(manager(world), b"name,owner_email\nA,a@x.example\n")
    assert problems(result) == ["line 1: Missing required columns country, owner_first_name."]
    assert run(manager(world), b"").problems[0].message.startswith("The file is empty")
    assert run(manager(world), b"name,country,owner_first_name,owner_email\n").problems[
        0
    ].message == ("The file has a header but no customers.")


def test_a_line_with_more_values_than_columns_is_refused(world: World) -> None:
    header = ["name", "country", "owner_first_name", "owner_email"]
    data = b"name,country,owner_first_name,owner_email\nA Sdn Bhd,MY,Ali,a@x.example,extra\n"
    result = run(manager(world), data)
    assert problems(result) == ["line 2: This line has 5 values; the header has 4 columns."]
    # A short line is fine: the missing cells are blank (here a required one).
    result = run(manager(world), csv_bytes([row(1)], header=header)[:-2] + b"\r\nB,MY,Bo\r\n")
    assert problems(result) == ["line 3, owner_email: Enter the owner's email."]


def test_echoed_values_cannot_run_as_spreadsheet_formulas(world: World) -> None:
    data = csv_bytes([row(1, country='=HYPERLINK("http://x")', currency="+SUM(A1)")])
    result = run(manager(world), data, dry_run=True)
    messages = problems(result)
    assert '(“\'=HYPERLINK("http://x")”)' in messages[0]
    assert "(“'+SUM(A1)”)" in messages[1]


# --- duplicates ------------------------------------------------------------------------------


def test_duplicates_inside_the_file_are_refused(world: World) -> None:
    data = csv_bytes(
        [
            row(1),
            row(2, owner_email="AISHA1@maju.example"),  # the same address, other case
            row(3, registration_number="2020 0100 0001"),  # the same number, other spelling
            row(4, tin="c2584500001"),
        ]
    )
    result = run(manager(world), data)
    assert problems(result) == [
        "line 3, owner_email: The same email as line 2.",
        "line 4, registration_number: The same registration number as line 2.",
        "line 5, tin: The same TIN as line 2.",
    ]
    assert result.imported == 0


def test_duplicates_of_customers_already_in_the_database_are_refused(world: World) -> None:
    existing = create_customer(
        display_name="Old Sdn Bhd",
        registration_number="202001099999",
        tin="C2584599999",
        actor=Actor.system(),
    )
    owner_email = world.users["a_owner"].email
    data = csv_bytes(
        [
            row(1, owner_email=owner_email.upper()),
            row(2, registration_number="202001099999"),
            row(3, tin="C2584599999"),
            row(4),
        ]
    )
    result = run(manager(world), data)
    assert problems(result) == [
        f"line 2, owner_email: Customer {world.customer_a.client_id} already has a contact "
        "with this email.",
        f"line 3, registration_number: Customer {existing.client_id} already has this "
        "registration number.",
        f"line 4, tin: Customer {existing.client_id} already has this TIN.",
    ]
    assert not Customer.objects.filter(display_name__startswith="Maju Digital").exists()


def test_a_customer_added_while_the_file_is_checked_stops_the_import(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check before the write happens again inside the import's transaction."""
    reserve = Counter.reserve
    added: list[Customer] = []

    def someone_adds_a_customer_first(name: str, count: int, *, start: int) -> int:
        if name == "customer_number" and not added:
            added.append(
                create_customer(
                    display_name="Quick Sdn Bhd", tin="C2584500002", actor=Actor.system()
                )
            )
        return reserve(name, count, start=start)

    monkeypatch.setattr(Counter, "reserve", someone_adds_a_customer_first)
    before = (Customer.objects.count(), Event.objects.count(), Activity.objects.count())
    result = run(manager(world), csv_bytes([row(1), row(2)]))
    assert problems(result) == [f"line 3, tin: Customer {added[0].client_id} already has this TIN."]
    assert result.imported == 0
    # Only the other customer is new (its events and activity); nothing of the file.
    assert Customer.objects.count() == before[0] + 1
    assert not Customer.objects.filter(display_name__startswith="Maju Digital").exists()
    assert not Activity.objects.filter(verb=imports.IMPORT_VERB).exists()


# --- all or nothing, and what is written --------------------------------------------------------


def test_one_bad_row_and_nothing_is_written(world: World) -> None:
    before = (
        Customer.objects.count(),
        Contact.objects.count(),
        Event.objects.count(),
        Activity.objects.count(),
    )
    rows = [row(n) for n in range(1, 50)] + [row(50, country="XX")]
    result = run(manager(world), csv_bytes(rows))
    assert result.problem_count == 1
    after = (
        Customer.objects.count(),
        Contact.objects.count(),
        Event.objects.count(),
        Activity.objects.count(),
    )
    assert after == before


def test_a_dry_run_writes_nothing(world: World) -> None:
    before = Customer.objects.count()
    result = run(manager(world), csv_bytes([row(1), row(2)]), dry_run=True)
    assert result.ok
    assert result.rows == 2
    assert result.imported == 0
    assert result.preview[0]["name"] == "Maju Digital 1 Sdn Bhd"
    assert Customer.objects.count() == before


def test_imported_customers_are_written_as_create_customer_writes_them(world: World) -> None:
    data = csv_bytes(
        [
            row(
                1,
                phone="03-2710 2000",
                address_line1="Level 12, Menara Maju",
                city="Kuala Lumpur",
                postcode="50450",
                state="Kuala Lumpur",
                billing_mode="postpaid",
                credit_limit="5000",
                pricing_model="custom",
                price_adjustment_percent="-10",
                owner_phone="012-345 6789",
            ),
            row(
                2, kind="individual", name="Tan Wei Ming", registration_number="", tin="IG11500200"
            ),
        ]
    )
    result = run(manager(world), data)
    assert result.ok, problems(result)
    assert result.imported == 2
    first = Customer.objects.get(number=int(result.first_client_id[2:]))
    assert (first.display_name, first.legal_name, first.full_name) == (
        "Maju Digital 1 Sdn Bhd",
        "Maju Digital 1 Sdn Bhd",
        "",
    )
    assert (first.currency, first.timezone, first.language) == ("MYR", "Asia/Kuala_Lumpur", "en")
    assert first.credit_limit == Decimal("5000.00")
    assert first.price_adjustment_percent == Decimal("-10.00")
    assert (first.phone, first.legal_state, first.legal_postcode) == (
        "+60327102000",
        "MY-14",
        "50450",
    )
    assert first.version == 1
    assert first.billing_follows_legal
    owner = first.contacts.get()
    assert (owner.role, owner.email, owner.phone) == (
        "owner",
        "aisha1@maju.example",
        "+60123456789",
    )
    assert not owner.portal_access
    assert owner.user_id is None
    assert owner.notification_topics == ["account"]
    second = Customer.objects.get(number=first.number + 1)
    assert (second.kind, second.full_name, second.tin) == (
        "individual",
        "Tan Wei Ming",
        "IG11500200",
    )

    events = list(Event.objects.filter(customer=first).order_by("sequence"))
    assert [(e.type, e.sequence) for e in events] == [
        ("customer.created", 1),
        ("contact.created", 2),
    ]
    assert events[0].data == {
        "number": first.client_id,
        "display_name": "Maju Digital 1 Sdn Bhd",
        "kind": "business",
        "pricing_model": "custom",
        "price_adjustment_percent": "-10.00",
        "billing_mode": "postpaid",
        "credit_limit": "5000.00",
        "country": "MY",
        "currency": "MYR",
        "timezone": "Asia/Kuala_Lumpur",
        "language": "en",
        "registration_number": "202001000001",
        "tin": "C2584500001",
        "phone": "+60327102000",
        "legal_line1": "Level 12, Menara Maju",
        "legal_city": "Kuala Lumpur",
        "legal_postcode": "50450",
        "legal_state": "MY-14",
    }
    from clientdesk.customers.resources import contact_resource

    assert events[1].data == contact_resource(owner)
    user = world.users["staff_manager"]
    assert events[0].actor == {"user_id": user.pk, "impersonator_id": None, "source": "staff"}
    assert CustomerStream.objects.get(customer=first).last_sequence == 2

    # The next event of an imported customer continues its numbering.
    notes.add_note(
        first, kind="general", body="Welcome call", reason="Onboarding", actor=manager(world)
    )
    assert Event.objects.get(customer=first, type="note.added").sequence == 3

    trail = customer_trail(first, for_customer=True).entries
    assert [entry.verb for entry in trail] == ["contact.created", "customer.created"]
    assert trail[1].sentence == f"{user} (staff) opened the account"
    assert trail[1].reason == "Imported from c.csv"
    assert trail[0].sentence.endswith("added the contact Aisha Rahman")

    summary = Activity.objects.get(verb=imports.IMPORT_VERB)
    assert summary.staff_only
    assert summary.customer_id is None
    assert summary.actor_id == user.pk
    assert summary.changes["file"] == [None, "c.csv"]
    assert summary.changes["rows"] == [None, 2]
    assert summary.changes["first_client_id"] == [None, first.client_id]
    assert summary.changes["last_client_id"] == [None, second.client_id]


def test_client_ids_come_from_the_counter_and_are_never_reused(world: World) -> None:
    before = create_customer(display_name="Before Sdn Bhd", actor=Actor.system())
    result = run(manager(world), csv_bytes([row(1), row(2), row(3)]))
    after = create_customer(display_name="After Sdn Bhd", actor=Actor.system())
    assert result.first_client_id == f"C-{before.number + 1}"
    assert result.last_client_id == f"C-{before.number + 3}"
    assert after.number == before.number + 4


def test_events_are_relayed_in_each_customers_order(world: World) -> None:
    relay(batch=1000)  # what the world fixture published
    result = run(manager(world), csv_bytes([row(n) for n in range(1, 6)]))
    assert result.ok
    relay(batch=1000)
    order = list(
        Event.objects.filter(customer__number__gte=int(result.first_client_id[2:]))
        .order_by("position")
        .values_list("customer__number", "sequence")
    )
    first = int(result.first_client_id[2:])
    assert order == [(first + n, sequence) for n in range(5) for sequence in (1, 2)]


def test_unicode_names_with_a_byte_order_mark_and_semicolons(world: World) -> None:
    data = csv_bytes(
        [
            row(1, name="陈氏贸易 Sdn Bhd", owner_first_name="伟明", owner_last_name="陈"),
            row(2, name="Crème Brûlée Bakery Sdn Bhd", owner_first_name="Zoë"),
        ],
        delimiter=";",
        bom=True,
    )
    result = run(manager(world), data)
    assert result.ok, problems(result)
    assert Customer.objects.filter(display_name="陈氏贸易 Sdn Bhd").exists()
    hits = search_customers("Brûlée").hits
    assert [hit.customer.display_name for hit in hits] == ["Crème Brûlée Bakery Sdn Bhd"]
    assert [hit.customer.display_name for hit in search_customers("陈氏贸易").hits] == [
        "陈氏贸易 Sdn Bhd"
    ]


def test_search_finds_imported_customers_and_owners(world: World) -> None:
    result = run(manager(world), csv_bytes([row(1, owner_first_name="Zulkifli"), row(2)]))
    assert result.ok
    assert [h.customer.client_id for h in search_customers("Maju Digital 1").hits] == [
        result.first_client_id
    ]
    assert [h.customer.client_id for h in search_customers("Zulkifli Rahman").hits] == [
        result.first_client_id
    ]
    # Rows written after the import are indexed by the triggers again.
    later = create_customer(display_name="Kedai Selepas Import", actor=Actor.system())
    assert [h.customer for h in search_customers("Selepas Import").hits] == [later]


@pytest.mark.sqlite_only
def test_sqlite_search_triggers_are_back_after_an_import(world: World) -> None:
    def triggers() -> set[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            return {name for (name,) in cursor.fetchall()}

    before = triggers()
    assert "customers_customer_search_ai" in before
    assert run(manager(world), csv_bytes([row(1)])).ok
    assert triggers() == before
    run(manager(world), csv_bytes([row(2), row(3, tin="X")]))
    assert triggers() == before


def test_the_number_of_queries_does_not_grow_with_the_rows(world: World) -> None:
    """Per row nothing; per batch of 2 000 rows a fixed few; per 900 values one lookup."""
    actor = manager(world)
    assert run(actor, csv_bytes([row(2000)])).ok  # content types are cached after this
    with CaptureQueriesContext(connection) as few:
        assert run(actor, csv_bytes([row(n) for n in range(1, 11)])).ok
    with CaptureQueriesContext(connection) as many:
        assert run(actor, csv_bytes([row(n) for n in range(11, 1011)])).ok
    # 1 000 rows: on SQLite (900 values per lookup) one more lookup of each of the three
    # keys, before and in the transaction; PostgreSQL looks up 10 000 at once.
    extra_chunks = math.ceil(1000 / imports.lookup_chunk()) - 1
    assert len(many.captured_queries) == len(few.captured_queries) + 6 * extra_chunks
    assert len(few.captured_queries) <= 50  # savepoints, counters, triggers, lookups, writes


# --- limits and the file ------------------------------------------------------------------------


def test_too_many_rows_or_bytes_are_refused(world: World) -> None:
    with override_settings(CLIENTDESK_IMPORT_MAX_ROWS=3):
        result = run(manager(world), csv_bytes([row(n) for n in range(1, 5)]))
    assert problems(result) == [
        "line 5: The file has more than 3 rows: split it into smaller files."
    ]
    with override_settings(CLIENTDESK_IMPORT_MAX_BYTES=200):
        result = run(manager(world), csv_bytes([row(n) for n in range(1, 5)]))
    assert problems(result) == [
        "file: The file is larger than 200 bytes: split it into smaller files."
    ]
    assert result.imported == 0


def test_a_file_that_is_not_utf8_is_refused_with_the_line(world: World) -> None:
    data = csv_bytes([row(1), row(2, name="Café Sdn Bhd")]).decode().encode("latin-1")
    result = run(manager(world), data)
    assert result.problems[0].line == 3
    assert "not UTF-8" in result.problems[0].message


def test_a_huge_cell_is_a_problem_not_a_crash(world: World) -> None:
    data = csv_bytes([row(1, name="x" * 300_000)])
    result = run(manager(world), data)
    assert not result.ok
    assert "cannot be read as CSV" in result.problems[0].message


def test_the_template_file_imports_as_it_is(world: World) -> None:
    result = run(manager(world), imports.template_csv())
    assert result.ok, problems(result)
    assert result.rows == 2


# --- who may import ----------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["staff_support", "staff_billing", "a_owner"])
def test_only_managers_may_import(world: World, persona: str) -> None:
    source = Source.PORTAL if persona == "a_owner" else Source.STAFF
    with pytest.raises(DomainError) as refused:
        run(Actor(world.users[persona], source), csv_bytes([row(1)]))
    assert refused.value.code == ErrorCode.NOT_ALLOWED
    assert not Customer.objects.filter(display_name__startswith="Maju").exists()


def test_the_system_and_a_manager_through_the_portal_may_not_import(world: World) -> None:
    for actor in (Actor.system(), Actor(world.users["staff_manager"], Source.PORTAL)):
        with pytest.raises(DomainError):
            run(actor, csv_bytes([row(1)]))


def test_a_superuser_may_import(world: World) -> None:
    result = run(Actor(world.users["superuser"], Source.STAFF), csv_bytes([row(1)]))
    assert result.imported == 1


# --- the management commands -------------------------------------------------------------------


def test_the_import_command(world: World, tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_bytes(csv_bytes([row(1), row(2, owner_email="nope")]))
    email = world.users["staff_manager"].email
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 problem in 1 of 2 rows: nothing was imported"):
        call_command("import_customers", str(path), "--actor", email, stdout=out)
    assert "line 3, owner_email: Enter a valid email address. (“nope”)" in out.getvalue()

    path.write_bytes(csv_bytes([row(1), row(2)]))
    out = io.StringIO()
    call_command("import_customers", str(path), "--actor", email, "--dry-run", stdout=out)
    assert "2 customers ready to import" in out.getvalue()
    assert not Customer.objects.filter(display_name__startswith="Maju").exists()
    out = io.StringIO()
    call_command("import_customers", str(path), "--actor", email, stdout=out)
    assert out.getvalue().startswith("Imported 2 customers in ")
    assert Customer.objects.filter(display_name__startswith="Maju").count() == 2

    with pytest.raises(CommandError, match="Only managers can import customers"):
        call_command("import_customers", str(path), "--actor", world.users["staff_support"].email)
    with pytest.raises(CommandError, match="No user"):
        call_command("import_customers", str(path), "--actor", "nobody@example.org")


def test_the_bench_command_reports_rates(db: None, tmp_path: Path) -> None:
    factories.make_staff("manager")  # the group exists; the command makes its own manager
    report_path = tmp_path / "bench.json"
    out = io.StringIO()
    call_command("bench_import", "--rows", "40", "--json", str(report_path), stdout=out)
    report = json.loads(report_path.read_text())
    assert report["rows"] == 40
    assert Customer.objects.count() == 40
    assert report["customers_per_second"] > 0
    assert set(report) >= {"seconds", "validate_seconds", "write_seconds", "sql_statements"}
    assert "imported 40 customers" in out.getvalue()
