"""The portal's Resources page (issue 10, seed 002: the software level "is used as a filter …
so that only relevant software / CSPs / notes are presented to you").

Every role sees the library (``Capability.VIEW_RESOURCES``), filtered by the customer's
software level through ``resources.queries``: the list (newest first, keyset pages, search
and a kind filter), one item, and its file. An item the customer's level does not cover — a
draft, a scheduled item, another range, an id that does not exist — is the same 404 on the
item page and on its download, so the filter cannot be walked around by typing URLs.

The filters come from the query string and are never trusted: an unknown kind is dropped
with a note, the search is cut to ``queries.SEARCH_MAX`` characters, a cursor that does not
parse shows the first page. With htmx the search box and the kind select update the results
in place (``HX-Target: resource-results``) and "Older items" appends the next rows
(``HX-Target: resource-list``); without JavaScript the same form is a plain GET.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from django import forms
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    QueryDict,
)
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views import View
from django.views.generic.base import ContextMixin

from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers import policy
from clientdesk.customers.models import Customer, SoftwareLevel
from clientdesk.customers.roles import Capability
from clientdesk.resources import actions, files, markdown, queries, visibility
from clientdesk.resources.models import Resource

from .mixins import CustomerMixin

logger = logging.getLogger(__name__)

RESULTS_TARGET = "resource-results"
LIST_TARGET = "resource-list"

KIND_ICONS: dict[str, str] = {
    Resource.Kind.SOFTWARE: "arrow-down-tray",
    Resource.Kind.SUPPORT_PACKAGE: "archive-box",
    Resource.Kind.RELEASE_NOTE: "newspaper",
    Resource.Kind.ARTICLE: "light-bulb",
}

# Control characters (NUL included: PostgreSQL refuses it in a query) never reach a search.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


# --- filters --------------------------------------------------------------------------------


class ResourceFilterForm(forms.Form):
    """The search box and the kind select (unbound: it only shows the filters in force)."""

    q = forms.CharField(
        required=False,
        label="Search",
        max_length=queries.SEARCH_MAX,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "autocomplete": "off",
                "spellcheck": "false",
                "placeholder": "Title, summary or text",
            }
        ),
    )
    kind = forms.ChoiceField(
        required=False,
        label="Kind",
        choices=[("", "All kinds"), *Resource.Kind.choices],
    )


@dataclass(frozen=True)
class Filters:
    text: str = ""
    kind: str = ""
    cursor: str = ""

    @property
    def any(self) -> bool:
        return bool(self.text or self.kind)

    @property
    def kind_label(self) -> str:
        return str(Resource.Kind(self.kind).label) if self.kind else ""

    def query(self, *, cursor: str = "") -> str:
        """The query string for these filters (and a page cursor), ``?`` included."""
        query = QueryDict(mutable=True)
        if self.text:
            query["q"] = self.text
        if self.kind:
            query["kind"] = self.kind
        if cursor:
            query["cursor"] = cursor
        encoded = query.urlencode()
        return f"?{encoded}" if encoded else ""


def read_filters(data: QueryDict) -> tuple[Filters, list[str]]:
    """The filters that make sense, and one sentence per value that was ignored or cut."""
    ignored: list[str] = []
    raw = data.get("q", "")
    text = " ".join(_CONTROL.sub(" ", raw).split())
    if len(text) > queries.SEARCH_MAX:
        text = text[: queries.SEARCH_MAX].rstrip()
        ignored.append(f"Search: only the first {queries.SEARCH_MAX} characters are used.")
    kind = data.get("kind", "")
    if kind not in Resource.Kind.values:
        if kind:
            ignored.append("Kind: choose a kind from the list.")
        kind = ""
    cursor = data.get("cursor", "")
    if queries.parse_cursor(cursor) is None:
        cursor = ""
    return Filters(text=text, kind=kind, cursor=cursor), ignored


# --- what the templates show ----------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One resource as the portal shows it."""

    resource: Resource
    url: str
    download_url: str
    range_label: str
    kind_icon: str
    file_size: str


def item_view(customer: Customer, resource: Resource) -> Item:
    number = customer.number
    return Item(
        resource=resource,
        url=reverse("portal:resource", args=[number, resource.pk]),
        download_url=(
            reverse("portal:resource-download", args=[number, resource.pk])
            if resource.has_file
            else ""
        ),
        range_label=visibility.range_label(resource),
        kind_icon=KIND_ICONS.get(resource.kind, "document-text"),
        file_size=files.human_size(resource.file_size) if resource.has_file else "",
    )


