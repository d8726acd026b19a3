"""Portal pages for customers."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.forms.utils import ErrorDict
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.views import View
from django.views.generic import TemplateView

from clientdesk.change_requests import actions as request_actions
from clientdesk.change_requests import queries as request_queries
from clientdesk.change_requests.models import ChangeRequest
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers import access, policy, queries
from clientdesk.customers.models import Customer
from clientdesk.customers.roles import Capability
from clientdesk.customers.sections import SECTION_FORMS, SectionForm, section_etag
from clientdesk.customers.trail import customer_trail
from clientdesk.resources import visibility
from clientdesk.taxes.rules import applicable_tax
from clientdesk.web import profile

from . import activity as activity_page
from .mixins import CustomerMixin


class HomeView(LoginRequiredMixin, View):
    """After sign-in: straight into the only customer, or a choice between several.
    Staff are not contacts; their home is the staff console."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_staff:
            return HttpResponseRedirect(reverse("staff:home"))
        memberships = list(access.portal_memberships(request.user))
        if len(memberships) == 1:
            number = memberships[0].customer.number
            return HttpResponseRedirect(reverse("portal:customer-home", args=[number]))
        return render(request, "portal/choose_customer.html", {"memberships": memberships})


class CustomerHomeView(CustomerMixin, TemplateView):
    """The customer's overview: the account at a glance and where to go next."""

    template_name = "portal/customer_home.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["contact_count"] = self.customer.contacts.count()
        context["tax"] = applicable_tax(self.customer)
        # Seed 002: the newest items for the customer's software level (one query).
        level = self.customer.software_level
        context["software_level"] = level
        context["latest_resources"] = list(visibility.visible_to(level)[:3])
        return context


# --- My Account ---------------------------------------------------------------------------

NOTE_MAX = request_actions.MESSAGE_MAX


class ReviewerNoteForm(forms.Form):
    """The optional note that goes with a change request (``save_section(note=)``)."""

    note = forms.CharField(
        required=False,
        strip=True,
        label="Note for the reviewer",
        help_text="Optional. Why the change, or anything that helps the review.",
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": NOTE_MAX}),
    )


class AccountMixin(CustomerMixin):
    """My Account pages: the customer loaded with everything the profile shows (one query),
    its open change requests (one query), the viewer's authority under the field policy,
    and the section named in the URL."""

    capability = Capability.VIEW_PROFILE
    page_template = "portal/account.html"
    authority: policy.Authority
    open_requests: dict[str, ChangeRequest]

    def load_profile(self) -> None:
        self.customer = queries.profile_customer(self.membership.customer_id)
        self.membership.customer = self.customer
        self.authority = policy.Authority.portal(self.membership.role)
        # One query for the page; none for roles that may see no request at all.
        self.open_requests = (
            request_queries.open_requests(self.customer)
            if request_queries.visible_kinds(self.membership.role)
            else {}
        )

    def resolve_section(self, slug: str) -> policy.Section:
        try:
            return profile.resolve_section(slug, self.customer)
        except profile.UnknownSection:
            raise Http404("No such section.") from None

    def section_view(self, section: policy.Section) -> profile.SectionView:
        view = profile.build_section(
            self.customer, section, self.authority, requests=self.open_requests
        )
        if view is None:
            raise PermissionDenied("Your role on this account cannot see this section.")
        return view

    def form_for(self, section: policy.Section, editable: list[str], **kwargs: Any) -> SectionForm:
        return SECTION_FORMS[section](customer=self.customer, fields=editable, **kwargs)

    def page(
        self,
        *,
        editing: profile.SectionView | None = None,
        form: SectionForm | None = None,
        note_form: ReviewerNoteForm | None = None,
        open_key: str = "",
    ) -> TemplateResponse:
        """The whole My Account page, with ``editing`` (if any) in edit mode."""
        sections = profile.build_sections(
            self.customer, self.authority, requests=self.open_requests
        )
        for index, view in enumerate(sections):
            if editing is not None and view.key == editing.key:
                sections[index] = editing
                editing.editing = True
            view.open = view.key == open_key
        if not open_key and editing is None and sections:
            sections[0].open = True
        context = self.get_context_data(
            sections=sections,
            edit_form=form,
            note_form=note_form if editing is not None and editing.requestable else None,
            read_only=self.customer.is_active and not any(v.can_edit for v in sections),
        )
        return TemplateResponse(self.request, self.page_template, context)

    def edit_partial(
        self,
        view: profile.SectionView,
        form: SectionForm,
        note_form: ReviewerNoteForm | None = None,
    ) -> TemplateResponse:
        if view.requestable and note_form is None:
            note_form = ReviewerNoteForm()
        return self.partial(
            "components/profile_section_form.html",
            {"section": view, "form": form, "note_form": note_form if view.requestable else None},
        )

    def partial(self, template: str, context: dict[str, Any]) -> TemplateResponse:
        """An htmx fragment (200 even with errors: htmx does not swap 4xx responses)."""
        return TemplateResponse(self.request, template, {**context, "customer": self.customer})


