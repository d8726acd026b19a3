# ruff: noqa: S608 -- the SQL is assembled from constant fragments of this module only;
# every value a user typed is a bound parameter.
"""The SQL behind the staff search: the searched expressions and their indexes.

Migration 0007 creates these indexes from this module, and ``customers/search.py`` queries
the same expressions, so an index and the query that needs it are written once. Changing an
expression here needs a new migration that drops and recreates its index.
"""

from __future__ import annotations


def customer_names(alias: str = "") -> str:
    """A customer's names as one text: display name, then the legal and trading names when
    they differ (so a name is not indexed twice). `` | `` keeps a match from spanning two."""
    p = f"{alias}." if alias else ""
    return (
        f"{p}display_name"
        f" || CASE WHEN {p}legal_name NOT IN ('', {p}display_name)"
        f" THEN ' | ' || {p}legal_name ELSE '' END"
        f" || CASE WHEN {p}trading_name NOT IN ('', {p}display_name, {p}legal_name)"
        f" THEN ' | ' || {p}trading_name ELSE '' END"
    )


def contact_name(alias: str = "") -> str:
    p = f"{alias}." if alias else ""
    return f"{p}first_name || ' ' || {p}last_name"


# SQLite: FTS5 trigram tables hold the names (contentless: only the index, no copy of the
# text); triggers keep them in step. ``case_sensitive 0`` folds case, Unicode included.
_SQLITE_FTS = [
    "CREATE VIRTUAL TABLE customers_customer_search USING fts5("
    "names, content='', tokenize='trigram case_sensitive 0')",
    "CREATE VIRTUAL TABLE customers_contact_search USING fts5("
    "name, content='', tokenize='trigram case_sensitive 0')",
]


def _sqlite_triggers(table: str, fts: str, column: str, expression: str, watched: str) -> list[str]:
    new = expression.replace("{row}", "new")
    old = expression.replace("{row}", "old")
    delete_old = f"INSERT INTO {fts}({fts}, rowid, {column}) VALUES ('delete', old.id, {old});"
    insert_new = f"INSERT INTO {fts}(rowid, {column}) VALUES (new.id, {new});"
    return [
        f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN {insert_new} END",
        f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN {delete_old} END",
        f"CREATE TRIGGER {fts}_au AFTER UPDATE OF {watched} ON {table} "
        f"BEGIN {delete_old} {insert_new} END",
    ]


_SQLITE_TRIGGERS = _sqlite_triggers(
    "customers_customer",
    "customers_customer_search",
    "names",
    customer_names("{row}"),
    "display_name, legal_name, trading_name",
) + _sqlite_triggers(
    "customers_contact",
    "customers_contact_search",
    "name",
    contact_name("{row}"),
    "first_name, last_name",
)

SQLITE_BACKFILL = [
    "INSERT INTO customers_customer_search(rowid, names) "
    f"SELECT id, {customer_names()} FROM customers_customer",
    "INSERT INTO customers_contact_search(rowid, name) "
    f"SELECT id, {contact_name()} FROM customers_contact",
]

