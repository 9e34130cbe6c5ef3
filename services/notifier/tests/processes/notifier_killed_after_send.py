"""The notifier, SIGKILLed right after its Nth successful send on one channel, before it
records that send: the worst moment for a notification. Settings come from the environment."""

import asyncio
import os
import signal
import sys

from notifier.bootstrap import Settings, build


async def main(schema: str, channel: str, after: str) -> None:
    sent = 0

    async def die_after_sending(item) -> None:
        nonlocal sent
        if item.channel == channel:
            sent += 1
            if sent == int(after):
                print(f"sent {item.delivery_id}", flush=True)
                os.kill(os.getpid(), signal.SIGKILL)

    notifier = build(Settings(database_schema=schema), after_send=die_after_sending)
    await notifier.runtime.start()
    await asyncio.Event().wait()


asyncio.run(main(*sys.argv[1:]))
