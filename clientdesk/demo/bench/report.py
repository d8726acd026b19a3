"""The bench's figures: one JSON file per database, and the table in docs/performance.md
(between the ``bench:begin``/``bench:end`` markers, so the prose around it stays)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def verdict(row: dict[str, Any], rows: dict[str, dict[str, Any]]) -> str:
    """ "met", "missed" or "" (no target) for one scenario's medians."""
    target, extra = row["target"], row.get("extra", {})
    checks: list[bool] = []
    if target.get("p95_ms") is not None:
        checks.append(row["p95"] <= target["p95_ms"])
    if target.get("bare_throughput_share") is not None and row.get("bare"):
        checks.append(
            row["throughput"] >= target["bare_throughput_share"] * row["bare"]["throughput"]
        )
    if target.get("max_ratio") is not None:
        ratio = extra.get("ratio")
        if ratio is None and "deep page" in row["name"]:
            first = rows.get(row["name"].replace("deep page", "page 1"))
            ratio = row["p50"] / first["p50"] if first and first["p50"] else None
            if ratio is not None:
                extra["ratio"] = ratio
        if ratio is not None:
            checks.append(ratio <= target["max_ratio"])
    if target.get("min_rate") is not None:
        checks.append(
            row["throughput"] >= target["min_rate"]
            and not extra.get("locked")
            and not extra.get("errors")
        )
    if not checks:
        return ""
    return "met" if all(checks) else "missed"


def _ms(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "—"  # not measured (the webhook bench reports no p99)
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}×"


def table(figures: dict[str, Any]) -> str:
    rows = {row["name"]: row for row in figures["scenarios"]}
    data = figures["data"]
    lines = [
        f"#### {NAMES.get(figures['vendor'], figures['vendor'])}: "
        f"{data['customers']:,} customers, {data['contacts']:,} contacts, "
        f"{data['activity']:,} activity rows, {data['ledger_entries']:,} ledger entries, "
        f"{data['change_requests']:,} change requests",
        "",
        f"Milliseconds (server time); {figures['rounds']} rounds × {figures['runs']} "
        "requests, medians of the rounds; "
        f"load average before: {figures['load_before']:.2f}; {figures['when']}.",
        "",
        "| scenario | p50 | p95 | p99 | req/s | SQL | raw SQL p50 | bare view p50 | hello p50 "
        "| p50 ÷ raw | p50 ÷ bare | req/s ÷ bare | target | |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for row in figures["scenarios"]:
        raw, bare, hello = row.get("raw"), row.get("bare"), row.get("hello")
        result = verdict(row, rows)
        flag = " ⚠ noisy" if row["noisy"] else ""
        lines.append(
            f"| {row['name']}{flag} | {_ms(row['p50'])} | {_ms(row['p95'])} | {_ms(row['p99'])} "
            f"| {row['throughput']:,.0f} | {row['sql'] or '—'} "
            f"| {_ms(raw and raw['p50'])} | {_ms(bare and bare['p50'])} "
            f"| {_ms(hello and hello['p50'])} "
            f"| {_ratio(raw and row['p50'] / raw['p50'] if raw and raw['p50'] else None)} "
            f"| {_ratio(bare and row['p50'] / bare['p50'] if bare and bare['p50'] else None)} "
            f"| {_ratio(bare and row['throughput'] / bare['throughput'] if bare else None)} "
            f"| {row['target'].get('text', '')} | {result} |"
        )
    extras = [
        f"- {row['name']}: "
        + ", ".join(f"{key} {value:,.2f}" for key, value in row["extra"].items())
        for row in figures["scenarios"]
        if row.get("extra")
    ]
    failed = [f"- **{name}: failed** — {why}" for name, why in figures.get("failures", {}).items()]
    return "\n".join([*lines, "", "Details:", "", *extras, *failed, ""])


def write_doc(doc: Path, figure_files: list[Path]) -> None:
    blocks = []
    for path in figure_files:
        figures = json.loads(path.read_text(encoding="utf-8"))
        blocks.append(table(figures))
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Performance\n"
    generated = (
        f"{BEGIN}\n<!-- written by `make bench` (manage.py bench --write-doc); "
        f"edit the prose outside the markers -->\n\n" + "\n".join(blocks) + f"\n{END}"
    )
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: generated, text)
    else:
        text = text.rstrip() + "\n\n" + generated + "\n"
    doc.write_text(text, encoding="utf-8")
