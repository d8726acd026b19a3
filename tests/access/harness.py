"""The access-matrix sweep: every route × every persona, compared with a matrix file.

Routes come from the URL resolver, so a new route cannot hide: if the matrix does not
mention it, the sweep reports it. Matrix keys are the route's name (``portal:home``) or,
for unnamed routes, ``path:<pattern>``; keys may be globs (``admin:*``). The most
specific key wins: an exact key over a glob, a longer glob over a shorter one.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

MATRIX_FILE = Path(__file__).with_name("matrix.toml")

# Persona groups a matrix entry may use instead of naming each persona.
GROUPS: dict[str, list[str]] = {
    "portal": [
        f"{c}_{r}" for c in "ab" for r in ("owner", "admin", "billing", "technical", "member")
    ],
    "staff": ["staff_support", "staff_billing", "staff_manager"],
}
GROUPS["signed_in"] = [*GROUPS["portal"], *GROUPS["staff"], "superuser"]
GROUPS["everyone"] = ["anonymous", *GROUPS["signed_in"]]


@dataclass(frozen=True)
class Route:
    key: str  # "namespace:name", or "path:<pattern>" when unnamed
    name: str | None
    pattern: str


def iter_routes(urlconf: str | None = None) -> Iterator[Route]:
    """Every reachable route of ``urlconf`` (first of each name wins, as in reverse())."""
    seen: set[str] = set()

    def walk(patterns: list[Any], prefix: str, namespace: str | None) -> Iterator[Route]:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                ns = namespace
                if entry.namespace:
                    ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
                yield from walk(entry.url_patterns, prefix + str(entry.pattern), ns)
            elif isinstance(entry, URLPattern):
                pattern = prefix + str(entry.pattern)
                name = entry.name and (f"{namespace}:{entry.name}" if namespace else entry.name)
                key = name or f"path:{pattern}"
                if key not in seen:
                    seen.add(key)
                    yield Route(key=key, name=name, pattern=pattern)

    yield from walk(get_resolver(urlconf).url_patterns, "", None)


def load_matrix(path: Path = MATRIX_FILE) -> dict[str, Any]:
    with path.open("rb") as handle:
        return tomllib.load(handle)


def entry_for(route: Route, matrix: dict[str, Any]) -> dict[str, Any] | None:
    routes: dict[str, Any] = matrix["route"]
    if route.key in routes:
        return dict(routes[route.key])
    globs = [
        key
        for key in routes
        if any(c in key for c in "*?[") and fnmatch.fnmatchcase(route.key, key)
    ]
    if not globs:
        return None
    return dict(routes[max(globs, key=len)])


def expected_status(entry: dict[str, Any], persona: str) -> list[int]:
    """The statuses allowed for ``persona``: its own key, else its narrowest group."""
    value = entry.get(persona)
    if value is None:
        for group in ("portal", "staff", "signed_in", "everyone"):
            if persona in GROUPS[group] and group in entry:
                value = entry[group]
                break
    if value is None:
        raise KeyError(persona)
    return value if isinstance(value, list) else [value]


def url_for(route: Route, entry: dict[str, Any], params: dict[str, str]) -> str:
    if "url" in entry:
        return str(entry["url"]).format(**params)
    kwargs = {**matrix_default_params(route, params), **entry.get("kwargs", {})}
    kwargs = {k: str(v).format(**params) for k, v in kwargs.items()}
    if route.name:
        return reverse(route.name, kwargs=kwargs or None)
    url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: kwargs[m.group(1)], route.pattern)
    return "/" + url.replace("^", "").replace("$", "")


def matrix_default_params(route: Route, params: dict[str, str]) -> dict[str, str]:
    names = re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>", route.pattern)
    flat = [a or b for a, b in names]
    return {name: params[name] for name in flat if name in params}


def sweep(
    clients: dict[str, Client],
    params: dict[str, str],
    urlconf: str | None = None,
    matrix: dict[str, Any] | None = None,
) -> list[str]:
    """GET every route as every persona; return the mismatches (empty list: all good)."""
    if urlconf is not None:
        with override_settings(ROOT_URLCONF=urlconf):
            return sweep(clients, params, None, matrix)
    matrix = matrix if matrix is not None else load_matrix()
    all_params = {**{k: str(v) for k, v in matrix.get("params", {}).items()}, **params}
    problems: list[str] = []
    for route in iter_routes(urlconf):
        entry = entry_for(route, matrix)
        if entry is None:
            problems.append(f"{route.key} ({route.pattern}): missing from the access matrix")
            continue
        try:
            url = url_for(route, entry, all_params)
        except (KeyError, Exception) as exc:
            problems.append(f"{route.key}: cannot build a URL ({exc!r}); add kwargs or url")
            continue
        for persona, client in clients.items():
            try:
                allowed = expected_status(entry, persona)
            except KeyError:
                problems.append(f"{route.key}: no expectation for persona {persona}")
                continue
            status = client.get(url, secure=False).status_code
            if status not in allowed:
                problems.append(
                    f"{route.key} GET {url} as {persona}: got {status}, matrix says {allowed}"
                )
    return problems
