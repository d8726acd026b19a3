"""Webhooks in the staff console, and the customer 360's Integrations tab.

Every staff role may read (the endpoint list ``staff:webhooks``, an endpoint's page
``staff:webhook-detail`` with its deliveries, one delivery's attempts and event
``staff:webhook-delivery``): support needs them to tell a customer whether cPanel or WHOIS
got a change. Managers change endpoints (DESIGN §4): add (``staff:webhook-create``), edit
(``staff:webhook-edit``), rotate the signing secret (``staff:webhook-rotate``), switch on or
off (``staff:webhook-toggle``) and send deliveries again across customers
(``staff:webhook-replay``); other staff get 403.

A signing secret is shown once: in the answer to the POST that made it (create, rotate),
never in a URL, a redirect or the session. A refreshed create form does not register a
second endpoint (``form_token``); a refreshed rotation does not rotate twice (``version``).

On a customer's Integrations tab (``staff:customer-integrations``) any staff member sees,
per integration target, the customer's latest deliveries and may send one again
(``staff:customer-integrations-replay``), which is how support confirms that the provider's
other systems received a change (seed 003, "Update any additional systems").
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from django import forms
from django.contrib import messages
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views import View

from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers.sections import TextField
from clientdesk.events import catalogue
from clientdesk.webhooks import actions, destinations, payload, queries
from clientdesk.webhooks.models import Delivery, WebhookEndpoint

from .client_ids import CLIENT_IDS_MAX, customers_from_client_ids
from .customer360 import CustomerFrameMixin, StaffCustomerMixin
from .customer_list import customer_url
from .mixins import StaffRequiredMixin

MANAGERS: set[str] = {"manager"}
MAX_ID = 2**62
CUSTOMERS_INPUT_MAX = 20_000  # characters of client IDs
TOKENS_KEPT = 20  # create-form tokens remembered per session
SESSION_TOKENS = "webhooks.create_tokens"
TARGET_SUGGESTIONS = ("Billing", "cPanel", "WHOIS")

# Family → (title of its group of checkboxes, one event of it in words).
FAMILY_NAMES = {
    "customer": ("Customers", "customer"),
    "contact": ("Contacts", "contact"),
    "invitation": ("Invitations", "invitation"),
    "change_request": ("Change requests", "change request"),
    "ledger": ("Money", "ledger"),
    "note": ("Staff notes", "staff note"),
    "support": ("Login As", "Login As"),
    "tax_rule": ("Tax rules", "tax rule"),
    "tax_exemption": ("Tax exemptions", "tax exemption"),
    "webhook_endpoint": ("Webhook endpoints", "webhook endpoint"),
    "webhook": ("Webhook deliveries", "webhook delivery"),
    "api_key": ("API keys", "API key"),
}

STATUS_FILTERS: tuple[tuple[str, str], ...] = (
    ("", "All"),
    (Delivery.Status.PENDING, "Waiting"),
    (Delivery.Status.SENDING, "Sending"),
    (Delivery.Status.DELIVERED, "Delivered"),
    (Delivery.Status.FAILED, "Failed"),
)


# --- event types, grouped by family -------------------------------------------------------------


@dataclass(frozen=True)
class EventChoice:
    value: str
    label: str
    description: str


@dataclass(frozen=True)
class EventFamily:
    key: str
    title: str
    pattern: str  # "contact.*"
    noun: str  # "contact": "Every contact event"
    types: tuple[EventChoice, ...]


def family_title(family: str) -> str:
    return FAMILY_NAMES.get(family, (family.replace("_", " ").capitalize(), ""))[0]


def family_noun(family: str) -> str:
    return FAMILY_NAMES.get(family, ("", family.replace("_", " ")))[1]


def event_families() -> list[EventFamily]:
    """The catalogue's types by family, in the catalogue's order."""
    grouped: dict[str, list[EventChoice]] = {}
    for name, description in catalogue.EVENT_TYPES.items():
        family = name.split(".", 1)[0]
        grouped.setdefault(family, []).append(EventChoice(name, name, description))
    return [
        EventFamily(family, family_title(family), f"{family}.*", family_noun(family), tuple(types))
        for family, types in grouped.items()
    ]


def event_in_words(event_type: str) -> str:
    """ "A contact was added." for ``contact.created``; the type itself when unknown."""
    return catalogue.EVENT_TYPES.get(event_type, event_type).rstrip(".")


def subscription_words(patterns: list[str]) -> list[str]:
    """What an endpoint's event types say on screen: families by name."""
    words = []
    for pattern in patterns:
        if pattern.endswith(".*"):
            words.append(f"Every {family_noun(pattern[:-2])} event ({pattern})")
        else:
            words.append(pattern)
    return words


