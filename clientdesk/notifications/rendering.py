"""Turn a template prefix and a context into a subject, a text body and an HTML body.

Every email has both parts. ``<prefix>_subject.txt`` and ``<prefix>_message.txt`` are
required; ``<prefix>_message.html`` is used when it exists, otherwise the text is set in
the shared HTML layout (escaped, with links made clickable).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def render_email(template_prefix: str, context: dict[str, Any]) -> RenderedEmail:
    context = {"site_name": settings.SITE_NAME, "site_url": settings.SITE_URL, **context}
    # A header: one line, no control characters.
    subject: str = " ".join(render_to_string(f"{template_prefix}_subject.txt", context).split())
    prefix = f"[{settings.SITE_NAME}] "
    if not subject.startswith(prefix):
        subject = prefix + subject
    text: str = render_to_string(f"{template_prefix}_message.txt", context).strip() + "\n"
    html: str
    try:
        html = render_to_string(f"{template_prefix}_message.html", context)
    except TemplateDoesNotExist:
        html = render_to_string(
            "notifications/email/layout.html", {**context, "subject": subject, "text": text}
        )
    return RenderedEmail(subject=subject[:500], text=text, html=html)
