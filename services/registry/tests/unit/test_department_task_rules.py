"""Who each department is asked to act for, and which fact closes the task: pure rules."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from registry.domain.tasks import (
    Permit,
    Person,
    check_tasks,
    closings,
    end_of_quarter,
    enrolment_tasks,
    permit_tasks,
    quarter_of,
    school_year_of,
)

pytestmark = pytest.mark.unit
UNIT = "370402005001"


def person(born: str) -> Person:
    return Person(uuid.uuid4(), UNIT, date.fromisoformat(born))


def test_a_child_of_6_to_14_by_31_august_not_enrolled_for_the_school_year_is_educations():
    six, fourteen, five, fifteen, enrolled = (person(b) for b in ("2007-08-31", "1999-01-01", "2007-09-01", "1998-08-31", "2005-01-01"))
    tasks = enrolment_tasks([six, fourteen, five, fifteen, enrolled], {enrolled.resident_id}, date(2013, 12, 1), 30)
    assert {t.resident_id for t in tasks} == {six.resident_id, fourteen.resident_id}
    assert {(t.department, t.period, t.due_on) for t in tasks} == {("education", "2013", date(2013, 12, 31))}


def test_before_september_the_school_year_is_the_one_that_began_last_autumn():
    assert (school_year_of(date(2013, 8, 31)), school_year_of(date(2013, 9, 1))) == (2012, 2013)


def test_a_married_woman_of_15_to_49_not_checked_this_quarter_is_healths():
    due, checked, too_old = person("1988-03-15"), person("1990-01-01"), person("1963-01-01")
    tasks = check_tasks([due, checked, too_old], {checked.resident_id}, date(2013, 5, 5))
    assert [(t.resident_id, t.department, t.period, t.due_on) for t in tasks] == [
        (due.resident_id, "health", "2013Q2", date(2013, 6, 30))
    ]


@pytest.mark.parametrize(("day", "quarter", "last"), [
    ("2013-01-01", "2013Q1", "2013-03-31"), ("2013-06-30", "2013Q2", "2013-06-30"),
    ("2013-07-01", "2013Q3", "2013-09-30"), ("2013-12-31", "2013Q4", "2013-12-31"),
])
def test_quarters_and_their_last_days(day, quarter, last):
    assert (quarter_of(date.fromisoformat(day)), end_of_quarter(date.fromisoformat(day))) == (quarter, date.fromisoformat(last))


def test_a_permit_expiring_within_the_notice_is_public_securitys():
    soon = Permit(uuid.uuid4(), UNIT, "P-1", date(2013, 12, 20))
    later = Permit(uuid.uuid4(), UNIT, "P-2", date(2014, 2, 1))
    expired = Permit(uuid.uuid4(), UNIT, "P-3", date(2013, 11, 30))
    assert [(t.resident_id, t.period, t.due_on) for t in permit_tasks([soon, later, expired], date(2013, 12, 1), 30)] == [
        (soon.resident_id, "P-1", date(2013, 12, 20))
    ]


def test_a_task_has_one_id_however_often_it_is_found():
    child = person("2007-01-01")
    first = enrolment_tasks([child], set(), date(2013, 10, 1), 30)[0]
    again = enrolment_tasks([child], set(), date(2013, 11, 1), 30)[0]
    assert first.task_id == again.task_id


def test_the_facts_that_close_tasks():
    someone = uuid.uuid4()
    on = date(2013, 5, 5)
    assert closings("ChildEnrolled", {"child_resident_id": str(someone), "school_year": 2012}, on)[0].period == "2012"
    check = closings("ServiceDelivered", {"service_kind": "pregnancy_check", "resident_id": str(someone)}, on)[0]
    assert (check.kind, check.period, check.outcome) == ("pregnancy_check", "2013Q2", "checked")
    assert closings("ServiceDelivered", {"service_kind": "policy_publicity", "resident_id": str(someone)}, on) == []
    renewed = closings("ResidencePermitIssued", {"resident_id": str(someone), "valid_until": "2014-12-20"}, on)[0]
    assert (renewed.kind, renewed.renewed_until) == ("renew_permit", date(2014, 12, 20))
    assert closings("ResidentDeparted", {"resident_id": str(someone)}, on)[0].kind is None
