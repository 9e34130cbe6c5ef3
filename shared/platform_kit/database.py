"""PostgreSQL connections and schemas.

Each service owns one schema and no service reads another's tables. Every connection
speaks UTC and reads ``jsonb`` as Python objects.
"""

from __future__ import annotations

import json
import re
from typing import Any

import asyncpg

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def checked_schema(name: str) -> str:
    """A schema name that is safe to put into SQL text (it cannot be a bind parameter)."""
    if not _SCHEMA_NAME.match(name):
        raise ValueError(f"schema: {name!r} is not a plain lower-case identifier")
    return name


def _encode_json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


_JSONB_VERSION = b"\x01"


def _encode_jsonb(value: Any) -> bytes:
    # Binary, so that COPY (which speaks only binary) can write jsonb columns.
    return _JSONB_VERSION + _encode_json(value).encode()


def _decode_jsonb(data: bytes) -> Any:
    return json.loads(data[1:])


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb", encoder=_encode_jsonb, decoder=_decode_jsonb, schema="pg_catalog", format="binary"
    )
    await conn.set_type_codec("json", encoder=_encode_json, decoder=json.loads, schema="pg_catalog")


async def connect(dsn: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(dsn, server_settings={"timezone": "UTC"})
    await _init_connection(conn)
    return conn


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        server_settings={"timezone": "UTC"},
    )


async def apply_ddl(pool: asyncpg.Pool, schema: str, ddl: str) -> None:
    """Create what ``ddl`` describes (idempotent statements, ``{schema}`` filled in).

    An advisory lock keeps two processes that start together from racing on the catalogue.
    """
    schema = checked_schema(schema)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('platform-kit-ddl'))")
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        await conn.execute(ddl.format(schema=schema))