# --- forms ---------------------------------------------------------------------------------------


class EventTypesField(forms.MultipleChoiceField):
    """Event types and families from the catalogue; a forged value is named, shortened."""

    def validate(self, value: Any) -> None:
        for item in value or []:
            if not self.valid_value(item):
                shown = str(item)[:80] + ("…" if len(str(item)) > 80 else "")
                raise forms.ValidationError(
                    f"Unknown event type: {shown}. Choose from the list.", code="invalid_choice"
                )


class EndpointForm(forms.Form):
    url = forms.CharField(
        label="URL",
        max_length=actions.URL_MAX,
        strip=True,
        error_messages={
            "required": "Enter the URL that receives the events.",
            "max_length": f"Keep the URL under {actions.URL_MAX} characters.",
        },
        widget=forms.URLInput(
            attrs={
                "class": "input input-mono",
                "placeholder": "https://billing.example.com/hooks/clientdesk",
                "autocomplete": "off",
                "spellcheck": "false",
            }
        ),
        help_text="Events are POSTed here. HTTPS, on the public internet.",
    )
    target = TextField(
        label="Integration target",
        max_length=actions.TARGET_MAX,
        error_messages={
            "required": 'Name the system this feeds, e.g. "Billing", "cPanel" or "WHOIS".',
            "max_length": f"Keep the name under {actions.TARGET_MAX} characters.",
        },
        widget=forms.TextInput(attrs={"list": "webhook-target-suggestions", "autocomplete": "off"}),
        help_text="The system it feeds, e.g. Billing, cPanel or WHOIS. A customer's "
        "Integrations tab groups deliveries by it.",
    )
    description = TextField(
        label="Description",
        required=False,
        max_length=actions.DESCRIPTION_MAX,
        error_messages={
            "max_length": f"Keep the description under {actions.DESCRIPTION_MAX} characters."
        },
        help_text="Optional: who runs the receiver, what it does with the events.",
    )
    event_types = EventTypesField(
        label="Events",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Tick none to receive every event, including types added later. A whole "
        "family also covers the types added to it later.",
    )
    customers = forms.CharField(
        label="Customers",
        required=False,
        max_length=CUSTOMERS_INPUT_MAX,
        error_messages={"max_length": "That is too many client IDs for one endpoint."},
        widget=forms.Textarea(
            attrs={"rows": 2, "class": "input input-mono", "placeholder": "C-100042, C-100057"}
        ),
        help_text="Client IDs such as C-100042, separated by commas or spaces. Leave empty "
        "for every customer.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.families = event_families()
        field = self.fields["event_types"]
        assert isinstance(field, EventTypesField)
        field.choices = [
            (value, value)
            for family in self.families
            for value in (family.pattern, *(choice.value for choice in family.types))
        ]

    def clean_url(self) -> str:
        """Refuse a private or unreachable destination now, next to the other errors (the
        action checks again, and so does every delivery)."""
        url = str(self.cleaned_data.get("url") or "")
        try:
            destinations.resolve(url)
        except DomainError as refused:
            raise forms.ValidationError(refused.message) from None
        return url

    def clean_event_types(self) -> list[str]:
        return list(dict.fromkeys(self.cleaned_data.get("event_types") or []))

    def clean_customers(self) -> list[str]:
        customers = customers_from_client_ids(
            str(self.cleaned_data.get("customers") or ""),
            too_many=f"Restrict an endpoint to at most {CLIENT_IDS_MAX} customers, or leave "
            "the field empty for every customer.",
        )
        return [customer.client_id for customer in customers]

    # The template draws the event checkboxes itself, grouped by family.
    def event_groups(self) -> list[dict[str, Any]]:
        chosen = set(self["event_types"].value() or [])
        groups = []
        for family in self.families:
            groups.append(
                {
                    "family": family,
                    "whole": family.pattern in chosen,
                    "types": [(choice, choice.value in chosen) for choice in family.types],
                }
            )
        return groups

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "url": data["url"],
            "target": data["target"],
            "description": data["description"],
            "event_types": data["event_types"],
            "customers": data["customers"],
        }