# SQLite word indexes for the typo-tolerant "similar names" search (migration 0010): the
# same names split into words (unicode61: letters and digits, case and accents folded). Their
# ``fts5vocab`` tables list every distinct word with how many rows hold it — the dictionary a
# misspelt word is corrected against (``customers/search_similar.py``).
SQLITE_WORD_TABLES = ["customers_customer_words", "customers_contact_words"]
SQLITE_WORD_VOCABS = [f"{table}_vocab" for table in SQLITE_WORD_TABLES]
_SQLITE_WORDS = [
    "CREATE VIRTUAL TABLE customers_customer_words USING fts5("
    "names, content='', tokenize='unicode61 remove_diacritics 2')",
    "CREATE VIRTUAL TABLE customers_contact_words USING fts5("
    "name, content='', tokenize='unicode61 remove_diacritics 2')",
    "CREATE VIRTUAL TABLE customers_customer_words_vocab USING fts5vocab("
    "customers_customer_words, row)",
    "CREATE VIRTUAL TABLE customers_contact_words_vocab USING fts5vocab("
    "customers_contact_words, row)",
]
_SQLITE_WORD_TRIGGERS = _sqlite_triggers(
    "customers_customer",
    "customers_customer_words",
    "names",
    customer_names("{row}"),
    "display_name, legal_name, trading_name",
) + _sqlite_triggers(
    "customers_contact",
    "customers_contact_words",
    "name",
    contact_name("{row}"),
    "first_name, last_name",
)
SQLITE_WORDS_BACKFILL = [
    "INSERT INTO customers_customer_words(rowid, names) "
    f"SELECT id, {customer_names()} FROM customers_customer",
    "INSERT INTO customers_contact_words(rowid, name) "
    f"SELECT id, {contact_name()} FROM customers_contact",
]
SQLITE_WORDS_CREATE = _SQLITE_WORDS + _SQLITE_WORD_TRIGGERS
SQLITE_WORDS_DROP = [
    *(f"DROP TRIGGER IF EXISTS {t}_{s}" for t in SQLITE_WORD_TABLES for s in ("ai", "ad", "au")),
    *(f"DROP TABLE IF EXISTS {vocab}" for vocab in SQLITE_WORD_VOCABS),
    *(f"DROP TABLE IF EXISTS {table}" for table in SQLITE_WORD_TABLES),
]

# PostgreSQL's dictionary of words in names (migration 0011), for the same correction: one
# row per distinct word per kind of name (0: customers' names, 1: contacts'), added by
# triggers as names are written (a word no name holds any more stays: harmless), with a
# trigram index to find the words like a misspelt one.
PG_WORD_KINDS = {"customer": 0, "contact": 1}


def _pg_words_of(expression: str) -> str:
    return (
        f"SELECT DISTINCT w FROM regexp_split_to_table(lower({expression}), '[^[:alnum:]]+') "
        "AS w WHERE length(w) >= 2"
    )


PG_WORDS_CREATE = [
    "CREATE TABLE customers_name_word (kind smallint NOT NULL, word text NOT NULL, "
    "PRIMARY KEY (word, kind))",
    # One trigram index per kind (partial): a lookup is "this kind, like this word".
    "CREATE INDEX customers_name_word_customer_trgm ON customers_name_word "
    "USING gin (word gin_trgm_ops) WHERE kind = 0",
    "CREATE INDEX customers_name_word_contact_trgm ON customers_name_word "
    "USING gin (word gin_trgm_ops) WHERE kind = 1",
    "CREATE FUNCTION customers_customer_words() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "INSERT INTO customers_name_word (kind, word) SELECT 0, w FROM "
    f"({_pg_words_of(customer_names('NEW'))}) AS words ON CONFLICT DO NOTHING; RETURN NULL; END $$",
    "CREATE FUNCTION customers_contact_words() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "INSERT INTO customers_name_word (kind, word) SELECT 1, w FROM "
    f"({_pg_words_of(contact_name('NEW'))}) AS words ON CONFLICT DO NOTHING; RETURN NULL; END $$",
]
PG_WORD_TRIGGERS = [
    "CREATE TRIGGER customers_customer_words AFTER INSERT OR UPDATE OF display_name, "
    "legal_name, trading_name ON customers_customer FOR EACH ROW "
    "EXECUTE FUNCTION customers_customer_words()",
    "CREATE TRIGGER customers_contact_words AFTER INSERT OR UPDATE OF first_name, last_name "
    "ON customers_contact FOR EACH ROW EXECUTE FUNCTION customers_contact_words()",
]
PG_WORD_TRIGGER_DROPS = [
    "DROP TRIGGER IF EXISTS customers_customer_words ON customers_customer",
    "DROP TRIGGER IF EXISTS customers_contact_words ON customers_contact",
]
_PG_WORDS_FILL = [
    "INSERT INTO customers_name_word (kind, word) SELECT DISTINCT 0, w FROM customers_customer c, "
    f"regexp_split_to_table(lower({customer_names('c')}), '[^[:alnum:]]+') AS w "
    "WHERE length(w) >= 2{where} ON CONFLICT DO NOTHING",
    "INSERT INTO customers_name_word (kind, word) SELECT DISTINCT 1, w FROM customers_contact c, "
    f"regexp_split_to_table(lower({contact_name('c')}), '[^[:alnum:]]+') AS w "
    "WHERE length(w) >= 2{where} ON CONFLICT DO NOTHING",
]
PG_WORDS_BACKFILL = [statement.replace("{where}", "") for statement in _PG_WORDS_FILL]
# Bulk loads fill the dictionary once for the id ranges they wrote.
PG_WORDS_FILL_RANGES = [
    statement.replace("{where}", " AND c.id BETWEEN %s AND %s") for statement in _PG_WORDS_FILL
]
PG_WORDS_DROP = [
    *PG_WORD_TRIGGER_DROPS,
    "DROP FUNCTION IF EXISTS customers_customer_words()",
    "DROP FUNCTION IF EXISTS customers_contact_words()",
    "DROP TABLE IF EXISTS customers_name_word",
]


