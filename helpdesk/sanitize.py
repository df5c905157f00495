"""HTML from strangers, made safe to show, and readable as plain text.

`sanitize_html` is an allow-list (nh3/ammonia): anything not named here is dropped, so new
browser features cannot slip through. Remote images are blocked by default because in mail
they are mostly tracking pixels; `cid:` and `data:image/` sources stay so the UI can show
inline images from the message itself.

`html_to_text` uses only the stdlib parser: it must never fail on broken markup and stays
linear in the input size.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3

_EXTRA_TAGS = {"font", "tfoot", "caption", "center", "u", "s", "small", "big"}
_TAGS = (set(nh3.ALLOWED_TAGS) | _EXTRA_TAGS) - {"area", "map"}
# Dropped together with their content: code, styling noise and head-only text.
_CONTENT_DROPPED_TAGS = {"script", "style", "title", "noscript", "template", "xml", "head"}

_PRESENTATION_ATTRIBUTES = {"align", "valign", "width", "height", "bgcolor", "color", "dir", "lang", "title"}
_ATTRIBUTES: dict[str, set[str]] = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
_ATTRIBUTES["*"] = _PRESENTATION_ATTRIBUTES | {"style"}
_ATTRIBUTES["font"] = {"face", "size", "color"}
_ATTRIBUTES["img"] = _ATTRIBUTES.get("img", set()) | {"border"}
_ATTRIBUTES["table"] = _ATTRIBUTES.get("table", set()) | {"border", "cellpadding", "cellspacing"}
_ATTRIBUTES["td"] = _ATTRIBUTES.get("td", set()) | {"nowrap"}

# Layout and typography only: nothing that can load a resource or change positioning
# outside the message pane.
_STYLE_PROPERTIES = {
    "background-color",
    "border",
    "border-bottom",
    "border-collapse",
    "border-color",
    "border-left",
    "border-radius",
    "border-right",
    "border-spacing",
    "border-style",
    "border-top",
    "border-width",
    "color",
    "direction",
    "display",
    "font",
    "font-family",
    "font-size",
    "font-style",
    "font-variant",
    "font-weight",
    "height",
    "letter-spacing",
    "line-height",
    "list-style-type",
    "margin",
    "margin-bottom",
    "margin-left",
    "margin-right",
    "margin-top",
    "max-width",
    "min-width",
    "padding",
    "padding-bottom",
    "padding-left",
    "padding-right",
    "padding-top",
    "table-layout",
    "text-align",
    "text-decoration",
    "text-indent",
    "text-transform",
    "vertical-align",
    "white-space",
    "width",
    "word-break",
    "word-spacing",
    "word-wrap",
}
# Old-browser script hooks and resource loads that may hide inside an allowed property.
_DANGEROUS_STYLE = re.compile(r"url\s*\(|expression|javascript|vbscript|behavior|binding|@import|\\", re.I)
_URL_SCHEMES = set(nh3.ALLOWED_URL_SCHEMES) | {"cid", "data"}
_REMOTE_SRC = re.compile(r"^\s*(https?:)?//", re.I)


def _attribute_filter(allow_remote_images: bool):
    def keep(tag: str, attribute: str, value: str) -> str | None:
        lowered = value.strip().lower()
        if attribute == "src":
            if lowered.startswith(("cid:", "data:image/")):
                return value
            if _REMOTE_SRC.match(lowered):
                # Even when allowed, only https: plain http would leak to the whole network path.
                return value if allow_remote_images and lowered.startswith("https://") else None
            return None
        if attribute == "href" and lowered.startswith("data:"):
            return None
        if attribute == "style" and _DANGEROUS_STYLE.search(value):
            return None
        return value

    return keep


def _cleaner(allow_remote_images: bool) -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=_TAGS,
        clean_content_tags=_CONTENT_DROPPED_TAGS,
        attributes=_ATTRIBUTES,
        attribute_filter=_attribute_filter(allow_remote_images),
        url_schemes=_URL_SCHEMES,
        # A relative URL in a mail would point at the helpdesk itself.
        url_relative="deny",
        filter_style_properties=_STYLE_PROPERTIES,
        link_rel="noopener noreferrer",
    )


_CLEANERS = {False: _cleaner(False), True: _cleaner(True)}


def sanitize_html(html: str, *, allow_remote_images: bool = False) -> str:
    """Return `html` with only safe markup left; remote images dropped unless allowed (https only)."""
    if not html:
        return ""
    return _CLEANERS[bool(allow_remote_images)].clean(html)


_BLOCK_TAGS = {
    "address",
    "article",
    "aside",
    "blockquote",
    "center",
    "dd",
    "details",
    "dialog",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "tbody",
    "tfoot",
    "thead",
    "tr",
    "ul",
}
# Blocks that browsers set apart with vertical space: rendered with a blank line around them.
_SPACED_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "blockquote", "pre", "hr", "dl"}
_SKIPPED_TAGS = {"script", "style", "head", "title", "noscript", "template", "xml"}
_MAX_QUOTE_PREFIX = 8
_SPACES = re.compile(r"[ \t\r\n\f\v\u200b]+")


class _TextExtractor(HTMLParser):
    """Collects text in one pass; quoted (blockquote) lines get a '> ' prefix per level."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.current_has_text = False  # tracked, not recomputed: keeps long lines linear
        self.skip_depth = 0
        self.pre_depth = 0
        self.quote_depth = 0
        self.blank_pending = False
        self.last_line_depth = 0

    def _quote_prefix(self) -> str:
        # Capped so that hostile nesting cannot make the output grow quadratically.
        return "> " * min(self.quote_depth, _MAX_QUOTE_PREFIX)

    def _has_content(self) -> bool:
        return self.current_has_text

    def _finish_line(self) -> None:
        text = "".join(self.current)
        text = text.rstrip() if self.pre_depth else text.strip()
        self.current = []
        self.current_has_text = False
        self.lines.append((self._quote_prefix() + text).rstrip())
        self.last_line_depth = self.quote_depth

    def _block_boundary(self, spaced: bool) -> None:
        if self._has_content():
            self._finish_line()
        self.current = []
        self.current_has_text = False
        self.blank_pending = self.blank_pending or spaced

    def _emit(self, text: str) -> None:
        if self.blank_pending and self.lines and self.lines[-1].strip(" >"):
            same_depth = self.last_line_depth == self.quote_depth
            self.lines.append((self._quote_prefix()).rstrip() if same_depth else "")
        self.blank_pending = False
        self.current.append(text)
        self.current_has_text = self.current_has_text or bool(text.strip())

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in _SKIPPED_TAGS:
            self.skip_depth += 1
            return
        if tag == "br":
            self._finish_line()
        elif tag in _BLOCK_TAGS:
            self._block_boundary(tag in _SPACED_TAGS)
        elif tag in ("td", "th") and self._has_content():
            self.current.append(" ")
        if tag == "blockquote":
            self.quote_depth += 1
        elif tag == "pre":
            self.pre_depth += 1
        elif tag == "li":
            self._emit("- ")

    def handle_startendtag(self, tag: str, attrs) -> None:
        if tag == "br":
            self._finish_line()
        elif tag in _BLOCK_TAGS:
            self._block_boundary(tag in _SPACED_TAGS)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in _BLOCK_TAGS:
            self._block_boundary(tag in _SPACED_TAGS)
            if tag == "blockquote":
                self.quote_depth = max(0, self.quote_depth - 1)
            elif tag == "pre":
                self.pre_depth = max(0, self.pre_depth - 1)

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        if self.pre_depth:
            for index, part in enumerate(data.replace("\r\n", "\n").split("\n")):
                if index:
                    self._finish_line()
                self._emit(part)
            return
        text = _SPACES.sub(" ", data)
        if text == " " and not self._has_content():
            return
        self._emit(text)

    def text(self) -> str:
        if self._has_content():
            self._finish_line()
        return "\n".join(self.lines).replace("\xa0", " ").strip("\n")


def html_to_text(html: str) -> str:
    """Readable plain text for `html`: blocks and <br> become line breaks, entities decoded."""
    if not html:
        return ""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    return extractor.text()
