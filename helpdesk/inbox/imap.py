"""Blocking IMAP adapter: the only module that imports imapclient.

It speaks bytes and UIDs only; parsing, storage and threading live elsewhere.
Callers run it in a worker thread or process. Every failure surfaces as an
``ImapError`` subclass whose message never contains the password.
"""

from __future__ import annotations

import enum
import ipaddress
import logging
import re
import ssl
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import (
    IMAPClientAbortError,
    IMAPClientError,
    LoginError,
)

logger = logging.getLogger(__name__)

# RFC 2177: servers may drop an IDLE after 30 minutes, so re-issue well before.
IDLE_REISSUE_S = 25 * 60
DEFAULT_BATCH = 100
PROCESSED_FLAG = "$HelpdeskProcessed"

_BODY = b"BODY[]"
_MESSAGE_ID_ITEM = "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"
_MESSAGE_ID_KEY = b"BODY[HEADER.FIELDS (MESSAGE-ID)]"
_CHANGE_RESPONSES = (b"EXISTS", b"RECENT", b"EXPUNGE")
# A login refused with these codes is a server-side problem worth retrying.
_TRANSIENT_LOGIN = re.compile(r"\[(UNAVAILABLE|SERVERBUG|INUSE|LIMIT)\]", re.IGNORECASE)
_UNFOLDED_LINE_BREAK = re.compile(rb"\r?\n(?![ \t])")


class ImapSecurity(enum.StrEnum):
    TLS = "tls"
    STARTTLS = "starttls"
    NONE = "none"


@dataclass(frozen=True)
class ImapEndpoint:
    host: str
    port: int
    security: ImapSecurity
    username: str
    password: str = field(repr=False)
    folder: str = "INBOX"
    timeout_s: float = 30.0

    def __post_init__(self) -> None:
        # Accept the plain strings that settings parsing produces.
        object.__setattr__(self, "security", ImapSecurity(self.security))
        check_endpoint(self)


def is_loopback(host: str) -> bool:
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_endpoint(endpoint: ImapEndpoint) -> None:
    """Raise ValueError when the endpoint is unusable or would leak credentials."""
    if not endpoint.host:
        raise ValueError("IMAP host must not be empty")
    if not 0 < endpoint.port < 65536:
        raise ValueError(f"IMAP port {endpoint.port} is out of range 1-65535")
    if endpoint.timeout_s <= 0:
        raise ValueError("IMAP timeout_s must be positive")
    if endpoint.security is ImapSecurity.NONE and not is_loopback(endpoint.host):
        raise ValueError(
            f"IMAP security 'none' sends the password in clear text and is allowed only "
            f"for loopback hosts (127.0.0.0/8, ::1, localhost), not {endpoint.host!r}; "
            f"use 'tls' or 'starttls'"
        )


@dataclass(frozen=True)
class FolderState:
    uidvalidity: int
    uidnext: int
    exists: int
    idle_supported: bool


class ImapError(Exception):
    """An IMAP operation failed (server said NO/BAD, or protocol trouble)."""


class ImapAuthError(ImapError):
    """Credentials were refused: retrying without a config change will not help."""


class ImapConnectionError(ImapError):
    """Network, timeout or server gone: reconnect with backoff."""


