"""纠正错误: a registration, move or marital change entered wrong is corrected by a new event
naming it; the resident's record reads the right version, and the stream is never edited."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from registry_builders import LONGSHAN_1, LONGSHAN_2, NOW, ZHONGXIN_1, History, types

from platform_kit.contract import catalogue
from platform_kit.problems import Refusal

from registry.domain import corrections, decisions
from registry.domain.commands import ChangeMaritalStatus, CorrectRecord, DepartResident, MoveResident


@contextmanager
def refused(field: str, match: str | None = None):
    with pytest.raises(Refusal, match=match) as error:
        yield error
    assert error.value.field == field, f"refused on {error.value.field}, not {field}"


def correct(history: History, **body):
    body.setdefault("reason", "录入错误，核实后更正")
    return history.then(lambda r, cmd, ctx: corrections.correct(r, history.events, cmd, ctx), CorrectRecord(**body))


def registered(**overrides) -> History:
    """Registered two months before now, so moves can be dated in between."""
    return History(occurred_at=(NOW - timedelta(days=60)).isoformat(), **overrides)


def test_a_wrong_birth_date_is_corrected_by_an_event_naming_the_registration():
    history = registered()
    original = history.events[0]
    facts = correct(history, corrects=original.event_id, birth_date=date(1986, 3, 15))
    assert types(facts) == ["ResidentRecordCorrected"]
    c = facts[0].payload
    assert (c.corrects, c.corrected_type, c.changed) == (original.event_id, "ResidentRegistered", ["birth_date"])
    # The right version in full: it reads alone (an auditor, a replay with the original hidden).
    assert (c.birth_date, c.sex, c.unit_code, c.marital_status) == (date(1986, 3, 15), "female", LONGSHAN_1, "married")
    assert c.happened_at == original.occurred_at and facts[0].occurred_at == original.occurred_at
    assert history.resident.birth_date == date(1986, 3, 15)
    assert history.events[0] == original  # never edited
    assert catalogue.load(history.events[-1]) == c


def test_a_move_entered_on_the_wrong_day_is_moved_and_the_correction_occurs_at_the_earlier_day():
    history = registered()
    history.then(decisions.move, MoveResident(to_unit=LONGSHAN_2, occurred_at=NOW - timedelta(days=2)))
    move = history.events[-1]
    right = NOW - timedelta(days=20)
    facts = correct(history, corrects=move.event_id, occurred_at=right)
    c = facts[0].payload
    assert (c.changed, c.happened_at, c.from_unit, c.to_unit) == (["happened_at"], right, LONGSHAN_1, LONGSHAN_2)
    assert facts[0].occurred_at == right  # seen "as occurred" from the earlier of the two days
    assert history.resident.moves[-1] == (right, LONGSHAN_1, LONGSHAN_2)


def test_a_move_to_the_wrong_unit_or_that_never_happened():
    history = History()
    history.then(decisions.move, MoveResident(to_unit=LONGSHAN_2))
    move = history.events[-1]
    facts = correct(history, corrects=move.event_id, to_unit=ZHONGXIN_1)
    assert facts[0].unit_code == ZHONGXIN_1 and history.resident.unit_code == ZHONGXIN_1
    facts = correct(history, corrects=move.event_id, withdrawn=True)
    assert facts[0].payload.withdrawn and facts[0].unit_code == LONGSHAN_1
    assert history.resident.unit_code == LONGSHAN_1 and history.resident.moves == ()


def test_a_wrong_marital_change_status():
    history = History(marital_status="married")
    history.then(decisions.change_marital_status, ChangeMaritalStatus(marital_status="divorced"))
    facts = correct(history, corrects=history.events[-1].event_id, marital_status="widowed")
    assert facts[0].payload.changed == ["marital_status"] and history.resident.marital_status == "widowed"


def test_what_a_later_event_rests_on_is_corrected_from_the_latest_back():
    history = History()
    registration = history.events[0]
    history.then(decisions.move, MoveResident(to_unit=LONGSHAN_2))
    with refused("unit_code", "later ResidentMoved"):
        correct(history, corrects=registration.event_id, unit_code=ZHONGXIN_1)
    move = history.events[-1]
    history.then(decisions.move, MoveResident(to_unit=ZHONGXIN_1))
    with refused("to_unit", "later ResidentMoved"):
        correct(history, corrects=move.event_id, to_unit=LONGSHAN_1)
    # What nothing rests on stays correctable: the registration's birth date after moves.
    correct(history, corrects=registration.event_id, birth_date=date(1987, 1, 1))
    assert history.resident.unit_code == ZHONGXIN_1 and history.resident.birth_date == date(1987, 1, 1)


@pytest.mark.parametrize(
    ("body", "field", "match"),
    [
        ({"corrects": uuid.UUID(int=999)}, "corrects", "no registration, move or marital change"),
        ({"birth_date": date(1988, 3, 15)}, "corrects", "changes nothing"),
        ({"to_unit": LONGSHAN_2}, "to_unit", "not a field of ResidentRegistered"),
        ({"withdrawn": True}, "withdrawn", "only a move"),
        ({"unit_code": "370402005000"}, "unit_code", "not a village"),
        ({"marital_status": "married", "birth_date": date(2000, 1, 1)}, "marital_status", "legal age"),
        ({"occurred_at": NOW + timedelta(days=3)}, "occurred_at", "in the future"),
    ],
)
def test_a_bad_correction_is_refused_naming_the_field(body, field, match):
    history = History()
    body = {"corrects": history.events[0].event_id, **body}
    with refused(field, match):
        correct(history, **body)


def test_a_departed_residents_move_cannot_be_moved_past_the_departure():
    history = registered()
    history.then(decisions.move, MoveResident(to_unit=LONGSHAN_2, occurred_at=NOW - timedelta(days=5)))
    move = history.events[-1]
    history.then(decisions.depart, DepartResident(reason="回户籍地", destination_place="370481", occurred_at=NOW - timedelta(days=3)))
    with refused("corrects", "later ResidentDeparted"):
        correct(history, corrects=move.event_id, occurred_at=NOW - timedelta(days=1))


def test_a_birth_date_the_id_number_on_record_contradicts_is_refused():
    from registry_builders import id_number

    history = registered()
    on_record = id_number(date(1988, 3, 15), "female")
    with refused("birth_date", "ID number on record"):
        history.then(
            lambda r, cmd, ctx: corrections.correct(r, history.events, cmd, ctx, id_number=on_record),
            CorrectRecord(corrects=history.events[0].event_id, reason="录入错误", birth_date=date(1986, 3, 15)),
        )


def test_a_withdrawn_move_stays_withdrawn():
    history = registered()
    history.then(decisions.move, MoveResident(to_unit=LONGSHAN_2))
    move = history.events[-1]
    correct(history, corrects=move.event_id, withdrawn=True)
    with refused("corrects", "was withdrawn"):
        correct(history, corrects=move.event_id, to_unit=ZHONGXIN_1)
