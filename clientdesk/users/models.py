"""Login identities. A user is a person who signs in: customer contacts with portal access,
and the provider's staff. The email is the login ID."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone

from .emails import email_key, normalize_email


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email_key=email_key(username or ""))

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A login identity. ``email`` is the login ID; ``email_key`` makes it unique whatever
    the case or Unicode form it is typed in (a database constraint, not only a form check).
    ``is_staff`` marks the provider's staff; staff roles are the groups support, billing and
    manager."""

    email = models.EmailField("email address", max_length=254)
    email_key = models.CharField(max_length=254, editable=False)
    full_name = models.CharField("full name", max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(
        "staff", default=False, help_text="Works for the provider and may use the staff console."
    )
    date_joined = models.DateTimeField(default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(fields=["email_key"], name="users_user_unique_email_key"),
            models.CheckConstraint(
                condition=~models.Q(email_key=""), name="users_user_email_key_not_empty"
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The comparison key is part of the row's identity, so it is derived here, where no
        # write path (admin, allauth, actions, fixtures) can forget it.
        self.email = normalize_email(self.email)
        self.email_key = email_key(self.email)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "email" in update_fields:
            kwargs["update_fields"] = {*update_fields, "email_key"}
        super().save(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        self.email = normalize_email(self.email)

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        """Sessions are bound to the password *and* the login email: changing either signs
        the user out everywhere (Django checks this hash on every request)."""
        from django.utils.crypto import salted_hmac

        return salted_hmac(
            "clientdesk.users.User.session_auth_hash",
            f"{self.password}|{self.email_key}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    @property
    def display_name(self) -> str:
        return self.full_name or self.email.split("@")[0]

    @property
    def initials(self) -> str:
        parts = (self.full_name or self.email).replace("@", " ").split()
        return "".join(part[0] for part in parts[:2]).upper()

    def staff_roles(self) -> list[str]:
        if not self.is_staff:
            return []
        return sorted(group.name for group in self.groups.all())
