"""What an API key may be allowed to do. A scope only narrows: the key's maker must also
hold the right (their contact role or staff group) at the time of each request."""

from __future__ import annotations

SCOPES: dict[str, str] = {
    "customers:read": "Read customers and their profile",
    "customers:write": "Open customers (staff) and change profile sections",
    "contacts:read": "Read contacts",
    "contacts:write": "Add, change and remove contacts; switch portal access",
    "change_requests:read": "Read change requests and their threads",
    "change_requests:write": "Submit, comment on and cancel change requests",
    "change_requests:decide": "Approve and reject change requests (staff)",
    "notes:read": "Read staff notes (staff)",
    "notes:write": "Add staff notes (staff)",
    "ledger:read": "Read balances and ledger entries",
    "ledger:write": "Post ledger entries (staff, billing group)",
    "events:read": "Read the event feed",
    "webhooks:manage": "Manage webhook endpoints (staff, managers)",
}
# What a customer's own key may hold: their own data, never staff work.
CUSTOMER_SCOPES = frozenset(
    {
        "customers:read",
        "customers:write",
        "contacts:read",
        "contacts:write",
        "change_requests:read",
        "change_requests:write",
        "ledger:read",
        "events:read",
    }
)
