"""The department gate on the real broker and store: a batch of facts for many people, decided
concurrently, keeps each person's facts in their order, commits its offsets once, and after a
database failure on one of its messages is read again whole, what it had already recorded
coming back as duplicates, nothing lost and nothing doubled."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections import Counter

import aiokafka
import asyncpg
from faststream.kafka import KafkaBroker

from platform_kit.contract import catalogue
from platform_kit.envelope import Envelope
from platform_kit.gate import DepartmentFact, DepartmentGate
from platform_kit.kafka import ensure_topics
from platform_kit.testing import wait_until
from platform_kit.topics import Topics

DEPARTMENT = "public-security"
PEOPLE, MOVES = 24, 5
FAIL_AT = 40  # the accept call that meets a database failure (once)


def moved(resident: uuid.UUID, seq: int) -> dict:
    """The department's seq-th move of one resident (its own stream_version says which)."""
    event_id = uuid.uuid4()
    return {
        "event_id": str(event_id), "event_type": "ResidentMoved", "schema_version": 1,
        "stream_id": f"dept-{resident}", "stream_version": seq,
        "occurred_at": "2013-06-01T10:00:00+08:00", "recorded_at": "2013-06-01T11:00:00+08:00",
        "unit_code": "370402005002", "source": f"dept:{DEPARTMENT}", "correlation_id": None, "causation_id": None,
        "payload": {"resident_id": str(resident), "from_unit": "370402005001", "to_unit": "370402005002"},
    }


async def test_a_batch_keeps_each_persons_order_commits_once_and_is_read_again_whole_after_a_failure(
    stack, store, namespace, producer, monkeypatch
):
    calls = 0
    failed = asyncio.Event()
    accepted_in: dict[str, int] = {}  # department event id -> the batch (by number) that recorded it
    batch_no = 0

    async def accept(fact: DepartmentFact) -> None:
        """Record the department's sequence number on the person's own stream, as a service
        would: read the stream's version, take a moment to decide, append the next version."""
        nonlocal calls
        calls += 1
        if calls == FAIL_AT:
            failed.set()
            raise asyncpg.PostgresConnectionError("the database went away")
        stream = f"person-{fact.payload.resident_id}"
        version = await store.stream_version(stream)
        await asyncio.sleep(random.uniform(0, 0.01))  # lets a same-key message overtake, were they concurrent
        await store.append([Envelope.new(
            event_type="MoveRecorded", stream_id=stream, stream_version=version + 1, unit_code="370402005002",
            source=fact.source, payload={"seq": fact.envelope.stream_version}, occurred_at=fact.envelope.occurred_at, event_id=fact.event_id(0),
            causation_id=fact.causation_id, correlation_id=fact.correlation_id,
        )])
        accepted_in[str(fact.envelope.event_id)] = batch_no

    topics = Topics(namespace)
    gate = DepartmentGate("registry", catalogue=catalogue, topics=topics, accept=accept, store=lambda: store)
    gate.departments = lambda: [DEPARTMENT]  # type: ignore[method-assign]  # one topic is enough here
    await ensure_topics(stack.bootstrap_servers, [topics.ingest(DEPARTMENT), topics.ingest_rejected], partitions=3)

    batches: list[dict] = []  # each call of handle_batch: its records' ids and verdicts, or its failure
    handle_batch = gate.handle_batch

    async def watched(department, records, **kwargs):
        nonlocal batch_no
        batch_no += 1
        seen = {"no": batch_no, "ids": [json.loads(r.value)["event_id"] for r in records], "outcomes": None}
        batches.append(seen)
        verdicts = await handle_batch(department, records, **kwargs)
        seen["outcomes"] = [v.outcome for v in verdicts]
        return verdicts

    gate.handle_batch = watched  # type: ignore[method-assign]
    commits = 0
    commit = aiokafka.AIOKafkaConsumer.commit

    async def counted_commit(self, *args, **kwargs):
        nonlocal commits
        await commit(self, *args, **kwargs)
        commits += 1

    monkeypatch.setattr(aiokafka.AIOKafkaConsumer, "commit", counted_commit)

    people = [uuid.uuid4() for _ in range(PEOPLE)]
    sent: list[tuple[uuid.UUID, dict]] = []
    for seq in range(1, MOVES + 1):  # interleaved, as a department's day would be
        for person in people:
            sent.append((person, moved(person, seq)))
    resent = sent[PEOPLE + 3]  # one move sent twice, right after itself
    sent.insert(PEOPLE + 4, resent)
    for person, message in sent:
        await producer.send(topics.ingest(DEPARTMENT), json.dumps(message).encode(), key=str(person).encode())
    await producer.flush()

    broker = KafkaBroker(stack.bootstrap_servers)
    gate.subscribe(broker, retry_seconds=0.1, max_records=500, concurrency=8)
    await broker.start()
    try:
        async def all_recorded() -> bool:
            return await store.pool.fetchval(f"SELECT count(*) FROM {store.table}") >= PEOPLE * MOVES

        await wait_until(all_recorded, timeout=60, what="every move recorded")
        async def last_committed() -> bool:  # FastStream commits once the handler has returned
            return bool(batches) and batches[-1]["outcomes"] is not None and commits >= _decided(batches)

        await wait_until(last_committed, timeout=30, what="the last batch committed")
    finally:
        await broker.stop()

    # Each person's moves, once each, in the department's order.
    rows = await store.pool.fetch(f"SELECT stream_id, stream_version, payload->>'seq' AS seq FROM {store.table} ORDER BY position")
    assert len(rows) == PEOPLE * MOVES
    per_person: dict[str, list[tuple[int, int]]] = {}
    for row in rows:
        per_person.setdefault(row["stream_id"], []).append((row["stream_version"], int(row["seq"])))
    assert all(sorted(v) == [(n, n) for n in range(1, MOVES + 1)] for v in per_person.values()), per_person

    # The failure came in the middle of a batch: that batch committed nothing, and was read again
    # whole, what it had recorded before the failure now a duplicate.
    assert failed.is_set()
    [broken] = [b for b in batches if b["outcomes"] is None]
    before_failure = {i for i in broken["ids"] if accepted_in.get(i) == broken["no"]}
    assert before_failure, "the failure came first in its batch: nothing to read again"
    again = Counter(
        (i, o) for b in batches if b["no"] > broken["no"] and b["outcomes"] for i, o in zip(b["ids"], b["outcomes"], strict=True)
    )
    assert {i for i in before_failure if again[(i, "duplicate")]} == before_failure
    # The resent move (recorded once, above): its second copy, decided after the first, is a duplicate.
    outcomes = [o for b in batches if b["outcomes"] for i, o in zip(b["ids"], b["outcomes"], strict=True) if i == resent[1]["event_id"]]
    assert outcomes.count("accepted") <= 1 and "duplicate" in outcomes, outcomes

    # One offset commit per batch decided, none for the failed one.
    assert commits == _decided(batches) < len(sent)


def _decided(batches: list[dict]) -> int:
    return sum(b["outcomes"] is not None for b in batches)
