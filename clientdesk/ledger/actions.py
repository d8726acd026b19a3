"""Posting to the ledger, reversing an entry, and switching a customer's billing mode.

Every posting runs in one transaction that first locks the customer's row. That lock is what
makes money safe under concurrency: two charges against the same balance run one after the
other (PostgreSQL row lock; SQLite's IMMEDIATE transactions serialise writers anyway), and a
close (``lifecycle.actions.close_customer``) takes the same lock, so a payment cannot slip in
between the close's "balance is zero" check and the close itself.

Rules (seed 001, "Manage payment matters"):

- prepaid: the balance (credits available) never goes below zero;
- postpaid: charges may create debt down to minus the credit limit (no limit set: no debt);
- a withdrawal pays out credits, so it cannot exceed them; a debt payment settles debt, so
  it cannot exceed the debt (the rest is a top-up);
- a closed account takes no postings;
- an idempotency key identifies a posting: the same key with the same body returns the
  first answer; with a different body it is refused.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from clientdesk.audit.record import record
from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.core.money import AmountError, format_amount, parse_amount
from clientdesk.customers import validators
from clientdesk.customers.models import Customer
from clientdesk.events.publish import publish
from clientdesk.users.roles import BILLING, MANAGER, has_staff_role

from .models import Balance, Entry

Kind = Entry.Kind
# Kinds a person posts by hand; reversals come from ``reverse_entry``.
POSTABLE_KINDS = (Kind.TOP_UP, Kind.CHARGE, Kind.WITHDRAWAL, Kind.DEBT_PAYMENT, Kind.ADJUSTMENT)
DEBIT_KINDS = frozenset({Kind.CHARGE, Kind.WITHDRAWAL})
DESCRIPTION_MAX = 300
REFERENCE_MAX = 100
REASON_MAX = 500
KEY_MAX = 100


@dataclass(frozen=True)
class Posting:
    """What a posting did: the entry, the balance right after it, and whether this call
    created it (False: the idempotency key had already been used with the same body)."""

    entry: Entry
    balance: Decimal
    created: bool


@dataclass(frozen=True)
class Preview:
    """What a posting would do, for the confirmation screen: the signed amount and the
    resulting balance. Checked against the same rules; the real posting checks again."""

    amount: Decimal
    balance_before: Decimal
    balance_after: Decimal


# --- who may post ------------------------------------------------------------------------


def _check_poster(actor: Actor) -> None:
    """Staff postings need the billing group (DESIGN §4); the provider's systems post
    through the API or jobs; customers never post money themselves."""
    if actor.source == Source.STAFF:
        if not has_staff_role(actor.user, BILLING):
            raise DomainError(ErrorCode.NOT_ALLOWED, "Only the billing team posts to the ledger.")
    elif actor.source == Source.PORTAL or actor.impersonator is not None:
        raise DomainError(ErrorCode.NOT_ALLOWED, "Ledger postings are made by the provider.")


# --- input --------------------------------------------------------------------------------


def _clean_text(value: Any, name: str, limit: int, errors: dict[str, list[str]]) -> str:
    try:
        text = validators.clean_text(str(value or ""))
    except Exception as exc:  # ValidationError: control characters and the like
        errors[name] = list(getattr(exc, "messages", [str(exc)]))
        return ""
    if len(text) > limit:
        errors[name] = [f"Keep this under {limit} characters (it has {len(text)})."]
    return text


def _signed_amount(kind: str, amount: Any, currency: str, direction: str) -> Decimal:
    value = parse_amount(amount, currency)
    if kind in DEBIT_KINDS:
        return -value
    if kind == Kind.ADJUSTMENT:
        if direction not in ("credit", "debit"):
            raise AmountError("Say whether the adjustment credits or debits the account.")
        return value if direction == "credit" else -value
    return value


def _fingerprint(**body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class _Request:
    kind: str
    amount: Decimal
    description: str
    external_reference: str
    reason: str
    key: str
    fingerprint: str


def _validated(
    customer: Customer,
    *,
    kind: str,
    amount: Any,
    description: str,
    external_reference: str,
    reason: str,
    idempotency_key: str,
    direction: str,
) -> _Request:
    errors: dict[str, list[str]] = {}
    if kind not in POSTABLE_KINDS:
        errors["kind"] = ["Choose top-up, charge, withdrawal, debt payment or adjustment."]
    signed = Decimal(0)
    try:
        if not errors:
            signed = _signed_amount(kind, amount, customer.currency, direction)
    except AmountError as exc:
        errors["direction" if "adjustment credits" in str(exc) else "amount"] = [str(exc)]
    clean_description = _clean_text(description, "description", DESCRIPTION_MAX, errors)
    if not clean_description and "description" not in errors:
        errors["description"] = ["Describe the entry; the customer reads it on their statement."]
    reference = _clean_text(external_reference, "external_reference", REFERENCE_MAX, errors)
    clean_reason = _clean_text(reason, "reason", REASON_MAX, errors)
    if kind == Kind.ADJUSTMENT and not clean_reason and "reason" not in errors:
        errors["reason"] = ["An adjustment needs a reason."]
    key = str(idempotency_key or "").strip()
    if not key or len(key) > KEY_MAX or not key.isprintable():
        errors["idempotency_key"] = [f"Send an idempotency key of 1 to {KEY_MAX} characters."]
    if errors:
        raise DomainError(ErrorCode.INVALID, "Check the highlighted fields.", errors=errors)
    return _Request(
        kind=kind,
        amount=signed,
        description=clean_description,
        external_reference=reference,
        reason=clean_reason,
        key=key,
        fingerprint=_fingerprint(
            kind=kind,
            amount=str(signed),
            description=clean_description,
            external_reference=reference,
            reason=clean_reason,
        ),
    )


# --- the rules ----------------------------------------------------------------------------


def _limit_floor(customer: Customer) -> Decimal:
    """The lowest balance allowed: zero for prepaid, minus the credit limit for postpaid."""
    if customer.billing_mode == Customer.BillingMode.POSTPAID:
        return -(customer.credit_limit or Decimal("0"))
    return Decimal("0")


def _check_rules(customer: Customer, kind: str, amount: Decimal, before: Decimal) -> Decimal:
    """The balance after posting ``amount`` of ``kind``; refuses a posting that breaks a rule."""
    after = before + amount
    currency = customer.currency
    if kind == Kind.WITHDRAWAL and -amount > max(before, Decimal("0")):
        raise DomainError(
            ErrorCode.CONFLICT,
            f"Only {format_amount(max(before, Decimal('0')), currency)} in credits can be "
            "withdrawn.",
            field="amount",
        )
    if kind == Kind.DEBT_PAYMENT:
        debt = max(-before, Decimal("0"))
        if debt == 0:
            raise DomainError(
                ErrorCode.CONFLICT,
                "There is no debt to pay; record the payment as a credit top-up.",
                field="kind",
            )
        if amount > debt:
            raise DomainError(
                ErrorCode.CONFLICT,
                f"The debt is {format_amount(debt, currency)}; record the rest as a top-up.",
                field="amount",
            )
    if amount < 0 and after < _limit_floor(customer):
        if customer.billing_mode == Customer.BillingMode.PREPAID:
            message = (
                f"Not enough credits: {format_amount(before, currency)} available, "
                f"{format_amount(-amount, currency)} asked."
            )
        else:
            limit = customer.credit_limit or Decimal("0")
            message = (
                f"Over the credit limit of {format_amount(limit, currency)}: the balance "
                f"would be {format_amount(after, currency)}."
            )
        raise DomainError(ErrorCode.CONFLICT, message, field="amount")
    return after


def _locked_customer(customer: Customer) -> Customer:
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    if locked.status == Customer.Status.CLOSED:
        raise DomainError(ErrorCode.CONFLICT, "The account is closed; it takes no postings.")
    return locked


def _locked_balance(customer: Customer) -> Balance:
    balance, _ = Balance.objects.get_or_create(customer=customer)
    return Balance.objects.select_for_update().get(pk=balance.pk)


def _replay(customer: Customer, key: str, fingerprint: str) -> Posting | None:
    """The first answer for ``key``, or None if the key is new."""
    existing = Entry.objects.filter(customer=customer, idempotency_key=key).first()
    if existing is None:
        return None
    if existing.fingerprint != fingerprint:
        raise DomainError(
            ErrorCode.CONFLICT,
            "This idempotency key was already used for a different posting.",
            field="idempotency_key",
        )
    return Posting(existing, existing.balance_after, created=False)


# --- actions ------------------------------------------------------------------------------


def preview_entry(
    customer: Customer,
    *,
    kind: str,
    amount: Any,
    description: str,
    actor: Actor,
    direction: str = "",
    external_reference: str = "",
    reason: str = "",
) -> Preview:
    """The confirmation screen's numbers: validates like ``post_entry``, writes nothing."""
    _check_poster(actor)
    request = _validated(
        customer,
        kind=kind,
        amount=amount,
        description=description,
        external_reference=external_reference,
        reason=reason,
        idempotency_key="preview",
        direction=direction,
    )
    before = balance_now(customer)
    after = _check_rules(customer, request.kind, request.amount, before)
    return Preview(amount=request.amount, balance_before=before, balance_after=after)


