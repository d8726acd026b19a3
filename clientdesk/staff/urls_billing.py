"""Routes of the 360's Billing tab (included by staff/urls.py)."""

from django.urls import URLPattern, path

from . import billing

urlpatterns: list[URLPattern] = [
    path(
        "customers/<str:number>/billing/",
        billing.BillingTabView.as_view(),
        name="customer-billing",
    ),
    path(
        "customers/<str:number>/billing/statement.csv",
        billing.BillingCSVView.as_view(),
        name="customer-billing-csv",
    ),
    path(
        "customers/<str:number>/billing/entries/",
        billing.EntryView.as_view(),
        name="customer-billing-entry",
    ),
    path(
        "customers/<str:number>/billing/entries/<int:entry_id>/reverse/",
        billing.ReverseView.as_view(),
        name="customer-billing-reverse",
    ),
    path(
        "customers/<str:number>/billing/mode/",
        billing.ModeView.as_view(),
        name="customer-billing-mode",
    ),
]
