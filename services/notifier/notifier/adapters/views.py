"""What staff read: inboxes, a notification traced to its cause and its deliveries, the
dead letters; and the subscriptions they manage."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from notifier.adapters.tables import deliveries_channel


async def inbox(
    pool: asyncpg.Pool, schema: str, recipient: str, *, unread_only: bool, limit: int, before_seq: int | None
):
    return await pool.fetch(
        f"SELECT * FROM {schema}.inbox WHERE recipient = $1 AND ($2::bool IS FALSE OR read_at IS NULL) "
        "AND ($3::bigint IS NULL OR seq < $3) ORDER BY seq DESC LIMIT $4",
        recipient, unread_only, before_seq, limit,
    )


async def unread_count(pool: asyncpg.Pool, schema: str, recipient: str) -> int:
    return await pool.fetchval(
        f"SELECT count(*) FROM {schema}.inbox WHERE recipient = $1 AND read_at IS NULL", recipient
    )


async def mark_read(pool: asyncpg.Pool, schema: str, recipient: str, notification_id: uuid.UUID, at: datetime) -> bool:
    found = await pool.fetchval(
        f"UPDATE {schema}.inbox SET read_at = coalesce(read_at, $3) WHERE recipient = $1 AND notification_id = $2 "
        "RETURNING true",
        recipient, notification_id, at,
    )
    return bool(found)


async def notification(pool: asyncpg.Pool, schema: str, notification_id: uuid.UUID):
    """The notification, its deliveries and every attempt, or None."""
    row = await pool.fetchrow(f"SELECT * FROM {schema}.notifications WHERE notification_id = $1", notification_id)
    if row is None:
        return None
    deliveries = await pool.fetch(
        f"SELECT * FROM {schema}.deliveries WHERE notification_id = $1 ORDER BY channel", notification_id
    )
    attempts = await pool.fetch(
        f"SELECT * FROM {schema}.delivery_attempts WHERE delivery_id = ANY($1::uuid[]) "
        "ORDER BY delivery_id, revival, attempt",
        [d["delivery_id"] for d in deliveries],
    )
    return row, deliveries, attempts


async def caused_by(pool: asyncpg.Pool, schema: str, event_id: uuid.UUID):
    return await pool.fetch(
        f"SELECT * FROM {schema}.notifications WHERE caused_by_event_id = $1 ORDER BY seq", event_id
    )


async def dead_letters(pool: asyncpg.Pool, schema: str, channel: str | None, limit: int):
    return await pool.fetch(
        f"SELECT d.*, n.rule, n.title, n.caused_by_event_id FROM {schema}.deliveries d "
        f"JOIN {schema}.notifications n USING (notification_id) "
        "WHERE d.state = 'dead' AND ($1::text IS NULL OR d.channel = $1) ORDER BY d.finished_at DESC LIMIT $2",
        channel, limit,
    )


async def retry(pool: asyncpg.Pool, schema: str, delivery_id: uuid.UUID, at: datetime) -> bool:
    """Give a dead-lettered delivery another round of attempts (after the endpoint was fixed)."""
    async with pool.acquire() as conn, conn.transaction():
        found = await conn.fetchval(
            f"UPDATE {schema}.deliveries SET state = 'pending', attempts = 0, revival = revival + 1, "
            "next_attempt_at = $2, finished_at = NULL WHERE delivery_id = $1 AND state = 'dead' RETURNING true",
            delivery_id, at,
        )
        if found:
            await conn.execute("SELECT pg_notify($1, '')", deliveries_channel(schema))
    return bool(found)


async def subscriptions(pool: asyncpg.Pool, schema: str, recipient: str):
    return await pool.fetch(
        f"SELECT channel, address FROM {schema}.subscriptions WHERE recipient = $1 ORDER BY channel", recipient
    )


async def subscribe(pool: asyncpg.Pool, schema: str, recipient: str, channel: str, address: str) -> None:
    await pool.execute(
        f"INSERT INTO {schema}.subscriptions (recipient, channel, address) VALUES ($1, $2, $3) "
        "ON CONFLICT (recipient, channel) DO UPDATE SET address = EXCLUDED.address",
        recipient, channel, address,
    )


async def unsubscribe(pool: asyncpg.Pool, schema: str, recipient: str, channel: str) -> bool:
    return bool(
        await pool.fetchval(
            f"DELETE FROM {schema}.subscriptions WHERE recipient = $1 AND channel = $2 RETURNING true",
            recipient, channel,
        )
    )
