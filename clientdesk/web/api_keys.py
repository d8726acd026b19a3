"""The API key pages shared by the portal (a customer's owner and admins) and the staff
console (every staff member, managers for every staff key): the "New key" form, the one
time a token is shown, the key list's rows and "Revoke this key?".

The portal and the staff console keep what differs: which keys a viewer sees and may
revoke, which permissions a key may hold, the customers of a staff key, the time zone of
the expiry date, their texts and base templates. The views here are mixins: a page class
gives ``list_url`` (the key list) and ``render`` (a template with the page's context), the
create page ``make_form``/``make_key``, the revoke page ``revocable_keys``.

The token is shown once, in the answer to the "New key" POST (``Cache-Control:
no-store``), never in a URL, a redirect or the session. A refreshed answer does not make a
second key: the form carries a one-time token, remembered in the session with the id of
the key it made.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, ClassVar

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils import timezone

from clientdesk.apikeys import actions as keys
from clientdesk.apikeys.models import ApiKey
from clientdesk.apikeys.scopes import SCOPES
from clientdesk.core.errors import DomainError
from clientdesk.customers.sections import TextField

MAX_ID = 2**62
KEYS_SHOWN = 200  # newest first; more is an outlier
TOKENS_KEPT = 20  # create-form tokens remembered per session
REASON_MAX = 300
# The latest expiry date the form offers: its end stays within the action's limit.
LONGEST_DAYS = keys.LONGEST_LIFETIME.days - 1
DEFAULT_SCOPES = ["customers:read"]
LAST_SECOND = time(23, 59, 59)


def scope_words(scopes: Iterable[str]) -> list[dict[str, str]]:
    """A key's scopes in words, in the catalogue's order (an unknown one last, as is)."""
    order = {scope: index for index, scope in enumerate(SCOPES)}
    ordered = sorted(scopes, key=lambda scope: (order.get(scope, len(order)), scope))
    return [{"code": scope, "words": SCOPES.get(scope, scope)} for scope in ordered]


class ScopesField(forms.MultipleChoiceField):
    """Permissions from the list; a forged value is named, shortened, never echoed whole
    (``error_messages["invalid_choice"]`` with ``%(value)s``)."""

    def validate(self, value: Any) -> None:
        if self.required and not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        for item in value or []:
            if not self.valid_value(item):
                shown = str(item)[:40] + ("…" if len(str(item)) > 40 else "")
                raise forms.ValidationError(
                    self.error_messages["invalid_choice"] % {"value": shown},
                    code="invalid_choice",
                )


class KeyForm(forms.Form):
    """Name, permissions (checkboxes drawn from ``scope_rows``), optional expiry day in
    ``zone`` (the key stops working at that day's last second) and the one-time form token.
    Subclasses give the texts that differ."""

    name_placeholder: ClassVar[str] = ""
    name_help: ClassVar[str] = ""
    scopes_help: ClassVar[str] = ""
    scope_refused: ClassVar[str] = "There is no permission “%(value)s”. Choose from the list."

    name = TextField(
        label="Name",
        max_length=keys.NAME_MAX,
        error_messages={
            "required": "Name the key after the program that uses it.",
            "max_length": f"Keep the name under {keys.NAME_MAX} characters.",
        },
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    scopes = ScopesField(
        label="Permissions",
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one permission."},
    )
    expires_on = forms.DateField(
        label="Expires",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "Enter a date like 2026-12-31, or leave it empty."},
    )
    form_token = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def __init__(
        self,
        *args: Any,
        choices: list[tuple[str, str]],
        zone: tzinfo,
        zone_label: str,
        staff_only: frozenset[str] = frozenset(),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.zone = zone
        self.scope_choices = choices
        self.staff_only = staff_only
        name = self.fields["name"]
        name.widget.attrs = {
            "autocomplete": "off",
            "placeholder": self.name_placeholder,
            **name.widget.attrs,
        }
        name.help_text = self.name_help
        scopes = self.fields["scopes"]
        assert isinstance(scopes, ScopesField)
        scopes.choices = choices
        scopes.help_text = self.scopes_help
        scopes.error_messages["invalid_choice"] = self.scope_refused
        today = self.today()
        expires = self.fields["expires_on"]
        expires.widget.attrs.update(
            min=today.isoformat(), max=(today + timedelta(days=LONGEST_DAYS)).isoformat()
        )
        expires.help_text = (
            f"Optional. The key stops working at the end of that day ({zone_label}). "
            "Leave empty for a key that works until revoked."
        )

    def today(self) -> date:
        return timezone.now().astimezone(self.zone).date()

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
        """The chosen day's last second in the form's zone (shown as "30 Jun 2027, 23:59",
        not as the next day's midnight)."""
        day = self.cleaned_data.get("expires_on")
        return datetime.combine(day, LAST_SECOND, tzinfo=self.zone) if day else None

    def scope_rows(self) -> list[dict[str, Any]]:
        """The checkboxes, drawn by the template: code, words, ticked, staff work only."""
        chosen = {str(value) for value in (self["scopes"].value() or [])}
        return [
            {
                "code": code,
                "words": words,
                "checked": code in chosen,
                "index": index,
                "staff_only": code in self.staff_only,
            }
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


def key_rows(
    found: Iterable[ApiKey], *, revoke_url: Callable[[ApiKey], str], now: datetime
) -> list[dict[str, Any]]:
    """The list's rows: the key, its status, its permissions in words, its revoke link."""
    rows = []
    for key in found:
        tone, label = key_state(key, now)
        rows.append(
            {
                "key": key,
                "tone": tone,
                "state": label,
                "live": label == "Active",
                "scopes": scope_words(key.scopes),
                "revoke_url": revoke_url(key),
            }
        )
    return rows


def curl_example(token: str) -> str:
    return (
        f'curl -H "Authorization: Bearer {token}" {settings.SITE_URL.rstrip("/")}/api/v1/customers'
    )


class KeyPages:
    """What a portal or staff key page gives the shared views below."""

    request: HttpRequest

    def list_url(self) -> str:
        raise NotImplementedError

    def render(
        self, template: str, context: dict[str, Any], *, status: int = 200
    ) -> TemplateResponse:
        raise NotImplementedError


class KeyCreateFlow(KeyPages):
    """The "New key" form; its POST makes a key and answers with its token, shown once."""

    form_template: ClassVar[str]
    key_made_template: ClassVar[str]
    session_tokens: ClassVar[str]  # the session key of the form tokens already used

    def make_form(self, data: Any = None, **kwargs: Any) -> KeyForm:
        raise NotImplementedError

    def make_key(self, form: KeyForm) -> tuple[ApiKey, str]:
        """Call the action; a refusal is a ``DomainError``."""
        raise NotImplementedError

    def token_context(self, key: ApiKey, form: KeyForm) -> dict[str, Any]:
        """More for the token page than the key, its token, curl example and permissions."""
        return {}

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = self.make_form(
            initial={"scopes": DEFAULT_SCOPES, "form_token": secrets.token_urlsafe(24)}
        )
        return self.form_page(form)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = self.make_form(request.POST)
        if not form.is_valid():
            return self.form_page(form, status=400)
        token = str(form.cleaned_data.get("form_token") or "")
        made: dict[str, int] = dict(request.session.get(self.session_tokens, {}))
        if token and token in made:
            messages.warning(
                request,
                "This key was already made; its token is shown only once. If you did not "
                "copy it, revoke the key and make another.",
            )
            return HttpResponseRedirect(self.list_url() + f"#key-{made[token]}")
        try:
            key, secret = self.make_key(form)
        except DomainError as error:
            error.add_to_form(form)
            return self.form_page(form, status=error.http_status)
        if token:
            made[token] = key.pk
            request.session[self.session_tokens] = dict(list(made.items())[-TOKENS_KEPT:])
        context = {
            "api_key": key,
            "token": secret,
            "curl": curl_example(secret),
            "scopes": scope_words(key.scopes),
            **self.token_context(key, form),
        }
        response = self.render(self.key_made_template, context)
        response["Cache-Control"] = "no-store"
        return response

    def form_page(self, form: KeyForm, *, status: int = 200) -> TemplateResponse:
        return self.render(self.form_template, {"form": form}, status=status)


class KeyRevokeFlow(KeyPages):
    """ "Revoke this key?" (GET), then revoke (POST). A key the viewer may not revoke, or no
    key at all, is a 404."""

    revoke_template: ClassVar[str]

    def revocable_keys(self) -> QuerySet[ApiKey]:
        raise NotImplementedError

    def may_revoke(self, key: ApiKey) -> bool:
        return True

    def revoke_context(self, key: ApiKey) -> dict[str, Any]:
        """More for the confirmation page than the key, its status and permissions."""
        return {}

    def load(self, key_id: int) -> ApiKey:
        key = self.revocable_keys().filter(pk=key_id).first() if key_id <= MAX_ID else None
        if key is None or not self.may_revoke(key):
            raise Http404("No such API key.")
        return key

    def get(self, request: HttpRequest, key_id: int, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.page(self.load(key_id), RevokeForm())

    def post(self, request: HttpRequest, key_id: int, *args: Any, **kwargs: Any) -> HttpResponse:
        key = self.load(key_id)
        form = RevokeForm(request.POST)
        if not form.is_valid():
            return self.page(key, form, status=400)
        back = self.list_url() + f"#key-{key.pk}"
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
            "scopes": scope_words(key.scopes),
            **self.revoke_context(key),
        }
        return self.render(self.revoke_template, context, status=status)
