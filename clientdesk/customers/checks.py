"""Start-up checks: a deployment's field-policy overrides must name real fields and modes."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register

from .policy import FIELDS_BY_NAME, OVERRIDABLE_MODES, Mode


@register()
def check_field_mode_overrides(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors: list[Error] = []
    for name, mode in getattr(settings, "CLIENTDESK_FIELD_MODES", {}).items():
        spec = FIELDS_BY_NAME.get(name)
        if spec is None:
            errors.append(
                Error(
                    f"CLIENTDESK_FIELD_MODES names an unknown field {name!r}.", id="customers.E001"
                )
            )
        elif mode not in {m.value for m in OVERRIDABLE_MODES}:
            allowed = ", ".join(sorted(m.value for m in OVERRIDABLE_MODES))
            message = f"CLIENTDESK_FIELD_MODES[{name!r}] = {mode!r}; use one of {allowed}."
            errors.append(Error(message, id="customers.E002"))
        elif spec.mode in (Mode.VERIFIED, Mode.READONLY):
            errors.append(
                Error(
                    f"{name!r} is {spec.mode}; its mode cannot be overridden.", id="customers.E003"
                )
            )
    return errors
