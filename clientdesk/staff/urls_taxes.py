"""Staff console routes: taxes (included by staff/urls.py, in the staff namespace)."""

from django.urls import URLPattern, path

from . import taxes

urlpatterns: list[URLPattern] = [
    path("taxes/", taxes.TaxRulesView.as_view(), name="tax-rules"),
    path("taxes/new/", taxes.TaxRuleAddView.as_view(), name="tax-rule-add"),
    path("taxes/<int:rule_id>/edit/", taxes.TaxRuleChangeView.as_view(), name="tax-rule-edit"),
    path("taxes/<int:rule_id>/end/", taxes.TaxRuleEndView.as_view(), name="tax-rule-end"),
    path(
        "customers/<str:number>/tax-exemption/",
        taxes.CustomerTaxExemptionView.as_view(),
        name="customer-tax-exemption",
    ),
]
