"""Tax rules in the staff console (seed 001: "Country: determines the tax applied … Portal
Settings > Tax") and a customer's tax exemption. Managers only (DESIGN §4: "tax rules");
other staff get 403. The views parse the input and call one ``taxes.actions`` function."""

from __future__ import annotations

import datetime
from typing import Any, ClassVar

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views import View

from clientdesk.core.errors import DomainError
from clientdesk.customers.sections import INVALID_CHOICE, TextField, country_choices
from clientdesk.taxes import actions as tax_actions
from clientdesk.taxes.models import TaxRule
from clientdesk.taxes.rules import (
    applicable_tax,
    exemption_for,
    provider_today,
    rule_status,
    rules_by_country,
    tax_for_country,
)

from .contacts import StaffCustomerMixin
from .mixins import StaffRequiredMixin

MANAGERS: set[str] = set(tax_actions.TAX_MANAGERS)


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


DATE_ERRORS = {"invalid": "Enter a date like 2025-03-01."}


class TaxRuleForm(forms.Form):
    country = forms.ChoiceField(choices=country_choices, error_messages=INVALID_CHOICE)
    name = TextField(
        label="Tax name",
        max_length=tax_actions.NAME_MAX,
        help_text="As invoices show it: SST, GST, VAT.",
    )
    rate = forms.DecimalField(
        label="Rate (%)",
        max_digits=5,
        decimal_places=2,
        min_value=0,
        max_value=100,
        help_text="A percentage, e.g. 8 or 6.5.",
    )
    effective_from = forms.DateField(
        label="Applies from", widget=_date_input(), error_messages=DATE_ERRORS
    )
    effective_to = forms.DateField(
        label="Applies until",
        required=False,
        widget=_date_input(),
        error_messages=DATE_ERRORS,
        help_text="The last day it applies. Leave empty until a new rate is known.",
    )
    reason = TextField(
        label="Reason",
        required=False,
        max_length=tax_actions.REASON_MAX,
        help_text="Optional, e.g. the gazette or announcement.",
    )


