"""Exchanges between places (流入地/流出地): notices and verification requests (协查).

The residence place serves and the 户籍地 must be told; each can ask the other to verify a
fact. The national platform's rules give a reply its deadline by kind: a marriage-and-
childbearing certificate (婚育证明) check 7 days, an urgent one (a current pregnancy) 15 days,
an ordinary one 30 days. Late replies are named in circulars, so lateness is kept.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from platform_kit.contract import catalogue
from platform_kit.contract.registry import (
    CrossRegionNoticeRaised,
    VerificationReplied,
    VerificationRequested,
)
from platform_kit.envelope import Envelope
from platform_kit.problems import Refusal
from platform_kit.calendar import age_on

from registry.domain.errors import AlreadyRecorded
from registry.domain.facts import Context, Fact
from registry.domain.identity import check_free_text, check_place, is_in_district
from registry.domain.resident import Resident
from registry.domain.commands import ReplyToVerification, RequestVerification

DEADLINE_DAYS = {"marriage_childbearing_certificate": 7, "current_pregnancy": 15, "ordinary": 30}
SUBJECTS = {
    "marriage_childbearing_certificate": "婚育证明: marriage and childbearing status",
    "current_pregnancy": "孕情: current pregnancy",
    "ordinary": "户籍地 registration and family-planning status",
}


def verification_stream(request_id: uuid.UUID) -> str:
    return f"verification-{request_id}"


def due_on(kind: str, requested_on: date) -> date:
    return requested_on + timedelta(days=DEADLINE_DAYS[kind])


def kind_for(sex: str, birth_date: date, marital_status: str, on: date, *, currently_pregnant: bool) -> str:
    """A current pregnancy is urgent; a married woman of childbearing age (15-49) needs her
    婚育证明 checked; anyone else is an ordinary request."""
    if currently_pregnant:
        return "current_pregnancy"
    if sex == "female" and marital_status != "unmarried" and 15 <= age_on(birth_date, on) <= 49:
        return "marriage_childbearing_certificate"
    return "ordinary"


def movement_facts(
    *,
    resident_id: uuid.UUID,
    resident_stream: str,
    movement: str,
    counterpart_place: str,
    kind: str,
    unit_code: str,
    occurred_at: datetime,
    on: date,
    ctx: Context,
) -> list[Fact]:
    """The notice to the other place and the verification request opened with it."""
    role = "household_registration_place" if movement == "arrival" else "destination_place"
    request_id = ctx.new_id()
    notice = CrossRegionNoticeRaised(
        notice_id=ctx.new_id(), resident_id=resident_id, movement=movement,
        counterpart_place=counterpart_place, counterpart_role=role,
    )
    request = VerificationRequested(
        request_id=request_id, resident_id=resident_id, direction="outgoing", kind=kind,
        counterpart_place=counterpart_place, subject=SUBJECTS[kind] if movement == "arrival" else
        f"arrival at the destination (流入地); {SUBJECTS[kind]}",
        requested_on=on, due_on=due_on(kind, on), raised_by=movement,
    )
    return [
        Fact(resident_stream, notice, occurred_at, unit_code),
        Fact(verification_stream(request_id), request, occurred_at, unit_code),
    ]


def request_verification(r: Resident, cmd: RequestVerification, ctx: Context) -> list[Fact]:
    """Staff open a request (outgoing), or record one another place sent (incoming)."""
    place = check_place(cmd.counterpart_place, "counterpart_place")
    if is_in_district(place):
        raise Refusal("counterpart_place", f"{place} is inside 市中区; verification requests go between places")
    requested_on = ctx.not_future(cmd.requested_on or ctx.today, "requested_on")
    subject = check_free_text(cmd.subject, "subject")
    request_id = ctx.new_id()
    request = VerificationRequested(
        request_id=request_id, resident_id=r.resident_id, direction=cmd.direction, kind=cmd.kind,
        counterpart_place=place, subject=subject, requested_on=requested_on,
        due_on=due_on(cmd.kind, requested_on), raised_by="staff",
    )
    return [Fact(verification_stream(request_id), request, ctx.when(cmd.occurred_at), r.unit_code)]


@dataclass(frozen=True, slots=True)
class Verification:
    request: VerificationRequested
    unit_code: str
    version: int
    reply: VerificationReplied | None = None


def fold_verification(events: list[Envelope]) -> Verification | None:
    state: Verification | None = None
    for event in events:
        payload = catalogue.load(event)
        if isinstance(payload, VerificationRequested):
            state = Verification(payload, event.unit_code, event.stream_version)
        elif isinstance(payload, VerificationReplied) and state is not None:
            state = Verification(state.request, state.unit_code, event.stream_version, payload)
    return state


def reply(v: Verification, cmd: ReplyToVerification, ctx: Context) -> list[Fact]:
    request = v.request
    if v.reply is not None:
        raise AlreadyRecorded("request_id", f"was answered on {v.reply.replied_on.isoformat()}", request.request_id)
    replied_on = ctx.not_future(cmd.replied_on, "replied_on")
    if replied_on < request.requested_on:
        raise Refusal("replied_on", f"{replied_on.isoformat()} is before the request ({request.requested_on.isoformat()})")
    answer = VerificationReplied(
        request_id=request.request_id, resident_id=request.resident_id, replied_on=replied_on,
        outcome=cmd.outcome, note=check_free_text(cmd.note, "note"), days_late=days_late(request.due_on, replied_on),
    )
    return [Fact(verification_stream(request.request_id), answer, ctx.now, v.unit_code)]


def days_late(due: date, on: date) -> int:
    return max(0, (on - due).days)
