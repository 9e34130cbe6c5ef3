"""Kafka headers in the CloudEvents Kafka protocol binding (binary content mode).

The message value stays the platform's envelope (JSON). The headers repeat what a router, a
bridge or a console needs to know about the event without parsing the value: a Kafka Connect
or Knative consumer that speaks CloudEvents reads ``ce_type`` and routes.

* ``ce_specversion`` 1.0; ``ce_id`` the event_id; ``ce_type`` the event_type;
  ``ce_subject`` the stream_id;
* ``ce_source`` ``/migrant-services/<envelope source>`` (a service name or ``dept:<name>``);
* ``ce_time`` is ``recorded_at``, the system time at which the store took the event. The
  binding wants one clock, consistent per source; ``occurred_at`` is business time (a
  department's date, a replayed year) and is kept in the extension ``ce_occurredat``;
* ``content-type: application/json``, and ``correlation_id`` (where the AsyncAPI documents
  place it: ``$message.header#/correlation_id``).

No personal data is ever in a header: ids, types and times only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic_core import from_json

from platform_kit.envelope import Envelope

SPEC_VERSION = b"1.0"
SOURCE_PREFIX = "/migrant-services/"
CONTENT_TYPE = b"application/json"

Headers = list[tuple[str, bytes]]


def headers(envelope: Envelope | Mapping[str, Any] | str | bytes) -> Headers:
    """The headers of one event: an :class:`Envelope`, or its JSON (as text or as the parsed
    object) — the relay holds the JSON PostgreSQL built, and building an Envelope per row
    would cost it more than the send."""
    fields = _fields(envelope)
    out: Headers = [
        ("ce_specversion", SPEC_VERSION),
        ("ce_id", str(fields["event_id"]).encode()),
        ("ce_source", (SOURCE_PREFIX + str(fields["source"])).encode()),
        ("ce_type", str(fields["event_type"]).encode()),
        ("ce_subject", str(fields["stream_id"]).encode()),
        ("ce_time", _text(fields["recorded_at"]).encode()),
        ("ce_occurredat", _text(fields["occurred_at"]).encode()),
        ("content-type", CONTENT_TYPE),
    ]
    if fields.get("correlation_id") is not None:
        out.append(("correlation_id", str(fields["correlation_id"]).encode()))
    return out


def _fields(envelope: Envelope | Mapping[str, Any] | str | bytes) -> Mapping[str, Any]:
    if isinstance(envelope, Envelope):
        return envelope.model_dump(mode="json")
    if isinstance(envelope, str | bytes):
        return from_json(envelope)  # pydantic's Rust parser: about 3x json.loads, per relayed row
    return envelope


def _text(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
