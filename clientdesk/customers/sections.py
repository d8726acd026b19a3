"""Profile sections: the form that validates each one, the stored and displayed values of
its fields, and the section's ETag for conflict detection.

The forms are validation schemas shared by every interface: the portal renders them, the
staff console and the API feed them. A form only holds the fields the caller may change
(``fields=``); rules that involve a field outside that set read the customer's current value.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django_countries import countries
from stdnum.my import nric

from . import reference, validators
from .models import Customer, SoftwareLevel
from .policy import Section, section_fields

MAX_OTHER_EMAILS = 5


class TextField(forms.CharField):
    """A single line of human text: NFC, trimmed, no control or bidi-override characters."""

    def to_python(self, value: Any) -> str:
        text = super().to_python(value)
        return validators.clean_text(text) if text else ""


class EmailField(forms.EmailField):
    def to_python(self, value: Any) -> str:
        text = super().to_python(value)
        return validators.clean_text(text).lower() if text else ""


# Django's default echoes the submitted value, which may be 10 000 characters of anything.
INVALID_CHOICE = {"invalid_choice": "Choose one of the options in the list."}


def country_choices() -> list[tuple[str, str]]:
    return [("", "—"), *((code, str(name)) for code, name in countries)]


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class SectionForm(forms.Form):
    """Base for the section forms. ``fields`` limits the form to what the caller may change;
    ``value_of`` gives a field's new value, or its current one when it is not in the form."""

    section: ClassVar[Section]
    # Address groups: prefix → country field. Their postcode and state follow the country.
    address_prefixes: ClassVar[dict[str, str]] = {}

    def __init__(self, *args: Any, customer: Customer, fields: list[str], **kwargs: Any):
        kwargs.setdefault("initial", initial_values(customer, fields))
        super().__init__(*args, **kwargs)
        self.customer = customer
        self.fields = {name: f for name, f in self.fields.items() if name in fields}
        self._add_state_choices()

    def value_of(self, name: str) -> Any:
        if name in self.fields:
            return self.cleaned_data.get(name)
        return raw_value(self.customer, name)

    def _country_for(self, prefix: str) -> str:
        country_field = self.address_prefixes[prefix]
        if self.is_bound and country_field in self.fields:
            return str(self.data.get(country_field, "") or "").upper()
        stored = raw_value(self.customer, country_field) or ""
        if not stored and country_field != "country":
            # An address not filled in yet (billing while it follows legal): offer the states
            # of the account's country, the likeliest one.
            stored = raw_value(self.customer, "country") or ""
        return str(stored)

    def _add_state_choices(self) -> None:
        """Show the states of the address's country as a list (any value still validates
        against the country that is actually submitted)."""
        for prefix in self.address_prefixes:
            name = f"{prefix}_state"
            if name not in self.fields:
                continue
            states = reference.subdivisions(self._country_for(prefix))
            if states:
                self.fields[name].widget = forms.Select(choices=[("", "—"), *states.items()])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for prefix, country_field in self.address_prefixes.items():
            country = self.value_of(country_field) or ""
            self._clean_located(f"{prefix}_postcode", validators.normalize_postcode, country)
            self._clean_located(f"{prefix}_state", validators.normalize_state, country)
        return cleaned

    def _clean_located(self, name: str, normalize: Any, country: str) -> None:
        if name not in self.fields or name in self.errors:
            return
        value = self.cleaned_data.get(name, "")
        if not value and not name.endswith("_state"):
            return
        try:
            self.cleaned_data[name] = normalize(value, country=country)
        except ValidationError as error:
            self.add_error(name, error)


class PersonalForm(SectionForm):
    section = Section.PERSONAL

    full_name = TextField(max_length=200, label="Full name")
    date_of_birth = forms.DateField(required=False, widget=_date_input())
    nationality = forms.ChoiceField(
        error_messages=INVALID_CHOICE, required=False, choices=country_choices
    )
    id_type = forms.ChoiceField(
        error_messages=INVALID_CHOICE,
        required=False,
        label="Identity document",
        choices=[("", "—"), *Customer.IdType.choices],
    )
    id_number = TextField(
        required=False,
        max_length=40,
        label="Identity document number",
        help_text="MyKad/NRIC as 770305-02-1234, or the number printed on the document.",
    )

    def __init__(self, *args: Any, customer: Customer, fields: list[str], **kwargs: Any):
        super().__init__(*args, customer=customer, fields=fields, **kwargs)
        if "full_name" in self.fields:
            # An individual is this person; a business may leave its holder's name blank.
            self.fields["full_name"].required = not customer.is_business

    def clean_date_of_birth(self) -> date | None:
        value = self.cleaned_data.get("date_of_birth")
        return validators.check_date_of_birth(value) if value else None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        id_type, id_number = self.value_of("id_type"), self.value_of("id_number")
        if "id_number" in self.fields and "id_number" not in self.errors and id_number:
            if not id_type:
                self.add_error("id_type", "Choose the type of identity document.")
            else:
                try:
                    cleaned["id_number"] = validators.normalize_identity_number(id_type, id_number)
                except ValidationError as error:
                    self.add_error("id_number", error)
        elif id_type and not id_number and "id_number" in self.fields:
            self.add_error("id_number", "Enter the document number, or clear the type.")
        self._check_birth_date_matches_nric()
        return cleaned

    def _check_birth_date_matches_nric(self) -> None:
        if self.errors or self.value_of("id_type") != "nric":
            return
        birth, number = self.value_of("date_of_birth"), self.value_of("id_number")
        if not (birth and number):
            return
        # The number holds YYMMDD: compare those digits, since the century is not in it.
        digits = nric.compact(number)[:6]
        if f"{birth:%y%m%d}" != digits:
            self.add_error(
                "date_of_birth",
                f"The MyKad/NRIC number starts with {digits} (YYMMDD), which is not this "
                "date of birth.",
            )


