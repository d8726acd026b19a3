"""Create a customer account from the staff console (seed 001, "Create a new customer
account"): organisation, country (with the tax it implies), currency and time zone defaulted
from the country, language, pricing model, billing mode, optional registration number and
TIN, and the owner, who is invited to the portal.

Before opening the account the page warns about likely duplicates (the owner's email, the
registration number or the TIN already on a customer) and lets staff open one of those
instead; "Create anyway" goes ahead. Support and managers may create; billing staff get 403.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views import View

from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers import actions as customer_actions
from clientdesk.customers import reference, validators
from clientdesk.customers.duplicates import DuplicateMatch, duplicate_matches
from clientdesk.customers.models import Customer
from clientdesk.customers.sections import INVALID_CHOICE, EmailField, TextField, country_choices
from clientdesk.taxes.rules import tax_for_country

from .mixins import StaffRequiredMixin

DEFAULT_COUNTRY = "MY"


class CustomerCreateForm(forms.Form):
    """What the page asks. The action validates every value again with the profile's rules
    (and is the one that decides); this form only parses what was typed."""

    display_name = TextField(
        label="Organisation name",
        max_length=200,
        help_text="For an individual, their full name. It becomes the legal name too.",
    )
    kind = forms.ChoiceField(
        label="Customer type",
        choices=Customer.Kind.choices,
        initial=Customer.Kind.BUSINESS,
        widget=forms.RadioSelect,
        error_messages=INVALID_CHOICE,
    )
    country = forms.ChoiceField(
        choices=country_choices,
        initial=DEFAULT_COUNTRY,
        help_text="Determines the tax applied (Tax rules, in the staff settings).",
        error_messages=INVALID_CHOICE,
    )
    currency = forms.ChoiceField(
        choices=reference.currency_choices,
        error_messages=INVALID_CHOICE,
        help_text="Fixed once the first ledger entry is posted.",
    )
    timezone = forms.ChoiceField(
        label="Time zone", choices=reference.timezone_choices, error_messages=INVALID_CHOICE
    )
    language = forms.ChoiceField(
        choices=reference.language_choices, initial="en", error_messages=INVALID_CHOICE
    )
    pricing_model = forms.ChoiceField(
        label="Pricing model",
        choices=Customer.PricingModel.choices,
        initial=Customer.PricingModel.STANDARD,
        widget=forms.RadioSelect,
        error_messages=INVALID_CHOICE,
    )
    price_adjustment_percent = forms.DecimalField(
        label="Price adjustment (%)",
        required=False,
        max_digits=5,
        decimal_places=2,
        help_text="Custom pricing only: −10 is a 10% discount, 5 a 5% markup.",
    )
    billing_mode = forms.ChoiceField(
        label="Billing mode",
        choices=Customer.BillingMode.choices,
        initial=Customer.BillingMode.PREPAID,
        widget=forms.RadioSelect,
        error_messages=INVALID_CHOICE,
    )
    credit_limit = forms.DecimalField(
        label="Credit limit",
        required=False,
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0"),
        help_text="Postpaid only: how much may be owed before services stop. Leave empty for "
        "no limit.",
    )
    registration_number = TextField(
        label="Company registration number",
        required=False,
        max_length=30,
        help_text="Optional. SSM: 12 digits such as 202001012345. Singapore: the UEN.",
    )
    tin = TextField(
        label="Tax identification number (TIN)",
        required=False,
        max_length=20,
        help_text="Optional. IG… for individuals; C…, D…, E… and similar for businesses.",
    )
    owner_first_name = TextField(label="First name", max_length=100)
    owner_last_name = TextField(label="Last name", max_length=100, required=False)
    owner_email = EmailField(
        label="Email",
        max_length=254,
        help_text="Their sign-in. They get an email invitation to set a password.",
    )
    create_anyway = forms.BooleanField(
        label="Create anyway: this is a different customer", required=False
    )
    acknowledged = forms.CharField(required=False, max_length=400, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner_first_name"].widget.attrs["autocomplete"] = "off"
        self.fields["owner_email"].widget.attrs["autocomplete"] = "off"
        self.fields["country"].widget.attrs.update(
            {
                "hx-get": reverse("staff:customer-create-defaults"),
                "hx-target": "#country-defaults",
                "hx-swap": "outerHTML",
                "hx-trigger": "change",
                "hx-include": "[name='currency'], [name='timezone']",
                "aria-describedby": "id_country_helptext country-tax",
            }
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("pricing_model") == Customer.PricingModel.CUSTOM:
            if cleaned.get("price_adjustment_percent") is None and not self.has_error(
                "price_adjustment_percent"
            ):
                self.add_error("price_adjustment_percent", "Custom pricing needs a percentage.")
        else:
            cleaned["price_adjustment_percent"] = None
        if cleaned.get("billing_mode") != Customer.BillingMode.POSTPAID:
            cleaned["credit_limit"] = None
        # The stored spelling, so the duplicate check compares like with like.
        country = cleaned.get("country") or DEFAULT_COUNTRY
        self._normalize(
            "registration_number",
            lambda v: validators.normalize_registration_number(v, country=country),
        )
        kind = cleaned.get("kind") or Customer.Kind.BUSINESS
        self._normalize("tin", lambda v: validators.normalize_tin(v, kind=kind))
        return cleaned

    def _normalize(self, name: str, normalize: Any) -> None:
        value = self.cleaned_data.get(name)
        if not value:
            return
        try:
            self.cleaned_data[name] = normalize(value)
        except ValidationError as error:
            self.add_error(name, error)


def duplicate_signature(matches: list[DuplicateMatch]) -> str:
    """Which duplicates the staff member was shown (client numbers), so that "Create
    anyway" covers exactly those and a new match warns again."""
    return ",".join(str(match.customer.number) for match in matches)