class ImapSession:
    """One connection with one selected folder.

    ``with ImapSession(endpoint) as session:`` opens it (``session.state`` holds
    the ``FolderState``); ``open()``/``close()`` allow reconnecting the same object.
    Fetch, flag and move only see UIDs the session knows, so take them from
    ``uids_after``: mail that arrived since is silently absent until then.
    """

    def __init__(self, endpoint: ImapEndpoint, *, batch_size: int = DEFAULT_BATCH) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.endpoint = endpoint
        self.batch_size = batch_size
        self._client: IMAPClient | None = None
        self._capabilities: frozenset[bytes] = frozenset()
        self._known_folders: set[str] = set()
        self.state: FolderState | None = None

    def __enter__(self) -> ImapSession:
        if self._client is None:
            self.open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- connection -------------------------------------------------------

    def open(self) -> FolderState:
        if self._client is not None:
            raise RuntimeError("IMAP session is already open")
        try:
            self.state = self._connect_and_select()
        except BaseException:
            self.close()
            raise
        ep, state = self.endpoint, self.state
        logger.info(
            "imap opened host=%s folder=%s uidvalidity=%d uidnext=%d exists=%d",
            ep.host,
            ep.folder,
            state.uidvalidity,
            state.uidnext,
            state.exists,
        )
        return state

    def _connect_and_select(self) -> FolderState:
        ep = self.endpoint
        context = ssl.create_default_context()
        with self._errors("connect"):
            self._client = client = IMAPClient(
                ep.host,
                port=ep.port,
                ssl=ep.security is ImapSecurity.TLS,
                ssl_context=context,
                timeout=ep.timeout_s,
            )
        if ep.security is ImapSecurity.STARTTLS:
            with self._errors("STARTTLS"):
                if not client.has_capability("STARTTLS"):
                    # Never fall back to sending the password in clear text.
                    raise ImapError(f"{ep.host}:{ep.port} does not offer STARTTLS; use 'tls'")
                client.starttls(context)
        with self._errors("login"):
            client.login(ep.username, ep.password)
        with self._errors("SELECT"):
            # Read after login: many servers (Dovecot too) add MOVE and friends only then.
            self._capabilities = frozenset(client.capabilities())
            selected = client.select_folder(ep.folder)
            uidnext = selected.get(b"UIDNEXT")
            if uidnext is None:  # optional in some servers' SELECT replies
                uidnext = client.folder_status(ep.folder, [b"UIDNEXT"])[b"UIDNEXT"]
        self._drain_changes()  # the SELECT's own EXISTS is not news
        return FolderState(
            uidvalidity=int(selected[b"UIDVALIDITY"]),
            uidnext=int(uidnext),
            exists=int(selected[b"EXISTS"]),
            idle_supported=self.has_capability("IDLE"),
        )

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()
        except (IMAPClientError, OSError) as exc:
            # The connection is already gone; there is nothing left to tell the server.
            logger.debug("imap logout failed host=%s: %s", self.endpoint.host, exc)
            self._shutdown(client)

    def has_capability(self, name: str) -> bool:
        return name.upper().encode() in self._capabilities

    def noop(self) -> None:
        with self._errors("NOOP"):
            self._require().noop()

    # -- reading ----------------------------------------------------------

    def uids_after(self, last_uid: int) -> list[int]:
        if last_uid < 0:
            raise ValueError("last_uid must be >= 0")
        client = self._require()
        with self._errors("UID SEARCH"):
            # Dovecot (among others) notices new mail only while finishing a
            # command, i.e. after a SEARCH has run on the old view: sync first.
            client.noop()
            self._drain_changes()  # all reflected in the SEARCH below
            found = client.search(["UID", f"{last_uid + 1}:*"])
        # "N:*" always matches the highest UID, even when it is below N.
        return sorted(uid for uid in found if uid > last_uid)

    def backlog(self, last_uid: int) -> int:
        return len(self.uids_after(last_uid))

    def fetch_raw(self, uids: Sequence[int]) -> dict[int, bytes]:
        """Exact message bytes by UID; BODY.PEEK leaves \\Seen alone. Missing UIDs are absent."""
        out: dict[int, bytes] = {}
        for batch in self._batches(uids):
            with self._errors("UID FETCH"):
                response = self._require().fetch(batch, ["BODY.PEEK[]"])
            out.update((uid, bytes(data[_BODY])) for uid, data in response.items() if _BODY in data)
        return out

    def fetch_message_ids(self, uids: Sequence[int]) -> dict[int, str | None]:
        """Message-ID per UID (None when absent), to re-match mail after a UIDVALIDITY change."""
        out: dict[int, str | None] = {}
        for batch in self._batches(uids):
            with self._errors("UID FETCH"):
                response = self._require().fetch(batch, [_MESSAGE_ID_ITEM])
            for uid, data in response.items():
                if _MESSAGE_ID_KEY in data:
                    out[uid] = _header_value(bytes(data[_MESSAGE_ID_KEY]))
        return out

    # -- changing ---------------------------------------------------------

    def flag_processed(self, uids: Sequence[int], flag: str = PROCESSED_FLAG) -> None:
        for batch in self._batches(uids):
            with self._errors("UID STORE"):
                self._require().add_flags(batch, [flag], silent=True)

    def move(self, uids: Sequence[int], folder: str) -> None:
        if folder == self.endpoint.folder:
            raise ValueError(f"cannot move messages into the selected folder {folder!r}")
        if not uids:
            return
        self._ensure_folder(folder)
        client = self._require()
        for batch in self._batches(uids):
            with self._errors("move"):
                if self.has_capability("MOVE"):
                    client.move(batch, folder)
                else:
                    client.copy(batch, folder)
                    client.delete_messages(batch, silent=True)
                    if self.has_capability("UIDPLUS"):
                        client.uid_expunge(batch)
                    else:
                        # A plain EXPUNGE would also purge mail someone else marked deleted.
                        logger.warning(
                            "imap host=%s lacks UIDPLUS; moved copies stay flagged \\Deleted",
                            self.endpoint.host,
                        )
        # Our own expunges are not news for wait_for_changes.
        self._pending().pop("EXPUNGE", None)

    def _ensure_folder(self, folder: str) -> None:
        if folder in self._known_folders:
            return
        client = self._require()
        with self._errors("CREATE"):
            if not client.folder_exists(folder):
                try:
                    client.create_folder(folder)
                except IMAPClientError:
                    # Another worker may have created it in the meantime.
                    if not client.folder_exists(folder):
                        raise
        self._known_folders.add(folder)

    # -- waiting ----------------------------------------------------------

    def wait_for_changes(self, timeout_s: float) -> bool:
        """Block up to timeout_s (capped at IDLE_REISSUE_S); True when the folder changed."""
        if self._drain_changes():
            return True  # reported during an earlier command; IDLE would not repeat it
        timeout_s = max(0.0, min(timeout_s, IDLE_REISSUE_S))
        if not self.has_capability("IDLE"):
            time.sleep(timeout_s)
            self.noop()
            return self._drain_changes()
        client = self._require()
        deadline = time.monotonic() + timeout_s
        with self._errors("IDLE"):
            client.idle()
            try:
                changed = self._idle_until(client, deadline)
            except BaseException:
                self._discard()  # still in IDLE mode: the connection cannot be reused
                raise
            _, responses = client.idle_done()
        drained = self._drain_changes()  # always drain, so nothing counts twice
        return changed or _reports_change(responses) or drained

    def _idle_until(self, client: IMAPClient, deadline: float) -> bool:
        # Loop because keep-alives ("* OK Still here") also end an idle_check.
        while (remaining := deadline - time.monotonic()) > 0:
            responses = client.idle_check(timeout=remaining)
            # idle_check returns nothing at once on EOF; without this we would spin.
            closed = not responses and time.monotonic() < deadline - 0.01
            if closed or any(r[0] == b"BYE" for r in responses):
                ep = self.endpoint
                raise ImapConnectionError(f"IMAP server {ep.host}:{ep.port} closed the connection")
            if _reports_change(responses):
                return True
        return False

    # -- internals --------------------------------------------------------

    def _require(self) -> IMAPClient:
        if self._client is None:
            raise ImapConnectionError(f"IMAP session to {self.endpoint.host} is not connected")
        return self._client

    def _batches(self, uids: Sequence[int]) -> Iterator[list[int]]:
        ordered = sorted(set(uids))
        for start in range(0, len(ordered), self.batch_size):
            yield ordered[start : start + self.batch_size]

    def _pending(self) -> dict[str, Any]:
        # imaplib keeps unsolicited responses (EXISTS arriving during a FETCH, say)
        # here; imapclient offers no public view of them.
        if self._client is None:
            return {}
        pending: dict[str, Any] = self._client._imap.untagged_responses
        return pending

    def _drain_changes(self) -> bool:
        pending = self._pending()
        found = [pending.pop(name, None) for name in ("EXISTS", "RECENT", "EXPUNGE")]
        return any(item is not None for item in found)

    def _discard(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            self._shutdown(client)

    def _shutdown(self, client: IMAPClient) -> None:
        try:
            client.shutdown()
        except OSError as exc:
            logger.debug("imap socket close failed host=%s: %s", self.endpoint.host, exc)

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        ep = self.endpoint
        where = f"{ep.host}:{ep.port}"
        try:
            yield
        except LoginError as exc:
            text = self._redact(exc)
            self._discard()
            # "from None": the cause belongs to the LOGIN command, which carried the password.
            if _TRANSIENT_LOGIN.search(text):
                raise ImapConnectionError(
                    f"IMAP login to {where} refused for now: {text}"
                ) from None
            raise ImapAuthError(
                f"IMAP login to {where} as {ep.username!r} refused: {text}"
            ) from None
        except (IMAPClientAbortError, OSError) as exc:
            # Timeouts, resets and TLS failures: the stream is unusable now.
            self._discard()
            raise ImapConnectionError(
                f"IMAP {action} on {where} failed: {self._describe(exc)}"
            ) from exc
        except IMAPClientError as exc:
            raise ImapError(f"IMAP {action} on {where} failed: {self._describe(exc)}") from exc

    def _describe(self, exc: BaseException) -> str:
        return self._redact(exc) or type(exc).__name__

    def _redact(self, exc: BaseException) -> str:
        text = str(exc)
        if self.endpoint.password:
            text = text.replace(self.endpoint.password, "***")
        return text


def _reports_change(responses: Sequence[tuple[Any, ...]]) -> bool:
    return any(len(r) > 1 and r[1] in _CHANGE_RESPONSES for r in responses)


def _header_value(block: bytes) -> str | None:
    """The unfolded value of the single header the server returned, or None."""
    lines = _UNFOLDED_LINE_BREAK.split(block.strip())
    for line in lines:
        name, sep, value = line.partition(b":")
        if sep and name.strip().lower() == b"message-id":
            text = " ".join(value.decode("utf-8", "replace").split())
            return text or None
    return None
