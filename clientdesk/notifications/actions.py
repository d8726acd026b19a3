"""Sending email: render now, log it, deliver from a task once the transaction commits."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
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
    """Render an email, write it to the mail log and deliver it after commit; with several
    addresses, each gets a copy of their own (a logged and delivered message each): a
    notice to a customer's contacts never shows one contact the others' addresses, and no
    list of recipients outgrows the log (a customer with 500 contacts failed the approval
    of its change request on PostgreSQL). Returns the first message's log entry.

    Delivery never happens inside the caller's transaction: a rolled-back change sends
    nothing, and a slow mail server never holds a database lock.

    The log keeps, for staff, a copy of the text with single-use links and secrets removed
    (``redaction.redact``): links that carry a token are found on their own, secret-named
    context values (``key``, ``token``, ``code``…) are removed, and a sender may name more
    values in ``secrets``.
    """
    recipients = list(dict.fromkeys([to] if isinstance(to, str) else to)) or [""]
    rendered = render_email(template, context)
    kept = redact(rendered.text, secrets=[*context_secrets(context), *secrets])
    mails = [
        MailLog.objects.create(
            to=recipient,
            subject=rendered.subject,
            template=template,
            customer_id=customer_id,
            text_body=rendered.text,
            html_body=rendered.html,
            kept_text=kept,
        )
        for recipient in recipients
    ]
    for mail in mails:
        transaction.on_commit(partial(_enqueue_delivery, mail.pk))
    return mails[0]


def _enqueue_delivery(mail_id: int) -> None:
    from .tasks import deliver_email

    deliver_email.enqueue(mail_id)
