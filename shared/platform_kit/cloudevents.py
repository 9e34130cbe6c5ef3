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
  place it: ``$message.header#/correlation_id``);
* ``traceparent`` (W3C trace context), added by the relay when the event was appended in a
  trace (:mod:`platform_kit.tracing`).

:data:`HEADERS_SCHEMA` says all this in the AsyncAPI documents (each event topic's message
``headers``), so a consumer in any language knows where each attribute is.

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


# What the AsyncAPI documents say of these headers (the message ``headers`` of every event
# topic): each attribute, where it comes from, and which are always there.
_UUID = {"type": "string", "format": "uuid"}
TRACEPARENT_SCHEMA = {
    "type": "string", "pattern": "^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
    "description": "W3C trace context of the work that appended the event (an HTTP command, a department's "
    "message, the event that caused it): a consumer continues the trace. Absent when none was traced.",
}
HEADERS_SCHEMA: dict[str, Any] = {
    "title": "CloudEventsKafkaHeaders",
    "type": "object",
    "description": "Kafka headers in the CloudEvents Kafka protocol binding, binary content mode: the value is "
    "the envelope (JSON); a router reads ce_type without parsing it. Ids, types and times only, never personal data.",
    "properties": {
        "ce_specversion": {"const": "1.0", "description": "CloudEvents 1.0"},
        "ce_id": _UUID | {"description": "the envelope's event_id"},
        "ce_source": {"type": "string", "pattern": "^/migrant-services/", "description": "/migrant-services/ and the envelope's source (a service, or dept:<name>)"},
        "ce_type": {"type": "string", "description": "the envelope's event_type"},
        "ce_subject": {"type": "string", "description": "the envelope's stream_id (also the record's key)"},
        "ce_time": {"type": "string", "format": "date-time", "description": "the envelope's recorded_at (system time)"},
        "ce_occurredat": {"type": "string", "format": "date-time", "description": "extension: the envelope's occurred_at (business time)"},
        "content-type": {"const": "application/json"},
        "correlation_id": _UUID | {"description": "the envelope's correlation_id, when it has one"},
        "traceparent": TRACEPARENT_SCHEMA,
    },
    "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_subject", "ce_time", "ce_occurredat", "content-type"],
}
TRACE_HEADERS_SCHEMA: dict[str, Any] = {
    "title": "TraceHeaders",
    "type": "object",
    "description": "Optional W3C trace context: a department that traces its systems sends its traceparent, and "
    "the district's work on the message continues that trace.",
    "properties": {"traceparent": TRACEPARENT_SCHEMA, "tracestate": {"type": "string"}},
}


def _fields(envelope: Envelope | Mapping[str, Any] | str | bytes) -> Mapping[str, Any]:
    if isinstance(envelope, Envelope):
        return envelope.model_dump(mode="json")
    if isinstance(envelope, str | bytes):
        return from_json(envelope)  # pydantic's Rust parser: about 3x json.loads, per relayed row
    return envelope


def _text(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
