"""Every state change of the resources library and of the software levels it filters by.

Managers keep the ordered list of software levels (DESIGN §4 extended: levels are product
settings). Support and managers write, publish and withdraw resources. Levels are never
deleted: a retired level (``is_active=False``) can no longer be chosen in Preferences, but
customers that have it keep it, and items that name it in their range keep working.

A range is checked against the order of levels: ``from`` after ``to`` is refused, and a
reordering that would turn an item's range around is refused too, naming the item.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Q

from clientdesk.audit.record import record
from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers.models import Customer, SoftwareLevel
from clientdesk.customers.validators import clean_reason, clean_text
from clientdesk.events.publish import publish
from clientdesk.users.roles import MANAGER, SUPPORT, has_staff_role

from . import files, visibility
from .markdown import BODY_MAX
from .models import Resource, ResourceDownload

LABEL_MAX = 60
TITLE_MAX = 200
SUMMARY_MAX = 500
REASON_MAX = 500


def may_manage_levels(user: Any) -> bool:
    return has_staff_role(user, MANAGER)


def may_edit_resources(user: Any) -> bool:
    return has_staff_role(user, SUPPORT, MANAGER)


def _require(actor: Actor, allowed: bool, message: str) -> None:
    if actor.source == Source.SYSTEM:
        return
    if actor.source == Source.STAFF and allowed:
        return
    raise DomainError(ErrorCode.NOT_ALLOWED, message)


def _invalid(field: str, message: str) -> DomainError:
    return DomainError(ErrorCode.INVALID, message, field=field)


def _text(
    value: str, *, field: str, limit: int, required: str = "", multiline: bool = False
) -> str:
    try:
        text = clean_text(value or "", multiline=multiline, prose=multiline)
    except ValidationError as exc:
        raise _invalid(field, exc.messages[0]) from None
    if required and not text:
        raise _invalid(field, required)
    if len(text) > limit:
        raise _invalid(field, f"Keep this under {limit:,} characters.")
    return text


# --- software levels ----------------------------------------------------------------------


def level_resource(level: SoftwareLevel) -> dict[str, Any]:
    """A level as events carry it."""
    return {
        "id": level.pk,
        "label": level.label,
        "position": level.position,
        "is_active": level.is_active,
    }


def _level_label(label: str, *, exclude: int | None = None) -> str:
    text = _text(label, field="label", limit=LABEL_MAX, required="Enter the level's label.")
    taken = SoftwareLevel.objects.filter(label__iexact=text).exclude(pk=exclude or 0)
    if taken.exists():
        raise _invalid("label", f"There is already a level called “{text}”.")
    return text


@transaction.atomic
def add_level(*, label: str, is_active: bool = True, actor: Actor) -> SoftwareLevel:
    """Add a level after the last one (``move_level`` puts it elsewhere)."""
    _require(actor, may_manage_levels(actor.user), "Only managers can change software levels.")
    # Lock the list while checking and numbering (on SQLite the write lock is taken at the
    # start); a race the lock cannot cover (an empty list) ends at the unique constraints.
    list(SoftwareLevel.objects.select_for_update().values_list("pk", flat=True))
    text = _level_label(label)
    last = SoftwareLevel.objects.aggregate(last=Max("position"))["last"] or 0
    try:
        with transaction.atomic():
            level = SoftwareLevel.objects.create(label=text, position=last + 1, is_active=is_active)
    except IntegrityError:
        raise _invalid("label", "Someone added a level at the same moment. Try again.") from None
    record(
        "software_level.added",
        actor=actor,
        target=level,
        changes={"label": [None, text], "is_active": [None, is_active]},
    )
    publish("software_level.added", actor=actor, data=level_resource(level))
    return level


@transaction.atomic
def change_level(
    level: SoftwareLevel, *, label: str, is_active: bool, reason: str = "", actor: Actor
) -> SoftwareLevel:
    """Rename a level or retire / restore it. Retiring keeps every customer that has it."""
    _require(actor, may_manage_levels(actor.user), "Only managers can change software levels.")
    locked = SoftwareLevel.objects.select_for_update().get(pk=level.pk)
    text = _level_label(label, exclude=locked.pk)
    clean = clean_reason(reason, limit=REASON_MAX)
    changes: dict[str, list[Any]] = {}
    if text != locked.label:
        changes["label"] = [locked.label, text]
    if is_active != locked.is_active:
        changes["is_active"] = [locked.is_active, is_active]
    if not changes:
        return locked
    locked.label, locked.is_active = text, is_active
    locked.save(update_fields=["label", "is_active"])
    record("software_level.changed", actor=actor, target=locked, changes=changes, reason=clean)
    publish(
        "software_level.changed",
        actor=actor,
        data={**level_resource(locked), "changes": changes},
    )
    return locked


@transaction.atomic
def move_level(level: SoftwareLevel, *, direction: str, actor: Actor) -> SoftwareLevel:
    """Swap a level with its neighbour above (``up``) or below (``down``) in the order."""
    _require(actor, may_manage_levels(actor.user), "Only managers can change software levels.")
    if direction not in {"up", "down"}:
        raise _invalid("direction", "Move a level up or down.")
    levels = list(SoftwareLevel.objects.select_for_update().order_by("position"))
    index = next((i for i, lv in enumerate(levels) if lv.pk == level.pk), None)
    if index is None:
        raise DomainError(ErrorCode.NOT_FOUND, "This level no longer exists.")
    other_index = index - 1 if direction == "up" else index + 1
    if not 0 <= other_index < len(levels):
        raise _invalid(
            "direction",
            f"“{levels[index].label}” is already {('first', 'last')[direction == 'down']}.",
        )
    moving, other = levels[index], levels[other_index]
    # Only an item ranging exactly between these two neighbours turns around when they swap.
    turned = Resource.objects.filter(
        Q(level_from=moving, level_to=other) | Q(level_from=other, level_to=moving)
    ).order_by("title")
    titles = [r.title for r in turned[:3]]
    if titles:
        raise DomainError(
            ErrorCode.CONFLICT,
            f"Moving “{moving.label}” past “{other.label}” would turn around the level range "
            f"of: {', '.join(f'“{t}”' for t in titles)}. Change those items' ranges first.",
            field="direction",
        )
    old = moving.position
    # Positions are unique: park one level on a free number while the two swap.
    parked = (levels[-1].position if levels else 0) + 1
    moving.position = parked
    moving.save(update_fields=["position"])
    other_position = other.position
    other.position = old
    other.save(update_fields=["position"])
    moving.position = other_position
    moving.save(update_fields=["position"])
    changes = {"position": [old, other_position]}
    record("software_level.changed", actor=actor, target=moving, changes=changes)
    publish(
        "software_level.changed", actor=actor, data={**level_resource(moving), "changes": changes}
    )
    return moving


# --- resources ----------------------------------------------------------------------------


def resource_payload(resource: Resource) -> dict[str, Any]:
    """A resource as events carry it (no body: receivers fetch what they need)."""
    return {
        "id": resource.pk,
        "kind": resource.kind,
        "title": resource.title,
        "status": resource.status,
        "published_on": resource.published_on.isoformat() if resource.published_on else None,
        "level_from": resource.level_from.label if resource.level_from else None,
        "level_to": resource.level_to.label if resource.level_to else None,
        "file": (
            {"name": resource.file_name, "size": resource.file_size} if resource.file else None
        ),
        "version": resource.version,
    }


def _snapshot(resource: Resource) -> dict[str, Any]:
    """The fields whose changes Activity lists (the body as its length: it can be long)."""
    return {
        "kind": resource.kind,
        "title": resource.title,
        "summary": resource.summary,
        "body": f"{len(resource.body):,} characters",
        "level_from": resource.level_from.label if resource.level_from else "open",
        "level_to": resource.level_to.label if resource.level_to else "open",
        "file": resource.file_name or "none",
    }


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {key: [before[key], after[key]] for key in after if before.get(key) != after[key]}


def _clean_fields(
    *,
    kind: str,
    title: str,
    summary: str,
    body: str,
    level_from: SoftwareLevel | None,
    level_to: SoftwareLevel | None,
) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    checks = {
        "title": lambda: _text(title, field="title", limit=TITLE_MAX, required="Enter a title."),
        "summary": lambda: _text(summary, field="summary", limit=SUMMARY_MAX),
        "body": lambda: _text(body, field="body", limit=BODY_MAX, multiline=True),
    }
    if kind not in Resource.Kind.values:
        errors["kind"] = ["Choose a kind from the list."]
    clean["kind"] = kind
    for name, check in checks.items():
        try:
            clean[name] = check()
        except DomainError as exc:
            errors[name] = [exc.message]
    if level_from is not None and level_to is not None and level_from.position > level_to.position:
        errors["level_to"] = [
            f"The range ends before it starts: “{level_to.label}” comes before "
            f"“{level_from.label}”. Choose a later level, or swap them."
        ]
    clean["level_from"], clean["level_to"] = level_from, level_to
    if errors:
        raise DomainError(ErrorCode.INVALID, "Check the highlighted fields.", errors=errors)
    return clean


@dataclass(frozen=True)
class Stored:
    """An uploaded file, checked and written to storage (before any row is locked: copying
    a large file must not hold the lock)."""

    name: str  # in storage
    file_name: str  # what customers get
    size: int
    content_type: str

    def attach_to(self, resource: Resource) -> None:
        resource.file.name = self.name
        resource.file_name, resource.file_size = self.file_name, self.size
        resource.file_type = self.content_type


def _store(upload: files.Upload) -> Stored:
    try:
        name, kind = files.check(upload)
    except ValueError as exc:
        raise DomainError(
            ErrorCode.INVALID, "Check the highlighted fields.", errors={"file": [str(exc)]}
        ) from None
    storage = Resource._meta.get_field("file").storage
    stored = storage.save(f"resources/{files.storage_name(name)}", upload)
    return Stored(stored, name, upload.size or 0, kind.content_type)


def _discard(name: str) -> None:
    if name:
        Resource._meta.get_field("file").storage.delete(name)


def create_resource(
    *,
    kind: str,
    title: str,
    summary: str = "",
    body: str = "",
    level_from: SoftwareLevel | None = None,
    level_to: SoftwareLevel | None = None,
    upload: files.Upload | None = None,
    actor: Actor,
) -> Resource:
    """Write a new item as a draft (``publish_resource`` shows it to customers)."""
    _require(
        actor, may_edit_resources(actor.user), "Only support and managers can write resources."
    )
    clean = _clean_fields(
        kind=kind, title=title, summary=summary, body=body, level_from=level_from, level_to=level_to
    )
    resource = Resource(**clean, created_by=actor.user if actor.user and actor.user.pk else None)
    stored = _store(upload) if upload is not None else None
    if stored is not None:
        stored.attach_to(resource)
    try:
        with transaction.atomic():
            resource.save()
            record(
                "resource.created",
                actor=actor,
                target=resource,
                changes={k: [None, v] for k, v in _snapshot(resource).items()},
            )
            publish("resource.created", actor=actor, data=resource_payload(resource))
    except BaseException:
        _discard(stored.name if stored else "")
        raise
    return resource


def _locked(resource: Resource, *, version: int | None) -> Resource:
    locked = (
        Resource.objects.select_for_update(of=("self",))
        .select_related("level_from", "level_to")
        .filter(pk=resource.pk)
        .first()
    )
    if locked is None:
        raise DomainError(ErrorCode.NOT_FOUND, "This resource no longer exists.")
    _check_version(locked, version)
    return locked


def _check_version(locked: Resource, version: int | None) -> None:
    if version is not None and locked.version != version:
        raise DomainError(
            ErrorCode.STALE_VERSION,
            "Someone else changed this resource meanwhile. Reload it and make your change again.",
        )


def update_resource(
    resource: Resource,
    *,
    version: int | None,
    kind: str,
    title: str,
    summary: str,
    body: str,
    level_from: SoftwareLevel | None,
    level_to: SoftwareLevel | None,
    upload: files.Upload | None = None,
    remove_file: bool = False,
    actor: Actor,
) -> Resource:
    """Replace an item's content, range or file. Customers see a published item's new
    version at once; the event is ``resource.updated``."""
    _require(
        actor, may_edit_resources(actor.user), "Only support and managers can write resources."
    )
    clean = _clean_fields(
        kind=kind, title=title, summary=summary, body=body, level_from=level_from, level_to=level_to
    )
    stored = _store(upload) if upload is not None else None
    old_file = ""
    try:
        with transaction.atomic():
            locked = _locked(resource, version=version)
            before = _snapshot(locked)
            for name, value in clean.items():
                setattr(locked, name, value)
            if stored is not None or (remove_file and locked.file):
                old_file = locked.file.name or ""
                locked.file.name = ""
                locked.file_name, locked.file_size, locked.file_type = "", 0, ""
            if stored is not None:
                stored.attach_to(locked)
            changes = _diff(before, _snapshot(locked))
            if stored is not None and "file" not in changes:
                # The same name with new content (a corrected PDF) is a change too.
                changes["file"] = [before["file"], f"{locked.file_name} (new content)"]
            if not changes:
                return locked
            locked.version += 1
            locked.save()
            record("resource.updated", actor=actor, target=locked, changes=changes)
            publish(
                "resource.updated",
                actor=actor,
                data={**resource_payload(locked), "changed": sorted(changes)},
            )
    except BaseException:
        _discard(stored.name if stored else "")
        raise
    # The old file goes once the new row is committed; a download in flight has it open.
    transaction.on_commit(lambda: _discard(old_file))
    return locked


@transaction.atomic
def publish_resource(
    resource: Resource,
    *,
    version: int | None,
    published_on: datetime.date | None = None,
    actor: Actor,
) -> Resource:
    """Show the item to the customers its range covers from ``published_on`` (default today;
    a later day schedules it). Publishing again moves the date."""
    _require(
        actor, may_edit_resources(actor.user), "Only support and managers can publish resources."
    )
    day = published_on or visibility.provider_today()
    if day.year < 2000 or day.year > 9000:
        raise _invalid("published_on", "Enter a realistic publish date.")
    locked = _locked(resource, version=None)
    if locked.is_published and locked.published_on == day:
        return locked  # the same request twice (a double click): done, not a conflict
    _check_version(locked, version)
    changes: dict[str, list[Any]] = {
        "status": [locked.status, Resource.Status.PUBLISHED.value],
        "published_on": [
            locked.published_on.isoformat() if locked.published_on else None,
            day.isoformat(),
        ],
    }
    locked.status, locked.published_on = Resource.Status.PUBLISHED, day
    locked.version += 1
    locked.save(update_fields=["status", "published_on", "version", "updated_at"])
    record("resource.published", actor=actor, target=locked, changes=changes)
    publish("resource.published", actor=actor, data=resource_payload(locked))
    return locked


@transaction.atomic
def withdraw_resource(
    resource: Resource, *, version: int | None, reason: str, actor: Actor
) -> Resource:
    """Take a published item back to draft: customers stop seeing it at once."""
    _require(
        actor, may_edit_resources(actor.user), "Only support and managers can withdraw resources."
    )
    clean = clean_reason(reason, limit=REASON_MAX, required="Say why the item is withdrawn.")
    locked = _locked(resource, version=None)
    if not locked.is_published and version == locked.version - 1:
        return locked  # the same request twice (a double click): done, not a conflict
    _check_version(locked, version)
    if not locked.is_published:
        raise DomainError(ErrorCode.CONFLICT, "This item is already a draft.")
    locked.status = Resource.Status.DRAFT
    locked.version += 1
    locked.save(update_fields=["status", "version", "updated_at"])
    record(
        "resource.withdrawn",
        actor=actor,
        target=locked,
        changes={"status": [Resource.Status.PUBLISHED.value, Resource.Status.DRAFT.value]},
        reason=clean,
    )
    publish("resource.withdrawn", actor=actor, data={**resource_payload(locked), "reason": clean})
    return locked


def delete_resource(resource: Resource, *, version: int | None, actor: Actor) -> None:
    """Delete a draft nobody has downloaded (anything else is withdrawn, so its record stays)."""
    _require(
        actor, may_edit_resources(actor.user), "Only support and managers can delete resources."
    )
    with transaction.atomic():
        locked = _locked(resource, version=version)
        if locked.is_published:
            raise DomainError(ErrorCode.CONFLICT, "Withdraw the item before deleting it.")
        if ResourceDownload.objects.filter(resource=locked).exists():
            raise DomainError(
                ErrorCode.CONFLICT,
                "Customers have downloaded this item, so its record stays. It remains a draft.",
            )
        payload = resource_payload(locked)
        stored = locked.file.name or ""
        record(
            "resource.deleted", actor=actor, target=locked, changes={"title": [locked.title, None]}
        )
        publish("resource.deleted", actor=actor, data=payload)
        locked.delete()
    transaction.on_commit(lambda: _discard(stored))


@transaction.atomic
def record_download(resource: Resource, *, customer: Customer, actor: Actor) -> ResourceDownload:
    """Record that someone on ``customer`` downloaded ``resource``'s file.

    Refused as not found when the item is not visible at the customer's level, so no
    interface can hand out a file the filter hides. The download row is the audit record
    (like a sign-in log, it is not an Activity row — except in Login As, where everything
    staff do is in the customer's Activity); the ``resource.downloaded`` event lets a
    provider's CRM or licence system know.
    """
    visible = visibility.visible_to(customer.software_level).filter(pk=resource.pk).first()
    if visible is None or not visible.file:
        raise DomainError(ErrorCode.NOT_FOUND, "There is no such download for this account.")
    download = ResourceDownload.objects.create(
        resource=visible,
        customer=customer,
        user=actor.user if actor.user is not None and actor.user.pk else None,
        actor_label=actor.label[:300],
    )
    if actor.impersonator is not None:
        # DESIGN §3: everything staff do in Login As is in the customer's Activity.
        record(
            "resource.downloaded",
            actor=actor,
            customer=customer,
            target=visible,
            changes={"file": [None, visible.file_name]},
        )
    publish(
        "resource.downloaded",
        actor=actor,
        customer=customer,
        data={
            "resource": {"id": visible.pk, "title": visible.title, "file": visible.file_name},
            "download_id": download.pk,
        },
    )
    return download
