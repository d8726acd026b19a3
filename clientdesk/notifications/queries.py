"""Reading the mail log: newest first, filtered, one keyset page at a time.

Pages are keyed by id (``before`` = the last id seen; ids rise with ``created_at``), so a
page costs the same however long the log is and nothing is counted. Status, template and
customer filters each walk an index in id order. The text search (``to``, ``subject`` or
``template`` contains the words) has no index: it reads the log newest first until it has a
page of matches. The log is far smaller than the customer table and most searches hit
recent mail, so that is good enough; a search for something rare reads further back.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from .models import MailLog

PAGE_SIZE = 50
LIST_FIELDS = ("id", "to", "subject", "template", "status", "customer_id", "created_at", "sent_at")


@dataclass(frozen=True)
class MailPage:
    rows: list[MailLog]
    older_than: int | None  # the cursor for the next (older) page, None on the last page


def mail_log_page(
    *,
    search: str = "",
    status: str = "",
    template: str = "",
    customer_id: int | None = None,
    before: int | None = None,
    limit: int = PAGE_SIZE,
) -> MailPage:
    """One page of the mail log, newest first, bodies not loaded. One query."""
    rows: QuerySet[MailLog] = MailLog.objects.only(*LIST_FIELDS)
    if status:
        rows = rows.filter(status=status)
    if template:
        rows = rows.filter(template=template)
    if customer_id is not None:
        rows = rows.filter(customer_id=customer_id)
    for word in search.split()[:5]:
        rows = rows.filter(
            Q(to__icontains=word) | Q(subject__icontains=word) | Q(template__icontains=word)
        )
    if before is not None:
        rows = rows.filter(id__lt=before)
    page = list(rows.order_by("-id")[: limit + 1])
    older = page[limit - 1].pk if len(page) > limit else None
    return MailPage(rows=page[:limit], older_than=older)
