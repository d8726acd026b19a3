"""Every state change of change requests (DESIGN §3, seed 002).

A customer saves a section: the ``direct`` fields apply at once, the ``approval`` fields
become a change request (``save_section``). Staff talk with the customer in the request's
thread, then a manager approves it — the change is applied by the same
``update_profile_section`` a direct save uses, in the same transaction — or rejects it with a
reason. The customer may cancel while it is open. Every step writes Activity and an outbox
event; emails leave after commit (``notifications.queue_email``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from clientdesk.audit.record import record
from clientdesk.core import ratelimit
from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.core.models import Counter
from clientdesk.customers import policy, validators
from clientdesk.customers.actions import (
    ProfileUpdate,
    authority_of,
    form_input,
    refuse_unchangeable,
    update_profile_section,
)
from clientdesk.customers.models import Customer
from clientdesk.customers.policy import Authority, Mode, Section
from clientdesk.customers.roles import Role
from clientdesk.customers.sections import SECTION_FORMS, raw_value, section_etag
from clientdesk.events.publish import publish

from . import notify
from .models import OPEN_STATUSES, ChangeRequest, Kind, Message, Status
from .values import current_values, moved_since_submission, stored_value

MESSAGE_MAX = 5000
REASON_MAX = 1000
APPROVERS = frozenset({"manager"})  # DESIGN §4: only managers approve
COMMENTERS = frozenset({"support", "billing", "manager"})
PRIMARY_EMAIL_TRIES_PER_HOUR = 10


@dataclass(frozen=True)
class SectionSave:
    """What a customer's save of a section did: the direct changes applied (``update``) and
    the change request raised for the approval fields (``request``, None when none)."""

    update: ProfileUpdate
    request: ChangeRequest | None

    @property
    def changed(self) -> bool:
        return self.update.changed or self.request is not None


def save_section(
    customer: Customer,
    *,
    section: Section | str,
    values: dict[str, Any],
    actor: Actor,
    etag: str | None = None,
    note: str = "",
) -> SectionSave:
    """A customer's save of one section: validated as a whole exactly like a direct save;
    then the ``direct`` fields apply and the ``approval`` fields that differ from the
    account become one change request (seed 002). Nothing changes when any value is
    invalid, a field is not the customer's to change, or the section moved since ``etag``."""
    section = Section(section)
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        authority = authority_of(actor, customer)
        accesses = policy.section_access(section, authority, customer)
        direct = [a.field.name for a in accesses if a.editable]
        requestable = [a.field.name for a in accesses if a.requestable]
        refuse_unchangeable(section, accesses, values, allowed={*direct, *requestable})
        if not direct and not requestable:
            raise DomainError(
                ErrorCode.NOT_ALLOWED, f"You cannot change {policy.SECTION_TITLES[section]}."
            )
        if etag is not None and etag != section_etag(customer, section):
            raise DomainError(
                ErrorCode.STALE_VERSION,
                "Someone else saved this section while you were editing it. Review the "
                "current values, then save again.",
            )
        cleaned = _validated(customer, section, [*direct, *requestable], values)
        asked = _differences(customer, cleaned, requestable)
        if asked:
            _refuse_second_open(customer, section.value)
        direct_values = {name: values[name] for name in direct if name in values}
        update = ProfileUpdate(customer)
        if direct_values:
            update = update_profile_section(
                customer, section=section, values=direct_values, actor=actor
            )
            customer = update.customer
        request = None
        if asked:
            request = _create(customer, kind=section.value, requested=asked, note=note, actor=actor)
    return SectionSave(update, request)


