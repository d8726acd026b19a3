"""docs/permissions.md shows the same role → capability table as customers/roles.py."""

from __future__ import annotations

import re
from pathlib import Path

from clientdesk.customers.roles import CAPABILITIES, Capability, Role

DOC = Path(__file__).resolve().parent.parent / "docs" / "permissions.md"


def documented_table() -> dict[str, dict[str, bool]]:
    text = DOC.read_text()
    table = text.split("<!-- capability-table:start -->")[1].split("<!-- capability-table:end -->")[
        0
    ]
    rows = [line for line in table.strip().splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    roles = header[1:]
    result: dict[str, dict[str, bool]] = {}
    for line in rows[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        capability = re.search(r"`([^`]+)`", cells[0])
        assert capability, f"no capability code in row: {line}"
        result[capability.group(1)] = {
            role: mark == "✓" for role, mark in zip(roles, cells[1:], strict=True)
        }
    return result


def test_the_documented_table_is_the_code_table() -> None:
    from_code = {
        capability.value: {role.value: capability in CAPABILITIES[role] for role in Role}
        for capability in Capability
    }
    assert documented_table() == from_code


def policy_table_from_code() -> str:
    """The field-policy table as docs/permissions.md should show it."""
    from clientdesk.customers.policy import FIELDS, SECTION_EDIT_CAPABILITY, SECTION_TITLES

    lines = [
        "| section | field | mode | customers who see it | edited in the portal by | locks |",
        "|---|---|---|---|---|---|",
    ]
    for spec in FIELDS:
        viewers = "all roles" if len(spec.view) == len(Role) else ", ".join(sorted(spec.view))
        capability = SECTION_EDIT_CAPABILITY[spec.section]
        editors = (
            ", ".join(role.value for role in Role if capability in CAPABILITIES[role])
            if capability
            else "—"
        )
        locks = "; ".join(lock.reason for lock in spec.locks) or "—"
        lines.append(
            f"| {SECTION_TITLES[spec.section]} | `{spec.name}` {spec.label} | {spec.mode} "
            f"| {viewers} | {editors} | {locks} |"
        )
    return "\n".join(lines)


def test_the_documented_field_policy_is_the_code_policy() -> None:
    text = DOC.read_text()
    documented = text.split("<!-- field-policy:start -->")[1].split("<!-- field-policy:end -->")[0]
    expected = policy_table_from_code()
    assert documented.strip() == expected, "docs/permissions.md is stale; paste:\n" + expected
