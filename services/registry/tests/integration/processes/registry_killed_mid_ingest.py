"""A registry process that dies (SIGKILL) in the middle of its Nth department message that
the registry accepts: "after" its append committed but before Kafka's offset is committed (a
redelivery must not double it), or "before" its append (the offset must not be committed yet,
or the message is lost).

Settings come from the environment (DATABASE_SCHEMA, TOPIC_NAMESPACE, ...).
Usage: registry_killed_mid_ingest.py N after|before"""

import asyncio
import os
import signal
import sys

from platform_kit.gate import DepartmentGate

from registry.bootstrap import Settings, build

KILL_AT, MOMENT = int(sys.argv[1]), sys.argv[2]
decided = 0
accept = DepartmentGate._accept  # the gate's handling of a message routed to this service


async def accept_then_die(self, *args, **kwargs):
    global decided
    decided += 1
    if MOMENT == "before" and decided == KILL_AT:
        os.kill(os.getpid(), signal.SIGKILL)
    verdict = await accept(self, *args, **kwargs)
    if MOMENT == "after" and decided == KILL_AT:
        os.kill(os.getpid(), signal.SIGKILL)
    return verdict


DepartmentGate._accept = accept_then_die


async def main() -> None:
    service = build(Settings())
    await service.runtime.start()
    await asyncio.Event().wait()


asyncio.run(main())
