"""Staff console routes: the login-email change procedure (seed 003), in the staff namespace."""

from django.urls import URLPattern, path

from . import email_change as views

urlpatterns: list[URLPattern] = [
    path(
        "customers/<str:number>/login-email/",
        views.EmailChangeWizardView.as_view(),
        name="customer-email-change",
    ),
]
