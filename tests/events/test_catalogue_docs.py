"""docs/events.md, events/catalogue.py and the code's publish(...) calls tell one story.

- every catalogued type is documented in a table of docs/events.md, every family has a full
  example, and the examples have exactly the envelope webhooks and the feed send;
- every type the code publishes is catalogued, and every catalogued type is published
  (found by reading the source with ``ast``, including the helpers that pass a type on);
- ``publish`` refuses a type missing from the catalogue;
- the retry schedule the docs promise is the one in webhooks/schedule.py.
"""

from __future__ import annotations

import ast
import json
import re
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from clientdesk.core.actor import Actor
from clientdesk.events.catalogue import EVENT_TYPES, FAMILIES
from clientdesk.events.models import Event
from clientdesk.events.publish import publish
from clientdesk.webhooks import payload, schedule

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "events.md"
SOURCE = ROOT / "clientdesk"


def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


def catalogue_section() -> str:
    return doc_text().split("\n## Catalogue", 1)[1]


def table_types(text: str) -> set[str]:
    """The `type` in the first cell of every table row."""
    return set(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", text, flags=re.MULTILINE))


def json_examples() -> list[dict]:
    blocks = re.findall(r"```json\n(.*?)\n```", doc_text(), flags=re.DOTALL)
    assert blocks, "docs/events.md has no JSON examples"
    examples = []
    for block in blocks:
        try:
            examples.append(json.loads(block))
        except json.JSONDecodeError as error:  # pragma: no cover - the message is the point
            pytest.fail(f"an example in docs/events.md is not valid JSON: {error}\n{block}")
    return examples


def envelope_keys() -> set[str]:
    event = Event(type="customer.updated", occurred_at=timezone.now(), data={}, actor={})
    return set(payload.envelope(event))


# --- the documentation --------------------------------------------------------------------


def test_every_catalogued_type_has_a_row_in_the_catalogue() -> None:
    documented = table_types(catalogue_section())
    missing = sorted(set(EVENT_TYPES) - documented)
    assert not missing, f"document these in docs/events.md (a table row each): {missing}"


def test_the_docs_list_no_type_the_catalogue_lacks() -> None:
    unknown = sorted(table_types(catalogue_section()) - set(EVENT_TYPES))
    assert not unknown, f"docs/events.md documents types that do not exist: {unknown}"


def test_every_family_has_a_full_example_with_the_real_envelope() -> None:
    keys = envelope_keys()
    families_shown = set()
    for example in json_examples():
        if "type" not in example:
            continue
        assert set(example) == keys, f"{example['type']}: envelope keys {sorted(example)}"
        assert example["type"] in EVENT_TYPES, example["type"]
        assert re.fullmatch(r"evt_[0-9a-f]{32}", example["id"]), example["id"]
        assert set(example["actor"]) >= {"user_id", "impersonator_id", "source"}
        if example["customer"] is None:
            assert example["sequence"] is None, example["type"]
        else:
            assert re.fullmatch(r"C-\d+", example["customer"])
            assert isinstance(example["sequence"], int)
        families_shown.add(example["type"].split(".", 1)[0])
    missing = sorted(set(FAMILIES) - families_shown)
    assert not missing, f"give a full JSON example for these families: {missing}"


def test_the_envelope_table_explains_every_key() -> None:
    envelope = doc_text().split("## The envelope", 1)[1].split("\n## ", 1)[0]
    explained = set(re.findall(r"^\| `([a-z_]+)` \|", envelope, flags=re.MULTILINE))
    assert explained == envelope_keys()


def _delay_text(delay: timedelta) -> str:
    seconds = int(delay.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def test_the_documented_retry_schedule_is_the_code_schedule() -> None:
    table = doc_text().split("<!-- retry-schedule:start -->")[1].split("<!-- retry-schedule:end")[0]
    rows = [line for line in table.strip().splitlines() if line.startswith("|")][2:]
    cells = [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]
    assert [int(row[0]) for row in cells] == list(range(1, schedule.MAX_ATTEMPTS + 1))
    assert [row[1] for row in cells[1:]] == [_delay_text(d) for d in schedule.RETRY_DELAYS]


# --- the code -----------------------------------------------------------------------------


class PublishedTypes:
    """Event types passed to ``publish(...)`` anywhere in clientdesk/, read from the source.

    A first argument may be a string, a conditional between strings, a local variable
    assigned such a value, or a parameter of the enclosing function: then the strings its
    callers pass are taken (``lifecycle.actions._status_changed(customer, verb, …)``).
    What cannot be resolved is reported, so a new indirection fails loudly here."""

    def __init__(self) -> None:
        self.types: dict[str, list[str]] = defaultdict(list)
        self.unresolved: list[str] = []
        for path in sorted(SOURCE.rglob("*.py")):
            if "migrations" in path.parts:
                continue
            self._module(path)

    def _module(self, path: Path) -> None:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        self.tree = tree
        self.parents = {
            child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _called(node) == "publish":
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                argument = node.args[0] if node.args else _keyword(node, "event_type")
                found = self._resolve(argument, node, depth=0) if argument else None
                if not found:
                    self.unresolved.append(where)
                    continue
                for event_type in found:
                    self.types[event_type].append(where)

    def _resolve(self, expr: ast.expr, at: ast.AST, *, depth: int) -> set[str] | None:
        if depth > 3:
            return None
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return {expr.value}
        if isinstance(expr, ast.IfExp):
            body = self._resolve(expr.body, at, depth=depth)
            orelse = self._resolve(expr.orelse, at, depth=depth)
            return body | orelse if body and orelse else None
        if not isinstance(expr, ast.Name):
            return None
        function = self._enclosing_function(at)
        if function is None:
            return None
        parameters = [a.arg for a in (*function.args.posonlyargs, *function.args.args)]
        keyword_only = [a.arg for a in function.args.kwonlyargs]
        if expr.id in parameters or expr.id in keyword_only:
            return self._from_callers(function, expr.id, parameters, depth=depth)
        values = [
            node.value
            for node in ast.walk(function)
            if isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == expr.id for t in node.targets)
        ]
        resolved = [self._resolve(value, value, depth=depth + 1) for value in values]
        if not resolved or any(r is None for r in resolved):
            return None
        return set().union(*resolved)  # type: ignore[arg-type]

    def _from_callers(
        self,
        function: ast.FunctionDef | ast.AsyncFunctionDef,
        name: str,
        positional: list[str],
        *,
        depth: int,
    ) -> set[str] | None:
        found: set[str] = set()
        for call in ast.walk(self.tree):
            if not isinstance(call, ast.Call) or _called(call) != function.name:
                continue
            argument = _keyword(call, name)
            if argument is None and name in positional:
                index = positional.index(name)
                argument = call.args[index] if index < len(call.args) else None
            resolved = self._resolve(argument, call, depth=depth + 1) if argument else None
            if resolved is None:
                return None
            found |= resolved
        return found or None

    def _enclosing_function(self, node: ast.AST) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                return node
        return None


def _called(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


@pytest.fixture(scope="module")
def published() -> PublishedTypes:
    return PublishedTypes()


def test_every_publish_call_names_its_type_readably(published: PublishedTypes) -> None:
    assert not published.unresolved, (
        "publish(...) calls whose event type this test cannot read (pass a string, or a "
        f"parameter its callers give as a string): {published.unresolved}"
    )


def test_helpers_that_pass_the_type_on_are_followed(published: PublishedTypes) -> None:
    """The resolver really follows ``_status_changed(…, "customer.suspended", …)`` and
    ``verb = "…enabled" if active else "…disabled"`` (else the next test proves little)."""
    for event_type in (
        "customer.suspended",
        "customer.unsuspended",
        "customer.closed",
        "customer.reopened",
    ):
        assert any("lifecycle/actions.py" in where for where in published.types[event_type])
    assert published.types["webhook_endpoint.enabled"]
    assert len(published.types["webhook_endpoint.disabled"]) == 2  # by staff, by the system


def test_every_published_type_is_catalogued(published: PublishedTypes) -> None:
    unknown = {t: where for t, where in published.types.items() if t not in EVENT_TYPES}
    assert not unknown, f"add these to events/catalogue.py and docs/events.md: {unknown}"


def test_every_catalogued_type_is_published_somewhere(published: PublishedTypes) -> None:
    stale = sorted(set(EVENT_TYPES) - set(published.types))
    assert not stale, f"catalogued but never published (remove, or publish them): {stale}"


@pytest.mark.django_db
def test_publish_refuses_a_type_missing_from_the_catalogue() -> None:
    before = Event.objects.count()
    with transaction.atomic(), pytest.raises(ValueError, match="catalogue"):
        publish("customer.teleported", actor=Actor.system(), data={})
    with transaction.atomic(), pytest.raises(ValueError, match="catalogue"):
        publish("contact.*", actor=Actor.system(), data={})  # a family is not a type
    assert Event.objects.count() == before
    with transaction.atomic():
        publish("customer.updated", actor=Actor.system(), data={})  # a catalogued one is fine
    assert Event.objects.count() == before + 1
