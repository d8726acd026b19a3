"""Routes of urls_login_as (included by portal/urls.py, in the portal namespace): the end of
a Login As session (its start is in the staff console)."""

from django.urls import URLPattern, path

from . import login_as

urlpatterns: list[URLPattern] = [
    path("support/login-as/end/", login_as.LoginAsEndView.as_view(), name="login-as-end"),
]
