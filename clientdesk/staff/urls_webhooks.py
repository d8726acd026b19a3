"""Routes of the webhook console and the 360's Integrations tab (included by staff/urls.py)."""

from django.urls import URLPattern, path

from . import webhooks

urlpatterns: list[URLPattern] = [
    path("webhooks/", webhooks.EndpointListView.as_view(), name="webhooks"),
    path("webhooks/new/", webhooks.EndpointCreateView.as_view(), name="webhook-create"),
    path(
        "webhooks/<int:endpoint_id>/", webhooks.EndpointDetailView.as_view(), name="webhook-detail"
    ),
    path(
        "webhooks/<int:endpoint_id>/edit/",
        webhooks.EndpointEditView.as_view(),
        name="webhook-edit",
    ),
    path(
        "webhooks/<int:endpoint_id>/rotate/",
        webhooks.EndpointRotateView.as_view(),
        name="webhook-rotate",
    ),
    path(
        "webhooks/<int:endpoint_id>/toggle/",
        webhooks.EndpointToggleView.as_view(),
        name="webhook-toggle",
    ),
    path(
        "webhooks/<int:endpoint_id>/replay/",
        webhooks.EndpointReplayView.as_view(),
        name="webhook-replay",
    ),
    path(
        "webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>/",
        webhooks.DeliveryView.as_view(),
        name="webhook-delivery",
    ),
    path(
        "customers/<str:number>/integrations/",
        webhooks.IntegrationsView.as_view(),
        name="customer-integrations",
    ),
    path(
        "customers/<str:number>/integrations/<int:delivery_id>/replay/",
        webhooks.IntegrationReplayView.as_view(),
        name="customer-integrations-replay",
    ),
]
