"""A test-only URLconf: the real routes plus one deliberately unprotected canary route."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import urlpatterns as real_urlpatterns


def canary(request: HttpRequest) -> HttpResponse:
    return HttpResponse("anyone can read this")


urlpatterns = [path("__canary__/", canary, name="canary"), *real_urlpatterns]
