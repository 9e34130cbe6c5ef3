"""The notifier over HTTP, under ``/api``: inboxes per unit, per resident and per outside
place; a notification traced to its cause and its deliveries; dead letters; subscriptions.
Every refusal is the kit's problem answer (404: names nothing that exists; 422: invalid)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response

from platform_kit import problems
from platform_kit.auth import Principal, require_principal, require_role, webhook_refusal
from platform_kit.auth.http import forbidden
from platform_kit.auth.keys import is_loopback
from platform_kit.clock import Clock
from platform_kit.http_params import FOLDED
from platform_kit.problems import NotFound, Refusal
from platform_kit.runtime import ServiceRuntime, runtime_of
from platform_kit.units import unit_tree

from notifier.adapters import views
from notifier.entrypoints.answers import (
    Address,
    Attempt,
    DeadLetter,
    DeliveryView,
    Inbox,
    InboxItem,
    NotificationView,
    SubscribedChannel,
    Subscription,
)

# [0-9], not \d: \d also matches other scripts' digits (１３８...), which no unit code or phone number has.
UNIT_CODE = r"^[0-9]{12}$"
PLACE_CODE = r"^[0-9]{6}([0-9]{3}|[0-9]{6})?$"
RECIPIENT = r"^(unit:[0-9]{12}|place:[0-9]{6}([0-9]{3}|[0-9]{6})?|resident:[0-9a-f-]{36})$"
SEQ_MAX = 2**63 - 1  # inbox positions are PostgreSQL bigints
UnreadOnly = Annotated[bool, Query(description="only what has not been marked read")]
Limit = Annotated[int, Query(ge=1, le=500)]
Before = Annotated[int | None, Query(ge=1, le=SEQ_MAX, description="a next_before from the previous page")]
UnitCode = Annotated[str, Path(pattern=UNIT_CODE, description="12-digit unit code"), FOLDED]
PlaceCode = Annotated[str, Path(pattern=PLACE_CODE, description="6, 9 or 12-digit place code"), FOLDED]
Recipient = Annotated[str, Path(pattern=RECIPIENT, description="unit:<code>, resident:<id> or place:<code>"), FOLDED]
# No control characters (a NUL byte cannot even be stored): an address is printable text.
ADDRESS = {
    "webhook": re.compile(r"^https?://[^\s\x00-\x1f\x7f]+$"),
    "email": re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$"),
    "sms": re.compile(r"^\+?[0-9]{6,15}$"),
}


@dataclass(frozen=True)
class Reads:
    """What a route reads and writes through: the notifier's pool, its schema, its clock."""

    pool: asyncpg.Pool
    schema: str
    clock: Clock


def reads(runtime: Annotated[ServiceRuntime, Depends(runtime_of)]) -> Reads:
    if runtime.pool is None:
        raise Refusal("service", "the notifier is starting; try again", kind="unavailable")
    return Reads(runtime.pool, runtime.schema, runtime.clock)


Db = Annotated[Reads, Depends(reads)]
Caller = Annotated[Principal, Depends(require_principal)]
# A resident's or an outside place's inbox is not any one unit's: the district's (auditors read).
Central = Annotated[Principal, Depends(require_role("district", "auditor"))]


def may_reach(caller: Principal, recipient: str, *, write: bool) -> None:
    """A unit's inbox and subscriptions are its own (and those above it); a resident's or a
    place's, the district's. 403 otherwise."""
    tree = unit_tree()
    if recipient.startswith("unit:") and recipient[5:] in tree:
        code = recipient[5:]
        allowed = caller.can_write_unit(code, tree) if write else caller.can_read_unit(code, tree)
        if not allowed:
            raise forbidden(f"recipient: {tree[code].name} is outside the units this token may {'change' if write else 'see'}")
    elif caller.role != "district" and not (caller.role == "auditor" and not write):
        raise forbidden("recipient: only the district centre reaches residents and outside places")


