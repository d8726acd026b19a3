"""Staff console routes: lists (included by staff/urls.py, in the staff namespace)."""

from django.urls import URLPattern, path

from . import customer_list

urlpatterns: list[URLPattern] = [
    path("customers/", customer_list.CustomerListView.as_view(), name="customers"),
    path(
        "customers/export.csv",
        customer_list.CustomerExportView.as_view(),
        name="customers-export",
    ),
]
