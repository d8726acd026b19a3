"""Levels and resources for tests, made through the actions (as staff would)."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from clientdesk.core.actor import Actor
from clientdesk.customers.models import SoftwareLevel
from clientdesk.resources import actions
from clientdesk.resources.models import Resource

PDF = b"%PDF-1.4\n%test file\n"


def levels(*labels: str) -> dict[str, SoftwareLevel]:
    """The levels in this order (3.0, 4.0, 4.0 SP2, 5.0 by default)."""
    made = {}
    for label in labels or ("3.0", "4.0", "4.0 SP2", "5.0"):
        made[label] = actions.add_level(label=label, actor=Actor.system())
    return made


def pdf(name: str = "guide.pdf", content: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def resource(
    title: str,
    *,
    level_from: SoftwareLevel | None = None,
    level_to: SoftwareLevel | None = None,
    kind: str = Resource.Kind.RELEASE_NOTE,
    published_on: datetime.date | None = None,
    publish: bool = True,
    **extra: Any,
) -> Resource:
    item = actions.create_resource(
        kind=kind,
        title=title,
        level_from=level_from,
        level_to=level_to,
        actor=Actor.system(),
        **extra,
    )
    if publish:
        item = actions.publish_resource(
            item, version=item.version, published_on=published_on, actor=Actor.system()
        )
    return item