class BusinessForm(SectionForm):
    section = Section.BUSINESS

    trading_name = TextField(
        required=False, max_length=200, help_text="Leave blank if you trade under the legal name."
    )
    registration_number = TextField(
        required=False,
        max_length=30,
        label="Company registration number",
        help_text="SSM: 12 digits such as 202001012345, or the old form such as 123456-A. "
        "Singapore: the UEN.",
    )
    website = forms.URLField(required=False, max_length=200, assume_scheme="https")

    def clean_registration_number(self) -> str:
        value = self.cleaned_data.get("registration_number", "")
        if not value:
            return ""
        country = raw_value(self.customer, "country") or "MY"
        return validators.normalize_registration_number(value, country=country)


class EInvoiceForm(SectionForm):
    section = Section.EINVOICE

    tin = TextField(
        required=False,
        max_length=20,
        label="Tax identification number (TIN)",
        help_text="IG… for individuals; C…, D…, E…, F…, J… and similar for businesses.",
    )
    sst_number = TextField(
        required=False,
        max_length=20,
        label="SST registration number",
        help_text="Like W10-1808-32000092. Leave blank if not registered.",
    )
    tourism_tax_number = TextField(
        required=False,
        max_length=20,
        label="Tourism tax registration number",
        help_text="Leave blank if not registered.",
    )
    msic_code = forms.ChoiceField(
        error_messages=INVALID_CHOICE,
        required=False,
        label="MSIC code",
        choices=lambda: [
            ("", "—"),
            *((i.code, i.label) for i in reference.industries().values()),
        ],
    )
    business_activity = TextField(
        required=False,
        max_length=300,
        label="Business activity description",
        help_text="Leave blank to use the MSIC description.",
    )
    einvoice_email = EmailField(
        required=False,
        label="E-invoice email",
        help_text="Validated e-invoices are sent here.",
    )

    def clean_tin(self) -> str:
        value = self.cleaned_data.get("tin", "")
        return validators.normalize_tin(value, kind=self.customer.kind) if value else ""

    def clean_sst_number(self) -> str:
        return validators.normalize_sst_number(self.cleaned_data.get("sst_number", ""))

    def clean_tourism_tax_number(self) -> str:
        value = self.cleaned_data.get("tourism_tax_number", "")
        return validators.normalize_tourism_tax_number(value)

    def clean_msic_code(self) -> str:
        value = self.cleaned_data.get("msic_code", "")
        return validators.normalize_msic(value) if value else ""


class ContactForm(SectionForm):
    section = Section.CONTACT
    address_prefixes = {"postal": "postal_country"}

    billing_email = EmailField(required=False, help_text="Invoices and statements go here.")
    other_emails = forms.CharField(
        required=False,
        max_length=1500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=f"Up to {MAX_OTHER_EMAILS}, one per line.",
    )
    phone = TextField(required=False, max_length=40)
    mobile = TextField(required=False, max_length=40)
    postal_line1 = TextField(required=False, max_length=200, label="Address line 1")
    postal_line2 = TextField(required=False, max_length=200, label="Address line 2")
    postal_city = TextField(required=False, max_length=100, label="City")
    postal_postcode = TextField(required=False, max_length=12, label="Postcode")
    postal_state = TextField(required=False, max_length=60, label="State")
    postal_country = forms.ChoiceField(
        error_messages=INVALID_CHOICE, required=False, label="Country", choices=country_choices
    )

    def clean_other_emails(self) -> list[str]:
        raw = self.cleaned_data.get("other_emails", "")
        found: list[str] = []
        for item in re.split(r"[\s,;]+", raw):
            if not item:
                continue
            address = validators.clean_text(item).lower()
            try:
                validate_email(address)
            except ValidationError:
                raise ValidationError(f"“{item[:60]}” is not a valid email address.") from None
            if address not in found:
                found.append(address)
        if len(found) > MAX_OTHER_EMAILS:
            raise ValidationError(f"Give at most {MAX_OTHER_EMAILS} other email addresses.")
        return found

    def _phone_country(self) -> str:
        return str(raw_value(self.customer, "country") or self.value_of("postal_country") or "")

    def clean_phone(self) -> str:
        value = self.cleaned_data.get("phone", "")
        return validators.normalize_phone(value, country=self._phone_country()) if value else ""

    def clean_mobile(self) -> str:
        value = self.cleaned_data.get("mobile", "")
        if not value:
            return ""
        return validators.normalize_phone(value, country=self._phone_country(), mobile=True)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        address = [self.value_of(f"postal_{part}") for part in ("line1", "city", "country")]
        if any(address) and not all(address) and "postal_line1" in self.fields:
            for part, value in zip(("line1", "city", "country"), address, strict=True):
                if not value and f"postal_{part}" not in self.errors:
                    self.add_error(f"postal_{part}", "Complete the postal address, or clear it.")
        return cleaned