def balance_now(customer: Customer) -> Decimal:
    row = Balance.objects.filter(customer=customer).values_list("amount", flat=True).first()
    return row if row is not None else Decimal("0.00")


def post_entry(
    customer: Customer,
    *,
    kind: str,
    amount: Any,
    description: str,
    idempotency_key: str,
    actor: Actor,
    direction: str = "",
    external_reference: str = "",
    reason: str = "",
) -> Posting:
    """Post one entry (top-up, charge, withdrawal, debt payment or adjustment).

    ``amount`` is positive text or Decimal; the kind gives the sign (an adjustment's
    ``direction`` is ``credit`` or ``debit``). Refused with ``DomainError``: bad input
    (``invalid``), a broken balance rule, a closed account or a reused key (``conflict``).
    """
    _check_poster(actor)
    request = _validated(
        customer,
        kind=kind,
        amount=amount,
        description=description,
        external_reference=external_reference,
        reason=reason,
        idempotency_key=idempotency_key,
        direction=direction,
    )
    return _post(customer, request, actor=actor, reverses=None)


def reverse_entry(entry: Entry, *, reason: str, idempotency_key: str, actor: Actor) -> Posting:
    """Post the opposite of ``entry``: the correction of a mistake (entries never change).

    A reversal is never reversed itself, and an entry is reversed at most once. A reversal
    that would break the balance rules (a spent prepaid top-up) is refused like any debit.
    """
    _check_poster(actor)
    errors: dict[str, list[str]] = {}
    clean_reason = _clean_text(reason, "reason", REASON_MAX, errors)
    if not clean_reason and "reason" not in errors:
        errors["reason"] = ["Say why the entry is reversed."]
    key = str(idempotency_key or "").strip()
    if not key or len(key) > KEY_MAX or not key.isprintable():
        errors["idempotency_key"] = [f"Send an idempotency key of 1 to {KEY_MAX} characters."]
    if errors:
        raise DomainError(ErrorCode.INVALID, "Check the highlighted fields.", errors=errors)
    request = _Request(
        kind=Kind.REVERSAL,
        amount=-entry.amount,
        description=f"Reversal of entry {entry.pk}: {entry.description}"[:DESCRIPTION_MAX],
        external_reference=entry.external_reference,
        reason=clean_reason,
        key=key,
        fingerprint=_fingerprint(kind=Kind.REVERSAL, reverses=entry.pk, reason=clean_reason),
    )
    return _post(entry.customer, request, actor=actor, reverses=entry)


