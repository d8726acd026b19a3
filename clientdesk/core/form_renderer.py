"""Django's form renderer, with ``<select>`` written in Python.

Django renders every ``<option>`` through ``{% include %}`` of two templates. A country list
(250 options) thus costs ~4 ms of template machinery per select, and the customers list's
filter form alone spent 50 ms in it per request (measured with ``manage.py bench``). The
markup here is the same as Django's ``select.html`` / ``select_option.html`` / ``attrs.html``
produce (values escaped unless already marked safe, as the templates' autoescape does);
widgets with their own option template still go through the templates.
"""

from __future__ import annotations

from typing import Any

from django.forms.renderers import DjangoTemplates
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString, mark_safe

SELECT = "django/forms/widgets/select.html"
OPTION = "django/forms/widgets/select_option.html"


def _attrs(attrs: dict[str, Any]) -> str:
    """Like ``attrs.html``: ``False`` leaves the attribute out, ``True`` writes its name."""
    out = []
    for name, value in attrs.items():
        if value is False:
            continue
        out.append(
            f" {escape(name)}"
            if value is True
            else f' {escape(name)}="{conditional_escape(value)}"'
        )
    return "".join(out)


def render_select(widget: dict[str, Any]) -> SafeString | None:
    """The select's HTML, or None when an option needs its own template."""
    parts = [f'<select name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, options, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{conditional_escape(group_name)}">')
        for option in options:
            if option["template_name"] != OPTION:
                return None
            value, label = conditional_escape(option["value"]), conditional_escape(option["label"])
            parts.append(f'\n  <option value="{value}"{_attrs(option["attrs"])}>{label}</option>')
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return mark_safe("".join(parts))  # noqa: S308 -- every value above is escaped


class FastSelectRenderer(DjangoTemplates):
    def render(self, template_name: str, context: dict[str, Any], request: Any = None) -> str:
        if template_name == SELECT:
            html = render_select(context["widget"])
            if html is not None:
                return html
        return super().render(template_name, context, request=request)
