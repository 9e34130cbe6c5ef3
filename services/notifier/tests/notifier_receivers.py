"""Real local receivers for the channels: an HTTP server standing in for the units' systems
(webhooks) and the SMS gateway, and an SMTP server (aiosmtpd). Like any receiver worth the
name they apply each idempotency key once; they also keep every raw request, so a test can
see what was sent twice. They can be told to fail."""

from __future__ import annotations

import asyncio
import email
import hashlib
import hmac
import json
from collections import defaultdict, deque
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller
from fastapi import FastAPI, Request, Response

from platform_kit.testing import free_port


def signature_is_valid(secret: str, header: str, body: bytes) -> bool:
    """The check docs/notifier.md tells receivers to make: HMAC-SHA256 over "<t>." + body."""
    try:
        parts = dict(part.split("=", 1) for part in header.split(","))
        expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    except (KeyError, ValueError):
        return False
    return hmac.compare_digest(expected, parts["v1"])


@dataclass
class Receipt:
    key: str
    body: dict[str, Any]


@dataclass
class Endpoint:
    """One receiving system (a unit's webhook, or the SMS gateway)."""

    raw: list[Receipt] = field(default_factory=list)  # every request that got through, in order
    applied: dict[str, Receipt] = field(default_factory=dict)  # the effect of each key, once
    fail_next: deque[int] = field(default_factory=deque)  # statuses to answer before accepting
    down: bool = False  # answer 503 to everything
    attempts: int = 0

    @property
    def effects(self) -> list[Receipt]:
        return list(self.applied.values())

    def times_sent(self, key: str) -> int:
        return sum(1 for r in self.raw if r.key == key)


class HttpReceiver:
    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.port = free_port()
        self.endpoints: dict[str, Endpoint] = defaultdict(Endpoint)
        self.bad_signatures = 0
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task | None = None

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/{name}"

    @property
    def sms_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sms"

    @property
    def sms(self) -> Endpoint:
        return self.endpoints["sms"]

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hooks/{name}")
        async def webhook(name: str, request: Request) -> Response:
            body = await request.body()
            if not signature_is_valid(self.secret, request.headers.get("X-Notifier-Signature", ""), body):
                self.bad_signatures += 1
                return Response("bad signature", status_code=401)
            return self._receive(self.endpoints[name], request.headers["Idempotency-Key"], json.loads(body))

        @app.post("/sms")
        async def sms(request: Request) -> Response:
            body = await request.json()
            return self._receive(self.sms, request.headers["Idempotency-Key"], body)

        return app

    def _receive(self, endpoint: Endpoint, key: str, body: dict[str, Any]) -> Response:
        endpoint.attempts += 1
        if endpoint.down:
            return Response("Service Unavailable", status_code=503)
        if endpoint.fail_next:
            return Response("try later", status_code=endpoint.fail_next.popleft())
        receipt = Receipt(key, body)
        endpoint.raw.append(receipt)
        endpoint.applied.setdefault(key, receipt)
        return Response(status_code=204)

    async def start(self) -> None:
        config = uvicorn.Config(self.app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        assert self._server is not None and self._task is not None
        self._server.should_exit = True
        await self._task


class MailStore:
    """What the SMTP server received: every message, and one per Message-ID (as a mail store keeps)."""

    def __init__(self) -> None:
        self.raw: list[EmailMessage] = []
        self.by_message_id: dict[str, EmailMessage] = {}

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        self.raw.append(message)
        self.by_message_id.setdefault(message["Message-ID"], message)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.by_message_id.values() if m["To"] == address]


class SmtpServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.mail = MailStore()
        self._controller = Controller(self.mail, hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()
