"""A year of the network per unit: pure, from assignments, trainings and activities."""

from __future__ import annotations

from datetime import date

import pytest

from platform_kit.units import unit_tree
from services_log.domain.network import Activity, Assignment, Training, roster_at, year_of_network

pytestmark = pytest.mark.unit
YONGFU, KANGLE, LONGSHAN, JIANSHE = "370402005001", "370402005002", "370402005000", "370402001001"


def test_staff_count_where_their_assignment_in_force_at_the_years_end_puts_them():
    moved = [Assignment("s-1", YONGFU, "manager", date(2013, 1, 2)), Assignment("s-1", JIANSHE, "manager", date(2013, 7, 1))]
    late = [Assignment("s-2", YONGFU, "assistant", date(2014, 1, 2))]
    figures = year_of_network(2013, unit_tree(), moved + late, [], [])
    assert (figures[YONGFU].managers, figures[JIANSHE].managers, figures[YONGFU].assistants) == (0, 1, 0)
    assert figures[unit_tree().district.code].managers == 1
    assert roster_at(moved, date(2013, 6, 30))["s-1"].unit_code == YONGFU


def test_towns_and_the_district_add_up_what_lies_below_them():
    staff = [Assignment("s-1", YONGFU, "manager", date(2013, 1, 2)), Assignment("s-2", KANGLE, "assistant", date(2013, 1, 2))]
    trainings = [Training(LONGSHAN, 30, ("s-1", "s-2", "someone-else")), Training(YONGFU, 5, ("s-1",))]
    activities = [Activity(LONGSHAN, "association-03", 40), Activity(JIANSHE, "association-01", 60)]
    figures = year_of_network(2013, unit_tree(), staff, trainings, activities)
    town, district = figures[LONGSHAN], figures[unit_tree().district.code]
    assert (town.managers, town.assistants, town.trainings, town.training_person_times, town.trained_staff) == (1, 1, 2, 35, 2)
    assert (figures[YONGFU].training_person_times, figures[KANGLE].training_person_times) == (5, 0)
    assert (district.association_activities, district.association_participants, district.associations_active) == (2, 100, 2)
    assert set(district.public()) >= {"managers", "assistants", "training_person_times", "association_participants"}


def test_a_removal_takes_staff_off_from_its_day_and_a_later_assignment_puts_them_back():
    from services_log.domain.network import Removal

    staff = [Assignment("s-1", YONGFU, "manager", date(2013, 1, 2)), Assignment("s-1", KANGLE, "manager", date(2013, 9, 1))]
    left = [Removal("s-1", date(2013, 7, 1))]
    assert roster_at(staff, date(2013, 6, 30), left)["s-1"].unit_code == YONGFU
    assert "s-1" not in roster_at(staff, date(2013, 7, 1), left)
    assert roster_at(staff, date(2013, 9, 1), left)["s-1"].unit_code == KANGLE
    figures = year_of_network(2013, unit_tree(), staff[:1], [], [], left)
    assert figures[YONGFU].managers == 0
    assert year_of_network(2013, unit_tree(), staff[:1], [], [], left, staff_on=date(2013, 6, 30))[YONGFU].managers == 1
