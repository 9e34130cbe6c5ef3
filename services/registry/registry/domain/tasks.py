"""Tasks back to departments, as pure decisions: who a department must act for, and which
fact closes each task. Each rule mirrors the indicator it serves (docs/department-tasks.md):

- education, ``enrol_child``: a migrant child of compulsory-school age (6-14 by 31 August, the
  assessment's own cut-off) not enrolled for the school year (保障流动就业人员子女义务教育阶段100%入学);
- health, ``pregnancy_check``: a married migrant woman of 15-49 not yet checked this quarter
  where she lives (流动已婚育龄妇女在现居住地免费接受孕检率达到90%以上);
- public security, ``renew_permit``: a residence permit that expires within the notice period.

A task's id is derived from its kind, resident and period: a sweep run twice, or by two
replicas, names the same task, and its stream refuses the second."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from platform_kit.calendar import age_on

TASK_NAMESPACE = uuid.UUID("0c5d7e2a-9b41-4f3c-8d6e-2a1b3c4d5e6f")
COMPULSORY_SCHOOL_AGE = range(6, 15)  # as the assessment counts the enrolment indicator
CHILDBEARING_AGE = range(15, 50)
DEPARTMENT = {"enrol_child": "education", "pregnancy_check": "health", "renew_permit": "public-security"}
REPLY_WITH = {
    "enrol_child": "ChildEnrolled on ingest.education",
    "pregnancy_check": "ServiceDelivered pregnancy_check on ingest.health",
    "renew_permit": "ResidencePermitIssued on ingest.public-security",
}
# Only what each department needs to act: a school places a child by name and ID number; a
# clinic invites a woman by phone; a police station renews a permit by ID number.
NEEDS = {
    "enrol_child": ("name", "id_number"),
    "pregnancy_check": ("name", "id_number", "phone"),
    "renew_permit": ("name", "id_number"),
}


@dataclass(frozen=True, slots=True)
class Person:
    resident_id: uuid.UUID
    unit_code: str
    birth_date: date


@dataclass(frozen=True, slots=True)
class Permit:
    resident_id: uuid.UUID
    unit_code: str
    permit_ref: str
    valid_until: date


@dataclass(frozen=True, slots=True)
class Task:
    kind: str
    resident_id: uuid.UUID
    unit_code: str
    period: str
    due_on: date

    @property
    def task_id(self) -> uuid.UUID:
        return uuid.uuid5(TASK_NAMESPACE, f"{self.kind}:{self.resident_id}:{self.period}")

    @property
    def department(self) -> str:
        return DEPARTMENT[self.kind]


def school_year_of(on: date) -> int:
    return on.year if (on.month, on.day) >= (9, 1) else on.year - 1


def quarter_of(on: date) -> str:
    return f"{on.year}Q{(on.month - 1) // 3 + 1}"


def end_of_quarter(on: date) -> date:
    first_of_next = date(on.year + (on.month > 9), (((on.month - 1) // 3 + 1) * 3) % 12 + 1, 1)
    return first_of_next - timedelta(days=1)


def enrolment_tasks(children: list[Person], enrolled: set[uuid.UUID], on: date, due_days: int) -> list[Task]:
    year = school_year_of(on)
    return [
        Task("enrol_child", c.resident_id, c.unit_code, str(year), on + timedelta(days=due_days))
        for c in children
        if age_on(c.birth_date, date(year, 8, 31)) in COMPULSORY_SCHOOL_AGE and c.resident_id not in enrolled
    ]


def check_tasks(women: list[Person], checked: set[uuid.UUID], on: date) -> list[Task]:
    return [
        Task("pregnancy_check", w.resident_id, w.unit_code, quarter_of(on), end_of_quarter(on))
        for w in women
        if age_on(w.birth_date, on) in CHILDBEARING_AGE and w.resident_id not in checked
    ]


def permit_tasks(permits: list[Permit], on: date, notice_days: int) -> list[Task]:
    return [
        Task("renew_permit", p.resident_id, p.unit_code, p.permit_ref, p.valid_until)
        for p in permits
        if on <= p.valid_until <= on + timedelta(days=notice_days)
    ]


@dataclass(frozen=True, slots=True)
class Closing:
    """Close the open tasks of ``kind`` (every kind when None) for a resident, in ``period``
    (any when None), or a permit task that expires before ``renewed_until``."""

    resident_id: uuid.UUID
    outcome: str
    kind: str | None = None
    period: str | None = None
    renewed_until: date | None = None


def closings(event_type: str, payload: dict, occurred_on: date) -> list[Closing]:
    """What a recorded fact closes. The fact, not a reply id, is what counts: an enrolment the
    school reports, or a village records, enrols the child all the same."""
    if event_type == "ChildEnrolled":
        return [Closing(uuid.UUID(str(payload["child_resident_id"])), "enrolled", "enrol_child", str(payload["school_year"]))]
    if event_type == "ServiceDelivered" and payload.get("service_kind") == "pregnancy_check" and payload.get("resident_id"):
        return [Closing(uuid.UUID(str(payload["resident_id"])), "checked", "pregnancy_check", quarter_of(occurred_on))]
    if event_type == "ResidencePermitIssued":
        until = date.fromisoformat(str(payload["valid_until"]))
        return [Closing(uuid.UUID(str(payload["resident_id"])), "renewed", "renew_permit", renewed_until=until)]
    if event_type == "ResidentDeparted":
        return [Closing(uuid.UUID(str(payload["resident_id"])), "departed")]
    if event_type == "PersonalDataErased":
        return [Closing(uuid.UUID(str(payload["resident_id"])), "erased")]
    return []
