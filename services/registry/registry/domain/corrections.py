"""纠正错误: a registration, move or marital change entered wrong is corrected by a new event
on the resident's stream that names it (``ResidentRecordCorrected``); the stream is never edited.

The source asks the towns to find errors in their records and correct them (查缺补漏，纠正错误，
真正做到底子清、情况明). Which events may be corrected and how is a local setting (docs/audit.md,
section 6): what a later event rests on is corrected only while nothing rests on it yet: a
registration's unit until the person moves, its marital status until it changes, a move's unit,
day or existence only for the latest move before anything followed it, a marital change's
status only for the latest change. Older entries are corrected from the latest back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from platform_kit.contract import catalogue
from platform_kit.contract.registry import CORRECTED_FIELDS, ResidentRecordCorrected
from platform_kit.envelope import Envelope
from platform_kit.problems import Refusal

from registry.domain.commands import CorrectRecord
from registry.domain.decisions import ALLOWED_MARITAL_CHANGES, _birth_date, _marriageable
from registry.domain.facts import Context, Fact
from registry.domain.identity import check_free_text, check_id_number
from registry.domain.resident import Resident
from platform_kit.calendar import local_date

CORRECTED = "ResidentRecordCorrected"
# A later event of these types rests on the corrected one's field: it can no longer change.
RESTS_ON = {"unit_code": ("ResidentMoved", "ResidentDeparted"), "marital_status": ("MaritalStatusChanged",)}


def correct(
    r: Resident, stream: Sequence[Envelope], cmd: CorrectRecord, ctx: Context, *, id_number: str | None = None
) -> list[Fact]:
    """``id_number``: the one on record, in clear (a right birth date and sex must agree with it)."""
    target = next((e for e in stream if e.event_id == cmd.corrects), None)
    if target is None or target.event_type == CORRECTED:
        raise Refusal("corrects", f"no registration, move or marital change {cmd.corrects} on this resident's record")
    if target.event_type not in CORRECTED_FIELDS:
        raise Refusal("corrects", f"a {target.event_type} is not corrected here (only {', '.join(CORRECTED_FIELDS)})")
    index = stream.index(target)
    later = [e for e in stream[index + 1 :] if e.event_type != CORRECTED]
    right, when = _current_version(stream, target)
    if _withdrawn(stream, target):
        raise Refusal("corrects", f"the move {target.event_id} was withdrawn: record the right move anew")
    asked = {k: v for k, v in cmd.model_dump(include={"sex", "birth_date", "marital_status", "population", "unit_code", "to_unit"}).items() if v is not None}
    for name in asked:
        if name not in right:
            raise Refusal(name, f"is not a field of {target.event_type}")
    changed = {k: v for k, v in asked.items() if right[k] != v}
    moved_day = cmd.occurred_at is not None and cmd.occurred_at != when
    if not changed and not moved_day and not cmd.withdrawn:
        raise Refusal("corrects", "the correction changes nothing: give the right value of what was wrong, or withdrawn")
    if cmd.withdrawn and target.event_type != "ResidentMoved":
        raise Refusal("withdrawn", "only a move can be withdrawn (a registration is ended by a departure)")
    if cmd.withdrawn and changed:
        raise Refusal("withdrawn", "a withdrawn move states no right version: give one or the other")
    _not_rested_on(target, later, changed)
    happened = ctx.when(cmd.occurred_at or when, what="")
    _in_its_place(stream, index, happened)
    right |= changed
    _still_valid(target, right, r, happened, ctx)
    if id_number and target.event_type == "ResidentRegistered" and changed.keys() & {"birth_date", "sex"}:
        _agrees_with(id_number, right, changed)
    correction = ResidentRecordCorrected(
        resident_id=r.resident_id, corrects=target.event_id, corrected_type=target.event_type,
        reason=check_free_text(cmd.reason, "reason"), withdrawn=cmd.withdrawn,
        happened_at=None if cmd.withdrawn else happened, **({} if cmd.withdrawn else right),
        changed=[] if cmd.withdrawn else [*changed, *(["happened_at"] if moved_day else [])],
    )
    # The envelope's unit is where the resident lives once corrected (the registry's view reads it).
    if cmd.withdrawn:
        unit = right["from_unit"]
    else:
        unit = changed.get("to_unit") or changed.get("unit_code") or r.unit_code
    return [Fact(r.stream_id, correction, min(when, happened), unit)]


def _current_version(stream: Sequence[Envelope], target: Envelope) -> tuple[dict[str, Any], datetime]:
    """The target's fields and business time as the record now reads them (its latest correction's, if any)."""
    original = catalogue.load(target)
    right = {name: getattr(original, name) for name in CORRECTED_FIELDS[target.event_type]}
    when = target.occurred_at
    for e in stream:
        if e.event_type == CORRECTED and str(e.payload.get("corrects")) == str(target.event_id):
            c = catalogue.load(e)
            if not c.withdrawn:
                right, when = c.right_version(), c.happened_at
    return right, when


def _withdrawn(stream: Sequence[Envelope], target: Envelope) -> bool:
    return any(e.event_type == CORRECTED and str(e.payload.get("corrects")) == str(target.event_id)
               and e.payload.get("withdrawn") for e in stream)


def _not_rested_on(target: Envelope, later: Sequence[Envelope], changed: dict) -> None:
    if target.event_type == "ResidentRegistered":
        kinds = {kind for name in changed for kind in RESTS_ON.get(name, ())}
    elif target.event_type == "ResidentMoved":
        kinds = {"ResidentMoved", "ResidentDeparted"}  # the next move left its unit, on a later day
    else:
        kinds = {"MaritalStatusChanged"}  # the next change started from its status
    if blocker := next((e for e in later if e.event_type in kinds), None):
        name = next((n for n in changed if target.event_type != "ResidentRegistered" or n in RESTS_ON), "corrects")
        raise Refusal(name, f"a later {blocker.event_type} ({blocker.event_id}) rests on it: correct that one first")


def _in_its_place(stream: Sequence[Envelope], index: int, happened: datetime) -> None:
    """The right day keeps the event between its neighbours of the stream (by business time)."""
    before = [e.occurred_at for e in stream[:index] if e.event_type in ("ResidentRegistered", "ResidentMoved")]
    after = [e.occurred_at for e in stream[index + 1 :] if e.event_type in ("ResidentMoved", "ResidentDeparted", "MaritalStatusChanged")]
    if before and happened < max(before):
        raise Refusal("occurred_at", f"{happened.isoformat()} is before the resident's previous registration or move")
    if after and happened > min(after):
        raise Refusal("occurred_at", f"{happened.isoformat()} is after a later event of the resident's record")


def _agrees_with(id_number: str, right: dict[str, Any], changed: dict[str, Any]) -> None:
    """The ID number on record holds the birth date and sex: a correction cannot contradict it."""
    try:
        check_id_number(id_number, birth_date=right["birth_date"], sex=right["sex"])
    except Refusal as refusal:
        name = "birth_date" if "birth date" in refusal.reason and "birth_date" in changed else "sex"
        name = name if name in changed else next(iter(changed))
        raise Refusal(name, "disagrees with the ID number on record (correct the ID number first)") from None


def _still_valid(target: Envelope, right: dict[str, Any], r: Resident, happened: datetime, ctx: Context) -> None:
    """The corrected version is held to the rules the original was."""
    day, event_type = local_date(happened), target.event_type
    previous = target.payload.get("previous")
    if event_type == "ResidentRegistered":
        ctx.village(right["unit_code"], "unit_code")
        _birth_date(right["birth_date"], ctx)
        _marriageable(right["marital_status"], right["sex"], right["birth_date"], day)
    elif event_type == "ResidentMoved":
        ctx.village(right["to_unit"], "to_unit")
        if right["to_unit"] == right["from_unit"]:
            raise Refusal("to_unit", f"is the unit the move left ({right['from_unit']})")
    elif event_type == "MaritalStatusChanged":
        if right["marital_status"] not in ALLOWED_MARITAL_CHANGES[previous]:
            raise Refusal("marital_status", f"cannot change from {previous} to {right['marital_status']}")
        _marriageable(right["marital_status"], r.sex, r.birth_date, day)
