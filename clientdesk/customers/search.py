# ruff: noqa: S608 -- the SQL is assembled from constant fragments of this module only;
# every value a user typed is a bound parameter.
"""Staff search: one box that finds a customer by anything staff are likely to type.

A term is tried against a list of *sources*, in rank order: exact matches first (client ID,
a contact's email, a phone number, a registration number, a TIN), then prefix matches on
names and emails, then names that merely contain the term. Every source is one indexed
query with its own keyset (its sort key), so a page costs a bounded number of small
queries at any data size and "more results" resumes where the page stopped — no OFFSET, no
COUNT. Infix matching uses FTS5 trigram tables on SQLite and ``pg_trgm`` on PostgreSQL
(see ``search_sql.py`` and migration 0007).

A customer found through several sources appears once per page, under its best reason.
Only when nothing matches at all does the last source look for *similar* names, so a
misspelt name still finds the customer (``search_similar.py``).
"""

from __future__ import annotations

import base64
import binascii
import difflib
import json
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from django.db import connection

from . import search_similar, search_sql
from .access import parse_customer_number
from .models import Contact, Customer
from .roles import Role

MAX_TERM_LENGTH = 100  # longer input is cut: nobody types more to find a customer
PAGE_SIZE = 20
MIN_INFIX_LENGTH = 3  # a trigram index needs three characters
PREFIX_END = "\U0010ffff"  # sorts after every character: [term, term + PREFIX_END) is a prefix
PHONE_REGIONS = ("MY", "SG")  # how a number typed without a country code is read


@dataclass(frozen=True)
class Row:
    """What a source found: a sort key (its keyset), the customer and why."""

    key: list[Any]
    customer_id: int
    reason: str
    matched: str
    contact_name: str = ""


@dataclass(frozen=True)
class Hit:
    """A customer on the results page, with the value that matched and where."""

    customer: Customer
    reason: str
    matched: str
    contact_name: str
    owner: Contact | None
    span: tuple[int, int] | None  # the matched characters in ``matched``

    @property
    def parts(self) -> tuple[str, str, str]:
        """``matched`` split around the match, for highlighting."""
        if self.span is None:
            return self.matched, "", ""
        start, end = self.span
        return self.matched[:start], self.matched[start:end], self.matched[end:]


@dataclass
class SearchPage:
    term: str
    hits: list[Hit] = field(default_factory=list)
    next_cursor: str = ""  # "" when there is nothing more

    @property
    def similar_only(self) -> bool:
        """Nothing matched as typed: every hit is a similar name."""
        return bool(self.hits) and all(hit.reason in SIMILAR_REASONS for hit in self.hits)


@dataclass(frozen=True)
class Term:
    """The typed text, cleaned: ``text`` as typed (for highlighting), ``lower`` for
    matching. Invisible characters (RTL marks, zero-width spaces) are dropped."""

    text: str

    @classmethod
    def parse(cls, raw: str) -> Term:
        text = unicodedata.normalize("NFKC", raw[: MAX_TERM_LENGTH * 4])
        text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
        return cls(" ".join(text.split())[:MAX_TERM_LENGTH])

    @property
    def lower(self) -> str:
        return self.text.lower()


# --- the sources ----------------------------------------------------------------------------

Fetch = Callable[[Term, list[Any] | None, int], list[Row]]


@dataclass(frozen=True)
class Source:
    """``key`` is the shape of the source's sort key, to check a cursor before using it."""

    name: str
    applies: Callable[[Term], bool]
    fetch: Fetch
    key: tuple[type, ...] = (int,)


