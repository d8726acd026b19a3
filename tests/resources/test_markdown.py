"""Resource bodies render safely: no raw HTML, no script links, no remote images."""

from __future__ import annotations

import re

import pytest

from clientdesk.resources.markdown import BODY_MAX, render


def test_ordinary_markdown_renders() -> None:
    html = render(
        "# Install\n\nRun **setup** with `--quiet`.\n\n- one\n- two\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |"
    )
    assert "<h2>Install</h2>" in html  # the page's h1 is the title
    assert "<strong>setup</strong>" in html
    assert "<code>--quiet</code>" in html
    assert "<li>one</li>" in html
    assert "<td>1</td>" in html


@pytest.mark.parametrize(
    "body",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "<a href='javascript:alert(1)'>x</a>",
        "<iframe src='https://evil.example'></iframe>",
        "<style>body{display:none}</style>",
        "<svg onload=alert(1)>",
    ],
)
def test_raw_html_is_text(body: str) -> None:
    html = render(body)
    assert "<script" not in html
    assert "<img" not in html
    assert "<iframe" not in html
    assert "<style" not in html
    assert "<svg" not in html
    assert "&lt;" in html


@pytest.mark.parametrize(
    "link",
    [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](vbscript:msgbox(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "[x](file:///etc/passwd)",
        "<javascript:alert(1)>",
        '[x](https://ok.example "t" onclick=alert(1))',
    ],
)
def test_dangerous_links_are_not_links(link: str) -> None:
    html = render(link)
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert all(h.startswith(("http://", "https://", "mailto:")) or ":" not in h for h in hrefs)
    assert "onclick" not in html.split(">", 1)[0]
    assert "javascript:" not in "".join(hrefs).lower()


def test_links_get_a_safe_rel() -> None:
    html = render("[docs](https://docs.example/a)")
    assert 'href="https://docs.example/a"' in html
    assert 'rel="noopener noreferrer nofollow"' in html


def test_images_are_never_loaded_but_linked_by_their_alt_text() -> None:
    huge = "![a 40000 × 40000 poster](https://cdn.example/huge.png)"
    html = render(huge + " ![x](javascript:alert(1)) ![y](data:image/png;base64,AAAA)")
    assert "<img" not in html
    assert 'href="https://cdn.example/huge.png"' in html
    assert "Picture: a 40000 × 40000 poster" in html
    assert "javascript:" not in html.replace("![x](javascript:alert(1))", "")


def test_a_huge_body_is_cut_at_the_limit() -> None:
    html = render("a" * (BODY_MAX + 5000))
    assert html.count("a") <= BODY_MAX + 10


def test_unicode_and_rtl_text_survive() -> None:
    html = render("Résumé — 日本語 — مرحبا 🚀")
    assert "Résumé — 日本語 — مرحبا 🚀" in html
