# ruff: noqa: S608 -- the SQL is assembled from model metadata and search_sql constants only;
# every value from the file is a bound parameter.
"""Importing customers from a CSV file (providers moving from WHMCS, FOSSBilling or a
spreadsheet): each row opens one account with its owner contact.

``import_customers`` reads the whole file first and reports every problem with its line and
column ("line 17, owner_email: …"): values the profile would refuse, the same owner email,
registration number or TIN twice in the file, or already on a customer in the database.
Any problem and nothing is written (all or nothing); ``dry_run`` only checks.

The rules are the ones ``actions.create_customer`` applies, taken from the same places: the
profile section forms' own field objects (lengths, numbers, text cleaning), the normalisers
in ``validators`` (registration numbers, TINs, phones, postcodes, states) and the reference
lists (countries, currencies, time zones, languages). A form per row would cost about
1.6 ms; calling the fields and normalisers directly costs a few dozen microseconds, which is
what lets 100 000 rows import in well under a minute. ``tests/customers/test_imports.py``
checks row by row that this validator and ``create_customer``'s agree.

The write is one transaction, in batches: customers, owner contacts (no portal access: staff
switch it on per contact, which sends the invitation), and per customer what
``create_customer`` records — Activity ``customer.created`` and ``contact.created`` (reason
"Imported from <file>") and the outbox events ``customer.created`` (sequence 1) and
``contact.created`` (sequence 2) in the same shapes — plus one staff-only Activity row for
the import itself (``customers.imported``). Rows go in with one ``executemany`` per batch
and table (``COPY`` on PostgreSQL), built from the models' own field preparation: Django's
``bulk_create`` spends ~150 µs per customer on per-object work. On SQLite the per-row
search triggers are replaced, inside the transaction, by one set-based statement per search
table over the new ids (the import holds SQLite's only write lock, so no other row can slip
past the index); PostgreSQL's indexes and triggers follow the rows by themselves.
"""

from __future__ import annotations

import csv
import hashlib
import io
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import IO, Any

from django import forms
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction
from django.utils import timezone
from django_countries import countries

from clientdesk.audit.models import Activity
from clientdesk.audit.record import record
from clientdesk.core.actor import Actor, Source
from clientdesk.core.bulk import BulkRows
from clientdesk.core.csv import neutralise
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.core.models import Counter
from clientdesk.events.models import CustomerStream, Event
from clientdesk.events.publish import actor_payload
from clientdesk.users.emails import normalize_email

from . import contact_forms, reference, search_sql, validators
from .actions import CENTS, FIRST_CUSTOMER_NUMBER
from .models import DEFAULT_TOPICS, Contact, Customer
from .policy import Section
from .roles import Role
from .sections import SECTION_FORMS

IMPORT_VERB = "customers.imported"
IMPORTERS = frozenset({"manager"})  # staff groups that may import (superusers too)
DEFAULT_MAX_ROWS = 200_000
# Through the staff page the import runs inside the request: 50 000 rows take ~30 s on
# PostgreSQL at a million customers (and hold SQLite's write lock ~10 s), inside gunicorn's
# 60 s timeout and SQLite's 20 s busy timeout. Larger files go through the command.
DEFAULT_WEB_MAX_ROWS = 50_000
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
PROBLEMS_SHOWN = 200  # the result lists this many; ``problem_count`` counts them all
PREVIEW_ROWS = 10
BATCH = 2000  # rows per INSERT batch
# Values per duplicate lookup in the database: SQLite binds each (``IN (?, ?, …)``, which
# its planner always answers from the index); PostgreSQL takes one array (``= ANY(%s)``),
# and large chunks, because for a few hundred values its planner may prefer reading the
# whole table once per query to probing the index.
LOOKUP_CHUNK = {"sqlite": 900, "postgresql": 10_000}
ANALYZE_AFTER = 10_000  # PostgreSQL: imports this large refresh the planner's statistics
VALUE_ECHO = 60  # characters of an offending value shown back
COLUMN_NUMBER_LIMIT = 100  # a header wider than this is not a customer file


