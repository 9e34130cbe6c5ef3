"""What `make run` shows, checked without running the services: the demo year's figures
computed with the assessment's own pure code (coverage, penalties, scores, ranks).

The district reports its targets met (the document, lines 20-30): most villages are green on
most indicators; the few that fall short do so for a reason in the data, and 龙山路街道 is the
bottom town because its sweep found 3 births nobody reported (漏报出生, 5 points each)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from demo_events import demo_events  # noqa: E402  (puts deploy/demo on the path)
from district import LATE_REPLIES_TOWN, LONGSHANLU, NO_CHECKS_AFTER_JUNE, Year  # noqa: E402
from outcome import Outcome, outcome  # noqa: E402
from registry_check import refusals  # noqa: E402

from assessment.settings import load_rules  # noqa: E402
from platform_kit.units import unit_tree  # noqa: E402

SCALE = 0.1  # every village still has its people; a few seconds
INDICATORS = [i.id for i in load_rules().indicators]
TREE = unit_tree()


@pytest.fixture(scope="module")
def year_2013() -> Outcome:
    return outcome(Year(seed=2013, scale=SCALE), "2013")


@pytest.mark.parametrize("indicator", INDICATORS)
def test_most_villages_meet_the_target(year_2013, indicator):
    bands = [year_2013.band(v.code, indicator) for v in TREE.villages()]
    counted = [b for b in bands if b != "grey"]
    assert counted, f"nobody counted for {indicator} anywhere"
    assert bands.count("green") / len(counted) >= 0.7, f"{indicator}: {bands.count('green')} green of {len(counted)}"


@pytest.mark.parametrize("indicator", INDICATORS)
def test_no_indicator_is_red_in_every_town(year_2013, indicator):
    bands = [year_2013.band(t.code, indicator) for t in TREE.towns()]
    assert bands.count("green") >= 6, f"{indicator}: towns {bands}"


def test_longshanlu_is_the_bottom_town_for_its_three_unreported_births(year_2013):
    bottom = [unit for _, unit, _, is_bottom in year_2013.town_ranking if is_bottom]
    assert bottom == [LONGSHANLU]
    longshanlu = year_2013.scores[LONGSHANLU]
    assert longshanlu.penalties == {"unreported_birth": 15.0}
    # Its work is as good as anyone's: without the penalty it would not be the bottom.
    others = [s.score for code, s in year_2013.scores.items()
              if code != LONGSHANLU and TREE[code].level != "village" and s.score is not None]
    assert longshanlu.attainment > min(others)


def test_the_late_replies_cost_kuangqu_and_no_other_town(year_2013):
    late = {t.code for t in TREE.towns() if year_2013.scores[t.code].penalties.get("late_verification_reply")}
    assert late == {LATE_REPLIES_TOWN}


def test_the_village_without_check_days_checked_nobody_in_q3():
    q3 = outcome(Year(seed=2013, scale=SCALE), "2013-Q3")
    numerator, denominator = q3.figures[(NO_CHECKS_AFTER_JUNE, "free_pregnancy_checks")]
    assert denominator > 0 and numerator == 0
    checked_elsewhere = [q3.band(v.code, "free_pregnancy_checks") for v in TREE.villages() if v.code != NO_CHECKS_AFTER_JUNE]
    # A quarter is a short window (a woman who came late in it may wait for the next check day).
    assert checked_elsewhere.count("green") / len(checked_elsewhere) >= 0.75


def test_couples_who_marry_here_name_each_other_and_returners_keep_their_person():
    events = demo_events(Year(seed=2013, scale=SCALE).build())
    marriages = [e for e in events if e.event_type == "MaritalStatusChanged"]
    assert marriages and all(e.payload.get("spouse_resident_id") for e in marriages)
    returns = [e for e in events if e.event_type == "ResidentRegistered" and e.payload.get("person_id")]
    assert returns


@pytest.mark.parametrize("scale", [SCALE, 0.25])
def test_the_registry_accepts_every_command_the_demo_sends(scale):
    """The demo means no refusal (make run printed 8: enrolments of 5-year-olds, "married"
    people below the legal age, a plan before the registration): each command is put to the
    registry's own decisions, in the order the driver sends them."""
    refused = refusals(Year(seed=2013, scale=scale).build())
    assert not refused, "\n".join(f"{count} x {why}" for why, count in refused.most_common())
