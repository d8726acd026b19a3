"""Staff console routes: customer360 (included by staff/urls.py, in the staff namespace)."""

from django.urls import URLPattern, path

from . import customer360 as views

urlpatterns: list[URLPattern] = [
    path("customers/<str:number>/", views.Customer360View.as_view(), name="customer"),
    path(
        "customers/<str:number>/profile/<str:section>/edit/",
        views.SectionEditView.as_view(),
        name="customer-section-edit",
    ),
    path(
        "customers/<str:number>/activity/", views.ActivityView.as_view(), name="customer-activity"
    ),
    path(
        "customers/<str:number>/change-requests/",
        views.ChangeRequestsView.as_view(),
        name="customer-change-requests",
    ),
    path("customers/<str:number>/reveal/", views.RevealView.as_view(), name="customer-reveal"),
]
