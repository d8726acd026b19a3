"""The one entry point for staff console pages."""

from __future__ import annotations

from typing import Any, ClassVar

from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.urls import reverse


def staff_roles(user: Any) -> set[str]:
    if user.is_superuser:
        return {"support", "billing", "manager", "superuser"}
    return {group.name for group in user.groups.all()}


class StaffRequiredMixin(LoginRequiredMixin):
    """Staff console access.

    Not signed in: to the sign-in page. Not staff: 404 (customers never learn the console's
    routes). Staff without two-factor authentication: sent to enrol first. Missing one of
    ``required_roles`` (any of them suffices): 403.
    """

    required_roles: ClassVar[set[str]] = set()

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        if not user.is_authenticated:
            return self.handle_no_permission()
        if not (user.is_active and (user.is_staff or user.is_superuser)):
            raise Http404("Not found.")
        if not is_mfa_enabled(user):
            messages.warning(
                request,
                "The staff console needs two-factor authentication. "
                "Set up an authenticator app to continue.",
            )
            return HttpResponseRedirect(reverse("mfa_activate_totp"))
        self.staff_roles = staff_roles(user)
        if self.required_roles and not (self.required_roles & self.staff_roles):
            raise PermissionDenied("Your staff role does not allow this.")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)  # type: ignore[misc]
        context["staff_roles"] = sorted(self.staff_roles)
        return context