class TaxRuleChangeForm(TaxRuleForm):
    reason = TextField(
        label="Reason",
        max_length=tax_actions.REASON_MAX,
        help_text="Why the rule is corrected. It is kept in the activity record.",
    )

    def __init__(self, *args: Any, rule: TaxRule, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["country"]
        self.started = rule.effective_from <= provider_today()
        if self.started:
            # Already applied: only the name and the end date may be corrected.
            del self.fields["rate"]
            del self.fields["effective_from"]


class TaxRuleEndForm(forms.Form):
    effective_to = forms.DateField(
        label="Last day it applies", widget=_date_input(), error_messages=DATE_ERRORS
    )
    reason = TextField(label="Reason", required=False, max_length=tax_actions.REASON_MAX)


class ExemptionForm(forms.Form):
    reference = TextField(
        label="Exemption reference",
        max_length=tax_actions.REFERENCE_MAX,
        help_text="The certificate or letter number, e.g. the customs or tax authority reference.",
    )
    reason = TextField(
        label="Reason",
        max_length=tax_actions.REASON_MAX,
        help_text="Why the customer is exempt. Staff only: the customer sees just “Tax-exempt”.",
    )


class ExemptionRemoveForm(forms.Form):
    reason = TextField(label="Reason", max_length=tax_actions.REASON_MAX)


class ManagersOnly(StaffRequiredMixin):
    required_roles: ClassVar[set[str]] = MANAGERS
    request: HttpRequest

    def actor(self) -> Any:
        return self.request.actor  # type: ignore[attr-defined]

    def render(self, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
        context.setdefault("staff_roles", sorted(self.staff_roles))
        return TemplateResponse(self.request, template, context, status=status)


class TaxRulesView(ManagersOnly, View):
    """Portal settings › Tax: every country's rules, the one in force first, then the
    scheduled ones and the history."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render(
            "staff/taxes/rules.html", {"countries": rules_by_country(), "today": provider_today()}
        )


class TaxRuleAddView(ManagersOnly, View):
    """Add a rule. For a country with an open-ended rule this is how a rate changes: the
    new rule ends the old one the day before it starts."""

    template = "staff/taxes/rule_form.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        country = str(request.GET.get("country", ""))[:2].upper()
        initial: dict[str, Any] = {"effective_from": provider_today()}
        if country in dict(country_choices()):
            initial["country"] = country
            current = tax_for_country(country)
            if current is not None:
                initial["name"] = current.name
        return self.page(TaxRuleForm(initial=initial))

    def post(self, request: HttpRequest) -> HttpResponse:
        form = TaxRuleForm(request.POST)
        if not form.is_valid():
            return self.page(form, status=400)
        data = form.cleaned_data
        try:
            rule = tax_actions.add_tax_rule(
                country=data["country"],
                name=data["name"],
                rate=data["rate"],
                effective_from=data["effective_from"],
                effective_to=data["effective_to"],
                reason=data["reason"],
                actor=self.actor(),
            )
        except DomainError as error:
            error.add_to_form(form)
            return self.page(form, status=400)
        messages.success(
            request,
            f"{rule.label} applies in {rule.country_name} from {rule.effective_from:%-d %b %Y}.",
        )
        return HttpResponseRedirect(reverse("staff:tax-rules") + f"#tax-{rule.country_code}")

    def page(self, form: TaxRuleForm, *, status: int = 200) -> HttpResponse:
        country = form["country"].value()
        current = tax_for_country(str(country)) if country else None
        context = {
            "form": form,
            "title": "Add tax rule",
            "current": current,
            "submit": "Add rule",
        }
        return self.render(self.template, context, status)


class RuleMixin(ManagersOnly):
    rule: TaxRule

    def load_rule(self, rule_id: int) -> TaxRule:
        rule = TaxRule.objects.filter(pk=rule_id).first()
        if rule is None:
            raise Http404("No such tax rule.")
        return rule

    def back(self, rule: TaxRule) -> HttpResponse:
        return HttpResponseRedirect(reverse("staff:tax-rules") + f"#tax-{rule.country_code}")


class TaxRuleChangeView(RuleMixin, View):
    """Correct a rule: its name and end date always; rate and start only before it applies."""

    template = "staff/taxes/rule_form.html"

    def get(self, request: HttpRequest, rule_id: int) -> HttpResponse:
        rule = self.load_rule(rule_id)
        form = TaxRuleChangeForm(
            rule=rule,
            initial={
                "name": rule.name,
                "rate": rule.rate,
                "effective_from": rule.effective_from,
                "effective_to": rule.effective_to,
            },
        )
        return self.page(rule, form)

    def post(self, request: HttpRequest, rule_id: int) -> HttpResponse:
        rule = self.load_rule(rule_id)
        form = TaxRuleChangeForm(request.POST, rule=rule)
        if not form.is_valid():
            return self.page(rule, form, status=400)
        values = {k: v for k, v in form.cleaned_data.items() if k != "reason"}
        try:
            tax_actions.change_tax_rule(
                rule, values=values, reason=form.cleaned_data["reason"], actor=self.actor()
            )
        except DomainError as error:
            error.add_to_form(form)
            return self.page(rule, form, status=400)
        messages.success(request, f"The {rule.country_name} rule was corrected.")
        return self.back(rule)

    def page(self, rule: TaxRule, form: TaxRuleChangeForm, *, status: int = 200) -> HttpResponse:
        context = {
            "form": form,
            "rule": rule,
            "title": f"Correct {rule.label} ({rule.country_name})",
            "submit": "Save correction",
            "locked": form.started,
        }
        return self.render(self.template, context, status)


class TaxRuleEndView(RuleMixin, View):
    """End a rule on a given day (no tax after it until another rule starts)."""

    template = "staff/taxes/rule_end.html"

    def get(self, request: HttpRequest, rule_id: int) -> HttpResponse:
        rule = self.load_rule(rule_id)
        default = max(rule.effective_from, provider_today())
        return self.page(rule, TaxRuleEndForm(initial={"effective_to": default}))

    def post(self, request: HttpRequest, rule_id: int) -> HttpResponse:
        rule = self.load_rule(rule_id)
        form = TaxRuleEndForm(request.POST)
        if not form.is_valid():
            return self.page(rule, form, status=400)
        try:
            rule = tax_actions.end_tax_rule(
                rule,
                effective_to=form.cleaned_data["effective_to"],
                reason=form.cleaned_data["reason"],
                actor=self.actor(),
            )
        except DomainError as error:
            error.add_to_form(form)
            return self.page(rule, form, status=400)
        end = rule.effective_to or datetime.date.max
        messages.success(
            request, f"{rule.label} in {rule.country_name} ends after {end:%-d %b %Y}."
        )
        return self.back(rule)

    def page(self, rule: TaxRule, form: TaxRuleEndForm, *, status: int = 200) -> HttpResponse:
        context = {
            "form": form,
            "rule": rule,
            "status": rule_status(rule, provider_today()),
        }
        return self.render(self.template, context, status)


class CustomerTaxExemptionView(StaffCustomerMixin, View):
    """A customer's tax exemption: set or change the reference, or remove it. Managers."""

    required_roles: ClassVar[set[str]] = MANAGERS
    template = "staff/taxes/exemption.html"

    def get(self, request: HttpRequest, number: str) -> HttpResponse:
        exemption = exemption_for(self.customer)
        initial = (
            {"reference": exemption.reference, "reason": exemption.reason} if exemption else {}
        )
        return self.page(ExemptionForm(initial=initial), ExemptionRemoveForm(prefix="remove"))

    def post(self, request: HttpRequest, number: str) -> HttpResponse:
        actor = request.actor  # type: ignore[attr-defined]
        if request.POST.get("action") == "remove":
            remove_form = ExemptionRemoveForm(request.POST, prefix="remove")
            if not remove_form.is_valid():
                return self.page(ExemptionForm(), remove_form, status=400)
            try:
                tax_actions.unexempt_customer(
                    self.customer, reason=remove_form.cleaned_data["reason"], actor=actor
                )
            except DomainError as error:
                error.add_to_form(remove_form)
                return self.page(ExemptionForm(), remove_form, status=400)
            messages.success(request, f"{self.customer.display_name} now pays tax again.")
            return self.done()
        form = ExemptionForm(request.POST)
        if not form.is_valid():
            return self.page(form, ExemptionRemoveForm(prefix="remove"), status=400)
        try:
            tax_actions.exempt_customer(
                self.customer,
                reference=form.cleaned_data["reference"],
                reason=form.cleaned_data["reason"],
                actor=actor,
            )
        except DomainError as error:
            error.add_to_form(form)
            return self.page(form, ExemptionRemoveForm(prefix="remove"), status=400)
        messages.success(request, f"{self.customer.display_name} is tax-exempt.")
        return self.done()

    def done(self) -> HttpResponse:
        return HttpResponseRedirect(
            reverse("staff:customer-tax-exemption", args=[self.customer.number])
        )

    def page(
        self, form: ExemptionForm, remove_form: ExemptionRemoveForm, *, status: int = 200
    ) -> HttpResponse:
        context = {
            "customer": self.customer,
            "form": form,
            "remove_form": remove_form,
            "exemption": exemption_for(self.customer),
            "tax": applicable_tax(self.customer),
            "staff_roles": sorted(self.staff_roles),
        }
        return TemplateResponse(self.request, self.template, context, status=status)
