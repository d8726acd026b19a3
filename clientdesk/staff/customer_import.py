"""Import customers from a CSV file (managers): upload, check, import, result.

1. **Upload** (``customer-import``, GET/POST): the manager chooses a file. It is kept in the
   default storage (``customer-imports/<random>.csv``: shared by every app node, never
   served) and checked at once with ``import_customers(dry_run=True)``: either every
   problem by line and column, or "N customers ready to import" with a preview.
2. **Import** (``customer-import-run``, POST): the page carries a signed token naming the
   stored file, its SHA-256, the manager and the time (valid an hour). The file is read
   again and checked again by the import itself — nothing from the first check is
   trusted. The token is consumed once (an atomic ``cache.add``), so a second submit of the
   same form (a double click, a reload) imports nothing; the import would refuse it anyway,
   since every owner email is then already on a customer.
3. **Result** (``customer-import-result``): what was imported, from a signed summary in
   the URL, with a link to the customers list (newest first).

The template CSV (``customer-import-template``) has the header and two example rows.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from datetime import timedelta
from typing import Any, ClassVar

from django import forms
from django.contrib import messages
from django.core import signing
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views import View

from clientdesk.core.errors import DomainError
from clientdesk.customers import imports
from clientdesk.customers.imports import ImportResult
from clientdesk.customers.models import Customer

from .mixins import StaffRequiredMixin

FOLDER = "customer-imports"
CHECK_SALT = "clientdesk.staff.customer-import"
CHECK_MAX_AGE = 3600  # seconds between the check and the import
RESULT_SALT = "clientdesk.staff.customer-import.result"
CONSUMED_SECONDS = 2 * 24 * 3600
STALE_AFTER = timedelta(days=1)  # abandoned uploads are removed after this
ALLOWED_EXTENSIONS = (".csv", ".txt")


def human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.0f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} bytes"


class ImportersOnly(StaffRequiredMixin):
    required_roles: ClassVar[set[str]] = set(imports.IMPORTERS)


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        error_messages={"required": "Choose the CSV file to import."},
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = (
            f"UTF-8 text with a header row, separated by commas or semicolons. Up to "
            f"{human_size(imports.max_bytes())} and {imports.web_max_rows():,} customers."
        )

    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        name = (upload.name or "").lower()
        if not name.endswith(ALLOWED_EXTENSIONS):
            raise forms.ValidationError("Choose a .csv file (save the spreadsheet as CSV UTF-8).")
        size = upload.size or 0
        if size == 0:
            raise forms.ValidationError("The file is empty.")
        if size > imports.max_bytes():
            raise forms.ValidationError(
                f"The file is {human_size(size)}; the limit is "
                f"{human_size(imports.max_bytes())}. Split it into smaller files."
            )
        return upload


def _store(upload: UploadedFile) -> tuple[str, str]:
    """Keep the upload for the import step; returns its storage name and SHA-256."""
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    name = default_storage.save(f"{FOLDER}/{uuid.uuid4().hex}.csv", upload)
    return name, digest.hexdigest()


def _remove_stale_uploads() -> None:
    """Uploads checked but never imported are removed after a day."""
    try:
        _, names = default_storage.listdir(FOLDER)
    except (FileNotFoundError, NotImplementedError, OSError):
        return
    cutoff = timezone.now() - STALE_AFTER
    for name in names:
        path = f"{FOLDER}/{name}"
        try:
            if default_storage.get_modified_time(path) < cutoff:
                default_storage.delete(path)
        except (FileNotFoundError, NotImplementedError, OSError):
            continue


def _discard(name: str) -> None:
    try:
        default_storage.delete(name)
    except (FileNotFoundError, OSError):
        return


def _page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    roles: set[str],
    status: int = 200,
) -> TemplateResponse:
    context = {
        **context,
        "staff_roles": sorted(roles),
        "max_size": human_size(imports.max_bytes()),
        "max_rows": imports.web_max_rows(),
        "command_max_rows": imports.max_rows(),
        "columns": imports.COLUMNS,
    }
    return TemplateResponse(request, template, context, status=status)


def upload_page(
    request: HttpRequest,
    form: UploadForm,
    *,
    roles: set[str],
    result: ImportResult | None = None,
    status: int = 200,
) -> TemplateResponse:
    """The upload form, with the problems of the last file when there were any."""
    context = {"form": form, "result": result}
    return _page(request, "staff/import/upload.html", context, roles=roles, status=status)


PREVIEW_COLUMNS = ("Name", "Type", "Country", "Billing", "Registration no.", "TIN", "Owner")


def _preview_rows(result: ImportResult) -> list[dict[str, Any]]:
    kinds, modes = dict(Customer.Kind.choices), dict(Customer.BillingMode.choices)
    return [
        {
            **row,
            "kind": kinds.get(row["kind"], row["kind"]),
            "billing_mode": modes.get(row["billing_mode"], row["billing_mode"]),
        }
        for row in result.preview
    ]


class CustomerImportView(ImportersOnly, View):
    """Upload a file and see it checked."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return upload_page(request, UploadForm(), roles=self.staff_roles)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = UploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return upload_page(request, form, roles=self.staff_roles, status=400)
        upload: UploadedFile = form.cleaned_data["file"]
        _remove_stale_uploads()
        stored, digest = _store(upload)
        file_name = imports.file_label(upload.name or "")
        try:
            with default_storage.open(stored, "rb") as source:
                result = imports.import_customers(
                    actor=request.actor,  # type: ignore[attr-defined]
                    source=source,
                    dry_run=True,
                    file_name=file_name,
                    row_limit=imports.web_max_rows(),
                )
        except DomainError as error:
            _discard(stored)
            error.add_to_form(form)
            return upload_page(request, form, roles=self.staff_roles, status=403)
        if not result.ok:
            _discard(stored)
            return upload_page(
                request, UploadForm(), roles=self.staff_roles, result=result, status=400
            )
        token = signing.dumps(
            {"file": stored, "sha256": digest, "name": file_name, "user": request.user.pk},
            salt=CHECK_SALT,
        )
        context = {
            "result": result,
            "token": token,
            "preview_columns": PREVIEW_COLUMNS,
            "preview_rows": _preview_rows(result),
        }
        return _page(request, "staff/import/check.html", context, roles=self.staff_roles)


