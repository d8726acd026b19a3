"""Every state change of tax rules and tax exemptions (DESIGN §4: managers keep tax rules).

Rates change by adding a rule: a new rule for a country whose current rule is open-ended
ends that rule the day before it starts ("SST 6 % until 2024-02-29, 8 % from 2024-03-01"),
so the history stays and every date has at most one rule. A rule that has already applied
keeps its rate and start date (invoices may rest on it); a rule that has not started yet may
still be corrected.

Exemptions are staff-only: the Activity rows are ``staff_only`` and customers see only that
they are tax-exempt, never the reference or the reason.
"""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_countries import countries

from clientdesk.audit.record import record
from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers import validators
from clientdesk.customers.models import Customer
from clientdesk.events.publish import publish

from .models import TaxExemption, TaxRule, format_rate
from .rules import provider_today

# Staff groups that may keep tax rules and exemptions (superusers may too).
TAX_MANAGERS = frozenset({"manager"})
NAME_MAX = 40
REFERENCE_MAX = 100
REASON_MAX = 500
MAX_RATE = Decimal("100")
ONE_DAY = datetime.timedelta(days=1)


def may_manage_taxes(user: Any) -> bool:
    """Whether ``user`` may keep tax rules and exemptions (for pages deciding what to show)."""
    if user is None or not getattr(user, "is_staff", False):
        return False
    return bool(user.is_superuser or set(user.groups.values_list("name", flat=True)) & TAX_MANAGERS)


def _require_manager(actor: Actor) -> None:
    if actor.source == Source.SYSTEM:
        return
    if actor.source == Source.STAFF and may_manage_taxes(actor.user):
        return
    raise DomainError(ErrorCode.NOT_ALLOWED, "Only managers can change tax rules and exemptions.")


# --- rules ---------------------------------------------------------------------------------


def rule_resource(rule: TaxRule) -> dict[str, Any]:
    """A tax rule as events carry it."""
    return {
        "id": rule.pk,
        "country": rule.country_code,
        "name": rule.name,
        "rate": str(rule.rate),
        "effective_from": rule.effective_from.isoformat(),
        "effective_to": rule.effective_to.isoformat() if rule.effective_to else None,
    }


def add_tax_rule(
    *,
    country: str,
    name: str,
    rate: Decimal | str,
    effective_from: datetime.date,
    effective_to: datetime.date | None = None,
    reason: str = "",
    actor: Actor,
) -> TaxRule:
    """Add the tax ``country`` implies from ``effective_from`` (to ``effective_to``
    inclusive, or open-ended). A new open-ended rule replaces the open-ended rule that
    started earlier, which ends the day before (``tax_rule.ended``); any other overlap is
    refused (a rule for a limited period never cuts an open-ended one short)."""
    _require_manager(actor)
    errors: dict[str, list[str]] = {}
    code = _country(country, errors)
    clean_name = _name(name, errors)
    clean_rate = _rate(rate, errors)
    _period(effective_from, effective_to, errors)
    clean_reason = _reason(reason, errors, required=False)
    if errors:
        raise DomainError(ErrorCode.INVALID, "Check the highlighted fields.", errors=errors)
    with transaction.atomic():
        others = _locked_rules(code)
        previous = next(
            (
                r
                for r in others
                if effective_to is None  # a replacement, not an interlude
                and r.effective_to is None
                and r.effective_from < effective_from
            ),
            None,
        )
        ended_at = effective_from - ONE_DAY
        periods = [(r, ended_at if r is previous else r.effective_to) for r in others]
        _refuse_overlap(effective_from, effective_to, periods)
        if previous is not None:
            previous.effective_to = ended_at
            _save(previous, update_fields=["effective_to", "updated_at"])
            record(
                "tax_rule.ended",
                actor=actor,
                target=previous,
                changes={"effective_to": [None, ended_at.isoformat()]},
                reason=clean_reason or "Replaced by a new rule.",
            )
        rule = TaxRule(
            country=code,
            name=clean_name,
            rate=clean_rate,
            effective_from=effective_from,
            effective_to=effective_to,
        )
        _save(rule)
        if previous is not None:
            publish(
                "tax_rule.ended",
                actor=actor,
                data={**rule_resource(previous), "replaced_by": rule.pk},
            )
        record(
            "tax_rule.added",
            actor=actor,
            target=rule,
            changes={
                name: [None, value]
                for name, value in rule_resource(rule).items()
                if name != "id" and value is not None
            },
            reason=clean_reason,
        )
        publish(
            "tax_rule.added",
            actor=actor,
            data={**rule_resource(rule), "replaces": previous.pk if previous else None},
        )
    return rule