def submit_change_request(
    customer: Customer,
    *,
    kind: str,
    values: dict[str, Any],
    actor: Actor,
    note: str = "",
) -> ChangeRequest:
    """Ask for a change of approval fields (or, with kind ``primary_email``, of the login
    email) without touching anything else. Customers ask for the fields the policy lets
    them request; staff (support or manager) may ask on a customer's behalf for any
    approval field. The values are validated as a direct save would validate them."""
    try:
        kind = Kind(kind).value
    except ValueError:
        raise DomainError(ErrorCode.INVALID, "Choose what to change.", field="kind") from None
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        authority = authority_of(actor, customer)
        if kind == Kind.PRIMARY_EMAIL:
            asked = _validated_primary_email(customer, authority, values, actor=actor)
        else:
            section = Section(kind)
            accesses = policy.section_access(section, authority, customer)
            if authority.is_customer:
                requestable = [a.field.name for a in accesses if a.requestable]
            else:
                requestable = [
                    a.field.name
                    for a in accesses
                    if a.mode == Mode.APPROVAL and _may_comment(authority)
                ]
            refuse_unchangeable(section, accesses, values, allowed=set(requestable))
            if not requestable:
                raise DomainError(
                    ErrorCode.NOT_ALLOWED,
                    f"You cannot request changes to {policy.SECTION_TITLES[section]}.",
                )
            cleaned = _validated(customer, section, requestable, values)
            asked = _differences(customer, cleaned, requestable)
        if not asked:
            raise DomainError(
                ErrorCode.INVALID,
                "These are the values the account already has; there is nothing to request.",
            )
        _refuse_second_open(customer, kind)
        return _create(customer, kind=kind, requested=asked, note=note, actor=actor)


def comment_on_change_request(
    request: ChangeRequest, *, body: str, actor: Actor, awaiting_reply: bool = True
) -> Message:
    """Add a message to the request's thread. A staff question (``awaiting_reply``) sets
    the request to *awaiting customer*; a customer's reply sets it back to *open*. The
    other side is emailed a link."""
    text = _clean(body, "body", MESSAGE_MAX, "Write a message.")
    with transaction.atomic():
        request = _locked(request)
        authority = _authority(actor, request)
        from_staff = authority.is_staff
        if from_staff and not _may_comment(authority):
            raise DomainError(ErrorCode.NOT_ALLOWED, "Your staff role cannot write here.")
        if not request.is_open:
            raise DomainError(
                ErrorCode.CONFLICT,
                f"{request.reference} is {request.get_status_display().lower()}; "
                "raise a new request instead.",
            )
        message = Message.objects.create(
            change_request=request,
            author=actor.user,
            author_label=actor.label[:300],
            from_staff=from_staff,
            body=text,
        )
        old_status = request.status
        if from_staff and awaiting_reply:
            request.status = Status.AWAITING_CUSTOMER
        elif not from_staff:
            request.status = Status.OPEN
        request.save(update_fields=["status", "updated_at"])
        changes: dict[str, list[Any]] = {"message": [None, text]}
        if old_status != request.status:
            changes["status"] = [old_status, request.status]
        record(
            "change_request.commented",
            actor=actor,
            customer=request.customer,
            target=request,
            changes=changes,
        )
        publish(
            "change_request.commented",
            actor=actor,
            customer=request.customer,
            data={
                **_event_data(request),
                "message": {"id": message.pk, "from_staff": from_staff, "body": text},
            },
        )
        if from_staff:
            notify.staff_wrote(request, message)
        else:
            notify.customer_wrote(request, message)
    return message


def cancel_change_request(request: ChangeRequest, *, actor: Actor) -> ChangeRequest:
    """Withdraw an open request (seed 002: cancel it, then raise a new one). Cancelling a
    cancelled request changes nothing; a decided one cannot be cancelled."""
    with transaction.atomic():
        request = _locked(request)
        _authority(actor, request)
        if request.status == Status.CANCELLED:
            return request
        if not request.is_open:
            raise DomainError(
                ErrorCode.CONFLICT,
                f"{request.reference} was already {request.get_status_display().lower()}.",
            )
        old_status = request.status
        request.status = Status.CANCELLED
        request.decided_at = timezone.now()
        request.save(update_fields=["status", "decided_at", "updated_at"])
        record(
            "change_request.cancelled",
            actor=actor,
            customer=request.customer,
            target=request,
            changes={"status": [old_status, request.status]},
        )
        publish(
            "change_request.cancelled",
            actor=actor,
            customer=request.customer,
            data=_event_data(request),
        )
        notify.cancelled(request, by_staff=actor.source == Source.STAFF)
    return request