ADDRESS_REQUIRED = ("line1", "city", "postcode")


class LegalForm(SectionForm):
    section = Section.LEGAL
    address_prefixes = {"legal": "country"}

    legal_name = TextField(max_length=200, label="Legal name")
    legal_line1 = TextField(max_length=200, label="Address line 1")
    legal_line2 = TextField(required=False, max_length=200, label="Address line 2")
    legal_city = TextField(max_length=100, label="City")
    legal_postcode = TextField(max_length=12, label="Postcode")
    legal_state = TextField(required=False, max_length=60, label="State")
    country = forms.ChoiceField(
        error_messages=INVALID_CHOICE,
        choices=country_choices,
        help_text="The country of registration decides the tax applied.",
    )


class BillingForm(SectionForm):
    section = Section.BILLING
    address_prefixes = {"billing": "billing_country"}

    billing_follows_legal = forms.BooleanField(
        required=False,
        label="Use the legal name and address for billing",
        help_text="While this is on, billing follows every change to the legal details.",
    )
    billing_name = TextField(required=False, max_length=200, label="Billing name")
    billing_line1 = TextField(required=False, max_length=200, label="Address line 1")
    billing_line2 = TextField(required=False, max_length=200, label="Address line 2")
    billing_city = TextField(required=False, max_length=100, label="City")
    billing_postcode = TextField(required=False, max_length=12, label="Postcode")
    billing_state = TextField(required=False, max_length=60, label="State")
    billing_country = forms.ChoiceField(
        error_messages=INVALID_CHOICE, required=False, label="Country", choices=country_choices
    )

    def clean(self) -> dict[str, Any]:
        if self.value_of_raw_follow():
            # Billing follows legal: keep no copy of its own (see the model's constraint).
            for name in self.fields:
                if name != "billing_follows_legal":
                    self.errors.pop(name, None)
            cleaned = self.cleaned_data
            for name in self.fields:
                if name != "billing_follows_legal":
                    cleaned[name] = ""
            return cleaned
        cleaned = super().clean()
        for part in ("name", *ADDRESS_REQUIRED, "country"):
            name = f"billing_{part}"
            if name in self.fields and not cleaned.get(name) and name not in self.errors:
                self.add_error(name, "Required when billing uses its own details.")
        return cleaned

    def value_of_raw_follow(self) -> bool:
        if "billing_follows_legal" in self.fields:
            return bool(self.cleaned_data.get("billing_follows_legal"))
        return self.customer.billing_follows_legal


class PreferencesForm(SectionForm):
    section = Section.PREFERENCES

    currency = forms.ChoiceField(error_messages=INVALID_CHOICE, choices=reference.currency_choices)
    timezone = forms.ChoiceField(
        error_messages=INVALID_CHOICE, label="Time zone", choices=reference.timezone_choices
    )
    language = forms.ChoiceField(error_messages=INVALID_CHOICE, choices=reference.language_choices)
    software_level = forms.ModelChoiceField(
        error_messages=INVALID_CHOICE,
        queryset=SoftwareLevel.objects.none(),
        required=False,
        empty_label="—",
        help_text="Resources are filtered to the level you run.",
    )

    def __init__(self, *args: Any, customer: Customer, fields: list[str], **kwargs: Any):
        super().__init__(*args, customer=customer, fields=fields, **kwargs)
        if "software_level" in self.fields:
            # Retired levels cannot be chosen, but the customer's current one stays valid.
            field = self.fields["software_level"]
            field.queryset = SoftwareLevel.objects.filter(  # type: ignore[attr-defined]
                is_active=True
            ) | SoftwareLevel.objects.filter(pk=customer.software_level_id or 0)


