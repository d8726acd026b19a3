from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "clientdesk.notifications"
    label = "notifications"
    verbose_name = "Notifications"
