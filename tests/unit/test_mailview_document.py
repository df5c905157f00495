"""The remote-images document of a mail (pure): inline images and the frame."""

from __future__ import annotations

from helpdesk.mailview.document import FRAME_POLICY, frame_document, with_inline_images


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
