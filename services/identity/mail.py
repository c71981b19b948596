"""Invitation mail: an SMTP sender when SMTP_URL is set (smtp://user:pass@host:port), else none
(the invitation token is returned by the API — there is no mail server by default)."""
from __future__ import annotations

import logging
import smtplib
import threading
from email.message import EmailMessage
from urllib.parse import unquote, urlparse

log = logging.getLogger(__name__)


class SmtpMailer:
    def __init__(self, url: str, sender: str, public_url: str):
        self.url = urlparse(url)
        self.sender = sender
        self.public_url = public_url.rstrip("/")

    def send_invitation(self, *, email, token, workspace, org, inviter) -> None:
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = email
        msg["Subject"] = f"You are invited to {workspace['name']} on Stellary"
        msg.set_content(f"{inviter.name or inviter.email} invited you to the workspace {workspace['name']} "
                        f"of {org['name']}.\n\nAccept with:\n  POST {self.public_url}/invitations/{token}/accept\n")
        threading.Thread(target=self._send, args=(msg,), daemon=True).start()

    def send_org_invitation(self, *, email, token, org, inviter) -> None:
        msg = self._message(email, f"You are invited to {org['name']} on Stellary")
        msg.set_content(f"{inviter.name or inviter.email} invited you to the organization {org['name']}.\n\n"
                        f"Create an account with this address, then accept with:\n"
                        f"  POST {self.public_url}/invitations/{token}/accept\n")
        threading.Thread(target=self._send, args=(msg,), daemon=True).start()

    def send_org_added(self, *, email, org, role, inviter) -> None:
        msg = self._message(email, f"You were added to {org['name']} on Stellary")
        msg.set_content(f"{inviter.name or inviter.email} added you to the organization {org['name']} as {role}.\n\n"
                        f"Not for you? Leave it with:\n"
                        f"  DELETE {self.public_url}/organizations/{org['slug']}/members/<your user id>\n")
        threading.Thread(target=self._send, args=(msg,), daemon=True).start()

    def _message(self, to: str, subject: str) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = to
        msg["Subject"] = subject
        return msg

    def _send(self, msg) -> None:
        try:
            cls = smtplib.SMTP_SSL if self.url.scheme == "smtps" else smtplib.SMTP
            with cls(self.url.hostname, self.url.port or 25, timeout=10) as smtp:
                if self.url.username:
                    smtp.login(unquote(self.url.username), unquote(self.url.password or ""))
                smtp.send_message(msg)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("invitation mail to %s not sent: %s", msg["To"], exc)


def build_mailer(settings):
    return SmtpMailer(settings.smtp_url, settings.smtp_from, settings.public_url) if settings.smtp_url else None
