"""The resources library in the staff console (issue 10; seed 002: "software level … is used
as a filter in the DataLounge so that only relevant software / CSPs / notes are presented").

- Software levels (managers): the ordered list, add, rename / retire / restore, move up/down.
- The library (every staff role reads): list with filters, one item with its rendered body,
  its file and its downloads, "preview as level", and every download newest first.
- Support and managers write, publish, withdraw and delete items.

The views parse input with a form and call one ``resources.actions`` function; refusals come
back as ``DomainError`` and are shown next to the field, above the form or as a message.
Files are served from storage by ``ResourceFileView`` only (there is no public media URL).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any, ClassVar, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db.models import F, Func, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    QueryDict,
)
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views import View

from clientdesk.core.errors import DomainError
from clientdesk.customers.models import Customer, SoftwareLevel
from clientdesk.customers.sections import INVALID_CHOICE, TextField
from clientdesk.resources import actions, files, markdown, queries, visibility
from clientdesk.resources.models import Resource, ResourceDownload
from clientdesk.users.roles import MANAGER, SUPPORT

from .client_ids import customers_from_client_ids
from .customer_list import customer_url
from .mixins import StaffRequiredMixin

EDITORS: set[str] = {SUPPORT, MANAGER}  # write, publish, withdraw, delete resources
LEVEL_KEEPERS: set[str] = {MANAGER}  # software levels
MAX_ID = 2**62  # ids past this are simply not found (the database column would refuse them)
LIST_SIZE = 50  # rows of the console's library per page
SEARCH_MAX = queries.SEARCH_MAX
NO_LEVEL = "none"  # the preview's "No level set"

DATE_ERRORS = {"invalid": "Enter a date like 2026-03-01."}
VERSION_ERRORS = {
    "required": "This page is out of date. Reload it and try again.",
    "invalid": "This page is out of date. Reload it and try again.",
    "min_value": "This page is out of date. Reload it and try again.",
    "max_value": "This page is out of date. Reload it and try again.",
}


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _version_field() -> forms.IntegerField:
    return forms.IntegerField(
        min_value=1, max_value=MAX_ID, widget=forms.HiddenInput, error_messages=VERSION_ERRORS
    )


def level_name(level: SoftwareLevel) -> str:
    """A level as the selects list it: retired ones say so."""
    return level.label if level.is_active else f"{level.label} (retired)"


def level_choices(levels: list[SoftwareLevel], empty: str) -> list[tuple[str, str]]:
    return [("", empty), *((str(level.pk), level_name(level)) for level in levels)]


def _count(queryset: QuerySet[Any]) -> Coalesce:
    """``COUNT(*)`` of ``queryset`` as a subquery (no GROUP BY), 0 when there are none."""
    counted = queryset.order_by().values(n=Func(F("pk"), function="COUNT"))
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def levels_with_counts() -> list[SoftwareLevel]:
    """Every level in order, with how many customers have it and how many items name it
    (one query, however many levels)."""
    named = Q(level_from=OuterRef("pk")) | Q(level_to=OuterRef("pk"))
    return list(
        SoftwareLevel.objects.order_by("position").annotate(
            customer_count=_count(Customer.objects.filter(software_level=OuterRef("pk"))),
            item_count=_count(Resource.objects.filter(named)),
        )
    )


def _pk(value: int) -> int | None:
    return value if 0 < value <= MAX_ID else None


def get_level(level_id: int) -> SoftwareLevel:
    pk = _pk(level_id)
    level = SoftwareLevel.objects.filter(pk=pk).first() if pk else None
    if level is None:
        raise Http404("No such software level.")
    return level


def get_resource(resource_id: int) -> Resource:
    pk = _pk(resource_id)
    resource = (
        Resource.objects.select_related("level_from", "level_to", "created_by")
        .filter(pk=pk)
        .first()
        if pk
        else None
    )
    if resource is None:
        raise Http404("No such resource.")
    return resource


@dataclass(frozen=True)
class Status:
    key: str  # draft | scheduled | published
    label: str
    badge: str  # a components/status_badge.html status


def status_of(resource: Resource, today: datetime.date) -> Status:
    if not resource.is_published:
        return Status("draft", "Draft", "neutral")
    if resource.published_on and resource.published_on > today:
        return Status("scheduled", "Scheduled", "info")
    return Status("published", "Published", "active")


def resource_url(resource: Resource) -> str:
    return reverse("staff:resource", args=[resource.pk])


def preview_url(level: SoftwareLevel | None, *, drafts: bool = False) -> str:
    query = QueryDict(mutable=True)
    query["level"] = str(level.pk) if level else NO_LEVEL
    if drafts:
        query["drafts"] = "on"
    return reverse("staff:resources-preview") + "?" + query.urlencode()


def file_help() -> str:
    return (
        f"Allowed: {', '.join(files.allowed_extensions())}. "
        f"Up to {files.human_size(files.max_bytes())}. Customers download it as an attachment."
    )


# --- forms -------------------------------------------------------------------------------


class LevelAddForm(forms.Form):
    label = TextField(
        label="Label",
        max_length=actions.LABEL_MAX,
        help_text="As customers know the release, e.g. 4.0 SP2. It is added after the last level.",
    )
    is_active = forms.BooleanField(
        label="Active (customers can choose it)", required=False, initial=True
    )


class LevelEditForm(forms.Form):
    label = TextField(label="Label", max_length=actions.LABEL_MAX)
    is_active = forms.BooleanField(
        label="Active (customers can choose it)",
        required=False,
        help_text="A retired level can no longer be chosen; customers who have it keep it.",
    )
    reason = TextField(
        label="Reason",
        required=False,
        max_length=actions.REASON_MAX,
        help_text="Optional. Kept in the activity record.",
    )


class LevelMoveForm(forms.Form):
    direction = forms.ChoiceField(
        choices=[("up", "Up"), ("down", "Down")], error_messages=INVALID_CHOICE
    )


class ResourceForm(forms.Form):
    """One item's content, range and file. Levels are chosen from every level in order,
    retired ones included (an item may still apply to them); an empty end is open."""

    kind = forms.ChoiceField(
        label="Kind", choices=Resource.Kind.choices, error_messages=INVALID_CHOICE
    )
    title = TextField(label="Title", max_length=actions.TITLE_MAX)
    summary = TextField(
        label="Summary",
        required=False,
        max_length=actions.SUMMARY_MAX,
        help_text="One or two sentences shown in the customers' list.",
    )
    body = forms.CharField(
        label="Body",
        required=False,
        max_length=markdown.BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 14, "class": "resource-body-input"}),
        help_text=(
            "Markdown: **bold**, *italic*, # headings, - lists, [link text](https://…), "
            "tables. HTML is shown as text, and pictures as links."
        ),
    )
    level_from = forms.ChoiceField(
        label="Applies from level",
        required=False,
        error_messages=INVALID_CHOICE,
        help_text="Empty: every level up to the end of the range.",
    )
    level_to = forms.ChoiceField(
        label="Applies up to level",
        required=False,
        error_messages=INVALID_CHOICE,
        help_text="Empty: this level and every later one. Both empty: all customers.",
    )
    file = forms.FileField(
        label="File",
        required=False,
        widget=forms.FileInput,
        error_messages={"empty": "The file is empty.", "invalid": "Choose a file to attach."},
    )
    remove_file = forms.BooleanField(label="Remove the current file", required=False)
    version = _version_field()

    def __init__(
        self,
        *args: Any,
        levels: list[SoftwareLevel],
        resource: Resource | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.levels = {str(level.pk): level for level in levels}
        self._choices("level_from", level_choices(levels, "Any earlier level"))
        self._choices("level_to", level_choices(levels, "Any later level"))
        self.fields["file"].help_text = file_help()
        self.fields["file"].widget.attrs["accept"] = ",".join(files.allowed_extensions())
        if resource is None or not resource.has_file:
            del self.fields["remove_file"]
        if resource is None:
            del self.fields["version"]
        else:
            self.fields["file"].label = "Replace the file" if resource.has_file else "File"

    def _choices(self, name: str, choices: list[tuple[str, str]]) -> None:
        cast(forms.ChoiceField, self.fields[name]).choices = choices

    def _level(self, name: str) -> SoftwareLevel | None:
        value = self.cleaned_data.get(name) or ""
        return self.levels.get(value)

    def clean_file(self) -> Any:
        """The same check the action makes, so that a bad file is reported together with
        the other fields' problems (the action checks again)."""
        upload = self.cleaned_data.get("file")
        if upload:
            try:
                files.check(upload)
            except ValueError as exc:
                raise forms.ValidationError(str(exc)) from None
        return upload

    def clean_level_from(self) -> SoftwareLevel | None:
        return self._level("level_from")

    def clean_level_to(self) -> SoftwareLevel | None:
        return self._level("level_to")


