"""Portal change-request pages (seed 002; issue 7): the customer's requests, one request with
its conversation, a reply, cancelling, and asking to change the primary (login) email.

Who sees what: a contact sees the requests of the kinds their role may change
(``change_requests.actions.may_see``: the section's editors; the primary email: the owner).
A role that may see no kind at all gets 403 on every page here (like any other portal page
whose capability the role lacks); a request of another customer, of a kind the role may not
see, or that does not exist is 404. Views stay thin: the actions check again.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.views import View

from clientdesk.change_requests import actions, queries
from clientdesk.change_requests.email_checks import EmailRefused, check_new_login_email
from clientdesk.change_requests.models import OPEN_STATUSES, ChangeRequest, Kind, Message
from clientdesk.change_requests.values import label
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers import queries as customer_queries
from clientdesk.customers.models import Customer
from clientdesk.customers.roles import Capability
from clientdesk.customers.sections import raw_value
from clientdesk.web import profile

from .mixins import CustomerMixin

# Larger numbers cannot be a request (the column is a 32-bit positive integer on every
# database); answering 404 early keeps a forged number away from the database driver.
MAX_NUMBER = 2_147_483_647
REASON_MAX = 1000


def list_url(customer: Customer) -> str:
    return reverse("portal:change-requests", args=[customer.number])


def detail_url(customer: Customer, number: int) -> str:
    return profile.request_url(customer.number, number)


class RequestsMixin(CustomerMixin):
    """The membership (``CustomerMixin``: not a contact → 404) and the kinds of request the
    role may see (none → 403)."""

    capability = Capability.VIEW_PROFILE
    kinds: list[str]

    def check_role(self) -> None:
        self.kinds = queries.visible_kinds(self.membership.role)
        if not self.kinds:
            raise PermissionDenied("Your role on this account does not include change requests.")

    def context(self, **extra: Any) -> dict[str, Any]:
        return self.get_context_data(**extra)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)
        context["requests_url"] = list_url(self.customer)
        context["provider"] = profile.provider_name()
        return context


class _RoleGate(View):
    """Sits after ``CustomerMixin`` in the MRO: the membership is known, the handler has not
    run yet."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        self.check_role()  # type: ignore[attr-defined]
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return dict(kwargs)


class RequestPage(RequestsMixin, _RoleGate):
    """Base of the request pages."""


class OneRequestPage(RequestPage):
    """A page about one request: ``self.change`` (404 when the contact may not see it)."""

    change: ChangeRequest

    def load_request(self, number: int) -> ChangeRequest:
        if number < 1 or number > MAX_NUMBER:
            raise Http404("No such change request.")
        found = queries.get_for_contact(self.customer, number, role=self.membership.role)
        if found is None:
            raise Http404("No such change request.")
        found.customer = self.customer
        self.change = found
        return found


# --- the list -------------------------------------------------------------------------------


class RequestListView(RequestPage):
    """The customer's requests the viewer may see, newest first."""

    template_name = "portal/change_requests/list.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        rows = queries.for_customer(self.customer, role=self.membership.role)
        summaries = [profile.request_summary(row, self.customer) for row in rows]
        may_ask_email = actions.may_see(self.membership.role, Kind.PRIMARY_EMAIL)
        open_email = next(
            (r for r in rows if r.kind == Kind.PRIMARY_EMAIL and r.status in OPEN_STATUSES),
            None,
        )
        context = self.context(
            requests=summaries,
            primary_email_url=(
                profile.primary_email_request_url(self.customer.number)
                if may_ask_email and open_email is None and self.customer.is_active
                else ""
            ),
            account_url=profile.account_url(self.customer.number),
        )
        return TemplateResponse(request, self.template_name, context)


# --- one request ------------------------------------------------------------------------------


class ReplyForm(forms.Form):
    body = forms.CharField(
        label="Your reply",
        strip=True,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": actions.MESSAGE_MAX}),
        error_messages={"required": "Write a message."},
    )


