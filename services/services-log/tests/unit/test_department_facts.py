"""Reading a department's message, without I/O: ours to record, ours to refuse, or not ours."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from services_log.entrypoints.department_messages import Admit, Ignore, Refuse, masked, triage
from services_log.messages import RecordService, RecordTraining
from services_log.testing import department_message, hospital_check, hr_training

CST = timezone(timedelta(hours=8))
AT = datetime(2013, 6, 3, 9, 30, tzinfo=CST)
YONGFU = "370402005001"
RESIDENT = uuid.uuid4()


def as_sent(message, **changes) -> bytes:
    document = json.loads(message.to_bytes())
    for path, value in changes.items():
        target = document
        *parents, leaf = path.split("__")
        for parent in parents:
            target = target[parent]
        target[leaf] = value
    return json.dumps(document).encode()


def fields_at_fault(verdict) -> list[str]:
    assert isinstance(verdict, Refuse), verdict
    return [problem.field for problem in verdict.errors]


class TestWhatTheServicesLogAccepts:
    def test_a_training_from_hr_becomes_a_training_held_by_the_messages_unit(self):
        verdict = triage("hr", hr_training(YONGFU, AT).to_bytes())
        assert isinstance(verdict, Admit) and isinstance(verdict.command, RecordTraining)
        assert (verdict.command.held_by_unit, verdict.command.audience, verdict.command.occurred_at) == (
            YONGFU,
            "migrants",
            AT,
        )

    def test_a_hospitals_check_becomes_a_service_delivered(self):
        verdict = triage("health", hospital_check(RESIDENT, YONGFU, AT).to_bytes())
        assert isinstance(verdict, Admit) and isinstance(verdict.command, RecordService)
        assert (verdict.command.resident_id, verdict.command.service_kind) == (RESIDENT, "pregnancy_check")


class TestWhatIsNotTheServicesLogs:
    def test_a_birth_reported_by_a_hospital_is_left_to_the_registry(self):
        birth = department_message("health", "BirthReported", {"anything": 1}, unit_code=YONGFU, occurred_at=AT)
        assert isinstance(triage("health", birth.to_bytes()), Ignore)

    def test_garbage_on_health_is_left_to_its_gatekeeper_the_registry(self):
        assert isinstance(triage("health", b"\xff not json"), Ignore)
        assert isinstance(triage("health", b'{"no": "event type"}'), Ignore)
        assert isinstance(triage("health", as_sent(hr_training(YONGFU, AT), source="dept:health")), Ignore)

    def test_a_check_with_a_broken_envelope_is_left_to_the_gatekeeper_too(self):
        check = hospital_check(RESIDENT, YONGFU, AT)
        assert isinstance(triage("health", as_sent(check, unit_code="3704")), Ignore)
        assert isinstance(triage("health", as_sent(check, source="dept:education")), Ignore)


class TestWhatTheServicesLogRefuses:
    def test_on_hr_a_type_no_service_accepts_is_refused_by_its_gatekeeper(self):
        check = as_sent(hospital_check(RESIDENT, YONGFU, AT), source="dept:hr")
        verdict = triage("hr", check)
        assert fields_at_fault(verdict) == ["event_type"]
        assert verdict.errors[0].reason == "ServiceDelivered is not accepted from hr (accepted: TrainingHeld)"

    @pytest.mark.parametrize(
        ("raw", "field"),
        [
            (b"not json", "message"),
            (b"\xff\xfe", "message"),
            (b"[1, 2]", "message"),
            (b'{"event_id": "x"}', "event_id"),
        ],
    )
    def test_on_hr_what_is_not_an_envelope_is_refused(self, raw, field):
        assert fields_at_fault(triage("hr", raw))[0] == field

    def test_an_envelope_field_at_fault_is_named(self):
        verdict = triage("hr", as_sent(hr_training(YONGFU, AT), unit_code="3704"))
        assert fields_at_fault(verdict) == ["unit_code"]
        assert verdict.event_type == "TrainingHeld" and verdict.event_id is not None

    def test_a_message_without_a_time_zone_is_refused(self):
        assert fields_at_fault(triage("hr", as_sent(hr_training(YONGFU, AT), occurred_at="2013-06-03T09:30:00"))) == [
            "occurred_at"
        ]

    def test_a_message_on_hr_from_another_source_is_refused(self):
        assert fields_at_fault(triage("hr", as_sent(hr_training(YONGFU, AT), source="dept:health"))) == ["source"]

    def test_a_payload_field_at_fault_is_named(self):
        verdict = triage("hr", as_sent(hr_training(YONGFU, AT), payload__person_times=0))
        assert fields_at_fault(verdict) == ["payload.person_times"]

    def test_an_unknown_payload_field_is_refused_not_dropped(self):
        verdict = triage("hr", as_sent(hr_training(YONGFU, AT), payload__trainer_name="张三"))
        assert fields_at_fault(verdict) == ["payload.trainer_name"]

    def test_a_schema_version_from_the_future_is_refused(self):
        assert fields_at_fault(triage("hr", as_sent(hr_training(YONGFU, AT), schema_version=9))) == ["schema_version"]

    def test_the_command_rules_apply_with_the_messages_own_field_names(self):
        verdict = triage("health", as_sent(hospital_check(RESIDENT, YONGFU, AT), payload__staff_ref="李医生"))
        assert fields_at_fault(verdict) == ["payload.staff_ref"]

    def test_a_hospital_reports_checks_not_the_six_ones(self):
        six_ones = hospital_check(RESIDENT, YONGFU, AT, kind="six_ones", six_ones_item="film")
        verdict = triage("health", six_ones.to_bytes())
        assert fields_at_fault(verdict) == ["payload.service_kind"]

    def test_a_check_must_count_for_the_unit_its_envelope_names(self):
        verdict = triage("health", as_sent(hospital_check(RESIDENT, YONGFU, AT), unit_code="370402001001"))
        assert fields_at_fault(verdict) == ["unit_code"]

    def test_a_department_does_not_tell_us_where_the_resident_lives(self):
        verdict = triage("health", hospital_check(RESIDENT, YONGFU, AT, residence="lives_here").to_bytes())
        assert fields_at_fault(verdict) == ["payload.residence"]


class TestTheRejectedOriginal:
    def test_personal_data_in_a_rejected_message_is_masked(self):
        raw = json.dumps(
            {"event_type": "X", "name": "张三", "note": "身份证370402198805011234 电话13812345678"}
        ).encode()
        text = masked(raw)
        assert "张三" not in text and "370402198805011234" not in text and "13812345678" not in text
        assert json.loads(text)["event_type"] == "X"

    def test_a_message_that_is_not_json_is_kept_as_text(self):
        assert masked(b"\xffcall 13812345678") == "\ufffdcall ***"
