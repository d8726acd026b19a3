"""The contact form: the validation schema every interface uses for a contact's fields.

Like the profile section forms, it holds only the fields the caller may change
(``fields=``); the contact actions build it, so a value is checked the same way whether it
comes from the portal, the staff console or the API.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django import forms
from django.core.validators import validate_email

from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.users.emails import normalize_email

from . import validators
from .models import Customer, NotificationTopic
from .roles import Role
from .sections import INVALID_CHOICE, EmailField, TextField

LABELS = {
    "first_name": "First name",
    "last_name": "Last name",
    "email": "Email",
    "phone": "Phone",
    "job_title": "Job title",
    "role": "Role",
    "notification_topics": "Email me about",
    "portal_access": "Customer Portal Enabled",
}

ROLE_HELP = {
    Role.OWNER: "The primary account holder. Everything, including closing the account.",
    Role.ADMIN: "Manages the account, its profile and its contacts.",
    Role.BILLING: "Billing details, invoices and credits.",
    Role.TECHNICAL: "Technical matters; can view the profile.",
    Role.MEMBER: "Can view the profile and keep their own details right.",
}


EMAIL_MAX_LENGTH = 254


class ContactForm(forms.Form):
    first_name = TextField(max_length=100)
    last_name = TextField(max_length=100, required=False)
    email = EmailField(max_length=EMAIL_MAX_LENGTH)
    phone = forms.CharField(
        max_length=40,
        required=False,
        help_text="With the country code if abroad, e.g. +65 6123 4567.",
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    job_title = TextField(max_length=100, required=False)
    role = forms.ChoiceField(choices=Role.choices, error_messages=INVALID_CHOICE)
    notification_topics = forms.MultipleChoiceField(
        choices=NotificationTopic.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages=INVALID_CHOICE,
    )
    portal_access = forms.BooleanField(
        required=False,
        help_text="They get an email invitation to set a password and sign in.",
    )

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        *,
        customer: Customer,
        fields: Iterable[str] | None = None,
        roles: Iterable[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(data, **kwargs)
        self.customer = customer
        if fields is not None:
            keep = set(fields)
            for name in list(self.fields):
                if name not in keep:
                    del self.fields[name]
        for name, field in self.fields.items():
            field.label = LABELS[name]
        if "role" in self.fields and roles is not None:
            allowed = set(roles)
            role_field: forms.ChoiceField = self.fields["role"]  # type: ignore[assignment]
            role_field.choices = [(v, label) for v, label in Role.choices if v in allowed]
        if "first_name" in self.fields:
            self.fields["first_name"].widget.attrs["autocomplete"] = "given-name"
        if "last_name" in self.fields:
            self.fields["last_name"].widget.attrs["autocomplete"] = "family-name"

    def clean_email(self) -> str:
        # The spelling a sign-in would store (NFKC, lower case): a contact's email becomes
        # their login email, so two spellings of one address must not be two contacts.
        value = normalize_email(self.cleaned_data.get("email", ""))
        if value:
            validate_email(value)  # still an address after normalising (ligatures widen)
            if len(value) > EMAIL_MAX_LENGTH:
                raise forms.ValidationError(
                    f"Ensure this value has at most {EMAIL_MAX_LENGTH} characters.",
                    code="max_length",
                )
        return value

    def clean_phone(self) -> str:
        value: str = self.cleaned_data.get("phone", "")
        if not value.strip():
            return ""
        return validators.normalize_phone(value, country=str(self.customer.country or ""))

    def clean_notification_topics(self) -> list[str]:
        chosen = set(self.cleaned_data.get("notification_topics") or [])
        # Stored in the catalogue's order so equal choices compare equal.
        return [value for value in NotificationTopic.values if value in chosen]


def form_data(values: Mapping[str, Any]) -> dict[str, Any]:
    """Turn action ``values`` (strings as typed, or Python values) into form data."""
    data: dict[str, Any] = {}
    for name, value in values.items():
        if name == "portal_access":
            data[name] = "on" if value in (True, "on", "true", "1", 1) else ""
        elif name == "notification_topics":
            data[name] = [value] if isinstance(value, str) else list(value or [])
        else:
            data[name] = "" if value is None else value
    return data


def validated(
    values: Mapping[str, Any],
    *,
    customer: Customer,
    fields: Iterable[str],
    roles: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Validate ``values`` for ``fields``: the cleaned values, or ``invalid`` with the
    messages per field."""
    form = ContactForm(form_data(values), customer=customer, fields=fields, roles=roles)
    if not form.is_valid():
        raise DomainError(
            ErrorCode.INVALID,
            "Check the highlighted fields.",
            errors={name: [str(m) for m in messages] for name, messages in form.errors.items()},
        )
    return {name: form.cleaned_data[name] for name in form.fields}
