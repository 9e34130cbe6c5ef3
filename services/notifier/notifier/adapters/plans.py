"""Decisions written down: the residents' facts, timers started and stopped, notifications and
their deliveries (one per channel the recipient is reached through), all in the caller's
transaction. Every insert is keyed by a derived id, so writing the same decision twice
changes nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import datetime

import asyncpg

from platform_kit import tracing

from notifier.adapters.tables import deliveries_channel
from notifier.domain.facts import Resident
from notifier.domain.model import ROLLOVER, SUPERSEDED, Cause, Notification, Timer, opened_later, superseded
from notifier.domain.planner import Plan


async def load_residents(conn: asyncpg.Connection, schema: str, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Resident]:
    ids = list(set(ids))
    if not ids:
        return {}
    rows = await conn.fetch(f"SELECT * FROM {schema}.residents WHERE resident_id = ANY($1::uuid[])", ids)
    return {row["resident_id"]: Resident(**dict(row)) for row in rows}


async def write_plan(conn: asyncpg.Connection, schema: str, plan: Plan, *, decided_at: datetime) -> int:
    """Write what a batch decided; returns how many new notifications it made."""
    await _save_residents(conn, schema, plan.residents.values())
    await _settle_fired(conn, schema, plan.fired, decided_at)
    # Stored timers are stopped before the batch's own are inserted (see domain.planner).
    await _stop_timers(conn, schema, plan, decided_at)
    await _insert_timers(conn, schema, plan.timers, decided_at)
    return await _insert_notifications(conn, schema, plan.notifications, decided_at)


async def _save_residents(conn: asyncpg.Connection, schema: str, residents: Iterable[Resident]) -> None:
    rows = list(residents)
    if not rows:
        return
    await conn.execute(
        f"""
        INSERT INTO {schema}.residents AS r
        SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::date[], $5::text[], $6::text[], $7::date[])
        ON CONFLICT (resident_id) DO UPDATE SET
            unit_code = EXCLUDED.unit_code, sex = EXCLUDED.sex, birth_date = EXCLUDED.birth_date,
            marital_status = EXCLUDED.marital_status, population = EXCLUDED.population,
            pregnancy_planned_from = EXCLUDED.pregnancy_planned_from
        """,
        [r.resident_id for r in rows], [r.unit_code for r in rows], [r.sex for r in rows],
        [r.birth_date for r in rows], [r.marital_status for r in rows], [r.population for r in rows],
        [r.pregnancy_planned_from for r in rows],
    )


async def _settle_fired(conn: asyncpg.Connection, schema: str, fired: dict[uuid.UUID, str], at: datetime) -> None:
    if fired:
        await conn.execute(
            f"UPDATE {schema}.timers t SET state = f.state, settled_at = $3 "
            "FROM unnest($1::uuid[], $2::text[]) AS f(timer_id, state) "
            "WHERE t.timer_id = f.timer_id AND t.state = 'pending'",
            list(fired), list(fired.values()), at,
        )


async def _stop_timers(conn: asyncpg.Connection, schema: str, plan: Plan, at: datetime) -> None:
    """Remember the batch's closings and cancellations, and stop the stored timers they apply to
    (the same rule as ``Closing.stops`` and ``Cancellation.stops``)."""
    if plan.closings:
        c = plan.closings
        await conn.execute(
            f"""
            WITH c AS (
                SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[], $4::timestamptz[], $5::text[])
                     AS c(rule, subject, by_event_id, occurred_at, reason)
            ), remembered AS (
                INSERT INTO {schema}.closings SELECT * FROM c ON CONFLICT DO NOTHING
            )
            UPDATE {schema}.timers t SET state = 'closed', stopped_by_event_id = c.by_event_id,
                   stopped_reason = c.reason, settled_at = $6
            FROM c WHERE t.state = 'pending' AND t.rule = c.rule AND t.subject = c.subject AND t.step <> {ROLLOVER}
                     AND t.opened_at <= c.occurred_at AND t.caused_by_event_id <> c.by_event_id
            """,
            [x.rule for x in c], [x.subject for x in c], [x.by_event_id for x in c], [x.occurred_at for x in c],
            [x.reason for x in c], at,
        )
    if plan.cancellations:
        c = plan.cancellations
        await conn.execute(
            f"""
            WITH c AS (
                SELECT * FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::timestamptz[], $5::text[])
                     AS c(rule, resident_id, by_event_id, occurred_at, reason)
            ), remembered AS (
                INSERT INTO {schema}.cancellations SELECT * FROM c ON CONFLICT DO NOTHING
            )
            UPDATE {schema}.timers t SET state = 'cancelled', stopped_by_event_id = c.by_event_id,
                   stopped_reason = c.reason, settled_at = $6
            FROM c WHERE t.state = 'pending' AND t.rule = c.rule AND t.resident_id = c.resident_id
                     AND t.opened_at <= c.occurred_at AND t.caused_by_event_id <> c.by_event_id
            """,
            [x.rule for x in c], [x.resident_id for x in c], [x.by_event_id for x in c], [x.occurred_at for x in c],
            [x.reason for x in c], at,
        )


TIMER_COLUMNS = (
    "timer_id, rule, subject, step, at_days, fire_at, due_at, reminder, recipients, text, resident_id, "
    "caused_by_event_id, correlation_id, cause_unit, opened_at, facts, state, stopped_by_event_id, stopped_reason"
)

# A timer starts stopped when a remembered closing or cancellation applies to it: its event
# arrived after the one that fulfilled its purpose, or made it pointless.
_INSERT_TIMERS = """
INSERT INTO {schema}.timers ({columns})
SELECT t.timer_id, t.rule, t.subject, t.step, t.at_days, t.fire_at, t.due_at, t.reminder,
       CASE WHEN t.recipients = '' THEN '{{}}'::text[] ELSE string_to_array(t.recipients, ' ') END,
       t.text, t.resident_id, t.caused_by_event_id, t.correlation_id, t.cause_unit, t.opened_at, t.facts::jsonb,
       CASE WHEN t.state <> 'pending' THEN t.state WHEN c.by IS NOT NULL THEN 'closed'
            WHEN x.by IS NOT NULL THEN 'cancelled' ELSE 'pending' END,
       coalesce(t.stopped_by_event_id, c.by, x.by), coalesce(t.stopped_reason, c.reason, x.reason)
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::int[], $6::timestamptz[], $7::timestamptz[],
            $8::bool[], $9::text[], $10::text[], $11::uuid[], $12::uuid[], $13::uuid[], $14::text[],
            $15::timestamptz[], $16::text[], $17::text[], $18::uuid[], $19::text[])
     AS t(timer_id, rule, subject, step, at_days, fire_at, due_at, reminder, recipients, text, resident_id,
          caused_by_event_id, correlation_id, cause_unit, opened_at, facts, state, stopped_by_event_id, stopped_reason)
