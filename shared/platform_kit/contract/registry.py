"""Events the registry publishes on ``registry.events``: who lives where."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from pydantic import Field

from platform_kit.contract import catalogue
from platform_kit.contract.common import EncryptedPersonalData, Payload, PlaceCode, ResidentId, UnitCode

Sex = Literal["female", "male"]
MaritalStatus = Literal["unmarried", "married", "divorced", "widowed"]
Population = Literal["migrant", "registered"]  # 流动人口 / 户籍人口


@catalogue.event("ResidentRegistered")
class ResidentRegistered(Payload):
    resident_id: ResidentId
    sex: Sex
    birth_date: date
    marital_status: MaritalStatus
    population: Population
    household_registration_place: PlaceCode = Field(description="户籍地")
    unit_code: UnitCode = Field(description="where the resident lives (属地化管理: this unit serves them)")
    arrived_from: PlaceCode | None = None
    personal: EncryptedPersonalData


@catalogue.event("ResidentMoved")
class ResidentMoved(Payload):
    resident_id: ResidentId
    from_unit: UnitCode
    to_unit: UnitCode


@catalogue.event("ResidentDeparted")
class ResidentDeparted(Payload):
    resident_id: ResidentId
    from_unit: UnitCode
    destination_place: PlaceCode | None = None
    reason: str = Field(max_length=200)


@catalogue.event("MaritalStatusChanged")
class MaritalStatusChanged(Payload):
    resident_id: ResidentId
    previous: MaritalStatus
    marital_status: MaritalStatus


@catalogue.event("PregnancyPlanned")
class PregnancyPlanned(Payload):
    resident_id: ResidentId
    partner_resident_id: ResidentId | None = None
    planned_from: date


@catalogue.event("BirthReported")
class BirthReported(Payload):
    mother_resident_id: ResidentId
    child_resident_id: ResidentId
    birth_date: date
    sex: Sex
    reported_by: Literal["family", "hospital", "community"]
    report_ref: str = Field(max_length=100, description="the reporter's own reference, e.g. a hospital record number")


@catalogue.event("ChildEnrolled")
class ChildEnrolled(Payload):
    child_resident_id: ResidentId
    school_name: str = Field(max_length=100)
    school_year: int = Field(ge=2000, le=2100)
    grade: int = Field(ge=1, le=9, description="compulsory education: grades 1-9")


@catalogue.event("ResidencePermitIssued")
class ResidencePermitIssued(Payload):
    resident_id: ResidentId
    permit_ref: str = Field(max_length=40)
    issued_on: date
    valid_until: date


@catalogue.event("BirthDiscrepancyFound")
class BirthDiscrepancyFound(Payload):
    discrepancy_id: uuid.UUID
    kind: Literal["hospital_report_without_registry_birth", "child_without_birth_record"]
    mother_resident_id: ResidentId | None = None
    child_resident_id: ResidentId | None = None
    birth_date: date | None = None
    found_by: Literal["reconciliation", "sweep"]
    detail: str = Field(max_length=500)
