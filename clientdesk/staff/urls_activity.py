"""Staff console routes: the activity view across customers (in the staff namespace)."""

from django.urls import URLPattern, path

from . import activity

urlpatterns: list[URLPattern] = [
    path("activity/", activity.StaffActivityView.as_view(), name="activity"),
]
