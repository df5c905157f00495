"""sanitize_html keeps mail readable and inert; html_to_text gives readable plain text."""

from __future__ import annotations

import re

import pytest

from helpdesk.sanitize import html_to_text, sanitize_html


def _attributes(html: str) -> str:
    """Everything inside tags, lower-cased: where scripts would have to hide."""
    return " ".join(re.findall(r"<[^>]*>", html)).lower()


@pytest.mark.parametrize(
    "attack",
    [
        "<img src=x onerror=alert(1)>",
        '<a href="javascript:alert(1)">x</a>',
        '<a href="JaVaScRiPt:alert(1)">x</a>',
        '<a href="java&#x09;script:alert(1)">x</a>',
        '<a href=" javascript:alert(1)">x</a>',
        "<svg onload=alert(1)><circle /></svg>",
        "<body onload=alert(1)>hi</body>",
        "<div onclick='alert(1)' onmouseover=alert(1)>hi</div>",
        '<iframe src="https://evil.example/"></iframe>',
        '<form action="https://evil.example/"><input name=a><button>go</button></form>',
        '<object data="evil.swf"></object><embed src="evil.swf">',
        '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
        '<a href="vbscript:msgbox(1)">x</a>',
        '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
        '<link rel="stylesheet" href="https://evil.example/x.css">',
        '<base href="https://evil.example/">',
    ],
)
def test_script_vectors_are_neutralised(attack: str) -> None:
    cleaned = _attributes(sanitize_html(attack))
    for marker in (
        "javascript",
        "vbscript",
        "onerror",
        "onload",
        "onclick",
        "onmouseover",
        "<iframe",
        "<form",
        "<input",
        "<object",
        "<embed",
        "<svg",
        "<meta",
        "<link",
        "<base",
        "evil",
    ):
        assert marker not in cleaned, (attack, cleaned)


def test_script_and_style_elements_are_removed_with_their_content() -> None:
    cleaned = sanitize_html("<p>keep</p><script>alert('x')</script><style>p { color: red }</style>")
    assert cleaned == "<p>keep</p>"


def test_data_url_links_are_removed_but_data_images_stay() -> None:
    cleaned = sanitize_html(
        '<a href="data:text/html;base64,PHNjcmlwdD4=">x</a><img src="data:image/png;base64,iVBORw0KGgo=">'
    )
    assert "data:text/html" not in cleaned
    assert 'src="data:image/png;base64,iVBORw0KGgo="' in cleaned


def test_style_that_can_load_or_run_code_is_dropped_and_plain_style_kept() -> None:
    cleaned = sanitize_html(
        '<p style="color: red; background: url(https://tracker.example/p.gif)">a</p>'
        '<p style="width: expression(alert(1))">b</p>'
        '<p style="color: blue; position: fixed">c</p>'
    )
    assert "url(" not in cleaned and "expression" not in cleaned and "tracker" not in cleaned
    assert 'style="color:blue"' in cleaned.replace(" ", "")
    assert "position" not in cleaned


def test_remote_images_are_blocked_by_default() -> None:
    html = '<img src="https://tracker.example/pixel.gif" alt="logo"><img src="//tracker.example/p.gif">'
    cleaned = sanitize_html(html)
    assert "tracker" not in cleaned
    assert 'alt="logo"' in cleaned


def test_remote_images_can_be_allowed() -> None:
    cleaned = sanitize_html('<img src="https://cdn.example/logo.png">', allow_remote_images=True)
    assert 'src="https://cdn.example/logo.png"' in cleaned


def test_allowed_remote_images_are_https_only() -> None:
    cleaned = sanitize_html('<img src="http://cdn.example/a.png" alt="a"><img src="https://cdn.example/b.png">',
                            allow_remote_images=True)
    assert "http://cdn.example/a.png" not in cleaned
    assert 'src="https://cdn.example/b.png"' in cleaned


def test_cid_images_are_kept_for_the_ui_to_map() -> None:
    cleaned = sanitize_html('<img src="cid:logo@example.com" width="10">')
    assert 'src="cid:logo@example.com"' in cleaned


def test_links_get_noopener_noreferrer() -> None:
    cleaned = sanitize_html('<a href="https://example.com/" rel="opener">site</a>')
    assert 'href="https://example.com/"' in cleaned
    assert 'rel="noopener noreferrer"' in cleaned
    assert 'rel="opener"' not in cleaned


def test_relative_urls_are_dropped_because_they_would_hit_the_helpdesk() -> None:
    cleaned = sanitize_html('<a href="/admin/delete">x</a><img src="/api/me">')
    assert "/admin" not in cleaned and "/api" not in cleaned


def test_ordinary_mail_markup_survives() -> None:
    html = '<table><tr><td align="center"><b>Bold</b> <i>it</i> <font color="red">r</font></td></tr></table>'
    cleaned = sanitize_html(html)
    for fragment in ("<table>", "<b>Bold</b>", "<i>it</i>", 'align="center"', '<font color="red">'):
        assert fragment in cleaned


def test_empty_html_stays_empty() -> None:
    assert sanitize_html("") == ""
    assert html_to_text("") == ""


def test_html_to_text_blocks_breaks_and_entities() -> None:
    text = html_to_text("<div>Hello&nbsp;&amp; <b>world</b></div><p>Second<br>line</p><div>caf&eacute; &#8364;5</div>")
    assert text == "Hello & world\n\nSecond\nline\n\ncafé €5"


def test_html_to_text_drops_scripts_styles_and_head() -> None:
    text = html_to_text(
        "<html><head><title>T</title><style>p {color: red}</style></head>"
        "<body><script>var x = 1;</script><p>Visible</p></body></html>"
    )
    assert text == "Visible"


def test_html_to_text_lists_quotes_and_preformatted_text() -> None:
    text = html_to_text(
        "<ul><li>one</li><li>two</li></ul>"
        "<div>On Mon, Bob wrote:</div><blockquote>old<br>text</blockquote>"
        "<pre>  indented\n  code</pre>"
    )
    assert "- one\n- two" in text
    assert "> old\n> text" in text
    assert "  indented\n  code" in text


def test_html_to_text_survives_broken_markup() -> None:
    text = html_to_text("<div><p>unclosed <b>bold <i>both</div></span><table><td>cell")
    assert "unclosed bold both" in text
    assert "cell" in text


def test_html_to_text_collapses_source_whitespace() -> None:
    assert html_to_text("<p>one\n   two\t\tthree</p>") == "one two three"
