"""Staff console routes: maillog (included by staff/urls.py, in the staff namespace)."""

from django.urls import URLPattern, path

from . import maillog

urlpatterns: list[URLPattern] = [
    path("mail/", maillog.MailLogView.as_view(), name="mail-log"),
    path("mail/<int:pk>/", maillog.MailLogEntryView.as_view(), name="mail-log-entry"),
]