class AccountForm(SectionForm):
    section = Section.ACCOUNT

    kind = forms.ChoiceField(
        error_messages=INVALID_CHOICE, label="Customer type", choices=Customer.Kind.choices
    )
    pricing_model = forms.ChoiceField(
        error_messages=INVALID_CHOICE, choices=Customer.PricingModel.choices
    )
    price_adjustment_percent = forms.DecimalField(
        required=False,
        max_digits=5,
        decimal_places=2,
        min_value=Decimal("-100"),
        max_value=Decimal("500"),
        label="Price adjustment (%)",
        help_text="Custom pricing: −10 is a 10% discount, 5 a 5% markup.",
    )
    billing_mode = forms.ChoiceField(
        error_messages=INVALID_CHOICE, choices=Customer.BillingMode.choices
    )
    credit_limit = forms.DecimalField(
        required=False,
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0"),
        help_text="Postpaid only: how much may be owed before services stop.",
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        kind = self.value_of("kind")
        if kind and kind != self.customer.kind and self.customer.tin:
            try:
                validators.normalize_tin(self.customer.tin, kind=kind)
            except ValidationError:
                self.add_error(
                    "kind",
                    f"The TIN {self.customer.tin} does not fit a customer of this type; "
                    "correct the TIN in E-Invoice Information first.",
                )
        if self.value_of("pricing_model") == Customer.PricingModel.CUSTOM:
            if self.value_of("price_adjustment_percent") is None:
                self._require("price_adjustment_percent", "Custom pricing needs a percentage.")
        elif "price_adjustment_percent" in self.fields:
            cleaned["price_adjustment_percent"] = None
        prepaid = self.value_of("billing_mode") == Customer.BillingMode.PREPAID
        if prepaid and "credit_limit" in self.fields:
            cleaned["credit_limit"] = None
        return cleaned

    def _require(self, name: str, message: str) -> None:
        if name in self.fields:
            self.add_error(name, message)
        else:
            raise ValidationError(message)


SECTION_FORMS: dict[Section, type[SectionForm]] = {
    form.section: form
    for form in (
        PersonalForm,
        BusinessForm,
        EInvoiceForm,
        ContactForm,
        LegalForm,
        BillingForm,
        PreferencesForm,
        AccountForm,
    )
}


# --- stored values ------------------------------------------------------------------------


def raw_value(customer: Customer, name: str) -> Any:
    """A field's stored value in plain Python form (country codes as strings)."""
    if name == "primary_email":
        return primary_email(customer)
    if name == "software_level":
        return customer.software_level
    value = getattr(customer, name)
    if hasattr(value, "code") and name in COUNTRY_FIELDS:
        return value.code or ""
    return value


COUNTRY_FIELDS = frozenset({"nationality", "postal_country", "country", "billing_country"})


def initial_values(customer: Customer, names: list[str]) -> dict[str, Any]:
    initial: dict[str, Any] = {}
    for name in names:
        value = raw_value(customer, name)
        if name == "other_emails":
            value = "\n".join(value or [])
        elif name == "id_number" and customer.id_type == Customer.IdType.NRIC and value:
            value = validators.format_nric(value)
        elif name in ("phone", "mobile") and value:
            # As people dial it at home; the form parses it back with the same country.
            value = validators.format_phone(value, country=str(customer.country or ""))
        initial[name] = value
    if "billing_follows_legal" in names and customer.billing_follows_legal:
        # Decoupling starts from the legal details rather than from empty fields.
        for part in ("line1", "line2", "city", "postcode", "state"):
            initial[f"billing_{part}"] = getattr(customer, f"legal_{part}")
        initial["billing_name"] = customer.legal_name
        initial["billing_country"] = raw_value(customer, "country")
    return initial


def jsonable(value: Any) -> Any:
    """A value as it is written into Activity and events."""
    if value is None or isinstance(value, str | bool | int | list):
        return value
    if isinstance(value, Decimal | date):
        return str(value)
    if isinstance(value, SoftwareLevel):
        return value.label
    return str(value)


def primary_email(customer: Customer) -> str:
    """The owner's login email. ``owner_email`` is annotated by ``queries.profile_customer``
    so that pages need no extra query."""
    annotated = getattr(customer, "owner_email", None)
    if annotated is not None:
        return str(annotated)
    owner = customer.contacts.filter(role="owner").select_related("user").first()
    if owner is None:
        return ""
    return owner.user.email if owner.user is not None else owner.email


def section_etag(customer: Customer, section: Section) -> str:
    """A fingerprint of the section's current values: a save made against an older
    fingerprint would overwrite someone else's change, so it is refused."""
    values = {
        f.name: jsonable(raw_value(customer, f.name))
        for f in section_fields(section, customer.kind)
        if f.stored
    }
    payload = json.dumps([customer.kind, values], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
