"""A private, throw-away Dovecot IMAP server for tests and benchmarks.

Usable without pytest::

    with Dovecot() as server:          # starts it; stops and deletes it on exit
        user = server.new_user()
        server.append(user.name, b"Subject: hi\\r\\n\\r\\nbody\\r\\n")
        endpoint = server.endpoint(user.name)

Needs root (Dovecot refuses to serve mail as uid 0, so homes belong to 65534)
and Debian's dovecot-imapd.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import NamedTuple

from imapclient import IMAPClient

from helpdesk.inbox.imap import ImapEndpoint, ImapSecurity

MAIL_UID = 65534  # nobody/nogroup: any non-root id works, Dovecot refuses uid 0
HOST = "127.0.0.1"
_USER_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}")
_APPENDUID = re.compile(rb"\[APPENDUID \d+ (\d+)\]")
_INSTALL_HINT = (
    "run `make test` as root (it installs Dovecot) or `apt-get install -y dovecot-imapd`"
)


class MailUser(NamedTuple):
    name: str
    password: str


def _find_binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if found is None:
        raise RuntimeError(f"`{name}` not found: {_INSTALL_HINT}")
    return found


def _run(command: list[str], cwd: Path | None = None) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}): {result.stderr}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class Dovecot:
    """One Dovecot instance with its own config, users, maildirs and port.

    ``capabilities`` overrides the advertised IMAP CAPABILITY list (Dovecot's
    ``imap_capability``), e.g. to exercise client fallbacks without IDLE or MOVE.
    ``tls=True`` adds STARTTLS on ``port`` and implicit TLS on ``tls_port``, with a
    certificate for 127.0.0.1 signed by a throw-away CA at ``ca_file`` (trust it
    with ``SSL_CERT_FILE=ca_file``; the adapter uses the default trust store).
    """

    def __init__(self, *, capabilities: Sequence[str] | None = None, tls: bool = False) -> None:
        self._dovecot = _find_binary("dovecot")
        self._doveadm = _find_binary("doveadm")
        if os.geteuid() != 0:
            raise RuntimeError(f"the test Dovecot must run as root: {_INSTALL_HINT}")
        # Not pytest's tmp_path: it is 0700 and Dovecot's unprivileged login
        # processes must reach the sockets under base_dir.
        self.root = Path(tempfile.mkdtemp(prefix="helpdesk-dovecot-"))
        self.root.chmod(0o755)
        self.port = free_port()
        self.tls_port = free_port() if tls else 0
        self.ca_file = self.root / "ca.pem"  # written only when tls=True
        self.config = self.root / "dovecot.conf"
        self.log = self.root / "dovecot.log"
        self._passwd_dir = self.root / "passwd"
        self._users: dict[str, str] = {}
        self._counter = itertools.count(1)
        self._process: subprocess.Popen[bytes] | None = None
        if tls:
            self._make_certificates()
        self._write_config(capabilities, tls)

    def __enter__(self) -> Dovecot:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()

    # -- lifecycle --------------------------------------------------------

    def start(self, timeout_s: float = 10.0) -> None:
        if self.running:
            return
        with open(self.root / "stderr.log", "ab") as stderr:
            self._process = subprocess.Popen(
                [self._dovecot, "-F", "-c", str(self.config)],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                start_new_session=True,  # its own process group, for stop()
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"dovecot exited with {self._process.returncode}:\n{self.logs()}"
                )
            if self._greets():
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(
            f"dovecot did not greet on {HOST}:{self.port} in {timeout_s}s:\n{self.logs()}"
        )

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the server and drop every client connection, like a real restart."""
        process = self._process
        if process is None:
            return
        # The whole group: imap processes outlive a stopped master while their
        # client stays connected, which is not what a restart looks like.
        self._signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        self._signal_group(process.pid, signal.SIGKILL)  # stragglers
        self._process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def logs(self) -> str:
        parts = [
            p.read_text(errors="replace")
            for p in (self.root / "stderr.log", self.log)
            if p.exists()
        ]
        return "\n".join(parts)[-4000:]

    # -- users ------------------------------------------------------------

    def add_user(self, name: str, password: str) -> None:
        if not _USER_NAME.fullmatch(name):
            raise ValueError(f"user name {name!r} must match {_USER_NAME.pattern}")
        if not password or any(c in password for c in ":\n\r"):
            raise ValueError("password must be non-empty without ':' or line breaks")
        home = self._home(name)
        home.mkdir(parents=True, exist_ok=True)
        os.chown(home, MAIL_UID, MAIL_UID)
        self._users[name] = password
        self._write_passwd(name)

    def new_user(self, prefix: str = "user") -> MailUser:
        """A fresh user with a random password, so tests never share a mailbox."""
        user = MailUser(f"{prefix}{next(self._counter)}", secrets.token_hex(8))
        self.add_user(user.name, user.password)
        return user

    def endpoint(
        self,
        user: str,
        folder: str = "INBOX",
        *,
        security: ImapSecurity = ImapSecurity.NONE,
        timeout_s: float = 5.0,
    ) -> ImapEndpoint:
        return ImapEndpoint(
            host=HOST,
            port=self.tls_port if security is ImapSecurity.TLS else self.port,
            security=security,
            username=user,
            password=self._users[user],
            folder=folder,
            timeout_s=timeout_s,
        )

    # -- mail -------------------------------------------------------------

    def client(self, user: str) -> IMAPClient:
        """A logged-in imapclient connection for test setup and inspection."""
        client = IMAPClient(HOST, port=self.port, ssl=False, timeout=5.0)
        client.login(user, self._users[user])
        return client

    def append(
        self, user: str, raw: bytes, folder: str = "INBOX", flags: Iterable[str] = ()
    ) -> int:
        """Deliver one message; returns its UID."""
        return self.append_many(user, [raw], folder, flags)[0]

    def append_many(
        self, user: str, raws: Iterable[bytes], folder: str = "INBOX", flags: Iterable[str] = ()
    ) -> list[int]:
        flag_list = list(flags)
        uids: list[int] = []
        with self.client(user) as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            for raw in raws:
                reply = client.append(folder, raw, flags=flag_list)
                match = _APPENDUID.search(reply)
                if match is None:
                    raise RuntimeError(f"APPEND reply without APPENDUID: {reply!r}")
                uids.append(int(match.group(1)))
        return uids

    def flags(self, user: str, folder: str = "INBOX") -> dict[int, set[str]]:
        """Flags of every message in the folder, read without touching them."""
        with self.client(user) as client:
            client.select_folder(folder, readonly=True)
            uids = client.search("ALL")
            fetched = client.fetch(uids, ["FLAGS"]) if uids else {}
        # \Recent only says which session saw the message first: noise here.
        return {
            uid: {f.decode() for f in data[b"FLAGS"]} - {"\\Recent"}
            for uid, data in fetched.items()
        }

    def set_uid_validity(self, user: str, value: int, folder: str = "INBOX") -> None:
        self._doveadm_run("mailbox", "update", "-u", user, "--uid-validity", str(value), folder)

    # -- internals --------------------------------------------------------

    def _home(self, name: str) -> Path:
        return self.root / "home" / name

    @staticmethod
    def _signal_group(pgid: int, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):  # the whole group is gone already
            os.killpg(pgid, sig)

    def _greets(self) -> bool:
        try:
            with socket.create_connection((HOST, self.port), timeout=1.0) as sock:
                return sock.recv(64).startswith(b"* OK")
        except OSError:
            return False  # not listening yet

    def _doveadm_run(self, *args: str) -> None:
        _run([self._doveadm, "-c", str(self.config), *args])

    def _write_passwd(self, name: str) -> None:
        # One file per user: Dovecot re-checks a passwd-file at most once a
        # second, so a shared file would hide users added a moment ago.
        line = f"{name}:{{PLAIN}}{self._users[name]}:{MAIL_UID}:{MAIL_UID}::{self._home(name)}\n"
        path = self._passwd_dir / name
        partial = path.with_suffix(".tmp")  # rename, so Dovecot never reads half a file
        partial.write_text(line)
        partial.chmod(0o644)
        partial.replace(path)

    def _make_certificates(self) -> None:
        openssl = _find_binary("openssl")  # a dependency of dovecot-core
        new_key = "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"
        ca = "-subj /CN=test-ca -keyout ca.key -out ca.pem"
        server = (
            f"-subj /CN={HOST} -CA ca.pem -CAkey ca.key -addext subjectAltName=IP:{HOST}"
            " -addext basicConstraints=critical,CA:FALSE -addext extendedKeyUsage=serverAuth"
            " -keyout server.key -out server.pem"
        )
        for args in (ca, server):  # relative names, run inside root: no path quoting
            _run([openssl, *f"{new_key} {args}".split()], cwd=self.root)

    def _write_config(self, capabilities: Sequence[str] | None, tls: bool) -> None:
        root = self.root
        (root / "run").mkdir()
        (root / "state").mkdir()
        self._passwd_dir.mkdir()
        capability_line = f"imap_capability = {' '.join(capabilities)}" if capabilities else ""
        ssl_lines = "ssl = no"
        if tls:
            ssl_lines = f"ssl = yes\nssl_cert = <{root}/server.pem\nssl_key = <{root}/server.key"
        self.config.write_text(
            f"""\
protocols = imap
listen = {HOST}
base_dir = {root}/run
state_dir = {root}/state
log_path = {self.log}
info_log_path = {self.log}
{ssl_lines}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:~/Maildir
first_valid_uid = {MAIL_UID}
last_valid_uid = {MAIL_UID}
mail_max_userip_connections = 200
{capability_line}
passdb {{
  driver = passwd-file
  args = {self._passwd_dir}/%u
}}
userdb {{
  driver = passwd-file
  args = {self._passwd_dir}/%u
}}
# No growing delay after failed logins from 127.0.0.1 (the auth penalty).
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = {HOST}
    port = {self.port}
  }}
  inet_listener imaps {{
    address = {HOST}
    port = {self.tls_port}
  }}
}}
"""
        )