def _vary_on_htmx(response: HttpResponse) -> HttpResponse:
    """The same URL answers htmx with a partial and browsers with a page."""
    patch_vary_headers(response, ["HX-Request"])
    return response


class AccountView(AccountMixin, TemplateView):
    """My Account (seed 000): every profile section the viewer may see, as collapsible panels
    with a pencil where they may change something."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.load_profile()
        open_key = request.GET.get("open", "")
        return self.page(open_key=open_key)


class AccountSectionEditView(AccountMixin, TemplateView):
    """A section in edit mode: the htmx partial, or without JavaScript the whole page with
    that section open as a form. Only the fields the policy lets the viewer change."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.load_profile()
        section = self.resolve_section(kwargs["section"])
        view = self.section_view(section)
        if not view.can_edit:
            if view.request is not None:
                # Everything here is under an open request: show it (current vs requested).
                if request.htmx:  # type: ignore[attr-defined]
                    return _vary_on_htmx(
                        self.partial("portal/partials/account_section.html", {"section": view})
                    )
                url = profile.account_url(self.customer.number, open_section=section.value)
                return _vary_on_htmx(HttpResponseRedirect(url))
            raise PermissionDenied(profile.cannot_edit_text(section, self.customer))
        view.etag = section_etag(self.customer, section)
        view.editing = True
        form = self.form_for(section, view.form_fields)
        note_form = ReviewerNoteForm()
        if request.htmx:  # type: ignore[attr-defined]
            response: HttpResponse = self.edit_partial(view, form, note_form)
        else:
            response = self.page(editing=view, form=form, note_form=note_form)
        return _vary_on_htmx(response)


