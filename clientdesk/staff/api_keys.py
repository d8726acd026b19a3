"""API keys in the staff console (issue 9, part B 7): every staff member makes and revokes
keys for their own programs; managers also see and revoke every other staff key.

``staff:api-keys`` lists the viewer's keys and, for managers, the other staff members' keys.
``staff:api-key-create`` is the "New key" form (name, permissions from every scope,
optionally only some customers by client ID, optional expiry); the answer to its POST is the
one time the token is shown (``Cache-Control: no-store``, never in a URL, a redirect or the
session). A refreshed answer does not make a second key (a one-time form token).
``staff:api-key-revoke`` confirms (GET) and revokes (POST): your own key, or any staff key
for a manager (``apikeys.actions.may_revoke``); any other id is a 404. Customer keys are
the customers' own and are not handled here.

A staff key acts as its maker with their groups at each request: a scope never widens what
the maker may do, so a support member's key with ``ledger:write`` still cannot post money.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views import View

from clientdesk.apikeys import actions as keys
from clientdesk.apikeys.models import ApiKey
from clientdesk.apikeys.scopes import CUSTOMER_SCOPES, SCOPES
from clientdesk.core.errors import DomainError
from clientdesk.customers.models import Customer
from clientdesk.customers.sections import TextField
from clientdesk.users.roles import MANAGER

from .customer_list import safe_customer_number
from .mixins import StaffRequiredMixin

MAX_ID = 2**62
KEYS_SHOWN = 200
TOKENS_KEPT = 20
SESSION_TOKENS = "api_keys.staff_create_tokens"
REASON_MAX = 300
CUSTOMERS_INPUT_MAX = 20_000  # characters of client IDs
CUSTOMERS_MAX = 1000  # client IDs on one key
LONGEST_DAYS = keys.LONGEST_LIFETIME.days - 1
STAFF_ONLY = frozenset(SCOPES) - CUSTOMER_SCOPES


def scope_words(scopes: list[str]) -> list[dict[str, str]]:
    """A key's scopes in words, in the catalogue's order (an unknown one last, as is)."""
    order = {scope: index for index, scope in enumerate(SCOPES)}
    ordered = sorted(scopes, key=lambda scope: (order.get(scope, len(order)), scope))
    return [{"code": scope, "words": SCOPES.get(scope, scope)} for scope in ordered]


def split_client_ids(raw: str) -> list[str]:
    return [token for token in re.split(r"[\s,;]+", raw) if token]


class ScopesField(forms.MultipleChoiceField):
    """Permissions from the list; a forged value is named, shortened, never echoed whole."""

    def validate(self, value: Any) -> None:
        if self.required and not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        for item in value or []:
            if not self.valid_value(item):
                shown = str(item)[:40] + ("…" if len(str(item)) > 40 else "")
                raise forms.ValidationError(
                    f"There is no permission “{shown}”. Choose from the list.",
                    code="invalid_choice",
                )


class KeyForm(forms.Form):
    name = TextField(
        label="Name",
        max_length=keys.NAME_MAX,
        error_messages={
            "required": "Name the key after the program that uses it.",
            "max_length": f"Keep the name under {keys.NAME_MAX} characters.",
        },
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "Billing sync"}),
        help_text="The program or script that uses it, so you know which key to revoke later.",
    )
    scopes = ScopesField(
        label="Permissions",
        choices=list(SCOPES.items()),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one permission."},
        help_text="What programs using this key may do — never more than you may do "
        "yourself: the key acts with your staff groups at each request.",
    )
    customers = forms.CharField(
        label="Only these customers",
        required=False,
        max_length=CUSTOMERS_INPUT_MAX,
        error_messages={"max_length": "That is too many client IDs for one key."},
        widget=forms.Textarea(
            attrs={"rows": 2, "class": "input input-mono", "placeholder": "C-100042, C-100057"}
        ),
        help_text="Optional. Client IDs such as C-100042, separated by commas or spaces. "
        "Leave empty for a key that may reach every customer.",
    )
    expires_on = forms.DateField(
        label="Expires",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "Enter a date like 2026-12-31, or leave it empty."},
        help_text="Optional. The key stops working at the end of that day (UTC). Leave "
        "empty for a key that works until revoked.",
    )
    form_token = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        today = timezone.now().astimezone(UTC).date()
        self.fields["expires_on"].widget.attrs.update(
            min=today.isoformat(),
            max=(today + timedelta(days=LONGEST_DAYS)).isoformat(),
        )

    def clean_expires_on(self) -> Any:
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        today = timezone.now().astimezone(UTC).date()
        if day < today:
            raise forms.ValidationError("That day has passed. Choose today or a later day.")
        if day > today + timedelta(days=LONGEST_DAYS):
            raise forms.ValidationError("Choose an expiry date in the next two years.")
        return day

    def clean_customers(self) -> list[Customer]:
        """Client IDs as typed, each once; a malformed or unknown one is named."""
        tokens = split_client_ids(str(self.cleaned_data.get("customers") or ""))
        if len(tokens) > CUSTOMERS_MAX:
            raise forms.ValidationError(
                f"Limit a key to at most {CUSTOMERS_MAX} customers, or leave the field empty "
                "for every customer."
            )
        numbers: dict[int, str] = {}
        for token in tokens:
            number = safe_customer_number(token)
            if number is None:
                shown = token[:30] + ("…" if len(token) > 30 else "")
                raise forms.ValidationError(f"“{shown}” is not a client ID like C-100042.")
            numbers.setdefault(number, token)
        if not numbers:
            return []
        found = {c.number: c for c in Customer.objects.filter(number__in=list(numbers))}
        missing = [token for number, token in numbers.items() if number not in found]
        if missing:
            raise forms.ValidationError(
                f"No customer has the client ID {missing[0][:30]}. Check it and try again."
            )
        return [found[number] for number in numbers]

    def expires_at(self) -> datetime | None:
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)  # its last second

    def scope_rows(self) -> list[dict[str, Any]]:
        chosen = {str(value) for value in (self["scopes"].value() or [])}
        return [
            {
                "code": code,
                "words": words,
                "checked": code in chosen,
                "index": index,
                "staff_only": code in STAFF_ONLY,
            }
            for index, (code, words) in enumerate(SCOPES.items(), start=1)
        ]


class RevokeForm(forms.Form):
    reason = TextField(
        label="Reason",
        required=False,
        max_length=REASON_MAX,
        error_messages={"max_length": f"Keep the reason under {REASON_MAX} characters."},
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Optional. Recorded in the activity trail with the revocation.",
    )


def key_state(key: ApiKey, now: datetime) -> tuple[str, str]:
    if key.revoked_at is not None:
        return "closed", "Revoked"
    if key.expires_at is not None and key.expires_at <= now:
        return "warning", "Expired"
    return "active", "Active"


def staff_keys() -> Any:
    return (
        ApiKey.objects.filter(kind=ApiKey.Kind.STAFF)
        .select_related("created_by", "revoked_by")
        .prefetch_related("customers")
        .order_by("-created_at", "-id")
    )


def key_rows(found: list[ApiKey], now: datetime) -> list[dict[str, Any]]:
    rows = []
    for key in found:
        tone, label = key_state(key, now)
        rows.append(
            {
                "key": key,
                "tone": tone,
                "state": label,
                "live": label == "Active",
                "scopes": scope_words(list(key.scopes)),
                "client_ids": sorted(c.client_id for c in key.customers.all()),
                "revoke_url": reverse("staff:api-key-revoke", args=[key.pk]),
            }
        )
    return rows


def curl_example(token: str) -> str:
    return (
        f'curl -H "Authorization: Bearer {token}" {settings.SITE_URL.rstrip("/")}/api/v1/customers'
    )


class StaffKeysMixin(StaffRequiredMixin):
    request: HttpRequest

    @property
    def is_manager(self) -> bool:
        return MANAGER in self.staff_roles

    def render(
        self, template: str, context: dict[str, Any], *, status: int = 200
    ) -> TemplateResponse:
        context.setdefault("staff_roles", sorted(self.staff_roles))
        context.setdefault("is_manager", self.is_manager)
        context.setdefault("keys_url", reverse("staff:api-keys"))
        context.setdefault("docs_url", reverse("api:openapi-view"))
        return TemplateResponse(self.request, template, context, status=status)


class ApiKeysView(StaffKeysMixin, View):
    """``staff:api-keys``: my keys and, for managers, every other staff key."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        now = timezone.now()
        mine = list(staff_keys().filter(created_by=user)[: KEYS_SHOWN + 1])
        others: list[ApiKey] = []
        if self.is_manager:
            others = list(staff_keys().exclude(created_by=user)[: KEYS_SHOWN + 1])
        context = {
            "rows": key_rows(mine[:KEYS_SHOWN], now),
            "more": len(mine) > KEYS_SHOWN,
            "other_rows": key_rows(others[:KEYS_SHOWN], now),
            "more_others": len(others) > KEYS_SHOWN,
            "keys_shown": KEYS_SHOWN,
        }
        return self.render("staff/api_keys/list.html", context)


