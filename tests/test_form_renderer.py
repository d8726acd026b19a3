"""The Python ``<select>`` writes exactly what Django's templates write, and is used."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe

from clientdesk.core.form_renderer import FastSelectRenderer
from clientdesk.core.icons import render_icon


def markup(html: object) -> str:
    """HTML with the whitespace between tags (which browsers ignore) taken out."""
    return re.sub(r">\s+<", "><", str(html)).strip()


class Sample(forms.Form):
    country = forms.ChoiceField(
        choices=[("", "—"), ("MY", "Malaysia"), ("SG", 'Singapore "SG" & <co>')],
        required=False,
    )
    grouped = forms.ChoiceField(
        choices=[
            (mark_safe("Asia &amp; Pacific"), [("MY", "Malaysia"), ("TH", "Thailand")]),
            ("EU", "Europe"),
        ],
        widget=forms.Select(
            attrs={
                "class": "wide",
                "data-x": 'a"b',
                "data-safe": mark_safe("a&amp;b"),  # already escaped: not again
                "autofocus": True,
                "hidden": False,
                "data-n": 3,
            }
        ),
    )
    many = forms.MultipleChoiceField(choices=[(1, "One"), (2, mark_safe("<b>Two</b>"))])
    radio = forms.ChoiceField(choices=[("a", "A"), ("b", "B")], widget=forms.RadioSelect)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"country": "SG", "grouped": "TH", "many": ["1", "2"], "radio": "b"},
        {"country": "zz", "grouped": "EU"},
    ],
)
def test_the_python_select_matches_djangos_templates(data: dict[str, Any]) -> None:
    for name in Sample.base_fields:
        ours = Sample(data or None, renderer=FastSelectRenderer())[name].as_widget()
        django = Sample(data or None, renderer=DjangoTemplates())[name].as_widget()
        assert markup(ours) == markup(django), name


def test_an_option_with_its_own_template_goes_through_the_templates() -> None:
    class Custom(forms.Select):
        option_template_name = "django/forms/widgets/radio_option.html"

    class WithCustom(forms.Form):
        pick = forms.ChoiceField(choices=[("a", "A")], widget=Custom)

    ours = WithCustom(renderer=FastSelectRenderer())["pick"].as_widget()
    assert markup(ours) == markup(WithCustom(renderer=DjangoTemplates())["pick"].as_widget())
    assert '<input type="select" name="pick"' in str(ours)


def test_icons_are_rendered_once_per_variant() -> None:
    first = render_icon("mini", "user", 20, {"aria_hidden": "true", "class": "a"})
    again = render_icon("mini", "user", 20, {"class": "a", "aria_hidden": "true"})
    other = render_icon("mini", "user", 16, {"class": "b"})
    assert first is again  # the cached string, not a new one
    assert 'class="a"' in first and 'width="20"' in first
    assert 'class="b"' in other and 'width="16"' in other
