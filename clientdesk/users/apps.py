from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "clientdesk.users"
    label = "users"
    verbose_name = "Users"