class ApiKeyCreateView(StaffKeysMixin, View):
    """``staff:api-key-create``: the "New key" form; POST makes a key and answers with its
    token, shown this once."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = KeyForm(
            initial={"scopes": ["customers:read"], "form_token": secrets.token_urlsafe(24)}
        )
        return self.page(form)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = KeyForm(request.POST)
        if not form.is_valid():
            return self.page(form, status=400)
        token = str(form.cleaned_data.get("form_token") or "")
        made: dict[str, int] = dict(request.session.get(SESSION_TOKENS, {}))
        if token and token in made:
            messages.warning(
                request,
                "This key was already made; its token is shown only once. If you did not "
                "copy it, revoke the key and make another.",
            )
            return HttpResponseRedirect(reverse("staff:api-keys") + f"#key-{made[token]}")
        try:
            key, secret = keys.create_staff_key(
                actor=request.actor,  # type: ignore[attr-defined]
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                customers=form.cleaned_data["customers"],
                expires_at=form.expires_at(),
            )
        except DomainError as error:
            error.add_to_form(form)
            return self.page(form, status=error.http_status)
        if token:
            made[token] = key.pk
            request.session[SESSION_TOKENS] = dict(list(made.items())[-TOKENS_KEPT:])
        context = {
            "api_key": key,
            "token": secret,
            "curl": curl_example(secret),
            "scopes": scope_words(list(key.scopes)),
            "client_ids": [c.client_id for c in form.cleaned_data["customers"]],
        }
        response = self.render("staff/api_keys/token.html", context)
        response["Cache-Control"] = "no-store"
        return response

    def page(self, form: KeyForm, *, status: int = 200) -> TemplateResponse:
        return self.render("staff/api_keys/form.html", {"form": form}, status=status)


class ApiKeyRevokeView(StaffKeysMixin, View):
    """``staff:api-key-revoke``: "Revoke this key?" (GET), then revoke (POST)."""

    def load(self, key_id: int) -> ApiKey:
        key = staff_keys().filter(pk=key_id).first() if key_id <= MAX_ID else None
        if key is None or not keys.may_revoke(self.request.user, key):
            raise Http404("No such API key.")
        return key

    def get(self, request: HttpRequest, key_id: int, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.page(self.load(key_id), RevokeForm())

    def post(self, request: HttpRequest, key_id: int, *args: Any, **kwargs: Any) -> HttpResponse:
        key = self.load(key_id)
        form = RevokeForm(request.POST)
        if not form.is_valid():
            return self.page(key, form, status=400)
        back = reverse("staff:api-keys") + f"#key-{key.pk}"
        if key.revoked_at is not None:
            messages.info(request, f"“{key.name}” was already revoked.")
            return HttpResponseRedirect(back)
        try:
            keys.revoke_key(
                actor=request.actor,  # type: ignore[attr-defined]
                key=key,
                reason=form.cleaned_data["reason"],
            )
        except DomainError as error:
            error.add_to_form(form)
            return self.page(key, form, status=error.http_status)
        messages.success(
            request,
            f"“{key.name}” ({key.prefix}…) is revoked. Programs using it get 401 Unauthorized "
            "from their next request.",
        )
        return HttpResponseRedirect(back)

    def page(self, key: ApiKey, form: RevokeForm, *, status: int = 200) -> TemplateResponse:
        tone, label = key_state(key, timezone.now())
        context = {
            "api_key": key,
            "form": form,
            "state": label,
            "tone": tone,
            "scopes": scope_words(list(key.scopes)),
            "client_ids": sorted(c.client_id for c in key.customers.all()),
            "own": key.created_by_id == self.request.user.pk,
        }
        return self.render("staff/api_keys/revoke.html", context, status=status)
