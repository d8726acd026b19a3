"""Background delivery of logged emails (run by ``manage.py db_worker``)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from .models import MailLog

logger = logging.getLogger(__name__)


@task()
def deliver_email(mail_id: int) -> str:
    """Send one logged email. A failure is recorded on the row, never raised to the caller."""
    with transaction.atomic():
        mail = MailLog.objects.select_for_update().filter(pk=mail_id).first()
        if mail is None or mail.status == MailLog.Status.SENT:
            return "skipped"
        mail.attempts += 1
        message = EmailMultiAlternatives(
            subject=mail.subject,
            body=mail.text_body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=mail.recipients,
        )
        message.attach_alternative(mail.html_body, "text/html")
        try:
            message.send()
        except Exception as exc:
            logger.warning("email %s to %s failed: %s", mail.pk, mail.to, exc)
            mail.status = MailLog.Status.FAILED
            mail.error = f"{type(exc).__name__}: {exc}"[:2000]
            mail.save(update_fields=["status", "error", "attempts"])
            return "failed"
        mail.status = MailLog.Status.SENT
        mail.sent_at = timezone.now()
        mail.error = ""
        # Single-use links in the body must not outlive delivery; staff read the redacted
        # copy (``kept_text``), which stays.
        mail.text_body = ""
        mail.html_body = ""
        mail.save(
            update_fields=["status", "sent_at", "error", "attempts", "text_body", "html_body"]
        )
        return "sent"
