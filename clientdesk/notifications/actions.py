"""Sending email: render now, log it, deliver from a task once the transaction commits."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction

from .models import MailLog
from .redaction import context_secrets, redact
from .rendering import render_email


def queue_email(
    *,
    to: str | Iterable[str],
    template: str,
    context: dict[str, Any],
    customer_id: int | None = None,
    secrets: Iterable[str] = (),
) -> MailLog:
    """Render an email, write it to the mail log and deliver it after commit.

    Delivery never happens inside the caller's transaction: a rolled-back change sends
    nothing, and a slow mail server never holds a database lock.

    The log keeps, for staff, a copy of the text with single-use links and secrets removed
    (``redaction.redact``): links that carry a token are found on their own, secret-named
    context values (``key``, ``token``, ``code``…) are removed, and a sender may name more
    values in ``secrets``.
    """
    recipients = [to] if isinstance(to, str) else list(to)
    rendered = render_email(template, context)
    mail = MailLog.objects.create(
        to=",".join(recipients),
        subject=rendered.subject,
        template=template,
        customer_id=customer_id,
        text_body=rendered.text,
        html_body=rendered.html,
        kept_text=redact(rendered.text, secrets=[*context_secrets(context), *secrets]),
    )
    transaction.on_commit(lambda: _enqueue_delivery(mail.pk))
    return mail


def _enqueue_delivery(mail_id: int) -> None:
    from .tasks import deliver_email

    deliver_email.enqueue(mail_id)