def change_tax_rule(
    rule: TaxRule,
    *,
    values: dict[str, Any],
    reason: str,
    actor: Actor,
) -> TaxRule:
    """Correct a rule: ``values`` may hold ``name``, ``rate``, ``effective_from`` and
    ``effective_to``. A rule that has already applied keeps its rate and start date (add
    a new rule instead); the name and the end date can always be corrected. A reason is
    required."""
    _require_manager(actor)
    unknown = set(values) - {"name", "rate", "effective_from", "effective_to"}
    if unknown:
        field = sorted(unknown)[0]
        raise DomainError(ErrorCode.INVALID, f"{field[:40]} is not a tax rule field.", field=field)
    errors: dict[str, list[str]] = {}
    clean_reason = _reason(reason, errors, required=True)
    with transaction.atomic():
        locked = [r for r in _locked_rules(rule.country_code) if r.pk == rule.pk]
        if not locked:
            raise DomainError(ErrorCode.NOT_FOUND, "That tax rule no longer exists.")
        rule = locked[0]
        new: dict[str, Any] = {}
        if "name" in values:
            new["name"] = _name(values["name"], errors)
        if "rate" in values:
            new["rate"] = _rate(values["rate"], errors)
        for key in ("effective_from", "effective_to"):
            if key in values:
                new[key] = values[key]
        start = new.get("effective_from", rule.effective_from)
        end = new.get("effective_to", rule.effective_to)
        _period(start, end, errors)
        started = rule.effective_from <= provider_today()
        if started:
            if "rate" in new and new["rate"] != rule.rate:
                errors.setdefault("rate", []).append(
                    "This rule has already applied, so its rate cannot change. Add a new rule "
                    "from the day the new rate starts."
                )
            if start != rule.effective_from:
                errors.setdefault("effective_from", []).append(
                    "This rule has already applied, so its start date cannot change."
                )
        if errors:
            raise DomainError(ErrorCode.INVALID, "Check the highlighted fields.", errors=errors)
        changes = {
            key: [_jsonable(getattr(rule, key)), _jsonable(value)]
            for key, value in new.items()
            if getattr(rule, key) != value
        }
        if not changes:
            return rule
        others = [(r, r.effective_to) for r in _locked_rules(rule.country_code) if r.pk != rule.pk]
        _refuse_overlap(start, end, others)
        for key, value in new.items():
            setattr(rule, key, value)
        _save(rule)
        record("tax_rule.changed", actor=actor, target=rule, changes=changes, reason=clean_reason)
        publish(
            "tax_rule.changed",
            actor=actor,
            data={**rule_resource(rule), "changes": changes},
        )
    return rule