def _post(
    customer: Customer, request: _Request, *, actor: Actor, reverses: Entry | None
) -> Posting:
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        replay = _replay(locked, request.key, request.fingerprint)
        if replay is not None:
            return replay
        if locked.status == Customer.Status.CLOSED:
            raise DomainError(ErrorCode.CONFLICT, "The account is closed; it takes no postings.")
        if reverses is not None:
            _check_reversible(reverses, locked)
        balance = _locked_balance(locked)
        before = balance.amount
        after = _check_rules(locked, request.kind, request.amount, before)
        entry = Entry.objects.create(
            customer=locked,
            kind=request.kind,
            amount=request.amount,
            currency=locked.currency,
            balance_after=after,
            description=request.description,
            external_reference=request.external_reference,
            reason=request.reason,
            idempotency_key=request.key,
            fingerprint=request.fingerprint,
            reverses=reverses,
            actor=actor.user,
            actor_label=actor.label[:300],
            impersonator=actor.impersonator,
            source=actor.interface.value,
        )
        Balance.objects.filter(pk=balance.pk).update(
            amount=after, entry_count=balance.entry_count + 1, updated_at=timezone.now()
        )
        if locked.first_ledger_entry_at is None:  # the currency is fixed from now on
            Customer.objects.filter(pk=locked.pk).update(first_ledger_entry_at=entry.created_at)
        record(
            "ledger.entry_posted",
            actor=actor,
            customer=locked,
            target=entry,
            changes={
                "balance": [
                    format_amount(before, locked.currency),
                    format_amount(after, locked.currency),
                ],
                "entry": [None, str(entry)],
            },
            reason=request.reason or request.description,
        )
        publish(
            "ledger.entry_posted",
            actor=actor,
            customer=locked,
            data=entry_data(entry, locked),
        )
    return Posting(entry, after, created=True)


