"""The notifier over HTTP: inboxes per unit, per resident and per outside place; a
notification traced to its cause and its deliveries; dead letters; subscriptions."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Response
from pydantic import BaseModel, Field

from platform_kit.units import unit_tree

if TYPE_CHECKING:
    from notifier.bootstrap import Notifier

from notifier.adapters import views

SubscribedChannel = Literal["webhook", "email", "sms"]
UNIT_CODE = r"^\d{12}$"
PLACE_CODE = r"^\d{6}(\d{3}|\d{6})?$"
RECIPIENT = r"^(unit:\d{12}|place:\d{6}(\d{3}|\d{6})?|resident:[0-9a-f-]{36})$"
UnreadOnly = Annotated[bool, Query(description="only what has not been marked read")]
Limit = Annotated[int, Query(ge=1, le=500)]
Before = Annotated[int | None, Query(description="a next_before from the previous page")]
UnitCode = Annotated[str, Path(pattern=UNIT_CODE, description="12-digit unit code")]
PlaceCode = Annotated[str, Path(pattern=PLACE_CODE, description="6, 9 or 12-digit place code")]
Recipient = Annotated[str, Path(pattern=RECIPIENT, description="unit:<code>, resident:<id> or place:<code>")]
ADDRESS = {
    "webhook": re.compile(r"^https?://\S+$"),
    "email": re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
    "sms": re.compile(r"^\+?\d{6,15}$"),
}


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


def router(notifier: Notifier) -> APIRouter:
    api = APIRouter()
    tree = unit_tree()

    def pool():
        if notifier.runtime.pool is None:
            raise HTTPException(503, "the notifier is starting")
        return notifier.runtime.pool

    def unit(code: str) -> str:
        if code not in tree:
            raise HTTPException(404, f"unit_code: {code} is not a unit of {tree.district.name}")
        return f"unit:{code}"

    async def read_inbox(recipient: str, unread_only: bool, limit: int, before: int | None) -> Inbox:
        rows = await views.inbox(
            pool(), notifier.schema, recipient, unread_only=unread_only, limit=limit, before_seq=before
        )
        return Inbox(
            recipient=recipient,
            unread=await views.unread_count(pool(), notifier.schema, recipient),
            items=[InboxItem(**{k: row[k] for k in InboxItem.model_fields}) for row in rows],
            next_before=rows[-1]["seq"] if len(rows) == limit else None,
        )

    async def mark(recipient: str, notification_id: uuid.UUID) -> Response:
        if not await views.mark_read(pool(), notifier.schema, recipient, notification_id, notifier.clock.now()):
            raise HTTPException(404, f"notification_id: {notification_id} is not in the inbox of {recipient}")
        return Response(status_code=204)

    @api.get("/units/{unit_code}/inbox", tags=["inbox"], summary="A unit's inbox (村/社区, 镇/街道, or the district centre)")
    async def unit_inbox(
        unit_code: UnitCode, unread_only: UnreadOnly = False, limit: Limit = 50,
        before: Before = None,
    ) -> Inbox:
        return await read_inbox(unit(unit_code), unread_only, limit, before)

    @api.get("/residents/{resident_id}/inbox", tags=["inbox"], summary="A resident's own inbox")
    async def resident_inbox(
        resident_id: uuid.UUID, unread_only: UnreadOnly = False, limit: Limit = 50, before: Before = None
    ) -> Inbox:
        return await read_inbox(f"resident:{resident_id}", unread_only, limit, before)

    @api.get("/places/{place_code}/inbox", tags=["inbox"], summary="The inbox of a place outside the district (户籍地)")
    async def place_inbox(
        place_code: PlaceCode, unread_only: UnreadOnly = False, limit: Limit = 50,
        before: Before = None,
    ) -> Inbox:
        return await read_inbox(f"place:{place_code}", unread_only, limit, before)

    @api.post("/units/{unit_code}/inbox/{notification_id}/read", tags=["inbox"], status_code=204, summary="Mark read")
    async def unit_read(unit_code: UnitCode, notification_id: uuid.UUID) -> Response:
        return await mark(unit(unit_code), notification_id)

    @api.post(
        "/residents/{resident_id}/inbox/{notification_id}/read", tags=["inbox"], status_code=204, summary="Mark read"
    )
    async def resident_read(resident_id: uuid.UUID, notification_id: uuid.UUID) -> Response:
        return await mark(f"resident:{resident_id}", notification_id)

    @api.get("/notifications/{notification_id}", tags=["trace"], summary="A notification, its cause and its deliveries")
    async def notification(notification_id: uuid.UUID) -> NotificationView:
        found = await views.notification(pool(), notifier.schema, notification_id)
        if found is None:
            raise HTTPException(404, f"notification_id: {notification_id} is unknown")
        row, deliveries, attempts = found
        return NotificationView(
            **{k: row[k] for k in NotificationView.model_fields if k != "deliveries"},
            deliveries=[
                DeliveryView(
                    **{k: d[k] for k in DeliveryView.model_fields if k != "attempt_log"},
                    attempt_log=[
                        Attempt(**{k: a[k] for k in Attempt.model_fields})
                        for a in attempts if a["delivery_id"] == d["delivery_id"]
                    ],
                )
                for d in deliveries
            ],
        )

    @api.get("/events/{event_id}/notifications", tags=["trace"], summary="Every notification one event caused")
    async def caused_by(event_id: uuid.UUID) -> list[NotificationView]:
        rows = await views.caused_by(pool(), notifier.schema, event_id)
        return [NotificationView(**{k: r[k] for k in NotificationView.model_fields if k != "deliveries"}) for r in rows]

    @api.get("/dead-letters", tags=["dead letters"], summary="Deliveries given up, newest first, with the reason")
    async def dead_letters(channel: SubscribedChannel | None = None, limit: Limit = 100) -> list[DeadLetter]:
        rows = await views.dead_letters(pool(), notifier.schema, channel, limit)
        fields = [k for k in DeadLetter.model_fields if k != "reason"]
        return [DeadLetter(**{k: r[k] for k in fields}, reason=r["last_error"]) for r in rows]

    @api.post("/dead-letters/{delivery_id}/retry", tags=["dead letters"], status_code=202,
              summary="Send a dead letter again (after its receiver was fixed)")
    async def retry(delivery_id: uuid.UUID) -> Response:
        if not await views.retry(pool(), notifier.schema, delivery_id, notifier.clock.now()):
            raise HTTPException(404, f"delivery_id: {delivery_id} is not a dead letter")
        return Response(status_code=202)

    @api.get("/recipients/{recipient}/subscriptions", tags=["subscriptions"],
             summary="The channels a recipient is reached through, besides the inbox")
    async def subscriptions(recipient: Recipient) -> list[Subscription]:
        return [Subscription(**dict(r)) for r in await views.subscriptions(pool(), notifier.schema, recipient)]

    @api.put("/recipients/{recipient}/subscriptions/{channel}", tags=["subscriptions"], status_code=204,
             summary="Reach a recipient through a channel, at this address")
    async def subscribe(recipient: Recipient, channel: SubscribedChannel, body: Address) -> Response:
        if not ADDRESS[channel].match(body.address):
            raise HTTPException(422, f"address: not a valid {channel} address")
        await views.subscribe(pool(), notifier.schema, recipient, channel, body.address)
        return Response(status_code=204)

    @api.delete("/recipients/{recipient}/subscriptions/{channel}", tags=["subscriptions"], status_code=204,
                summary="Stop reaching a recipient through a channel")
    async def unsubscribe(recipient: Recipient, channel: SubscribedChannel) -> Response:
        if not await views.unsubscribe(pool(), notifier.schema, recipient, channel):
            raise HTTPException(404, f"channel: {recipient} has no {channel} subscription")
        return Response(status_code=204)

    return api
