"""API keys in the portal: the customer's owner and admins make and revoke the keys their own
programs use (issue 9, part B 7).

``portal:api-keys`` lists the customer's keys (name, visible prefix, permissions in words,
who made it, when, last use, expiry, revoked). ``portal:api-key-create`` is the "New key"
form; the answer to its POST is the one time the token is shown (``Cache-Control:
no-store``, never in a URL, a redirect or the session), with a copy button and a ``curl``
example. A refreshed answer does not make a second key (a one-time form token).
``portal:api-key-revoke`` confirms (GET) and revokes (POST); another customer's key, or a
staff key, is a 404.

Owner and admin only (``Capability.MANAGE_API_KEYS``): other roles get 403, other people's
customers 404. During Login As the list is readable but ``apikeys.actions`` refuses to make
or revoke a key, and the pages say so.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic.base import ContextMixin

from clientdesk.apikeys import actions as keys
from clientdesk.apikeys.models import ApiKey
from clientdesk.apikeys.scopes import CUSTOMER_SCOPES, SCOPES
from clientdesk.core.errors import DomainError
from clientdesk.customers.models import Customer
from clientdesk.customers.roles import Capability
from clientdesk.customers.sections import TextField

from .mixins import CustomerMixin

MAX_ID = 2**62
KEYS_SHOWN = 200  # newest first; a customer with more is an outlier
TOKENS_KEPT = 20  # create-form tokens remembered per session
SESSION_TOKENS = "api_keys.portal_create_tokens"
REASON_MAX = 300
# The latest expiry date the form offers: its end stays within the action's limit.
LONGEST_DAYS = keys.LONGEST_LIFETIME.days - 1
DEFAULT_SCOPES = ["customers:read"]


def scope_choices(allowed: frozenset[str] | set[str]) -> list[tuple[str, str]]:
    """``(scope, words)`` in the catalogue's order."""
    return [(scope, words) for scope, words in SCOPES.items() if scope in allowed]


def scope_words(scopes: list[str]) -> list[dict[str, str]]:
    """A key's scopes in words, in the catalogue's order (an unknown one last, as is)."""
    order = {scope: index for index, scope in enumerate(SCOPES)}
    ordered = sorted(scopes, key=lambda scope: (order.get(scope, len(order)), scope))
    return [{"code": scope, "words": SCOPES.get(scope, scope)} for scope in ordered]


class ScopesField(forms.MultipleChoiceField):
    """Permissions from the list; a forged value is named, shortened, never echoed whole."""

    def validate(self, value: Any) -> None:
        if self.required and not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        for item in value or []:
            if not self.valid_value(item):
                shown = str(item)[:40] + ("…" if len(str(item)) > 40 else "")
                raise forms.ValidationError(
                    f"A key made here cannot hold the permission “{shown}”. Choose from the list.",
                    code="invalid_choice",
                )


LAST_SECOND = time(23, 59, 59)


def end_of_day(day: date, zone: str) -> datetime:
    """When a key chosen to expire on ``day`` stops working: that day's last second in
    ``zone`` (shown as "30 Jun 2027, 23:59", not as the next day's midnight)."""
    return datetime.combine(day, LAST_SECOND, tzinfo=ZoneInfo(zone))


