"""Routes of the portal's Resources library (included by portal/urls.py)."""

from django.urls import URLPattern, path

from . import resources

urlpatterns: list[URLPattern] = [
    path("c/<str:number>/resources/", resources.ResourcesView.as_view(), name="resources"),
    path(
        "c/<str:number>/resources/<int:resource_id>/",
        resources.ResourceView.as_view(),
        name="resource",
    ),
    path(
        "c/<str:number>/resources/<int:resource_id>/download/",
        resources.ResourceDownloadView.as_view(),
        name="resource-download",
    ),
]
