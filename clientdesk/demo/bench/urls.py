"""The site's URLs plus the two floor views (only ever mounted by ``manage.py bench``)."""

from django.urls import URLPattern, URLResolver, include, path

from .floors import bare_view, hello_view

urlpatterns: list[URLPattern | URLResolver] = [
    path("__bench__/hello/", hello_view),
    path("__bench__/replay/<str:key>/", bare_view),
    # By name, not import: the site's URLs are the layer above this one.
    path("", include("config.urls")),
]