class RequestDetailView(OneRequestPage):
    """The request: what was asked against the account now (or as it was, once decided),
    the note, the outcome, the conversation, a reply form and Cancel while it is open."""

    template_name = "portal/change_requests/detail.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.load_request(kwargs["request_number"])
        return self.show(ReplyForm())

    def show(self, form: ReplyForm, *, status: int = 200) -> TemplateResponse:
        change = self.change
        if change.status != "awaiting_customer":
            form.fields["body"].label = "Add a comment"
        customer = customer_queries.profile_customer(self.customer.pk)
        rows = profile.compare_rows(customer, change)
        summary = profile.request_summary(change, customer, rows=rows)
        thread = queries.thread(change)
        context = self.context(
            change=change,
            summary=summary,
            messages_list=[message_view(m, customer) for m in thread],
            form=form,
            reply_url=reverse("portal:change-request-reply", args=[customer.number, change.number]),
            sent_exact=profile.exact_time(change.created_at, customer),
            decided_exact=(
                profile.exact_time(change.decided_at, customer) if change.decided_at else ""
            ),
            approved_labels=[label(n) for n in change.approved_fields or []],
            rejected_labels=[label(n) for n in change.rejected_fields or []],
            section_url=(
                profile.account_url(customer.number, open_section=change.kind)
                if change.section is not None
                else profile.account_url(customer.number, open_section="contact")
            ),
        )
        return TemplateResponse(self.request, self.template_name, context, status=status)


def message_view(message: Message, customer: Customer) -> dict[str, Any]:
    """A message as the customer reads it: staff speak as the provider."""
    return {
        "from_staff": message.from_staff,
        "author": profile.provider_name() if message.from_staff else message.author_label,
        "body": message.body,
        "created_at": message.created_at,
        "age": profile.ago_text(message.created_at),
        "exact": profile.exact_time(message.created_at, customer),
    }


