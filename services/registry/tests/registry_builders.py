"""Realistic people and commands for the registry's tests, and a clock the test moves."""

from __future__ import annotations

import itertools
import uuid
from datetime import date, datetime, timedelta
from typing import Any

from platform_kit.calendar import DISTRICT_TZ

from registry.domain.identity import check_digit
from registry.settings import RegistrySettings

NOW = datetime(2013, 12, 1, 10, 0, tzinfo=DISTRICT_TZ)
LONGSHAN_1 = "370402005001"  # a community of 龙山路街道
LONGSHAN_2 = "370402005002"
ZHONGXIN_1 = "370402001001"  # 建设社区, 中心街街道
TENGZHOU = "370481"  # 滕州市: a 户籍地 outside the district
_sequence = itertools.count(11)


def id_number(birth_date: date, sex: str, *, area: str = TENGZHOU, sequence: int | None = None) -> str:
    """A valid 18-digit ID number (GB 11643) for this birth date and sex."""
    seq = sequence if sequence is not None else next(_sequence) % 50 * 2
    seq = seq + 1 if sex == "male" and seq % 2 == 0 else seq
    seq = seq + 1 if sex == "female" and seq % 2 == 1 else seq
    first17 = f"{area}{birth_date:%Y%m%d}{seq % 1000:03d}"
    return first17 + check_digit(first17)


def registration(**overrides: Any) -> dict[str, Any]:
    """A married migrant woman of 25 from 滕州, living in 龙山路街道's first community."""
    body: dict[str, Any] = {
        "name": "王秀英",
        "sex": "female",
        "birth_date": "1988-03-15",
        "marital_status": "married",
        "population": "migrant",
        "household_registration_place": TENGZHOU,
        "unit_code": LONGSHAN_1,
        "phone": "13906321234",
    }
    body.update(overrides)
    if "id_number" not in overrides:
        body["id_number"] = id_number(date.fromisoformat(body["birth_date"]), body["sex"])
    return {k: v for k, v in body.items() if v is not None}


def department_envelope(department: str, event_type: str, payload: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A department's message: a full envelope, its own ids, source dept:<department>."""
    event_id = fields.pop("event_id", uuid.uuid4())
    envelope = {
        "event_id": str(event_id),
        "event_type": event_type,
        "schema_version": 1,
        "stream_id": f"dept-{department}-{event_id}",
        "stream_version": 1,
        "occurred_at": NOW.isoformat(),
        "recorded_at": (NOW - timedelta(hours=2)).isoformat(),
        "unit_code": LONGSHAN_1,
        "source": f"dept:{department}",
        "correlation_id": None,
        "causation_id": None,
        "payload": payload,
    }
    envelope.update(fields)
    return envelope


# ---- pure decisions: contexts and histories without I/O -------------------------------


def context(now: datetime = NOW, **options: Any):
    from platform_kit.units import unit_tree

    from registry.domain.facts import Context

    ids = (uuid.UUID(int=i) for i in itertools.count(1))
    return Context(now=now, units=unit_tree(), new_id=lambda: next(ids), **options)


def sealed():
    from platform_kit.contract.common import EncryptedPersonalData

    return EncryptedPersonalData(key_id=uuid.uuid4(), nonce="bm9uY2U=", ciphertext="c2VhbGVk")


def envelopes(facts, versions: dict[str, int] | None = None):
    """The facts as stored events, numbered after ``versions``."""
    from platform_kit.envelope import Envelope

    heads = dict(versions or {})
    out = []
    for fact in facts:
        heads[fact.stream_id] = heads.get(fact.stream_id, 0) + 1
        out.append(
            Envelope.new(
                event_type=fact.event_type, stream_id=fact.stream_id, stream_version=heads[fact.stream_id],
                unit_code=fact.unit_code, source="registry", payload=fact.payload.model_dump(mode="json"),
                occurred_at=fact.occurred_at, recorded_at=fact.occurred_at,
            )
        )
    return out


class History:
    """A resident's stream, grown by the pure decisions as the registry would grow it."""

    def __init__(self, ctx=None, **registration_overrides: Any) -> None:
        from registry.domain import decisions
        from registry.domain.commands import RegisterResident

        self.ctx = ctx or context()
        self.resident_id = uuid.uuid4()
        body = registration(**registration_overrides)
        facts = decisions.register(RegisterResident(**body), self.ctx, resident_id=self.resident_id, sealed=sealed())
        self.events = [e for e in envelopes(facts) if e.stream_id == f"resident-{self.resident_id}"]

    @property
    def resident(self):
        from registry.domain.resident import fold

        return fold(self.events)

    def then(self, decide, command, **kwargs: Any):
        """Apply a decision; keep the events on this resident's stream; return all facts."""
        facts = decide(self.resident, command, self.ctx, **kwargs)
        stream = f"resident-{self.resident_id}"
        self.events += [e for e in envelopes(facts, {stream: len(self.events)}) if e.stream_id == stream]
        return facts


def types(facts) -> list[str]:
    return [f.event_type for f in facts]


# ---- integration: what a running registry wrote and published -------------------------


async def stored_events(service) -> list:
    """Every event in the registry's store, in commit order."""
    return [r.event for r in await service.runtime.store.read_all(limit=100_000)]


async def published(service, topic: str | None = None) -> list:
    """Every message on ``topic`` (default: registry.events) once the relay has sent all it has."""
    from platform_kit.envelope import Envelope
    from platform_kit.testing import read_topic_to_end, wait_until

    store = service.runtime.store

    async def drained() -> bool:
        return await store.pool.fetchval(f"SELECT count(*) FROM {store.schema}.outbox") == 0

    await wait_until(drained, timeout=30, what="the relay published everything committed")
    topic = topic or service.runtime.topics.registry_events
    records = await read_topic_to_end(service.settings.kafka_bootstrap_servers, topic)
    return [Envelope.from_bytes(r.value) for r in records]


async def send(producer, service, department: str, message: dict[str, Any] | bytes, *, key: bytes | None = b"dept") -> None:
    """A department publishes to its ingest topic (one key: one partition, in order)."""
    import json

    value = message if isinstance(message, bytes) else json.dumps(message, ensure_ascii=False).encode()
    await producer.send_and_wait(service.runtime.topics.ingest(department), value=value, key=key)


async def events_caused_by(service, *dept_event_ids) -> list:
    wanted = {uuid.UUID(str(i)) for i in dept_event_ids}
    return [e for e in await stored_events(service) if e.causation_id in wanted]


async def rejections(service) -> list[dict[str, Any]]:
    import json

    from platform_kit.testing import read_topic_to_end

    records = await read_topic_to_end(service.settings.kafka_bootstrap_servers, service.runtime.topics.ingest_rejected)
    return [json.loads(r.value) for r in records]


def registry_settings(stack, namespace: str, **overrides) -> RegistrySettings:
    values = {
        "kafka_bootstrap_servers": stack.bootstrap_servers,
        "database_url": stack.database_url,
        "topic_namespace": namespace,
        "relay_idle_poll_seconds": 0.05,
        "reconciliation_interval_seconds": 0,
        "identity_secret": "test-secret",
        "database_pool_size": 5,
    }
    values.update(overrides)
    return RegistrySettings(**values)
