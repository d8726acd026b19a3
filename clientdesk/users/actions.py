"""State changes of login identities."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from allauth.usersessions.models import UserSession
from django.db import transaction

from clientdesk.audit.record import record
from clientdesk.core.actor import Actor
from clientdesk.core.errors import DomainError, ErrorCode


def end_session(user: Any, *, session_id: int, current_session_key: str, actor: Actor) -> None:
    """End one of the user's own sessions (not the one making the request)."""
    with transaction.atomic():
        session = UserSession.objects.filter(user=user, pk=session_id).first()
        if session is None:
            raise DomainError(ErrorCode.NOT_FOUND, "That session has already ended.")
        if session.session_key == current_session_key:
            raise DomainError(
                ErrorCode.INVALID, "This is the session you are using; sign out instead."
            )
        record(
            "user.session_ended",
            actor=actor,
            changes={"session": [f"{session.ip} {session.user_agent[:80]}", None]},
        )
        session.end()


def end_other_sessions(user: Any, *, current_session_key: str, actor: Actor) -> int:
    """End every session of the user except the current one; returns how many ended."""
    with transaction.atomic():
        sessions = [
            s
            for s in UserSession.objects.purge_and_list(user)
            if s.session_key != current_session_key
        ]
        for session in sessions:
            session.end()
        if sessions:
            record(
                "user.other_sessions_ended", actor=actor, changes={"sessions": [len(sessions), 0]}
            )
    return len(sessions)


def create_user(
    *,
    email: str,
    full_name: str,
    password: str | None,
    staff_roles: list[str] | None = None,
    is_superuser: bool = False,
    actor: Actor,
) -> Any:
    """Create a login. With ``staff_roles`` (support, billing, manager) it is a staff user."""
    from django.contrib.auth.models import Group

    from .models import User

    with transaction.atomic():
        user = User.objects.create_user(
            email,
            password,
            full_name=full_name,
            is_staff=bool(staff_roles) or is_superuser,
            is_superuser=is_superuser,
        )
        # allauth keeps its own copy of the login email; it is written here, in the same
        # transaction, as verified: staff vouch for the address (invitations prove theirs).
        # An unverified copy would block two-factor enrolment.
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        if staff_roles:
            user.groups.set(Group.objects.filter(name__in=staff_roles))
        record(
            "user.created",
            actor=actor,
            target=user,
            changes={"email": [None, user.email], "staff_roles": [None, staff_roles or []]},
        )
    return user


def end_all_sessions(user: Any, *, actor: Actor, reason: str) -> int:
    """End every session of ``user`` (their login changed under them); returns how many."""
    sessions = list(UserSession.objects.purge_and_list(user))
    for session in sessions:
        session.end()
    if sessions:
        record(
            "user.sessions_ended",
            actor=actor,
            target=user,
            changes={"sessions": [len(sessions), 0]},
            reason=reason,
        )
    return len(sessions)
