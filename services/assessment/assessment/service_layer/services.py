"""The service layer, built once per process and reached by the HTTP routes and the loops."""

from __future__ import annotations

from dataclasses import dataclass

from assessment.adapters.change_feed import ChangeFeed, view_channel
from assessment.domain.policy import Rules
from assessment.service_layer.announcer import Announcer
from assessment.service_layer.commands import Commands
from assessment.service_layer.live_years import LiveYears
from assessment.service_layer.queries import Reads
from assessment.service_layer.ranking_schedule import RankingScheduler
from assessment.service_layer.scoreboard import Scoreboards
from assessment.service_layer.scoreboard_cache import ScoreboardCache
from assessment.settings import AssessmentSettings
from platform_kit.runtime import ServiceRuntime
from platform_kit.units import UnitTree


@dataclass
class Services:
    reads: Reads
    scoreboards: Scoreboards
    commands: Commands
    boards: ScoreboardCache
    feed: ChangeFeed
    announcer: Announcer
    schedule: RankingScheduler
    live: LiveYears
    stream_heartbeat_seconds: float

    @classmethod
    def over(cls, runtime: ServiceRuntime, settings: AssessmentSettings, rules: Rules, tree: UnitTree) -> Services:
        """Wired to the runtime's pool and store (reached when used: they exist once it started)."""
        schema, clock = runtime.schema, runtime.clock
        live = LiveYears(schema, rules, tree, clock, pool=lambda: runtime.pool)
        reads = Reads(lambda: runtime.pool, schema, rules, tree, clock, live_years=lambda: live.years)
        scoreboards = Scoreboards(reads)
        feed = ChangeFeed(settings.database_url, [view_channel(schema), f"{schema}_events"])
        commands = Commands(lambda: runtime.store, scoreboards, clock)
        return cls(
            reads=reads, scoreboards=scoreboards, commands=commands,
            boards=ScoreboardCache(scoreboards, feed), feed=feed,
            announcer=Announcer(
                schema, rules, lambda: runtime.store, settings.announce_interval_seconds, clock, tree.district.code
            ),
            schedule=RankingScheduler(commands, rules, clock, settings.ranking_schedule_seconds, feed),
            live=live, stream_heartbeat_seconds=settings.stream_heartbeat_seconds,
        )
