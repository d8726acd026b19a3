"""Top-level routes: portal at /, staff console at /staff/, sign-in at /accounts/."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from clientdesk.core import views as core_views
from clientdesk.users import views as user_views

admin.site.site_header = f"{settings.SITE_NAME} data admin"

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    # Public sign-up is closed and login emails change only through the recorded flows:
    # these allauth pages are replaced before allauth's own routes are included.
    path("accounts/signup/", user_views.signup_closed, name="account_signup"),
    path("accounts/email/", user_views.email_managed_elsewhere, name="account_email"),
    # One Security page lists and ends sessions (allauth's list would be a second one).
    path(
        "accounts/sessions/",
        RedirectView.as_view(pattern_name="security"),
        name="usersessions_list",
    ),
    path("accounts/", include("allauth.urls")),
    path("account/security/", user_views.SecurityView.as_view(), name="security"),
    path(
        "account/security/sessions/<int:session_id>/end/",
        user_views.EndSessionView.as_view(),
        name="security-end-session",
    ),
    path(
        "account/security/sessions/end-others/",
        user_views.EndOtherSessionsView.as_view(),
        name="security-end-other-sessions",
    ),
    path("staff/", include("clientdesk.staff.urls")),
    path("", include("clientdesk.api.urls")),
    # Superusers sign in like everyone else (rate limits, two-factor), never through the
    # admin's own password-only login form.
    path(
        "admin/login/",
        RedirectView.as_view(pattern_name="account_login", query_string=True),
        name="admin-login-redirect",
    ),
    path("admin/", admin.site.urls),
    path("", include("clientdesk.portal.urls")),
]
