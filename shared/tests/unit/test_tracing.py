"""Trace context without an exporter: nothing is recorded, yet the caller's context passes on
(HTTP → the events appended → the consumers → what they append), and log lines name it."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry import trace

from platform_kit import tracing
from platform_kit.logs import configure_logging, get_logger

pytestmark = pytest.mark.unit

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER = f"00-{TRACE}-00f067aa0ba902b7-01"


def test_without_an_endpoint_nothing_is_installed_and_nothing_records(monkeypatch):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    assert tracing.configure("registry") is False
    assert not tracing.recording()
    assert tracing.current_traceparent() is None


async def test_a_route_runs_in_the_callers_trace_context():
    app = FastAPI(telemetry=tracing.FASTAPI_TELEMETRY)

    @app.post("/api/things")
    async def seen() -> dict:
        return {"traceparent": tracing.current_traceparent(), "for_an_append": tracing.traceparent_for(None)}

    app.add_middleware(tracing.HttpTracing)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client:
        traced = (await client.post("/api/things", headers={"traceparent": CALLER})).json()
        untraced = (await client.post("/api/things")).json()
    assert traced == {"traceparent": CALLER, "for_an_append": CALLER}
    assert untraced == {"traceparent": None, "for_an_append": None}


def test_a_consumer_continues_each_events_own_trace_and_appends_follow_their_cause():
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    other = f"00-{'1' * 32}-{'2' * 16}-01"
    items = [
        (first, "ResidentRegistered", [("ce_type", b"ResidentRegistered"), ("traceparent", CALLER.encode())]),
        (second, "ResidentMoved", [("traceparent", other.encode())]),
        (third, "ResidentMoved", None),  # a record from before traces: no context, no error
    ]
    with tracing.consumed("decisions", items):
        assert tracing.traceparent_of(first) == CALLER and tracing.traceparent_of(second) == other
        assert tracing.traceparent_of(third) is None
        assert tracing.traceparent_for(second) == other  # an event caused by the second continues its trace
        assert tracing.traceparent_for(uuid.uuid4()) is None
        assert tracing.traceparents_for([first, third, None]) == [CALLER, None, None]
    assert tracing.traceparent_of(first) is None  # the batch is over


def test_log_lines_name_the_trace_and_span_they_were_written_in(capsys):
    configure_logging("registry", "INFO", "json")
    parent = trace.get_current_span(tracing.context_of(CALLER))
    with trace.use_span(parent):
        get_logger("t").info("inside")
    get_logger("t").info("outside")
    inside, outside = (json.loads(line) for line in capsys.readouterr().err.strip().splitlines()[-2:])
    assert (inside["trace_id"], inside["span_id"]) == (TRACE, "00f067aa0ba902b7")
    assert "trace_id" not in outside
