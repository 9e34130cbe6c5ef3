"""``msp audit diff``: how the scoreboard's figures changed between two knowledge dates, and
for each changed figure the events recorded in between that changed it (late reports,
corrections). Computed from the source services' event stores with the assessment's own
domain code (the functions behind its ``known_at`` API), so it needs only PostgreSQL.

Exit codes: 0 done (changes or none: the output says), 2 usage, 3 could not compute.
"""

from __future__ import annotations

import json
from typing import Annotated

import asyncpg
import typer
from rich.table import Table

from platform_kit.cli.audit_common import CLEAN, DatabaseUrl, database_url, run, stdout, unable
from platform_kit.database import create_pool


def diff(
    period: Annotated[str, typer.Option("--period", help="2013, 2013-Q2 or 2013-05")],
    known_at: Annotated[list[str], typer.Option("--known-at", help="give it twice: the earlier and the later knowledge date")],
    level: Annotated[str, typer.Option("--level", help="town or village")] = "town",
    registry_schema: Annotated[str, typer.Option("--registry-schema")] = "registry",
    services_schema: Annotated[str, typer.Option("--services-schema")] = "services_log",
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per changed figure, for scripts")] = False,
    url: DatabaseUrl = None,
) -> None:
    """Every figure that changed between two knowledge dates, every unit whose rank or score
    changed (indicator "rank"), and the events recorded in between that changed them."""
    from assessment.domain.periods import parse_instant
    from platform_kit.cli.audit_bundle import _period

    asked = _period(period)
    if len(known_at) != 2:
        raise typer.BadParameter("give exactly two: --known-at A --known-at B", param_hint="--known-at")
    if level not in ("town", "village"):
        raise typer.BadParameter(f"{level!r}: town or village", param_hint="--level")
    try:
        a, b = (parse_instant(t, field="--known-at") for t in known_at)
    except ValueError as error:
        raise typer.BadParameter(str(error).removeprefix("--known-at: "), param_hint="--known-at") from None
    if not a < b:
        raise typer.BadParameter("the first date must be before the second", param_hint="--known-at")
    try:
        rows = run(_diff(database_url(url), (registry_schema, services_schema), asked, a, b, level))
    except (OSError, asyncpg.PostgresError) as error:
        raise unable("audit diff", f"{type(error).__name__}: {error}") from None
    if as_json:
        for row in rows:
            print(json.dumps({**row, "events": [
                {"recorded_at": r.isoformat(), "occurred_at": o.isoformat(), "event_type": k, "event_id": str(e), "corrects": c}
                for r, o, k, e, c in row["events"]
            ]}, ensure_ascii=False))
        raise typer.Exit(CLEAN)
    if not rows:
        stdout.print(f"no figure of {asked} ({level}s) changed between {a.isoformat()} and {b.isoformat()}", highlight=False)
        raise typer.Exit(CLEAN)
    table = Table("unit", "indicator", "known at A", "known at B", "events recorded in between (recorded, occurred, type, id)",
                  title=f"{asked}, {level}s: {len(rows)} figure(s) changed between {a.date()} and {b.date()}", box=None)
    table.columns[-1].overflow = "fold"
    for row in rows:
        events = "\n".join(
            f"{r.date()} {o.date()} {kind} {eid}" + (f" corrects {c}" if c else "") for r, o, kind, eid, c in row["events"]
        ) or "—"
        table.add_row(row["unit"], row["indicator"], _shown(row), _shown(row, "after"), events)
    stdout.print(table)
    raise typer.Exit(CLEAN)


def _shown(row: dict, side: str = "before") -> str:
    """A figure as numerator/denominator; a rank row as "rank N (score S)" ("—": not assessed)."""
    if row["indicator"] != "rank":
        return "/".join(map(str, row[side]))
    rank, score = row[side]
    return "—" if rank is None else f"rank {rank} ({score})"


async def _diff(url, sources, period, a, b, level):
    import tomllib

    from assessment.domain.audit_figures import changed_cells, contributions, facts_from, penalties_from, rank_rows, ranks
    from assessment.domain.facts import PERSON_EVENT_TYPES
    from assessment.domain.policy import Rules
    from assessment.settings import AssessmentSettings
    from platform_kit.audit.replay import history
    from platform_kit.units import unit_tree

    rules = Rules.model_validate(tomllib.loads(AssessmentSettings().rules_file.read_text(encoding="utf-8")))
    pool = await create_pool(url, max_size=2)
    try:
        wanted = PERSON_EVENT_TYPES | rules.penalty_event_types | rules.marked_event_types
        events = await history(pool, sources, event_types=wanted, until=None, known_at=b)
    finally:
        await pool.close()
    facts, tree, penalties = facts_from(events), unit_tree(), penalties_from(events, rules)
    before = contributions(facts, rules, tree, period, a, level)
    after = contributions(facts, rules, tree, period, b, level)
    cells = changed_cells(before, after, facts, a, b)
    ranked = rank_rows(ranks(before, penalties, rules, tree, period, a, level), ranks(after, penalties, rules, tree, period, b, level),
                       cells, penalties, tree, a, b)
    return cells + ranked
