"""The per-channel delivery queue: which deliveries are ready, and what became of them.

A recipient's deliveries on a channel leave in decision order (``seq``): only a prefix of
each recipient's queue is handed out, and it stops at the first delivery that is waiting
for a retry, so a later notification never overtakes an earlier one. Recipients do not
wait for each other.

Recording an outcome and publishing ``NotificationDelivered`` (or ``NotificationDeadLettered``)
happen in one transaction with the kit's event store, whose outbox relay puts them on
``notifier.events``. The stream is the recipient on that channel
(``recipient-unit:370402001001.webhook``), so the topic keeps each recipient's order too.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from platform_kit.envelope import Envelope
from platform_kit.event_store import EventStore
from platform_kit.logs import mask_personal_text

from notifier.domain.model import derived_id


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A delivery ready to go: the notification and where, on this channel, it goes."""

    delivery_id: uuid.UUID  # the idempotency key
    notification_id: uuid.UUID
    seq: int
    channel: str
    recipient: str
    address: str
    attempts: int  # made so far
    revival: int  # times a dead letter was sent back to the queue
    next_attempt_at: datetime
    rule: str
    title: str
    step: str
    text: str
    unit_code: str
    caused_by_event_id: uuid.UUID
    correlation_id: uuid.UUID
    decided_at: datetime
    traceparent: str | None = None  # the trace of the event that caused it (platform_kit.tracing)


@dataclass(frozen=True, slots=True)
class Delivered:
    item: Outgoing
    attempt: int
    at: datetime


@dataclass(frozen=True, slots=True)
class Failed:
    item: Outgoing
    attempt: int
    at: datetime
    error: str
    retry_at: datetime | None  # None: dead-lettered, no more attempts


Outcome = Delivered | Failed

_READY = """
WITH heads AS (
    SELECT DISTINCT ON (recipient) recipient, seq, next_attempt_at
    FROM {schema}.deliveries WHERE channel = $1 AND state = 'pending'
    ORDER BY recipient, seq
), ready AS (
    SELECT recipient FROM heads WHERE next_attempt_at <= $2 ORDER BY seq LIMIT $4
)
SELECT d.delivery_id, d.notification_id, d.seq, d.channel, d.recipient, d.address, d.attempts, d.revival,
       d.next_attempt_at,
       n.rule, n.title, n.step, n.text, n.unit_code, n.caused_by_event_id, n.correlation_id, n.decided_at,
       n.traceparent
FROM ready r
CROSS JOIN LATERAL (
    SELECT * FROM {schema}.deliveries q
    WHERE q.channel = $1 AND q.state = 'pending' AND q.recipient = r.recipient
    ORDER BY q.seq LIMIT $3
) d
JOIN {schema}.notifications n USING (notification_id)
ORDER BY d.recipient, d.seq
"""


async def ready(
    conn: asyncpg.Connection, schema: str, channel: str, now: datetime, *, per_recipient: int, recipients: int
) -> list[list[Outgoing]]:
    """Each ready recipient's queue, in order, cut before the first delivery not yet due."""
    rows = await conn.fetch(_READY.format(schema=schema), channel, now, per_recipient, recipients)
    queues: dict[str, list[Outgoing]] = {}
    blocked: set[str] = set()
    for row in rows:
        item = Outgoing(**dict(row))
        if item.recipient in blocked or item.next_attempt_at > now:
            blocked.add(item.recipient)
            continue
        queues.setdefault(item.recipient, []).append(item)
    return list(queues.values())


async def defer(conn: asyncpg.Connection, schema: str, items: list[Outgoing], until: datetime, reason: str) -> None:
    await conn.execute(
        f"UPDATE {schema}.deliveries SET next_attempt_at = $2, deferred_reason = $3 "
        "WHERE delivery_id = ANY($1::uuid[]) AND state = 'pending'",
        [i.delivery_id for i in items], until, reason,
    )


