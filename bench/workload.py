"""The events every stage works on: N ServiceDelivered events of realistic size, N/10 resident
streams of 10 versions each, interleaved as services append them (version 1 of every stream,
then version 2 of every stream, ...)."""

from __future__ import annotations

import json

from aiokafka.structs import ConsumerRecord

from platform_kit.envelope import Envelope
from platform_kit.testing import SAMPLE_UNITS, service_delivered

VERSIONS_PER_STREAM = 10


def make_events(n: int) -> list[Envelope]:
    streams = max(1, n // VERSIONS_PER_STREAM)
    events: list[Envelope] = []
    version = 0
    while len(events) < n:
        version += 1
        for s in range(min(streams, n - len(events))):
            events.append(
                service_delivered(
                    f"resident-{s}", version, unit_code=SAMPLE_UNITS[s % len(SAMPLE_UNITS)],
                    index=s * VERSIONS_PER_STREAM + version,
                )
            )
    return events


def batches(events: list[Envelope], size: int) -> list[list[Envelope]]:
    return [events[i : i + size] for i in range(0, len(events), size)]


Message = tuple[bytes, bytes]  # (key, value) exactly as the relay published it


def in_commit_order(records: list[ConsumerRecord], events: list[Envelope]) -> list[Message]:
    """The relay's messages (same bytes, same keys) in the order the events were appended."""
    order = {str(event.event_id): i for i, event in enumerate(events)}
    ranked = sorted(records, key=lambda r: order[json.loads(r.value)["event_id"]])
    return [(r.key, r.value) for r in ranked]
