from django.contrib.admin import AdminSite
from django.http import HttpRequest


class SuperuserAdminSite(AdminSite):
    """Only superusers may use /admin/; staff work in the staff console."""

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_superuser)
