# ruff: noqa: S608 -- the SQL is assembled from constant fragments of search_sql only;
# every value a user typed is a bound parameter.
"""Typo-tolerant matching for the staff search: when nothing matches a name as typed, the
search offers *similar* names ("maju digtal" → Maju Digital), marked as such, after every
exact, prefix and infix match.

Both databases *correct* the term, then look for names holding the corrected words. Each
word missing from the dictionary of words in names is replaced by the closest known words
(at most one edit away, two for words of eight letters or more; up to three). SQLite: the
dictionary is the ``fts5vocab`` tables of migration 0010, read for words with the same first
two letters (first letter, for words of up to four), the more common first; names holding
one option of every word, in any order, come from the FTS5 word index. PostgreSQL: the
dictionary is ``customers_name_word`` (migration 0011), searched by its trigram index; names
come from the trigram index on names (``LIKE`` per word). Each kind of name has its own
dictionary ("mea" is "Mega" among company names, "Mei" among people's). The candidates are
ranked by likeness to what was typed.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from django.db import connection

from . import search_sql

MIN_WORD = 3  # shorter words are kept as typed: too many words are one edit away
CANDIDATES_PER_WORD = 5000  # dictionary words read per misspelt word, at most
CANDIDATES = 50  # names read per table before ranking them
OPTIONS_PER_WORD = 3  # dictionary words a misspelt word may stand for


@dataclass(frozen=True)
class Similar:
    """A customer or a contact whose name is like the term; ``score`` orders them."""

    customer_id: int
    reason: str
    matched: str
    contact_name: str
    score: float


def similar_names(text: str, *, limit: int) -> list[Similar]:
    """Up to ``limit`` customers and contacts whose names are like ``text`` (lower case,
    legal-form words such as "Sdn Bhd" already removed), best first."""
    if connection.vendor == "postgresql":
        return _postgres(text, limit)
    return _sqlite(text, limit)


# --- PostgreSQL -------------------------------------------------------------------------------


def _postgres(text: str, limit: int) -> list[Similar]:
    # The words as the dictionary's triggers split them (letters and digits, lower case).
    words = "".join(ch if ch.isalnum() else " " for ch in text.casefold()).split()[:6]
    if not words:
        return []
    typed = " ".join(words)
    kinds = search_sql.PG_WORD_KINDS
    names, contact = search_sql.customer_names("c"), search_sql.contact_name("c")
    found = []
    with connection.cursor() as cursor:
        wanted = [options for w in words if (options := _pg_correct(cursor, w, kinds["customer"]))]
        for pk, display, legal, trading in _pg_matching(
            cursor,
            wanted,
            "SELECT c.id, c.display_name, c.legal_name, c.trading_name FROM customers_customer c",
            names,
        ):
            name = _best_name(typed, display, legal, trading)
            found.append(Similar(pk, "Similar name", name, "", _likeness(typed, name)))
        wanted = [options for w in words if (options := _pg_correct(cursor, w, kinds["contact"]))]
        for cid, first, last in _pg_matching(
            cursor,
            wanted,
            "SELECT c.customer_id, c.first_name, c.last_name FROM customers_contact c",
            contact,
        ):
            name = _name(first, last)
            found.append(Similar(cid, "Similar contact name", name, name, _likeness(typed, name)))
    return sorted(found, key=lambda s: -s.score)[:limit]


def _pg_correct(cursor: object, word: str, kind: int) -> list[str]:
    """``[word]`` if a name of this kind holds it, else the closest dictionary words (found
    by the trigram index, kept when at most one or two edits away), else ``[]``."""
    if word.isdigit():
        return [word]
    cursor.execute(  # type: ignore[attr-defined]
        "SELECT 1 FROM customers_name_word WHERE kind = %s AND word = %s", [kind, word]
    )
    if cursor.fetchone() is not None:  # type: ignore[attr-defined]
        return [word]
    if len(word) < MIN_WORD:
        return []
    allowed = 2 if len(word) >= 8 else 1
    # The kind is written into the SQL (not a parameter) so the planner can use that kind's
    # partial trigram index.
    cursor.execute(  # type: ignore[attr-defined]
        f"SELECT word FROM customers_name_word WHERE kind = {int(kind)} AND word %% %s "
        "ORDER BY similarity(word, %s) DESC, word LIMIT 20",
        [word, word],
    )
    close = sorted(
        (distance, term)
        for (term,) in cursor.fetchall()  # type: ignore[attr-defined]
        if (distance := edit_distance(word, term, limit=allowed)) <= allowed
    )
    return [term for _, term in close[:OPTIONS_PER_WORD]]


def _pg_matching(
    cursor: object, wanted: list[list[str]], select: str, expression: str
) -> list[Any]:
    """Rows whose names hold one option of every word (as a substring: the trigram index
    serves it). No ORDER BY, so the scan stops at the cap; the caller ranks."""
    if not wanted:
        return []
    clauses, params = [], []
    for options in wanted:
        clauses.append("(" + " OR ".join([f"lower({expression}) LIKE %s"] * len(options)) + ")")
        params += [_like(option) for option in options]
    cursor.execute(  # type: ignore[attr-defined]
        f"{select} WHERE {' AND '.join(clauses)} LIMIT %s", [*params, CANDIDATES]
    )
    return list(cursor.fetchall())  # type: ignore[attr-defined]


def _like(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


# --- SQLite -----------------------------------------------------------------------------------


def words_of(text: str) -> list[str]:
    """The words the unicode61 tokenizer would index: letters and digits, lower case,
    accents removed."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    cleaned = "".join(ch if ch.isalnum() else " " for ch in plain)
    return cleaned.split()