class CreateEndpointForm(EndpointForm):
    form_token = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)


class EditEndpointForm(EndpointForm):
    version = forms.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        widget=forms.HiddenInput,
        error_messages={
            "required": "Reload the page and make your change again.",
            "invalid": "Reload the page and make your change again.",
        },
    )


class ToggleForm(forms.Form):
    active = forms.ChoiceField(
        choices=[("on", "Switch on"), ("off", "Switch off")],
        error_messages={"invalid_choice": "Choose to switch the endpoint on or off."},
    )
    reason = TextField(
        label="Reason",
        required=False,
        max_length=300,
        error_messages={"max_length": "Keep the reason under 300 characters."},
    )


class RotateForm(forms.Form):
    version = forms.IntegerField(min_value=1, max_value=MAX_ID, widget=forms.HiddenInput)


class ReplayForm(forms.Form):
    delivery = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    scope = forms.ChoiceField(
        required=False, choices=[("", "One delivery"), ("failed", "All failed deliveries")]
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("delivery") and data.get("scope") != "failed":
            raise forms.ValidationError("Choose a delivery to send again.")
        return data


def form_error_text(form: forms.Form) -> str:
    for errors in form.errors.values():
        for error in errors:
            return str(error)
    return "Check the form and try again."


# --- shared view plumbing --------------------------------------------------------------------


class WebhookConsoleMixin(StaffRequiredMixin):
    request: HttpRequest

    @property
    def can_manage(self) -> bool:
        return bool(MANAGERS & self.staff_roles)

    def actor(self) -> Any:
        return self.request.actor  # type: ignore[attr-defined]

    def render(
        self, template: str, context: dict[str, Any], *, status: int = 200
    ) -> TemplateResponse:
        context.setdefault("staff_roles", sorted(self.staff_roles))
        context.setdefault("can_manage", self.can_manage)
        return TemplateResponse(self.request, template, context, status=status)

    def load_endpoint(self, endpoint_id: int) -> WebhookEndpoint:
        endpoint = queries.endpoint(endpoint_id) if endpoint_id <= MAX_ID else None
        if endpoint is None:
            raise Http404("No such webhook endpoint.")
        return endpoint


class ManagersOnly(WebhookConsoleMixin):
    required_roles: ClassVar[set[str]] = MANAGERS


def detail_url(endpoint: WebhookEndpoint | int, **query: str) -> str:
    pk = endpoint if isinstance(endpoint, int) else endpoint.pk
    url = reverse("staff:webhook-detail", args=[pk])
    params = QueryDict(mutable=True)
    for key, value in query.items():
        if value:
            params[key] = value
    return f"{url}?{params.urlencode()}" if params else url


def rotation_state(endpoint: WebhookEndpoint, now: datetime) -> datetime | None:
    """Until when the previous secret still signs (None: no rotation in progress)."""
    expires = endpoint.previous_secret_expires_at
    return expires if expires is not None and expires > now else None


# --- delivery state, as staff read it --------------------------------------------------------


@dataclass(frozen=True)
class DeliveryState:
    tone: str  # a status_badge tone
    label: str
    detail: str


def delivery_state(delivery: Delivery) -> DeliveryState:
    if delivery.status == Delivery.Status.DELIVERED:
        code = f" (HTTP {delivery.last_status_code})" if delivery.last_status_code else ""
        return DeliveryState("success", "Delivered ✓", f"Accepted{code}.")
    if delivery.status == Delivery.Status.FAILED:
        return DeliveryState("error", "Failed", last_outcome(delivery) or "Gave up.")
    if delivery.status == Delivery.Status.SENDING:
        return DeliveryState("info", "Sending", "Being sent now.")
    detail = last_outcome(delivery)
    return DeliveryState("warning", "Waiting", f"Last try: {detail}" if detail else "")


def last_outcome(delivery: Delivery) -> str:
    """The last attempt's answer in words: "HTTP 500", "Timed out", or nothing yet."""
    code = f"HTTP {delivery.last_status_code}" if delivery.last_status_code else ""
    error = delivery.last_error
    if code and error.startswith(code):  # the worker's own "HTTP 500" or "HTTP 301: …"
        return error
    return " — ".join(part for part in (code, error) if part)


@dataclass(frozen=True)
class DeliveryRow:
    delivery: Delivery
    state: DeliveryState
    event_words: str
    customer_url: str
    url: str
    replayable: bool


def delivery_row(delivery: Delivery, endpoint_id: int) -> DeliveryRow:
    customer = delivery.customer
    return DeliveryRow(
        delivery=delivery,
        state=delivery_state(delivery),
        event_words=event_in_words(delivery.event.type),
        customer_url=customer_url(customer.number) if customer is not None else "",
        url=reverse("staff:webhook-delivery", args=[endpoint_id, delivery.pk]),
        replayable=delivery.status in (Delivery.Status.FAILED, Delivery.Status.DELIVERED),
    )


# --- the console: list, detail, one delivery ------------------------------------------------


class EndpointListView(WebhookConsoleMixin, View):
    """Every endpoint: where it points, what it gets, whether it works (any staff role)."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        rows = queries.endpoint_rows()
        return self.render(
            "staff/webhooks/list.html",
            {
                "rows": [
                    {
                        "row": row,
                        "events": subscription_words(list(row.endpoint.event_types)),
                        "url": detail_url(row.endpoint),
                    }
                    for row in rows
                ],
                "count_cap": queries.COUNT_CAP,
            },
        )


class StatusFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=STATUS_FILTERS)
    before = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)


class EndpointDetailView(WebhookConsoleMixin, View):
    """An endpoint's settings and its deliveries, newest first, by status, paged by id."""

    def get(
        self, request: HttpRequest, endpoint_id: int, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        endpoint = self.load_endpoint(endpoint_id)
        filters = StatusFilterForm(request.GET)
        filters.is_valid()  # an invalid value is dropped: the page shows everything
        status = str(filters.cleaned_data.get("status") or "")
        before = filters.cleaned_data.get("before")
        page = queries.endpoint_deliveries(endpoint, status=status, before=before)
        tabs = [
            {
                "label": label,
                "url": detail_url(endpoint, status=value) + "#deliveries",
                "current": value == status,
            }
            for value, label in STATUS_FILTERS
        ]
        now = timezone.now()
        context = {
            "endpoint": endpoint,
            "client_ids": queries.client_ids(endpoint),
            "events": subscription_words(list(endpoint.event_types)),
            "old_secret_until": rotation_state(endpoint, now),
            "rows": [delivery_row(delivery, endpoint.pk) for delivery in page.rows],
            "status": status,
            "status_label": dict(STATUS_FILTERS)[status],
            "status_tabs": tabs,
            "older_url": (
                detail_url(endpoint, status=status, before=str(page.older_than)) + "#deliveries"
                if page.older_than
                else ""
            ),
            "newest_url": detail_url(endpoint, status=status) + "#deliveries" if before else "",
            "toggle_form": ToggleForm(initial={"active": "off" if endpoint.is_active else "on"}),
        }
        return self.render("staff/webhooks/detail.html", context)


class DeliveryView(WebhookConsoleMixin, View):
    """One delivery: its attempts (time, status, duration, the answer's first bytes) and
    the event exactly as the receiver gets it."""

    def get(
        self, request: HttpRequest, endpoint_id: int, delivery_id: int, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        endpoint = self.load_endpoint(endpoint_id)
        delivery = queries.delivery(endpoint, delivery_id) if delivery_id <= MAX_ID else None
        if delivery is None:
            raise Http404("No such delivery.")
        envelope = json.dumps(
            payload.envelope(delivery.event), cls=DjangoJSONEncoder, ensure_ascii=False, indent=2
        )
        context = {
            "endpoint": endpoint,
            "delivery": delivery,
            "row": delivery_row(delivery, endpoint.pk),
            "attempts": queries.attempts(delivery),
            "attempts_cap": queries.ATTEMPTS_SHOWN,
            "envelope": envelope,
            "webhook_id": payload.message_id(delivery.event),
            "back_url": detail_url(endpoint),
        }
        return self.render("staff/webhooks/delivery.html", context)


# --- managers: add, edit, rotate, switch, replay ---------------------------------------------


def secret_page(
    view: WebhookConsoleMixin,
    endpoint: WebhookEndpoint,
    secret: str,
    *,
    rotated: bool,
) -> TemplateResponse:
    """The one time a secret is shown: the answer to the POST that made it."""
    context = {
        "endpoint": endpoint,
        "secret": secret,
        "rotated": rotated,
        "old_secret_until": endpoint.previous_secret_expires_at if rotated else None,
        "detail_url": detail_url(endpoint),
    }
    response = view.render("staff/webhooks/secret.html", context)
    response["Cache-Control"] = "no-store"
    return response


class EndpointCreateView(ManagersOnly, View):
    """Register an endpoint; the answer shows its signing secret once."""

    template = "staff/webhooks/form.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = CreateEndpointForm(initial={"form_token": secrets.token_urlsafe(24)})
        return self.page(form)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = CreateEndpointForm(request.POST)
        if not form.is_valid():
            return self.page(form, status=400)
        token = str(form.cleaned_data.get("form_token") or "")
        made: dict[str, int] = dict(request.session.get(SESSION_TOKENS, {}))
        if token and token in made:
            # The browser sent the same form again (a refresh of the secret page).
            messages.warning(
                request,
                "This endpoint was already added; its signing secret is shown only once. "
                "If you did not copy it, rotate the secret.",
            )
            return HttpResponseRedirect(detail_url(made[token]))
        try:
            endpoint, secret = actions.create_endpoint(actor=self.actor(), **form.values())
        except DomainError as error:
            error.add_to_form(form)
            return self.page(form, status=400)
        if token:
            made[token] = endpoint.pk
            request.session[SESSION_TOKENS] = dict(list(made.items())[-TOKENS_KEPT:])
        return secret_page(self, endpoint, secret, rotated=False)

    def page(self, form: EndpointForm, *, status: int = 200) -> TemplateResponse:
        context = {
            "form": form,
            "title": "Add webhook endpoint",
            "submit": "Add endpoint",
            "cancel_url": reverse("staff:webhooks"),
            "suggestions": TARGET_SUGGESTIONS,
        }
        return self.render(self.template, context, status=status)


class EndpointEditView(ManagersOnly, View):
    """Change an endpoint's settings; ``version`` refuses a save over someone else's."""

    template = "staff/webhooks/form.html"

    def get(
        self, request: HttpRequest, endpoint_id: int, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        endpoint = self.load_endpoint(endpoint_id)
        form = EditEndpointForm(
            initial={
                "url": endpoint.url,
                "target": endpoint.target,
                "description": endpoint.description,
                "event_types": list(endpoint.event_types),
                "customers": ", ".join(queries.client_ids(endpoint)),
                "version": endpoint.version,
            }
        )
        return self.page(endpoint, form)

    def post(
        self, request: HttpRequest, endpoint_id: int, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        endpoint = self.load_endpoint(endpoint_id)
        form = EditEndpointForm(request.POST)
        if not form.is_valid():
            return self.page(endpoint, form, status=400)
        version = form.cleaned_data["version"]
        try:
            saved = actions.update_endpoint(
                actor=self.actor(), endpoint=endpoint, version=version, **form.values()
            )
        except DomainError as error:
            error.add_to_form(form)
            status = 409 if error.code == ErrorCode.STALE_VERSION else 400
            return self.page(endpoint, form, status=status, stale=status == 409)
        if saved.version == version:
            messages.info(request, "Nothing to save: the settings are as they were.")
        else:
            messages.success(request, f"Saved the settings of {saved.target}.")
        return HttpResponseRedirect(detail_url(saved))

    def page(
        self,
        endpoint: WebhookEndpoint,
        form: EndpointForm,
        *,
        status: int = 200,
        stale: bool = False,
    ) -> TemplateResponse:
        context = {
            "form": form,
            "endpoint": endpoint,
            "title": f"Edit {endpoint.target} endpoint",
            "submit": "Save changes",
            "cancel_url": detail_url(endpoint),
            "suggestions": TARGET_SUGGESTIONS,
            "stale": stale,
            "reload_url": reverse("staff:webhook-edit", args=[endpoint.pk]),
        }
        return self.render(self.template, context, status=status)


class EndpointRotateView(ManagersOnly, View):
    """Confirm, then replace the signing secret and show the new one once. The old secret
    keeps signing (a second signature) for ``actions.ROTATION_GRACE``."""

    def get(
        self, request: HttpRequest, endpoint_id: int, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        endpoint = self.load_endpoint(endpoint_id)
        return self.render(
            "staff/webhooks/rotate.html",
            {
                "endpoint": endpoint,
                "form": RotateForm(initial={"version": endpoint.version}),
                "grace_hours": int(actions.ROTATION_GRACE.total_seconds() // 3600),
                "old_secret_until": rotation_state(endpoint, timezone.now()),
                "cancel_url": detail_url(endpoint),
            },
        )

    def post(
        self, request: HttpRequest, endpoint_id: int, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        endpoint = self.load_endpoint(endpoint_id)
        form = RotateForm(request.POST)
        if not form.is_valid() or form.cleaned_data["version"] != endpoint.version:
            # A refreshed answer page, or someone changed the endpoint meanwhile.
            messages.warning(
                request,
                "The secret was not rotated: the endpoint changed since you opened the page "
                "(perhaps it was rotated already). Check it and rotate again if needed.",
            )
            return HttpResponseRedirect(detail_url(endpoint))
        try:
            rotated, secret = actions.rotate_secret(
                actor=self.actor(), endpoint=endpoint, version=form.cleaned_data["version"]
            )
        except DomainError as error:
            messages.error(request, error.message)
            return HttpResponseRedirect(detail_url(endpoint))
        return secret_page(self, rotated, secret, rotated=True)


class EndpointToggleView(ManagersOnly, View):
    """Switch an endpoint on or off (POST). Off: nothing more is queued or sent to it."""

    def post(
        self, request: HttpRequest, endpoint_id: int, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        endpoint = self.load_endpoint(endpoint_id)
        form = ToggleForm(request.POST)
        if not form.is_valid():
            messages.error(request, form_error_text(form))
            return HttpResponseRedirect(detail_url(endpoint))
        active = form.cleaned_data["active"] == "on"
        try:
            saved = actions.set_endpoint_active(
                actor=self.actor(),
                endpoint=endpoint,
                active=active,
                reason=form.cleaned_data["reason"],
            )
        except DomainError as error:
            messages.error(request, error.message)
            return HttpResponseRedirect(detail_url(endpoint))
        if active:
            messages.success(
                request,
                f"{saved.target} is switched on. New events are queued for it again; "
                "deliveries that failed meanwhile can be sent again below.",
            )
        else:
            messages.success(
                request,
                f"{saved.target} is switched off. No events are queued or sent to it until "
                "it is switched on again.",
            )
        return HttpResponseRedirect(detail_url(saved))


class EndpointReplayView(ManagersOnly, View):
    """Send one delivery of this endpoint again, or all its failed ones (at most
    ``actions.REPLAY_MAX`` per press)."""

    def post(
        self, request: HttpRequest, endpoint_id: int, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        endpoint = self.load_endpoint(endpoint_id)
        form = ReplayForm(request.POST)
        if not form.is_valid():
            messages.error(request, form_error_text(form))
            return HttpResponseRedirect(detail_url(endpoint))
        bulk = form.cleaned_data.get("scope") == "failed"
        if bulk:
            chosen = list(
                Delivery.objects.filter(endpoint=endpoint, status=Delivery.Status.FAILED)
                .order_by("pk")
                .only("pk")[: actions.REPLAY_MAX + 1]
            )
            more = len(chosen) > actions.REPLAY_MAX
            if not chosen:
                messages.info(request, "No failed deliveries to send again.")
                return HttpResponseRedirect(detail_url(endpoint))
        else:
            one = (
                Delivery.objects.filter(endpoint=endpoint, pk=form.cleaned_data["delivery"])
                .only("pk")
                .first()
            )
            if one is None:
                raise Http404("No such delivery on this endpoint.")
            chosen, more = [one], False
        try:
            count = actions.replay_deliveries(
                actor=self.actor(), deliveries=chosen[: actions.REPLAY_MAX]
            )
        except DomainError as error:
            messages.warning(request, error.message)
            return HttpResponseRedirect(detail_url(endpoint))
        text = f"{count} {'delivery' if count == 1 else 'deliveries'} queued to be sent again."
        if more:
            text += (
                f" That is the most one press sends ({actions.REPLAY_MAX:,}); "
                "press again for the rest."
            )
        messages.success(request, text)
        if bulk:
            return HttpResponseRedirect(detail_url(endpoint, status=Delivery.Status.PENDING))
        return HttpResponseRedirect(detail_url(endpoint) + f"#delivery-{chosen[0].pk}")


# --- the customer 360's Integrations tab ------------------------------------------------------


@dataclass(frozen=True)
class IntegrationRow:
    delivery: Delivery
    state: DeliveryState
    event_words: str
    replay_url: str
    replayable: bool
    console_url: str


class IntegrationsView(CustomerFrameMixin, View):
    """Per integration target, the customer's latest deliveries and their state, with
    "Send again" (any staff role). Four queries on top of the frame's, whatever the number
    of deliveries."""

    frame_tab = "integrations"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        customer = self.customer
        groups = []
        for group in queries.customer_integrations(customer):
            rows = [
                IntegrationRow(
                    delivery=delivery,
                    state=delivery_state(delivery),
                    event_words=event_in_words(delivery.event.type),
                    replay_url=reverse(
                        "staff:customer-integrations-replay", args=[customer.number, delivery.pk]
                    ),
                    replayable=delivery.status
                    in (Delivery.Status.FAILED, Delivery.Status.DELIVERED),
                    console_url=reverse(
                        "staff:webhook-delivery", args=[delivery.endpoint_id, delivery.pk]
                    ),
                )
                for delivery in group.deliveries
            ]
            groups.append(
                {
                    "group": group,
                    "rows": rows,
                    "endpoints": [
                        {"endpoint": endpoint, "url": detail_url(endpoint)}
                        for endpoint in group.endpoints
                    ],
                }
            )
        context = self.frame(
            groups=groups,
            per_target=queries.PER_ENDPOINT,
            console_url=reverse("staff:webhooks"),
            can_manage=bool(MANAGERS & self.staff_roles),
        )
        return TemplateResponse(request, "staff/webhooks/integrations.html", context)


class IntegrationReplayView(StaffCustomerMixin, View):
    """Send one of this customer's deliveries again (POST, any staff role). Another
    customer's delivery id is a 404."""

    def post(
        self, request: HttpRequest, delivery_id: int, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        customer = self.customer
        found = queries.customer_delivery(customer, delivery_id) if delivery_id <= MAX_ID else None
        if found is None:
            raise Http404("No such delivery for this customer.")
        tab = reverse("staff:customer-integrations", args=[customer.number])
        try:
            actions.replay_deliveries(actor=request.actor, deliveries=[found], customer=customer)  # type: ignore[attr-defined]
        except DomainError as error:
            messages.warning(request, error.message)
            return HttpResponseRedirect(f"{tab}#delivery-{found.pk}")
        messages.success(
            request,
            "Queued to be sent again now. Reload this tab in a few seconds to see the result.",
        )
        return HttpResponseRedirect(f"{tab}#delivery-{found.pk}")
