"""Routes of the 360's Status & ownership tab (included by staff/urls.py)."""

from django.urls import URLPattern, path

from . import lifecycle as views

urlpatterns: list[URLPattern] = [
    path(
        "customers/<str:number>/account/", views.LifecycleView.as_view(), name="customer-lifecycle"
    ),
    path(
        "customers/<str:number>/account/checklist/",
        views.ChecklistView.as_view(),
        name="customer-lifecycle-checklist",
    ),
    path(
        "customers/<str:number>/account/suspend/",
        views.SuspendView.as_view(),
        name="customer-suspend",
    ),
    path(
        "customers/<str:number>/account/unsuspend/",
        views.UnsuspendView.as_view(),
        name="customer-unsuspend",
    ),
    path("customers/<str:number>/account/close/", views.CloseView.as_view(), name="customer-close"),
    path(
        "customers/<str:number>/account/reopen/", views.ReopenView.as_view(), name="customer-reopen"
    ),
    path(
        "customers/<str:number>/account/transfer/",
        views.TransferView.as_view(),
        name="customer-transfer",
    ),
]
