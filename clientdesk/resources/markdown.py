"""Resource bodies: Markdown in, safe HTML out.

Two walls, so a gap in one is not a hole: markdown-it renders CommonMark with raw HTML
switched off (``<script>`` comes out as text) and refuses ``javascript:``/``vbscript:``/
``file:``/``data:`` links; nh3 then keeps only an allow-list of tags, attributes and URL
schemes. Images are never loaded (a body could point at a huge or tracking image): they
become a link to the picture, named by its alt text. Headings move down one level, because
the page's own ``<h1>`` is the resource's title.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import nh3
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

BODY_MAX = 100_000  # characters; a long knowledge article is a few thousand

ALLOWED_TAGS = {
    "p", "br", "hr", "h2", "h3", "h4", "h5", "h6", "em", "strong", "del", "code", "pre",
    "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}


def _image_as_link(
    renderer: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    alt = "".join(child.content for child in token.children or []) or "image"
    src = str(token.attrGet("src") or "")
    return f'<a href="{escape(src)}">{escape("Picture: " + alt)}</a>'


def _renderer() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    md.add_render_rule("image", _image_as_link)
    return md


_MD = _renderer()


def _shift_headings(tokens: list[Token]) -> list[Token]:
    for token in tokens:
        if token.type in {"heading_open", "heading_close"}:
            token.tag = f"h{min(int(token.tag[1]) + 1, 6)}"
    return tokens


def render(body: str) -> SafeString:
    """The HTML for ``body`` (Markdown), safe to put in a page."""
    env: dict[str, Any] = {}
    tokens = _shift_headings(_MD.parse(body[:BODY_MAX], env))
    html = _MD.renderer.render(tokens, _MD.options, env)
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(clean)  # noqa: S308 — sanitised by nh3 just above
