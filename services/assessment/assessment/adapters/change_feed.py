"""Tells waiting readers (the scoreboard stream, the scoreboard cache) that something they show
may have changed: the live view (the projection's NOTIFY) or the service's own decisions (the
event store's). Runs as a loop the runtime supervises."""

from __future__ import annotations

import asyncio
import contextlib

from platform_kit.database import connect


def view_channel(schema: str) -> str:
    """NOTIFY channel: the live view changed (the projection says so; the page's stream listens)."""
    return f"{schema}_view"


class ChangeFeed:
    def __init__(self, database_url: str, channels: list[str]) -> None:
        self.database_url = database_url
        self.channels = channels
        self.version = 0
        self.listening = False  # only while listening does the version follow every change
        self._changed = asyncio.Condition()

    async def run(self, stop: asyncio.Event) -> None:
        """Listen until ``stop``; a lost connection raises, and the supervisor starts it again."""
        conn = await connect(self.database_url)
        try:
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _: lost.set())
            for channel in self.channels:
                await conn.add_listener(channel, self._notified)
            self.listening = True
            await self._bump()  # whatever happened while we were not listening
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(lost.wait())]
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
            if lost.is_set() and not stop.is_set():
                raise ConnectionError("the change feed lost its database connection")
        finally:
            self.listening = False
            if not conn.is_closed():
                with contextlib.suppress(Exception):
                    await conn.close()

    def _notified(self, *_: object) -> None:
        asyncio.get_running_loop().create_task(self._bump())

    async def changed_here(self) -> None:
        """This process changed something (a command): readers must not wait for the NOTIFY."""
        await self._bump()

    async def _bump(self) -> None:
        async with self._changed:
            self.version += 1
            self._changed.notify_all()

    async def wait(self, seen: int, timeout: float) -> int:
        """The version after ``seen``, or ``seen`` again when nothing changed within ``timeout``."""
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait_for(lambda: self.version > seen), timeout)
            return self.version
