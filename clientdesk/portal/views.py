"""Portal pages for customers."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.forms.utils import ErrorDict
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views import View
from django.views.generic import TemplateView

from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers import access, policy, queries
from clientdesk.customers.actions import update_profile_section
from clientdesk.customers.models import Customer
from clientdesk.customers.roles import Capability
from clientdesk.customers.sections import SECTION_FORMS, SectionForm, section_etag
from clientdesk.customers.trail import customer_trail
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
        return context


# --- My Account ---------------------------------------------------------------------------


class AccountMixin(CustomerMixin):
    """My Account pages: the customer loaded with everything the profile shows (one query),
    the viewer's authority under the field policy, and the section named in the URL."""

    capability = Capability.VIEW_PROFILE
    page_template = "portal/account.html"
    authority: policy.Authority

    def load_profile(self) -> None:
        self.customer = queries.profile_customer(self.membership.customer_id)
        self.membership.customer = self.customer
        self.authority = policy.Authority.portal(self.membership.role)

    def resolve_section(self, slug: str) -> policy.Section:
        try:
            return profile.resolve_section(slug, self.customer)
        except profile.UnknownSection:
            raise Http404("No such section.") from None

    def section_view(self, section: policy.Section) -> profile.SectionView:
        view = profile.build_section(self.customer, section, self.authority)
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
        open_key: str = "",
    ) -> TemplateResponse:
        """The whole My Account page, with ``editing`` (if any) in edit mode."""
        sections = profile.build_sections(self.customer, self.authority)
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
            read_only=self.customer.is_active and not any(v.can_edit for v in sections),
        )
        return TemplateResponse(self.request, self.page_template, context)

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
            raise PermissionDenied(profile.cannot_edit_text(section, self.customer))
        view.etag = section_etag(self.customer, section)
        view.editing = True
        form = self.form_for(section, view.editable)
        if request.htmx:  # type: ignore[attr-defined]
            response: HttpResponse = self.partial(
                "components/profile_section_form.html", {"section": view, "form": form}
            )
        else:
            response = self.page(editing=view, form=form)
        return _vary_on_htmx(response)


class AccountSectionView(AccountMixin, TemplateView):
    """GET: the section in view mode (htmx: Cancel). POST: save the section."""

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
        if not view.can_edit:
            text = profile.cannot_edit_text(section, self.customer)
            if not htmx:
                raise PermissionDenied(text)
            view.alert = profile.Alert("error", text, title="Nothing was saved")
            return _vary_on_htmx(self.view_partial(view))
        form_class = SECTION_FORMS[section]
        values = profile.posted_values(request.POST, form_class, view.editable)
        etag = request.POST.get("etag", "").strip() or None
        try:
            result = update_profile_section(
                self.customer,
                section=section,
                values=values,
                actor=request.actor,  # type: ignore[attr-defined]
                etag=etag,
            )
        except DomainError as error:
            if error.code == ErrorCode.NOT_FOUND:
                raise Http404(error.message) from None
            return _vary_on_htmx(self.failed(section, error, etag=etag, htmx=htmx))
        text = profile.SAVED_TEXT if result.changed else profile.NOTHING_CHANGED_TEXT
        if not htmx:
            if result.changed:
                messages.success(request, text)
            else:
                messages.info(request, text)
            url = profile.account_url(self.customer.number, open_section=section.value)
            return HttpResponseRedirect(url)
        self.load_profile()  # the saved values, with the primary email annotated again
        view = self.section_view(section)
        view.alert = profile.Alert("success" if result.changed else "info", text, live=True)
        return _vary_on_htmx(self.view_partial(view, refresh_einvoice=result.changed))

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
        form = self.form_for(section, view.editable, data=self.request.POST)
        # The action validated already; show its verdict rather than validating twice.
        form.cleaned_data = {}
        form._errors = ErrorDict()  # type: ignore[attr-defined]
        if error.code == ErrorCode.STALE_VERSION:
            probe = self.form_for(section, view.editable, data=self.request.POST)
            view.conflict = True
            view.conflict_rows = profile.conflict_rows(self.customer, view, probe)
            view.alert = profile.Alert("warning", error.message, title="This section changed")
            view.etag = section_etag(self.customer, section)
        else:
            if error.code == ErrorCode.NOT_ALLOWED and error.errors:
                form.add_error(None, error.message)
            error.add_to_form(form)
            view.etag = etag or section_etag(self.customer, section)
        if htmx:
            return self.partial(
                "components/profile_section_form.html", {"section": view, "form": form}
            )
        return self.page(editing=view, form=form)


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