class AccountSectionView(AccountMixin, TemplateView):
    """GET: the section in view mode (htmx: Cancel). POST: save the section through
    ``change_requests.actions.save_section``: the direct fields apply at once, the approval
    fields become a change request (seed 002)."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.load_profile()
        section = self.resolve_section(kwargs["section"])
        view = self.section_view(section)
        if not request.htmx:  # type: ignore[attr-defined]
            return _vary_on_htmx(
                HttpResponseRedirect(
                    profile.account_url(self.customer.number, open_section=view.key)
                )
            )
        return _vary_on_htmx(self.view_partial(view))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.load_profile()
        section = self.resolve_section(kwargs["section"])
        view = self.section_view(section)
        htmx = bool(request.htmx)  # type: ignore[attr-defined]
        if not view.can_edit and view.request is None:
            # (With a request open, the action answers: it points to that request.)
            text = profile.cannot_edit_text(section, self.customer)
            if not htmx:
                raise PermissionDenied(text)
            view.alert = profile.Alert("error", text, title="Nothing was saved")
            return _vary_on_htmx(self.view_partial(view))
        form_class = SECTION_FORMS[section]
        values = profile.posted_values(request.POST, form_class, view.form_fields)
        etag = request.POST.get("etag", "").strip() or None
        note = request.POST.get("note", "") if view.requestable else ""
        try:
            result = request_actions.save_section(
                self.customer,
                section=section,
                values=values,
                actor=request.actor,  # type: ignore[attr-defined]
                etag=etag,
                note=note,
            )
        except DomainError as error:
            if error.code == ErrorCode.NOT_FOUND:
                raise Http404(error.message) from None
            return _vary_on_htmx(self.failed(section, error, etag=etag, htmx=htmx))
        changed = result.update.changed
        if result.request is not None:
            return _vary_on_htmx(self.requested(section, result.request, changed, htmx=htmx))
        text = profile.SAVED_TEXT if changed else profile.NOTHING_CHANGED_TEXT
        if not htmx:
            if changed:
                messages.success(request, text)
            else:
                messages.info(request, text)
            url = profile.account_url(self.customer.number, open_section=section.value)
            return HttpResponseRedirect(url)
        self.load_profile()  # the saved values, with the primary email annotated again
        view = self.section_view(section)
        view.alert = profile.Alert("success" if changed else "info", text, live=True)
        return _vary_on_htmx(self.view_partial(view, refresh_einvoice=changed))

    def requested(
        self, section: policy.Section, change: ChangeRequest, changed: bool, *, htmx: bool
    ) -> HttpResponse:
        """After a save that raised a change request: "Your request CR-000123 has been
        sent" with a link to it, and "Saved — changes are live" when direct fields changed
        too. htmx: the section, now showing current vs requested; otherwise a redirect."""
        url = profile.request_url(self.customer.number, change.number)
        sent = f"Your request {change.reference} has been sent"
        link = format_html('<a href="{}">View request {}</a>', url, change.reference)
        if not htmx:
            messages.success(self.request, format_html("{}. {}", sent, link))
            if changed:
                messages.success(self.request, profile.SAVED_TEXT)
            url = profile.account_url(self.customer.number, open_section=section.value)
            return HttpResponseRedirect(url)
        self.load_profile()
        view = self.section_view(section)
        provider = profile.provider_name()
        html: SafeString = format_html(
            "<p>{} reviews it and emails you when it is decided. {}</p>", provider, link
        )
        if changed:
            html = format_html("{}<p>{}</p>", html, f"{profile.SAVED_TEXT} for the other fields.")
        view.alert = profile.Alert("success", "", title=sent, live=True, html=html)
        return self.view_partial(view, refresh_einvoice=changed)

    def view_partial(
        self, view: profile.SectionView, *, refresh_einvoice: bool = False
    ) -> TemplateResponse:
        context: dict[str, Any] = {"section": view}
        if refresh_einvoice and view.key != policy.Section.EINVOICE:
            # Contact, business and personal details feed e-invoice readiness: update the
            # E-Invoice panel's status in place (an htmx out-of-band swap).
            einvoice = profile.build_section(self.customer, policy.Section.EINVOICE, self.authority)
            if einvoice is not None:
                context["einvoice_oob"] = einvoice
        return self.partial("portal/partials/account_section.html", context)

    def failed(
        self, section: policy.Section, error: DomainError, *, etag: str | None, htmx: bool
    ) -> HttpResponse:
        """The form again, with the person's input, the errors next to the fields, and for a
        conflict the values saved meanwhile. Nothing was saved. (200, so htmx swaps it.)"""
        self.load_profile()
        view = self.section_view(section)
        view.editing = True
        form = self.form_for(section, view.form_fields, data=self.request.POST)
        # The action validated already; show its verdict rather than validating twice.
        form.cleaned_data = {}
        form._errors = ErrorDict()  # type: ignore[attr-defined]
        note_form = ReviewerNoteForm(data=self.request.POST)
        note_form.cleaned_data = {}
        note_form._errors = ErrorDict()  # type: ignore[attr-defined]
        if error.code == ErrorCode.STALE_VERSION:
            probe = self.form_for(section, view.form_fields, data=self.request.POST)
            view.conflict = True
            view.conflict_rows = profile.conflict_rows(self.customer, view, probe)
            view.alert = profile.Alert("warning", error.message, title="This section changed")
            view.etag = section_etag(self.customer, section)
        elif error.code == ErrorCode.CONFLICT:
            # A request for this section is open already (another tab, or someone else).
            alert = profile.Alert("error", error.message, title="Nothing was sent")
            open_request = self.open_requests.get(section.value)
            if open_request is not None:
                url = profile.request_url(self.customer.number, open_request.number)
                alert.html = format_html(
                    '<p><a href="{}">View request {}</a></p>', url, open_request.reference
                )
            view.alert = alert
            if not view.form_fields:
                # Nothing left to edit here: the section shows the open request instead.
                if not htmx:
                    messages.error(self.request, format_html("{} {}", error.message, alert.html))
                    url = profile.account_url(self.customer.number, open_section=section.value)
                    return HttpResponseRedirect(url)
                view.editing = False
                return self.view_partial(view)
            view.etag = etag or section_etag(self.customer, section)
        else:
            if error.code == ErrorCode.NOT_ALLOWED and error.errors:
                form.add_error(None, error.message)
            if error.field == "note":
                note_form.add_error("note", error.message)
            else:
                error.add_to_form(form)
            view.etag = etag or section_etag(self.customer, section)
        if htmx:
            return self.edit_partial(view, form, note_form)
        return self.page(editing=view, form=form, note_form=note_form)


# --- Activity -----------------------------------------------------------------------------


class ActivityView(CustomerMixin, TemplateView):
    """The customer's activity trail, newest first, with filters and keyset pages."""

    capability = Capability.VIEW_ACTIVITY
    template_name = "portal/activity.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        customer: Customer = self.customer
        people = activity_page.people_choices(customer)
        applied, ignored = activity_page.read_filters(self.request.GET, people)
        zone = activity_page.customer_zone(customer)
        since, until = applied.bounds(zone)
        page = customer_trail(
            customer,
            for_customer=True,
            actor_id=applied.actor_id,
            group=applied.group,
            since=since,
            until=until,
            before=applied.before,
        )
        base = reverse("portal:activity", args=[customer.number])
        older_url = ""
        if page.next_before is not None:
            older_url = f"{base}?{applied.query(before=page.next_before)}"
        newest_url = ""
        if applied.before is not None:
            query = applied.query()
            newest_url = f"{base}?{query}" if query else base
        context.update(
            entries=activity_page.entry_views(page.entries),
            filter_form=activity_page.display_form(applied, people),
            filters=applied,
            ignored=ignored,
            zone=zone,
            zone_name=str(zone).replace("_", " "),
            older_url=older_url,
            newest_url=newest_url,
            clear_url=base,
        )
        return context
