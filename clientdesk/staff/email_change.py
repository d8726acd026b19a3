"""The staff email-change procedure (being built; every route answers 404 until then)."""

from django.http import Http404, HttpRequest, HttpResponse
from django.views import View


class _NotYet(View):
    def dispatch(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        raise Http404("Not available yet.")


EmailChangeWizardView = _NotYet
