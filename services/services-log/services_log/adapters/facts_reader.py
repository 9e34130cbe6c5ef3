"""Residents' facts read for many records at once.

The department gate decides up to 16 messages at a time; each asks what the registry told us
of its resident. Asked one by one, that is a round trip each (py-spy at 1,000 messages/s: a
tenth of the services log's time in that query and its socket writes). Here whoever asks while
a read is on its way waits for the next read, which answers all of them in one query -- as the
event store's group commit does for appends. No answer is older than its question: a read
begins only after every question it answers was asked, so it sees whatever had committed then.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence

from services_log.domain.residence import ResidentFacts

ReadMany = Callable[[Sequence[uuid.UUID]], Awaitable[dict[uuid.UUID, ResidentFacts]]]


class FactsReader:
    def __init__(self, read_many: ReadMany) -> None:
        self.read_many = read_many
        self._asked: list[tuple[uuid.UUID, asyncio.Future]] = []
        self._reading: asyncio.Task | None = None

    async def of(self, resident_id: uuid.UUID) -> ResidentFacts | None:
        answer = asyncio.get_running_loop().create_future()
        self._asked.append((resident_id, answer))
        if self._reading is None or self._reading.done():
            self._reading = asyncio.create_task(self._read(), name="residents' facts")
        return await answer

    async def _read(self) -> None:
        while self._asked:
            asked, self._asked = self._asked, []
            try:
                facts = await self.read_many(list({resident_id for resident_id, _ in asked}))
            except BaseException as error:  # each asker gets the failure (cancelled: with the loop)
                for _, answer in asked:
                    if not answer.done():
                        answer.cancel() if isinstance(error, asyncio.CancelledError) else answer.set_exception(error)
                if isinstance(error, asyncio.CancelledError):
                    raise
                continue
            for resident_id, answer in asked:
                if not answer.done():  # its asker may have been cancelled meanwhile
                    answer.set_result(facts.get(resident_id))
