"""E-mail through an SMTP server.

``Message-ID`` is derived from the delivery id (and ``X-Idempotency-Key`` repeats it), so a
message sent again after a crash is the same message to every mail store and client, which
keep one copy per Message-ID.
"""

from __future__ import annotations

import asyncio
import smtplib
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from notifier.adapters.channels import Channel, SendFailed
from notifier.adapters.queue import Outgoing

SUBJECT_PREFIX = "【市中区流动人口服务】"


def message_id(item: Outgoing) -> str:
    return f"<{item.delivery_id}@notifier.shizhong>"


def compose(item: Outgoing, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = item.address
    message["Subject"] = SUBJECT_PREFIX + item.title
    message["Date"] = format_datetime(item.decided_at)
    message["Message-ID"] = message_id(item)
    message["X-Idempotency-Key"] = str(item.delivery_id)
    message["X-Caused-By-Event"] = str(item.caused_by_event_id)
    message.set_content(f"{item.text}\n\n—— 市中区流动人口服务管理中心 通知服务（规则 {item.rule}）\n")
    return message


class EmailChannel(Channel):
    name = "email"

    def __init__(self, host: str, port: int, sender: str, *, timeout_seconds: float = 10.0) -> None:
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout_seconds

    async def send(self, item: Outgoing, now: datetime) -> None:
        await asyncio.to_thread(self._send, compose(item, self.sender))

    def _send(self, message: EmailMessage) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            raise SendFailed(f"SMTP refused the recipient ({codes})", permanent=all(c >= 500 for c in codes)) from error
        except smtplib.SMTPResponseException as error:
            raise SendFailed(
                f"SMTP {error.smtp_code}: {error.smtp_error.decode(errors='replace')[:200]}",
                permanent=error.smtp_code >= 500,
            ) from error
        except (smtplib.SMTPException, OSError) as error:
            raise SendFailed(f"{type(error).__name__}: {error}") from error