@dataclass(frozen=True)
class LevelNotice:
    """The notice at the top of the list: the level in use and where to change it."""

    level: SoftwareLevel | None
    may_change: bool
    preferences_url: str


def level_notice(customer: Customer, role: str) -> LevelNotice:
    """``may_change``: the viewer's role may edit Preferences and the software level field is
    open to them now (not for a closed account, say) — then the notice links to the form."""
    authority = policy.Authority.portal(role)
    may_change = authority.may_edit_section(policy.Section.PREFERENCES)
    if may_change:
        access = policy.field_access(policy.field("software_level"), authority, customer)
        may_change = access.editable or access.requestable
    return LevelNotice(
        level=customer.software_level,
        may_change=may_change,
        preferences_url=reverse(
            "portal:account-section-edit", args=[customer.number, policy.Section.PREFERENCES]
        ),
    )


def _vary_on_htmx(response: HttpResponse) -> HttpResponse:
    """The same URL answers htmx with a fragment and browsers with a page."""
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


# --- views ------------------------------------------------------------------------------------


class ResourcesView(CustomerMixin, ContextMixin, View):
    """``/c/<number>/resources/``: the published items for the customer's software level."""

    capability = Capability.VIEW_RESOURCES
    template_name = "portal/resources/list.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        filters, ignored = read_filters(request.GET)
        notice = level_notice(self.customer, self.membership.role)
        page = queries.library(
            notice.level, text=filters.text, kind=filters.kind, cursor=filters.cursor
        )
        base_url = reverse("portal:resources", args=[self.customer.number])
        context: dict[str, Any] = {
            "notice": notice,
            "filters": filters,
            "ignored": ignored,
            "items": [item_view(self.customer, r) for r in page.items],
            "older_url": (
                base_url + filters.query(cursor=page.next_cursor) if page.next_cursor else ""
            ),
            "newest_url": base_url + filters.query() if filters.cursor else "",
            "clear_url": base_url,
            "list_url": base_url,
        }
        target = request.headers.get("HX-Target", "") if request.htmx else ""  # type: ignore[attr-defined]
        restoring = request.headers.get("HX-History-Restore-Request") == "true"
        if target == LIST_TARGET and filters.cursor and not restoring:
            return _vary_on_htmx(TemplateResponse(request, "portal/resources/more.html", context))
        if target == RESULTS_TARGET and not restoring:
            return _vary_on_htmx(
                TemplateResponse(request, "portal/resources/results_update.html", context)
            )
        context["filter_form"] = ResourceFilterForm(
            initial={"q": filters.text, "kind": filters.kind}
        )
        return _vary_on_htmx(
            TemplateResponse(request, self.template_name, self.get_context_data(**context))
        )


class ResourceView(CustomerMixin, ContextMixin, View):
    """``/c/<number>/resources/<id>/``: one item, its body rendered safely."""

    capability = Capability.VIEW_RESOURCES
    template_name = "portal/resources/detail.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        resource = queries.visible_resource(self.customer, kwargs["resource_id"])
        if resource is None:
            raise Http404("No such resource for this account.")
        context = self.get_context_data(
            item=item_view(self.customer, resource),
            body=markdown.render(resource.body),
            list_url=reverse("portal:resources", args=[self.customer.number]),
        )
        return TemplateResponse(request, self.template_name, context)


class ResourceDownloadView(CustomerMixin, View):
    """``/c/<number>/resources/<id>/download/``: the item's file as an attachment.

    The download is recorded (who — "staff as user" in a Login As session —, which customer,
    when) through ``actions.record_download``, which checks the level again. The file is read
    from its storage and never from a public URL; the type is the one the allow-list gave it.
    """

    capability = Capability.VIEW_RESOURCES
    http_method_names = ["get"]

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        resource = queries.visible_resource(self.customer, kwargs["resource_id"])
        if resource is None or not resource.has_file:
            raise Http404("No such download for this account.")
        try:
            handle = files.open_for_reading(resource.file)
        except OSError:
            logger.warning("resource %s: stored file %r is missing", resource.pk, resource.file)
            raise Http404("This file is not available. Please contact support.") from None
        try:
            actions.record_download(
                resource,
                customer=self.customer,
                actor=request.actor,  # type: ignore[attr-defined]
            )
        except DomainError as error:
            handle.close()
            if error.code == ErrorCode.NOT_FOUND:
                raise Http404(error.message) from None
            raise
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=resource.file_name,
            content_type=resource.file_type or "application/octet-stream",
        )
        response["Cache-Control"] = "private, no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response