def _sqlite(text: str, limit: int) -> list[Similar]:
    words = words_of(text)[:6]
    if not words:
        return []
    customer_words, contact_words = search_sql.SQLITE_WORD_TABLES
    customer_vocab, contact_vocab = search_sql.SQLITE_WORD_VOCABS
    typed = " ".join(words)
    found = []
    with connection.cursor() as cursor:
        # Each kind of name is corrected against its own dictionary: "mea" is "Mega" among
        # company names and "Mei" among people's.
        for pk, display, legal, trading in _matching(
            cursor,
            _corrected(cursor, words, customer_vocab),
            "SELECT c.id, c.display_name, c.legal_name, c.trading_name",
            customer_words,
            "customers_customer",
        ):
            name = _best_name(typed, display, legal, trading)
            found.append(Similar(pk, "Similar name", name, "", _likeness(typed, name)))
        for cid, first, last in _matching(
            cursor,
            _corrected(cursor, words, contact_vocab),
            "SELECT c.customer_id, c.first_name, c.last_name",
            contact_words,
            "customers_contact",
        ):
            name = _name(first, last)
            found.append(Similar(cid, "Similar contact name", name, name, _likeness(typed, name)))
    return sorted(found, key=lambda s: -s.score)[:limit]


def _corrected(cursor: object, words: list[str], vocab: str) -> list[list[str]]:
    """For each word, what the dictionary may mean by it. A word nothing holds and nothing
    is close to is left out ("tan wei mng" looks for Tan Wei)."""
    return [options for options in (_correct(cursor, w, vocab) for w in words) if options]


def _matching(
    cursor: object, wanted: list[list[str]], select: str, words: str, table: str
) -> list[Any]:
    """Rows whose names hold one option of every word, in any order. In rowid order, so the
    index stops at the cap (ranking every match would read them all: a common surname is in
    tens of thousands of names); the caller ranks the candidates by likeness."""
    if not wanted:
        return []
    query = " AND ".join(
        "(" + " OR ".join(f'"{option}"' for option in options) + ")" for options in wanted
    )
    cursor.execute(  # type: ignore[attr-defined]
        f"{select} FROM (SELECT rowid FROM {words} WHERE {words} MATCH %s ORDER BY rowid "
        f"LIMIT %s) w JOIN {table} c ON c.id = w.rowid",
        [query, CANDIDATES],
    )
    return list(cursor.fetchall())  # type: ignore[attr-defined]


def _correct(cursor: object, word: str, vocab: str) -> list[str]:
    """``[word]`` if a name holds it, else the closest dictionary words (the fewest edits,
    the most common first; ``OPTIONS_PER_WORD`` at most), else ``[]``."""
    if word.isdigit():
        return [word]
    cursor.execute(f"SELECT 1 FROM {vocab} WHERE term = %s", [word])  # type: ignore[attr-defined]
    if cursor.fetchone() is not None:  # type: ignore[attr-defined]
        return [word]
    if len(word) < MIN_WORD:
        return []  # too short to correct: too many words are one edit away
    allowed = 2 if len(word) >= 8 else 1
    start = word[:2] if len(word) > 4 else word[:1]
    cursor.execute(  # type: ignore[attr-defined]
        f"SELECT term, doc FROM {vocab} WHERE term >= %s AND term < %s LIMIT %s",
        [start, start + "\U0010ffff", CANDIDATES_PER_WORD],
    )
    close = []
    for term, documents in cursor.fetchall():  # type: ignore[attr-defined]
        if abs(len(term) - len(word)) > allowed:
            continue
        distance = edit_distance(word, term, limit=allowed)
        if distance <= allowed:
            close.append((distance, -documents, term))
    return [term for _, _, term in sorted(close)[:OPTIONS_PER_WORD]]


def edit_distance(a: str, b: str, *, limit: int) -> int:
    """Optimal string alignment distance (insert, delete, substitute, swap two neighbours),
    or ``limit + 1`` as soon as it must exceed ``limit``."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, start=1):
            cost = 0 if char_a == char_b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


# --- both ---------------------------------------------------------------------------------------


def _name(first: str, last: str) -> str:
    return f"{first} {last}".strip()


def _best_name(text: str, display: str, legal: str, trading: str) -> str:
    """Of a customer's names, the one most like ``text`` (what the hit shows)."""
    candidates = [name for name in (display, legal, trading) if name]
    return max(candidates, key=lambda name: _likeness(text, name), default=display)


def _likeness(text: str, name: str) -> float:
    """How alike ``text`` is to the best run of as many words in ``name`` (0–1), so that
    a long name is not penalised for the words the term did not mention. Alike is shared
    trigrams over all trigrams, as ``pg_trgm`` measures it."""
    typed = words_of(text)
    words = words_of(name)
    size = max(min(len(typed), len(words)), 1)
    wanted = _trigrams(" ".join(typed))
    best = 0.0
    for i in range(max(len(words) - size + 1, 1)):
        run = _trigrams(" ".join(words[i : i + size]))
        best = max(best, len(wanted & run) / max(len(wanted | run), 1))
    return best


def _trigrams(text: str) -> set[str]:
    padded = f"  {text} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}