def create_pg_word_dictionary(apps: object, schema_editor: object) -> None:
    """Migration 0011 (PostgreSQL): the dictionary, its triggers and its first fill."""
    if schema_editor.connection.vendor != "postgresql":  # type: ignore[attr-defined]
        return
    for statement in [*PG_WORDS_DROP, *PG_WORDS_CREATE, *PG_WORD_TRIGGERS, *PG_WORDS_BACKFILL]:
        schema_editor.execute(statement)  # type: ignore[attr-defined]


def drop_pg_word_dictionary(apps: object, schema_editor: object) -> None:
    if schema_editor.connection.vendor == "postgresql":  # type: ignore[attr-defined]
        for statement in PG_WORDS_DROP:
            schema_editor.execute(statement)  # type: ignore[attr-defined]


# Bulk loads (``demo/dataset.py``) pause the triggers and index each batch at once, by id
# range: one set-based statement is much cheaper than a trigger per row.
SQLITE_TRIGGERS = _SQLITE_TRIGGERS + _SQLITE_WORD_TRIGGERS
SQLITE_TRIGGER_NAMES = [
    f"{fts}_{suffix}"
    for fts in ("customers_customer_search", "customers_contact_search", *SQLITE_WORD_TABLES)
    for suffix in ("ai", "ad", "au")
]
SQLITE_INDEX_RANGES = (
    [
        statement + " WHERE id BETWEEN %s AND %s"
        for statement in (SQLITE_BACKFILL[0], SQLITE_WORDS_BACKFILL[0])
    ],
    [
        statement + " WHERE id BETWEEN %s AND %s"
        for statement in (SQLITE_BACKFILL[1], SQLITE_WORDS_BACKFILL[1])
    ],
)

# Exact-match indexes (both databases).
_EXACT = [
    "CREATE INDEX customers_contact_phone_search ON customers_contact (phone)",
    "CREATE INDEX customers_customer_phone_search ON customers_customer (phone)",
    "CREATE INDEX customers_customer_mobile_search ON customers_customer (mobile)",
    "CREATE INDEX customers_customer_regno_search ON customers_customer (registration_number)",
    "CREATE INDEX customers_customer_tin_search ON customers_customer (tin)",
]

# Prefix indexes: (lower(expression), id) so a prefix is a range and "more" a keyset.
_SQLITE_PREFIX = [
    "CREATE INDEX customers_customer_name_prefix ON customers_customer (lower(display_name), id)",
    "CREATE INDEX customers_contact_name_prefix ON customers_contact "
    f"(lower({contact_name()}), id)",
    "CREATE INDEX customers_contact_last_name_prefix ON customers_contact (lower(last_name), id)",
    "CREATE INDEX customers_contact_email_prefix ON customers_contact (lower(email), id)",
]

_PG_PREFIX = [
    "CREATE INDEX customers_customer_name_prefix ON customers_customer "
    '((lower(display_name) COLLATE "C"), id)',
    "CREATE INDEX customers_contact_name_prefix ON customers_contact "
    f'((lower({contact_name()}) COLLATE "C"), id)',
    "CREATE INDEX customers_contact_last_name_prefix ON customers_contact "
    '((lower(last_name) COLLATE "C"), id)',
    "CREATE INDEX customers_contact_email_prefix ON customers_contact "
    '((lower(email) COLLATE "C"), id)',
]

