"""Staff console routes: search (included by staff/urls.py, in the staff namespace)."""

from django.urls import URLPattern, path

from . import views

urlpatterns: list[URLPattern] = [
    path("search/", views.SearchResultsView.as_view(), name="search"),
    path("search/open/", views.SearchOpenView.as_view(), name="search-open"),
]
