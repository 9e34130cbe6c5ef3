"""Deadlines of verification requests (协查) and findings of reconciliation (清理清查), pure."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from registry_builders import NOW, context, envelopes

from platform_kit.problems import Refusal

from registry.domain.errors import AlreadyRecorded
from registry.domain.exchange import DEADLINE_DAYS, days_late, due_on, fold_verification, kind_for, movement_facts, reply
from registry.domain.reconciliation import (
    LivingChild,
    ReportedBirth,
    children_without_birth_record,
    discrepancy_id,
    unreported_hospital_births,
)
from registry.domain.commands import ReplyToVerification


def test_the_national_deadlines_are_7_15_and_30_days():
    assert DEADLINE_DAYS == {"marriage_childbearing_certificate": 7, "current_pregnancy": 15, "ordinary": 30}
    assert due_on("current_pregnancy", date(2013, 12, 1)) == date(2013, 12, 16)


@pytest.mark.parametrize(
    ("sex", "born", "status", "pregnant", "kind"),
    [
        ("female", date(1988, 1, 1), "married", False, "marriage_childbearing_certificate"),
        ("female", date(1960, 1, 1), "married", False, "ordinary"),
        ("female", date(1988, 1, 1), "unmarried", False, "ordinary"),
        ("male", date(1988, 1, 1), "married", False, "ordinary"),
        ("female", date(1988, 1, 1), "married", True, "current_pregnancy"),
    ],
)
def test_the_kind_of_request_follows_the_person(sex, born, status, pregnant, kind):
    assert kind_for(sex, born, status, date(2013, 12, 1), currently_pregnant=pregnant) == kind


def request_events(kind: str = "marriage_childbearing_certificate"):
    facts = movement_facts(
        resident_id=uuid.uuid4(), resident_stream="resident-x", movement="arrival", counterpart_place="370481",
        kind=kind, unit_code="370402005001", occurred_at=NOW, on=date(2013, 11, 1), ctx=context(),
    )
    return [e for e in envelopes(facts) if e.event_type == "VerificationRequested"]


def open_request():
    return fold_verification(request_events())


def test_a_reply_after_the_deadline_is_recorded_as_late():
    answer = reply(open_request(), ReplyToVerification(replied_on=date(2013, 11, 10), outcome="confirmed"), context())
    assert answer[0].payload.days_late == 2  # due 2013-11-08


def test_a_reply_in_time_is_not_late():
    answer = reply(open_request(), ReplyToVerification(replied_on=date(2013, 11, 8), outcome="confirmed"), context())
    assert answer[0].payload.days_late == 0 == days_late(date(2013, 11, 8), date(2013, 11, 8))


def test_a_reply_before_the_request_is_rejected():
    with pytest.raises(Refusal, match="before the request") as error:
        reply(open_request(), ReplyToVerification(replied_on=date(2013, 10, 31), outcome="confirmed"), context())
    assert error.value.field == "replied_on"


def test_a_request_is_answered_once():
    events = request_events()
    answer = reply(fold_verification(events), ReplyToVerification(replied_on=date(2013, 11, 5), outcome="confirmed"), context())
    answered = fold_verification(events + envelopes(answer, {events[0].stream_id: 1}))
    with pytest.raises(AlreadyRecorded, match="answered on 2013-11-05"):
        reply(answered, ReplyToVerification(replied_on=date(2013, 11, 6), outcome="confirmed"), context())


MOTHER, CHILD = uuid.uuid4(), uuid.uuid4()


def hospital_birth(reporters=frozenset({"hospital"}), born=date(2013, 10, 1)):
    return ReportedBirth(MOTHER, CHILD, born, reporters, "H-1", "370402005001")


@pytest.mark.parametrize(
    ("birth", "today", "found"),
    [
        (hospital_birth(), date(2013, 11, 1), 1),  # 31 days later, nobody else reported it
        (hospital_birth(), date(2013, 10, 31), 0),  # still within the 30 days
        (hospital_birth(frozenset({"hospital", "family"})), date(2013, 12, 1), 0),
        (hospital_birth(frozenset({"community"})), date(2013, 12, 1), 0),
    ],
    ids=["unreported after the grace period", "within the grace period", "family reported it", "no hospital report"],
)
def test_a_hospital_birth_nobody_else_reported_in_time_is_a_discrepancy(birth, today, found):
    facts = unreported_hospital_births([birth], today=today, grace_days=30, already_found=set(), now=NOW)
    assert len(facts) == found
    if found:
        assert facts[0].payload.kind == "hospital_report_without_registry_birth"
        assert facts[0].payload.discrepancy_id == discrepancy_id("hospital_report_without_registry_birth", CHILD)


def test_a_discrepancy_is_found_once():
    found = {discrepancy_id("hospital_report_without_registry_birth", CHILD)}
    assert unreported_hospital_births([hospital_birth()], today=date(2014, 1, 1), grace_days=30, already_found=found, now=NOW) == []


@pytest.mark.parametrize(
    ("child", "found"),
    [
        (LivingChild(CHILD, MOTHER, date(2013, 3, 1), "370402005001", False), 1),
        (LivingChild(CHILD, MOTHER, date(2013, 3, 1), "370402005001", True), 0),
        (LivingChild(CHILD, None, date(2012, 12, 31), "370402005001", False), 0),
    ],
    ids=["no birth record", "birth recorded", "born before the sweep period"],
)
def test_a_sweep_finds_children_living_without_a_birth_record(child, found):
    facts = children_without_birth_record([child], born_since=date(2013, 1, 1), already_found=set(), now=NOW)
    assert len(facts) == found
    if found:
        assert facts[0].payload.found_by == "sweep" and facts[0].stream_id.startswith("discrepancy-")