class KeyForm(forms.Form):
    name = TextField(
        label="Name",
        max_length=keys.NAME_MAX,
        error_messages={
            "required": "Name the key after the program that uses it.",
            "max_length": f"Keep the name under {keys.NAME_MAX} characters.",
        },
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "Our ERP"}),
        help_text="The program that uses it, so you know which key to revoke later.",
    )
    scopes = ScopesField(
        label="Permissions",
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one permission."},
        help_text="What programs using this key may do. They never get more than the person "
        "who made the key: if your role changes, so does the key.",
    )
    expires_on = forms.DateField(
        label="Expires",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "Enter a date like 2026-12-31, or leave it empty."},
    )
    form_token = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def __init__(
        self, *args: Any, allowed: frozenset[str] | set[str], zone: str, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.zone = zone
        self.scope_choices = scope_choices(allowed)
        field = self.fields["scopes"]
        assert isinstance(field, ScopesField)
        field.choices = self.scope_choices
        today = self.today()
        expires = self.fields["expires_on"]
        expires.widget.attrs.update(
            min=today.isoformat(), max=(today + timedelta(days=LONGEST_DAYS)).isoformat()
        )
        expires.help_text = (
            "Optional. The key stops working at the end of that day "
            f"({zone.replace('_', ' ')} time). Leave empty for a key that works until revoked."
        )

    def today(self) -> date:
        return timezone.now().astimezone(ZoneInfo(self.zone)).date()

    def clean_expires_on(self) -> date | None:
        day: date | None = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        today = self.today()
        if day < today:
            raise forms.ValidationError("That day has passed. Choose today or a later day.")
        if day > today + timedelta(days=LONGEST_DAYS):
            raise forms.ValidationError("Choose an expiry date in the next two years.")
        return day

    def expires_at(self) -> datetime | None:
        day = self.cleaned_data.get("expires_on")
        return end_of_day(day, self.zone) if day else None

    def scope_rows(self) -> list[dict[str, Any]]:
        """The checkboxes, drawn by the template: code, words, ticked."""
        chosen = {str(value) for value in (self["scopes"].value() or [])}
        return [
            {"code": code, "words": words, "checked": code in chosen, "index": index}
            for index, (code, words) in enumerate(self.scope_choices, start=1)
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
    """A status_badge tone and label."""
    if key.revoked_at is not None:
        return "closed", "Revoked"
    if key.expires_at is not None and key.expires_at <= now:
        return "warning", "Expired"
    return "active", "Active"


def key_rows(queryset: Any, *, revoke_url: Any, now: datetime) -> list[dict[str, Any]]:
    rows = []
    for key in queryset:
        tone, label = key_state(key, now)
        rows.append(
            {
                "key": key,
                "tone": tone,
                "state": label,
                "live": label == "Active",
                "scopes": scope_words(list(key.scopes)),
                "revoke_url": revoke_url(key),
            }
        )
    return rows


def curl_example(token: str) -> str:
    return (
        f'curl -H "Authorization: Bearer {token}" {settings.SITE_URL.rstrip("/")}/api/v1/customers'
    )


class PortalKeysMixin(CustomerMixin, ContextMixin):
    capability = Capability.MANAGE_API_KEYS

    @property
    def impersonated(self) -> bool:
        return getattr(self.request, "impersonator", None) is not None

    def list_url(self) -> str:
        return reverse("portal:api-keys", args=[self.customer.number])

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(
            keys_url=self.list_url(),
            docs_url=reverse("api:openapi-view"),
            impersonated=self.impersonated,
            zone_name=self.customer.timezone.replace("_", " "),
        )
        return context


def customer_keys(customer: Customer) -> Any:
    return (
        ApiKey.objects.filter(customer=customer, kind=ApiKey.Kind.CUSTOMER)
        .select_related("created_by", "revoked_by")
        .order_by("-created_at", "-id")
    )


class ApiKeysView(PortalKeysMixin, View):
    """``portal:api-keys``: the customer's keys, newest first."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        customer = self.customer
        found = list(customer_keys(customer)[: KEYS_SHOWN + 1])
        rows = key_rows(
            found[:KEYS_SHOWN],
            revoke_url=lambda key: reverse("portal:api-key-revoke", args=[customer.number, key.pk]),
            now=timezone.now(),
        )
        context = self.get_context_data(
            rows=rows, more=len(found) > KEYS_SHOWN, keys_shown=KEYS_SHOWN
        )
        return TemplateResponse(request, "portal/api_keys/list.html", context)


class ApiKeyCreateView(PortalKeysMixin, View):
    """``portal:api-key-create``: the "New key" form; POST makes a key and answers with its
    token, shown this once."""

    def form(self, data: Any = None, **kwargs: Any) -> KeyForm:
        return KeyForm(data, allowed=CUSTOMER_SCOPES, zone=self.customer.timezone, **kwargs)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = self.form(
            initial={"scopes": DEFAULT_SCOPES, "form_token": secrets.token_urlsafe(24)}
        )
        return self.page(form)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = self.form(request.POST)
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
            return HttpResponseRedirect(self.list_url() + f"#key-{made[token]}")
        try:
            key, secret = keys.create_customer_key(
                actor=request.actor,  # type: ignore[attr-defined]
                customer=self.customer,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                expires_at=form.expires_at(),
            )
        except DomainError as error:
            error.add_to_form(form)
            return self.page(form, status=error.http_status)
        if token:
            made[token] = key.pk
            request.session[SESSION_TOKENS] = dict(list(made.items())[-TOKENS_KEPT:])
        context = self.get_context_data(
            key=key,
            token=secret,
            curl=curl_example(secret),
            scopes=scope_words(list(key.scopes)),
        )
        response = TemplateResponse(request, "portal/api_keys/token.html", context)
        response["Cache-Control"] = "no-store"
        return response

    def page(self, form: KeyForm, *, status: int = 200) -> TemplateResponse:
        context = self.get_context_data(form=form)
        return TemplateResponse(self.request, "portal/api_keys/form.html", context, status=status)


class ApiKeyRevokeView(PortalKeysMixin, View):
    """``portal:api-key-revoke``: "Revoke this key?" (GET), then revoke (POST)."""

    def load(self, key_id: int) -> ApiKey:
        key = customer_keys(self.customer).filter(pk=key_id).first() if key_id <= MAX_ID else None
        if key is None:
            raise Http404("No such API key.")
        return key

    def get(self, request: HttpRequest, key_id: int, *args: Any, **kwargs: Any) -> HttpResponse:
        key = self.load(key_id)
        return self.page(key, RevokeForm())

    def post(self, request: HttpRequest, key_id: int, *args: Any, **kwargs: Any) -> HttpResponse:
        key = self.load(key_id)
        form = RevokeForm(request.POST)
        if not form.is_valid():
            return self.page(key, form, status=400)
        if key.revoked_at is not None:
            messages.info(request, f"“{key.name}” was already revoked.")
            return HttpResponseRedirect(self.list_url() + f"#key-{key.pk}")
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
        return HttpResponseRedirect(self.list_url() + f"#key-{key.pk}")

    def page(self, key: ApiKey, form: RevokeForm, *, status: int = 200) -> TemplateResponse:
        tone, label = key_state(key, timezone.now())
        context = self.get_context_data(
            api_key=key, form=form, state=label, tone=tone, scopes=scope_words(list(key.scopes))
        )
        return TemplateResponse(self.request, "portal/api_keys/revoke.html", context, status=status)