def _rows(sql: str, params: Iterable[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        return list(cursor.fetchall())


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _sort_expr(expression: str) -> str:
    """The indexed form of a prefix-searched expression (byte order on PostgreSQL)."""
    return f'(lower({expression}) COLLATE "C")' if _postgres() else f"lower({expression})"


def _after(key: list[Any] | None, columns: str) -> tuple[str, list[Any]]:
    if key is None:
        return "", []
    return f" AND ({columns}) > ({', '.join(['%s'] * len(key))})", list(key)


# Exact sources: a handful of rows at most, keyed by id.


def _client_id(term: Term, after: list[Any] | None, limit: int) -> list[Row]:
    number = parse_customer_number(term.text)
    if number is None:
        return []
    rows = Customer.objects.filter(number=number).values_list("id", "number")
    if after is not None:
        rows = rows.filter(id__gt=after[0])
    return [Row([pk], pk, "Client ID", f"C-{n}") for pk, n in rows[:limit]]


def _exact_email(term: Term, after: list[Any] | None, limit: int) -> list[Row]:
    extra, params = _after(after, "id")
    found = _rows(
        "SELECT id, customer_id, email, first_name, last_name FROM customers_contact "
        f"WHERE lower(email) = %s{extra} ORDER BY id LIMIT %s",
        [term.lower, *params, limit],
    )
    return [Row([pk], cid, "Contact email", email, _name(f, la)) for pk, cid, email, f, la in found]


def _phone_numbers(term: Term) -> list[str]:
    """The E.164 forms a typed phone number may stand for."""
    found: set[str] = set()
    for region in (None, *PHONE_REGIONS):
        try:
            number = phonenumbers.parse(term.text, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(number):
            found.add(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    return sorted(found)


def _looks_like_phone(term: Term) -> bool:
    digits = sum(ch.isdigit() for ch in term.text)
    return digits >= 6 and not re.search(r"[^\d\s()+.\-/]", term.text)


def _phone(term: Term, after: list[Any] | None, limit: int) -> list[Row]:
    numbers = _phone_numbers(term)
    if not numbers:
        return []
    marks = ", ".join(["%s"] * len(numbers))
    extra, params = _after(after, "kind, id")
    found = _rows(
        "SELECT kind, id, customer_id, phone, name FROM ("
        f" SELECT 0 AS kind, id, customer_id, phone, {search_sql.contact_name()} AS name"
        f" FROM customers_contact WHERE phone IN ({marks})"
        " UNION ALL"
        " SELECT 1, id, id, phone, '' FROM customers_customer"
        f" WHERE phone IN ({marks})"
        " UNION ALL"
        " SELECT 2, id, id, mobile, '' FROM customers_customer"
        f" WHERE mobile IN ({marks})"
        f") AS phones WHERE 1 = 1{extra} ORDER BY kind, id LIMIT %s",
        [*numbers, *numbers, *numbers, *params, limit],
    )
    reasons = ("Contact phone", "Phone", "Mobile")
    return [Row([k, pk], cid, reasons[k], phone, name) for k, pk, cid, phone, name in found]


def _registration_numbers(term: Term) -> list[str]:
    compact = re.sub(r"[\s()]", "", term.text).upper()
    variants = {compact}
    old_form = re.fullmatch(r"(\d{1,7})-?([A-Z])", compact)
    if old_form:  # an old SSM number is kept as 123456-A
        variants.add(f"{old_form.group(1)}-{old_form.group(2)}")
    return sorted(variants)


def _looks_like_identifier(term: Term) -> bool:
    return (
        4 <= len(term.text) <= 30
        and any(ch.isdigit() for ch in term.text)
        and re.fullmatch(r"[\w\s()\-/.]+", term.text) is not None
    )


def _identifier(column: str, reason: str, variants: Callable[[Term], list[str]]) -> Fetch:
    def fetch(term: Term, after: list[Any] | None, limit: int) -> list[Row]:
        values = variants(term)
        marks = ", ".join(["%s"] * len(values))
        extra, params = _after(after, "id")
        found = _rows(
            f"SELECT id, {column} FROM customers_customer WHERE {column} IN ({marks}){extra} "
            "ORDER BY id LIMIT %s",
            [*values, *params, limit],
        )
        return [Row([pk], pk, reason, value) for pk, value in found]

    return fetch


def _tins(term: Term) -> list[str]:
    return [re.sub(r"[\s-]", "", term.text).upper()]


# Prefix sources: an index range on lower(expression), keyed by (lower(expression), id).


def _prefix_bounds(term: Term) -> list[str]:
    return [term.lower, term.lower + PREFIX_END]


def _customer_name_prefix(term: Term, after: list[Any] | None, limit: int) -> list[Row]:
    key = _sort_expr("display_name")
    extra, params = _after(after, f"{key}, id")
    found = _rows(
        f"SELECT {key}, id, display_name FROM customers_customer "
        f"WHERE {key} >= %s AND {key} < %s{extra} ORDER BY {key}, id LIMIT %s",
        [*_prefix_bounds(term), *params, limit],
    )
    return [Row([k, pk], pk, "Name", name) for k, pk, name in found]


def _contact_prefix(expression: str, reason: str, shown: str) -> Fetch:
    def fetch(term: Term, after: list[Any] | None, limit: int) -> list[Row]:
        key = _sort_expr(expression)
        extra, params = _after(after, f"{key}, id")
        found = _rows(
            f"SELECT {key}, id, customer_id, {shown}, first_name, last_name "
            f"FROM customers_contact WHERE {key} >= %s AND {key} < %s{extra} "
            f"ORDER BY {key}, id LIMIT %s",
            [*_prefix_bounds(term), *params, limit],
        )
        return [
            Row([k, pk], cid, reason, value, _name(f, la)) for k, pk, cid, value, f, la in found
        ]

    return fetch


# Infix sources: the trigram index, keyed by id; rows the prefix sources already gave are
# left out.


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _fts_phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


# Words that end most company names: in a million names their trigrams ("sdn", "bhd", "ltd")
# sit in most rows, and an index lookup that includes them reads those huge lists.
LEGAL_FORM_WORDS = frozenset(
    {"sdn", "bhd", "sdn.", "bhd.", "berhad", "pte", "pte.", "ltd", "ltd.", "limited", "plc"}
    | {"inc", "inc.", "llc", "corp", "corp.", "co", "co.", "tbk", "pt", "pt.", "&"}
)


def _index_text(term: Term) -> str:
    """What the trigram index is asked for: the term without its trailing legal-form words
    ("maju jaya logistik sdn bhd" → "maju jaya logistik"). The whole term is then checked
    on each row the index returns (``_whole_term``). Only for ASCII terms: SQLite's
    ``lower()`` folds ASCII only, so the row check must not depend on Unicode case."""
    words = term.lower.split()
    if not term.lower.isascii():
        return term.lower
    while words and words[-1] in LEGAL_FORM_WORDS:
        words.pop()
    core = " ".join(words)
    return core if len(core) >= 3 else term.lower


def _whole_term(term: Term, core: str, expression: str) -> tuple[str, list[Any]]:
    """When the index was asked for less than the term, the rows must still contain all of
    it. ``instr``/``strpos`` on purpose: a LIKE here would be served from the index again."""
    if core == term.lower:
        return "", []
    function = "strpos" if _postgres() else "instr"
    return f"AND {function}(lower({expression}), %s) > 0", [term.lower]


def _not_prefix(term: Term, expression: str) -> tuple[str, list[Any]]:
    """Leave out rows a prefix source returns. Written as a substring comparison on purpose:
    as a range, the planner would try to serve it from the prefix index (all rows but a
    few) instead of the trigram index."""
    return f"AND substr(lower({expression}), 1, %s) <> %s", [len(term.lower), term.lower]


def _customer_name_infix(term: Term, after: list[Any] | None, limit: int) -> list[Row]:
    extra, params = _after(after, "c.id")
    exclude, excluded = _not_prefix(term, "c.display_name")
    core = _index_text(term)
    whole, whole_params = _whole_term(term, core, search_sql.customer_names("c"))
    if _postgres():
        found = _rows(
            "SELECT c.id, c.display_name, c.legal_name, c.trading_name FROM customers_customer c "
            f"WHERE lower({search_sql.customer_names('c')}) LIKE %s{extra} {exclude} {whole} "
            "ORDER BY c.id LIMIT %s",
            [_like_pattern(core), *params, *excluded, *whole_params, limit],
        )
    else:
        found = _rows(
            "SELECT c.id, c.display_name, c.legal_name, c.trading_name "
            "FROM customers_customer_search s JOIN customers_customer c ON c.id = s.rowid "
            f"WHERE customers_customer_search MATCH %s{extra.replace('c.id', 's.rowid')} "
            f"{exclude} {whole} ORDER BY s.rowid LIMIT %s",
            [_fts_phrase(core), *params, *excluded, *whole_params, limit],
        )
    rows = []
    for pk, display, legal, trading in found:
        reason, value = "Name", display
        for label, candidate in (
            ("Name", display),
            ("Legal name", legal),
            ("Trading name", trading),
        ):
            if term.lower in candidate.lower():
                reason, value = label, candidate
                break
        rows.append(Row([pk], pk, reason, value))
    return rows


def _contact_name_infix(term: Term, after: list[Any] | None, limit: int) -> list[Row]:
    extra, params = _after(after, "c.id")
    name_clause, name_params = _not_prefix(term, search_sql.contact_name("c"))
    last_clause, last_params = _not_prefix(term, "c.last_name")
    exclude, excluded = f"{name_clause} {last_clause}", [*name_params, *last_params]
    if _postgres():
        found = _rows(
            "SELECT c.id, c.customer_id, c.first_name, c.last_name FROM customers_contact c "
            f"WHERE lower({search_sql.contact_name('c')}) LIKE %s{extra} {exclude} "
            "ORDER BY c.id LIMIT %s",
            [_like_pattern(term.lower), *params, *excluded, limit],
        )
    else:
        found = _rows(
            "SELECT c.id, c.customer_id, c.first_name, c.last_name "
            "FROM customers_contact_search s JOIN customers_contact c ON c.id = s.rowid "
            f"WHERE customers_contact_search MATCH %s{extra.replace('c.id', 's.rowid')} "
            f"{exclude} ORDER BY s.rowid LIMIT %s",
            [_fts_phrase(term.text), *params, *excluded, limit],
        )
    return [Row([pk], cid, "Contact name", _name(f, la), _name(f, la)) for pk, cid, f, la in found]


def _name(first: str, last: str) -> str:
    return f"{first} {last}".strip()


# The similar-names source: only when nothing else matched (see ``search_customers``),
# ranked by similarity and keyed by its place in that ranking (it returns one page at most).

SIMILAR_REASONS = ("Similar name", "Similar contact name")
SIMILAR_MAX = PAGE_SIZE
MIN_SIMILAR_LENGTH = 4


def _looks_like_a_name(term: Term) -> bool:
    letters = sum(ch.isalpha() for ch in term.text)
    return letters >= MIN_SIMILAR_LENGTH and "@" not in term.text


def _similar(term: Term, after: list[Any] | None, limit: int) -> list[Row]:
    found = search_similar.similar_names(_index_text(term), limit=SIMILAR_MAX)
    start = after[0] + 1 if after else 0
    return [
        Row([position], s.customer_id, s.reason, s.matched, s.contact_name)
        for position, s in enumerate(found)
        if position >= start
    ][:limit]


def _always(term: Term) -> bool:
    return bool(term.text)


def _long_enough(term: Term) -> bool:
    return len(term.text) >= MIN_INFIX_LENGTH


PREFIX_KEY = (str, int)

SOURCES: tuple[Source, ...] = (
    Source("client_id", lambda t: parse_customer_number(t.text) is not None, _client_id),
    Source("email", lambda t: "@" in t.text, _exact_email),
    Source("phone", _looks_like_phone, _phone, (int, int)),
    Source(
        "registration",
        _looks_like_identifier,
        _identifier("registration_number", "Registration number", _registration_numbers),
    ),
    Source("tin", _looks_like_identifier, _identifier("tin", "TIN", _tins)),
    Source("name_prefix", _always, _customer_name_prefix, PREFIX_KEY),
    Source(
        "contact_prefix",
        _always,
        _contact_prefix(search_sql.contact_name(), "Contact name", search_sql.contact_name()),
        PREFIX_KEY,
    ),
    Source(
        "last_name_prefix",
        _always,
        _contact_prefix("last_name", "Contact name", search_sql.contact_name()),
        PREFIX_KEY,
    ),
    Source(
        "email_prefix",
        lambda t: " " not in t.text,
        _contact_prefix("email", "Contact email", "email"),
        PREFIX_KEY,
    ),
    Source("name_infix", _long_enough, _customer_name_infix),
    Source("contact_infix", _long_enough, _contact_name_infix),
    Source("similar", _looks_like_a_name, _similar),
)
SOURCE_INDEX = {source.name: i for i, source in enumerate(SOURCES)}
SIMILAR = SOURCE_INDEX["similar"]
REFETCHES_PER_SOURCE = 3  # a page skips customers already on it; this bounds the queries


# --- the page -------------------------------------------------------------------------------


def search_customers(
    raw_term: str, *, cursor: str = "", limit: int = PAGE_SIZE, similar: bool = True
) -> SearchPage:
    """One page of customers matching ``raw_term``, best matches first.

    ``cursor`` is the page's ``next_cursor`` from before (an unreadable one starts over).
    The page costs at most a fixed number of queries whatever the data size. With
    ``similar`` (people typing), a term nothing matches finds similar names instead;
    programs (the API) pass ``False`` and get exact matches only.
    """
    term = Term.parse(raw_term)
    page = SearchPage(term=term.text)
    if not term.text:
        return page
    start, after = _read_cursor(cursor)
    picked: dict[int, Row] = {}
    stopped_at: tuple[int, list[Any]] | None = None
    for index in range(start, len(SOURCES)):
        source = SOURCES[index]
        if index == SIMILAR and not similar:
            break
        if not source.applies(term) or (index == SIMILAR and index != start and picked):
            after = None
            continue
        if index == SIMILAR and index != start and start > 0:
            break  # an earlier page had real matches: similar names are not offered
        for _ in range(REFETCHES_PER_SOURCE):
            wanted = limit - len(picked)
            rows = source.fetch(term, after, wanted)
            for row in rows:
                after = row.key
                picked.setdefault(row.customer_id, row)
                if len(picked) == limit:
                    break
            if len(picked) == limit:
                stopped_at = (index, after or [])
                break
            if len(rows) < wanted:
                break  # the source has nothing more
        if stopped_at:
            break
        after = None
    page.hits = _hits(term, list(picked.values()))
    if stopped_at is not None and not _similar_exhausted(*stopped_at):
        page.next_cursor = _write_cursor(*stopped_at)
    return page


def _similar_exhausted(source_index: int, key: list[Any]) -> bool:
    """Similar names come one page at most: no "more" after the last of them."""
    return source_index == SIMILAR and key[0] >= SIMILAR_MAX - 1


def _hits(term: Term, rows: list[Row]) -> list[Hit]:
    customers = Customer.objects.in_bulk([row.customer_id for row in rows])
    owners = {
        contact.customer_id: contact
        for contact in Contact.objects.filter(customer_id__in=customers, role=Role.OWNER).only(
            "id", "customer_id", "first_name", "last_name", "email"
        )
    }
    return [
        Hit(
            customer=customers[row.customer_id],
            reason=row.reason,
            matched=row.matched,
            contact_name=row.contact_name if row.contact_name != row.matched else "",
            owner=owners.get(row.customer_id),
            span=_span(term, row),
        )
        for row in rows
        if row.customer_id in customers
    ]


def _span(term: Term, row: Row) -> tuple[int, int] | None:
    if row.reason in (
        "Client ID",
        "Phone",
        "Mobile",
        "Contact phone",
        "Registration number",
        "TIN",
    ):
        return (0, len(row.matched))  # matched as a whole, in normalised form
    if row.reason in SIMILAR_REASONS:
        return _similar_span(term, row.matched)
    at = row.matched.lower().find(term.lower)
    if at < 0 or len(row.matched.lower()) != len(row.matched):
        return None  # case folding changed the length: do not guess
    return (at, at + len(term.text))


def _similar_span(term: Term, matched: str) -> tuple[int, int] | None:
    """The longest stretch the name shares with the term (three characters at least)."""
    if len(matched.lower()) != len(matched):
        return None
    longest = difflib.SequenceMatcher(None, matched.lower(), term.lower, autojunk=False)
    block = longest.find_longest_match(0, len(matched), 0, len(term.lower))
    return (block.a, block.a + block.size) if block.size >= 3 else None


def _write_cursor(source_index: int, key: list[Any]) -> str:
    payload = json.dumps([SOURCES[source_index].name, key], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _read_cursor(cursor: str) -> tuple[int, list[Any] | None]:
    """(source index, key to resume after); anything unreadable means the first page."""
    if not cursor or len(cursor) > 2000:
        return 0, None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        name, key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        return 0, None
    if name not in SOURCE_INDEX or not isinstance(key, list):
        return 0, None
    shape = SOURCES[SOURCE_INDEX[name]].key
    if len(key) != len(shape) or not all(
        type(part) is expected for part, expected in zip(key, shape, strict=True)
    ):
        return 0, None
    return SOURCE_INDEX[name], key
