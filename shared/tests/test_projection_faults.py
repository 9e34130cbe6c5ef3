"""Projections under faults, on the real broker and database: a rebuild with several
replicas, short database errors, a failed seek on assignment, an event from a newer
producer, and idempotence that does not grow with history."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer
from counting_projection import ServicesPerUnit
from pydantic import BaseModel, ConfigDict
from test_projection import caught_up, expected_view, history, publish, running

from platform_kit import deadletters
from platform_kit.catalogue import EventCatalogue
from platform_kit.event_store import EventStore
from platform_kit.kafka import ensure_topics
from platform_kit.projection import INFRASTRUCTURE_ERRORS, ProjectionRunner, is_poison, is_transient
from platform_kit.testing import read_topic_to_end, service_delivered, wait_until
from platform_kit.topics import dead_letter_topic

DEADLINE = 60  # seconds: "eventually", never a measurement


@pytest.fixture
def runner_for(stack, pool, producer):
    async def make(schema: str, topic: str, *, name: str = "services_per_unit", batch_size: int = 40, catalogue=None):
        runner = ProjectionRunner(
            ServicesPerUnit(name, [topic], schema), pool=pool, schema=schema,
            bootstrap_servers=stack.bootstrap_servers, producer=producer, batch_size=batch_size,
            catalogue=catalogue,
        )
        await runner.setup()
        return runner

    return make


async def view_is(runner: ProjectionRunner, pool, expected) -> bool:
    return await runner.projection.snapshot(pool) == expected


class TestRebuildWithReplicas:
    async def test_a_rebuild_requested_on_one_replica_rebuilds_every_partition(
        self, stack, pool, schema, namespace, producer, runner_for
    ):
        topic = f"{namespace}events"  # four partitions, not the topic fixture's three
        await ensure_topics(stack.bootstrap_servers, [topic], partitions=4)
        events = history(streams=45, versions=4)  # 180 events over four partitions
        await publish(producer, topic, events)
        first, second = await runner_for(schema, topic), await runner_for(schema, topic)
        async with running(first), running(second):
            await wait_until(
                lambda: asyncio.sleep(0, bool(first.stats.assigned) and bool(second.stats.assigned)
                                      and len(first.stats.assigned | second.stats.assigned) == 4),
                timeout=DEADLINE, what="both replicas own partitions",
            )
            await caught_up(first, stack, topic)
            await wait_until(lambda: view_is(first, pool, expected_view(events)), timeout=DEADLINE, what="live view")

            first.request_rebuild()
            await wait_until(
                lambda: asyncio.sleep(0, not first._rebuild_requested), timeout=DEADLINE, what="rebuild started"
            )
            await wait_until(lambda: view_is(first, pool, expected_view(events)), timeout=DEADLINE, what="rebuilt view")
            await caught_up(first, stack, topic)
            assert second.stats.resyncs >= 1  # the other replica obeyed the new generation
        assert await first.projection.snapshot(pool) == expected_view(events)


class TestTransientDatabaseErrors:
    CODES = ("40001", "40P01", "53100", "53200", "53300", "57014", "55P03", "57P01")

    async def test_short_database_errors_are_retried_and_nothing_is_dead_lettered(
        self, stack, pool, schema, topic, producer, runner_for
    ):
        runner = await runner_for(schema, topic, batch_size=3)
        # Every other statement on the read model fails with one of the transient SQLSTATEs
        # (a sequence, so the count survives the failed transaction's rollback).
        await pool.execute(f"""
            CREATE SEQUENCE {schema}.fault_seq;
            CREATE TABLE {schema}.faults (n bigint PRIMARY KEY, code text NOT NULL);
            INSERT INTO {schema}.faults SELECT 2 * i - 1, c FROM unnest($1::text[]) WITH ORDINALITY AS t (c, i);
            CREATE FUNCTION {schema}.inject() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE c text; v bigint;
            BEGIN
                v := nextval('{schema}.fault_seq');
                SELECT code INTO c FROM {schema}.faults WHERE n = v;
                IF FOUND THEN RAISE EXCEPTION 'injected fault %', c USING ERRCODE = c; END IF;
                RETURN NULL;
            END $$;
            CREATE TRIGGER inject BEFORE INSERT ON {schema}.services_per_unit
                FOR EACH STATEMENT EXECUTE FUNCTION {schema}.inject();
        """.replace("$1::text[]", "ARRAY[" + ",".join(f"'{c}'" for c in self.CODES) + "]"))
        events = history(streams=15, versions=4)  # 60 events, in 20 batches or more
        await publish(producer, topic, events)
        async with running(runner):
            await wait_until(lambda: view_is(runner, pool, expected_view(events)), timeout=DEADLINE, what="all applied")
        assert await pool.fetchval(f"SELECT last_value FROM {schema}.fault_seq") >= 2 * len(self.CODES) - 1
        assert runner.stats.dead_lettered == 0
        assert runner.stats.retries >= len(self.CODES), runner.stats

    async def test_the_classification_of_real_postgres_errors(self, pool):
        async def error_of(sql: str) -> BaseException:
            try:
                await pool.execute(sql)
            except asyncpg.PostgresError as error:
                return error
            raise AssertionError(f"{sql} did not fail")

        def raising(code: str) -> str:
            return f"DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '{code}'; END $$"

        for code in ("40001", "40P01", "53100", "53200", "53300", "57014", "55P03", "57P01", "57P03", "08006", "XX000"):
            error = await error_of(raising(code))
            assert is_transient(error) and not is_poison(error), code
        statement_timeout = await error_of("SET statement_timeout = '10ms'; SELECT pg_sleep(2)")
        await pool.execute("RESET statement_timeout")
        assert statement_timeout.sqlstate == "57014" and is_transient(statement_timeout)
        for sql in ("SELECT 1/0", "SELECT 'x'::int", raising("23514")):
            error = await error_of(sql)
            assert is_poison(error) and not is_transient(error), sql
        undefined = await error_of("SELECT * FROM no_such_table_anywhere")
        assert not is_transient(undefined) and not is_poison(undefined)  # a bug: stop, do not skip
        assert asyncpg.exceptions.SerializationError in INFRASTRUCTURE_ERRORS or issubclass(
            asyncpg.exceptions.SerializationError, INFRASTRUCTURE_ERRORS
        )


class TestAssignment:
    async def test_a_failed_seek_on_assignment_never_reads_from_the_start(
        self, stack, pool, schema, topic, producer, runner_for
    ):
        first, second = history(streams=10, versions=2), history(streams=10, versions=4)[20:]
        await publish(producer, topic, first)
        runner = await runner_for(schema, topic)
        async with running(runner):
            await caught_up(runner, stack, topic)
        await publish(producer, topic, second)

        restarted = await runner_for(schema, topic)
        seek_to_stored = restarted._seek_to_stored  # what the assignment callback calls
        failures = []

        async def fails_once(partitions):
            if not failures:  # the position lookup meets a real statement timeout, once
                failures.append(None)
                async with pool.acquire() as conn:
                    try:
                        await conn.execute("SET statement_timeout = '10ms'; SELECT pg_sleep(2)")
                    except asyncpg.PostgresError as error:
                        failures[0] = error
                        raise
                    finally:
                        await conn.execute("RESET statement_timeout")
            return await seek_to_stored(partitions)

        restarted._seek_to_stored = fails_once
        async with running(restarted):
            await caught_up(restarted, stack, topic)
        assert failures and failures[0].sqlstate == "57014"
        assert restarted.stats.duplicates == 0  # nothing read again from the start
        assert restarted.stats.applied == len(second)
        assert await restarted.projection.snapshot(pool) == expected_view(first + second)


class TestNewerSchemaVersion:
    @staticmethod
    def catalogue(version: int) -> EventCatalogue:
        catalogue = EventCatalogue()

        @catalogue.event("ServiceDelivered", version=version)
        class ServiceDelivered(BaseModel):
            model_config = ConfigDict(extra="allow")

        if version > 1:
            catalogue.upcaster("ServiceDelivered", from_version=1)(lambda payload: payload)
        return catalogue

    async def test_an_event_from_a_newer_producer_pauses_its_partition_instead_of_being_skipped(
        self, stack, pool, schema, topic, producer, runner_for
    ):
        others = history(streams=12, versions=2)
        newer = service_delivered("resident-x", 2).model_copy(update={"schema_version": 2})
        stream_x = [service_delivered("resident-x", 1), newer, service_delivered("resident-x", 3)]
        await publish(producer, topic, stream_x[:1] + others + stream_x[1:])
        runner = await runner_for(schema, topic, catalogue=self.catalogue(1))

        async def heads() -> dict[str, int]:
            return dict((await runner.projection.snapshot(pool))[1])

        async def others_applied_and_x_settled() -> bool:
            h = await heads()
            settled = bool(getattr(runner, "paused", None)) or h.get("resident-x") == 3
            return settled and all(h.get(f"resident-{s}") == 2 for s in range(12))

        async with running(runner):
            await wait_until(others_applied_and_x_settled, timeout=DEADLINE, what="other streams applied")
            assert (await heads())["resident-x"] == 1  # neither v2 nor v3 applied
            reasons = runner.paused_reasons()
            assert len(reasons) == 1 and "v2 cannot be read (current is v1, newer than this reader knows)" in next(
                iter(reasons.values())
            )
        assert runner.stats.dead_lettered == 0

        upgraded = await runner_for(schema, topic, catalogue=self.catalogue(2))
        async with running(upgraded):
            await caught_up(upgraded, stack, topic)
        assert (await heads())["resident-x"] == 3
        assert await upgraded.projection.snapshot(pool) == expected_view(stream_x + others)


class TestBoundedIdempotence:
    async def test_marks_are_one_row_per_stream_and_a_replayed_dead_letter_still_applies(
        self, stack, pool, schema, topic, producer, runner_for
    ):
        events = history(streams=10, versions=5)
        poison = service_delivered("resident-0", 6, poison=True)
        after = service_delivered("resident-0", 7)
        await publish(producer, topic, events + events[:30] + [poison, after])
        runner = await runner_for(schema, topic)
        async with running(runner):
            await caught_up(runner, stack, topic)
            assert runner.stats.duplicates == 30 and runner.stats.dead_lettered == 1
            assert await pool.fetchval(f"SELECT count(*) FROM {schema}.applied_stream_versions") == 10
            # The poison is fixed (here: the projection stops refusing it) and replayed.
            fixed = poison.model_copy(update={"payload": {**poison.payload, "poison": False}})
            await publish(producer, topic, [fixed, fixed])
            await caught_up(runner, stack, topic)
        counts = dict(((u, k), n) for u, k, n in (await runner.projection.snapshot(pool))[0])
        expected = dict(((u, k), n) for u, k, n in expected_view(events + [after, fixed])[0])
        assert counts == expected  # the replay counted once, although resident-0 was at v7
        assert await pool.fetchval(f"SELECT count(*) FROM {schema}.parked_events") == 0
        letters = await read_topic_to_end(stack.bootstrap_servers, dead_letter_topic(runner.group_id))
        assert [dict(letter.headers)["event_id"].decode() for letter in letters] == [str(poison.event_id)]


class TestDeadLetterTopicsAndReplay:
    async def test_the_dead_letter_topic_exists_with_the_platforms_partitioning_before_any_letter(
        self, stack, schema, topic, runner_for
    ):
        runner = await runner_for(schema, topic)
        consumer = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap_servers)
        await consumer.start()
        try:
            # A broker that has just made the topic may not list it in its metadata yet: ask again
            # until it does (a topic never made is still a failure, after the wait).
            async def listed() -> bool:
                await consumer._client.force_metadata_update()
                return consumer.partitions_for_topic(runner.dead_letter_topic) is not None

            await wait_until(listed, timeout=30, interval=0.5, what="the dead-letter topic in the metadata")
            assert consumer.partitions_for_topic(runner.dead_letter_topic) == {0, 1, 2}
        finally:
            await consumer.stop()

    async def test_a_replayed_dead_letter_is_applied_once_and_only_the_chosen_ones_go_back(
        self, stack, pool, schema, topic, producer, runner_for
    ):
        events = history(streams=4, versions=2)
        poison = service_delivered("resident-1", 3, poison=True)
        other_poison = service_delivered("resident-2", 3, poison=True)
        await publish(producer, topic, events + [poison, other_poison])
        runner = await runner_for(schema, topic)
        async with running(runner):
            await caught_up(runner, stack, topic)
        assert runner.stats.dead_lettered == 2

        runner.projection.accepts_poison = True  # the projection's bug is fixed
        report = await deadletters.replay(stack.bootstrap_servers, runner.dead_letter_topic, event_ids=[poison.event_id])
        assert (report.replayed, report.skipped, report.by_topic) == (1, 1, {topic: 1})
        again = await deadletters.replay(stack.bootstrap_servers, runner.dead_letter_topic, event_ids=[str(poison.event_id)])
        assert again.replayed == 1  # replaying twice is harmless: it is applied once
        fixed = await runner_for(schema, topic)
        fixed.projection.accepts_poison = True
        async with running(fixed):
            await caught_up(fixed, stack, topic)
        assert (fixed.stats.applied, fixed.stats.duplicates) == (1, 1)
        assert dict((await fixed.projection.snapshot(pool))[1])["resident-1"] == 3
        assert dict((await fixed.projection.snapshot(pool))[1])["resident-2"] == 2  # not replayed


class TestNoLockAcrossNetworkWaits:
    async def test_a_projection_that_appends_holds_no_append_lock_while_dead_letters_are_sent(
        self, stack, pool, schema, topic, producer
    ):
        store = EventStore(pool, schema)
        await store.setup()

        class Appending(ServicesPerUnit):
            async def apply(self, conn, events):
                await super().apply(conn, events)
                await store.append([service_delivered(f"log-{uuid.uuid4().hex}", 1)], conn=conn)

        class LockProbe:
            """The producer, asking PostgreSQL (from another connection) before each send
            whether the append lock is free."""

            def __init__(self) -> None:
                self.lock_free: list[bool] = []

            async def send(self, *args, **kwargs):
                async with pool.acquire() as conn, conn.transaction():
                    self.lock_free.append(await conn.fetchval("SELECT pg_try_advisory_xact_lock($1::bigint)", store.lock_key))
                return await producer.send(*args, **kwargs)

        probe = LockProbe()
        runner = ProjectionRunner(
            Appending("services_per_unit", [topic], schema), pool=pool, schema=schema,
            bootstrap_servers=stack.bootstrap_servers, producer=probe, batch_size=500,
        )
        await runner.setup()
        events = history(streams=6, versions=2)
        await publish(producer, topic, events[:6] + [service_delivered("resident-p", 1, poison=True)] + events[6:])
        async with running(runner):
            await caught_up(runner, stack, topic)
        assert runner.stats.dead_lettered == 1 and probe.lock_free and all(probe.lock_free)
        assert await runner.projection.snapshot(pool) == expected_view(events)


class TestSlowAssignment:
    async def test_a_slow_seek_on_assignment_is_waited_for_not_raced(
        self, stack, pool, schema, topic, producer, runner_for, monkeypatch
    ):
        """The assignment's seek reads the stored positions, then seeks. While it is on its way
        the fetch finds partitions with no position yet: the runner must wait for that seek,
        not position them itself and apply events the late seek would then rewind over (a busy
        machine did that: every event read twice, the poison dead-lettered twice)."""
        events = history(streams=10, versions=3)
        await publish(producer, topic, events)
        runner = await runner_for(schema, topic)
        read_positions, calls = runner.stored_positions, []

        async def slow_the_first(*args, **kwargs):
            found = await read_positions(*args, **kwargs)
            calls.append(found)
            if len(calls) == 1:  # the assignment's read: it seeks late, after what it read
                await asyncio.sleep(2)
            return found

        monkeypatch.setattr(runner, "stored_positions", slow_the_first)
        async with running(runner):
            await caught_up(runner, stack, topic)
            await wait_until(lambda: view_is(runner, pool, expected_view(events)), timeout=DEADLINE, what="the view")
        assert runner.stats.duplicates == 0 and runner.stats.applied == len(events)
        assert await runner.projection.snapshot(pool) == expected_view(events)
