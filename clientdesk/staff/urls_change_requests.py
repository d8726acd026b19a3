"""Staff console routes: the change-request queue (included by staff/urls.py)."""

from django.urls import URLPattern, path

from . import change_requests as views

urlpatterns: list[URLPattern] = [
    path("requests/", views.QueueView.as_view(), name="change-requests"),
    path("requests/<int:request_number>/", views.DetailView.as_view(), name="change-request"),
    path(
        "requests/<int:request_number>/comment/",
        views.CommentView.as_view(),
        name="change-request-comment",
    ),
    path(
        "requests/<int:request_number>/approve/",
        views.ApproveView.as_view(),
        name="change-request-approve",
    ),
    path(
        "requests/<int:request_number>/reject/",
        views.RejectView.as_view(),
        name="change-request-reject",
    ),
    path(
        "requests/<int:request_number>/cancel/",
        views.CancelView.as_view(),
        name="change-request-cancel",
    ),
]
