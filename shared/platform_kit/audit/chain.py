"""The hash chain beside an event store, sealed by a loop, never by the append.

The append path stays as it is (one advisory lock, positions dense and in commit order; see
:mod:`platform_kit.event_store`). A separate loop, one per service with a store, reads the
events after the chain's head *in position order* and writes one ``event_chain`` row per
event: ``(position, event_id, stream_id, hash)``. Because positions are handed out in commit
order without holes, "everything after the head" never skips an event a slower transaction
commits later. A hole (a row deleted before it was sealed) stops the sealing at the hole and
is logged every round: the chain never seals over a gap, and ``msp audit verify`` reports it.

Several replicas may run the loop: a transaction-scoped advisory lock lets one seal at a time.

Every ``anchor_every_seconds`` (and on demand, e.g. before an export) the head (position,
hash) is written to ``audit_anchor`` and logged; an operator may publish it elsewhere (a
ticket, an e-mail to the auditor), which is what makes a wholesale rewrite of events *and*
chain detectable: the rewritten chain no longer reaches the published hash.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from dataclasses import dataclass

import asyncpg

from platform_kit.audit.canonical import GENESIS, SELECT, link
from platform_kit.database import apply_ddl, checked_schema
from platform_kit.logs import get_logger

log = get_logger(__name__)

DDL = """
CREATE TABLE IF NOT EXISTS {schema}.event_chain (
    position  bigint PRIMARY KEY,
    event_id  uuid   NOT NULL,
    stream_id text   NOT NULL,
    hash      bytea  NOT NULL
);
CREATE TABLE IF NOT EXISTS {schema}.audit_anchor (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    position    bigint      NOT NULL,
    hash        bytea       NOT NULL,
    anchored_at timestamptz NOT NULL DEFAULT now(),
    reason      text        NOT NULL
);
"""


def _lock_key(schema: str) -> int:
    digest = hashlib.blake2b(f"platform-kit-audit-seal:{schema}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@dataclass(frozen=True, slots=True)
class Head:
    position: int
    hash: bytes

    @property
    def hex(self) -> str:
        return self.hash.hex()


class ChainSealer:
    def __init__(
        self,
        pool: asyncpg.Pool,
        schema: str,
        *,
        batch_size: int = 2000,
        poll_seconds: float = 0.5,
        anchor_every_seconds: float = 300.0,
    ) -> None:
        self.pool = pool
        self.schema = checked_schema(schema)
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.anchor_every_seconds = anchor_every_seconds
        self.lock_key = _lock_key(self.schema)
        self._gap_logged_at: int | None = None

    async def setup(self) -> None:
        await apply_ddl(self.pool, self.schema, DDL)

    async def head(self, conn: asyncpg.Connection | asyncpg.Pool | None = None) -> Head:
        row = await (conn or self.pool).fetchrow(
            f"SELECT position, hash FROM {self.schema}.event_chain ORDER BY position DESC LIMIT 1"
        )
        return Head(row["position"], bytes(row["hash"])) if row else Head(0, GENESIS)

    async def seal_once(self) -> int:
        """Seal the next batch of events after the head; how many were sealed."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1::bigint)", self.lock_key)
            head = await self.head(conn)
            rows = await conn.fetch(
                f"SELECT {SELECT} FROM {self.schema}.events WHERE position > $1 ORDER BY position LIMIT $2",
                head.position, self.batch_size,
            )
            sealed, previous, expected = [], head.hash, head.position + 1
            for row in rows:
                if row["position"] != expected:
                    self._gap(expected, row["position"])
                    break
                previous = link(previous, row)
                sealed.append((row["position"], row["event_id"], row["stream_id"], previous))
                expected += 1
            if sealed:
                await conn.copy_records_to_table(
                    "event_chain", schema_name=self.schema,
                    columns=("position", "event_id", "stream_id", "hash"), records=sealed,
                )
            return len(sealed)

    def _gap(self, expected: int, found: int) -> None:
        if self._gap_logged_at != expected:  # once per gap, not every half second
            self._gap_logged_at = expected
            log.error("audit.chain_gap", schema=self.schema, missing_position=expected, next_position=found)

    async def seal_all(self) -> Head:
        """Seal everything committed so far (a test, an export, a stop)."""
        while await self.seal_once() == self.batch_size:
            pass
        return await self.head()

    async def anchor(self, reason: str) -> Head:
        """Write the chain's head to ``audit_anchor`` and log it (an operator may publish it)."""
        head = await self.head()
        if head.position:
            await self.pool.execute(
                f"INSERT INTO {self.schema}.audit_anchor (position, hash, reason) VALUES ($1, $2, $3)",
                head.position, head.hash, reason,
            )
            log.info("audit.anchor", schema=self.schema, position=head.position, hash=head.hex, reason=reason)
        return head

    async def run(self, stop: asyncio.Event) -> None:
        """Seal as events arrive; anchor the head when it moved and the interval passed."""
        loop = asyncio.get_running_loop()
        anchored = (await self.last_anchor()).position
        next_anchor = loop.time() + self.anchor_every_seconds
        while not stop.is_set():
            full = await self.seal_once() == self.batch_size
            if loop.time() >= next_anchor:
                next_anchor = loop.time() + self.anchor_every_seconds
                head = await self.head()
                if head.position != anchored:
                    anchored = (await self.anchor("periodic")).position
            if not full:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.poll_seconds)
        await self.seal_once()

    async def last_anchor(self) -> Head:
        row = await self.pool.fetchrow(
            f"SELECT position, hash FROM {self.schema}.audit_anchor ORDER BY id DESC LIMIT 1"
        )
        return Head(row["position"], bytes(row["hash"])) if row else Head(0, GENESIS)
