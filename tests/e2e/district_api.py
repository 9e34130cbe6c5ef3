"""What the e2e tests do to a running district: its public HTTP APIs and its topics, nothing else."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any, TypeVar

import httpx

from platform_kit.testing import bearer, read_topic_to_end
from aiokafka import AIOKafkaProducer

T = TypeVar("T")
DEADLINE = 60.0  # eventual consistency, on a machine other test suites keep busy

# GB 11643: the weights of the first 17 digits and the check character for the sum mod 11.
# Written out here rather than imported from the registry, so a registry computing it wrongly fails.
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
TENGZHOU = "370481"  # 滕州市: a 户籍地 outside the district


def id_number(birth_date: date, sex: str, sequence: int) -> str:
    order = sequence * 2 + (1 if sex == "male" else 0)  # the 17th digit's parity is the sex
    first17 = f"{TENGZHOU}{birth_date:%Y%m%d}{order % 1000:03d}"
    return first17 + _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def married_migrant_woman(unit_code: str, sequence: int, **overrides: Any) -> dict[str, Any]:
    """A registration: a married migrant woman of 25 from 滕州, arriving on 1 March 2013."""
    body = {
        "name": "王秀英",
        "id_number": id_number(date(1988, 3, 15), "female", sequence),
        "sex": "female",
        "birth_date": "1988-03-15",
        "marital_status": "married",
        "population": "migrant",
        "household_registration_place": TENGZHOU,
        "unit_code": unit_code,
        "phone": "13906321234",
        "occurred_at": "2013-03-01T09:00:00+08:00",
    }
    return body | overrides


def department_message(department: str, event_type: str, unit_code: str, occurred_at: str, payload: dict) -> dict:
    """A department's message: a full envelope with its own ids and source dept:<department>."""
    event_id = str(uuid.uuid4())
    return {
        "event_id": event_id,
        "event_type": event_type,
        "schema_version": 1,
        "stream_id": f"dept-{department}-{event_id}",
        "stream_version": 1,
        "occurred_at": occurred_at,
        "recorded_at": "2013-06-10T08:00:00+08:00",
        "unit_code": unit_code,
        "source": f"dept:{department}",
        "correlation_id": None,
        "causation_id": None,
        "payload": payload,
    }


async def publish(bootstrap_servers: str, topic: str, *messages: dict) -> None:
    """Publish in order under one key: one partition, so the gate reads them in this order."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for message in messages:
            await producer.send_and_wait(topic, json.dumps(message).encode(), key=b"e2e-department")
    finally:
        await producer.stop()


async def read_topic(bootstrap_servers: str, topic: str) -> list[tuple[Any, dict]]:
    """Every message on ``topic`` up to its end as of now, as (record, decoded JSON)."""
    return [(r, json.loads(r.value)) for r in await read_topic_to_end(bootstrap_servers, topic)]


async def eventually(probe: Callable[[], Awaitable[T]], accept: Callable[[T], bool], what: str) -> T:
    """Probe until ``accept`` holds; on the deadline fail with the last answer seen."""
    deadline = time.monotonic() + DEADLINE
    while True:
        value = await probe()
        if accept(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not so within {DEADLINE:.0f} s; last seen: {value!r}")
        await asyncio.sleep(0.25)


class Api:
    """The four services' HTTP APIs."""

    def __init__(self, district) -> None:
        self.district = district
        self.http = httpx.AsyncClient(timeout=15, headers=bearer())

    def url(self, service: str, path: str) -> str:
        return self.district.url(service) + path

    async def get(self, service: str, path: str, **params: Any) -> Any:
        response = await self.http.get(self.url(service, path), params=params)
        assert response.status_code == 200, (path, response.status_code, response.text)
        return response.json()

    async def post(self, service: str, path: str, body: dict, status: int) -> Any:
        response = await self.http.post(self.url(service, path), json=body)
        assert response.status_code == status, (path, response.status_code, response.text)
        return response.json()

    async def figures(self, unit_code: str, period: str) -> dict[str, tuple[int, int]]:
        """(numerator, denominator) per indicator, from the assessment's coverage."""
        coverage = await self.get("assessment", f"/api/units/{unit_code}/coverage", period=period)
        return {i["id"]: (i["numerator"], i["denominator"]) for i in coverage["indicators"]}

    async def inbox(self, unit_code: str) -> list[dict]:
        return (await self.get("notifier", f"/api/units/{unit_code}/inbox", limit=200))["items"]

    async def close(self) -> None:
        await self.http.aclose()


def about(items: list[dict], rule: str, resident_id: str) -> list[dict]:
    """The inbox items of ``rule`` that name this resident (texts name residents by id)."""
    return [i for i in items if i["rule"] == rule and resident_id in i["text"]]
