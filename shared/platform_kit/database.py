"""PostgreSQL connections and schemas.

Each service owns one schema and no service reads another's tables. Every connection
speaks UTC and reads ``jsonb`` as Python objects.
"""

from __future__ import annotations

import json
import re
import socket
from typing import Any

import asyncpg

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def checked_schema(name: str) -> str:
    """A schema name that is safe to put into SQL text (it cannot be a bind parameter)."""
    if not _SCHEMA_NAME.match(name):
        raise ValueError(f"schema: {name!r} is not a plain lower-case identifier")
    return name


# One encoder for every value: json.dumps with these options builds a new one per call (a
# quarter of the cost of a fact's small jsonb, which a rebuild writes a million times).
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _encode_json(value: Any) -> str:
    return value if isinstance(value, str) else _JSON.encode(value)


_JSONB_VERSION = b"\x01"


def _encode_jsonb(value: Any) -> bytes:
    # Binary, so that COPY (which speaks only binary) can write jsonb columns.
    return _JSONB_VERSION + _encode_json(value).encode()


def _decode_jsonb(data: bytes) -> Any:
    # PostgreSQL's jsonb text is UTF-8: decoded as such, json.loads skips guessing the encoding
    # of bytes (a sixth of the decoding of a rebuild's facts).
    return json.loads(data[1:].decode())


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb", encoder=_encode_jsonb, decoder=_decode_jsonb, schema="pg_catalog", format="binary"
    )
    await conn.set_type_codec("json", encoder=_encode_json, decoder=json.loads, schema="pg_catalog")


async def connect(
    dsn: str,
    *,
    command_timeout: float | None = None,
    keepalive_seconds: int | None = None,
    server_settings: dict[str, str] | None = None,
    connect_timeout: float = 60.0,
) -> asyncpg.Connection:
    """One connection. ``keepalive_seconds`` turns on TCP keepalives at both ends (probe
    after that much silence, then every that much, three times): a peer that vanished is
    noticed in about four times that, not PostgreSQL's default two hours."""
    settings = {"timezone": "UTC", **(server_settings or {})}
    if keepalive_seconds is not None:
        settings |= {
            "tcp_keepalives_idle": str(keepalive_seconds),
            "tcp_keepalives_interval": str(keepalive_seconds),
            "tcp_keepalives_count": "3",
        }
    conn = await asyncpg.connect(
        dsn, server_settings=settings, command_timeout=command_timeout, timeout=connect_timeout
    )
    if keepalive_seconds is not None:
        _client_keepalive(conn, keepalive_seconds)
    await _init_connection(conn)
    return conn


def _client_keepalive(conn: asyncpg.Connection, seconds: int) -> None:
    sock = conn._transport.get_extra_info("socket")  # asyncpg exposes no socket options
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for option, value in (("TCP_KEEPIDLE", seconds), ("TCP_KEEPINTVL", seconds), ("TCP_KEEPCNT", 3)):
        if hasattr(socket, option):
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        reset=_no_session_state,
        server_settings={"timezone": "UTC"},
    )


async def _no_session_state(conn: asyncpg.Connection) -> None:
    """What a pooled connection needs when it is given back: nothing more than asyncpg's own
    rollback of an unfinished transaction (done before this is called).

    asyncpg's default sends ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`` on
    every release: one more round trip, and on the append path it comes before the caller has
    its answer (a one-event append was a fifth slower for it). The kit keeps no session state
    on pooled connections: a leader's session lock, a ``LISTEN`` and a session ``SET`` each live
    on a connection of their own (``connect()``: the relay, the change feed, the notifier's
    deliveries); on the pool, locks are transaction locks (``pg_advisory_xact_lock``) and
    settings ``SET LOCAL``."""


async def apply_ddl(pool: asyncpg.Pool, schema: str, ddl: str) -> None:
    """Create what ``ddl`` describes (idempotent statements, ``{schema}`` filled in).

    An advisory lock keeps two processes that start together from racing on the catalogue.
    """
    schema = checked_schema(schema)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('platform-kit-ddl'))")
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        await conn.execute(ddl.format(schema=schema))
