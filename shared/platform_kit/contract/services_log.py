"""Events the services log publishes on ``services.events``: what was delivered, to whom, by whom.

Each record is a stream of its own: ``service-<service_id>``, ``survey-<survey_id>``,
``training-<training_id>``, ``association-activity-<activity_id>`` (docs/services-log.md says
why). A service or survey for a resident the services log did not know yet is recorded with
``residence = "not_yet_known"``; when the registry's facts arrive, ``ResidenceResolved`` follows
on the same stream. Residents are referenced by id only: no personal data in these events.
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field

from platform_kit.contract import catalogue
from platform_kit.contract.common import ContractDate, EncryptedPersonalData, Payload, ResidentId, Text, UnitCode

ServiceKind = Literal[
    "policy_publicity",  # 宣传教育
    "free_contraceptives",  # 避孕药具免费发放
    "pregnancy_check",  # 孕情/孕检
    "pre_pregnancy_consultation",  # 孕前优生咨询
    "pre_pregnancy_health_check",  # 孕前健康检查
    "reproductive_health_education",  # 生殖健康
    "follow_up_visit",  # 随访
    "health_check_up",  # 查体
    "certificate_handling",  # 办证
    "reward_and_preference",  # 奖励优待
    "six_ones",  # 六个一服务
]
SixOnesItem = Literal["film", "visit", "health_check", "thematic_meeting", "performance", "book"]
CertificateMode = Literal["done_at_once", "told_in_one_go"]  # 即时办理 / 一次性告知
Residence = Literal["lives_here", "lives_elsewhere", "not_yet_known"]
ResolvedResidence = Literal["lives_here", "lives_elsewhere", "departed"]
SurveyKind = Literal["policy_awareness", "reproductive_health_awareness"]  # 政策知晓 / 生殖健康知识知晓
Audience = Literal["staff", "migrants"]
StaffRole = Literal["manager", "assistant"]  # 专职流动人口服务管理员 / 协管员

RESIDENCE_DESCRIPTION = (
    "where the resident lived when served, as the registry had told the services log by then: "
    "lives_here (the serving unit is their unit or one above it), lives_elsewhere (a cross-unit "
    "service), not_yet_known (the registry's facts had not arrived; ResidenceResolved follows). "
    "Null for a service to a household without a named resident."
)


@catalogue.event("ServiceDelivered", version=2)
class ServiceDelivered(Payload):
    """v2: ``free_of_charge`` must be stated. v1's model defaulted it to true, so a v1 event
    (a department's message, a bench or test history) could leave it out and be read as free; the
    assessment counts free services only, and an auditor must see what the sender said, not a
    reader's default. Stored v1 events are read through the upcaster below."""

    service_id: uuid.UUID
    service_kind: ServiceKind
    six_ones_item: SixOnesItem | None = Field(
        None, description="六个一: which one; set exactly when service_kind is six_ones"
    )
    certificate_mode: CertificateMode | None = Field(
        None, description="办证: 即时办理 or 一次性告知; set exactly when service_kind is certificate_handling"
    )
    resident_id: ResidentId | None = None
    household_ref: Text | None = Field(None, max_length=60)
    delivered_by_unit: UnitCode
    staff_ref: Text = Field(max_length=40)
    free_of_charge: bool = Field(description="免费: whether the service was free (the assessment counts free ones)")
    cross_unit_reason: Text | None = Field(None, max_length=200, description="the staff member's own words, if any")
    residence: Residence | None = Field(None, description=RESIDENCE_DESCRIPTION)
    resident_unit: UnitCode | None = Field(None, description="the unit the resident lived in then, when known")


@catalogue.upcaster("ServiceDelivered", from_version=1)
def _service_delivered_v1(payload: dict) -> dict:
    # v1's model defaulted free_of_charge to true: a v1 event without it said "free".
    return {**payload, "free_of_charge": payload.get("free_of_charge", True)}


@catalogue.event("SurveyRecorded")
class SurveyRecorded(Payload):
    survey_id: uuid.UUID
    survey_kind: SurveyKind
    resident_id: ResidentId
    aware: bool
    staff_ref: Text | None = Field(None, max_length=40)
    residence: Residence | None = Field(None, description=RESIDENCE_DESCRIPTION)
    resident_unit: UnitCode | None = Field(None, description="the unit the resident lived in then, when known")


@catalogue.event("TrainingHeld")
class TrainingHeld(Payload):
    training_id: uuid.UUID
    topic: Text = Field(max_length=200)
    person_times: int = Field(ge=1, le=100_000_000, description="人次: each trainee counts once per session attended")
    trainee_refs: list[str] = Field(default_factory=list, description="who was trained (staff or resident refs)")
    audience: Audience = Field("staff", description="staff (专职管理员、协管员) or migrants (e.g. employment training)")


@catalogue.event("AssociationActivityHeld")
class AssociationActivityHeld(Payload):
    activity_id: uuid.UUID
    association_ref: Text = Field(max_length=60, description="one of the 13 associations (platform_kit.units)")
    activity: Text = Field(max_length=200)
    participants: int = Field(ge=0, le=100_000_000)


@catalogue.event("ResidenceResolved")
class ResidenceResolved(Payload):
    """A service or survey recorded while its resident was not yet known, now placed by the
    registry's facts. It follows the record on the record's own stream."""

    record_type: Literal["ServiceDelivered", "SurveyRecorded"]
    record_id: uuid.UUID
    resident_id: ResidentId
    residence: ResolvedResidence = Field(description="where the resident lived when served, or departed by then")
    resident_unit: UnitCode | None = Field(None, description="the unit the resident lived in then (null if departed)")


@catalogue.event("StaffAssigned")
class StaffAssigned(Payload):
    """A member of the network (a full-time manager or an assistant) is on the roster of a unit
    from ``assigned_on``; a later StaffAssigned on the same stream (``staff-<staff_ref>``) moves
    them. The name is sealed with a key only the services log holds (never in clear here)."""

    staff_ref: Text = Field(max_length=40)
    unit_code: UnitCode
    role: StaffRole = Field(description="manager (专职管理员) or assistant (协管员)")
    assigned_on: ContractDate
    personal: EncryptedPersonalData = Field(description="the staff member's name, sealed (AES-GCM)")


@catalogue.event("StaffRemoved")
class StaffRemoved(Payload):
    """A member of the network leaves the roster (moved away, retired, dismissed) from
    ``removed_on``, the first day they are no longer on it: counts on that day and after leave
    them out, and a service they record dated on or after it is refused. On their own stream
    (``staff-<staff_ref>``) after the assignment it ends; a later StaffAssigned puts them back.
    ``unit_code`` and ``role`` repeat the assignment that ended, so a reader needs no lookup."""

    staff_ref: Text = Field(max_length=40)
    unit_code: UnitCode
    role: StaffRole
    removed_on: ContractDate
    reason: Text = Field(max_length=200, description="why, as the unit recorded it (no personal data)")


@catalogue.event("ServiceCorrected")
class ServiceCorrected(Payload):
    """A recorded service was wrong: it was not delivered at all (``withdrawn``), or was of
    another kind (``service_kind``). History is never edited: the correction follows the
    record on its own stream and names the event it corrects. Its ``occurred_at`` is the
    corrected service's (the business time it speaks of); its ``recorded_at`` says since when
    it is known, so a figure asked "as known on" an earlier date still shows the original."""

    service_id: uuid.UUID
    corrects: uuid.UUID = Field(description="the event_id of the ServiceDelivered this corrects")
    resident_id: ResidentId | None = Field(None, description="the corrected service's resident, if it named one")
    reason: Text = Field(min_length=3, max_length=500, description="why, in the staff member's words (no personal data)")
    withdrawn: bool = Field(False, description="true: the service was not delivered; it counts for nothing")
    service_kind: ServiceKind | None = Field(None, description="the right kind, when the kind was wrong")
    staff_ref: Text = Field(max_length=40, description="who corrected it")
