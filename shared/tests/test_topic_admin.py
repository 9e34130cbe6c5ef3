"""Topics on the real broker: ``ensure_topics`` makes an event topic keep its history even when
someone else made it first, and ``testing.delete_topics`` takes away exactly what a test made."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from platform_kit import testing
from platform_kit.kafka import ensure_topics

WEEK_MS = str(7 * 24 * 3600 * 1000)


async def topic_config(bootstrap_servers: str, topic: str) -> dict[str, str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        error_code, error_message, _type, _name, entries = response.resources[0]
        assert error_code == 0, error_message
        return {name: value for name, value, *_ in entries}
    finally:
        await admin.close()


async def settles_at(bootstrap_servers: str, topic: str, expected: dict[str, str]) -> None:
    """The controller has taken a change once AlterConfigs answers; the broker that describes
    the topic learns it a moment later."""

    async def taken() -> bool:
        config = await topic_config(bootstrap_servers, topic)
        return {k: config.get(k) for k in expected} == expected

    await testing.wait_until(taken, timeout=30, what=f"{topic} has {expected}")


async def topic_names(bootstrap_servers: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


class TestEnsureTopics:
    async def test_an_event_topic_auto_created_with_a_weeks_retention_is_made_to_keep_forever(
        self, stack, namespace, producer
    ):
        topic = f"{namespace}services.events"
        # A producer that came before any service: the broker creates the topic with its defaults.
        await producer.send_and_wait(topic, b"first", key=b"k")
        assert (await topic_config(stack.bootstrap_servers, topic))["retention.ms"] == WEEK_MS

        await ensure_topics(stack.bootstrap_servers, [topic])

        await settles_at(stack.bootstrap_servers, topic, {"retention.ms": "-1", "retention.bytes": "-1"})

    async def test_the_topics_other_settings_are_kept_when_its_retention_is_corrected(self, stack, namespace):
        topic = f"{namespace}registry.events"
        await ensure_topics(stack.bootstrap_servers, [topic], keep_forever=False)
        admin = AIOKafkaAdminClient(bootstrap_servers=stack.bootstrap_servers)
        await admin.start()
        hand_set = {"max.message.bytes": "2097152", "retention.ms": "3600000"}
        try:  # an operator's setting, and a retention someone shortened by hand
            await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, hand_set)])
        finally:
            await admin.close()
        await settles_at(stack.bootstrap_servers, topic, hand_set)

        await ensure_topics(stack.bootstrap_servers, [topic])

        await settles_at(
            stack.bootstrap_servers, topic, {"retention.ms": "-1", "retention.bytes": "-1", "max.message.bytes": "2097152"}
        )

    async def test_a_topic_that_may_expire_is_left_as_it_is(self, stack, namespace, producer):
        topic = f"{namespace}bench.scratch"
        await producer.send_and_wait(topic, b"first", key=b"k")

        await ensure_topics(stack.bootstrap_servers, [topic], keep_forever=False)

        assert (await topic_config(stack.bootstrap_servers, topic))["retention.ms"] == WEEK_MS


class TestDeleteTopics:
    async def test_deletes_the_names_the_namespace_and_the_schemas_dead_letters_and_nothing_else(self, stack):
        namespace, schema = testing.new_namespace(), f"test_{testing.new_namespace()[1:-1]}"
        ours = [f"{namespace}registry.events", f"{namespace}ingest.health", f"deadletter.{schema}.coverage",
                f"deadletter.{schema}_then.coverage", f"{namespace[:-1]}x.alone"]
        bystanders = [f"{namespace[:-1]}x.other", f"deadletter.test_{testing.new_namespace()[1:-1]}.coverage"]
        await ensure_topics(stack.bootstrap_servers, ours + bystanders, partitions=1, keep_forever=False)
        try:
            deleted = await testing.delete_topics(
                stack.bootstrap_servers, names=[ours[-1]], namespaces=[namespace], schemas=[schema]
            )
            assert sorted(deleted) == sorted(ours)

            async def gone() -> bool:  # the broker answers metadata a moment after the controller acts
                return not (await topic_names(stack.bootstrap_servers)) & set(ours)

            await testing.wait_until(gone, timeout=30, what="the deleted topics are gone")
            assert set(bystanders) <= await topic_names(stack.bootstrap_servers)
        finally:
            await testing.delete_topics(stack.bootstrap_servers, names=ours + bystanders)

    async def test_an_empty_namespace_matches_nothing(self, stack, topic):
        assert await testing.delete_topics(stack.bootstrap_servers, namespaces=[""], schemas=[""]) == []
        assert topic in await topic_names(stack.bootstrap_servers)
