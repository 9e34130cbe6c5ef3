"""The inbox: every notification lands in its recipient's inbox, readable over HTTP."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from notifier.adapters.channels import Channel
from notifier.adapters.queue import Outgoing


class InboxChannel(Channel):
    name = "inbox"
    per_recipient = 200  # in-database and ordered: a recipient's whole backlog can go at once
    batched = True

    def __init__(self, pool: asyncpg.Pool, schema: str) -> None:
        self.pool, self.schema = pool, schema

    async def send(self, item: Outgoing, now: datetime) -> None:
        await self.pool.execute(
            f"INSERT INTO {self.schema}.inbox (recipient, notification_id, delivery_id, seq, rule, title, text, "
            "caused_by_event_id, delivered_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
            item.recipient, item.notification_id, item.delivery_id, item.seq, item.rule, item.title, item.text,
            item.caused_by_event_id, now,
        )

    async def send_batch(self, items: list[Outgoing], now: datetime) -> None:
        columns = list(zip(*[(i.recipient, i.notification_id, i.delivery_id, i.seq, i.rule, i.title, i.text,
                              i.caused_by_event_id) for i in items], strict=True))
        await self.pool.execute(
            f"INSERT INTO {self.schema}.inbox (recipient, notification_id, delivery_id, seq, rule, title, text, "
            "caused_by_event_id, delivered_at) "
            "SELECT *, $9::timestamptz FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::bigint[], $5::text[], "
            "$6::text[], $7::text[], $8::uuid[]) ON CONFLICT DO NOTHING",
            *map(list, columns), now,
        )
