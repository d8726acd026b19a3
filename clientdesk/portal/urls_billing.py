"""Routes of the portal's "Billing & credits" page (included by portal/urls.py)."""

from django.urls import URLPattern, path

from . import billing

urlpatterns: list[URLPattern] = [
    path("c/<str:number>/billing/", billing.BillingView.as_view(), name="billing"),
    path(
        "c/<str:number>/billing/statement.csv",
        billing.BillingCSVView.as_view(),
        name="billing-csv",
    ),
]
