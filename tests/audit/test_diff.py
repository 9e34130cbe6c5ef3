"""``msp audit diff`` on the real PostgreSQL: a birth that occurred in December 2013 and was
reported in March 2014 changes 2013's figures between the two knowledge dates, and is named."""

from __future__ import annotations

import json


from typer.testing import CliRunner

from platform_kit.cli import app

runner = CliRunner()


def diff(stack, names, *args):
    return runner.invoke(app, [
        "audit", "diff", "--period", "2013", "--database-url", stack.database_url,
        "--registry-schema", names["registry"], "--services-schema", names["services"], *args,
    ], terminal_width=240)


def test_the_late_birth_is_the_change_and_its_event_is_named(district, stack):
    names, events = district
    birth = next(e for e in events if e.event_type == "BirthReported")
    result = diff(stack, names, "--known-at", "2013-12-31", "--known-at", "2014-03-31", "--level", "village")
    assert result.exit_code == 0, result.output
    assert "changed between" in result.output and "BirthReported" in result.output
    lines = diff(stack, names, "--known-at", "2013-12-31", "--known-at", "2014-03-31", "--level", "village", "--json")
    changed = [json.loads(line) for line in lines.output.splitlines()]
    assert changed and all(str(birth.event_id) in [e["event_id"] for e in c["events"]] for c in changed)
    assert all(c["before"] != c["after"] for c in changed)
    unchanged = diff(stack, names, "--known-at", "2013-12-31", "--known-at", "2014-01-31")
    assert unchanged.exit_code == 0 and "no figure" in unchanged.output


def test_usage_errors_are_exit_2(stack):
    names = {"registry": "registry", "services": "services_log"}
    assert diff(stack, names, "--known-at", "2013-12-31").exit_code == 2
    assert diff(stack, names, "--known-at", "2014-03-31", "--known-at", "2013-12-31").exit_code == 2
    assert diff(stack, names, "--known-at", "2013-12-31", "--known-at", "2014-03-31", "--level", "street").exit_code == 2


