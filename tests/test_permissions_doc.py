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
