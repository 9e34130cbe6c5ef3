"""The network on record (专职管理员, 协管员): who is on which unit's roster, as pure decisions.

A member of staff is a stream of their own, ``staff-<staff_ref>``: their assignments follow one
another there, in order, and a retry of the same assignment changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from platform_kit.calendar import start_of
from platform_kit.contract.common import EncryptedPersonalData
from platform_kit.contract.services_log import StaffAssigned, StaffRemoved
from platform_kit.problems import Refusal
from platform_kit.units import unit_tree
from services_log.domain.commands import AssignStaff, RemoveStaff
from services_log.domain.records import NewEvent


@dataclass(frozen=True, slots=True)
class OnRoster:
    staff_ref: str
    unit_code: str
    role: str
    assigned_on: date
    version: int
    removed_on: date | None = None  # the first day off the roster (StaffRemoved), until assigned again

    def on_roster(self, day: date) -> bool:
        return self.assigned_on <= day and (self.removed_on is None or day < self.removed_on)


def staff_stream(staff_ref: str) -> str:
    return f"staff-{staff_ref}"


def decide_assignment(
    command: AssignStaff, current: OnRoster | None, sealed_name: EncryptedPersonalData, *, today: date
) -> NewEvent | None:
    """The StaffAssigned to append, or None when the roster already says exactly this."""
    if command.unit_code not in unit_tree():
        raise Refusal("unit_code", f"{command.unit_code} is not a unit of {unit_tree().district.name}")
    if command.assigned_on > today:
        raise Refusal("assigned_on", "is in the future: assign staff on or after the day they start")
    if current is not None:
        if current.removed_on is None and (current.unit_code, current.role, current.assigned_on) == (
            command.unit_code, command.role, command.assigned_on
        ):
            return None
        if current.removed_on is not None and command.assigned_on < current.removed_on:
            raise Refusal(
                "assigned_on", f"is before the staff member left the roster on {current.removed_on.isoformat()}"
            )
        if command.assigned_on < current.assigned_on:
            raise Refusal(
                "assigned_on", f"is before the staff member's current assignment of {current.assigned_on.isoformat()}"
            )
    payload = StaffAssigned(
        staff_ref=command.staff_ref, unit_code=command.unit_code, role=command.role,
        assigned_on=command.assigned_on, personal=sealed_name,
    )
    return NewEvent(
        event_type="StaffAssigned", stream_id=staff_stream(command.staff_ref),
        stream_version=(current.version if current else 0) + 1, unit_code=command.unit_code,
        occurred_at=start_of(command.assigned_on), payload=payload,
    )


def decide_removal(command: RemoveStaff, current: OnRoster | None, *, today: date) -> NewEvent | None:
    """The StaffRemoved to append, or None when the roster already says they left that day."""
    if current is None:
        raise unknown_staff()
    if current.removed_on is not None:
        if current.removed_on == command.removed_on:
            return None
        raise Refusal("removed_on", f"the staff member left the roster on {current.removed_on.isoformat()} already")
    if command.removed_on > today:
        raise Refusal("removed_on", "is in the future: record a leaving on or after the day it happens")
    if command.removed_on <= current.assigned_on:
        raise Refusal(
            "removed_on", f"must be after the staff member's assignment of {current.assigned_on.isoformat()}"
        )
    payload = StaffRemoved(
        staff_ref=command.staff_ref, unit_code=current.unit_code, role=current.role,
        removed_on=command.removed_on, reason=command.reason,
    )
    return NewEvent(
        event_type="StaffRemoved", stream_id=staff_stream(command.staff_ref), stream_version=current.version + 1,
        unit_code=current.unit_code, occurred_at=start_of(command.removed_on), payload=payload,
    )


def refused_after_removal(removed_on: date) -> Refusal:
    return Refusal(
        "staff_ref",
        f"left the roster on {removed_on.isoformat()}: a record dated that day or later needs a member of staff on it",
    )


def unknown_staff() -> Refusal:
    # The reason never repeats the ref: a phone number typed into the box would be echoed back.
    return Refusal("staff_ref", "is not on the roster of any unit; put the staff member on it first (POST /api/staff)")