def webhook_allowed(runtime: ServiceRuntime, address: str) -> None:
    """WEBHOOK_ALLOWED_HOSTS names where notifications may be sent; on a developer's machine a
    loopback receiver is allowed too. Anything else could make the notifier a proxy into the
    district's network (or a cloud's metadata address)."""
    development = not runtime.auth.production
    hosts = list(getattr(runtime.settings, "webhook_allowed_hosts", []))
    if development:
        from urllib.parse import urlsplit

        try:
            host = urlsplit(address).hostname
        except ValueError:
            host = None
        if host and is_loopback(host):
            hosts.append(host)
    reason = webhook_refusal(address, hosts, environment="development" if development else "production")
    if reason is not None:
        raise Refusal("address", f"{reason} (WEBHOOK_ALLOWED_HOSTS)")


def without_answer_body(reason: str | None) -> str | None:
    """A receiver's answer body stays out of the listing (it may hold whatever the receiver
    chose to say, and the listing is read by others): its status line is enough."""
    if reason is None:
        return None
    return re.sub(r"^(HTTP \d{3} from [^:]+):.*$", r"\1", reason, flags=re.DOTALL)


def unit(code: str) -> str:
    tree = unit_tree()
    if code not in tree:
        raise NotFound("unit_code", f"{code} is not a unit of {tree.district.name}")
    return f"unit:{code}"


inbox = APIRouter(prefix="/api", tags=["inbox"])


async def read_inbox(db: Reads, recipient: str, unread_only: bool, limit: int, before: int | None) -> Inbox:
    rows = await views.inbox(db.pool, db.schema, recipient, unread_only=unread_only, limit=limit, before_seq=before)
    return Inbox(
        recipient=recipient,
        unread=await views.unread_count(db.pool, db.schema, recipient),
        items=[InboxItem(**{k: row[k] for k in InboxItem.model_fields}) for row in rows],
        next_before=rows[-1]["seq"] if len(rows) == limit else None,
    )


async def mark(db: Reads, recipient: str, notification_id: uuid.UUID) -> Response:
    if not await views.mark_read(db.pool, db.schema, recipient, notification_id, db.clock.now()):
        raise NotFound("notification_id", f"{notification_id} is not in the inbox of {recipient}")
    return Response(status_code=204)


@inbox.get("/units/{unit_code}/inbox", responses=problems.responses(404, 422, 503),
           summary="A unit's inbox (村/社区, 镇/街道, or the district centre)")
async def unit_inbox(
    db: Db, caller: Caller, unit_code: UnitCode, unread_only: UnreadOnly = False, limit: Limit = 50, before: Before = None
) -> Inbox:
    recipient = unit(unit_code)
    may_reach(caller, recipient, write=False)
    return await read_inbox(db, recipient, unread_only, limit, before)


@inbox.get("/residents/{resident_id}/inbox", responses=problems.responses(422, 503), summary="A resident's own inbox")
async def resident_inbox(
    db: Db, _caller: Central, resident_id: uuid.UUID, unread_only: UnreadOnly = False, limit: Limit = 50, before: Before = None
) -> Inbox:
    return await read_inbox(db, f"resident:{resident_id}", unread_only, limit, before)


@inbox.get("/places/{place_code}/inbox", responses=problems.responses(422, 503),
           summary="The inbox of a place outside the district (户籍地)")
async def place_inbox(
    db: Db, _caller: Central, place_code: PlaceCode, unread_only: UnreadOnly = False, limit: Limit = 50, before: Before = None
) -> Inbox:
    return await read_inbox(db, f"place:{place_code}", unread_only, limit, before)


@inbox.post("/units/{unit_code}/inbox/{notification_id}/read", status_code=204,
            responses=problems.responses(404, 422, 503), summary="Mark read")
async def unit_read(db: Db, caller: Caller, unit_code: UnitCode, notification_id: uuid.UUID) -> Response:
    recipient = unit(unit_code)
    may_reach(caller, recipient, write=True)
    return await mark(db, recipient, notification_id)


@inbox.post("/residents/{resident_id}/inbox/{notification_id}/read", status_code=204,
            responses=problems.responses(404, 422, 503), summary="Mark read")
async def resident_read(db: Db, _caller: Central, resident_id: uuid.UUID, notification_id: uuid.UUID) -> Response:
    return await mark(db, f"resident:{resident_id}", notification_id)


