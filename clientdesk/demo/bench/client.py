"""A cookie-keeping client for the real WSGI handler, without the test client's extras
(template capture, signal hooks) that would be measured along with the page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.handlers.wsgi import WSGIHandler
from django.test.client import RequestFactory

HANDLER = WSGIHandler()


class _EnvironFactory(RequestFactory):
    """RequestFactory builds the WSGI environ; we hand it to the handler ourselves."""

    def request(self, **request: Any) -> Any:
        return RequestFactory._base_environ(self, **request)  # type: ignore[attr-defined]


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str:
        lowered = name.lower()
        return next((value for key, value in self.headers if key.lower() == lowered), "")


class BenchClient:
    """One browser or API client: its cookies, and what it sends every time as WSGI environ
    entries (``HTTP_AUTHORIZATION=…``, ``REMOTE_ADDR=…``)."""

    def __init__(self, **environ: str) -> None:
        # Any: its get/post return the environ here, not the WSGIRequest its stubs promise.
        self.factory: Any = _EnvironFactory()
        self.environ = environ

    def set_cookie(self, name: str, value: str) -> None:
        self.factory.cookies[name] = value

    def cookie(self, name: str) -> str:
        morsel = self.factory.cookies.get(name)
        return morsel.value if morsel else ""

    def get(self, path: str, **environ: str) -> Answer:
        return self._send(self.factory.get(path, **{**self.environ, **environ}))

    def post(self, path: str, data: dict[str, Any], **environ: str) -> Answer:
        token = self.cookie("csrftoken")
        form = {"csrfmiddlewaretoken": token, **data} if token else data
        return self._send(self.factory.post(path, form, **{**self.environ, **environ}))

    def send_json(self, method: str, path: str, body: str, **environ: str) -> Answer:
        return self._send(
            self.factory.generic(
                method, path, body, "application/json", **{**self.environ, **environ}
            )
        )

    def _send(self, environ: dict[str, Any]) -> Answer:
        started: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], *_: Any) -> None:
            started["status"], started["headers"] = int(status.split()[0]), headers

        handler: Any = HANDLER
        response = handler(environ, start_response)
        try:
            body = b"".join(response)
        finally:
            close = getattr(response, "close", None)
            if close:
                close()  # request_finished: what the server does after every response
        for name, value in started["headers"]:
            if name.lower() == "set-cookie":
                self.factory.cookies.load(value)
        return Answer(started["status"], started["headers"], body)
