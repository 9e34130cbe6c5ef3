"""The services log's rules, without I/O: given what the registry told us and a command, which
event — or which field is at fault and why."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from typing import get_args

import pytest

from platform_kit.contract.services_log import CertificateMode, ServiceKind, SixOnesItem
from platform_kit.problems import Conflict, Refusal
from platform_kit.units import associations
from services_log.domain.decisions import (
    decide_association_activity,
    decide_service,
    decide_survey,
    decide_training,
    resolve_residence,
)
from services_log.domain.records import AwaitingRecord
from services_log.domain.residence import ResidenceChange, ResidentFacts
from services_log.domain.commands import RecordAssociationActivity, RecordService, RecordSurvey, RecordTraining

CST = timezone(timedelta(hours=8))
NOW = datetime(2013, 12, 31, 17, 0, tzinfo=CST)
LONGSHAN = "370402005000"  # 龙山路街道
YONGFU, KANGLE = "370402005001", "370402005002"  # two of its communities
JIANSHE = "370402001001"  # 建设社区, 中心街街道
MOTHER = uuid.UUID("0b6f2c1e-7d4a-4c8e-9f10-3a2b5c6d7e8f")


def on(month: int, day: int, hour: int = 9) -> datetime:
    return datetime(2013, month, day, hour, 30, tzinfo=CST)


def resident(*changes: tuple[datetime, str | None], sex="female", born=date(1988, 5, 1)) -> ResidentFacts:
    return ResidentFacts(MOTHER, tuple(ResidenceChange(at, unit) for at, unit in changes), sex=sex, birth_date=born)


def service(**fields) -> RecordService:
    command = {
        "service_kind": "pregnancy_check",
        "resident_id": MOTHER,
        "delivered_by_unit": YONGFU,
        "staff_ref": "staff-0412",
        "occurred_at": on(6, 3),
    } | fields
    return RecordService(**command)


def deliver(command: RecordService, known: ResidentFacts | None = None):
    return decide_service(command, known, service_id=uuid.uuid4(), now=NOW)


def rejected(decide, *args, **kwargs) -> Refusal:
    with pytest.raises(Refusal) as caught:
        decide(*args, **kwargs)
    return caught.value


LIVES_IN_YONGFU = resident((on(3, 1), YONGFU))
JUNE_3 = on(6, 3)


class TestWhereTheResidentLived:
    def test_a_service_by_the_residents_own_unit_serves_them_where_they_live(self):
        event = deliver(service(), LIVES_IN_YONGFU)
        assert (event.payload.residence, event.payload.resident_unit) == ("lives_here", YONGFU)
        assert event.awaits_resident is None

    def test_a_town_office_serving_a_resident_of_one_of_its_communities_is_not_cross_unit(self):
        event = deliver(service(delivered_by_unit=LONGSHAN), LIVES_IN_YONGFU)
        assert event.payload.residence == "lives_here"

    def test_a_service_to_a_resident_living_elsewhere_is_accepted_as_cross_unit(self):
        event = deliver(service(delivered_by_unit=JIANSHE, cross_unit_reason="在本社区务工"), LIVES_IN_YONGFU)
        assert (event.payload.residence, event.payload.resident_unit) == ("lives_elsewhere", YONGFU)
        assert event.payload.cross_unit_reason == "在本社区务工"
        assert event.unit_code == JIANSHE  # it counts for the unit that delivered it

    def test_a_service_for_a_resident_the_registry_has_not_told_us_of_awaits_the_registry(self):
        event = deliver(service())
        assert (event.payload.residence, event.payload.resident_unit) == ("not_yet_known", None)
        assert event.awaits_resident == MOTHER

    def test_a_service_before_a_move_counts_where_the_resident_lived_then(self):
        moved = resident((on(3, 1), YONGFU), (on(7, 1), KANGLE))
        assert deliver(service(occurred_at=on(6, 3)), moved).payload.residence == "lives_here"
        assert deliver(service(occurred_at=on(8, 3)), moved).payload.residence == "lives_elsewhere"

    def test_a_service_just_before_registration_is_placed_where_they_were_registered(self):
        registered_later = resident((on(6, 5), YONGFU))
        assert deliver(service(occurred_at=on(6, 3)), registered_later).payload.residence == "lives_here"

    def test_a_service_after_the_resident_left_the_district_conflicts(self):
        departed = resident((on(3, 1), YONGFU), (on(5, 1), None))
        rejection = rejected(deliver, service(occurred_at=on(6, 3)), departed)
        assert (type(rejection), rejection.field, rejection.status) == (Conflict, "resident_id", 409)
        assert "left the district on 2013-05-01" in rejection.reason

    def test_a_service_before_the_resident_left_is_still_theirs(self):
        departed = resident((on(3, 1), YONGFU), (on(5, 1), None))
        assert deliver(service(occurred_at=on(4, 3)), departed).payload.residence == "lives_here"

    def test_a_service_to_a_household_alone_asks_nothing_of_the_registry(self):
        event = deliver(service(service_kind="policy_publicity", resident_id=None, household_ref="household-0042"))
        assert (event.payload.residence, event.awaits_resident) == (None, None)


class TestWhatWasDelivered:
    @pytest.mark.parametrize(
        "kind", [k for k in get_args(ServiceKind) if k not in ("six_ones", "certificate_handling")]
    )
    def test_each_kind_of_service_is_recorded(self, kind):
        event = deliver(service(service_kind=kind), LIVES_IN_YONGFU)
        assert (event.event_type, event.payload.service_kind) == ("ServiceDelivered", kind)
        assert event.stream_id == f"service-{event.payload.service_id}" and event.stream_version == 1

    @pytest.mark.parametrize("item", get_args(SixOnesItem))
    def test_each_of_the_six_ones_is_recorded(self, item):
        event = deliver(service(service_kind="six_ones", six_ones_item=item), LIVES_IN_YONGFU)
        assert event.payload.six_ones_item == item

    @pytest.mark.parametrize("mode", get_args(CertificateMode))
    def test_certificate_handling_is_done_at_once_or_told_in_one_go(self, mode):
        event = deliver(service(service_kind="certificate_handling", certificate_mode=mode), LIVES_IN_YONGFU)
        assert event.payload.certificate_mode == mode

    def test_a_paid_service_is_recorded_as_not_free(self):
        assert deliver(service(free_of_charge=False), LIVES_IN_YONGFU).payload.free_of_charge is False

    def test_the_six_ones_must_say_which_one(self):
        rejection = rejected(deliver, service(service_kind="six_ones"))
        assert (rejection.field, rejection.reason) == ("six_ones_item", "required when service_kind is six_ones")

    def test_only_the_six_ones_say_which_one(self):
        assert rejected(deliver, service(six_ones_item="film")).field == "six_ones_item"

    def test_certificate_handling_must_say_how(self):
        rejection = rejected(deliver, service(service_kind="certificate_handling"))
        assert rejection.field == "certificate_mode"

    def test_only_certificate_handling_says_how(self):
        assert rejected(deliver, service(certificate_mode="done_at_once")).field == "certificate_mode"

    def test_a_service_to_nobody_is_rejected(self):
        rejection = rejected(deliver, service(resident_id=None))
        assert rejection.field == "resident_id" and "resident or a household" in rejection.reason

    def test_a_service_by_a_unit_outside_the_district_is_rejected(self):
        rejection = rejected(deliver, service(delivered_by_unit="370402999999"))
        assert (rejection.field, rejection.reason) == ("delivered_by_unit", "370402999999 is not a unit of 市中区")

    def test_a_service_in_the_future_is_rejected(self):
        assert rejected(deliver, service(occurred_at=NOW + timedelta(hours=1))).field == "occurred_at"

    def test_a_device_clock_a_little_ahead_is_not_the_future(self):
        assert deliver(service(occurred_at=NOW + timedelta(seconds=30)), LIVES_IN_YONGFU)

    def test_a_pregnancy_check_for_a_man_is_rejected(self):
        rejection = rejected(deliver, service(), resident((on(3, 1), YONGFU), sex="male"))
        assert rejection.field == "service_kind" and "for women" in rejection.reason

    def test_a_service_before_the_resident_was_born_is_rejected(self):
        newborn = resident((on(9, 1), YONGFU), born=date(2013, 9, 1))
        rejection = rejected(deliver, service(service_kind="follow_up_visit", occurred_at=on(8, 1)), newborn)
        assert (rejection.field, rejection.reason) == ("occurred_at", "is before the resident was born")

    @pytest.mark.parametrize(
        ("field", "text"),
        [
            ("cross_unit_reason", "身份证370402198805011234"),
            ("cross_unit_reason", "电话13812345678"),
            ("staff_ref", "13812345678"),
        ],
    )
    def test_personal_data_is_never_recorded(self, field, text):
        rejection = rejected(deliver, service(**{field: text}), LIVES_IN_YONGFU)
        assert rejection.field == field and "personal data" in rejection.reason


class TestSurveys:
    def survey(self, **fields) -> RecordSurvey:
        command = {
            "survey_kind": "policy_awareness",
            "resident_id": MOTHER,
            "aware": True,
            "surveyed_by_unit": YONGFU,
            "occurred_at": on(6, 3),
        } | fields
        return RecordSurvey(**command)

    @pytest.mark.parametrize("kind", ["policy_awareness", "reproductive_health_awareness"])
    def test_an_answer_is_recorded_with_where_the_resident_lives(self, kind):
        event = decide_survey(
            self.survey(survey_kind=kind, aware=False), LIVES_IN_YONGFU, survey_id=uuid.uuid4(), now=NOW
        )
        assert (event.payload.survey_kind, event.payload.aware, event.payload.residence) == (kind, False, "lives_here")
        assert event.stream_id.startswith("survey-")

    def test_an_answer_from_a_resident_not_yet_known_awaits_the_registry(self):
        event = decide_survey(self.survey(), None, survey_id=uuid.uuid4(), now=NOW)
        assert (event.payload.residence, event.awaits_resident) == ("not_yet_known", MOTHER)

    def test_an_answer_after_the_resident_left_conflicts(self):
        departed = resident((on(3, 1), YONGFU), (on(5, 1), None))
        rejection = rejected(decide_survey, self.survey(), departed, survey_id=uuid.uuid4(), now=NOW)
        assert (type(rejection), rejection.status) == (Conflict, 409)


class TestTrainings:
    def training(self, **fields) -> RecordTraining:
        command = {
            "held_by_unit": LONGSHAN,
            "topic": "流动人口服务管理员业务培训",
            "person_times": 46,
            "trainee_refs": ["staff-0412", "staff-0413"],
            "occurred_at": on(6, 3),
        } | fields
        return RecordTraining(**command)

    def test_who_was_trained_and_how_many_person_times(self):
        event = decide_training(self.training(), training_id=uuid.uuid4(), now=NOW)
        assert (event.payload.person_times, event.payload.trainee_refs) == (46, ["staff-0412", "staff-0413"])
        assert (event.unit_code, event.payload.audience) == (LONGSHAN, "staff")

    def test_each_trainee_named_counts_at_least_one_person_time(self):
        rejection = rejected(decide_training, self.training(person_times=1), training_id=uuid.uuid4(), now=NOW)
        assert rejection.field == "person_times" and "fewer than the 2 trainees" in rejection.reason

    def test_a_trainee_attending_twice_counts_twice(self):
        twice = self.training(person_times=2, trainee_refs=["staff-0412", "staff-0412"])
        assert decide_training(twice, training_id=uuid.uuid4(), now=NOW).payload.person_times == 2

    def test_a_training_by_a_unit_outside_the_district_is_rejected(self):
        rejection = rejected(
            decide_training, self.training(held_by_unit="110101000000"), training_id=uuid.uuid4(), now=NOW
        )
        assert rejection.field == "held_by_unit"


class TestAssociationActivities:
    @pytest.mark.parametrize("association", associations(), ids=lambda a: a.ref)
    def test_each_of_the_13_associations_holds_activities_for_its_host_unit(self, association):
        command = RecordAssociationActivity(
            association_ref=association.ref, activity="六个一服务：放映一场电影", participants=120, occurred_at=on(6, 3)
        )
        event = decide_association_activity(command, activity_id=uuid.uuid4(), now=NOW)
        assert (event.unit_code, event.payload.participants) == (association.host_unit_code, 120)

    def test_an_association_the_district_does_not_have_is_rejected(self):
        command = RecordAssociationActivity(
            association_ref="association-99", activity="义诊", participants=3, occurred_at=on(6, 3)
        )
        rejection = rejected(decide_association_activity, command, activity_id=uuid.uuid4(), now=NOW)
        assert rejection.field == "association_ref"

    def test_there_are_13_associations(self):
        assert len(associations()) == 13


class TestTheRegistrysLateWord:
    def waiting(self, unit: str = YONGFU, at: datetime = JUNE_3) -> AwaitingRecord:
        record_id = uuid.uuid4()
        return AwaitingRecord("ServiceDelivered", record_id, f"service-{record_id}", 1, MOTHER, unit, at, at)

    def test_a_resident_registered_late_in_the_serving_unit_lives_here(self):
        event = resolve_residence(self.waiting(), resident((on(6, 5), YONGFU)))
        assert (event.event_type, event.stream_version) == ("ResidenceResolved", 2)
        assert (event.payload.residence, event.payload.resident_unit) == ("lives_here", YONGFU)

    def test_a_resident_registered_late_elsewhere_was_served_across_units(self):
        event = resolve_residence(self.waiting(unit=JIANSHE), resident((on(3, 1), YONGFU)))
        assert (event.payload.residence, event.payload.resident_unit) == ("lives_elsewhere", YONGFU)

    def test_a_resident_who_had_left_by_then_is_resolved_as_departed(self):
        event = resolve_residence(self.waiting(), resident((on(3, 1), YONGFU), (on(5, 1), None)))
        assert (event.payload.residence, event.payload.resident_unit) == ("departed", None)
