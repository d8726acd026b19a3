from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "clientdesk.staff"
    label = "staff"
    verbose_name = "Staff console"
