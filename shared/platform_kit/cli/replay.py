"""``msp replay SERVICE``: rebuild a service's read models from history into a fresh schema,
with progress and an ETA; ``--compare`` prints every difference from the live views.

Exit codes: 0 rebuilt (and, with --compare, identical), 1 differences found, 2 usage,
3 could not replay.
"""

from __future__ import annotations

import importlib
import time
from typing import Annotated

import asyncpg
import typer
from rich.table import Table

from platform_kit.cli.audit_common import CLEAN, FOUND, DatabaseUrl, database_url, progress_bar, run, stderr, stdout, unable
from platform_kit.database import create_pool


# Each service keeps its replay plan beside its other entrypoints (its layers say so); the
# kit only knows where to find it.
PLANS = {
    "registry": "registry.entrypoints.replay",
    "services-log": "services_log.entrypoints.replay",
    "assessment": "assessment.entrypoints.replay",
    "notifier": "notifier.entrypoints.replay",
}


def _plan(service: str, sources: list[str] | None):
    if service not in PLANS:
        raise typer.BadParameter(f"{service!r} is not a service; one of: {', '.join(PLANS)}", param_hint="SERVICE")
    plan = importlib.import_module(PLANS[service]).plan
    return plan(*sources) if sources else plan()


def replay(
    service: Annotated[str, typer.Argument(help="the service whose read models to rebuild: registry, services-log, assessment or notifier")],
    until: Annotated[str | None, typer.Option("--until", help="only what had occurred by then (date = end of that day, CST)")] = None,
    known_at: Annotated[str | None, typer.Option("--known-at", help="only what had been recorded by then")] = None,
    compare: Annotated[bool, typer.Option("--compare", help="print every difference from the live views (exit 1 if any)")] = False,
    into: Annotated[str | None, typer.Option("--into", help="the fresh schema (default replay_<service>_<time>); must not exist")] = None,
    live_schema: Annotated[str | None, typer.Option("--live-schema", help="the live read models' schema (default: the service's)")] = None,
    source: Annotated[list[str] | None, typer.Option("--source", help="the source stores' schemas, in the plan's order (default: the services')")] = None,
    drop: Annotated[bool, typer.Option("--drop", help="drop the rebuilt schema afterwards")] = False,
    url: DatabaseUrl = None,
) -> None:
    """Rebuild SERVICE's read models from the source services' event stores into a fresh schema."""
    from assessment.domain.periods import parse_instant

    plan = _plan(service, source)
    try:
        until_at, known = parse_instant(until, field="--until"), parse_instant(known_at, field="--known-at")
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    if compare and (until_at or known):
        raise typer.BadParameter("the live views are today's: compare a full replay (no --until/--known-at)", param_hint="--compare")
    target = into or f"replay_{service.replace('-', '_')}_{time.strftime('%Y%m%d%H%M%S')}"
    try:
        found = run(_replay(database_url(url), plan, target, live_schema or service.replace("-", "_"), until_at, known, compare, drop))
    except (OSError, asyncpg.PostgresError, ValueError) as error:
        raise unable("replay", f"{type(error).__name__}: {error}") from None
    if compare and found:
        table = Table("table", "side", "row", title=f"{len(found)} difference(s) between live and rebuilt", box=None)
        for name, side, row in found[:200]:
            table.add_row(name, side, ", ".join(f"{k}={v}" for k, v in row.items()))
        stdout.print(table)
        raise typer.Exit(FOUND)
    if compare:
        stdout.print(f"[green]✓ identical[/]: the live views and the rebuilt ones in {target} ({', '.join(plan.compared)})", highlight=False)
    raise typer.Exit(CLEAN)


async def _replay(url, plan, target, live, until, known_at, compare, drop):
    from platform_kit.audit.replay import differences, history, rebuild
    from platform_kit.contract import catalogue

    pool = await create_pool(url, max_size=4)
    try:
        if await pool.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", target):
            raise ValueError(f"--into: schema {target} exists already; a replay goes into a fresh one")
        projection = plan.projection(target)
        events = await history(
            pool, plan.sources, event_types=getattr(projection, "event_types", None), until=until, known_at=known_at,
            catalogue=catalogue,
        )
        with progress_bar() as progress:
            task = progress.add_task(f"replaying {len(events)} events into {target}", total=len(events))
            await rebuild(pool, projection, target, events, progress=lambda n: progress.advance(task, n))
        stderr.print(f"rebuilt {target} from {len(events)} events of {', '.join(plan.sources)}", highlight=False)
        found = await differences(pool, live, target, plan.compared, views=plan.views) if compare else []
        if drop:
            await pool.execute(f"DROP SCHEMA {target} CASCADE")
        return found
    finally:
        await pool.close()
