"""Portal routes: the owner's own login email change (included by portal/urls.py, in the
portal namespace). Every route is a 404 unless CLIENTDESK_SELF_SERVICE_EMAIL_CHANGE is on."""

from django.urls import URLPattern, path

from . import login_email as views

urlpatterns: list[URLPattern] = [
    path(
        "c/<str:number>/account/login-email/",
        views.LoginEmailChangeView.as_view(),
        name="login-email-change",
    ),
    path(
        "login-email/confirm/<str:token>/",
        views.LoginEmailConfirmView.as_view(),
        name="login-email-confirm",
    ),
    path(
        "login-email/not-me/<str:token>/",
        views.LoginEmailNotMeView.as_view(),
        name="login-email-not-me",
    ),
]
