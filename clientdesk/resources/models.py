"""Resources staff publish for customers, each applying to a range of software levels, and
the record of who downloaded their files."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from clientdesk.core.models import TimeStampedModel
from clientdesk.customers.models import Customer, SoftwareLevel


class Resource(TimeStampedModel):
    """One item of the library: a software download, a support package, a release note or a
    knowledge article.

    It applies to the software levels from ``level_from`` to ``level_to`` in the staff's
    order (both inclusive; an empty end is open). Customers see it when it is published, its
    ``published_on`` day has come, and their level is in the range — or, with no level set,
    when the range is open at both ends (``resources/visibility.py``). ``version`` rises on
    every change so that two editors cannot overwrite each other.
    """

    class Kind(models.TextChoices):
        SOFTWARE = "software", "Software download"
        SUPPORT_PACKAGE = "support_package", "Support package"
        RELEASE_NOTE = "release_note", "Release note"
        ARTICLE = "article", "Knowledge article"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    title = models.CharField(max_length=200)
    summary = models.CharField(max_length=500, blank=True)
    body = models.TextField(blank=True, help_text="Markdown; raw HTML is not rendered.")
    level_from = models.ForeignKey(
        SoftwareLevel, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    level_to = models.ForeignKey(
        SoftwareLevel, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    published_on = models.DateField(
        null=True, blank=True, help_text="Shown to customers; a later day schedules it."
    )
    # The stored file's name is random (resources/<uuid>/<name>); customers download it only
    # through the portal view that checks their level. ``file_name`` is the name they get.
    file = models.FileField(upload_to="resources/", max_length=300, blank=True)
    file_name = models.CharField(max_length=200, blank=True)
    file_size = models.PositiveBigIntegerField(default=0)
    file_type = models.CharField(max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-published_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status="draft") | models.Q(published_on__isnull=False),
                name="resources_resource_published_has_date",
            ),
        ]
        indexes = [
            # The portal's list: published items, newest first.
            models.Index(
                fields=["status", "-published_on", "-id"], name="resources_resource_list_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    @property
    def has_file(self) -> bool:
        return bool(self.file)


class ResourceDownload(models.Model):
    """One download of a resource's file: who, for which customer, when. Append-only; staff
    see these on the resource's page in the console."""

    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="downloads")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # As Activity keeps it: "Aisha Rahman", or "Sam Tan (staff) as Aisha Rahman" in Login As.
    actor_label = models.CharField(max_length=300)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["resource", "-id"], name="resources_download_res_idx"),
            models.Index(fields=["customer", "-id"], name="resources_download_cust_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.resource_id} by {self.actor_label}"
