"""helpdesk.inbox.imap against a real Dovecot (tests/support/dovecot.py)."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from helpdesk.inbox.imap import (
    ImapAuthError,
    ImapConnectionError,
    ImapEndpoint,
    ImapError,
    ImapSecurity,
    ImapSession,
    check_endpoint,
)
from tests.support.dovecot import Dovecot, MailUser, free_port


def mail(n: int, *, message_id: str | None = None) -> bytes:
    header = f"Message-ID: {message_id}\r\n" if message_id else ""
    return (
        f"From: Customer {n} <c{n}@example.com>\r\n"
        f"To: help@example.com\r\n"
        f"Subject: Help {n}\r\n{header}"
        f"Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: 8bit\r\n\r\n"
        f"Bonjour, ça ne marche pas ({n}).\r\n"
    ).encode()


@pytest.fixture
def user(dovecot: Dovecot) -> MailUser:
    return dovecot.new_user()


@pytest.fixture
def session(dovecot: Dovecot, user: MailUser) -> Iterator[ImapSession]:
    with ImapSession(dovecot.endpoint(user.name)) as opened:
        yield opened


@pytest.fixture(scope="module")
def bare_dovecot() -> Iterator[Dovecot]:
    """A server advertising neither IDLE nor MOVE, for the fallback paths."""
    with Dovecot(capabilities=["IMAP4rev1", "LITERAL+", "UIDPLUS"]) as server:
        yield server


def test_open_reports_folder_state(dovecot: Dovecot, user: MailUser) -> None:
    dovecot.append_many(user.name, [mail(1), mail(2)])
    with ImapSession(dovecot.endpoint(user.name)) as session:
        state = session.state
    assert state is not None
    assert state.uidvalidity > 0
    assert (state.uidnext, state.exists, state.idle_supported) == (3, 2, True)


def test_session_can_be_reopened_after_close(dovecot: Dovecot, user: MailUser) -> None:
    session = ImapSession(dovecot.endpoint(user.name))
    first = session.open()
    session.close()
    session.close()  # idempotent
    assert session.open() == first
    with pytest.raises(RuntimeError, match="already open"):
        session.open()
    session.close()


def test_bad_password_is_an_auth_error_without_the_password(
    dovecot: Dovecot, user: MailUser
) -> None:
    endpoint = replace(dovecot.endpoint(user.name), password="wrong-Secret-123")
    with pytest.raises(ImapAuthError) as caught:
        ImapSession(endpoint).open()
    assert "wrong-Secret-123" not in str(caught.value)
    assert "AUTHENTICATIONFAILED" in str(caught.value)
    assert caught.value.__cause__ is None


def test_missing_folder_is_a_plain_imap_error(dovecot: Dovecot, user: MailUser) -> None:
    with pytest.raises(ImapError) as caught:
        ImapSession(dovecot.endpoint(user.name, folder="NoSuchFolder")).open()
    assert type(caught.value) is ImapError


def test_nothing_listening_is_a_connection_error(dovecot: Dovecot, user: MailUser) -> None:
    endpoint = replace(dovecot.endpoint(user.name), port=free_port())
    with pytest.raises(ImapConnectionError, match="connect"):
        ImapSession(endpoint).open()


def test_silent_server_times_out_as_connection_error(dovecot: Dovecot, user: MailUser) -> None:
    with socket.socket() as listener:  # accepts TCP but never greets
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        endpoint = replace(
            dovecot.endpoint(user.name), port=listener.getsockname()[1], timeout_s=0.3
        )
        started = time.monotonic()
        with pytest.raises(ImapConnectionError):
            ImapSession(endpoint).open()
    assert time.monotonic() - started < 3


def test_starttls_is_never_downgraded(dovecot: Dovecot, user: MailUser) -> None:
    # The test server has ssl = no, so it does not offer STARTTLS.
    endpoint = replace(dovecot.endpoint(user.name), security=ImapSecurity.STARTTLS)
    with pytest.raises(ImapError, match="does not offer STARTTLS"):
        ImapSession(endpoint).open()


@pytest.mark.parametrize("host", ["imap.example.com", "10.0.0.5", "::2", "localhost.example.com"])
def test_plaintext_refused_for_non_loopback_hosts(host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        ImapEndpoint(host, 143, ImapSecurity.NONE, "agent", "pw")


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "localhost", "LOCALHOST"])
def test_plaintext_allowed_for_loopback_hosts(host: str) -> None:
    endpoint = ImapEndpoint(host, 143, "none", "agent", "pw")  # type: ignore[arg-type]
    check_endpoint(endpoint)
    assert endpoint.security is ImapSecurity.NONE
    assert "pw" not in repr(endpoint)


def test_uids_after_filters_the_star_edge(
    dovecot: Dovecot, user: MailUser, session: ImapSession
) -> None:
    assert session.uids_after(0) == []
    dovecot.append_many(user.name, [mail(1), mail(2), mail(3)])
    assert session.uids_after(0) == [1, 2, 3]
    assert session.uids_after(1) == [2, 3]
    # "4:*" matches UID 3 on the server; it must not come back.
    assert session.uids_after(3) == []
    assert session.uids_after(50) == []
    assert session.backlog(1) == 2


def test_fetch_raw_returns_exact_bytes_without_setting_seen(
    dovecot: Dovecot, user: MailUser
) -> None:
    raws = [mail(n) for n in range(5)] + [b"Subject: latin-1 \xe9\r\n\r\nbinary \xff\xfe\r\n"]
    uids = dovecot.append_many(user.name, raws)
    with ImapSession(dovecot.endpoint(user.name), batch_size=2) as session:
        fetched = session.fetch_raw([*uids, 999])  # 999 does not exist
    assert fetched == dict(zip(uids, raws, strict=True))
    assert all("\\Seen" not in flags for flags in dovecot.flags(user.name).values())


def test_seen_mail_is_still_listed_and_fetched(
    dovecot: Dovecot, user: MailUser, session: ImapSession
) -> None:
    uid = dovecot.append(user.name, mail(1), flags=["\\Seen"])
    assert session.uids_after(0) == [uid]
    assert session.fetch_raw([uid]) == {uid: mail(1)}


def test_flag_processed(dovecot: Dovecot, user: MailUser, session: ImapSession) -> None:
    uids = dovecot.append_many(user.name, [mail(1), mail(2)])
    assert session.uids_after(0) == uids
    session.flag_processed([uids[0]])
    flags = dovecot.flags(user.name)
    assert flags[uids[0]] == {"$HelpdeskProcessed"}
    assert flags[uids[1]] == set()


def test_move_creates_the_folder(dovecot: Dovecot, user: MailUser, session: ImapSession) -> None:
    uids = dovecot.append_many(user.name, [mail(1), mail(2), mail(3)])
    assert session.uids_after(0) == uids
    session.move(uids[:2], "Processed")
    session.move([uids[2]], "Processed")  # folder now exists (and is cached)
    assert session.uids_after(0) == []
    with ImapSession(dovecot.endpoint(user.name, folder="Processed")) as processed:
        assert processed.fetch_raw(processed.uids_after(0)) == {1: mail(1), 2: mail(2), 3: mail(3)}
    with pytest.raises(ValueError):
        session.move([1], "INBOX")


def test_move_falls_back_to_copy_and_expunge(bare_dovecot: Dovecot) -> None:
    user = bare_dovecot.new_user()
    uids = bare_dovecot.append_many(user.name, [mail(1), mail(2)])
    with ImapSession(bare_dovecot.endpoint(user.name)) as session:
        assert not session.has_capability("MOVE")
        session.move([uids[0]], "Archive")
        assert session.uids_after(0) == [uids[1]]
    assert list(bare_dovecot.flags(user.name, "Archive").values()) == [set()]
    assert bare_dovecot.flags(user.name) == {uids[1]: set()}


def test_wait_for_changes_wakes_on_append_via_idle(
    dovecot: Dovecot, user: MailUser, session: ImapSession
) -> None:
    assert session.state is not None and session.state.idle_supported
    timer = threading.Timer(0.2, dovecot.append, (user.name, mail(1)))
    timer.start()
    started = time.monotonic()
    try:
        assert session.wait_for_changes(2.0) is True
    finally:
        timer.join()
    assert time.monotonic() - started < 2.0
    assert session.uids_after(0) == [1]
    assert session.wait_for_changes(0.3) is False
    session.noop()  # still usable after IDLE


def test_wait_for_changes_reports_mail_seen_during_another_command(
    dovecot: Dovecot, user: MailUser, session: ImapSession
) -> None:
    # The EXISTS arrives with the NOOP's reply, before any IDLE starts.
    dovecot.append(user.name, mail(1))
    session.noop()
    assert session.wait_for_changes(0.3) is True
    assert session.wait_for_changes(0.1) is False


def test_wait_for_changes_polls_without_idle(bare_dovecot: Dovecot) -> None:
    user = bare_dovecot.new_user()
    with ImapSession(bare_dovecot.endpoint(user.name)) as session:
        assert session.state is not None and not session.state.idle_supported
        assert session.wait_for_changes(0.2) is False
        bare_dovecot.append(user.name, mail(1))
        assert session.wait_for_changes(0.2) is True
        assert session.uids_after(0) == [1]


def test_uidvalidity_change_is_visible(dovecot: Dovecot, user: MailUser) -> None:
    dovecot.append(user.name, mail(1))
    with ImapSession(dovecot.endpoint(user.name)) as session:
        assert session.state is not None
        before = session.state.uidvalidity
    dovecot.set_uid_validity(user.name, before + 1000)
    with ImapSession(dovecot.endpoint(user.name)) as session:
        assert session.state is not None
        assert session.state.uidvalidity == before + 1000
        assert session.uids_after(0) == [1]


def test_fetch_message_ids(dovecot: Dovecot, user: MailUser, session: ImapSession) -> None:
    folded = b"Subject: folded\r\nMessage-ID:\r\n <folded.1@example.com>\r\n\r\nbody\r\n"
    uids = dovecot.append_many(
        user.name, [mail(1, message_id="<one@example.com>"), folded, mail(3)]
    )
    assert session.uids_after(0) == uids  # a rescan lists, then fetches
    assert session.fetch_message_ids(uids) == {
        uids[0]: "<one@example.com>",
        uids[1]: "<folded.1@example.com>",
        uids[2]: None,
    }
    assert all("\\Seen" not in flags for flags in dovecot.flags(user.name).values())


def test_server_restart_then_reconnect() -> None:
    with Dovecot() as server:
        user = server.new_user()
        server.append(user.name, mail(1))
        session = ImapSession(server.endpoint(user.name))
        session.open()
        timer = threading.Timer(0.2, server.stop)
        timer.start()
        started = time.monotonic()
        with pytest.raises(ImapConnectionError, match="closed the connection"):
            session.wait_for_changes(5.0)  # must not spin on the dead socket until 5 s
        timer.join()
        assert time.monotonic() - started < 3
        with pytest.raises(ImapConnectionError, match="not connected"):
            session.uids_after(0)  # the dead connection was dropped
        with pytest.raises(ImapConnectionError):
            ImapSession(server.endpoint(user.name)).open()  # server down
        server.start()
        session.close()
        session.open()
        assert session.fetch_raw(session.uids_after(0)) == {1: mail(1)}
        server.restart()
        with pytest.raises(ImapConnectionError):
            session.noop()
        session.close()
        assert session.open().exists == 1
        session.close()


@pytest.fixture(scope="module")
def tls_dovecot() -> Iterator[Dovecot]:
    with Dovecot(tls=True) as server:
        yield server


@pytest.mark.parametrize("security", [ImapSecurity.TLS, ImapSecurity.STARTTLS])
def test_tls_and_starttls_verify_the_certificate(
    tls_dovecot: Dovecot, security: ImapSecurity, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = tls_dovecot.new_user()
    uid = tls_dovecot.append(user.name, mail(1))
    endpoint = tls_dovecot.endpoint(user.name, security=security)
    with pytest.raises(ImapConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        ImapSession(endpoint).open()  # the test CA is not trusted yet
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_dovecot.ca_file))
    with ImapSession(endpoint) as session:
        assert session.uids_after(0) == [uid]
        assert session.has_capability("MOVE")  # post-login list, not the pre-TLS one
        session.move([uid], "Done")
    # Dovecot marks logins that happened inside TLS.
    assert re.search(rf"Login: user=<{user.name}>, .*, TLS,", tls_dovecot.log.read_text())
