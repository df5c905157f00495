"""The remote-images document of a mail (pure): finding the HTML part, inline images, the frame."""

from __future__ import annotations

from email.message import EmailMessage

from helpdesk.mailview.document import FRAME_POLICY, frame_document, html_part, with_inline_images


def _mail(html: str | None, *, charset: str = "utf-8") -> bytes:
    mail = EmailMessage()
    mail["From"] = "ann@acme.example"
    mail["Subject"] = "Hi"
    mail.set_content("plain text")
    if html is not None:
        mail.add_alternative(html, subtype="html", charset=charset)
    return mail.as_bytes()


def test_the_html_alternative_is_found() -> None:
    assert html_part(_mail("<p>Grüße</p>")).strip() == "<p>Grüße</p>"


def test_a_plain_text_mail_has_no_html_part() -> None:
    assert html_part(_mail(None)) is None


def test_an_unknown_charset_still_gives_readable_html() -> None:
    raw = (b"From: ann@acme.example\r\nSubject: Hi\r\nContent-Type: text/html; charset=x-no-such-charset\r\n"
           b"\r\n<p>hello</p>\r\n")
    assert "<p>hello</p>" in (html_part(raw) or "")


def test_cid_images_become_data_urls_and_unknown_ones_load_nothing() -> None:
    html = '<img src="cid:Shot@Acme.example" alt="a"><img src="cid:missing@acme.example" alt="b">'
    result = with_inline_images(html, {"shot@acme.example": "data:image/png;base64,AAAA"})
    assert result == '<img src="data:image/png;base64,AAAA" alt="a"><img src="" alt="b">'


def test_the_frame_allows_https_images_and_nothing_that_runs() -> None:
    document = frame_document("<p>hi</p>")
    assert document.startswith("<!doctype html>") and "<p>hi</p>" in document and "<script" not in document
    directives = dict(part.strip().split(" ", 1) for part in FRAME_POLICY.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["img-src"] == "data: https:"
    assert directives["sandbox"] == "allow-popups allow-popups-to-escape-sandbox"  # no allow-scripts, no same-origin
