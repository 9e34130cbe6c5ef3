"""A record's JSON is parsed once on its way to the projection: the check for events from a
newer producer keeps what it parsed for the decoding (a fast projection spent a sizeable share
of its time parsing every payload twice); what it cannot read is still decoded, and judged, there."""

from __future__ import annotations

import pytest
from aiokafka.structs import ConsumerRecord

from platform_kit.contract import catalogue
from platform_kit.envelope import Envelope
from platform_kit.projection import Projection, ProjectionRunner
from platform_kit.testing import service_delivered

pytestmark = pytest.mark.unit


class Nothing(Projection):
    name = "nothing"
    topics: list[str] = []

    async def apply(self, conn, events) -> None: ...


def record(offset: int, value: bytes) -> ConsumerRecord:
    return ConsumerRecord("t", 0, offset, 0, 0, b"k", value, None, 1, len(value), [])


def runner() -> ProjectionRunner:
    return ProjectionRunner(Nothing(), pool=None, schema="s", bootstrap_servers="x", producer=None, catalogue=catalogue)


def test_each_record_is_parsed_once_between_the_version_check_and_the_decoding(monkeypatch):
    events = [service_delivered(f"resident-{i}", 1, index=i) for i in range(5)]
    records = [record(i, e.to_bytes()) for i, e in enumerate(events)]
    parsed = []
    real = Envelope.from_bytes.__func__

    def counting(cls, data):
        parsed.append(data)
        return real(cls, data)

    monkeypatch.setattr(Envelope, "from_bytes", classmethod(counting))
    r = runner()
    incoming, dead = r._decode(r._hold_back_newer_versions(records))
    assert [item.event.event_id for item in incoming] == [e.event_id for e in events] and dead == []
    # upcast, as the decoding always did
    assert {item.event.schema_version for item in incoming} == {catalogue.current_version("ServiceDelivered")}
    assert len(parsed) == len(records)


def test_what_the_check_could_not_parse_is_still_judged_by_the_decoding():
    r = runner()
    incoming, dead = r._decode(r._hold_back_newer_versions([record(0, b"{not json")]))
    assert incoming == [] and len(dead) == 1 and dead[0].stage == "decode"
