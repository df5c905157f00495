"""The websocket's cross-site check: browsers send Origin; a page from another site must not connect."""

from __future__ import annotations

from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": "80", "https": "443"}


def is_same_origin(origin: str | None, host: str | None) -> bool:
    """Whether the handshake's Origin names the host the request was sent to.

    No Origin at all means no browser (browsers always send it on websocket handshakes),
    so cookies were not sent on someone else's behalf; such a client still has to authenticate.
    """
    if origin is None:
        return True
    if not host:
        return False
    parts = urlsplit(origin.strip())
    if parts.scheme not in _DEFAULT_PORTS or not parts.netloc:
        return False  # includes "null", sent by sandboxed frames and local files
    return _without_default_port(parts.netloc, parts.scheme) == _without_default_port(host.strip(), parts.scheme)


def _without_default_port(netloc: str, scheme: str) -> str:
    netloc = netloc.lower()
    suffix = ":" + _DEFAULT_PORTS[scheme]
    return netloc[: -len(suffix)] if netloc.endswith(suffix) else netloc