def max_rows() -> int:
    return int(getattr(settings, "CLIENTDESK_IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS))


def web_max_rows() -> int:
    """Rows per file through the staff page (never more than the command's limit)."""
    web = int(getattr(settings, "CLIENTDESK_IMPORT_WEB_MAX_ROWS", DEFAULT_WEB_MAX_ROWS))
    return min(web, max_rows())


def max_bytes() -> int:
    return int(getattr(settings, "CLIENTDESK_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))


# --- the file format ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    help: str
    examples: tuple[str, str]
    required: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("kind", "business or individual; blank: business.", ("business", "individual")),
    Column(
        "name",
        "The registered name of the organisation, or an individual's full name. It becomes "
        "the legal name and the name the account is listed under.",
        ("Maju Digital Sdn Bhd", "Tan Wei Ming"),
        required=True,
    ),
    Column(
        "country",
        "Two-letter ISO code of the country of registration (MY, SG …); it decides the tax.",
        ("MY", "MY"),
        required=True,
    ),
    Column("currency", "ISO 4217 code; blank: the country's currency.", ("MYR", "")),
    Column("timezone", "IANA name such as Asia/Kuala_Lumpur; blank: the country's.", ("", "")),
    Column("language", "en, ms, zh-hans or ta; blank: en.", ("en", "")),
    Column("pricing_model", "standard or custom; blank: standard.", ("standard", "custom")),
    Column(
        "price_adjustment_percent",
        "Custom pricing only: −10 is a 10 % discount, 5 a 5 % markup.",
        ("", "-10"),
    ),
    Column("billing_mode", "prepaid or postpaid; blank: prepaid.", ("postpaid", "")),
    Column("credit_limit", "Postpaid only, such as 5000.00; blank: no limit.", ("5000.00", "")),
    Column(
        "registration_number",
        "SSM number (MY), UEN (SG) or the registry's number elsewhere. No other customer "
        "may have it.",
        ("202001012345", ""),
    ),
    Column(
        "tin",
        "LHDN tax identification number: IG… for individuals; C…, D…, E…, F…, J… and "
        "similar for businesses. No other customer may have it.",
        ("C2584563200", "IG11500200"),
    ),
    Column("phone", "The account's phone; +country code if abroad.", ("03-2710 2000", "")),
    Column(
        "address_line1",
        "Registered address. Once any address column is filled, line 1, city and postcode "
        "are needed (and the state where the country has states).",
        ("Level 12, Menara Maju", ""),
    ),
    Column("address_line2", "Registered address, second line.", ("Jalan Teknologi 3/9", "")),
    Column("city", "Registered address: city.", ("Kuala Lumpur", "")),
    Column("postcode", "Registered address: postcode.", ("50450", "")),
    Column("state", "Registered address: state as a code (MY-14) or a name.", ("MY-14", "")),
    Column("owner_first_name", "The owner (primary account holder).", ("Aisha", "Wei Ming"), True),
    Column("owner_last_name", "The owner's last name.", ("Rahman", "Tan")),
    Column(
        "owner_email",
        "The owner's email: the account's primary email. No contact of another customer, "
        "and no other row, may have it.",
        ("aisha@maju-digital.example", "weiming.tan@example.com"),
        required=True,
    ),
    Column("owner_phone", "The owner's phone; +country code if abroad.", ("+60123456789", "")),
)
COLUMN_NAMES = tuple(column.name for column in COLUMNS)
REQUIRED_COLUMNS = tuple(column.name for column in COLUMNS if column.required)
_COLUMN_ORDER = {name: index for index, name in enumerate(COLUMN_NAMES)}

# The customer's values in the order create_customer's ``values`` has them (so Activity and
# the event read the same), then the columns only the import fills.
CUSTOMER_FIELDS = (
    "display_name",
    "kind",
    "pricing_model",
    "price_adjustment_percent",
    "billing_mode",
    "credit_limit",
    "country",
    "currency",
    "timezone",
    "language",
    "registration_number",
    "tin",
    "phone",
    "legal_line1",
    "legal_line2",
    "legal_city",
    "legal_postcode",
    "legal_state",
)
OWNER_FIELDS = ("first_name", "last_name", "email", "phone")
ADDRESS_COLUMNS = {
    "address_line1": "legal_line1",
    "address_line2": "legal_line2",
    "city": "legal_city",
    "postcode": "legal_postcode",
    "state": "legal_state",
}


def template_csv() -> str:
    """The header and two example rows, as the staff page offers it for download."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMN_NAMES)
    for index in (0, 1):
        writer.writerow([column.examples[index] for column in COLUMNS])
    return out.getvalue()


# --- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """Something to fix before the file can be imported. ``line`` is the file's line (the
    header is line 1; 0: the file as a whole); ``column`` is blank for the whole row."""

    line: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        return (
            f"{where}, {self.column}: {self.message}" if self.column else f"{where}: {self.message}"
        )


@dataclass
class ImportResult:
    file_name: str
    dry_run: bool
    rows: int = 0  # data rows read (blank lines are skipped)
    problems: list[Problem] = field(default_factory=list)  # the first PROBLEMS_SHOWN
    problem_count: int = 0
    rows_with_problems: int = 0
    imported: int = 0
    first_client_id: str = ""
    last_client_id: str = ""
    import_number: int | None = None
    preview: list[dict[str, str]] = field(default_factory=list)
    validate_seconds: float = 0.0
    write_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    @property
    def more_problems(self) -> int:
        return self.problem_count - len(self.problems)

    @property
    def seconds(self) -> float:
        return self.validate_seconds + self.write_seconds


class _Problems:
    """Collects problems: counts them all, keeps the first ``PROBLEMS_SHOWN`` in line order."""

    def __init__(self) -> None:
        self.kept: list[Problem] = []
        self.count = 0
        self.lines: set[int] = set()

    def add(self, line: int, column: str, message: str, value: str = "") -> None:
        self.count += 1
        if line:
            self.lines.add(line)
        if len(self.kept) < PROBLEMS_SHOWN:
            self.kept.append(Problem(line, column, message + _echo(value)))

    def extend_sorted(self, found: list[tuple[int, str, str, str]]) -> None:
        for line, column, message, value in sorted(
            found, key=lambda p: (p[0], _COLUMN_ORDER.get(p[1], -1))
        ):
            self.add(line, column, message, value)


def _echo(value: str) -> str:
    """An offending value, shortened and made safe to paste into a spreadsheet."""
    if not value:
        return ""
    text = value if len(value) <= VALUE_ECHO else value[: VALUE_ECHO - 1] + "…"
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else "�" for ch in text)
    return f" (“{neutralise(text)}”)"


# --- who may import --------------------------------------------------------------------------


def check_may_import(actor: Actor) -> None:
    """Managers (and superusers) import customers, from the staff console or a command."""
    user = actor.user
    if actor.source == Source.STAFF and user is not None and user.is_active and user.is_staff:
        allowed = user.is_superuser or user.groups.filter(name__in=IMPORTERS).exists()
        if allowed:
            return
    raise DomainError(ErrorCode.NOT_ALLOWED, "Only managers can import customers.")


# --- reading the file ------------------------------------------------------------------------


def _header_name(cell: str) -> str:
    return "_".join(cell.strip().lower().replace("-", " ").split())


def _read_text(source: IO[bytes] | IO[str], problems: _Problems) -> str | None:
    limit = max_bytes()
    raw = source.read(limit + 1)
    if len(raw) > limit:
        problems.add(0, "", f"The file is larger than {_size(limit)}: split it into smaller files.")
        return None
    if isinstance(raw, str):
        return raw.removeprefix("\ufeff")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        problems.add(
            line,
            "",
            "The file is not UTF-8 text. Save it as “CSV UTF-8” (Excel) or choose UTF-8 "
            "when you export it.",
        )
        return None


def _size(count: int) -> str:
    if count >= 1024 * 1024:
        return f"{count / (1024 * 1024):.0f} MB"
    if count >= 1024:
        return f"{count / 1024:.0f} KB"
    return f"{count} bytes"


def _number(count: int) -> str:
    return f"{count:,}"


def _separator(first_line: str) -> str:
    """Comma, or semicolon when the header uses those (Excel in many European locales)."""
    return ";" if first_line.count(";") > first_line.count(",") else ","


@dataclass
class _Header:
    names: list[str]  # the known column name at each position


def _read_header(row: list[str], problems: _Problems) -> _Header | None:
    names = [_header_name(cell) for cell in row]
    if len(names) > COLUMN_NUMBER_LIMIT:
        problems.add(
            1,
            "",
            f"The header has {len(names)} columns; a customer file has at most {len(COLUMNS)}.",
        )
        return None
    ok = True
    seen: set[str] = set()
    for position, name in enumerate(names, start=1):
        if not name:
            problems.add(1, "", f"Column {position} has no name in the header.")
            ok = False
        elif name not in _COLUMN_ORDER:
            problems.add(
                1,
                "",
                f"Unknown column “{neutralise(name[:40])}”. The columns are: "
                + ", ".join(COLUMN_NAMES)
                + ".",
            )
            ok = False
        elif name in seen:
            problems.add(1, "", f"The column {name} appears twice.")
            ok = False
        seen.add(name)
    missing = [name for name in REQUIRED_COLUMNS if name not in seen]
    if missing:
        problems.add(
            1,
            "",
            "Missing required column"
            + ("s " if len(missing) > 1 else " ")
            + ", ".join(missing)
            + ".",
        )
        ok = False
    return _Header(names) if ok else None


def _records(text: str, problems: _Problems) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) of every record, the header first; blank lines are left out."""
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_separator(first_line))
    line = 1
    try:
        for cells in reader:
            if any(cells):
                yield line, cells
            line = reader.line_num + 1
    except csv.Error as error:
        problems.add(line, "", f"This line cannot be read as CSV ({error}).")


# --- checking a row --------------------------------------------------------------------------


def _messages(error: ValidationError) -> str:
    return " ".join(str(message) for message in error.messages)


@dataclass(slots=True)
class _Row:
    """One valid row: the customer's values (``CUSTOMER_FIELDS`` order, ``None``/"" when
    blank) and the owner's (``OWNER_FIELDS``)."""

    line: int
    customer: tuple[Any, ...]
    owner: tuple[str, ...]


def _fast_text(value: str) -> str | None:
    """``clean_text``'s result for plain printable ASCII (nothing to normalise or refuse),
    without its per-character loop; ``None`` for anything else."""
    if value.isascii() and value.isprintable():
        return value.strip()
    return None


class _RowChecker:
    """Checks rows with the rules ``create_customer`` applies (see the module docstring)."""

    def __init__(self) -> None:
        account = SECTION_FORMS[Section.ACCOUNT].base_fields
        self.percent: forms.Field = account["price_adjustment_percent"]
        self.credit_limit: forms.Field = account["credit_limit"]
        self.registration: forms.Field = SECTION_FORMS[Section.BUSINESS].base_fields[
            "registration_number"
        ]
        self.tin: forms.Field = SECTION_FORMS[Section.EINVOICE].base_fields["tin"]
        self.phone: forms.Field = SECTION_FORMS[Section.CONTACT].base_fields["phone"]
        legal = SECTION_FORMS[Section.LEGAL].base_fields
        self.address: dict[str, forms.Field] = {
            column: legal[name] for column, name in ADDRESS_COLUMNS.items()
        }
        owner = contact_forms.ContactForm.base_fields
        self.owner_first: forms.Field = owner["first_name"]
        self.owner_last: forms.Field = owner["last_name"]
        self.owner_email: forms.Field = owner["email"]
        self.owner_phone: forms.Field = owner["phone"]
        # Each allowed value maps to one shared string, so 100 000 rows hold one "MY",
        # not 100 000 copies of it.
        self.countries = {code: code for code, _ in countries}
        self.currencies = {code: code for code in reference.currency_codes()}
        self.timezones = {name: name for name in reference.timezone_names()}
        self.languages = {code: code for code, _ in reference.language_choices()}
        self.kinds = {value: value for value in Customer.Kind.values}
        self.pricing_models = {value: value for value in Customer.PricingModel.values}
        self.billing_modes = {value: value for value in Customer.BillingMode.values}

    def check(
        self, line: int, get: Callable[[str], str], found: list[tuple[int, str, str, str]]
    ) -> tuple[_Row | None, tuple[str, str, str]]:
        """The row's values, or ``None`` with its problems appended to ``found``; and its
        keys (owner email, registration number, TIN: stored spellings, blank if invalid)."""
        errors_before = len(found)

        def refuse(column: str, message: str, value: str = "") -> None:
            found.append((line, column, message, value))

        def text(column: str, form_field: forms.Field, value: str) -> str:
            fast = _fast_text(value)
            if fast is not None and (fast or not form_field.required):
                limit = getattr(form_field, "max_length", None)
                if limit is None or len(fast) <= limit:
                    return fast
            try:
                return str(form_field.clean(value))
            except ValidationError as error:
                refuse(column, _messages(error), value)
                return ""

        # name: what _validated_new_customer does with display_name
        raw_name = get("name")
        name = _fast_text(raw_name)
        if name is None:
            try:
                name = validators.clean_text(raw_name)
            except ValidationError as error:
                refuse("name", _messages(error), raw_name)
                name = None
        if name is not None:
            if not name:
                refuse("name", "Enter the organisation name.")
            elif len(name) > 200:
                refuse("name", "Ensure this value has at most 200 characters.", raw_name)

        kind = get("kind").lower() or Customer.Kind.BUSINESS
        kind_ok = kind in self.kinds
        if not kind_ok:
            refuse("kind", "Use business or individual.", get("kind"))

        pricing = get("pricing_model").lower() or Customer.PricingModel.STANDARD
        if pricing not in self.pricing_models:
            refuse("pricing_model", "Use standard or custom.", get("pricing_model"))
        percent = self._decimal("price_adjustment_percent", self.percent, get, refuse)
        if pricing != Customer.PricingModel.CUSTOM:
            percent = None
        elif not get("price_adjustment_percent"):
            refuse("price_adjustment_percent", "Custom pricing needs a percentage.")

        billing = get("billing_mode").lower() or Customer.BillingMode.PREPAID
        if billing not in self.billing_modes:
            refuse("billing_mode", "Use prepaid or postpaid.", get("billing_mode"))
        credit = self._decimal("credit_limit", self.credit_limit, get, refuse)
        if billing != Customer.BillingMode.POSTPAID:
            credit = None

        country = get("country").upper()
        if not country:
            refuse("country", "Enter the country as a two-letter ISO code, such as MY.")
        elif country not in self.countries:
            refuse(
                "country",
                "Not a country code: use the two-letter ISO code, such as MY or SG.",
                get("country"),
            )
        defaults = reference.defaults_for_country(country) or ("", "")
        country_ok = country in self.countries
        currency = get("currency").upper() or defaults[0]
        if not currency and country_ok:
            refuse(
                "currency",
                f"There is no default currency for {country}: enter one, such as USD.",
            )
        elif currency and currency not in self.currencies:
            refuse(
                "currency", "Not an ISO 4217 currency code (such as MYR or USD).", get("currency")
            )
        zone = get("timezone") or defaults[1]
        if not zone and country_ok:
            refuse(
                "timezone",
                f"There is no default time zone for {country}: enter one, such as Europe/London.",
            )
        elif zone and zone not in self.timezones:
            refuse(
                "timezone",
                "Not a time zone name: use one such as Asia/Kuala_Lumpur.",
                get("timezone"),
            )
        language = get("language").lower() or "en"
        if language not in self.languages:
            refuse(
                "language",
                "Use one of: " + ", ".join(sorted(self.languages)) + ".",
                get("language"),
            )

        registration = ""
        raw_registration = get("registration_number")
        if raw_registration:
            value = text("registration_number", self.registration, raw_registration)
            if value:
                try:
                    registration = validators.normalize_registration_number(
                        value, country=country or "MY"
                    )
                except ValidationError as error:
                    refuse("registration_number", _messages(error), raw_registration)
        tin = ""
        raw_tin = get("tin")
        if raw_tin:
            value = text("tin", self.tin, raw_tin)
            if value:
                try:
                    tin = validators.normalize_tin(value, kind=kind)
                except ValidationError as error:
                    refuse("tin", _messages(error), raw_tin)

        phone = self._phone("phone", self.phone, get, country, refuse, text_cleaner=text)
        address = self._address(get, country, refuse, text)

        first_name = ""
        if get("owner_first_name"):
            first_name = text("owner_first_name", self.owner_first, get("owner_first_name"))
        else:
            refuse("owner_first_name", "Enter the owner's first name.")
        last_name = text("owner_last_name", self.owner_last, get("owner_last_name"))
        email = self._email(get, refuse)
        owner_phone = self._phone(
            "owner_phone", self.owner_phone, get, country, refuse, text_cleaner=None
        )
        keys = (email, registration, tin)
        if len(found) > errors_before:
            return None, keys
        if credit is not None:
            credit = credit.quantize(CENTS)
        if percent is not None:
            percent = percent.quantize(CENTS)
        customer = (
            name,
            self.kinds[kind],
            self.pricing_models[pricing],
            percent,
            self.billing_modes[billing],
            credit,
            self.countries[country],
            self.currencies[currency],
            self.timezones[zone],
            self.languages[language],
            registration,
            tin,
            phone,
            *address,
        )
        return _Row(line, customer, (first_name, last_name, email, owner_phone)), keys

    def _decimal(
        self,
        column: str,
        form_field: forms.Field,
        get: Callable[[str], str],
        refuse: Callable[..., None],
    ) -> Decimal | None:
        raw = get(column)
        if not raw:
            return None
        try:
            value = form_field.clean(raw)
        except ValidationError as error:
            refuse(column, _messages(error), raw)
            return None
        return value if isinstance(value, Decimal) else None

    def _phone(
        self,
        column: str,
        form_field: forms.Field,
        get: Callable[[str], str],
        country: str,
        refuse: Callable[..., None],
        *,
        text_cleaner: Callable[[str, forms.Field, str], str] | None,
    ) -> str:
        raw = get(column)
        if not raw:
            return ""
        if text_cleaner is not None:  # the profile's phone is a text field (cleaned first)
            value = text_cleaner(column, form_field, raw)
        else:  # the contact form's is a plain CharField
            try:
                value = str(form_field.clean(raw)).strip()
            except ValidationError as error:
                refuse(column, _messages(error), raw)
                return ""
        if not value:
            return ""
        try:
            return validators.normalize_phone(value, country=country)
        except ValidationError as error:
            refuse(column, _messages(error), raw)
            return ""

    def _address(
        self,
        get: Callable[[str], str],
        country: str,
        refuse: Callable[..., None],
        text: Callable[[str, forms.Field, str], str],
    ) -> tuple[str, str, str, str, str]:
        raw = {column: get(column) for column in ADDRESS_COLUMNS}
        if not any(raw.values()):
            return ("", "", "", "", "")
        cleaned: dict[str, str] = {}
        for column, form_field in self.address.items():
            if form_field.required and not raw[column]:
                refuse(
                    column,
                    "Complete the address: line 1, city and postcode are needed "
                    "once any address column is filled.",
                )
                cleaned[column] = ""
            else:
                cleaned[column] = text(column, form_field, raw[column]) if raw[column] else ""
        valid_country = country if country in self.countries else ""
        if cleaned["postcode"]:
            try:
                cleaned["postcode"] = validators.normalize_postcode(
                    cleaned["postcode"], country=valid_country
                )
            except ValidationError as error:
                refuse("postcode", _messages(error), raw["postcode"])
        state = cleaned["state"].upper()
        if valid_country and state in reference.subdivisions(valid_country):
            cleaned["state"] = state  # a code already: what normalize_state returns for it
        else:
            try:
                cleaned["state"] = validators.normalize_state(
                    cleaned["state"], country=valid_country
                )
            except ValidationError as error:
                refuse("state", _messages(error), raw["state"])
        return (
            cleaned["address_line1"],
            cleaned["address_line2"],
            cleaned["city"],
            cleaned["postcode"],
            cleaned["state"],
        )

    def _email(self, get: Callable[[str], str], refuse: Callable[..., None]) -> str:
        raw = get("owner_email")
        if not raw:
            refuse("owner_email", "Enter the owner's email.")
            return ""
        try:
            if raw.isascii() and raw.isprintable():
                # What the form field and clean_email below make of plain ASCII, with the
                # address checked once instead of twice.
                value = raw.strip().lower()
            else:
                value = str(self.owner_email.clean(raw))
                # contact_forms.ContactForm.clean_email: the spelling a sign-in would store
                value = normalize_email(value)
            validate_email(value)
            if len(value) > contact_forms.EMAIL_MAX_LENGTH:
                raise ValidationError(
                    f"Ensure this value has at most {contact_forms.EMAIL_MAX_LENGTH} characters."
                )
        except ValidationError as error:
            refuse("owner_email", _messages(error), raw)
            return ""
        return value


# --- duplicates --------------------------------------------------------------------------------

KEY_COLUMNS = ("owner_email", "registration_number", "tin")


class _Duplicates:
    """The same owner email, registration number or TIN twice in the file, or already on
    a customer in the database."""

    def __init__(self) -> None:
        self.first_line: tuple[dict[str, int], ...] = ({}, {}, {})

    def in_file(
        self, line: int, keys: tuple[str, str, str], found: list[tuple[int, str, str, str]]
    ) -> None:
        for index, value in enumerate(keys):
            if not value:
                continue
            seen = self.first_line[index].setdefault(value, line)
            if seen != line:
                what = ("email", "registration number", "TIN")[index]
                found.append((line, KEY_COLUMNS[index], f"The same {what} as line {seen}.", ""))


def _database_duplicates(
    pending: list[tuple[int, tuple[str, str, str]]], found: list[tuple[int, str, str, str]]
) -> None:
    """Look ``pending`` (line, keys) up in the database, in chunks; problems go to ``found``."""
    lookups: tuple[Callable[[list[str]], dict[str, list[int]]], ...] = (
        _customers_with_contact_email,
        lambda values: _customers_with("registration_number", values),
        lambda values: _customers_with("tin", values),
    )
    messages = (
        "{who} already has a contact with this email.",
        "{who} already has this registration number.",
        "{who} already has this TIN.",
    )
    for index, lookup in enumerate(lookups):
        values = sorted({keys[index] for _, keys in pending if keys[index]})
        owners: dict[str, list[int]] = {}
        chunk = lookup_chunk()
        for start in range(0, len(values), chunk):
            owners.update(lookup(values[start : start + chunk]))
        if not owners:
            continue
        for line, keys in pending:
            numbers = owners.get(keys[index])
            if numbers:
                who = f"Customer C-{min(numbers)}"
                if len(numbers) > 1:
                    who += f" (and {len(numbers) - 1} more)"
                found.append((line, KEY_COLUMNS[index], messages[index].format(who=who), ""))


def _customers_with_contact_email(values: list[str]) -> dict[str, list[int]]:
    """Contact emails are stored lower-cased (the contact form); lower(email) is indexed.
    Contacts first, then the few customers found: a join lets a planner with stale
    statistics (right after a large import) walk every customer instead."""
    contacts = connection.ops.quote_name(Contact._meta.db_table)
    found = _lookup(
        f"SELECT lower(email), customer_id FROM {contacts} WHERE lower(email) {{match}}",
        values,
    )
    if not found:
        return {}
    ids = sorted({customer_id for owners in found.values() for customer_id in owners})
    numbers = dict(Customer.objects.filter(pk__in=ids).values_list("pk", "number"))
    return {email: [numbers[pk] for pk in owners] for email, owners in found.items()}


def _customers_with(column: str, values: list[str]) -> dict[str, list[int]]:
    """Both columns have an index (customers_customer_regno_search, …_tin_search)."""
    name = connection.ops.quote_name(column)  # both are their own column names
    table = connection.ops.quote_name(Customer._meta.db_table)
    return _lookup(f"SELECT {name}, number FROM {table} WHERE {name} {{match}}", values)


def lookup_chunk() -> int:
    return LOOKUP_CHUNK.get(connection.vendor, 900)


def _lookup(sql: str, values: list[str]) -> dict[str, list[int]]:
    """Raw SQL: the ORM's per-value work on a 900-value ``IN`` costs more than the query."""
    owners: dict[str, list[int]] = {}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(sql.format(match="= ANY(%s)"), [values])
        else:
            marks = ", ".join(["%s"] * len(values))
            cursor.execute(sql.format(match=f"IN ({marks})"), values)
        for value, number in cursor.fetchall():
            owners.setdefault(str(value), []).append(int(number))
    return owners


# --- the action ----------------------------------------------------------------------------------


def import_customers(
    *,
    actor: Actor,
    source: IO[bytes] | IO[str],
    dry_run: bool = False,
    file_name: str = "",
    row_limit: int | None = None,
) -> ImportResult:
    """Check ``source`` (a CSV file, see ``COLUMNS``) and, unless ``dry_run`` or there is a
    problem, open one customer account per row in one transaction.

    Returns what happened: the problems (the first ``PROBLEMS_SHOWN`` by line, and how many
    in all) or the client IDs given. Only managers (and superusers) may import; anyone else
    gets ``not_allowed``. ``row_limit``: at most this many rows (default ``max_rows()``).
    """
    check_may_import(actor)
    file_name = file_label(file_name or getattr(source, "name", "") or "customers.csv")
    result = ImportResult(file_name=file_name, dry_run=dry_run)
    started = time.perf_counter()
    rows, digest = _checked_rows(source, result, limit=row_limit or max_rows())
    result.validate_seconds = time.perf_counter() - started
    if not result.ok or dry_run or not rows:
        return result
    started = time.perf_counter()
    try:
        _write(rows, actor=actor, file_name=file_name, digest=digest, result=result)
    except _ChangedMeanwhile as changed:
        problems = _Problems()
        problems.extend_sorted(changed.found)
        _keep_problems(result, problems)
    result.write_seconds = time.perf_counter() - started
    return result


def file_label(name: str) -> str:
    """The uploaded file's name, for people to read (folders and odd characters dropped)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(ch for ch in base if unicodedata.category(ch)[0] not in "CZ" or ch == " ")
    return kept.strip()[:120] or "customers.csv"


def _keep_problems(result: ImportResult, problems: _Problems) -> None:
    result.problems = problems.kept
    result.problem_count = problems.count
    result.rows_with_problems = len(problems.lines)


def _checked_rows(
    source: IO[bytes] | IO[str], result: ImportResult, *, limit: int
) -> tuple[list[_Row], str]:
    problems = _Problems()
    text = _read_text(source, problems)
    if text is None:
        _keep_problems(result, problems)
        return [], ""
    digest = hashlib.sha256(text.encode()).hexdigest()
    records = _records(text, problems)
    header: _Header | None = None
    for _, cells in records:
        header = _read_header(cells, problems)
        break
    if header is None:
        if not problems.count:
            problems.add(0, "", "The file is empty: it needs a header row and a row per customer.")
        _keep_problems(result, problems)
        return [], digest
    checker = _RowChecker()
    duplicates = _Duplicates()
    blank = dict.fromkeys(COLUMN_NAMES, "")
    width = len(header.names)
    rows: list[_Row] = []
    found: list[tuple[int, str, str, str]] = []
    pending: list[tuple[int, tuple[str, str, str]]] = []
    count = 0
    chunk = lookup_chunk()
    for line, cells in records:
        count += 1
        if count > limit:
            problems.add(
                line,
                "",
                f"The file has more than {_number(limit)} rows: split it into smaller files.",
            )
            break
        if len(cells) > width:
            found.append(
                (
                    line,
                    "",
                    f"This line has {len(cells)} values; the header has {width} columns.",
                    "",
                )
            )
        values = dict(blank)
        # A short line leaves the last columns blank; a long one is refused above.
        values.update(zip(header.names, [cell.strip() for cell in cells], strict=False))
        row, keys = checker.check(line, values.__getitem__, found)
        if len(cells) > width:
            row = None
        duplicates.in_file(line, keys, found)
        if any(keys):
            pending.append((line, keys))
        if row is not None:
            rows.append(row)
            if len(result.preview) < PREVIEW_ROWS:
                result.preview.append(_preview(row))
        if len(pending) >= chunk:
            _database_duplicates(pending, found)
            pending = []
        if found and (not pending or len(found) > PROBLEMS_SHOWN):
            problems.extend_sorted(found)
            found = []
    _database_duplicates(pending, found)
    problems.extend_sorted(found)
    result.rows = min(count, limit)
    if result.rows == 0 and not problems.count:
        problems.add(0, "", "The file has a header but no customers.")
    _keep_problems(result, problems)
    return rows, digest


def _preview(row: _Row) -> dict[str, str]:
    values = dict(zip(CUSTOMER_FIELDS, row.customer, strict=True))
    owner = dict(zip(OWNER_FIELDS, row.owner, strict=True))
    return {
        "name": values["display_name"],
        "kind": values["kind"],
        "country": values["country"],
        "currency": values["currency"],
        "billing_mode": values["billing_mode"],
        "registration_number": values["registration_number"],
        "tin": values["tin"],
        "owner": f"{owner['first_name']} {owner['last_name']}".strip(),
        "owner_email": owner["email"],
    }


# --- writing -------------------------------------------------------------------------------


class _ChangedMeanwhile(Exception):
    """Someone added a customer that collides with a row after the file was checked."""

    def __init__(self, found: list[tuple[int, str, str, str]]) -> None:
        super().__init__("duplicates appeared while importing")
        self.found = found


@dataclass
class _Batch:
    """One batch of rows, ready to write (ids chosen, every value prepared)."""

    customers: list[list[Any]]
    contacts: list[list[Any]]
    activity: list[list[Any]]
    events: list[list[Any]]
    streams: list[list[Any]]
    customer_ids: list[int]
    contact_ids: list[int]


class _Writer:
    """Builds and writes the rows of one import inside its transaction, batch by batch.
    Ids are chosen before (``_new_ids``), so a batch is built without a query.

    (Building batch k + 1 in a helper thread while the database writes batch k was tried:
    no faster, as executemany takes the GIL back for every row it binds.)
    """

    def __init__(self, *, actor: Actor, reason: str) -> None:
        db = self.db = connections[DEFAULT_DB_ALIAS]
        self.customers = BulkRows(Customer, db=db)
        self.contacts = BulkRows(Contact, db=db)
        self.activity = BulkRows(Activity, db=db, given_id=False)
        self.events = BulkRows(Event, db=db)
        self.streams = BulkRows(CustomerStream, db=db)
        now = timezone.now()
        for table in (self.customers, self.contacts):
            stamp = table.prepare("created_at", now)
            table.set(created_at=stamp, updated_at=stamp)
        self.contacts.set(
            role=Role.OWNER.value,
            notification_topics=self.contacts.prepare("notification_topics", DEFAULT_TOPICS),
        )
        self.activity.set(
            occurred_at=self.activity.prepare("occurred_at", now),
            actor_id=getattr(actor.user, "pk", None),
            actor_label=actor.label[:300],
            impersonator_id=getattr(actor.impersonator, "pk", None),
            source=actor.interface.value,
            reason=reason,
            ip=actor.ip,
            request_id=actor.request_id,
            target_repr="",
        )
        # Every event of the import has the same time; their ids rise in write order (a
        # random version-4 UUID with the event's index in its last 32 bits), so the relay,
        # which numbers events by (occurred_at, id), keeps each customer's 1 before its 2.
        self.events.set(
            occurred_at=self.events.prepare("occurred_at", now),
            actor=self.events.prepare("actor", actor_payload(actor)),
            request_id=actor.request_id,
        )
        self.event_base = uuid.uuid4().int & ~0xFFFFFFFF
        self.event_count = 0
        self.native_uuid = db.features.has_native_uuid_field
        self.json = partial(db.ops.adapt_json_value, encoder=None)
        self.customer_type = ContentType.objects.get_for_model(Customer).pk
        self.contact_type = ContentType.objects.get_for_model(Contact).pk

    def write(self, batch: _Batch) -> None:
        self.customers.write(batch.customers)
        self.contacts.write(batch.contacts)
        self.activity.write(batch.activity)
        self.events.write(batch.events)
        self.streams.write(batch.streams)

    def build(
        self,
        rows: Sequence[_Row],
        first_number: int,
        customer_ids: list[int],
        contact_ids: list[int],
    ) -> _Batch:
        numbers = range(first_number, first_number + len(rows))
        batch = _Batch([], [], [], [], [], customer_ids, contact_ids)
        customers, contacts, activity, events = (
            self.customers,
            self.contacts,
            self.activity,
            self.events,
        )
        json, event_id = self.json, self._event_id
        for row, number, customer_id, contact_id in zip(
            rows, numbers, customer_ids, contact_ids, strict=True
        ):
            client_id = f"C-{number}"
            values = dict(zip(CUSTOMER_FIELDS, row.customer, strict=True))
            # What the event and Activity carry: the values given, as create_customer's.
            initial = {
                name: str(value) if isinstance(value, Decimal) else value
                for name, value in values.items()
                if value not in ("", None)
            }
            values["id"] = customer_id
            values["number"] = number
            values["legal_name"] = values["display_name"]
            if values["kind"] == Customer.Kind.INDIVIDUAL:
                values["full_name"] = values["display_name"]
            for name in ("price_adjustment_percent", "credit_limit"):
                if values[name] is not None:
                    values[name] = customers.prepare(name, values[name])
            batch.customers.append(customers.row(values))
            first_name, last_name, email, phone = row.owner
            batch.contacts.append(
                contacts.row(
                    {
                        "id": contact_id,
                        "customer_id": customer_id,
                        "first_name": first_name,
                        "last_name": last_name,
                        "email": email,
                        "phone": phone,
                    }
                )
            )
            # What create_customer and create_contact record: Activity and the events.
            owner = {
                "first_name": first_name,
                "last_name": last_name,
                "email": email,
                "phone": phone,
                "job_title": "",
                "role": Role.OWNER.value,
                "notification_topics": DEFAULT_TOPICS,
            }
            batch.activity.append(
                activity.row(
                    {
                        "verb": "customer.created",
                        "customer_id": customer_id,
                        "target_type_id": self.customer_type,
                        "target_id": str(customer_id),
                        "target_repr": f"{values['display_name']} ({client_id})"[:300],
                        "changes": json({name: [None, value] for name, value in initial.items()}),
                    }
                )
            )
            batch.activity.append(
                activity.row(
                    {
                        "verb": "contact.created",
                        "customer_id": customer_id,
                        "target_type_id": self.contact_type,
                        "target_id": str(contact_id),
                        "target_repr": (f"{first_name} {last_name}".strip() or email)[:300],
                        "changes": json(
                            {name: [None, value] for name, value in owner.items() if value}
                        ),
                    }
                )
            )
            contact = {  # customers.resources.contact_resource of the new owner
                "id": contact_id,
                "customer": client_id,
                **owner,
                "portal_access": False,
                "has_login": False,
                "version": 1,
            }
            batch.events.append(
                events.row(
                    {
                        "id": event_id(),
                        "type": "customer.created",
                        "customer_id": customer_id,
                        "sequence": 1,
                        "data": json({"number": client_id, **initial}),
                    }
                )
            )
            batch.events.append(
                events.row(
                    {
                        "id": event_id(),
                        "type": "contact.created",
                        "customer_id": customer_id,
                        "sequence": 2,
                        "data": json(contact),
                    }
                )
            )
            batch.streams.append(self.streams.row({"customer_id": customer_id, "last_sequence": 2}))
        return batch

    def _event_id(self) -> Any:
        value = uuid.UUID(int=self.event_base | self.event_count, version=4)
        self.event_count += 1
        return value if self.native_uuid else value.hex


def _new_ids(model: type[models.Model], count: int) -> list[int]:
    """``count`` ids for new rows of ``model``, chosen before the rows are built.

    SQLite: the import holds the database's only write lock for its whole transaction, so
    the next ``count`` ids after the highest ever given (``sqlite_sequence``, the
    AUTOINCREMENT memory) are free; inserting them moves the sequence on. PostgreSQL: taken
    from the column's own sequence, so concurrent inserts elsewhere never collide.
    """
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, count],
            )
            return [int(value) for (value,) in cursor.fetchall()]
        cursor.execute(
            f"SELECT max(coalesce((SELECT max(id) FROM {connection.ops.quote_name(table)}), 0), "
            "coalesce((SELECT seq FROM sqlite_sequence WHERE name = %s), 0))",
            [table],
        )
        row = cursor.fetchone()
        first = int(row[0] if row else 0) + 1
        return list(range(first, first + count))


@contextmanager
def _search_indexing_by_range(customer_ids: list[int], contact_ids: list[int]) -> Iterator[None]:
    """SQLite: inside the import's transaction, swap the per-row search triggers for one
    set-based statement per search table over the new ids (consecutive: ``_new_ids``). The
    import holds SQLite's only write lock, so no other row is written meanwhile; the
    triggers come back, as they were, before the transaction commits (and a rollback
    restores them too: SQLite's DDL is transactional). PostgreSQL: nothing to do, its
    indexes and triggers follow the rows."""
    if connection.vendor != "sqlite":
        yield
        return
    names = [name for name in search_sql.SQLITE_TRIGGER_NAMES if name.endswith("_ai")]
    marks = ", ".join(["%s"] * len(names))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN ({marks})",
            names,
        )
        triggers = [(str(name), str(sql)) for name, sql in cursor.fetchall()]
        for name, _ in triggers:
            cursor.execute(f"DROP TRIGGER {connection.ops.quote_name(name)}")
    yield
    customer_statements, contact_statements = search_sql.SQLITE_INDEX_RANGES
    with connection.cursor() as cursor:
        for statement in customer_statements:
            cursor.execute(statement, [customer_ids[0], customer_ids[-1]])
        for statement in contact_statements:
            cursor.execute(statement, [contact_ids[0], contact_ids[-1]])
        for _, sql in triggers:
            cursor.execute(sql)


@contextmanager
def _large_page_cache() -> Iterator[None]:
    """SQLite: a 64 MB page cache for this connection while the import writes (with the
    default 2 MB a large import reads index pages again and again; more than 64 MB gained
    nothing measurable at 100 000 rows)."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        row = cursor.fetchone()
        cursor.execute("PRAGMA cache_size = -65536")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(row[0]) if row else -2000}")


def _keys(row: _Row) -> tuple[str, str, str]:
    values = dict(zip(CUSTOMER_FIELDS, row.customer, strict=True))
    return (row.owner[2], values["registration_number"], values["tin"])


def _write(
    rows: list[_Row], *, actor: Actor, file_name: str, digest: str, result: ImportResult
) -> None:
    first_number = Counter.reserve("customer_number", len(rows), start=FIRST_CUSTOMER_NUMBER)
    reason = f"Imported from {file_name}"
    with transaction.atomic():
        # The import's number; on PostgreSQL the counter row also queues imports one
        # behind the other, so two of them cannot both pass the check below.
        import_number = Counter.next("customer_import", start=1)
        found: list[tuple[int, str, str, str]] = []
        _database_duplicates([(row.line, _keys(row)) for row in rows], found)
        if found:
            raise _ChangedMeanwhile(found)
        writer = _Writer(actor=actor, reason=reason)
        customer_ids = _new_ids(Customer, len(rows))
        contact_ids = _new_ids(Contact, len(rows))
        with _search_indexing_by_range(customer_ids, contact_ids), _large_page_cache():
            for start in range(0, len(rows), BATCH):
                batch = writer.build(
                    rows[start : start + BATCH],
                    first_number + start,
                    customer_ids[start : start + BATCH],
                    contact_ids[start : start + BATCH],
                )
                writer.write(batch)
        last_number = first_number + len(rows) - 1
        record(
            IMPORT_VERB,
            actor=actor,
            customer=None,
            changes={
                "file": [None, file_name],
                "rows": [None, len(rows)],
                "first_client_id": [None, f"C-{first_number}"],
                "last_client_id": [None, f"C-{last_number}"],
                "sha256": [None, digest],
                "import": [None, import_number],
            },
            reason=reason,
            staff_only=True,
        )
    if connection.vendor == "postgresql" and len(rows) >= ANALYZE_AFTER:
        # Fresh statistics for the tables that grew: with the old ones the planner may
        # take the new rows for a handful and choose plans (for search, for the next
        # import's duplicate check) that read them all.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Customer._meta.db_table}, {Contact._meta.db_table}")
    result.imported = len(rows)
    result.first_client_id = f"C-{first_number}"
    result.last_client_id = f"C-{last_number}"
    result.import_number = import_number
