"""``msp replay assessment`` on the real PostgreSQL: rebuilt from the source stores into a fresh
schema, identical to the live view, and every difference printed when it is not."""

from __future__ import annotations

import uuid

from conftest import XINHUA
from typer.testing import CliRunner

from platform_kit.cli import app

runner = CliRunner()


def replay(stack, names, *extra):
    return runner.invoke(app, [
        "replay", "assessment", "--database-url", stack.database_url, "--live-schema", names["assessment"],
        "--source", names["registry"], "--source", names["services"], *extra,
    ])


async def test_a_replay_equals_the_live_view_and_a_corrupted_cell_is_named(district, stack, pool):
    names, _ = district
    into = f"test_replay_{uuid.uuid4().hex[:8]}"
    try:
        same = replay(stack, names, "--compare", "--into", into)
        assert same.exit_code == 0, same.output
        assert "identical" in same.output
        rebuilt = await pool.fetchval(f"SELECT count(*) FROM {into}.coverage")
        assert rebuilt == await pool.fetchval(f"SELECT count(*) FROM {names['assessment']}.coverage") > 0
        await pool.execute(
            f"UPDATE {names['assessment']}.coverage SET numerator = numerator + 1 WHERE unit_code = $1 AND period = '2013-05'", XINHUA
        )
        differs = replay(stack, names, "--compare", "--into", into + "b", "--drop")
        assert differs.exit_code == 1, differs.output
        assert "only live" in differs.output and "only rebuilt" in differs.output and XINHUA in differs.output
    finally:
        for schema in (into, into + "b"):
            await pool.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


async def test_a_replay_until_a_date_sees_less(district, stack, pool):
    names, _ = district
    into = f"test_replay_{uuid.uuid4().hex[:8]}"
    try:
        result = replay(stack, names, "--until", "2013-03-31", "--into", into)
        assert result.exit_code == 0, result.output
        assert await pool.fetchval(f"SELECT count(*) FROM {into}.facts WHERE occurred_at > '2013-04-01'") == 0
        assert await pool.fetchval(f"SELECT count(*) FROM {into}.facts") > 0
    finally:
        await pool.execute(f"DROP SCHEMA IF EXISTS {into} CASCADE")


def test_usage_errors_are_exit_2(stack):
    assert runner.invoke(app, ["replay", "census", "--database-url", stack.database_url]).exit_code == 2
    assert runner.invoke(app, ["replay", "assessment", "--compare", "--until", "2013-06-30"]).exit_code == 2
    assert runner.invoke(app, ["replay", "assessment", "--until", "June"]).exit_code == 2
