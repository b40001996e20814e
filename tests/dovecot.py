"""A throwaway Dovecot IMAP server on a loopback port, with its own config and users."""

from __future__ import annotations

import imaplib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PASSWORD = "imap-secret"
CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login{oauth_mechanisms}
auth_failure_delay = 0
first_valid_uid = 1
mail_location = maildir:{root}/mail/%u
{oauth_passdb}# Every login exists, with one password: tests make mailboxes by naming them.
passdb {{
  driver = static
  args = password={password}{static_mechanisms}
}}
userdb {{
  driver = static
  args = uid=65534 gid=65534 home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""
# With an introspection URL: XOAUTH2/OAUTHBEARER logins checked by the OAuth provider,
# which must answer with the login as `username`; passwords still open every mailbox.
OAUTH_PASSDB = """\
# No auth penalty: repeated failures from one IP would wait 4, 8, 15 s more each time,
# and so would every login after them. (login_trusted_networks does not skip it in 2.3.)
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/dovecot-oauth2.conf.ext
}}
"""
OAUTH2_ARGS = """\
introspection_mode = post
introspection_url = {url}
username_attribute = username
active_attribute = active
active_value = true
force_introspection = yes
"""


class Dovecot:
    def __init__(self, root: Path, port: int) -> None:
        self.root, self.host, self.port = root, "127.0.0.1", port
        self.config = root / "dovecot.conf"

    def add_user(self) -> tuple[str, str]:
        """A new, empty mailbox of its own: (login, password)."""
        return f"box-{uuid.uuid4().hex[:10]}@example.com", PASSWORD

    def inbox(self, login: str, password: str, **more: Any) -> dict[str, Any]:
        """The body of `POST /inboxes` for a mailbox here (no TLS), plus `more`."""
        return {
            "name": "Help",
            "email_address": "help@example.com",
            "imap_host": self.host,
            "imap_port": self.port,
            "imap_security": "none",
            "imap_username": login,
            "imap_password": password,
            **more,
        }

    def _connect(self, login: str, password: str) -> imaplib.IMAP4:
        client = imaplib.IMAP4(self.host, self.port)
        client.login(login, password)
        return client

    def append(self, login: str, password: str, raw: bytes, *, seen: bool = False) -> int:
        """Deliver a message with IMAP APPEND; returns its UID."""
        client = self._connect(login, password)
        try:
            flags = "(\\Seen)" if seen else None
            status, data = client.append("INBOX", flags, None, raw)
            assert status == "OK", data
            text = data[0].decode() if data and data[0] else ""
            return int(text.split("APPENDUID")[1].split()[1].rstrip("]"))
        finally:
            client.logout()

    def kick(self, login: str) -> bool:
        """End the user's IMAP sessions (each gets `* BYE Server shutting down.`);
        False if the user had none."""
        doveadm = shutil.which("doveadm") or "/usr/bin/doveadm"
        result = subprocess.run(
            [doveadm, "-c", str(self.config), "kick", login],
            capture_output=True,
            text=True,
            timeout=10,
        )
        # 68 (EX_NOUSER): "no users kicked"
        assert result.returncode in (0, 68), result.stderr or result.stdout
        return result.returncode == 0

    def flags(self, login: str, password: str) -> dict[int, str]:
        client = self._connect(login, password)
        try:
            client.select("INBOX", readonly=True)
            _, data = client.uid("FETCH", "1:*", "(FLAGS)")
            result: dict[int, str] = {}
            for item in data:
                if not item:
                    continue
                text = item.decode() if isinstance(item, bytes) else str(item)
                if "UID" in text:
                    uid = int(text.split("UID ")[1].split()[0].rstrip(")"))
                    result[uid] = text.split("FLAGS (")[1].split(")")[0]
            return result
        finally:
            client.logout()


def _wait_for_port(port: int, process: subprocess.Popen[bytes], deadline: float = 20) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if process.poll() is not None:
            raise RuntimeError("dovecot exited at start-up")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("dovecot did not start listening")


@contextmanager
def running_dovecot(port: int, introspection_url: str | None = None) -> Iterator[Dovecot]:
    """Dovecot on `port`; with `introspection_url`, OAuth2 sign-in too (see OAUTH_PASSDB)."""
    binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
    assert os.path.exists(binary), "Dovecot is missing: `make test` installs dovecot-imapd"
    # Dovecot's helpers run as other users: the folder must be reachable by them.
    root = Path(tempfile.mkdtemp(prefix="sit-dovecot-"))
    root.chmod(0o755)
    (root / "mail").mkdir(mode=0o777)
    (root / "mail").chmod(0o777)
    oauth = {"oauth_mechanisms": "", "oauth_passdb": "", "static_mechanisms": ""}
    if introspection_url is not None:
        args = root / "dovecot-oauth2.conf.ext"
        args.write_text(OAUTH2_ARGS.format(url=introspection_url))
        args.chmod(0o644)  # read by the auth process, which is not root
        oauth = {
            "oauth_mechanisms": " xoauth2 oauthbearer",
            "oauth_passdb": OAUTH_PASSDB.format(root=root),
            "static_mechanisms": "\n  mechanisms = plain login",
        }
    (root / "dovecot.conf").write_text(
        CONFIG.format(root=root, port=port, password=PASSWORD, **oauth)
    )
    process = subprocess.Popen(
        [binary, "-F", "-c", str(root / "dovecot.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, process)
        yield Dovecot(root, port)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(root, ignore_errors=True)
