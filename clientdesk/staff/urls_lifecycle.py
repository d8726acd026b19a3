"""Routes of the 360's Status & ownership tab (included by staff/urls.py)."""

from django.urls import URLPattern, path

from .customer360 import PlaceholderView


class _Placeholder(PlaceholderView):  # replaced by staff/lifecycle.py
    frame_tab = "account"
    icon = "shield-check"
    title = "Status & ownership"
    text = "Being built."


urlpatterns: list[URLPattern] = [
    path("customers/<str:number>/account/", _Placeholder.as_view(), name="customer-lifecycle"),
]
