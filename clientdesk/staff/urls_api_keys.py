"""Routes of the staff console's API keys (included by staff/urls.py, in the staff namespace)."""

from django.urls import URLPattern, path

from . import api_keys

urlpatterns: list[URLPattern] = [
    path("api-keys/", api_keys.ApiKeysView.as_view(), name="api-keys"),
    path("api-keys/new/", api_keys.ApiKeyCreateView.as_view(), name="api-key-create"),
    path(
        "api-keys/<int:key_id>/revoke/",
        api_keys.ApiKeyRevokeView.as_view(),
        name="api-key-revoke",
    ),
]
