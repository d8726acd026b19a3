"""The staff procedure for changing a customer's login email (seed 003, issue 7 part B).

One page per step, at ``staff:customer-email-change`` (``?step=1`` … ``?step=5``):

1. *Verify identity* — how the client's identity was checked and the evidence reference.
2. *Confirm the client* — the account's current details, and a tick that it is the right one.
3. *New email* — checked by ``email_checks.check_new_login_email`` (refusals next to the
   field; a likely typo of a common mail domain needs "The address is correct" ticked).
4. *Reason* and *Authorised by*.
5. *Review & confirm* — one button runs ``change_primary_email`` (one transaction: login,
   owner contact and primary email, sessions, reset links, note, Activity, outbox, emails).

Progress is kept server-side in the staff member's session, keyed by the customer number,
for at most ``STATE_MAX_AGE`` seconds. Opening the wizard without ``step`` (the 360's
"Change login email" button, a change request's link with ``?request=<number>``) starts
afresh: a verification is never carried over from an earlier attempt. Nothing changes before
step 5; the action checks everything again, and a refusal sends the staff member back to the
step whose field it concerns. Support, managers and superusers run it (billing: 403; not
staff: 404; another customer's number: 404).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, ClassVar

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views import View

from clientdesk.change_requests import queries as request_queries
from clientdesk.change_requests.email_checks import EmailRefused, check_new_login_email
from clientdesk.change_requests.models import ChangeRequest, Kind, parse_reference
from clientdesk.change_requests.primary_email import (
    REASON_MAX,
    REFERENCE_MAX,
    VerificationMethod,
    change_primary_email,
    may_run_procedure,
)
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers import policy, validators
from clientdesk.customers.display import display_value, masked_for_customer
from clientdesk.customers.models import Contact
from clientdesk.customers.roles import Role

from .customer360 import CustomerFrameMixin, profile_url

SESSION_KEY = "staff_email_change"
STATE_MAX_AGE = 60 * 60  # an identity check is good for one sitting, not for tomorrow
EMAIL_INPUT_MAX = 1000  # longer input is refused before it is looked at

STEPS: tuple[tuple[int, str], ...] = (
    (1, "Verify identity"),
    (2, "Confirm the client"),
    (3, "New email"),
    (4, "Reason"),
    (5, "Review & confirm"),
)
LAST_STEP = len(STEPS)

# Which step holds the input a refusal of the action names.
FIELD_STEPS: dict[str, int] = {
    "verification_method": 1,
    "verification_reference": 1,
    "new_email": 3,
    "reason": 4,
    "authorised_by": 4,
}
# What each step stores in the wizard state (cleared when the action refuses that step).
STEP_KEYS: dict[int, tuple[str, ...]] = {
    1: ("verification_method", "verification_reference"),
    2: ("confirmed",),
    3: ("new_email", "email_warnings"),
    4: ("reason", "authorised_by"),
}


def _one_line(value: str, *, limit: int) -> str:
    """Text the note and Activity keep on one line: the same rule the action applies."""
    text = validators.clean_text(value or "")
    if not text:
        raise ValidationError("This field is required.", code="required")
    if len(text) > limit:
        raise ValidationError(f"Keep this under {limit} characters (it has {len(text)}).")
    return text


def staff_members() -> Any:
    return (
        get_user_model()
        .objects.filter(is_staff=True, is_active=True)
        .order_by("full_name", "email")
    )


def staff_label(user: Any) -> str:
    name = getattr(user, "full_name", "") or ""
    return f"{name} ({user.email})" if name else str(user.email)


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return staff_label(obj)


# --- the steps' forms ---------------------------------------------------------------------


class VerifyForm(forms.Form):
    verification_method = forms.ChoiceField(
        label="How did you verify the client's identity?",
        choices=VerificationMethod.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose how you verified the client's identity.",
            "invalid_choice": "Choose one of the listed verification methods.",
        },
    )
    verification_reference = forms.CharField(
        label="Evidence reference",
        max_length=REFERENCE_MAX,
        help_text="The ticket, call reference or document number that records the check, "
        "e.g. TCK-20431 or “call 14:05, ref 7781”.",
        error_messages={"required": "Enter the ticket, call reference or document number."},
    )

    def clean_verification_reference(self) -> str:
        return _one_line(self.cleaned_data["verification_reference"], limit=REFERENCE_MAX)


class ConfirmClientForm(forms.Form):
    confirmed = forms.BooleanField(
        label="I have checked this is the client's account",
        error_messages={
            "required": "Tick this once you have checked the details above belong to the "
            "client you are talking to."
        },
    )


class NewEmailForm(forms.Form):
    new_email = forms.CharField(
        label="New login email",
        strip=False,  # a trailing line break is refused, not quietly trimmed
        max_length=EMAIL_INPUT_MAX,
        help_text="The address the client will sign in with. Read it back to the client.",
        widget=forms.TextInput(
            attrs={
                "inputmode": "email",
                "autocomplete": "off",
                "autocapitalize": "none",
                "spellcheck": "false",
            }
        ),
        error_messages={"required": "Enter the new email address."},
    )
    address_confirmed = forms.BooleanField(label="The address is correct", required=False)
    warned_for = forms.CharField(required=False, widget=forms.HiddenInput, max_length=300)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=REASON_MAX,
        help_text="Why the login email changes, e.g. “Client lost access to the old mailbox”.",
        error_messages={"required": "Say why the login email is being changed."},
    )
    authorised_by = StaffChoiceField(
        label="Authorised by",
        queryset=staff_members(),
        empty_label=None,
        help_text="The member of staff who approved the change (you, if you decided it).",
        error_messages={
            "required": "Choose who authorised the change.",
            "invalid_choice": "Choose an active member of staff from the list.",
        },
    )

    def clean_reason(self) -> str:
        return _one_line(self.cleaned_data["reason"], limit=REASON_MAX)


# --- the view -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StepLink:
    number: int
    label: str
    url: str
    current: bool
    done: bool
    reachable: bool


class EmailChangeWizardView(CustomerFrameMixin, View):
    """The five steps; GET shows one (``?step=``), POST saves it and moves on."""

    required_roles: ClassVar[set[str]] = {"support", "manager"}
    frame_tab = "profile"
    template_name = "staff/email_change/wizard.html"

    owner: Contact | None
    _cache: dict[str, ChangeRequest | None]

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().setup(request, *args, **kwargs)
        self._cache = {}

    # --- entry points ---

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.guard()
        raw_step = request.GET.get("step")
        if raw_step is None:
            return self.start()
        state = self.state()
        if state is None:
            return self.expired()
        step = self.parse_step(raw_step)
        allowed = self.first_incomplete(state)
        if step > allowed:
            return self.redirect(allowed)
        return self.render_step(step, state)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.guard()
        if "cancel" in request.POST:
            self.clear_state()
            messages.info(request, "The login email change was cancelled. Nothing was changed.")
            return HttpResponseRedirect(self.back_to_360())
        step = self.parse_step(request.POST.get("step", ""))
        state = self.state()
        if state is not None and self.blocked_reason():
            return self.render_step(step, state, status=409)
        if state is None:
            if step == LAST_STEP:
                messages.info(
                    request,
                    "This login email change was already completed or cancelled; nothing "
                    "more was changed. The profile shows the current login email.",
                )
                return HttpResponseRedirect(self.back_to_360())
            return self.expired()
        allowed = self.first_incomplete(state)
        if step > allowed:
            return self.redirect(allowed)
        handler = {
            1: self.post_verify,
            2: self.post_confirm,
            3: self.post_new_email,
            4: self.post_reason,
            5: self.post_final,
        }[step]
        return handler(state)

    def guard(self) -> None:
        """The procedure's own rule (the action checks it again): support, managers and
        superusers who are staff."""
        if not may_run_procedure(self.request.user):
            raise PermissionDenied("Your staff role cannot change a login email.")
        self.owner = self.load_owner()

    # --- each step's POST ---

    def post_verify(self, state: dict[str, Any]) -> HttpResponse:
        form = VerifyForm(self.request.POST)
        if not form.is_valid():
            return self.render_step(1, state, form=form, status=400)
        state.update(form.cleaned_data)
        return self.save_and_go(state, 2)

    def post_confirm(self, state: dict[str, Any]) -> HttpResponse:
        form = ConfirmClientForm(self.request.POST)
        if not form.is_valid():
            return self.render_step(2, state, form=form, status=400)
        state["confirmed"] = True
        return self.save_and_go(state, 3)

    def post_new_email(self, state: dict[str, Any]) -> HttpResponse:
        form = NewEmailForm(self.request.POST)
        if not form.is_valid():
            return self.render_step(3, state, form=form, status=400)
        user = self.owner.user if self.owner is not None else None
        try:
            checked = check_new_login_email(
                form.cleaned_data["new_email"], user_id=user.pk if user else None
            )
        except EmailRefused as refused:
            form.add_error("new_email", str(refused))
            return self.render_step(3, state, form=form, status=400)
        if user is not None and checked.address == user.email:
            form.add_error("new_email", "That is already the login email.")
            return self.render_step(3, state, form=form, status=400)
        acknowledged = (
            form.cleaned_data["address_confirmed"]
            and form.cleaned_data["warned_for"] == checked.address
        )
        if checked.warnings and not acknowledged:
            # Shown again with the warning and the tick box; the tick counts only for the
            # address it was shown for.
            data = self.request.POST.copy()
            data["warned_for"] = checked.address
            data["address_confirmed"] = ""
            form = NewEmailForm(data)
            form.is_valid()
            return self.render_step(
                3,
                state,
                form=form,
                warnings=checked.warnings,
                suggestion=checked.suggestion,
                warned=True,
            )
        state["new_email"] = checked.address
        state["email_warnings"] = list(checked.warnings)
        return self.save_and_go(state, 4)

    def post_reason(self, state: dict[str, Any]) -> HttpResponse:
        form = ReasonForm(self.request.POST)
        if not form.is_valid():
            return self.render_step(4, state, form=form, status=400)
        state["reason"] = form.cleaned_data["reason"]
        state["authorised_by"] = form.cleaned_data["authorised_by"].pk
        return self.save_and_go(state, 5)

    def post_final(self, state: dict[str, Any]) -> HttpResponse:
        request = self.request
        authorised_by = staff_members().filter(pk=state.get("authorised_by")).first()
        change_request = self.linked_request(state)
        try:
            result = change_primary_email(
                self.customer,
                new_email=state["new_email"],
                verification_method=state["verification_method"],
                verification_reference=state["verification_reference"],
                reason=state["reason"],
                authorised_by=authorised_by,
                actor=request.actor,  # type: ignore[attr-defined]
                change_request=change_request,
            )
        except DomainError as error:
            return self.refused(state, error)
        self.clear_state()
        messages.success(
            request,
            f"Login email changed to {result.new_email}. The client has been signed out "
            "everywhere; confirmation sent to the new address and a notice to the old one.",
        )
        if result.closed_request is not None:
            messages.info(
                request,
                f"Change request {result.closed_request.reference} was closed as approved.",
            )
        return HttpResponseRedirect(self.back_to_360())

    def refused(self, state: dict[str, Any], error: DomainError) -> HttpResponse:
        """The action said no: back to the step the refusal concerns, with its message."""
        if error.code == ErrorCode.NOT_ALLOWED and not error.errors:
            raise PermissionDenied(error.message)
        self.owner = self.load_owner()
        current = self.owner.user.email if self.owner and self.owner.user else ""
        if current and current == state.get("new_email"):
            # A repeated submit that lost the race to the first one: the change is made.
            self.clear_state()
            messages.info(
                self.request,
                f"The login email is already {current}; the change was made once. "
                "Nothing more was changed.",
            )
            return HttpResponseRedirect(self.back_to_360())
        steps = sorted({FIELD_STEPS[name] for name in error.errors if name in FIELD_STEPS})
        if not steps:
            return self.render_step(LAST_STEP, state, error=error.message, status=400)
        step = steps[0]
        form = self.form_for(step, data=self.stored_data(step, state))
        form.is_valid()
        for name, texts in error.errors.items():
            target = name if name in form.fields else None
            for text in texts:
                if text not in form.errors.get(target or "__all__", []):
                    form.add_error(target, text)
        for key in STEP_KEYS[step]:
            state.pop(key, None)
        self.save_state(state)
        return self.render_step(step, state, form=form, status=400)

    # --- rendering ---

    def render_step(
        self,
        step: int,
        state: dict[str, Any],
        *,
        form: forms.Form | None = None,
        status: int = 200,
        **extra: Any,
    ) -> TemplateResponse:
        if form is None and step < LAST_STEP:
            form = self.form_for(step, initial=self.initial_for(step, state))
        context = self.frame(
            step=step,
            step_label=dict(STEPS)[step],
            step_count=LAST_STEP,
            steps=self.step_links(step, state),
            form=form,
            state=state,
            owner=self.owner,
            blocked=self.blocked_reason(),
            back_url=self.step_url(step - 1) if step > 1 else "",
            cancel_url=self.back_to_360(),
            action_url=self.step_url(step),
            change_request=self.linked_request(state),
            **extra,
        )
        if step == 2:
            context["client"] = self.client_facts()
        if step == LAST_STEP:
            context["review"] = self.review(state)
        return TemplateResponse(self.request, self.template_name, context, status=status)

    def step_links(self, current: int, state: dict[str, Any]) -> list[StepLink]:
        allowed = self.first_incomplete(state)
        return [
            StepLink(
                number=number,
                label=label,
                url=self.step_url(number),
                current=number == current,
                done=number < allowed and number != current,
                reachable=number <= allowed,
            )
            for number, label in STEPS
        ]

    def form_for(
        self, step: int, *, data: Any = None, initial: dict[str, Any] | None = None
    ) -> forms.Form:
        form_class: type[forms.Form] = {
            1: VerifyForm,
            2: ConfirmClientForm,
            3: NewEmailForm,
            4: ReasonForm,
        }[step]
        return form_class(data=data, initial=initial)

    def initial_for(self, step: int, state: dict[str, Any]) -> dict[str, Any]:
        if step == 3 and not state.get("new_email"):
            request = self.linked_request(state)
            asked = request.requested.get("primary_email", "") if request else ""
            return {"new_email": asked}
        if step == 4 and not state.get("authorised_by"):
            return {"authorised_by": self.request.user.pk, "reason": state.get("reason", "")}
        return self.stored_data(step, state)

    @staticmethod
    def stored_data(step: int, state: dict[str, Any]) -> dict[str, Any]:
        data = {key: state[key] for key in STEP_KEYS.get(step, ()) if key in state}
        data.pop("email_warnings", None)
        if step == 3 and state.get("email_warnings") and "new_email" in state:
            data["address_confirmed"] = True
            data["warned_for"] = state["new_email"]
        return data

    def client_facts(self) -> list[tuple[str, str]]:
        """Step 2: what staff check against what the client tells them."""
        customer = self.customer
        owner = self.owner
        facts = [
            ("Client ID", customer.client_id),
            ("Name", customer.display_name),
            ("Status", customer.get_status_display()),
            ("Country", display_value(customer, "country")),
            ("Owner", owner.full_name if owner else ""),
            ("Current login email", owner.user.email if owner and owner.user else ""),
            ("Phone", display_value(customer, "phone") or display_value(customer, "mobile")),
        ]
        if customer.is_business:
            facts.append(("Registration number", display_value(customer, "registration_number")))
            facts.append(("TIN", display_value(customer, "tin")))
        else:
            spec = policy.field("id_number")
            number = masked_for_customer(spec, display_value(customer, "id_number"))
            kind = display_value(customer, "id_type")
            facts.append(("Identity document", f"{kind} {number}".strip() if number else ""))
            facts.append(("TIN", display_value(customer, "tin")))
        return facts

    def review(self, state: dict[str, Any]) -> dict[str, Any]:
        method = state.get("verification_method", "")
        authorised = staff_members().filter(pk=state.get("authorised_by")).first()
        return {
            "method": dict(VerificationMethod.choices).get(method, method),
            "evidence": state.get("verification_reference", ""),
            "old_email": self.owner.user.email if self.owner and self.owner.user else "",
            "new_email": state.get("new_email", ""),
            "warnings": state.get("email_warnings", []),
            "reason": state.get("reason", ""),
            "authorised_by": staff_label(authorised) if authorised is not None else "",
        }

    # --- state in the session ---

    def state(self) -> dict[str, Any] | None:
        wizards = self.request.session.get(SESSION_KEY) or {}
        state = wizards.get(str(self.customer.number))
        if not isinstance(state, dict):
            return None
        if time.time() - float(state.get("started", 0)) > STATE_MAX_AGE:
            self.clear_state()
            return None
        return state

    def save_state(self, state: dict[str, Any]) -> None:
        wizards = dict(self.request.session.get(SESSION_KEY) or {})
        wizards[str(self.customer.number)] = state
        self.request.session[SESSION_KEY] = wizards

    def clear_state(self) -> None:
        wizards = dict(self.request.session.get(SESSION_KEY) or {})
        if wizards.pop(str(self.customer.number), None) is not None:
            self.request.session[SESSION_KEY] = wizards

    def start(self) -> HttpResponse:
        """A fresh attempt (from the 360 or a change request's link)."""
        state: dict[str, Any] = {"started": time.time()}
        raw = self.request.GET.get("request")
        if raw is not None:
            request = self.find_request(raw)
            if request.is_open:
                state["request"] = request.number
            else:
                messages.info(
                    self.request,
                    f"Change request {request.reference} is already "
                    f"{request.get_status_display().lower()}; this change will not close it.",
                )
        self.save_state(state)
        return self.redirect(1)

    def expired(self) -> HttpResponse:
        messages.warning(
            self.request,
            "The login email change was not started, or more than an hour passed since it "
            "was. Start again by verifying the client's identity.",
        )
        self.save_state({"started": time.time()})
        return self.redirect(1)

    def save_and_go(self, state: dict[str, Any], step: int) -> HttpResponse:
        self.save_state(state)
        return self.redirect(step)

    @staticmethod
    def first_incomplete(state: dict[str, Any]) -> int:
        """The furthest step the staff member may open: every step before it is done."""
        if not (state.get("verification_method") and state.get("verification_reference")):
            return 1
        if not state.get("confirmed"):
            return 2
        if not state.get("new_email"):
            return 3
        if not (state.get("reason") and state.get("authorised_by")):
            return 4
        return LAST_STEP

    # --- lookups and URLs ---

    def load_owner(self) -> Contact | None:
        return (
            Contact.objects.filter(customer=self.customer, role=Role.OWNER)
            .select_related("user")
            .first()
        )

    def blocked_reason(self) -> str:
        if self.owner is None:
            return (
                "This customer has no owner contact, so there is no login email to change. "
                "Add the owner on the Contacts tab first."
            )
        if self.owner.user is None:
            return (
                "The owner has no sign-in yet, so there is no login email to change. Edit the "
                "owner contact's email on the Contacts tab and send the invitation again instead."
            )
        return ""

    def find_request(self, raw: str) -> ChangeRequest:
        number = parse_reference(raw[:20])
        found = (
            ChangeRequest.objects.filter(
                customer=self.customer, number=number, kind=Kind.PRIMARY_EMAIL
            ).first()
            if number
            else None
        )
        if found is None:
            raise Http404("No such primary-email change request for this customer.")
        return found

    def linked_request(self, state: dict[str, Any]) -> ChangeRequest | None:
        """The request the change will close: the one the wizard was opened from, else the
        customer's open primary-email request, if any."""
        if "linked" in self._cache:
            return self._cache["linked"]
        request: ChangeRequest | None = None
        number = state.get("request")
        if number:
            request = ChangeRequest.objects.filter(
                customer=self.customer, number=number, kind=Kind.PRIMARY_EMAIL
            ).first()
            if request is not None and not request.is_open:
                request = None
        if request is None:
            request = request_queries.open_requests(self.customer).get(Kind.PRIMARY_EMAIL)
        self._cache["linked"] = request
        return request

    @staticmethod
    def parse_step(raw: str) -> int:
        text = str(raw)[:3]
        return int(text) if text.isdecimal() and 1 <= int(text) <= LAST_STEP else 1

    def step_url(self, step: int) -> str:
        base = reverse("staff:customer-email-change", args=[self.customer.number])
        return f"{base}?step={step}"

    def redirect(self, step: int) -> HttpResponseRedirect:
        return HttpResponseRedirect(self.step_url(step))

    def back_to_360(self) -> str:
        return profile_url(self.customer.number, "contact")
