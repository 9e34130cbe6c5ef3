"""One command's trace, followed through the four services run as production runs them.

A member of staff registers a migrant woman over HTTP with a W3C ``traceparent`` of the test's
own; the services export their spans over OTLP/HTTP to a receiver in this test (the endpoint is
configured the way an operator would, ``OTEL_EXPORTER_OTLP_ENDPOINT``). The same trace id must
come out at the far end, the webhook the unit subscribed to, and every hop between must be a
span of that trace whose parent is the hop before: the registry's HTTP span, the notifier's and
the assessment's consumer spans (the record's ``traceparent`` header), the notifier's delivery.
A department's message with a ``traceparent`` header is continued by the gate in the same way.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI, Request, Response
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest, ExportTraceServiceResponse

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE.parents[1] / "e2e"))

from district_api import Api, department_message, eventually, married_migrant_woman, read_topic  # noqa: E402
import service_processes as harness  # noqa: E402
from service_processes import free_port  # noqa: E402

JIANSHE = "370402001001"  # 建设社区
REPLAY_START = "2013-06-10T10:00:00+08:00"  # the e2e tests' June 2013: the inflow rule's time


class Receivers:
    """An OTLP/HTTP trace receiver (protobuf, as the SDK's exporter sends) and a unit's webhook."""

    def __init__(self) -> None:
        self.port = free_port()
        self.spans: dict[str, list[dict]] = defaultdict(list)  # trace id (hex) -> spans, with their service
        self.webhooks: list[tuple[dict[str, str], dict]] = []

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/traces")
        async def traces(request: Request) -> Response:
            export = ExportTraceServiceRequest.FromString(await request.body())
            for resource_spans in export.resource_spans:
                service = next(a.value.string_value for a in resource_spans.resource.attributes if a.key == "service.name")
                for scope in resource_spans.scope_spans:
                    for span in scope.spans:
                        self.spans[span.trace_id.hex()].append({
                            "service": service, "name": span.name, "kind": span.kind,
                            "span_id": span.span_id.hex(), "parent": span.parent_span_id.hex(),
                        })
            return Response(ExportTraceServiceResponse().SerializeToString(), media_type="application/x-protobuf")

        @app.post("/hooks/jianshe")
        async def webhook(request: Request) -> Response:
            self.webhooks.append((dict(request.headers), json.loads(await request.body())))
            return Response(status_code=204)

        return app


@pytest.mark.timeout(1500)  # the start alone may take minutes on a machine shared with other suites
async def test_one_registration_is_one_trace_from_the_http_call_to_the_webhook(stack, tmp_path):
    receivers = Receivers()
    server = uvicorn.Server(uvicorn.Config(receivers.app(), host="127.0.0.1", port=receivers.port, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve())
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    try:
        district = harness.district(
            stack.bootstrap_servers, stack.database_url, tmp_path,
            clock_start=REPLAY_START, clock_started_at=datetime.now(UTC).isoformat(),
            otel_exporter_otlp_endpoint=f"http://127.0.0.1:{receivers.port}",
            otel_bsp_schedule_delay="200",  # export within a fifth of a second, not five
        )
        try:
            for process in district.processes.values():
                process.start()
            for process in district.processes.values():
                # Importing four services on two cores that other suites keep busy can take minutes.
                await asyncio.to_thread(process.wait_ready, 600)
            api = Api(district)
            try:
                subscribed = await api.http.put(
                    f"{district.url('notifier')}/api/recipients/unit:{JIANSHE}/subscriptions/webhook",
                    json={"address": f"http://127.0.0.1:{receivers.port}/hooks/jianshe"},
                )
                assert subscribed.status_code == 204, subscribed.text
                registered = await api.http.post(
                    f"{district.url('registry')}/api/residents", json=married_migrant_woman(JIANSHE, 7),
                    headers={"traceparent": f"00-{trace_id}-{caller_span}-01"},
                )
                assert registered.status_code == 201, registered.text
                woman = registered.json()["resident_id"]

                def inflow_webhooks(_=None):
                    return [(h, b) for h, b in receivers.webhooks if b["rule"] == "inflow" and woman in b["text"]]

                async def probe_webhooks():
                    return inflow_webhooks()

                [(headers, _body)] = await eventually(probe_webhooks, bool, "the inflow notice at the unit's webhook")
                assert headers["traceparent"].split("-")[1] == trace_id, headers

                wanted = {("registry", "SERVER"), ("notifier", "CONSUMER"), ("notifier", "CLIENT"), ("assessment", "CONSUMER")}

                async def spans_of_the_trace():
                    return list(receivers.spans.get(trace_id, []))

                # The delivery's own span ends after the HTTP call inside it: it may come in a
                # later export than the first notifier CLIENT span, so it is waited for by name.
                spans = await eventually(
                    spans_of_the_trace,
                    lambda s: wanted <= {(x["service"], _KIND[x["kind"]]) for x in s} and any(x["name"] == "deliver webhook" for x in s),
                    "the spans of the registration's trace, from the registry, the assessment and the notifier",
                )
                by_id = {s["span_id"]: s for s in spans}
                servers = [s for s in spans if s["service"] == "registry" and _KIND[s["kind"]] == "SERVER"]
                assert len(servers) == 1, spans
                [http] = servers
                assert (http["name"], http["parent"]) == ("POST /api/residents", caller_span)
                decided = [s for s in spans if s["name"] == "decisions process"]
                assert decided and all(by_id.get(s["parent"], {}).get("span_id") == http["span_id"] for s in decided), spans
                [delivery] = [s for s in spans if s["name"] == "deliver webhook"]
                assert by_id[delivery["parent"]]["name"] == "decisions process", spans
                assert headers["traceparent"].split("-")[2] == delivery["span_id"]

                # The record saying it was delivered carries the trace on as its Kafka header.
                async def delivered_records():
                    records = await read_topic(stack.bootstrap_servers, district.namespace + "notifier.events")
                    # Other notices reach the same webhook too (the scheduled rankings): the one
                    # delivery of this registration's notice is the one on its trace.
                    return [
                        r for r, v in records
                        if v["event_type"] == "NotificationDelivered" and v["payload"]["channel"] == "webhook"
                        and trace_id in dict(r.headers).get("traceparent", b"").decode()
                    ]

                [record] = await eventually(delivered_records, bool, "NotificationDelivered on notifier.events")
                traceparent = dict(record.headers)["traceparent"].decode()
                assert traceparent.split("-")[1] == trace_id

                # A department's system that traces sends its traceparent; the gate (FastStream's
                # telemetry middleware) continues it into the event the registry appends.
                department_trace = secrets.token_hex(16)
                report = department_message("health", "BirthReported", JIANSHE, "2013-05-20T00:00:00+08:00", {
                    "mother_resident_id": woman, "child_resident_id": str(uuid.uuid4()), "birth_date": "2013-05-20",
                    "sex": "male", "reported_by": "hospital", "report_ref": f"trace-{department_trace[:8]}",
                })
                producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap_servers, acks="all")
                await producer.start()
                try:
                    await producer.send_and_wait(
                        district.namespace + "ingest.health", json.dumps(report).encode(), key=b"trace-test",
                        headers=[("traceparent", f"00-{department_trace}-{secrets.token_hex(8)}-01".encode())],
                    )
                finally:
                    await producer.stop()

                async def births():
                    records = await read_topic(stack.bootstrap_servers, district.namespace + "registry.events")
                    return [r for r, v in records if v["event_type"] == "BirthReported" and v["payload"]["mother_resident_id"] == woman]

                [birth] = await eventually(births, bool, "the department's birth report on registry.events")
                assert dict(birth.headers)["traceparent"].decode().split("-")[1] == department_trace
            finally:
                await api.close()
        finally:
            await asyncio.to_thread(district.stop)
            await asyncio.to_thread(
                harness.forget_run, stack.bootstrap_servers, stack.database_url, district.namespace, list(district.schemas.values())
            )
    finally:
        server.should_exit = True
        await serving


_KIND = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}
