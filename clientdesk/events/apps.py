from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "clientdesk.events"
    label = "events"
    verbose_name = "Events"
