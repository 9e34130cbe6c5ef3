"""The demo's year of 市中区 keeps the district report's numbers and the registry's rules."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy" / "demo"))

from district import LONGSHANLU, Year, year_2013  # noqa: E402
from registry.domain.identity import check_id_number, check_name, check_phone  # noqa: E402

from platform_kit.units import unit_tree  # noqa: E402


@pytest.fixture(scope="module")
def year() -> Year:
    built = Year(seed=2013, scale=0.1)
    built.build()
    return built


def of_kind(year: Year, kind: str):
    return [a for a in year.actions if a.kind == kind]


def test_the_same_seed_gives_the_same_year():
    first, second = year_2013(7, 0.05), year_2013(7, 0.05)
    assert [(a.kind, a.occurred_at, a.data) for a in first] == [(a.kind, a.occurred_at, a.data) for a in second]


def test_every_village_and_community_has_migrants_and_staff(year):
    registered = {a.data["unit_code"] for a in of_kind(year, "register")}
    assert registered == {v.code for v in unit_tree().villages()}
    staff = [ref for refs in year.staff.values() for ref in refs]
    assert sum(ref.startswith("manager-") for ref in staff) == 177
    assert sum(ref.startswith("assistant-") for ref in staff) == 927


def test_four_hundred_odd_person_times_of_training(year):
    assert 400 <= sum(a.data["person_times"] for a in of_kind(year, "training")) <= 500


def test_every_registration_passes_the_registrys_own_checks(year):
    for action in of_kind(year, "register"):
        d = action.data
        check_id_number(d["id_number"], birth_date=date.fromisoformat(d["birth_date"]), sex=d["sex"])
        check_name(d["name"])
        check_phone(d["phone"])


def test_longshanlus_sweep_finds_three_children_nobody_reported(year):
    longshanlu = {v.code for v in unit_tree().villages(LONGSHANLU)}
    reported = {a.data["child_key"] for a in year.actions if a.kind in ("birth", "hospital_birth_report")}
    newborns = [
        a for a in of_kind(year, "register")
        if a.data["unit_code"] in longshanlu and a.data["birth_date"].startswith("2013") and a.data["key"] not in reported
    ]
    assert len(newborns) == 3
    assert {a.data["unit_code"] for a in of_kind(year, "sweep")} == longshanlu


def test_a_december_birth_reported_in_march_tells_the_two_clocks_apart():
    year = year_2013(2013, 1)
    late = [a for a in year if a.kind == "birth" and a.occurred_at.month == 12 and a.recorded_at.year == 2014]
    assert late, "the whole district's year has December births that families report in the new year"
