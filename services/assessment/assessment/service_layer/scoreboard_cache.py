"""The live scoreboard, computed once per change of what it shows and shared by every reader
(pollers, streams). A change is the projection's or the event store's NOTIFY (the change
feed's version) or a command of this process; the version is read before computing, so a
change during a computation only makes the next reader compute again."""

from __future__ import annotations

from collections import OrderedDict

from assessment.adapters.change_feed import ChangeFeed
from assessment.domain.periods import Clocks, Period
from assessment.service_layer.scoreboard import Scoreboards

KEEP = 64


class ScoreboardCache:
    def __init__(self, scoreboards: Scoreboards, feed: ChangeFeed) -> None:
        self.scoreboards = scoreboards
        self.feed = feed
        self._boards: OrderedDict[tuple, tuple[int, dict]] = OrderedDict()

    async def scoreboard(self, period: Period, level: str, parent: str | None, clocks: Clocks) -> dict:
        if not clocks.is_now or not self.feed.listening:
            return await self.scoreboards.scoreboard(period, level, parent, clocks)
        key = (period, level, parent)
        version = self.feed.version
        cached = self._boards.get(key)
        if cached is not None and cached[0] == version:
            self._boards.move_to_end(key)
            return cached[1]
        board = await self.scoreboards.scoreboard(period, level, parent, clocks)
        self._boards[key] = (version, board)
        self._boards.move_to_end(key)
        while len(self._boards) > KEEP:
            self._boards.popitem(last=False)
        return board