def _check_reversible(entry: Entry, customer: Customer) -> None:
    if entry.customer_id != customer.pk:
        raise DomainError(ErrorCode.NOT_FOUND, "No such entry.")
    if entry.kind == Kind.REVERSAL:
        raise DomainError(
            ErrorCode.CONFLICT, "A reversal is not reversed; post a new entry instead."
        )
    if Entry.objects.filter(reverses=entry).exists():
        raise DomainError(ErrorCode.CONFLICT, f"Entry {entry.pk} has already been reversed.")


def entry_data(entry: Entry, customer: Customer) -> dict[str, Any]:
    """The entry as events (and later the API) show it. Amounts are strings, never floats."""
    return {
        "id": entry.pk,
        "customer": customer.client_id,
        "kind": entry.kind,
        "amount": str(entry.amount),
        "currency": entry.currency,
        "balance_after": str(entry.balance_after),
        "description": entry.description,
        "external_reference": entry.external_reference,
        "idempotency_key": entry.idempotency_key,
        "reverses": entry.reverses_id,
        "created_at": entry.created_at.isoformat(),
    }


# --- billing mode -------------------------------------------------------------------------


def change_billing_mode(
    customer: Customer,
    *,
    billing_mode: str,
    credit_limit: Any,
    reason: str,
    actor: Actor,
) -> Customer:
    """Switch prepaid ↔ postpaid or change the credit limit (managers, with a reason).

    Postpaid → prepaid only with no debt (a prepaid balance cannot be negative). A credit
    limit is for postpaid accounts only and may not be set below the current debt.
    """
    if actor.source != Source.STAFF or not has_staff_role(actor.user, MANAGER):
        raise DomainError(ErrorCode.NOT_ALLOWED, "Only managers change the billing mode.")
    errors: dict[str, list[str]] = {}
    clean_reason = _clean_text(reason, "reason", REASON_MAX, errors)
    if not clean_reason and "reason" not in errors:
        errors["reason"] = ["Say why the billing mode or limit changes."]
    if billing_mode not in Customer.BillingMode.values:
        errors["billing_mode"] = ["Choose prepaid or postpaid."]
    limit: Decimal | None = None
    if billing_mode == Customer.BillingMode.POSTPAID:
        try:
            limit = parse_amount(
                "0" if credit_limit in (None, "") else credit_limit,
                customer.currency,
                allow_zero=True,
            )
        except AmountError as exc:
            errors["credit_limit"] = [str(exc)]
    if errors:
        raise DomainError(ErrorCode.INVALID, "Check the highlighted fields.", errors=errors)
    with transaction.atomic():
        locked = _locked_customer(customer)
        before = balance_now(locked)
        if billing_mode == Customer.BillingMode.PREPAID and before < 0:
            raise DomainError(
                ErrorCode.CONFLICT,
                f"The account owes {format_amount(-before, locked.currency)}; it can become "
                "prepaid once the debt is paid.",
                field="billing_mode",
            )
        if limit is not None and before < -limit:
            raise DomainError(
                ErrorCode.CONFLICT,
                f"The account owes {format_amount(-before, locked.currency)}; the credit limit "
                "cannot be lower than the debt.",
                field="credit_limit",
            )
        old = {"billing_mode": locked.billing_mode, "credit_limit": locked.credit_limit}
        new = {"billing_mode": billing_mode, "credit_limit": limit}
        changes = {
            name: [_json(old[name]), _json(new[name])] for name in old if old[name] != new[name]
        }
        if not changes:
            return locked
        locked.billing_mode = billing_mode
        locked.credit_limit = limit
        locked.version += 1
        locked.save(update_fields=["billing_mode", "credit_limit", "version", "updated_at"])
        record(
            "customer.billing_mode_changed",
            actor=actor,
            customer=locked,
            target=locked,
            changes=changes,
            reason=clean_reason,
        )
        publish(
            "customer.updated",
            actor=actor,
            customer=locked,
            data={
                "number": locked.client_id,
                "section": "account",
                "version": locked.version,
                "changed_fields": sorted(changes),
                "values": {name: new_value for name, (_, new_value) in changes.items()},
                "changes": changes,
            },
        )
    return locked


def _json(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value
