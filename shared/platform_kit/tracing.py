"""Traces: one W3C trace context from the HTTP command to the notifier's delivery.

The path of a birth report crosses three processes and two hops that are not calls (the outbox
and Kafka), so the context travels as data:

* HTTP: FastAPI's own telemetry continues the caller's ``traceparent`` (or starts a trace) in
  a server span, the current span while the route runs (:data:`FASTAPI_TELEMETRY`);
* the append: the event store keeps the ``traceparent`` of each event beside its outbox row
  (:func:`traceparent_for`), and the relay sends it as the record's ``traceparent`` header;
* consumers: the projection runner continues it per event (:func:`consumed`), the department
  gate through FastStream's own telemetry middleware; an event a projection appends is a child
  of the event that caused it (``causation_id``);
* the notifier: a notification keeps the context of the event that caused it, and each delivery
  is a client span whose ``traceparent`` the webhook sends.

Spans are exported over OTLP/HTTP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set (:func:`configure`, the SDK reads the rest of the
``OTEL_*`` variables). Otherwise nothing is recorded or sent, but the context is still passed on
as it came, so a system beside ours that does trace sees one trace through us.

Span names and attributes hold ids, types and route templates only: never personal data.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACEPARENT = "traceparent"
_PROPAGATOR = TraceContextTextMapPropagator()
_tracer = trace.get_tracer("platform_kit")
# event_id -> the traceparent of the work that handled it (a projection's batch, a delivery):
# what an event appended *because of* that one continues.
_CAUSES: ContextVar[Mapping[uuid.UUID, str]] = ContextVar("platform_kit_trace_causes", default={})
_configured: set[str] = set()


def configure(service: str) -> bool:
    """Export this process's spans over OTLP/HTTP when an endpoint is configured; True if so.

    Without an endpoint the API's no-op provider stays: no span is recorded, none sent."""
    if not (os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")):
        return False
    if _configured:  # one provider per process (OpenTelemetry refuses a second)
        return True
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # OTEL_SERVICE_NAME, when set, names the process as an operator wants it.
    provider = TracerProvider(resource=Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service)}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _configured.add(service)
    return True


def recording() -> bool:
    """True when spans are recorded (an SDK provider is installed), so per-event spans are worth
    their cost; False leaves only the pass-through of the context."""
    return type(trace.get_tracer_provider()).__name__ not in ("ProxyTracerProvider", "NoOpTracerProvider")


def current_traceparent() -> str | None:
    """The ``traceparent`` of the current span, or None outside any trace."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get(TRACEPARENT)


def traceparent_for(causation_id: uuid.UUID | None) -> str | None:
    """The context an event is appended in: that of the event that caused it, when its handling
    is traced in this task, else the current span's."""
    if causation_id is not None and (cause := _CAUSES.get().get(causation_id)) is not None:
        return cause
    return current_traceparent()


def traceparents_for(causation_ids: Sequence[uuid.UUID | None]) -> list[str | None]:
    """:func:`traceparent_for` of each id, the current context read once: an append of
    thousands of events (a replay, the demo) pays one lookup per event, not one propagation."""
    current = current_traceparent()
    causes = _CAUSES.get()
    if not causes:
        return [current] * len(causation_ids)
    return [causes.get(c, current) if c is not None else current for c in causation_ids]


def traceparent_of(event_id: uuid.UUID) -> str | None:
    """The traceparent under which this task handles the event ``event_id`` (inside
    :func:`consumed`): a projection keeps it with what it decides."""
    return _CAUSES.get().get(event_id)


def context_of(traceparent: str | None) -> otel_context.Context | None:
    if not traceparent:
        return None
    return _PROPAGATOR.extract({TRACEPARENT: traceparent})


def header_of(headers: Iterable[tuple[str, bytes]] | None) -> str | None:
    """The ``traceparent`` header of a Kafka record, if it has one."""
    for key, value in headers or ():
        if key == TRACEPARENT:
            return value.decode("latin-1")
    return None


def traceparent_of_span(span: Span) -> str | None:
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
    return carrier.get(TRACEPARENT)


@contextlib.contextmanager
def caused_by(contexts: Mapping[uuid.UUID, str]) -> Iterator[None]:
    """Appends made inside continue the trace of the event they were caused by."""
    token = _CAUSES.set({**_CAUSES.get(), **contexts})
    try:
        yield
    finally:
        _CAUSES.reset(token)


def start_span(name: str, parent: str | None, kind: SpanKind, attributes: Mapping[str, Any] | None = None) -> Span:
    """A span continuing ``parent`` (a traceparent). Not recording: the parent's own context, so
    the trace id still flows on."""
    if not recording():
        parent_context = context_of(parent)
        span_context = trace.get_current_span(parent_context).get_span_context() if parent_context else None
        return NonRecordingSpan(span_context) if span_context is not None else trace.INVALID_SPAN
    return _tracer.start_span(name, context=context_of(parent), kind=kind, attributes=attributes)


@contextlib.contextmanager
def consumed(consumer: str, items: Sequence[tuple[uuid.UUID, str, Iterable[tuple[str, bytes]] | None]]) -> Iterator[None]:
    """One consumer span per event that came with a trace context (``items``: the event's id,
    its type, its record's headers), all open while the batch takes effect; appends and
    decisions made meanwhile continue each event's own trace."""
    spans: list[Span] = []
    contexts: dict[uuid.UUID, str] = {}
    for event_id, event_type, headers in items:
        parent = header_of(headers)
        if parent is None:
            continue
        span = start_span(
            f"{consumer} process", parent, SpanKind.CONSUMER,
            {"messaging.system": "kafka", "messaging.operation.type": "process", "messaging.consumer.group.name": consumer,
             "messaging.message.id": str(event_id), "cloudevents.event_type": event_type},
        )
        spans.append(span)
        contexts[event_id] = traceparent_of_span(span) or parent
    try:
        with caused_by(contexts):
            yield
    except BaseException as error:
        for span in spans:
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
        raise
    finally:
        for span in spans:
            span.end()


def add_trace_ids(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: the current trace and span ids on every line, to find a trace's logs."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict.setdefault("trace_id", format(context.trace_id, "032x"))
        event_dict.setdefault("span_id", format(context.span_id, "016x"))
    return event_dict


# FastAPI's own telemetry (0.165+) makes each request's server span, named by its route template,
# once a provider records; these options keep it to that span: no spans per dependency, and no
# OpenTelemetry log records of refused input (they would carry the input: personal data).
FASTAPI_TELEMETRY: dict[str, Any] = {"operation_spans": False, "logs": False, "metrics": False}


class HttpTracing:
    """ASGI middleware for when nothing records: the caller's ``traceparent`` is still the
    current context while the route runs, so the events it appends pass the trace on. When a
    provider records, FastAPI's own telemetry does this (and makes the span): this stands aside."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        parent = None
        if scope["type"] == "http" and not recording():
            parent = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"traceparent"), None)
        if parent is None:
            await self.app(scope, receive, send)
            return
        token = otel_context.attach(context_of(parent))
        try:
            await self.app(scope, receive, send)
        finally:
            otel_context.detach(token)