class CustomerImportRunView(ImportersOnly, View):
    """Import the file the check accepted (POST only)."""

    http_method_names: ClassVar[list[str]] = ["post"]  # type: ignore[misc]

    def post(self, request: HttpRequest) -> HttpResponse:
        token = str(request.POST.get("token", ""))[:2000]
        try:
            ticket = signing.loads(token, salt=CHECK_SALT, max_age=CHECK_MAX_AGE)
        except signing.SignatureExpired:
            return self.again("The check is more than an hour old: upload the file again.")
        except signing.BadSignature:
            return self.again("This import cannot be started from here: upload the file again.")
        if not isinstance(ticket, dict) or ticket.get("user") != request.user.pk:
            return self.again("This import cannot be started from here: upload the file again.")
        once = "customer-import:" + hashlib.sha256(token.encode()).hexdigest()
        if not cache.add(once, "1", timeout=CONSUMED_SECONDS):
            messages.warning(
                request,
                "This file was already imported, or is being imported now: it is imported "
                "only once. Check the customers list before importing it again.",
            )
            return HttpResponseRedirect(reverse("staff:customer-import"))
        stored, name = str(ticket.get("file", "")), str(ticket.get("name", ""))
        try:
            with default_storage.open(stored, "rb") as source:
                content = source.read()
        except (FileNotFoundError, OSError):
            return self.again("The uploaded file is no longer here: upload it again.")
        if hashlib.sha256(content).hexdigest() != ticket.get("sha256"):
            _discard(stored)
            return self.again("The uploaded file changed since it was checked: upload it again.")
        try:
            result = imports.import_customers(
                actor=request.actor,  # type: ignore[attr-defined]
                source=io.BytesIO(content),
                file_name=name,
                row_limit=imports.web_max_rows(),
            )
        except DomainError as error:
            return self.again(error.message)
        _discard(stored)
        if not result.ok:
            return upload_page(
                request, UploadForm(), roles=self.staff_roles, result=result, status=400
            )
        summary = signing.dumps(
            {
                "imported": result.imported,
                "first": result.first_client_id,
                "last": result.last_client_id,
                "name": result.file_name,
                "seconds": round(result.seconds, 1),
            },
            salt=RESULT_SALT,
        )
        return HttpResponseRedirect(f"{reverse('staff:customer-import-result')}?r={summary}")

    def again(self, message: str) -> HttpResponse:
        messages.error(self.request, message)
        return HttpResponseRedirect(reverse("staff:customer-import"))


class CustomerImportResultView(ImportersOnly, View):
    template_name = "staff/import/result.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        try:
            summary = signing.loads(str(request.GET.get("r", ""))[:2000], salt=RESULT_SALT)
        except signing.BadSignature:
            return HttpResponseRedirect(reverse("staff:customer-import"))
        return _page(request, self.template_name, {"summary": summary}, roles=self.staff_roles)


class CustomerImportTemplateView(ImportersOnly, View):
    """The header and two example rows (UTF-8 with a BOM, so Excel reads accents)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        response = HttpResponse("\ufeff" + imports.template_csv(), content_type="text/csv")
        response["Content-Type"] = "text/csv; charset=utf-8"
        response["Content-Disposition"] = 'attachment; filename="customers-template.csv"'
        return response
