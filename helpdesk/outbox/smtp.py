"""The SMTP adapter: the only module that talks to mail servers for sending (aiosmtplib)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage

import aiosmtplib

SECURITIES = ("tls", "starttls", "none")


@dataclass(frozen=True)
class SmtpEndpoint:
    host: str
    port: int
    security: str  # tls, starttls, none
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout_s: float = 30.0


class SmtpError(Exception):
    """Delivery did not happen; ``permanent`` says whether trying again can help."""

    def __init__(self, detail: str, *, permanent: bool):
        super().__init__(detail)
        self.detail = detail
        self.permanent = permanent


async def send(message: EmailMessage, endpoint: SmtpEndpoint) -> None:
    try:
        await aiosmtplib.send(
            message,
            hostname=endpoint.host,
            port=endpoint.port,
            username=endpoint.username or None,
            password=endpoint.password if endpoint.username else None,
            use_tls=endpoint.security == "tls",
            start_tls=True if endpoint.security == "starttls" else False,
            tls_context=ssl.create_default_context() if endpoint.security != "none" else None,
            timeout=endpoint.timeout_s,
        )
    except aiosmtplib.SMTPRecipientsRefused as error:
        codes = [refusal.code for refusal in error.recipients]
        raise SmtpError(f"recipients refused: {'; '.join(f'{r.code} {r.message}' for r in error.recipients)[:500]}",
                        permanent=all(code >= 500 for code in codes)) from None
    except aiosmtplib.SMTPAuthenticationError as error:
        raise SmtpError(f"SMTP login failed ({error.code})", permanent=False) from None
    except aiosmtplib.SMTPResponseException as error:
        raise SmtpError(f"{error.code} {error.message}"[:500], permanent=error.code >= 500) from None
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
        # Connection trouble: the server may be down for a while; the mail waits for it.
        raise SmtpError(f"{type(error).__name__}: {error}"[:500], permanent=False) from None
