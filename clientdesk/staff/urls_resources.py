"""Staff console routes: software levels and the resources library (included by
staff/urls.py, in the staff namespace)."""

from django.urls import URLPattern, path

from . import resources as views

urlpatterns: list[URLPattern] = [
    path("software-levels/", views.SoftwareLevelsView.as_view(), name="software-levels"),
    path(
        "software-levels/<int:level_id>/edit/",
        views.SoftwareLevelEditView.as_view(),
        name="software-level-edit",
    ),
    path(
        "software-levels/<int:level_id>/move/",
        views.SoftwareLevelMoveView.as_view(),
        name="software-level-move",
    ),
    path("resources/", views.ResourcesView.as_view(), name="resources"),
    path("resources/new/", views.ResourceAddView.as_view(), name="resource-add"),
    path("resources/preview/", views.ResourcesPreviewView.as_view(), name="resources-preview"),
    path("resources/downloads/", views.ResourceDownloadsView.as_view(), name="resource-downloads"),
    path("resources/<int:resource_id>/", views.ResourceDetailView.as_view(), name="resource"),
    path(
        "resources/<int:resource_id>/edit/",
        views.ResourceEditView.as_view(),
        name="resource-edit",
    ),
    path(
        "resources/<int:resource_id>/publish/",
        views.ResourcePublishView.as_view(),
        name="resource-publish",
    ),
    path(
        "resources/<int:resource_id>/withdraw/",
        views.ResourceWithdrawView.as_view(),
        name="resource-withdraw",
    ),
    path(
        "resources/<int:resource_id>/delete/",
        views.ResourceDeleteView.as_view(),
        name="resource-delete",
    ),
    path(
        "resources/<int:resource_id>/file/",
        views.ResourceFileView.as_view(),
        name="resource-file",
    ),
]