def approve_change_request(
    request: ChangeRequest,
    *,
    actor: Actor,
    fields: Iterable[str] | None = None,
    reason: str = "",
    reviewed_etag: str | None = None,
) -> ChangeRequest:
    """Apply the requested values — all of them, or only ``fields`` (the rest are rejected,
    which needs a ``reason``) — through ``update_profile_section`` in this transaction.

    Managers only, and never the staff member who raised the request. When the section
    changed after submission the reviewer must have seen it as it is now: ``reviewed_etag``
    is the section fingerprint their page showed. Approving an approved request again
    changes nothing and returns it (a double submit is harmless).
    """
    why = _clean(reason, "reason", REASON_MAX, "", required=False)
    with transaction.atomic():
        request = _locked(request)
        customer = Customer.objects.select_for_update().get(pk=request.customer_id)
        authority = _authority(actor, request)
        _check_approver(authority, actor, request)
        if request.status in (Status.APPROVED, Status.PARTLY_APPROVED):
            return request
        _check_open(request, "approved")
        if request.is_primary_email:
            raise DomainError(
                ErrorCode.INVALID,
                "A primary email change is made with the email-change procedure, which "
                "records how the client's identity was verified.",
            )
        section = Section(request.kind)
        approved = list(request.requested) if fields is None else _chosen(request, fields)
        rejected = [name for name in request.requested if name not in approved]
        if rejected and not why:
            raise DomainError(
                ErrorCode.INVALID,
                "Say why the fields you leave out are rejected; the customer is told.",
                field="reason",
            )
        moved = moved_since_submission(request, customer)
        if moved and reviewed_etag != section_etag(customer, section):
            raise DomainError(
                ErrorCode.STALE_VERSION,
                f"{policy.SECTION_TITLES[section]} changed after this request was sent "
                f"({', '.join(policy.field(n).label for n in moved)}). Review the current "
                "values, then approve again.",
            )
        before = current_values(customer, request.kind)
        update = update_profile_section(
            customer,
            section=section,
            values={name: request.requested[name] for name in approved},
            actor=actor,
            reason=f"{request.reference} approved" + (f": {why}" if why else ""),
        )
        old_status = request.status
        request.status = Status.PARTLY_APPROVED if rejected else Status.APPROVED
        request.approved_fields = approved
        request.rejected_fields = rejected
        _decide(request, actor=actor, reason=why)
        changes: dict[str, list[Any]] = {"status": [old_status, request.status]}
        changes |= {name: [before.get(name), request.requested[name]] for name in approved}
        record(
            "change_request.approved",
            actor=actor,
            customer=update.customer,
            target=request,
            changes=changes,
            reason=why,
        )
        publish(
            "change_request.approved",
            actor=actor,
            customer=update.customer,
            data={**_event_data(request), "applied": sorted(update.changes)},
        )
        notify.decided(request)
    return request


def reject_change_request(request: ChangeRequest, *, reason: str, actor: Actor) -> ChangeRequest:
    """Turn the request down with a reason the customer reads. Managers only."""
    why = _clean(reason, "reason", REASON_MAX, "Say why the request is rejected.")
    with transaction.atomic():
        request = _locked(request)
        authority = _authority(actor, request)
        _check_approver(authority, actor, request, same_person_ok=True)
        if request.status == Status.REJECTED:
            return request
        _check_open(request, "rejected")
        old_status = request.status
        request.status = Status.REJECTED
        request.approved_fields = []
        request.rejected_fields = list(request.requested)
        _decide(request, actor=actor, reason=why)
        record(
            "change_request.rejected",
            actor=actor,
            customer=request.customer,
            target=request,
            changes={"status": [old_status, request.status]},
            reason=why,
        )
        publish(
            "change_request.rejected",
            actor=actor,
            customer=request.customer,
            data=_event_data(request),
        )
        notify.decided(request)
    return request


def close_with_procedure(request: ChangeRequest, *, actor: Actor, reason: str) -> None:
    """Mark an open primary-email request approved because the email-change procedure has
    just made the change (call inside that procedure's transaction)."""
    request = _locked(request)
    if not request.is_open:
        return
    old_status = request.status
    request.status = Status.APPROVED
    request.approved_fields = list(request.requested)
    _decide(request, actor=actor, reason=reason)
    record(
        "change_request.approved",
        actor=actor,
        customer=request.customer,
        target=request,
        changes={"status": [old_status, request.status]},
        reason=reason,
    )
    publish(
        "change_request.approved",
        actor=actor,
        customer=request.customer,
        data=_event_data(request),
    )
    notify.decided(request)