trace = APIRouter(prefix="/api", tags=["trace"])


@trace.get("/notifications/{notification_id}", responses=problems.responses(404, 422, 503),
           summary="A notification, its cause and its deliveries")
async def notification(db: Db, caller: Caller, notification_id: uuid.UUID) -> NotificationView:
    found = await views.notification(db.pool, db.schema, notification_id)
    if found is None or not _may_see(caller, found[0]["recipient"]):
        raise NotFound("notification_id", f"{notification_id} is unknown")
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


@trace.get("/events/{event_id}/notifications", responses=problems.responses(422, 503),
           summary="Every notification one event caused")
async def caused_by(db: Db, caller: Caller, event_id: uuid.UUID) -> list[NotificationView]:
    rows = [r for r in await views.caused_by(db.pool, db.schema, event_id) if _may_see(caller, r["recipient"])]
    return [NotificationView(**{k: r[k] for k in NotificationView.model_fields if k != "deliveries"}) for r in rows]


dead_letters = APIRouter(prefix="/api/dead-letters", tags=["dead letters"])


@dead_letters.get("", responses=problems.responses(422, 503),
                  summary="Deliveries given up, newest first, with the reason")
async def list_dead_letters(db: Db, _caller: Central, channel: SubscribedChannel | None = None, limit: Limit = 100) -> list[DeadLetter]:
    rows = await views.dead_letters(db.pool, db.schema, channel, limit)
    fields = [k for k in DeadLetter.model_fields if k != "reason"]
    return [DeadLetter(**{k: r[k] for k in fields}, reason=without_answer_body(r["last_error"])) for r in rows]


@dead_letters.post("/{delivery_id}/retry", status_code=202, responses=problems.responses(404, 422, 503),
                   summary="Send a dead letter again (after its receiver was fixed)")
async def retry(db: Db, _caller: Central, delivery_id: uuid.UUID) -> Response:
    if not await views.retry(db.pool, db.schema, delivery_id, db.clock.now()):
        raise NotFound("delivery_id", f"{delivery_id} is not a dead letter")
    return Response(status_code=202)


subscriptions = APIRouter(prefix="/api/recipients/{recipient}/subscriptions", tags=["subscriptions"])


@subscriptions.get("", responses=problems.responses(422, 503),
                   summary="The channels a recipient is reached through, besides the inbox")
async def list_subscriptions(db: Db, caller: Caller, recipient: Recipient) -> list[Subscription]:
    may_reach(caller, recipient, write=False)
    return [Subscription(**dict(r)) for r in await views.subscriptions(db.pool, db.schema, recipient)]


@subscriptions.put("/{channel}", status_code=204, responses=problems.responses(422, 503),
                   summary="Reach a recipient through a channel, at this address")
async def subscribe(
    db: Db, caller: Caller, runtime: Annotated[ServiceRuntime, Depends(runtime_of)],
    recipient: Recipient, channel: SubscribedChannel, body: Address,
) -> Response:
    may_reach(caller, recipient, write=True)
    if not ADDRESS[channel].match(body.address):
        raise Refusal("address", f"not a valid {channel} address")
    if channel == "webhook":
        webhook_allowed(runtime, body.address)
    await views.subscribe(db.pool, db.schema, recipient, channel, body.address)
    return Response(status_code=204)


@subscriptions.delete("/{channel}", status_code=204, responses=problems.responses(404, 422, 503),
                      summary="Stop reaching a recipient through a channel")
async def unsubscribe(db: Db, caller: Caller, recipient: Recipient, channel: SubscribedChannel) -> Response:
    may_reach(caller, recipient, write=True)
    if not await views.unsubscribe(db.pool, db.schema, recipient, channel):
        raise NotFound("channel", f"{recipient} has no {channel} subscription")
    return Response(status_code=204)


def _may_see(caller: Principal, recipient: str) -> bool:
    try:
        may_reach(caller, recipient, write=False)
        return True
    except HTTPException:  # forbidden: answered as unknown, a notification's existence is its recipient's
        return False


routers = (inbox, trace, dead_letters, subscriptions)
