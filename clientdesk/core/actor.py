"""Who is acting: every action takes one ``Actor`` and records it in Activity and events."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.http import HttpRequest


class Source(StrEnum):
    PORTAL = "portal"
    STAFF = "staff"
    API = "api"
    SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    """The user behind a change, the staff member impersonating them (Login As), the
    interface it came through, and where from. ``user`` is None only for system jobs."""

    user: Any | None
    source: Source
    impersonator: Any | None = None
    ip: str | None = None
    request_id: str = ""
    # The API key a program acted with (its visible prefix), for the trail and the events.
    api_key: str = ""

    @classmethod
    def system(cls, *, request_id: str = "") -> Actor:
        return cls(user=None, source=Source.SYSTEM, request_id=request_id)

    @classmethod
    def from_request(cls, request: HttpRequest, *, source: Source | None = None) -> Actor:
        user = request.user if request.user.is_authenticated else None
        if source is None:
            source = Source.STAFF if request.path.startswith("/staff/") else Source.PORTAL
        return cls(
            user=user,
            source=source,
            impersonator=getattr(request, "impersonator", None),
            ip=client_ip(request),
            request_id=getattr(request, "request_id", ""),
        )

    @property
    def interface(self) -> Source:
        """Where the change came in, for Activity and events: ``api`` for any request made
        with an API key (a staff key keeps the staff *authority* in ``source``)."""
        return Source.API if self.api_key else self.source

    def with_source(self, source: Source) -> Actor:
        return Actor(self.user, source, self.impersonator, self.ip, self.request_id, self.api_key)

    @property
    def label(self) -> str:
        """Human wording: "Aisha Rahman", "Sam Tan (staff)", "Sam Tan as Aisha Rahman", "System"."""
        if self.user is None:
            # Not signed in on a public page (an invitation link): not the system's doing.
            return "System" if self.source == Source.SYSTEM else "A visitor (not signed in)"
        name = str(self.user)
        if self.api_key:
            return f"{name} via API key {self.api_key}"
        if self.impersonator is not None:
            return f"{self.impersonator} as {name}"
        if self.source == Source.STAFF:
            return f"{name} (staff)"  # customers read this in their activity trail
        return name


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as allauth sees it: behind ``TRUSTED_PROXY_COUNT`` proxies, the
    right entry of X-Forwarded-For; otherwise REMOTE_ADDR. The same rule as its rate limits."""
    from allauth.account.adapter import get_adapter
    from django.core.exceptions import PermissionDenied

    try:
        return str(get_adapter(request).get_client_ip(request))
    except PermissionDenied:
        return None
