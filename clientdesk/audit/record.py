"""``record``: the only writer of Activity rows. Actions call it inside their transaction."""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from clientdesk.core.actor import Actor

from .models import Activity


def record(
    verb: str,
    *,
    actor: Actor,
    customer: Any = None,  # a customers.Customer; this leaf app does not import it
    target: models.Model | None = None,
    changes: dict[str, list[Any]] | None = None,
    reason: str = "",
    staff_only: bool = False,
) -> Activity:
    """Append one Activity row. ``changes`` maps a field to ``[old, new]`` (JSON-safe)."""
    return Activity.objects.create(
        verb=verb,
        actor=actor.user,
        actor_label=actor.label[:300],
        impersonator=actor.impersonator,
        source=actor.interface.value,
        customer=customer,
        target_type=ContentType.objects.get_for_model(target) if target is not None else None,
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:300] if target is not None else "",
        changes=changes or {},
        reason=reason,
        staff_only=staff_only,
        ip=actor.ip,
        request_id=actor.request_id,
    )