def country_defaults(country: str) -> dict[str, Any]:
    """What the page shows for a country: its currency and time zone defaults and its tax."""
    code = (country or "").upper()[:2]
    defaults = reference.defaults_for_country(code)
    rule = tax_for_country(code) if code else None
    return {
        "currency": defaults[0] if defaults else "",
        "timezone": defaults[1] if defaults else "",
        "tax_rule": rule,
        "country_code": code,
    }


class CreatorsOnly(StaffRequiredMixin):
    required_roles: ClassVar[set[str]] = set(customer_actions.CUSTOMER_CREATORS)


class CustomerCreateView(CreatorsOnly, View):
    template_name = "staff/customer_create.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        country = str(request.GET.get("country", DEFAULT_COUNTRY))[:2].upper()
        if country not in dict(country_choices()):
            country = DEFAULT_COUNTRY
        defaults = country_defaults(country)
        form = CustomerCreateForm(
            initial={
                "country": country,
                "currency": defaults["currency"] or "MYR",
                "timezone": defaults["timezone"] or "UTC",
            }
        )
        return self.page(form)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = CustomerCreateForm(request.POST)
        if not form.is_valid():
            return self.page(form, status=400)
        data = form.cleaned_data
        matches = duplicate_matches(
            owner_email=data["owner_email"],
            registration_number=data["registration_number"],
            tin=data["tin"],
        )
        signature = duplicate_signature(matches)
        acknowledged = set(filter(None, data["acknowledged"].split(",")))
        current = set(filter(None, signature.split(",")))
        if matches and not (data["create_anyway"] and current <= acknowledged):
            return self.page(form, matches=matches, signature=signature)
        try:
            customer = customer_actions.create_customer(
                display_name=data["display_name"],
                kind=data["kind"],
                country=data["country"],
                currency=data["currency"],
                timezone=data["timezone"],
                language=data["language"],
                pricing_model=data["pricing_model"],
                price_adjustment_percent=data["price_adjustment_percent"],
                billing_mode=data["billing_mode"],
                credit_limit=data["credit_limit"],
                registration_number=data["registration_number"],
                tin=data["tin"],
                owner=customer_actions.NewOwner(
                    first_name=data["owner_first_name"],
                    last_name=data["owner_last_name"],
                    email=data["owner_email"],
                ),
                actor=request.actor,  # type: ignore[attr-defined]
            )
        except DomainError as error:
            error.add_to_form(form)
            status = 429 if error.code == ErrorCode.RATE_LIMITED else 400
            return self.page(form, status=status, matches=matches, signature=signature)
        messages.success(
            request,
            f"Customer {customer.client_id} created; an invitation was sent to "
            f"{data['owner_email']}.",
        )
        return HttpResponseRedirect(reverse("staff:customer", args=[customer.number]))

    def page(
        self,
        form: CustomerCreateForm,
        *,
        status: int = 200,
        matches: list[DuplicateMatch] | None = None,
        signature: str = "",
    ) -> TemplateResponse:
        country = form["country"].value() or DEFAULT_COUNTRY
        context = {
            "form": form,
            "defaults": country_defaults(str(country)),
            "matches": matches or [],
            "signature": signature,
            "staff_roles": sorted(self.staff_roles),
        }
        return TemplateResponse(self.request, self.template_name, context, status=status)


class CountryDefaultsView(CreatorsOnly, View):
    """htmx: the country's currency and time zone, selected, and the tax it implies. The
    fragment replaces ``#country-defaults`` on the create page."""

    template_name = "staff/customer_create_defaults.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        country = str(request.GET.get("country", ""))[:2].upper()
        if country not in dict(country_choices()):
            country = ""
        defaults = country_defaults(country)
        form = CustomerCreateForm(
            initial={
                "country": country,
                "currency": defaults["currency"] or request.GET.get("currency", "")[:3],
                "timezone": defaults["timezone"] or request.GET.get("timezone", "")[:64],
            }
        )
        response = TemplateResponse(
            request, self.template_name, {"form": form, "defaults": defaults}
        )
        patch_vary_headers(response, ["HX-Request"])
        return response