LEFT JOIN LATERAL (
    SELECT by_event_id AS by, reason FROM {schema}.closings c
    WHERE t.state = 'pending' AND c.rule = t.rule AND c.subject = t.subject AND t.step <> {rollover}
      AND c.occurred_at >= t.opened_at AND c.by_event_id <> t.caused_by_event_id
    LIMIT 1
) c ON true
LEFT JOIN LATERAL (
    SELECT by_event_id AS by, reason FROM {schema}.cancellations x
    WHERE t.state = 'pending' AND x.rule = t.rule AND x.resident_id = t.resident_id
      AND x.occurred_at >= t.opened_at AND x.by_event_id <> t.caused_by_event_id
    LIMIT 1
) x ON true
ON CONFLICT DO NOTHING
RETURNING timer_id
"""


async def _insert_timers(conn: asyncpg.Connection, schema: str, timers: list[Timer], at: datetime) -> None:
    inserted = await _insert_timer_rows(conn, schema, timers)
    left = [t for t in timers if t.timer_id not in inserted]
    if not left:
        return
    stored = {r["timer_id"] for r in await conn.fetch(
        f"SELECT timer_id FROM {schema}.timers WHERE timer_id = ANY($1::uuid[])", [t.timer_id for t in left])}
    # Not stored yet, yet not inserted: a stored timer of the same step of the same watch is
    # waiting. The one opened later waits, whichever came first (domain.model.superseded).
    for timer in (t for t in left if t.timer_id not in stored):
        row = await conn.fetchrow(
            f"SELECT * FROM {schema}.timers WHERE state = 'pending' AND rule = $1 AND subject = $2 AND step = $3 "
            "FOR UPDATE", timer.rule, timer.subject, timer.step,
        )
        held = _timer(row) if row is not None else None
        if held is not None and opened_later(timer, held):
            await conn.execute(
                f"UPDATE {schema}.timers SET state = 'cancelled', stopped_by_event_id = $2, stopped_reason = $3, "
                "settled_at = $4 WHERE timer_id = $1", held.timer_id, timer.cause.event_id, SUPERSEDED, at,
            )
        elif held is not None:
            timer = superseded(timer, held)
        await _insert_timer_rows(conn, schema, [timer])


async def _insert_timer_rows(conn: asyncpg.Connection, schema: str, timers: list[Timer]) -> set[uuid.UUID]:
    if not timers:
        return set()
    # text[] cannot be unnested as a column of arrays; recipients travel as one joined string.
    rows = await conn.fetch(
        _INSERT_TIMERS.format(schema=schema, columns=TIMER_COLUMNS, rollover=ROLLOVER),
        [t.timer_id for t in timers], [t.rule for t in timers], [t.subject for t in timers],
        [t.step for t in timers], [t.at for t in timers], [t.fire_at for t in timers], [t.due_at for t in timers],
        [t.reminder for t in timers], [" ".join(t.recipients) for t in timers], [t.text for t in timers],
        [t.resident_id for t in timers], [t.cause.event_id for t in timers], [t.cause.correlation_id for t in timers],
        [t.cause.unit_code for t in timers], [t.opened_at for t in timers],
        [json.dumps(t.facts, ensure_ascii=False) for t in timers],
        [t.state for t in timers], [t.stopped_by_event_id for t in timers], [t.stopped_reason for t in timers],
    )
    return {r["timer_id"] for r in rows}


async def due_timers(conn: asyncpg.Connection, schema: str, now: datetime, limit: int) -> list[Timer]:
    """Pending timers whose time has come, locked for this transaction (replicas skip them)."""
    rows = await conn.fetch(
        f"SELECT * FROM {schema}.timers WHERE state = 'pending' AND fire_at <= $1 "
        "ORDER BY fire_at LIMIT $2 FOR UPDATE SKIP LOCKED",
        now, limit,
    )
    return [_timer(row) for row in rows]


def _timer(row: asyncpg.Record) -> Timer:
    return Timer(
        row["timer_id"], row["rule"], row["subject"], row["step"], row["at_days"], row["fire_at"], row["due_at"],
        row["reminder"], tuple(row["recipients"]), row["text"], row["resident_id"],
        Cause(row["caused_by_event_id"], row["correlation_id"], row["cause_unit"]), row["opened_at"], row["facts"],
        row["state"], row["stopped_by_event_id"], row["stopped_reason"],
    )


# One statement: the notifications (seq follows the order of decision), then one delivery per
# channel for each new one (the inbox always, and each channel its recipient subscribed),
# then a wake-up for the delivery workers. A delivery's id, the idempotency key receivers
# see, is derived from its notification and channel.
_NOTIFY_SQL = """
WITH made AS (
    INSERT INTO {schema}.notifications
        (notification_id, rule, title, step, recipient, text, unit_code, caused_by_event_id, correlation_id, decided_at,
         traceparent)
    SELECT notification_id, rule, title, step, recipient, text, unit_code, caused_by_event_id, correlation_id, $10,
           traceparent
    FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::uuid[],
                $9::uuid[], $12::text[]) WITH ORDINALITY
         AS n(notification_id, rule, title, step, recipient, text, unit_code, caused_by_event_id, correlation_id,
              traceparent, ord)
    ORDER BY ord
    ON CONFLICT (notification_id) DO NOTHING
    RETURNING notification_id, seq, recipient
), fanned AS (
    INSERT INTO {schema}.deliveries (delivery_id, notification_id, seq, channel, recipient, address, next_attempt_at)
    SELECT md5(m.notification_id::text || ':' || c.channel)::uuid, m.notification_id, m.seq, c.channel, m.recipient,
           c.address, $10
    FROM made m CROSS JOIN LATERAL (
        SELECT 'inbox' AS channel, m.recipient AS address
        UNION ALL
        SELECT s.channel, s.address FROM {schema}.subscriptions s WHERE s.recipient = m.recipient
    ) c
    ON CONFLICT (delivery_id) DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM made) AS made, (SELECT count(*) FROM fanned) AS fanned, pg_notify($11, '')
"""


async def _insert_notifications(
    conn: asyncpg.Connection, schema: str, notifications: list[Notification], decided_at: datetime
) -> int:
    if not notifications:
        return 0
    n = notifications
    made = await conn.fetchrow(
        _NOTIFY_SQL.format(schema=schema),
        [x.notification_id for x in n], [x.rule for x in n], [x.title for x in n], [x.step for x in n],
        [x.recipient for x in n], [x.text for x in n], [x.unit_code for x in n], [x.cause.event_id for x in n],
        [x.cause.correlation_id for x in n], decided_at, deliveries_channel(schema),
        [tracing.traceparent_of(x.cause.event_id) for x in n],
    )
    return made["made"]