class PublishForm(forms.Form):
    published_on = forms.DateField(
        label="Publish on",
        widget=_date_input(),
        error_messages={**DATE_ERRORS, "required": "Choose the day customers first see it."},
        help_text=(
            f"A day in {settings.TIME_ZONE} time. Today shows it at once; a later day schedules it."
        ),
    )
    version = _version_field()


class WithdrawForm(forms.Form):
    reason = TextField(
        label="Reason",
        max_length=actions.REASON_MAX,
        error_messages={"required": "Say why the item is withdrawn."},
        help_text="Customers stop seeing it at once. Kept in the activity record.",
    )
    version = _version_field()


class DeleteForm(forms.Form):
    version = _version_field()


class LibraryFilterForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=SEARCH_MAX,
        label="Search",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Title, summary, body"}),
    )
    status = forms.ChoiceField(
        required=False,
        label="Status",
        choices=[("", "Any status"), *Resource.Status.choices],
        error_messages=INVALID_CHOICE,
    )
    kind = forms.ChoiceField(
        required=False,
        label="Kind",
        choices=[("", "Any kind"), *Resource.Kind.choices],
        error_messages=INVALID_CHOICE,
    )
    after = forms.CharField(required=False, max_length=80, widget=forms.HiddenInput)

    def clean_q(self) -> str:
        return " ".join(str(self.cleaned_data.get("q") or "").split())


