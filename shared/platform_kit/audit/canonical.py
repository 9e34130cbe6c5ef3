"""The bytes of a stored event that the hash chain seals, and the link between two seals.

``hash_n = sha256(hash_{n-1} || canonical(row_n))``, with 32 zero bytes before the first.
The canonical form is a compact JSON array, in a fixed order, of every stored column:
position, event_id, stream_id, stream_version, event_type, schema_version, occurred_at,
recorded_at (UTC, microseconds, ``Z``), unit_code, source, correlation_id, causation_id
(``null`` when absent), and the payload **as PostgreSQL stores it** (``payload::text``, the
jsonb's own normalised text: key order and spacing are PostgreSQL's, not Python's, so
re-serialising cannot change what was sealed). Personal data is sealed (AES-GCM) inside the
payload by the registry, so erasing a person (deleting their key) leaves the stored bytes,
and therefore the chain, unchanged and verifiable.

The position is sealed too: a row renumbered is a row moved, and the chain says so.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from platform_kit.event_store import COLUMNS

GENESIS = bytes(32)
# Every column the event store keeps, in its order: the chain seals the row as stored.
FIELDS = COLUMNS
# The columns to select so that a row can be sealed: payload as PostgreSQL's text.
SELECT = ", ".join(f for f in FIELDS if f != "payload") + ", payload::text AS payload"


def _text(value: Any) -> Any:
    if value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    raise TypeError(f"cannot seal a {type(value).__name__}")


def sealed_form(row: Mapping[str, Any]) -> dict[str, Any]:
    """The row's columns as the chain sees them (strings and integers only): what an export
    carries so that an auditor can recompute a link with nothing but this file."""
    return {name: _text(row[name]) for name in FIELDS}


def canonical(row: Mapping[str, Any]) -> bytes:
    form = sealed_form(row)
    if not isinstance(form["payload"], str):
        raise TypeError("payload: give the stored text (payload::text), not a parsed object")
    return json.dumps([form[name] for name in FIELDS], ensure_ascii=False, separators=(",", ":")).encode()


def link(previous: bytes, row: Mapping[str, Any]) -> bytes:
    return hashlib.sha256(previous + canonical(row)).digest()
