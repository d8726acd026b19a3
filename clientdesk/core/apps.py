from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class CoreConfig(AppConfig):
    default = True
    name = "clientdesk.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from . import icons

        icons.install()


class SuperuserAdminConfig(admin_apps.AdminConfig):
    """Django admin limited to superusers: a raw data tool, not the staff console."""

    default = False
    default_site = "clientdesk.core.admin_site.SuperuserAdminSite"