# --- rules shared by the actions ------------------------------------------------------------


def _validated(
    customer: Customer, section: Section, names: list[str], values: dict[str, Any]
) -> dict[str, Any]:
    """The section form's cleaned values for ``names``: the same rules as a direct save."""
    data = {name: form_input(customer, name) for name in names} | values
    form = SECTION_FORMS[section](data=data, customer=customer, fields=names)
    if not form.is_valid():
        raise DomainError(
            ErrorCode.INVALID,
            "Some values need correcting.",
            errors={name: [str(m) for m in messages] for name, messages in form.errors.items()},
        )
    return dict(form.cleaned_data)


def _differences(customer: Customer, cleaned: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """The requested values (stored form) of ``names`` that differ from the account."""
    asked: dict[str, Any] = {}
    for name in names:
        new = stored_value(cleaned[name])
        if new != stored_value(raw_value(customer, name)):
            asked[name] = new
    return asked


def _validated_primary_email(
    customer: Customer, authority: Authority, values: dict[str, Any], *, actor: Actor
) -> dict[str, Any]:
    """Only the owner asks to change their login email; the new address must be one."""
    from .email_checks import EmailRefused, check_new_login_email

    if set(values) - {"primary_email"}:
        raise DomainError(ErrorCode.INVALID, "Only the primary email can be requested here.")
    if authority.is_customer and authority.role != Role.OWNER:
        raise DomainError(
            ErrorCode.NOT_ALLOWED,
            "Only the account owner can ask to change the primary email (their login).",
        )
    owner_user = customer.contacts.filter(role=Role.OWNER).values_list("user", flat=True).first()
    # A refusal says whether an address has a sign-in: limit how often anyone may probe.
    if not ratelimit.allow(
        f"primary-email-request:{getattr(actor.user, 'pk', None)}",
        limit=PRIMARY_EMAIL_TRIES_PER_HOUR,
        window_seconds=3600,
    ):
        raise DomainError(
            ErrorCode.RATE_LIMITED,
            "Too many attempts to request a new primary email in the last hour. Try again later.",
            field="primary_email",
        )
    try:
        checked = check_new_login_email(str(values.get("primary_email", "")), user_id=owner_user)
    except EmailRefused as refused:
        raise DomainError(ErrorCode.INVALID, str(refused), field="primary_email") from None
    if checked.address == raw_value(customer, "primary_email"):
        return {}
    return {"primary_email": checked.address}


def _refuse_second_open(customer: Customer, kind: str) -> None:
    existing = (
        ChangeRequest.objects.filter(customer=customer, kind=kind, status__in=OPEN_STATUSES)
        .only("number")
        .first()
    )
    if existing is not None:
        raise DomainError(
            ErrorCode.CONFLICT,
            f"{existing.reference} for {Kind(kind).label} is still open. Add a comment to it, "
            "or cancel it and raise a new one.",
        )


def _create(
    customer: Customer, *, kind: str, requested: dict[str, Any], note: str, actor: Actor
) -> ChangeRequest:
    text = _clean(note, "note", MESSAGE_MAX, "", required=False)
    snapshot = current_values(customer, kind)
    try:
        with transaction.atomic():  # a savepoint: the constraint may catch a racing twin
            request = ChangeRequest.objects.create(
                number=Counter.next("change_request_number", start=1),
                customer=customer,
                kind=kind,
                requested=requested,
                snapshot=snapshot,
                note=text,
                submitted_by=actor.user,
                submitted_by_label=actor.label[:300],
                submitted_source=actor.interface.value,
            )
    except IntegrityError:
        _refuse_second_open(customer, kind)
        raise
    record(
        "change_request.submitted",
        actor=actor,
        customer=customer,
        target=request,
        changes={name: [snapshot.get(name), value] for name, value in requested.items()},
        reason=text,
    )
    publish(
        "change_request.submitted",
        actor=actor,
        customer=customer,
        data=_event_data(request),
    )
    notify.submitted(request)
    return request


def _locked(request: ChangeRequest) -> ChangeRequest:
    return (
        ChangeRequest.objects.select_for_update(of=("self",))
        .select_related("customer")
        .get(pk=request.pk)
    )


def _authority(actor: Actor, request: ChangeRequest) -> Authority:
    """The actor's standing on the request: staff, or a portal contact whose role may see
    it (the owner for the primary email; the section's editors otherwise). Anyone else:
    not found, so another customer's request does not exist for them."""
    authority = authority_of(actor, request.customer)
    if authority.is_customer and not may_see(authority.role, request.kind):
        raise DomainError(ErrorCode.NOT_FOUND, "No such change request.")
    return authority


def may_see(role: str | None, kind: str) -> bool:
    """Whether a contact with ``role`` sees (and may act on) requests of ``kind``."""
    if role is None:
        return False
    if kind == Kind.PRIMARY_EMAIL:
        return role == Role.OWNER
    return policy.Authority.portal(role).may_edit_section(Section(kind))


def _may_comment(authority: Authority) -> bool:
    return authority.is_superuser or bool(authority.staff_groups & COMMENTERS)


def _check_approver(
    authority: Authority, actor: Actor, request: ChangeRequest, *, same_person_ok: bool = False
) -> None:
    if not authority.is_staff or not (authority.is_superuser or authority.staff_groups & APPROVERS):
        raise DomainError(ErrorCode.NOT_ALLOWED, "Only managers decide change requests.")
    # Raised by this staff member, from the console or with their staff API key (recorded
    # with source "api"): the four-eyes rule applies whatever the interface.
    raised_by_actor = (
        request.submitted_by_id is not None
        and request.submitted_by_id == getattr(actor.user, "pk", None)
        and getattr(request.submitted_by, "is_staff", False)
    )
    if raised_by_actor and not same_person_ok:
        raise DomainError(
            ErrorCode.NOT_ALLOWED,
            "You raised this request on the customer's behalf; another manager must approve it.",
        )


def _check_open(request: ChangeRequest, verb: str) -> None:
    if not request.is_open:
        raise DomainError(
            ErrorCode.CONFLICT,
            f"{request.reference} is {request.get_status_display().lower()}; it cannot be {verb}.",
        )


def _chosen(request: ChangeRequest, fields: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(fields))
    unknown = [name for name in chosen if name not in request.requested]
    if unknown:
        raise DomainError(
            ErrorCode.INVALID,
            f"{', '.join(n[:40] for n in unknown)} is not part of {request.reference}.",
            field="fields",
        )
    if not chosen:
        raise DomainError(
            ErrorCode.INVALID,
            "Choose at least one field to approve, or reject the request.",
            field="fields",
        )
    return [name for name in request.requested if name in chosen]


def _decide(request: ChangeRequest, *, actor: Actor, reason: str) -> None:
    request.decided_by = actor.user
    request.decided_at = timezone.now()
    request.decision_reason = reason
    request.save()


def _clean(value: str, name: str, limit: int, missing: str, *, required: bool = True) -> str:
    try:
        text = validators.clean_text(value or "", multiline=True)
    except ValidationError as error:
        raise DomainError(ErrorCode.INVALID, " ".join(error.messages), field=name) from None
    if required and not text:
        raise DomainError(ErrorCode.INVALID, missing, field=name)
    if len(text) > limit:
        raise DomainError(
            ErrorCode.INVALID,
            f"Keep this under {limit} characters (it has {len(text)}).",
            field=name,
        )
    return text


def _event_data(request: ChangeRequest) -> dict[str, Any]:
    return {
        "id": request.reference,
        "number": request.number,
        "customer": request.customer.client_id,
        "kind": request.kind,
        "status": request.status,
        "requested": request.requested,
        "snapshot": request.snapshot,
        "approved_fields": request.approved_fields,
        "rejected_fields": request.rejected_fields,
        "decision_reason": request.decision_reason,
        "submitted_source": request.submitted_source,
    }