# fastupdate off: a GIN "pending list" makes a search slow (and the planner shy of the
# index) until vacuum merges it; a search index should answer the same at every moment.
_PG_TRIGRAM = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX customers_customer_names_trgm ON customers_customer "
    f"USING gin ((lower({customer_names()})) gin_trgm_ops) WITH (fastupdate = off)",
    "CREATE INDEX customers_contact_name_trgm ON customers_contact "
    f"USING gin ((lower({contact_name()})) gin_trgm_ops) WITH (fastupdate = off)",
]

PG_GIN_INDEXES = ["customers_customer_names_trgm", "customers_contact_name_trgm"]

CREATE: dict[str, list[str]] = {
    "sqlite": _SQLITE_FTS + _SQLITE_TRIGGERS + _EXACT + _SQLITE_PREFIX,
    "postgresql": _PG_TRIGRAM + _EXACT + _PG_PREFIX,
}

_INDEX_NAMES = [
    "customers_contact_phone_search",
    "customers_customer_phone_search",
    "customers_customer_mobile_search",
    "customers_customer_regno_search",
    "customers_customer_tin_search",
    "customers_customer_name_prefix",
    "customers_contact_name_prefix",
    "customers_contact_last_name_prefix",
    "customers_contact_email_prefix",
]

DROP: dict[str, list[str]] = {
    "sqlite": [
        *(f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_TRIGGER_NAMES),
        "DROP TABLE IF EXISTS customers_customer_search",
        "DROP TABLE IF EXISTS customers_contact_search",
        *(f"DROP INDEX IF EXISTS {name}" for name in _INDEX_NAMES),
    ],
    "postgresql": [
        "DROP INDEX IF EXISTS customers_customer_names_trgm",
        "DROP INDEX IF EXISTS customers_contact_name_trgm",
        *(f"DROP INDEX IF EXISTS {name}" for name in _INDEX_NAMES),
    ],
}


def restore_after_sqlite_table_remake(apps: object, schema_editor: object) -> None:
    """A migration step: SQLite applies some schema changes (a new check constraint, for
    one) by copying the table into a new one, which drops its triggers and our raw indexes.
    Every migration that remakes ``customers_customer`` or ``customers_contact`` ends with
    this step; it rebuilds the search index from the rows. PostgreSQL alters in place."""
    connection = schema_editor.connection  # type: ignore[attr-defined]
    if connection.vendor != "sqlite":
        return
    statements = [*DROP["sqlite"], *CREATE["sqlite"], *SQLITE_BACKFILL]
    if _has_table(connection, SQLITE_WORD_TABLES[0]):  # from migration 0010 on
        statements += [*SQLITE_WORDS_DROP, *SQLITE_WORDS_CREATE, *SQLITE_WORDS_BACKFILL]
    for statement in statements:
        schema_editor.execute(statement)  # type: ignore[attr-defined]


def rebuild_sqlite_word_index(apps: object, schema_editor: object) -> None:
    """Migration 0010: (re)create the word indexes and fill them from the rows."""
    if schema_editor.connection.vendor != "sqlite":  # type: ignore[attr-defined]
        return
    for statement in [*SQLITE_WORDS_DROP, *SQLITE_WORDS_CREATE, *SQLITE_WORDS_BACKFILL]:
        schema_editor.execute(statement)  # type: ignore[attr-defined]


def drop_sqlite_word_index(apps: object, schema_editor: object) -> None:
    if schema_editor.connection.vendor == "sqlite":  # type: ignore[attr-defined]
        for statement in SQLITE_WORDS_DROP:
            schema_editor.execute(statement)  # type: ignore[attr-defined]


def _has_table(connection: object, name: str) -> bool:
    with connection.cursor() as cursor:  # type: ignore[attr-defined]
        cursor.execute("SELECT 1 FROM sqlite_master WHERE name = %s", [name])
        return cursor.fetchone() is not None