# One statement: each try's outcome on its delivery (only while still pending: a delivery
# recorded already is not recorded twice) and in the attempt log.
_RECORD_SQL = """
WITH o AS (
    SELECT * FROM unnest($1::uuid[], $2::int[], $3::int[], $4::timestamptz[], $5::text[], $6::text[], $7::timestamptz[])
         AS o(delivery_id, revival, attempt, at, outcome, error, retry_at)
), updated AS (
    UPDATE {schema}.deliveries d SET
        state = CASE o.outcome WHEN 'failed' THEN 'pending' ELSE o.outcome END,
        attempts = o.attempt,
        next_attempt_at = coalesce(o.retry_at, d.next_attempt_at),
        finished_at = CASE o.outcome WHEN 'failed' THEN NULL ELSE o.at END,
        last_error = o.error,
        deferred_reason = NULL
    FROM o WHERE d.delivery_id = o.delivery_id AND d.state = 'pending'
    RETURNING d.delivery_id
), logged AS (
    INSERT INTO {schema}.delivery_attempts (delivery_id, revival, attempt, attempted_at, outcome, error, retry_at)
    SELECT o.* FROM o JOIN updated USING (delivery_id)
    ON CONFLICT DO NOTHING
)
SELECT delivery_id FROM updated
"""


async def record(conn: asyncpg.Connection, schema: str, store: EventStore, outcomes: list[Outcome]) -> None:
    """Write what became of each delivery, and publish the final ones; one transaction."""
    if not outcomes:
        return
    async with conn.transaction():
        recorded = {
            row["delivery_id"]
            for row in await conn.fetch(
                _RECORD_SQL.format(schema=schema),
                [o.item.delivery_id for o in outcomes], [o.item.revival for o in outcomes],
                [o.attempt for o in outcomes], [o.at for o in outcomes], [_outcome(o) for o in outcomes],
                [getattr(o, "error", None) for o in outcomes], [getattr(o, "retry_at", None) for o in outcomes],
            )
        }
        finals = [o for o in outcomes if o.item.delivery_id in recorded and _outcome(o) != "failed"]
        if finals:
            await store.append(await _events(conn, store, sorted(finals, key=lambda o: o.item.seq)), conn=conn)


def _outcome(o: Delivered | Failed) -> str:
    if isinstance(o, Delivered):
        return "delivered"
    return "failed" if o.retry_at else "dead"


def stream_of(recipient: str, channel: str) -> str:
    return f"recipient-{recipient}.{channel}"


async def _events(conn: asyncpg.Connection, store: EventStore, finals: list[Delivered | Failed]) -> list[Envelope]:
    streams = sorted({stream_of(o.item.recipient, o.item.channel) for o in finals})
    versions = {
        row["stream_id"]: row["version"]
        for row in await conn.fetch(
            f"SELECT stream_id, max(stream_version) AS version FROM {store.table} "
            "WHERE stream_id = ANY($1::text[]) GROUP BY stream_id",
            streams,
        )
    }
    events = []
    for o in finals:
        item, stream = o.item, stream_of(o.item.recipient, o.item.channel)
        versions[stream] = versions.get(stream, 0) + 1
        payload = {
            "notification_id": str(item.notification_id),
            "delivery_id": str(item.delivery_id),
            "rule": item.rule,
            "recipient": item.recipient,
            "channel": item.channel,
            "caused_by_event_id": str(item.caused_by_event_id),
        }
        if isinstance(o, Delivered):
            event_type, payload = "NotificationDelivered", payload | {"attempt": o.attempt}
        else:
            event_type = "NotificationDeadLettered"
            payload |= {"attempts": o.attempt, "reason": public_reason(o.error)}
        events.append(
            Envelope.new(
                event_id=derived_id(event_type, item.delivery_id, item.revival), event_type=event_type,
                stream_id=stream, stream_version=versions[stream], unit_code=item.unit_code, source="notifier", payload=payload,
                occurred_at=o.at, correlation_id=item.correlation_id, causation_id=item.caused_by_event_id,
            )
        )
    return events


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


def public_reason(error: str) -> str:
    """A failure reason fit for the bus: no phone numbers, ID numbers or e-mail addresses."""
    return _EMAIL.sub("***", mask_personal_text(error))[:500]
