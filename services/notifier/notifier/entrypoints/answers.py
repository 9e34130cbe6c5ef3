"""What the notifier's HTTP API answers and accepts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

SubscribedChannel = Literal["webhook", "email", "sms"]


class InboxItem(BaseModel):
    notification_id: uuid.UUID
    rule: str
    title: str
    text: str
    caused_by_event_id: uuid.UUID
    delivered_at: datetime
    read_at: datetime | None


class Inbox(BaseModel):
    recipient: str
    unread: int = Field(description="unread notifications in the whole inbox")
    items: list[InboxItem] = Field(description="newest first")
    next_before: int | None = Field(description="pass as ?before= for the next (older) page; null at the end")


class Attempt(BaseModel):
    revival: int
    attempt: int
    attempted_at: datetime
    outcome: Literal["delivered", "failed", "dead"]
    error: str | None
    retry_at: datetime | None


class DeliveryView(BaseModel):
    delivery_id: uuid.UUID = Field(description="the idempotency key the receiver saw")
    channel: str
    state: Literal["pending", "delivered", "dead"]
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    deferred_reason: str | None
    finished_at: datetime | None
    attempt_log: list[Attempt]


class NotificationView(BaseModel):
    notification_id: uuid.UUID
    rule: str
    title: str
    step: str
    recipient: str
    text: str
    unit_code: str
    caused_by_event_id: uuid.UUID
    correlation_id: uuid.UUID
    decided_at: datetime
    deliveries: list[DeliveryView] = Field(default_factory=list)


class DeadLetter(BaseModel):
    delivery_id: uuid.UUID
    notification_id: uuid.UUID
    channel: str
    recipient: str
    rule: str
    title: str
    attempts: int
    reason: str | None
    finished_at: datetime | None
    caused_by_event_id: uuid.UUID


class Subscription(BaseModel):
    channel: SubscribedChannel
    address: str


class Address(BaseModel):
    address: str = Field(max_length=500, description="webhook: an http(s) URL; email: an address; sms: a phone number")
