"""Staff console routes: accounts (included by staff/urls.py, in the staff namespace)."""

from django.urls import URLPattern, path

from . import accounts

urlpatterns: list[URLPattern] = [
    path("customers/new/", accounts.CustomerCreateView.as_view(), name="customer-create"),
    path(
        "customers/new/country-defaults/",
        accounts.CountryDefaultsView.as_view(),
        name="customer-create-defaults",
    ),
]
