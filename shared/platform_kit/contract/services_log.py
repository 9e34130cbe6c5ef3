"""Events the services log publishes on ``services.events``: what was delivered."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field

from platform_kit.contract import catalogue
from platform_kit.contract.common import Payload, ResidentId, UnitCode

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


@catalogue.event("ServiceDelivered")
class ServiceDelivered(Payload):
    service_id: uuid.UUID
    service_kind: ServiceKind
    six_ones_item: SixOnesItem | None = None
    certificate_mode: Literal["done_at_once", "told_in_one_go"] | None = Field(
        None, description="办证: 即时办理 or 一次性告知"
    )
    resident_id: ResidentId | None = None
    household_ref: str | None = Field(None, max_length=60)
    delivered_by_unit: UnitCode
    staff_ref: str = Field(max_length=40)
    free_of_charge: bool = True
    cross_unit_reason: str | None = Field(None, max_length=200)


@catalogue.event("SurveyRecorded")
class SurveyRecorded(Payload):
    survey_id: uuid.UUID
    survey_kind: Literal["policy_awareness", "reproductive_health_awareness"]
    resident_id: ResidentId
    aware: bool


@catalogue.event("TrainingHeld")
class TrainingHeld(Payload):
    training_id: uuid.UUID
    topic: str = Field(max_length=200)
    person_times: int = Field(ge=1)
    trainee_refs: list[str] = Field(default_factory=list)


@catalogue.event("AssociationActivityHeld")
class AssociationActivityHeld(Payload):
    activity_id: uuid.UUID
    association_ref: str = Field(max_length=60)
    activity: str = Field(max_length=200)
    participants: int = Field(ge=0)
