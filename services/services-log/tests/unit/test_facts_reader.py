"""The residents' facts asked by concurrent records are read together; each asker gets its own
answer, or the read's failure."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timezone

import pytest

from services_log.adapters.facts_reader import FactsReader
from services_log.domain.residence import ResidenceChange, ResidentFacts

pytestmark = pytest.mark.timeout(30)  # a reader that never answers fails here instead of hanging

KNOWN = uuid.uuid4()
FACTS = ResidentFacts(KNOWN, (ResidenceChange(datetime(2013, 3, 1, tzinfo=timezone.utc), "370402005001"),), "female")


class View:
    """A view whose reads wait until let go, counting what each read was asked."""

    def __init__(self, fail: bool = False) -> None:
        self.reads: list[list[uuid.UUID]] = []
        self.go = asyncio.Event()
        self.fail = fail

    async def read_many(self, resident_ids):
        self.reads.append(sorted(resident_ids))
        await self.go.wait()
        if self.fail:
            raise ConnectionResetError("the database went away")
        return {KNOWN: FACTS} if KNOWN in resident_ids else {}


async def test_questions_asked_while_a_read_is_on_its_way_go_together_in_the_next():
    view = View()
    reader = FactsReader(view.read_many)
    others = [uuid.uuid4() for _ in range(5)]
    first = asyncio.create_task(reader.of(others[0]))
    await asyncio.sleep(0)  # the first read is on its way
    rest = [asyncio.create_task(reader.of(r)) for r in [KNOWN, *others[1:], KNOWN]]
    await asyncio.sleep(0)
    view.go.set()

    assert await first is None
    assert await asyncio.gather(*rest) == [FACTS, None, None, None, None, FACTS]
    assert view.reads == [[others[0]], sorted([KNOWN, *others[1:]])]


async def test_a_failed_read_fails_each_of_its_askers_and_the_next_read_goes_on():
    view = View(fail=True)
    reader = FactsReader(view.read_many)
    asked = [asyncio.create_task(reader.of(uuid.uuid4())) for _ in range(3)]
    await asyncio.sleep(0)
    view.go.set()
    for answer in asked:
        with pytest.raises(ConnectionResetError):
            await answer

    view.fail = False
    assert await reader.of(KNOWN) == FACTS


async def test_an_asker_cancelled_meanwhile_leaves_the_others_their_answers():
    view = View()
    reader = FactsReader(view.read_many)
    gone, staying = asyncio.create_task(reader.of(uuid.uuid4())), asyncio.create_task(reader.of(KNOWN))
    await asyncio.sleep(0)
    gone.cancel()
    view.go.set()
    assert await staying == FACTS
    assert gone.cancelled()