class RequestReplyView(RequestDetailView):
    """POST: the customer's reply (a request awaiting them goes back to *open*)."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        change = self.load_request(kwargs["request_number"])
        form = ReplyForm(request.POST)
        if not form.is_valid():
            return self.show(form, status=400)
        try:
            actions.comment_on_change_request(
                change,
                body=form.cleaned_data["body"],
                actor=request.actor,  # type: ignore[attr-defined]
            )
        except DomainError as error:
            if error.code == ErrorCode.NOT_FOUND:
                raise Http404(error.message) from None
            form.add_error("body" if error.field in (None, "body") else None, error.message)
            self.change = (
                queries.get_for_contact(self.customer, change.number, role=self.membership.role)
                or change
            )
            return self.show(form, status=409 if error.code == ErrorCode.CONFLICT else 400)
        messages.success(
            request,
            f"Your reply was added to {change.reference}; {profile.provider_name()} has been told.",
        )
        url = detail_url(self.customer, change.number)
        return HttpResponseRedirect(f"{url}#conversation")


class RequestCancelView(OneRequestPage):
    """GET: "Cancel CR-000123?"; POST: cancel it. Then a new request may be raised."""

    template_name = "portal/change_requests/cancel.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        change = self.load_request(kwargs["request_number"])
        return self.confirm(change)

    def confirm(self, change: ChangeRequest, *, error: str = "", status: int = 200) -> HttpResponse:
        customer = customer_queries.profile_customer(self.customer.pk)
        summary = profile.request_summary(
            change, customer, rows=profile.compare_rows(customer, change)
        )
        context = self.context(
            change=change,
            summary=summary,
            error=error,
            detail_url=detail_url(customer, change.number),
        )
        return TemplateResponse(self.request, self.template_name, context, status=status)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        change = self.load_request(kwargs["request_number"])
        was_open = change.is_open
        try:
            actions.cancel_change_request(
                change,
                actor=request.actor,  # type: ignore[attr-defined]
            )
        except DomainError as error:
            if error.code == ErrorCode.NOT_FOUND:
                raise Http404(error.message) from None
            return self.confirm(change, error=error.message, status=409)
        if was_open:
            if change.section is not None:
                where = profile.account_url(self.customer.number, open_section=change.kind)
                again = "raise a new one from My Account"
            else:
                where = profile.primary_email_request_url(self.customer.number)
                again = "ask again"
            messages.success(
                request,
                format_html(
                    "{} was cancelled. Nothing changed on your account. If you still need a "
                    'change, <a href="{}">{}</a>.',
                    change.reference,
                    where,
                    again,
                ),
            )
        else:
            messages.info(request, f"{change.reference} was already cancelled.")
        return HttpResponseRedirect(detail_url(self.customer, change.number))


# --- asking to change the primary (login) email ---------------------------------------------


class PrimaryEmailForm(forms.Form):
    primary_email = forms.CharField(
        label="New email address",
        max_length=320,
        help_text="Your new login ID. We write to it before the change is made.",
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
        error_messages={"required": "Enter the new email address."},
    )
    reason = forms.CharField(
        label="Reason for the change",
        max_length=REASON_MAX,
        help_text="For example: “I left the company; my colleague takes over the account.”",
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": REASON_MAX}),
        error_messages={"required": "Say why the login email should change."},
    )
    confirmed = forms.CharField(required=False, widget=forms.HiddenInput)


class PrimaryEmailRequestView(RequestPage):
    """The owner asks to change the account's login email: a change request of kind
    *primary email*, which support handles with the email-change procedure."""

    template_name = "portal/change_requests/primary_email.html"

    def check_role(self) -> None:
        super().check_role()
        if not actions.may_see(self.membership.role, Kind.PRIMARY_EMAIL):
            raise PermissionDenied("Only the account owner can ask to change the login email.")

    def open_request(self) -> ChangeRequest | None:
        return (
            ChangeRequest.objects.filter(
                customer=self.customer, kind=Kind.PRIMARY_EMAIL, status__in=OPEN_STATUSES
            )
            .only("number", "requested", "status", "created_at", "kind")
            .first()
        )

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.show(PrimaryEmailForm())

    def show(
        self,
        form: PrimaryEmailForm,
        *,
        warnings: list[str] | None = None,
        conflict: ChangeRequest | None = None,
        status: int = 200,
    ) -> TemplateResponse:
        customer = customer_queries.profile_customer(self.customer.pk)
        existing = conflict or self.open_request()
        context = self.context(
            form=form,
            current_email=raw_value(customer, "primary_email"),
            existing=existing,
            existing_url=detail_url(customer, existing.number) if existing else "",
            warnings=warnings or [],
            account_url=profile.account_url(customer.number, open_section="contact"),
            active=customer.is_active,
        )
        return TemplateResponse(self.request, self.template_name, context, status=status)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = PrimaryEmailForm(request.POST)
        if not form.is_valid():
            return self.show(form, status=400)
        raw = form.cleaned_data["primary_email"]
        reason = form.cleaned_data["reason"]
        # A likely typo of a common mail domain ("gmial.com"): ask once before sending.
        warnings: list[str] = []
        try:
            checked = check_new_login_email(raw)
        except EmailRefused:
            checked = None  # the action refuses it with the reason
        if checked is not None and checked.warnings:
            if form.cleaned_data.get("confirmed") != checked.address:
                data = request.POST.copy()
                data["confirmed"] = checked.address
                form = PrimaryEmailForm(data)
                form.is_valid()
                return self.show(form, warnings=checked.warnings)
            warnings = checked.warnings
        try:
            change = actions.submit_change_request(
                self.customer,
                kind=Kind.PRIMARY_EMAIL,
                values={"primary_email": raw},
                note=reason,
                actor=request.actor,  # type: ignore[attr-defined]
            )
        except DomainError as error:
            if error.code == ErrorCode.NOT_FOUND:
                raise Http404(error.message) from None
            if error.code == ErrorCode.CONFLICT:
                form.add_error(None, error.message)
                return self.show(form, status=409)
            if error.field == "note":
                form.add_error("reason", error.message)
            elif error.field in (None, "primary_email"):
                form.add_error("primary_email", error.message)
            else:
                error.add_to_form(form)
            return self.show(form, warnings=warnings, status=400)
        url = detail_url(self.customer, change.number)
        messages.success(
            request,
            format_html(
                'Your request {} has been sent. <a href="{}">View request {}</a>',
                change.reference,
                url,
                change.reference,
            ),
        )
        return HttpResponseRedirect(url)
