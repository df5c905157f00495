"""The remote-images view of a mail (pure): the document the frame shows."""

from __future__ import annotations

import html
import re

# What the document may do: show its markup and images (data: and https:), nothing else. The
# sandbox directive makes it an opaque origin with no script even when opened outside the app.
FRAME_POLICY = (
    "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; img-src data: https:; "
    "style-src 'unsafe-inline'; font-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)

_STYLE = """
  html { color-scheme: light; }
  body { margin: 0; padding: 2px; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2933;
         overflow-wrap: anywhere; }
  img { max-width: 100%; height: auto; }
  blockquote { margin: 0.5em 0; padding-left: 0.8em; border-left: 3px solid #cbd2d9; color: #52606d; }
  table { max-width: 100%; }
  pre { white-space: pre-wrap; }
"""
# Sanitised output quotes every attribute with double quotes, so a cid: source reads exactly like this.
_CID_SOURCE = re.compile(r'src="cid:([^"]*)"', re.I)


def bare_content_id(value: str) -> str:
    return html.unescape(value).strip().removeprefix("cid:").strip("<>").lower()


def with_inline_images(safe_html: str, images: dict[str, str]) -> str:
    """Point cid: images at their data: URLs (``images`` maps bare Content-IDs); unknown ones stay broken."""

    def replace(match: re.Match[str]) -> str:
        data_url = images.get(bare_content_id(match.group(1)))
        return f'src="{data_url}"' if data_url else 'src=""'

    return _CID_SOURCE.sub(replace, safe_html)


def frame_document(safe_html: str) -> str:
    """A whole document around already-sanitised HTML; links open in a new tab."""
    return (
        '<!doctype html><html><head><meta charset="utf-8"><base target="_blank">'
        f"<style>{_STYLE}</style></head><body>{safe_html}</body></html>"
    )
