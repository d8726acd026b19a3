"""Routes of urls_login_as (included by staff/urls.py, in the staff namespace): Login As."""

from django.urls import URLPattern, path

from . import login_as

urlpatterns: list[URLPattern] = [
    path(
        "customers/<str:number>/contacts/<int:contact_id>/login-as/",
        login_as.LoginAsStartView.as_view(),
        name="login-as-start",
    ),
]
