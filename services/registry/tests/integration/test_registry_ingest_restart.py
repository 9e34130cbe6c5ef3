"""A restart in the middle of an ingest stream loses and doubles nothing: the registry is
killed (SIGKILL) between an append and its offset commit, then killed before an append,
then stopped gracefully mid-stream, and started again each time; in the end every department
fact counts exactly once."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
from registry_builders import registry_settings
from registry_builders import LONGSHAN_1, LONGSHAN_2, ZHONGXIN_1, department_envelope, registration, rejections, send

from platform_kit.testing import bearer, wait_until
from registry.bootstrap import build

PROCESS = Path(__file__).parent / "processes" / "registry_killed_mid_ingest.py"
RESIDENTS = 40
ROUTE = [LONGSHAN_1, LONGSHAN_2, ZHONGXIN_1, LONGSHAN_1, LONGSHAN_2]  # four moves each


def stream_for(resident: str) -> list[dict]:
    """One resident's public-security facts, in order, with one message resent."""
    moves = [
        department_envelope("public-security", "ResidentMoved", {"resident_id": resident, "from_unit": a, "to_unit": b})
        for a, b in zip(ROUTE, ROUTE[1:], strict=False)
    ]
    permit = department_envelope("public-security", "ResidencePermitIssued", {
        "resident_id": resident, "permit_ref": f"P-{resident[:8]}", "issued_on": "2013-11-01", "valid_until": "2014-11-01"})
    return [moves[0], moves[1], moves[2], moves[1], permit, moves[3]]


async def dept_events(pool, schema: str) -> list[dict]:
    rows = await pool.fetch(f"SELECT event_id, causation_id, stream_id FROM {schema}.events WHERE source LIKE 'dept:%'")
    return [dict(r) for r in rows]


async def test_a_restart_mid_stream_loses_and_doubles_nothing(stack, pool, schema, namespace, producer, clock):
    # A stable replica name: the restarted process takes its partitions back at once.
    settings = registry_settings(stack, namespace, database_schema=schema, ingest_instance_id="registry-0")
    service = build(settings, clock=clock)
    await service.runtime.start()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=service.app), base_url="http://registry", headers=bearer()) as api:
        residents = [
            (await api.post("/api/residents", json=registration(sex="male", birth_date="1985-01-01"))).json()["resident_id"]
            for _ in range(RESIDENTS)
        ]
    await service.runtime.stop()

    streams = {r: stream_for(r) for r in residents}
    bad = [department_envelope("public-security", "ResidentMoved", {
        "resident_id": str(uuid.uuid4()), "from_unit": LONGSHAN_1, "to_unit": LONGSHAN_2}) for _ in range(5)]
    for position in range(6):  # interleave the residents, as a department's day would
        for resident, messages in streams.items():
            await send(producer, service, "public-security", messages[position], key=resident.encode())
    for message in bad:
        await send(producer, service, "public-security", message, key=b"unknown")
    expected_causes = {m["event_id"] for messages in streams.values() for m in messages}

    env = {**os.environ, **{k.upper(): str(v) for k, v in settings.model_dump(mode="json").items() if v is not None},
           "IDENTITY_SECRET": settings.identity_secret.get_secret_value(), "LOG_LEVEL": "WARNING"}
    progress = []
    for moment, at in (("after", "40"), ("before", "70")):  # the second one re-reads some of the first's
        killed = subprocess.run([sys.executable, str(PROCESS), at, moment], env=env, capture_output=True, timeout=120)
        assert killed.returncode == -9, killed.stderr.decode()[-3000:]
        progress.append(len(await dept_events(pool, schema)))
    after_kill = await dept_events(pool, schema)
    assert 0 < progress[0] < progress[1] < RESIDENTS * 5  # each kill really came mid-stream

    # Small batches, one at a time: a graceful stop lets the batch in hand finish, so with the
    # default batch (the whole rest of the stream) it would never come mid-stream.
    restarted = build(settings.model_copy(update={"ingest_batch_max_records": 4, "ingest_concurrency": 1}), clock=clock)
    await restarted.runtime.start()
    try:
        await wait_until(lambda: _more_than(pool, schema, len(after_kill) + 40), timeout=60, what="progress after the restart")
    finally:
        await restarted.runtime.stop()  # a graceful stop, mid-stream again
    stopped_at = len(await dept_events(pool, schema))

    final = build(settings, clock=clock)
    await final.runtime.start()
    try:
        await wait_until(lambda: _caused_all(pool, schema, expected_causes), timeout=60, what="every fact once the service is back")
        await wait_until(lambda: _rejected_all(final, {m["event_id"] for m in bad}), timeout=30, what="every rejection")
        events = await dept_events(pool, schema)
        residents_now = {r: await final.registry.resident(uuid.UUID(r)) for r in residents}
    finally:
        await final.runtime.stop()

    assert stopped_at < RESIDENTS * 5  # the graceful stop, too, came before the end
    assert len(events) == RESIDENTS * 5  # four moves and a permit each; the resent move counted once
    assert {str(e["causation_id"]) for e in events} == expected_causes
    for resident in residents_now.values():
        assert resident.unit_code == LONGSHAN_2 and len(resident.moves) == 4 and len(resident.permits) == 1
        assert resident.version == 2 + 5


async def _more_than(pool, schema: str, count: int) -> bool:
    return len(await dept_events(pool, schema)) >= count


async def _caused_all(pool, schema: str, causes: set[str]) -> bool:
    return {str(e["causation_id"]) for e in await dept_events(pool, schema)} == causes


async def _rejected_all(service, event_ids: set[str]) -> bool:
    return {r["event_id"] for r in await rejections(service)} == event_ids