def end_tax_rule(
    rule: TaxRule,
    *,
    effective_to: datetime.date,
    reason: str = "",
    actor: Actor,
) -> TaxRule:
    """End a rule on ``effective_to`` (the last day it applies; today or later for a rule
    in force, so no day that already used it changes). After it the country has no tax
    until another rule starts."""
    _require_manager(actor)
    errors: dict[str, list[str]] = {}
    clean_reason = _reason(reason, errors, required=False)
    if not isinstance(effective_to, datetime.date):
        errors["effective_to"] = ["Enter the last day the rule applies."]
    if errors:
        raise DomainError(ErrorCode.INVALID, "Check the highlighted fields.", errors=errors)
    with transaction.atomic():
        locked = [r for r in _locked_rules(rule.country_code) if r.pk == rule.pk]
        if not locked:
            raise DomainError(ErrorCode.NOT_FOUND, "That tax rule no longer exists.")
        rule = locked[0]
        today = provider_today()
        if effective_to < rule.effective_from:
            errors["effective_to"] = [
                f"The rule starts on {rule.effective_from:%-d %b %Y}; it cannot end before that."
            ]
        elif rule.effective_from <= today and effective_to < today:
            errors["effective_to"] = [
                "The rule applies already; end it today or later so that past days keep their tax."
            ]
        if errors:
            raise DomainError(ErrorCode.INVALID, "Check the highlighted fields.", errors=errors)
        if rule.effective_to == effective_to:
            return rule
        before = rule.effective_to
        rule.effective_to = effective_to
        _save(rule, update_fields=["effective_to", "updated_at"])
        record(
            "tax_rule.ended",
            actor=actor,
            target=rule,
            changes={
                "effective_to": [before.isoformat() if before else None, effective_to.isoformat()]
            },
            reason=clean_reason,
        )
        publish("tax_rule.ended", actor=actor, data={**rule_resource(rule), "replaced_by": None})
    return rule


def _locked_rules(country: str) -> list[TaxRule]:
    """The country's rules, locked for this transaction (concurrent edits queue)."""
    return list(TaxRule.objects.select_for_update().filter(country=country).order_by("pk"))


def _refuse_overlap(
    start: datetime.date,
    end: datetime.date | None,
    others: list[tuple[TaxRule, datetime.date | None]],
) -> None:
    for other, other_end in others:
        if other.effective_from <= (end or datetime.date.max) and start <= (
            other_end or datetime.date.max
        ):
            until = f"until {other_end:%-d %b %Y}" if other_end else "with no end date"
            raise DomainError(
                ErrorCode.CONFLICT,
                f"This period overlaps {other.name} {format_rate(other.rate)}% "
                f"(from {other.effective_from:%-d %b %Y} {until}). End or correct that rule "
                "first.",
                field="effective_from",
            )


def _save(rule: TaxRule, *, update_fields: list[str] | None = None) -> None:
    try:
        with transaction.atomic():
            rule.save(update_fields=update_fields)
    except IntegrityError as exc:  # a concurrent rule for the same country
        raise DomainError(
            ErrorCode.CONFLICT,
            "Another rule for this country was saved at the same time. Reload and try again.",
        ) from exc


def _country(value: str, errors: dict[str, list[str]]) -> str:
    code = str(value or "").strip().upper()[:3]
    if code not in countries:
        errors["country"] = ["Choose a country from the list."]
    return code


def _name(value: Any, errors: dict[str, list[str]]) -> str:
    return _text(value, "name", NAME_MAX, errors, required='Enter the tax\'s name, e.g. "SST".')


def _text(
    value: Any, field: str, limit: int, errors: dict[str, list[str]], *, required: str = ""
) -> str:
    """One line of human text (NFC, trimmed, no control or bidi characters), or a message
    in ``errors[field]``."""
    try:
        text = validators.clean_text(str(value or ""))
    except ValidationError as error:
        errors[field] = list(error.messages)
        return ""
    if required and not text:
        errors[field] = [required]
    elif len(text) > limit:
        errors[field] = [f"Keep this to {limit} characters."]
    return text


def _rate(value: Any, errors: dict[str, list[str]]) -> Decimal:
    try:
        rate = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        errors["rate"] = ["Enter the rate as a percentage, e.g. 8 or 6.5."]
        return Decimal("0")
    if not rate.is_finite() or not Decimal("0") <= rate <= MAX_RATE:
        errors["rate"] = ["Enter a rate from 0 to 100 (percent)."]
        return Decimal("0")
    if rate != rate.quantize(Decimal("0.01")):
        errors["rate"] = ["Use at most two decimal places."]
        return Decimal("0")
    return rate.quantize(Decimal("0.01"))