class PreviewForm(forms.Form):
    level = forms.ChoiceField(label="Software level", required=False, error_messages=INVALID_CHOICE)
    drafts = forms.BooleanField(label="Include drafts and scheduled items", required=False)

    def __init__(self, *args: Any, levels: list[SoftwareLevel], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.levels = {str(level.pk): level for level in levels}
        cast(forms.ChoiceField, self.fields["level"]).choices = [
            (NO_LEVEL, "No level set"),
            *((str(level.pk), level_name(level)) for level in levels),
        ]


class DownloadsFilterForm(forms.Form):
    customer = forms.CharField(
        required=False,
        max_length=200,
        label="Client ID",
        widget=forms.TextInput(attrs={"placeholder": "C-100042", "class": "input input-mono"}),
    )
    before = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, widget=forms.HiddenInput
    )

    def clean_customer(self) -> Customer | None:
        raw = str(self.cleaned_data.get("customer") or "")
        found = customers_from_client_ids(raw, too_many="Enter one client ID.")
        if len(found) > 1:
            raise forms.ValidationError("Enter one client ID, like C-100042.")
        return found[0] if found else None


# --- helpers shared by the views -----------------------------------------------------------


class StaffPage(StaffRequiredMixin, View):
    request: HttpRequest

    def actor(self) -> Any:
        return self.request.actor  # type: ignore[attr-defined]

    def render(self, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
        roles = self.staff_roles
        context.setdefault("staff_roles", sorted(roles))
        context.setdefault("can_edit", bool(roles & EDITORS))
        context.setdefault("can_keep_levels", bool(roles & LEVEL_KEEPERS))
        return TemplateResponse(self.request, template, context, status=status)


def _after_cursor(value: str) -> tuple[datetime.datetime, int] | None:
    """``<updated_at ISO>~<id>`` → (time, id); anything else is ignored (first page)."""
    stamp, _, pk = (value or "").partition("~")
    try:
        at = datetime.datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if timezone.is_naive(at) or not pk.isdecimal() or len(pk) > 19:
        return None
    if not 0 < int(pk) <= MAX_ID:
        return None
    try:  # an offset can push a time past the calendar's ends ("9999-12-31T23:59-23:59")
        at = at.astimezone(datetime.UTC)
    except OverflowError:
        return None
    return at, int(pk)


# --- software levels ---------------------------------------------------------------------


class LevelPage(StaffPage):
    required_roles: ClassVar[set[str]] = LEVEL_KEEPERS


class SoftwareLevelsView(LevelPage):
    """The ordered list of levels, with the "Add a level" form (POST here)."""

    template = "staff/resources/levels.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.page(LevelAddForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = LevelAddForm(request.POST)
        if not form.is_valid():
            return self.page(form, status=400)
        try:
            level = actions.add_level(
                label=form.cleaned_data["label"],
                is_active=form.cleaned_data["is_active"],
                actor=self.actor(),
            )
        except DomainError as error:
            error.add_to_form(form)
            return self.page(form, status=400)
        messages.success(request, f"Level “{level.label}” added at the end of the list.")
        return HttpResponseRedirect(reverse("staff:software-levels") + f"#level-{level.pk}")

    def page(self, form: LevelAddForm, *, status: int = 200) -> HttpResponse:
        levels = levels_with_counts()
        return self.render(self.template, {"levels": levels, "form": form}, status)


class SoftwareLevelEditView(LevelPage):
    """Rename a level, retire or restore it."""

    template = "staff/resources/level_form.html"

    def get(self, request: HttpRequest, level_id: int) -> HttpResponse:
        level = get_level(level_id)
        form = LevelEditForm(initial={"label": level.label, "is_active": level.is_active})
        return self.page(level, form)

    def post(self, request: HttpRequest, level_id: int) -> HttpResponse:
        level = get_level(level_id)
        form = LevelEditForm(request.POST)
        if not form.is_valid():
            return self.page(level, form, status=400)
        data = form.cleaned_data
        try:
            changed = actions.change_level(
                level,
                label=data["label"],
                is_active=data["is_active"],
                reason=data["reason"],
                actor=self.actor(),
            )
        except DomainError as error:
            error.add_to_form(form)
            return self.page(level, form, status=400)
        state = "active" if changed.is_active else "retired"
        messages.success(request, f"Level “{changed.label}” saved ({state}).")
        return HttpResponseRedirect(reverse("staff:software-levels") + f"#level-{changed.pk}")

    def page(self, level: SoftwareLevel, form: LevelEditForm, *, status: int = 200) -> HttpResponse:
        customers = Customer.objects.filter(software_level=level).count()
        return self.render(
            self.template, {"level": level, "form": form, "customer_count": customers}, status
        )


class SoftwareLevelMoveView(LevelPage):
    """Move a level one place up or down (POST only). A refusal is a message on the list."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, level_id: int) -> HttpResponse:
        level = get_level(level_id)
        back = HttpResponseRedirect(reverse("staff:software-levels") + f"#level-{level.pk}")
        form = LevelMoveForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Move a level up or down.")
            return back
        direction = form.cleaned_data["direction"]
        try:
            moved = actions.move_level(level, direction=direction, actor=self.actor())
        except DomainError as error:
            messages.error(request, error.message)
            return back
        messages.success(request, f"Level “{moved.label}” moved {direction}.")
        return back


# --- the library ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LibraryRow:
    resource: Resource
    status: Status
    range: str
    size: str
    url: str


def library_row(resource: Resource, today: datetime.date) -> LibraryRow:
    return LibraryRow(
        resource=resource,
        status=status_of(resource, today),
        range=visibility.range_label(resource),
        size=files.human_size(resource.file_size) if resource.has_file else "",
        url=resource_url(resource),
    )


class ResourcesView(StaffPage):
    """Every item, most recently changed first, filtered by status, kind and text."""

    template = "staff/resources/list.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        form = LibraryFilterForm(request.GET)
        form.is_valid()  # invalid filters are ignored, each on its own
        data = form.cleaned_data
        text, status, kind = data.get("q") or "", data.get("status") or "", data.get("kind") or ""
        queryset = queries.staff_list(status=status, kind=kind, text=text)
        after = _after_cursor(data.get("after") or "")
        if after is not None:
            at, pk = after
            queryset = queryset.filter(Q(updated_at__lt=at) | Q(updated_at=at, id__lt=pk))
        items = list(queryset[: LIST_SIZE + 1])
        more = len(items) > LIST_SIZE
        items = items[:LIST_SIZE]
        today = visibility.provider_today()
        filters = {"q": text, "status": status, "kind": kind}
        next_url = ""
        if more:
            last = items[-1]
            next_url = self.list_url(filters, after=f"{last.updated_at.isoformat()}~{last.pk}")
        filtered = any(filters.values())
        context = {
            "form": form,
            "rows": [library_row(item, today) for item in items],
            "next_url": next_url,
            "first_url": self.list_url(filters) if after else "",
            "filtered": filtered,
            "clear_url": reverse("staff:resources") if filtered else "",
        }
        return self.render(self.template, context)

    @staticmethod
    def list_url(filters: dict[str, str], *, after: str = "") -> str:
        query = QueryDict(mutable=True)
        for key, value in filters.items():
            if value:
                query[key] = value
        if after:
            query["after"] = after
        encoded = query.urlencode()
        return reverse("staff:resources") + (f"?{encoded}" if encoded else "")


class EditorPage(StaffPage):
    required_roles: ClassVar[set[str]] = EDITORS


class ResourceFormMixin(EditorPage):
    template = "staff/resources/form.html"

    def levels(self) -> list[SoftwareLevel]:
        return list(SoftwareLevel.objects.order_by("position"))

    def page(
        self, form: ResourceForm, resource: Resource | None = None, *, status: int = 200
    ) -> HttpResponse:
        file_again = (
            self.request.method == "POST" and bool(self.request.FILES) and "file" not in form.errors
        )
        context = {
            "form": form,
            "resource": resource,
            "title": f"Edit “{resource.title}”" if resource else "New resource",
            "submit": "Save changes" if resource else "Save as draft",
            "file_again": file_again,
            "file_size": files.human_size(resource.file_size) if resource else "",
            "cancel_url": resource_url(resource) if resource else reverse("staff:resources"),
        }
        return self.render(self.template, context, status)


class ResourceAddView(ResourceFormMixin):
    """Write a new item; it is saved as a draft."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.page(ResourceForm(levels=self.levels()))

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ResourceForm(request.POST, request.FILES, levels=self.levels())
        if not form.is_valid():
            return self.page(form, status=400)
        data = form.cleaned_data
        try:
            resource = actions.create_resource(
                kind=data["kind"],
                title=data["title"],
                summary=data["summary"],
                body=data["body"],
                level_from=data["level_from"],
                level_to=data["level_to"],
                upload=data["file"],
                actor=self.actor(),
            )
        except DomainError as error:
            error.add_to_form(form)
            return self.page(form, status=400)
        messages.success(
            request, f"“{resource.title}” is saved as a draft. Publish it when it is ready."
        )
        return HttpResponseRedirect(resource_url(resource))


class ResourceEditView(ResourceFormMixin):
    """Change an item's content, range or file; ``version`` guards against two editors."""

    def get(self, request: HttpRequest, resource_id: int) -> HttpResponse:
        resource = get_resource(resource_id)
        form = ResourceForm(
            levels=self.levels(),
            resource=resource,
            initial={
                "kind": resource.kind,
                "title": resource.title,
                "summary": resource.summary,
                "body": resource.body,
                "level_from": str(resource.level_from_id or ""),
                "level_to": str(resource.level_to_id or ""),
                "version": resource.version,
            },
        )
        return self.page(form, resource)

    def post(self, request: HttpRequest, resource_id: int) -> HttpResponse:
        resource = get_resource(resource_id)
        form = ResourceForm(request.POST, request.FILES, levels=self.levels(), resource=resource)
        if not form.is_valid():
            return self.page(form, resource, status=400)
        data = form.cleaned_data
        try:
            changed = actions.update_resource(
                resource,
                version=data["version"],
                kind=data["kind"],
                title=data["title"],
                summary=data["summary"],
                body=data["body"],
                level_from=data["level_from"],
                level_to=data["level_to"],
                upload=data["file"],
                remove_file=bool(data.get("remove_file")),
                actor=self.actor(),
            )
        except DomainError as error:
            error.add_to_form(form)
            return self.page(form, resource, status=409 if error.http_status == 409 else 400)
        if changed.version == resource.version:
            messages.info(request, "Nothing was changed.")
        else:
            messages.success(request, f"“{changed.title}” is saved.")
        return HttpResponseRedirect(resource_url(changed))


class ResourceDetailView(StaffPage):
    """One item: what customers read, its file, the controls, and who downloaded it."""

    template = "staff/resources/detail.html"

    def get(self, request: HttpRequest, resource_id: int) -> HttpResponse:
        resource = get_resource(resource_id)
        before = _int_param(request.GET.get("before"))
        rows, next_before = queries.downloads(resource=resource, before=before)
        today = visibility.provider_today()
        context = {
            "resource": resource,
            "status": status_of(resource, today),
            "range": visibility.range_label(resource),
            "body_html": markdown.render(resource.body),
            "file_size": files.human_size(resource.file_size),
            "downloads": [download_row(row) for row in rows],
            "older_url": f"{resource_url(resource)}?before={next_before}#downloads"
            if next_before
            else "",
            "newest_url": f"{resource_url(resource)}#downloads" if before else "",
            "never_downloaded": not rows and not before,
            # A level the item applies to (an "up to 4.0" item is not shown with no level set).
            "preview_level": resource.level_from or resource.level_to,
            "preview_url": preview_url(
                resource.level_from or resource.level_to, drafts=not resource.is_published
            ),
            "publish_form": PublishForm(
                initial={
                    "published_on": resource.published_on
                    if resource.is_published and resource.published_on
                    else today,
                    "version": resource.version,
                }
            ),
            "withdraw_form": WithdrawForm(initial={"version": resource.version}),
        }
        return self.render(self.template, context)


def _int_param(value: Any) -> int:
    text = str(value or "")
    if not text.isdecimal() or len(text) > 19:
        return 0
    number = int(text)
    return number if 0 < number <= MAX_ID else 0


@dataclass(frozen=True)
class DownloadRow:
    download: ResourceDownload
    customer_url: str
    resource_url: str


def download_row(download: ResourceDownload) -> DownloadRow:
    return DownloadRow(
        download=download,
        customer_url=customer_url(download.customer.number),
        resource_url=reverse("staff:resource", args=[download.resource_id]),
    )


class ResourceStepView(EditorPage):
    """Publish, withdraw or delete: POST from the resource page; GET shows the same form on a
    small page of its own (also where a refusal is shown)."""

    template = ""
    form_class: ClassVar[type[forms.Form]]

    def initial(self, resource: Resource) -> dict[str, Any]:
        return {"version": resource.version}

    def get(self, request: HttpRequest, resource_id: int) -> HttpResponse:
        resource = get_resource(resource_id)
        return self.page(resource, self.form_class(initial=self.initial(resource)))

    def post(self, request: HttpRequest, resource_id: int) -> HttpResponse:
        resource = get_resource(resource_id)
        form = self.form_class(request.POST)
        if not form.is_valid():
            return self.page(resource, form, status=400)
        try:
            response = self.act(resource, form.cleaned_data)
        except DomainError as error:
            error.add_to_form(form)
            return self.page(resource, form, status=error.http_status)
        return response

    def act(self, resource: Resource, data: dict[str, Any]) -> HttpResponse:
        raise NotImplementedError

    def page(self, resource: Resource, form: forms.Form, *, status: int = 200) -> HttpResponse:
        context = {
            "resource": resource,
            "form": form,
            "status": status_of(resource, visibility.provider_today()),
            "range": visibility.range_label(resource),
        }
        return self.render(self.template, context, status)


class ResourcePublishView(ResourceStepView):
    template = "staff/resources/publish.html"
    form_class = PublishForm

    def initial(self, resource: Resource) -> dict[str, Any]:
        day = resource.published_on if resource.is_published else None
        return {"version": resource.version, "published_on": day or visibility.provider_today()}

    def act(self, resource: Resource, data: dict[str, Any]) -> HttpResponse:
        published = actions.publish_resource(
            resource,
            version=data["version"],
            published_on=data["published_on"],
            actor=self.actor(),
        )
        day = published.published_on or visibility.provider_today()
        label = visibility.range_label(published)
        who = "all customers" if label == "All levels" else f"customers on {label}"
        if day > visibility.provider_today():
            text = f"“{published.title}” is scheduled: {who} see it from {day:%-d %b %Y}."
        else:
            text = f"“{published.title}” is published: {who} see it now."
        messages.success(self.request, text)
        return HttpResponseRedirect(resource_url(published))


class ResourceWithdrawView(ResourceStepView):
    template = "staff/resources/withdraw.html"
    form_class = WithdrawForm

    def act(self, resource: Resource, data: dict[str, Any]) -> HttpResponse:
        withdrawn = actions.withdraw_resource(
            resource, version=data["version"], reason=data["reason"], actor=self.actor()
        )
        messages.success(
            self.request, f"“{withdrawn.title}” is withdrawn: customers no longer see it."
        )
        return HttpResponseRedirect(resource_url(withdrawn))


class ResourceDeleteView(ResourceStepView):
    template = "staff/resources/delete.html"
    form_class = DeleteForm

    def act(self, resource: Resource, data: dict[str, Any]) -> HttpResponse:
        title = resource.title
        actions.delete_resource(resource, version=data["version"], actor=self.actor())
        messages.success(self.request, f"The draft “{title}” is deleted.")
        return HttpResponseRedirect(reverse("staff:resources"))


class ResourceFileView(StaffPage):
    """Staff download of an item's file (not recorded as a customer's download)."""

    def get(self, request: HttpRequest, resource_id: int) -> FileResponse:
        resource = get_resource(resource_id)
        if not resource.has_file:
            raise Http404("This item has no file.")
        try:
            handle = files.open_for_reading(resource.file)
        except (FileNotFoundError, OSError):
            raise Http404("The file is missing from storage.") from None
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=resource.file_name or "download",
            content_type=resource.file_type or "application/octet-stream",
        )
        response["Cache-Control"] = "private, no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response


