"""Portal routes of API keys (included by portal/urls.py, in the portal namespace): the
customer's keys, the "New key" form, and revoking one. Under ``settings/``, beside the
contacts: ``account/<section>/`` is My Account's section route."""

from django.urls import URLPattern, path

from . import api_keys as views

urlpatterns: list[URLPattern] = [
    path("c/<str:number>/settings/api-keys/", views.ApiKeysView.as_view(), name="api-keys"),
    path(
        "c/<str:number>/settings/api-keys/new/",
        views.ApiKeyCreateView.as_view(),
        name="api-key-create",
    ),
    path(
        "c/<str:number>/settings/api-keys/<int:key_id>/revoke/",
        views.ApiKeyRevokeView.as_view(),
        name="api-key-revoke",
    ),
]
