"""Google and Microsoft 365 mailboxes without Google or Microsoft: the local stand-ins
the tests use, kept running so a person can try the OAuth2 sign-in by hand.

    .venv/bin/python -m tests.oauth_sandbox --account alice@example.com \\
        --account support@example.com:alice@example.com

starts a provider (both styles), a Dovecot that checks its tokens and an SMTP server
that takes only XOAUTH2, prints the settings for `make run` and the inbox body for
`POST /api/v1/inboxes/oauth2/authorize`, then reads commands from the terminal:
`mail ADDRESS SUBJECT`, `revoke EMAIL`, `consent EMAIL`, `expire`, `lifetime SECONDS`,
`kick ADDRESS`, `sent`, `quit`. `--account MAILBOX:DELEGATE` makes DELEGATE the
account that signs in with access to MAILBOX (a Microsoft shared mailbox).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from contextlib import ExitStack

from tests.conftest import free_port
from tests.dovecot import PASSWORD, Dovecot, running_dovecot
from tests.fakes.oauth import FakeOAuthProvider
from tests.smtp import SmtpServer, running_smtp_server


def _message(address: str, subject: str) -> bytes:
    return (
        f"From: Jan Kowalski <jan@example.org>\r\nTo: {address}\r\nSubject: {subject}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nIt does not work.\r\n"
    ).encode()


def _serve(provider: FakeOAuthProvider, dovecot: Dovecot, smtp: SmtpServer) -> None:
    for line in sys.stdin:
        words = shlex.split(line)
        if not words:
            continue
        command, args = words[0], words[1:]
        try:
            if command == "quit":
                return
            if command == "mail" and len(args) >= 2:
                uid = dovecot.append(args[0], PASSWORD, _message(args[0], " ".join(args[1:])))
                print(f"delivered to {args[0]} (UID {uid})")
            elif command == "revoke" and len(args) == 1:
                provider.revoke(args[0])
                print(f"every grant of {args[0]} revoked")
            elif command == "consent" and len(args) == 1:
                provider.require_consent(args[0])
                print(f"{args[0]} now needs an administrator's consent")
            elif command == "expire":
                provider.expire_access_tokens()
                print("every access token expired")
            elif command == "lifetime" and len(args) == 1:
                provider.expires_in = int(args[0])
                print(f"new access tokens live {args[0]} s")
            elif command == "kick" and len(args) == 1:
                print("kicked" if dovecot.kick(args[0]) else "no session to kick")
            elif command == "sent":
                for sent, user in zip(
                    smtp.mailbox.messages, smtp.mailbox.authenticated_users, strict=False
                ):
                    print(f"{user} → {sent['To']}: {sent['Subject']}")
            else:
                print(__doc__)
        except Exception as exc:  # a typo must not end the sandbox
            print(f"failed: {exc}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--account", action="append", default=[], metavar="MAILBOX[:DELEGATE]")
    args = parser.parse_args()
    with ExitStack() as stack:
        provider = stack.enter_context(FakeOAuthProvider())
        dovecot = stack.enter_context(running_dovecot(free_port(), provider.introspection_url))

        def valid(user: str, token: str) -> bool:
            return provider.valid_mailbox(token) == user

        smtp = stack.enter_context(running_smtp_server(free_port(), oauth=valid))
        for spec in args.account or ["support@example.com"]:
            mailbox, _, delegate = spec.partition(":")
            provider.add_account(delegate or mailbox, mailbox=mailbox)
            print(f"account {delegate or mailbox} opens the mailbox {mailbox}")
        print("\nSettings for the server (then `make run`):")
        for name, value in {
            **provider.app_settings(),
            "ALLOW_PRIVATE_NETWORK_TARGETS": "true",
        }.items():
            print(f"export {name}={shlex.quote(value)}")
        body = {
            "provider": "microsoft",
            "name": "Support",
            "email_address": (args.account or ["support@example.com"])[0].partition(":")[0],
            "imap_host": dovecot.host,
            "imap_port": dovecot.port,
            "imap_security": "none",
            "smtp_host": smtp.host,
            "smtp_port": smtp.port,
            "smtp_security": "none",
        }
        print("\nPOST /api/v1/inboxes/oauth2/authorize with:")
        print(json.dumps(body))
        print("\nThe provider signs in at once as the account added last. Commands:")
        print("mail ADDRESS SUBJECT | revoke EMAIL | consent EMAIL | expire | lifetime S |")
        print("kick ADDRESS | sent | quit", flush=True)
        _serve(provider, dovecot, smtp)


if __name__ == "__main__":
    main()