@dataclass(frozen=True)
class PreviewRow:
    resource: Resource
    status: Status
    range: str
    url: str


class ResourcesPreviewView(StaffPage):
    """What a customer on a given level sees (optionally with the drafts and scheduled
    items that would show there once published)."""

    template = "staff/resources/preview.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        levels = list(SoftwareLevel.objects.order_by("position"))
        form = PreviewForm(request.GET, levels=levels)
        form.is_valid()  # invalid choices are ignored
        choice = form.cleaned_data.get("level") or NO_LEVEL
        level = form.levels.get(choice)
        drafts = bool(form.cleaned_data.get("drafts"))
        if "level" in form.errors:
            # A forged or stale level: preview "No level set" and show the form as such.
            form = PreviewForm({"level": NO_LEVEL, "drafts": "on" if drafts else ""}, levels=levels)
            form.is_valid()
        today = visibility.provider_today()
        items = queries.preview(level, include_drafts=drafts)
        rows = [
            PreviewRow(
                resource=item,
                status=status_of(item, today),
                range=visibility.range_label(item),
                url=resource_url(item),
            )
            for item in items
        ]
        context = {
            "form": form,
            "level": level,
            "drafts": drafts,
            "rows": rows,
            "limit": len(items) >= 200,
        }
        return self.render(self.template, context)


class ResourceDownloadsView(StaffPage):
    """Every download, newest first, optionally for one customer (client ID)."""

    template = "staff/resources/downloads.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        form = DownloadsFilterForm(request.GET)
        form.is_valid()
        customer: Customer | None = form.cleaned_data.get("customer")
        before = form.cleaned_data.get("before") or 0
        if "customer" in form.errors:
            rows: list[ResourceDownload] = []
            next_before = 0
        else:
            rows, next_before = queries.downloads(customer=customer, before=before)
        base = reverse("staff:resource-downloads")
        query = f"customer={customer.client_id}&" if customer else ""
        context = {
            "form": form,
            "rows": [download_row(row) for row in rows],
            "customer": customer,
            "customer_url": customer_url(customer.number) if customer else "",
            "older_url": f"{base}?{query}before={next_before}" if next_before else "",
            "newest_url": (f"{base}?{query}".rstrip("?&")) if before else "",
            "filtered": bool(customer) or "customer" in form.errors,
            "clear_url": base,
        }
        return self.render(self.template, context)
