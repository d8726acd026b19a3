"""Portal routes of the account lifecycle (included by portal/urls.py, in the portal
namespace): the owner's ownership transfer and account closure. Not under ``account/``:
``account/<section>/`` is My Account's section route. The Login As middleware blocks the
names ``portal:ownership-transfer`` and ``portal:close-account``."""

from django.urls import URLPattern, path

from . import lifecycle as views

urlpatterns: list[URLPattern] = [
    path(
        "c/<str:number>/ownership/",
        views.OwnershipTransferView.as_view(),
        name="ownership-transfer",
    ),
    path(
        "c/<str:number>/ownership/transferred/",
        views.OwnershipTransferredView.as_view(),
        name="ownership-transferred",
    ),
    path("c/<str:number>/close/", views.CloseAccountView.as_view(), name="close-account"),
    path("account-closed/", views.AccountClosedView.as_view(), name="account-closed"),
]
