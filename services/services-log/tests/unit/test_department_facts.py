"""Department facts through the kit's gate with the services log's translation, without I/O:
ours to record (as the command staff would send), ours to refuse (naming each field as the
department sent it), or not ours at all."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from platform_kit.contract import catalogue
from platform_kit.envelope import Envelope
from platform_kit.gate import DepartmentFact, DepartmentGate, Verdict, fact_event_id, masked
from platform_kit.problems import Conflict, Refusal
from platform_kit.topics import Topics
from services_log.domain.commands import RecordService, RecordTraining
from services_log.entrypoints.ingest import accepting, translate
from services_log_facts import department_message, hospital_check, hr_training

CST = timezone(timedelta(hours=8))
AT = datetime(2013, 6, 3, 9, 30, tzinfo=CST)
YONGFU = "370402005001"
RESIDENT = uuid.uuid4()


class Admitted:
    """What the gate hands the services log: here only translated, never recorded."""

    def __init__(self) -> None:
        self.commands: list = []

    async def __call__(self, fact) -> None:
        self.commands.append(translate(fact))


async def triage(department: str, raw: bytes) -> tuple[Verdict, list]:
    admitted = Admitted()
    gate = DepartmentGate("services-log", catalogue=catalogue, topics=Topics(""), accept=admitted, store=lambda: None)
    verdict = await gate.handle(department, raw, topic=f"ingest.{department}", partition=0, offset=7)
    return verdict, admitted.commands


def as_sent(message, **changes) -> bytes:
    document = json.loads(message.to_bytes())
    for path, value in changes.items():
        target = document
        *parents, leaf = path.split("__")
        for parent in parents:
            target = target[parent]
        target[leaf] = value
    return json.dumps(document).encode()


async def fields_at_fault(department: str, raw: bytes) -> list[str]:
    verdict, commands = await triage(department, raw)
    assert verdict.outcome == "rejected" and verdict.rejection is not None, verdict
    assert commands == []
    return [problem.field for problem in verdict.rejection.errors]


async def ignored(department: str, raw: bytes) -> bool:
    verdict, commands = await triage(department, raw)
    return verdict.outcome == "ignored" and verdict.rejection is None and commands == []


class TestWhatTheServicesLogAccepts:
    async def test_a_training_from_hr_becomes_a_training_held_by_the_messages_unit(self):
        verdict, [command] = await triage("hr", hr_training(YONGFU, AT).to_bytes())
        assert verdict.outcome == "accepted" and isinstance(command, RecordTraining)
        assert (command.held_by_unit, command.audience, command.occurred_at) == (
            YONGFU,
            "migrants",
            AT,
        )

    async def test_a_hospitals_check_becomes_a_service_delivered(self):
        verdict, [command] = await triage("health", hospital_check(RESIDENT, YONGFU, AT).to_bytes())
        assert verdict.outcome == "accepted" and isinstance(command, RecordService)
        assert (command.resident_id, command.service_kind) == (RESIDENT, "pregnancy_check")


class TestWhatIsNotTheServicesLogs:
    async def test_a_birth_reported_by_a_hospital_is_left_to_the_registry(self):
        birth = department_message("health", "BirthReported", {"anything": 1}, unit_code=YONGFU, occurred_at=AT)
        assert await ignored("health", birth.to_bytes())

    async def test_garbage_on_health_is_left_to_its_gatekeeper_the_registry(self):
        assert await ignored("health", b"\xff not json")
        assert await ignored("health", b'{"no": "event type"}')
        assert await ignored("health", as_sent(hr_training(YONGFU, AT), source="dept:health"))

    async def test_a_check_with_a_broken_envelope_is_left_to_the_gatekeeper_too(self):
        check = hospital_check(RESIDENT, YONGFU, AT)
        assert await ignored("health", as_sent(check, unit_code="3704"))
        assert await ignored("health", as_sent(check, source="dept:education"))


class TestWhatTheServicesLogRefuses:
    async def test_on_hr_a_type_no_service_accepts_is_refused_by_its_gatekeeper(self):
        check = as_sent(hospital_check(RESIDENT, YONGFU, AT), source="dept:hr")
        assert await fields_at_fault("hr", check) == ["event_type"]
        verdict, _ = await triage("hr", check)
        assert verdict.rejection.reason == "ServiceDelivered is not accepted from hr (accepted: TrainingHeld)"
        assert verdict.rejection.rejected_by == "services-log"

    @pytest.mark.parametrize(
        ("raw", "field"),
        [
            (b"not json", "message"),
            (b"\xff\xfe", "message"),
            (b"[1, 2]", "message"),
            (b'{"event_id": "x"}', "event_id"),
        ],
    )
    async def test_on_hr_what_is_not_an_envelope_is_refused(self, raw, field):
        assert (await fields_at_fault("hr", raw))[0] == field

    async def test_an_envelope_field_at_fault_is_named(self):
        raw = as_sent(hr_training(YONGFU, AT), unit_code="3704")
        assert await fields_at_fault("hr", raw) == ["unit_code"]
        verdict, _ = await triage("hr", raw)
        assert verdict.rejection.event_type == "TrainingHeld" and verdict.rejection.event_id is not None

    async def test_a_message_without_a_time_zone_is_refused(self):
        assert await fields_at_fault("hr", as_sent(hr_training(YONGFU, AT), occurred_at="2013-06-03T09:30:00")) == [
            "occurred_at"
        ]

    async def test_a_message_on_hr_from_another_source_is_refused(self):
        assert await fields_at_fault("hr", as_sent(hr_training(YONGFU, AT), source="dept:health")) == ["source"]

    async def test_a_payload_field_at_fault_is_named(self):
        assert await fields_at_fault("hr", as_sent(hr_training(YONGFU, AT), payload__person_times=0)) == ["payload.person_times"]

    async def test_an_unknown_payload_field_is_refused_not_dropped(self):
        assert await fields_at_fault("hr", as_sent(hr_training(YONGFU, AT), payload__trainer_name="张三")) == ["payload.trainer_name"]

    async def test_a_schema_version_from_the_future_is_refused(self):
        assert await fields_at_fault("hr", as_sent(hr_training(YONGFU, AT), schema_version=9)) == ["schema_version"]

    async def test_the_command_rules_apply_with_the_messages_own_field_names(self):
        assert await fields_at_fault("health", as_sent(hospital_check(RESIDENT, YONGFU, AT), payload__staff_ref="李医生")) == ["payload.staff_ref"]

    async def test_a_hospital_reports_checks_not_the_six_ones(self):
        six_ones = hospital_check(RESIDENT, YONGFU, AT, kind="six_ones", six_ones_item="film")
        assert await fields_at_fault("health", six_ones.to_bytes()) == ["payload.service_kind"]

    async def test_a_check_must_count_for_the_unit_its_envelope_names(self):
        assert await fields_at_fault("health", as_sent(hospital_check(RESIDENT, YONGFU, AT), unit_code="370402001001")) == ["unit_code"]

    async def test_a_department_does_not_tell_us_where_the_resident_lives(self):
        assert await fields_at_fault("health", hospital_check(RESIDENT, YONGFU, AT, residence="lives_here").to_bytes()) == ["payload.residence"]


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


class TestTheServicesLogsOwnRulesNameTheMessagesFields:
    """A rule the recorder applies (the same for staff) is reported with the field where the
    department's message holds it, and keeps its kind (a conflict stays a conflict)."""

    class Refusing:
        def __init__(self, refusal: Refusal) -> None:
            self.refusal, self.origins = refusal, []

        async def record(self, command, origin):
            self.origins.append(origin)
            raise self.refusal

    async def refused_as(self, refusal: Refusal, message) -> tuple[Refusal, object]:
        envelope = Envelope.model_validate_json(message.to_bytes())
        department = envelope.source.removeprefix("dept:")
        recorder = self.Refusing(refusal)
        with pytest.raises(Refusal) as caught:
            await accepting(recorder)(DepartmentFact(department, envelope, catalogue.load(envelope)))
        [origin] = recorder.origins
        return caught.value, origin

    @pytest.mark.parametrize(
        ("command_field", "message_field"),
        [("held_by_unit", "unit_code"), ("occurred_at", "occurred_at"), ("person_times", "payload.person_times")],
    )
    async def test_a_trainings_rule_names_the_field_of_hrs_message(self, command_field, message_field):
        refused, _ = await self.refused_as(Refusal(command_field, "is wrong"), hr_training(YONGFU, AT))
        assert (refused.field, refused.reason, refused.status) == (message_field, "is wrong", 422)

    async def test_a_conflict_stays_a_conflict(self):
        refused, _ = await self.refused_as(Conflict("resident_id", "left"), hospital_check(RESIDENT, YONGFU, AT))
        assert (type(refused), refused.field, refused.status) == (Conflict, "payload.resident_id", 409)

    async def test_the_event_is_the_departments_fact_with_an_id_derived_from_its_own(self):
        message = hr_training(YONGFU, AT)
        _, origin = await self.refused_as(Refusal("topic", "x"), message)
        assert (origin.source, origin.causation_id, origin.correlation_id) == ("dept:hr", message.event_id, message.event_id)
        assert origin.event_id == fact_event_id("hr", message.event_id, 0)
