"""Webhooks: the notification POSTed as JSON to the recipient's URL, signed with HMAC-SHA256.

Headers:

* ``Idempotency-Key``: the delivery id; the same notification sent again carries the same key.
* ``traceparent``: the W3C trace context of this delivery, in the trace of the event that
  caused the notification (platform_kit.tracing), when there is one.
* ``X-Notifier-Signature``: ``t=<unix seconds>,v1=<hex>``, where ``<hex>`` is
  HMAC-SHA256(secret, ``"<t>." + body``). A receiver recomputes it and compares in constant
  time, and refuses a ``t`` too far from its own clock (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import datetime

import httpx

from platform_kit import tracing

from notifier.adapters.channels import Channel, SendFailed, http_failure
from notifier.adapters.queue import Outgoing

SIGNATURE_HEADER = "X-Notifier-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def body_of(item: Outgoing) -> bytes:
    return json.dumps(
        {
            "delivery_id": str(item.delivery_id),
            "notification_id": str(item.notification_id),
            "rule": item.rule,
            "title": item.title,
            "recipient": item.recipient,
            "unit_code": item.unit_code,
            "text": item.text,
            "caused_by_event_id": str(item.caused_by_event_id),
            "decided_at": item.decided_at.isoformat(),
        },
        ensure_ascii=False,
    ).encode()


class WebhookChannel(Channel):
    name = "webhook"

    def __init__(self, secret: str, *, timeout_seconds: float = 10.0) -> None:
        self.secret, self.timeout = secret, timeout_seconds
        self.client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        # Keep a connection open per receiver and recipient served at once, not the default 20.
        self.client = httpx.AsyncClient(timeout=self.timeout, limits=httpx.Limits(max_keepalive_connections=100))

    async def stop(self) -> None:
        if self.client is not None:
            await self.client.aclose()

    async def send(self, item: Outgoing, now: datetime) -> None:
        assert self.client is not None, "start() the channel first"
        body = body_of(item)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": str(item.delivery_id),
            SIGNATURE_HEADER: sign(self.secret, int(time.time()), body),
        }
        if (traceparent := tracing.current_traceparent()) is not None:
            headers[tracing.TRACEPARENT] = traceparent  # the receiver's work joins the birth report's trace
        try:
            response = await self.client.post(item.address, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise SendFailed(f"{type(error).__name__}: {error or 'no answer'}") from error
        if not response.is_success:
            raise http_failure(response.status_code, response.text, "the webhook")
