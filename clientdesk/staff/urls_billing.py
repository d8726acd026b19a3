"""Routes of the 360's Billing tab (included by staff/urls.py)."""

from django.urls import URLPattern, path

from .customer360 import PlaceholderView


class _Placeholder(PlaceholderView):  # replaced by staff/billing.py
    frame_tab = "billing"
    icon = "banknotes"
    title = "Billing"
    text = "Being built."


urlpatterns: list[URLPattern] = [
    path("customers/<str:number>/billing/", _Placeholder.as_view(), name="customer-billing"),
]
