"""A services log that announces each department message as it records it and lingers there,
so the test can SIGKILL it at the worst moments:

* ``inside-append``: the event is appended but its transaction has not committed (and the
  message's Kafka offset must not have been committed either, or the message is lost);
* ``after-commit``: the transaction has committed but the Kafka offset has not (the message
  comes again after the restart and must not be recorded twice).
"""

import asyncio
import sys

from platform_kit.event_store import EventStore
from services_log.bootstrap import build
from services_log.service_layer.recorder import Recorder
from services_log.settings import ServicesLogSettings

count = 0


def announce_inside_append() -> None:
    original = EventStore.append

    async def append(self, events, *, conn=None):
        global count
        recorded = await original(self, events, conn=conn)
        count += 1
        print(f"inside-append {count}", flush=True)
        await asyncio.sleep(0.05)
        return recorded

    EventStore.append = append


def announce_after_commit() -> None:
    original = Recorder.record

    async def record(self, command, origin=None):
        global count
        outcome = await original(self, command, origin)
        count += 1
        print(f"after-commit {count}", flush=True)
        await asyncio.sleep(0.05)
        return outcome

    Recorder.record = record


async def main(moment: str, bootstrap_servers: str, database_url: str, schema: str, namespace: str) -> None:
    {"inside-append": announce_inside_append, "after-commit": announce_after_commit}[moment]()
    settings = ServicesLogSettings(
        kafka_bootstrap_servers=bootstrap_servers,
        database_url=database_url,
        database_schema=schema,
        topic_namespace=namespace,
        ingest_instance_id="replica-0",
        log_level="WARNING",
    )
    service = build(settings)
    await service.runtime.start()
    await asyncio.Event().wait()


asyncio.run(main(*sys.argv[1:]))
