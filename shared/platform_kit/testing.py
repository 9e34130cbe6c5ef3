"""Test support for the kit and every service: realistic events, reading a topic to its end,
waiting for an asynchronous outcome. Used by tests against the real broker and database."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord

from platform_kit.envelope import Envelope

DISTRICT_EPOCH = datetime(2013, 1, 1, 8, 0, tzinfo=UTC)
SAMPLE_UNITS = ("370402001001", "370402001002", "370402002001", "370402003001", "370402004001")


def service_delivered(
    stream_id: str, version: int, *, unit_code: str = SAMPLE_UNITS[0], index: int = 0, **payload: Any
) -> Envelope:
    """A ServiceDelivered event of realistic size (about 700 bytes as JSON) whose payload is
    the contract's own (``platform_kit.contract.services_log.ServiceDelivered``) unless a
    test adds fields of its own through ``payload``."""
    occurred = DISTRICT_EPOCH + timedelta(minutes=17 * index)
    body = {
        "service_id": str(uuid.uuid5(uuid.NAMESPACE_OID, f"{stream_id}/{version}")),
        "service_kind": ("free_contraceptives", "pregnancy_check", "follow_up_visit", "policy_publicity")[index % 4],
        "resident_id": str(uuid.uuid5(uuid.NAMESPACE_OID, stream_id)),
        "household_ref": f"household-{index % 997:04d}",
        "delivered_by_unit": unit_code,
        "staff_ref": f"staff-{index % 177:03d}",
        "free_of_charge": True,
        "cross_unit_reason": "随访：已发放避孕药具，并一次性告知办证所需材料",
        "resident_unit": unit_code,
    }
    body.update(payload)
    return Envelope.new(
        event_type="ServiceDelivered",
        stream_id=stream_id,
        stream_version=version,
        unit_code=unit_code,
        source="services-log",
        payload=body,
        occurred_at=occurred,
        recorded_at=occurred + timedelta(hours=1),
    )


async def read_topic_to_end(bootstrap_servers: str, topic: str, *, timeout: float = 60.0) -> list[ConsumerRecord]:
    """Every message on ``topic`` up to its end as of now, partition by partition in offset order
    (none for a topic that does not exist)."""
    return await read_topics_to_end(bootstrap_servers, [topic], timeout=timeout)


async def read_topics_to_end(
    bootstrap_servers: str, topics: Iterable[str], *, timeout: float = 60.0
) -> list[ConsumerRecord]:
    """Every message on every one of ``topics`` up to its end as of now (one consumer for all)."""
    topics = list(topics)
    # Fetches as large as the broker's largest message: a test may have put an oversized one there.
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, enable_auto_commit=False, max_partition_fetch_bytes=4 << 20
    )
    await consumer.start()
    try:
        # A consumer tracking no topic fetches every topic's metadata; topics() would return it
        # without caching it for partitions_for_topic, and a new topic is not yet known at all.
        await consumer._client.force_metadata_update()
        partitions = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or [])]
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[ConsumerRecord] = []
        deadline = time.monotonic() + timeout

        async def behind() -> bool:
            return any([await consumer.position(tp) < ends[tp] for tp in partitions])

        while await behind():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{', '.join(topics)}: read {len(records)} messages, not yet at the end")
            for tp, batch in (await consumer.getmany(timeout_ms=500)).items():
                records.extend(r for r in batch if r.offset < ends[tp])
        return records
    finally:
        await consumer.stop()


# ---- topics a test made ------------------------------------------------------------------


def free_port() -> int:
    """A loopback port nothing listens on now (the system's pick), for a server a test starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def new_namespace() -> str:
    """A topic namespace of a test's own (``"t3f9c0a1b."``): hand it to :func:`delete_topics` at the end."""
    return f"t{uuid.uuid4().hex[:8]}."


async def delete_topics(
    bootstrap_servers: str,
    *,
    names: Iterable[str] = (),
    namespaces: Iterable[str] = (),
    schemas: Iterable[str] = (),
) -> list[str]:
    """Delete the topics a test made, once it is done with them: ``names`` exactly, every topic
    under one of ``namespaces``, and the dead-letter topics of the projections kept in one of
    ``schemas`` (``deadletter.<schema>…``: a runner's group is named after its schema).

    The broker is shared by every engineer's tests and keeps files open for every partition of
    every topic: left behind, topics pile up until it dies of too many open files. Returns what
    it deleted; a topic already gone is no error."""
    # Never an empty prefix: the production namespace "" would match every topic on the broker.
    prefixes = tuple(n for n in namespaces if n) + tuple(f"deadletter.{s}" for s in schemas if s)
    names = set(names)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        ours = sorted(t for t in await admin.list_topics() if t in names or (prefixes and t.startswith(prefixes)))
        if ours:
            await admin.delete_topics(ours)
        return ours
    finally:
        await admin.close()


async def wait_until(
    condition: Callable[[], Awaitable[bool]], *, timeout: float = 60.0, interval: float = 0.1, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout}s")
        await asyncio.sleep(interval)


# ---- tokens ------------------------------------------------------------------------------

DISTRICT_CODE = "370402000000"


def use_test_key(directory: Any) -> None:
    """Make every service built or started from here on trust a key of the tests' own (the root
    conftest calls it once per session with a temporary directory): the same environment
    ``deploy/local/services.sh`` sets, pointed at another key."""
    import os

    from platform_kit.auth import DevKey

    key = DevKey.load_or_create(directory)
    os.environ["AUTH_ENVIRONMENT"] = "development"
    os.environ["AUTH_PUBLIC_KEY_FILE"] = str(key.jwks_path)
    os.environ["MSP_KEY_DIR"] = str(key.directory)


def token(role: str = "district", *units: str, sub: str | None = None, ttl_seconds: int = 3600) -> str:
    """A bearer token signed with the tests' key (``MSP_KEY_DIR``), as ``msp token`` makes one.
    A district token names the district unless told otherwise; an auditor names nothing."""
    from platform_kit.auth import AuthSettings, DevKey

    if not units:
        units = (DISTRICT_CODE,) if role == "district" else ()
    claims = {"sub": sub or f"test-{role}", "role": role, "units": list(units)}
    return DevKey.load_or_create(AuthSettings().dev_key_dir).mint(claims, ttl_seconds=ttl_seconds)


def bearer(role: str = "district", *units: str, sub: str | None = None) -> dict[str, str]:
    """``headers=bearer()``: the Authorization header of :func:`token` (the district by default)."""
    return {"Authorization": f"Bearer {token(role, *units, sub=sub)}"}


def delete_topics_of(bootstrap_servers: str, namespace: str) -> None:
    """Delete every topic of a test's namespace once its services have stopped: the shared
    broker keeps a limit of open files, and topics left behind pile up. In a thread of its own,
    as tests/service_processes.py's ``forget_run``: the caller may be inside an event loop."""
    import threading

    from aiokafka.admin import AIOKafkaAdminClient

    if not namespace:
        raise ValueError("namespace: refusing to delete the production topics")

    async def forget() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
        await admin.start()
        try:
            ours = [t for t in await admin.list_topics() if t.startswith(namespace)]
            if ours:
                await admin.delete_topics(ours)
        finally:
            await admin.close()

    worker = threading.Thread(target=asyncio.run, args=(forget(),))
    worker.start()
    worker.join(timeout=60)
