"""What the registry decides, given a resident's history and a command: pure, no I/O."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from datetime import date, datetime, timedelta

import pytest
from registry_builders import LONGSHAN_1, LONGSHAN_2, NOW, ZHONGXIN_1, History, context, id_number, registration, sealed, types

from registry.domain import decisions
from platform_kit.problems import Refusal

from registry.domain.errors import AlreadyRecorded
from registry.domain.commands import (
    ChangeMaritalStatus,
    DepartResident,
    EnrolChild,
    ErasePersonalData,
    IssueResidencePermit,
    MoveResident,
    PlanPregnancy,
    RegisterResident,
    ReportBirth,
)


def register(**overrides):
    return decisions.register(RegisterResident(**registration(**overrides)), context(), resident_id=uuid.uuid4(), sealed=sealed())


@contextmanager
def refused(field: str, match: str | None = None):
    """Expect a refusal naming ``field`` (and saying ``match``)."""
    with pytest.raises(Refusal, match=match) as error:
        yield error
    assert error.value.field == field, f"refused on {error.value.field}, not {field}"


class TestRegistration:
    def test_a_married_migrant_woman_is_registered_her_hukou_told_and_her_certificate_checked_within_7_days(self):
        facts = register()
        assert types(facts) == ["ResidentRegistered", "CrossRegionNoticeRaised", "VerificationRequested"]
        request = facts[2].payload
        assert request.kind == "marriage_childbearing_certificate" and request.due_on == date(2013, 12, 8)
        assert facts[1].payload.counterpart_place == request.counterpart_place == "370481"

    def test_an_arriving_pregnant_woman_is_checked_urgently_within_15_days(self):
        request = register(currently_pregnant=True)[2].payload
        assert request.kind == "current_pregnancy" and request.due_on == date(2013, 12, 16)

    def test_an_unmarried_migrant_man_gets_an_ordinary_30_day_request(self):
        request = register(sex="male", birth_date="1990-06-01", marital_status="unmarried")[2].payload
        assert request.kind == "ordinary" and request.due_on == date(2013, 12, 31)

    def test_registered_population_raises_no_exchange(self):
        assert types(register(population="registered", household_registration_place="370402005")) == ["ResidentRegistered"]

    def test_an_unknown_unit_is_rejected(self):
        with refused("unit_code", "370402999999 is not a unit of 市中区"):
            register(unit_code="370402999999")

    def test_a_town_is_not_where_people_are_registered(self):
        with refused("unit_code", "not a village or community"):
            register(unit_code="370402005000")

    def test_a_migrant_whose_hukou_is_inside_the_district_is_rejected(self):
        with refused("household_registration_place", "inside 市中区"):
            register(household_registration_place="370402")

    def test_a_marriage_below_the_legal_age_is_rejected(self):
        with refused("marital_status", "legal age"):
            register(birth_date="1995-01-01")

    def test_a_birth_date_in_the_future_is_rejected(self):
        with refused("birth_date", "in the future"):
            register(birth_date="2014-01-01", id_number=None)

    def test_an_arrival_in_the_future_is_rejected(self):
        with refused("occurred_at", "in the future"):
            register(occurred_at=(NOW + timedelta(days=1)).isoformat())

    def test_an_adult_without_an_id_number_is_rejected(self):
        with pytest.raises(Refusal, match="required from age 16") as error:
            decisions.personal_data(RegisterResident(**{**registration(), "id_number": None}), context())
        assert error.value.field == "id_number"

    def test_a_child_may_be_registered_without_an_id_number(self):
        body = registration(birth_date="2012-05-01", marital_status="unmarried", id_number=None)
        assert decisions.personal_data(RegisterResident(**body), context()).id_number is None

    def test_an_id_number_that_disagrees_with_the_birth_date_is_rejected(self):
        body = registration(id_number=id_number(date(1988, 3, 16), "female"))
        with refused("id_number", "birth date"):
            decisions.personal_data(RegisterResident(**body), context())


class TestMoves:
    def test_a_resident_moves_to_another_community(self):
        history = History()
        facts = history.then(decisions.move, MoveResident(to_unit=LONGSHAN_2))
        assert types(facts) == ["ResidentMoved"] and facts[0].unit_code == LONGSHAN_2
        assert history.resident.unit_code == LONGSHAN_2

    def test_moving_into_an_unknown_unit_is_rejected(self):
        with refused("to_unit", "not a unit"):
            History().then(decisions.move, MoveResident(to_unit="370402999999"))

    def test_moving_to_where_one_lives_is_rejected(self):
        with refused("to_unit", "already lives in"):
            History().then(decisions.move, MoveResident(to_unit=LONGSHAN_1))

    def test_moving_someone_who_has_left_is_rejected(self):
        history = History()
        history.then(decisions.depart, DepartResident(reason="回户籍地", destination_place="370481"))
        with refused("resident_id", "left the district on 2013-12-01"):
            history.then(decisions.move, MoveResident(to_unit=ZHONGXIN_1))

    def test_a_move_from_a_unit_they_do_not_live_in_is_rejected(self):
        with refused("from_unit", "lives in 370402005001"):
            History().then(decisions.move, MoveResident(to_unit=ZHONGXIN_1, from_unit=LONGSHAN_2))

    def test_a_move_before_the_registration_is_rejected(self):
        with refused("occurred_at", "before the resident's registration"):
            History().then(decisions.move, MoveResident(to_unit=ZHONGXIN_1, occurred_at=NOW - timedelta(days=30)))


class TestDepartures:
    def test_a_departure_to_another_place_tells_it_and_asks_it_to_verify(self):
        facts = History().then(decisions.depart, DepartResident(reason="务工", destination_place="320100"))
        assert types(facts) == ["ResidentDeparted", "CrossRegionNoticeRaised", "VerificationRequested"]
        assert facts[1].payload.counterpart_role == "destination_place" and facts[2].payload.raised_by == "departure"

    def test_a_departure_without_a_destination_tells_nobody(self):
        assert types(History().then(decisions.depart, DepartResident(reason="去向不明"))) == ["ResidentDeparted"]

    def test_a_departure_inside_the_district_is_a_move_instead(self):
        with refused("destination_place", "record a move"):
            History().then(decisions.depart, DepartResident(reason="搬家", destination_place="370402005"))

    def test_a_reason_holding_a_phone_number_is_rejected(self):
        with refused("reason", "personal data"):
            History().then(decisions.depart, DepartResident(reason="联系 13906321234"))


class TestMaritalStatus:
    def test_a_divorce_is_recorded_with_the_previous_status(self):
        facts = History().then(decisions.change_marital_status, ChangeMaritalStatus(marital_status="divorced"))
        assert facts[0].payload.previous == "married" and facts[0].payload.marital_status == "divorced"

    def test_nobody_becomes_unmarried_again(self):
        with refused("marital_status", "cannot change from married to unmarried"):
            History().then(decisions.change_marital_status, ChangeMaritalStatus(marital_status="unmarried"))

    def test_a_previous_status_the_registry_does_not_have_is_rejected(self):
        with refused("previous", "the registry has the resident as married"):
            History().then(decisions.change_marital_status, ChangeMaritalStatus(marital_status="divorced", previous="widowed"))


    def test_a_marriage_names_the_spouse(self):
        spouse = History(sex="male", birth_date="1985-01-01", marital_status="unmarried", id_number=None)
        marry = ChangeMaritalStatus(marital_status="married", spouse_resident_id=spouse.resident_id)
        facts = History(marital_status="unmarried").then(decisions.change_marital_status, marry, spouse=spouse.resident)
        assert facts[0].payload.spouse_resident_id == spouse.resident_id

    def test_a_spouse_is_named_only_on_a_marriage_and_must_be_registered(self):
        someone = uuid.uuid4()
        with refused("spouse_resident_id", "only on a marriage"):
            History().then(decisions.change_marital_status, ChangeMaritalStatus(marital_status="divorced", spouse_resident_id=someone))
        with refused("spouse_resident_id", "no resident"):
            History(marital_status="unmarried").then(
                decisions.change_marital_status, ChangeMaritalStatus(marital_status="married", spouse_resident_id=someone)
            )


class TestPregnancyPlansAndPermits:
    def test_a_married_woman_declares_a_planned_pregnancy(self):
        facts = History().then(decisions.plan_pregnancy, PlanPregnancy(planned_from=date(2014, 3, 1)))
        assert types(facts) == ["PregnancyPlanned"]

    def test_an_unmarried_resident_cannot_plan_a_pregnancy(self):
        with refused("resident_id", "married couples"):
            History(marital_status="unmarried").then(decisions.plan_pregnancy, PlanPregnancy(planned_from=date(2014, 3, 1)))

    def test_a_plan_beyond_childbearing_age_is_rejected(self):
        with refused("planned_from", "outside childbearing age"):
            History(birth_date="1964-02-01").then(decisions.plan_pregnancy, PlanPregnancy(planned_from=date(2014, 3, 1)))

    def test_a_residence_permit_is_recorded_for_a_migrant(self):
        permit = IssueResidencePermit(permit_ref="ZZ-2013-0042", issued_on=date(2013, 11, 1), valid_until=date(2014, 11, 1))
        assert types(History().then(decisions.issue_residence_permit, permit)) == ["ResidencePermitIssued"]

    def test_a_permit_expiring_before_it_is_issued_is_rejected(self):
        permit = IssueResidencePermit(permit_ref="ZZ-1", issued_on=date(2013, 11, 1), valid_until=date(2013, 10, 1))
        with refused("valid_until", "not after issued_on"):
            History().then(decisions.issue_residence_permit, permit)

    def test_registered_population_gets_no_residence_permit(self):
        permit = IssueResidencePermit(permit_ref="ZZ-1", issued_on=date(2013, 11, 1), valid_until=date(2014, 11, 1))
        with refused("resident_id", "residence permits are for migrants"):
            History(population="registered", household_registration_place="370402").then(decisions.issue_residence_permit, permit)


def birth(**overrides):
    body = {"birth_date": date(2013, 11, 20), "sex": "male", "reported_by": "hospital", "report_ref": "H-0457"}
    body.update(overrides)
    return ReportBirth(**body)


def report(history: History, command: ReportBirth, registered_child=None):
    return history.then(
        decisions.report_birth, command, new_child_id=uuid.uuid4(), sealed_child=sealed(), registered_child=registered_child
    )


class TestBirths:
    def test_a_birth_registers_the_child_where_the_mother_lives(self):
        facts = report(History(), birth())
        assert types(facts) == ["ResidentRegistered", "BirthReported"]
        child, reported = facts[0].payload, facts[1].payload
        assert child.unit_code == LONGSHAN_1 and child.via == "birth_report" and child.population == "migrant"
        assert reported.child_resident_id == child.resident_id

    def test_the_familys_report_of_the_hospitals_birth_is_the_same_child(self):
        history = History()
        first = report(history, birth())[0].payload.resident_id
        second = report(history, birth(reported_by="family", report_ref="家-1", birth_date=date(2013, 11, 21)))
        assert types(second) == ["BirthReported"] and second[0].payload.child_resident_id == first

    def test_twins_reported_by_the_hospital_are_two_children(self):
        history = History()
        report(history, birth())
        assert types(report(history, birth(report_ref="H-0458"))) == ["ResidentRegistered", "BirthReported"]
        assert len(history.resident.children) == 2

    def test_the_same_report_twice_is_recorded_once(self):
        history = History()
        report(history, birth())
        with pytest.raises(AlreadyRecorded, match="recorded already"):
            report(history, birth())

    def test_a_birth_before_the_mothers_own_birth_is_rejected(self):
        with refused("birth_date", "before the mother's own birth"):
            report(History(), birth(birth_date=date(1980, 1, 1)))

    def test_a_birth_in_the_future_is_rejected(self):
        with refused("birth_date", "in the future"):
            report(History(), birth(birth_date=date(2013, 12, 2)))

    def test_a_birth_is_not_reported_on_a_man(self):
        with refused("resident_id", "reported on the mother"):
            report(History(sex="male", birth_date="1985-01-01"), birth())

    def test_a_birth_to_a_mother_who_has_left_is_rejected(self):
        history = History()
        history.then(decisions.depart, DepartResident(reason="返乡"))
        with refused("resident_id", "left the district"):
            report(history, birth())


class TestEnrolmentAndErasure:
    def test_a_child_of_school_age_is_enrolled(self):
        child = History(birth_date="2006-05-01", marital_status="unmarried", id_number=None)
        enrol = EnrolChild(school_name="龙山路小学", school_year=2013, grade=2)
        assert types(child.then(decisions.enrol_child, enrol)) == ["ChildEnrolled"]

    def test_a_child_too_young_for_school_is_rejected(self):
        child = History(birth_date="2010-05-01", marital_status="unmarried", id_number=None)
        with refused("school_year", "would be 3"):
            child.then(decisions.enrol_child, EnrolChild(school_name="龙山路小学", school_year=2013, grade=1))

    def test_erasing_names_the_key_and_cannot_happen_twice(self):
        history = History()
        facts = history.then(decisions.erase_personal_data, ErasePersonalData(reason="本人申请"))
        assert facts[0].payload.key_id == history.resident.personal.key_id and history.resident.erased
        with pytest.raises(AlreadyRecorded):
            history.then(decisions.erase_personal_data, ErasePersonalData(reason="本人申请"))


def test_a_context_refuses_the_future_only_beyond_clock_skew():
    ctx = context()
    assert ctx.when(NOW + timedelta(minutes=1)) == NOW + timedelta(minutes=1)
    with refused("occurred_at"):
        ctx.when(NOW + timedelta(hours=1))
    assert ctx.when(None) == NOW and isinstance(ctx.now, datetime)