def _period(
    start: Any,
    end: Any,
    errors: dict[str, list[str]],
) -> None:
    if not isinstance(start, datetime.date):
        errors["effective_from"] = ["Enter the first day the rule applies."]
        return
    if end is not None and not isinstance(end, datetime.date):
        errors["effective_to"] = ["Enter the last day the rule applies, or leave it empty."]
    elif end is not None and end < start:
        errors["effective_to"] = ["The last day cannot be before the first day."]


def _reason(value: str, errors: dict[str, list[str]], *, required: bool) -> str:
    message = "Say why you are making this change." if required else ""
    return _text(value, "reason", REASON_MAX, errors, required=message)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


# --- exemptions ----------------------------------------------------------------------------


def exempt_customer(
    customer: Customer,
    *,
    reference: str,
    reason: str,
    actor: Actor,
) -> TaxExemption:
    """Mark ``customer`` tax-exempt with the certificate or letter ``reference`` (or change
    the reference of an existing exemption). Staff-only in Activity."""
    _require_manager(actor)
    errors: dict[str, list[str]] = {}
    clean_reference = _text(
        reference,
        "reference",
        REFERENCE_MAX,
        errors,
        required="Enter the exemption certificate or letter reference.",
    )
    clean_reason = _reason(reason, errors, required=True)
    if errors:
        raise DomainError(ErrorCode.INVALID, "Check the highlighted fields.", errors=errors)
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        exemption = TaxExemption.objects.filter(customer=customer).first()
        before = (exemption.reference, exemption.reason) if exemption else (None, None)
        if before == (clean_reference, clean_reason):
            return exemption  # type: ignore[return-value]
        if exemption is None:
            exemption = TaxExemption(customer=customer)
        exemption.reference = clean_reference
        exemption.reason = clean_reason
        exemption.set_by = actor.user
        exemption.set_at = timezone.now()
        exemption.save()
        changes: dict[str, list[Any]] = {"tax_exempt": [before[0] is not None, True]}
        if before[0] != clean_reference:
            changes["exemption_reference"] = [before[0], clean_reference]
        record(
            "tax_exemption.set",
            actor=actor,
            customer=customer,
            target=customer,
            changes=changes,
            reason=clean_reason,
            staff_only=True,
        )
        publish(
            "tax_exemption.set",
            actor=actor,
            customer=customer,
            data={
                "customer": customer.client_id,
                "exempt": True,
                "reference": clean_reference,
                "set_at": exemption.set_at.isoformat(),
                "internal": True,
            },
        )
    return exemption


def unexempt_customer(customer: Customer, *, reason: str, actor: Actor) -> None:
    """End ``customer``'s tax exemption: from now on it pays its country's tax. Not
    exempt: nothing changes (a double submit is not an error)."""
    _require_manager(actor)
    errors: dict[str, list[str]] = {}
    clean_reason = _reason(reason, errors, required=True)
    if errors:
        raise DomainError(ErrorCode.INVALID, "Check the highlighted fields.", errors=errors)
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        exemption = TaxExemption.objects.filter(customer=customer).first()
        if exemption is None:
            return
        reference = exemption.reference
        exemption.delete()
        record(
            "tax_exemption.removed",
            actor=actor,
            customer=customer,
            target=customer,
            changes={"tax_exempt": [True, False], "exemption_reference": [reference, None]},
            reason=clean_reason,
            staff_only=True,
        )
        publish(
            "tax_exemption.removed",
            actor=actor,
            customer=customer,
            data={
                "customer": customer.client_id,
                "exempt": False,
                "reference": reference,
                "internal": True,
            },
        )
