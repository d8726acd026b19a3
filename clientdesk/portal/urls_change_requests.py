"""Portal routes: change requests (included by portal/urls.py, in the portal namespace)."""

from django.urls import URLPattern, path

from . import change_requests as views

urlpatterns: list[URLPattern] = [
    path("c/<str:number>/requests/", views.RequestListView.as_view(), name="change-requests"),
    path(
        "c/<str:number>/requests/new/primary-email/",
        views.PrimaryEmailRequestView.as_view(),
        name="primary-email-request",
    ),
    path(
        "c/<str:number>/requests/<int:request_number>/",
        views.RequestDetailView.as_view(),
        name="change-request",
    ),
    path(
        "c/<str:number>/requests/<int:request_number>/reply/",
        views.RequestReplyView.as_view(),
        name="change-request-reply",
    ),
    path(
        "c/<str:number>/requests/<int:request_number>/cancel/",
        views.RequestCancelView.as_view(),
        name="change-request-cancel",
    ),
]
