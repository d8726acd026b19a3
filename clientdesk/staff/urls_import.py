"""Staff console routes: customer import (included by staff/urls.py, in the staff namespace,
before the customer 360: its customers/<number>/ would otherwise take customers/import/)."""

from django.urls import URLPattern, path

from . import customer_import

urlpatterns: list[URLPattern] = [
    path("customers/import/", customer_import.CustomerImportView.as_view(), name="customer-import"),
    path(
        "customers/import/run/",
        customer_import.CustomerImportRunView.as_view(),
        name="customer-import-run",
    ),
    path(
        "customers/import/result/",
        customer_import.CustomerImportResultView.as_view(),
        name="customer-import-result",
    ),
    path(
        "customers/import/template.csv",
        customer_import.CustomerImportTemplateView.as_view(),
        name="customer-import-template",
    ),
]
