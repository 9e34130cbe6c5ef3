"""Events of the public contract, as the registry, the services log and the assessment
publish them, written so a test reads like what happened in 市中区."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from platform_kit.contract import catalogue
from platform_kit.envelope import Envelope

CST = timezone(timedelta(hours=8))
DISTRICT = "370402000000"  # 市中区 区流动人口计划生育服务管理中心
ZHONGXIN = "370402001000"  # 中心街街道
JIANSHE = "370402001001"  # 建设社区, in 中心街街道
XINHUA = "370402001002"  # 新华社区, in 中心街街道
GETABU = "370402002000"  # 垎塔埠街道
CHANGAN = "370402002001"  # 长安社区, in 垎塔埠街道
TENGZHOU = "370481"  # 滕州市: a place outside the district (户籍地)

SOURCES = {"registry": "registry_events", "services-log": "services_events", "assessment": "assessment_events"}


def at(day: str, hour: int = 10, minute: int = 0) -> datetime:
    """A moment in 市中区, e.g. at("2013-12-03")."""
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=CST).replace(hour=hour, minute=minute)


class Story:
    def __init__(self) -> None:
        self._versions: Counter[str] = Counter()

    def _event(
        self, event_type: str, stream_id: str, unit: str, source: str, when: datetime, /, **payload: Any
    ) -> Envelope:
        self._versions[stream_id] += 1
        event = Envelope.new(
            event_type=event_type, stream_id=stream_id, stream_version=self._versions[stream_id], unit_code=unit,
            source=source, payload=payload, occurred_at=when, recorded_at=max(when, datetime.now(UTC)),
        )
        model = catalogue.load(event)  # what the real publisher would have validated
        return event.model_copy(update={"payload": model.model_dump(mode="json")})

    # ── registry ────────────────────────────────────────────────────────────────
    def registered(
        self, resident: uuid.UUID, unit: str, when: datetime, *, sex: str = "female", marital_status: str = "married",
        born: date = date(1988, 3, 15), population: str = "migrant", arrived_from: str | None = TENGZHOU,
    ) -> Envelope:
        return self._event(
            "ResidentRegistered", f"resident-{resident}", unit, "registry", when, resident_id=str(resident), sex=sex,
            birth_date=born.isoformat(), marital_status=marital_status, population=population,
            household_registration_place=TENGZHOU, unit_code=unit, arrived_from=arrived_from,
            personal={"key_id": str(uuid.uuid4()), "nonce": "bm9uY2U=", "ciphertext": "c2VhbGVk"},
        )

    def moved(self, resident: uuid.UUID, from_unit: str, to_unit: str, when: datetime) -> Envelope:
        return self._event("ResidentMoved", f"resident-{resident}", to_unit, "registry", when,
                           resident_id=str(resident), from_unit=from_unit, to_unit=to_unit)

    def departed(
        self, resident: uuid.UUID, from_unit: str, when: datetime, destination: str | None = TENGZHOU
    ) -> Envelope:
        return self._event("ResidentDeparted", f"resident-{resident}", from_unit, "registry", when,
                           resident_id=str(resident), from_unit=from_unit, destination_place=destination, reason="返乡")

    def marital_status_changed(
        self, resident: uuid.UUID, unit: str, when: datetime, previous: str, now: str
    ) -> Envelope:
        return self._event("MaritalStatusChanged", f"resident-{resident}", unit, "registry", when,
                           resident_id=str(resident), previous=previous, marital_status=now)

    def pregnancy_planned(self, resident: uuid.UUID, unit: str, when: datetime, planned_from: date) -> Envelope:
        return self._event("PregnancyPlanned", f"resident-{resident}", unit, "registry", when,
                           resident_id=str(resident), planned_from=planned_from.isoformat())

    def birth_discrepancy_found(self, unit: str, when: datetime, *, mother: uuid.UUID | None = None) -> Envelope:
        discrepancy = uuid.uuid4()
        return self._event(
            "BirthDiscrepancyFound", f"discrepancy-{discrepancy}", unit, "registry", when,
            discrepancy_id=str(discrepancy), kind="hospital_report_without_registry_birth",
            mother_resident_id=str(mother) if mother else None, child_resident_id=None, birth_date="2013-10-02",
            found_by="sweep", detail="清理清查中发现医院出生报告未登记",
        )

    def verification_requested(
        self, resident: uuid.UUID, unit: str, when: datetime, *, direction: str, due_on: date,
        kind: str = "ordinary", counterpart: str = TENGZHOU,
    ) -> tuple[uuid.UUID, Envelope]:
        request = uuid.uuid4()
        return request, self._event(
            "VerificationRequested", f"verification-{request}", unit, "registry", when, request_id=str(request),
            resident_id=str(resident), direction=direction, kind=kind, counterpart_place=counterpart,
            subject="婚育情况", requested_on=when.date().isoformat(), due_on=due_on.isoformat(), raised_by="staff",
        )

    def verification_replied(self, request: uuid.UUID, resident: uuid.UUID, unit: str, when: datetime) -> Envelope:
        return self._event("VerificationReplied", f"verification-{request}", unit, "registry", when,
                           request_id=str(request), resident_id=str(resident), replied_on=when.date().isoformat(),
                           outcome="confirmed", days_late=0)

    def cross_region_notice(self, resident: uuid.UUID, unit: str, when: datetime, movement: str) -> Envelope:
        notice = uuid.uuid4()
        return self._event(
            "CrossRegionNoticeRaised", f"resident-{resident}", unit, "registry", when, notice_id=str(notice),
            resident_id=str(resident), movement=movement, counterpart_place=TENGZHOU,
            counterpart_role="household_registration_place" if movement == "arrival" else "destination_place",
        )

    # ── services log ────────────────────────────────────────────────────────────
    def service_delivered(
        self, kind: str, resident: uuid.UUID | None, unit: str, when: datetime, *, resident_unit: str | None = None
    ) -> Envelope:
        """``resident_unit``: where the services log knew the person lived when served (unset: not known)."""
        service = uuid.uuid4()
        return self._event("ServiceDelivered", f"service-{service}", unit, "services-log", when,
                           service_id=str(service), service_kind=kind, resident_id=str(resident) if resident else None,
                           household_ref=None if resident else "household-0042", delivered_by_unit=unit,
                           staff_ref="staff-007", free_of_charge=True, resident_unit=resident_unit,
                           residence=None if resident is None else "lives_here" if resident_unit else "not_yet_known")

    # ── assessment ──────────────────────────────────────────────────────────────
    def rectification_required(
        self, unit: str, period: str, plan_due: date, when: datetime, rank: int = 14
    ) -> Envelope:
        return self._event("RectificationRequired", f"rectification-{unit}-{period}", unit, "assessment", when,
                           unit_code=unit, period=period, rank=rank, reason="街道内村居排名末位", plan_due=plan_due.isoformat())

    def rectification_plan_submitted(self, unit: str, period: str, when: datetime) -> Envelope:
        return self._event("RectificationPlanSubmitted", f"rectification-{unit}-{period}", unit, "assessment", when,
                           unit_code=unit, period=period, summary="书面检查汇报及整改方案已提交")
