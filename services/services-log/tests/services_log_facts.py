"""Test support: the messages the registry and the departments publish, as they publish them.
Used by the services log's tests, and usable by anyone who feeds it (a demo, a cross-service test)."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from platform_kit.contract.registry import (
    MaritalStatusChanged,
    ResidentDeparted,
    ResidentMoved,
    ResidentRecordCorrected,
    ResidentRegistered,
)
from platform_kit.contract.services_log import ServiceDelivered, TrainingHeld
from platform_kit.envelope import Envelope


@dataclass
class RegistryFacts:
    """Registry events about residents, each on the resident's stream, versions in order."""

    versions: dict[uuid.UUID, int] = field(default_factory=dict)

    def _event(self, event_type: str, resident_id: uuid.UUID, unit_code: str, at: datetime, payload) -> Envelope:
        version = self.versions.get(resident_id, 0) + 1
        self.versions[resident_id] = version
        return Envelope.new(
            event_type=event_type,
            stream_id=f"resident-{resident_id}",
            stream_version=version,
            unit_code=unit_code,
            source="registry",
            payload=payload.model_dump(mode="json"),
            occurred_at=at,
        )

    def registered(
        self,
        resident_id: uuid.UUID,
        unit_code: str,
        at: datetime,
        *,
        sex: str = "female",
        birth_date: date = date(1988, 5, 1),
        marital_status: str = "married",
    ) -> Envelope:
        sealed = base64.b64encode(b"sealed personal data").decode()  # what the registry seals stays sealed
        payload = ResidentRegistered.model_validate(
            {
                "resident_id": resident_id,
                "sex": sex,
                "birth_date": birth_date,
                "marital_status": marital_status,
                "population": "migrant",
                "household_registration_place": "370481",
                "unit_code": unit_code,
                "personal": {"key_id": uuid.uuid4(), "nonce": "bm9uY2U=", "ciphertext": sealed},
            }
        )
        return self._event("ResidentRegistered", resident_id, unit_code, at, payload)

    def moved(self, resident_id: uuid.UUID, from_unit: str, to_unit: str, at: datetime) -> Envelope:
        payload = ResidentMoved(resident_id=resident_id, from_unit=from_unit, to_unit=to_unit)
        return self._event("ResidentMoved", resident_id, to_unit, at, payload)

    def departed(self, resident_id: uuid.UUID, from_unit: str, at: datetime) -> Envelope:
        payload = ResidentDeparted(
            resident_id=resident_id, from_unit=from_unit, destination_place="370100", reason="返乡"
        )
        return self._event("ResidentDeparted", resident_id, from_unit, at, payload)

    def corrected(self, corrected: Envelope, lives_in: str, at: datetime, **right: Any) -> Envelope:
        """The registry's correction of ``corrected`` (its right version: ``right`` over what it said)."""
        resident_id = uuid.UUID(corrected.stream_id.removeprefix("resident-"))
        if right.get("withdrawn"):
            fields: dict[str, Any] = {"withdrawn": True}
        else:
            said = {k: v for k, v in corrected.payload.items() if k in ("unit_code", "sex", "birth_date", "marital_status", "population", "from_unit", "to_unit")}
            fields = said | {"happened_at": corrected.occurred_at} | right
            fields["changed"] = sorted(k for k in right if k != "happened_at" or right[k] != corrected.occurred_at)
        payload = ResidentRecordCorrected.model_validate(
            {"resident_id": resident_id, "corrects": corrected.event_id, "corrected_type": corrected.event_type,
             "reason": "录入错误，已核实更正", **fields}
        )
        return self._event("ResidentRecordCorrected", resident_id, lives_in, at, payload)

    def marital_status_changed(self, resident_id: uuid.UUID, unit_code: str, at: datetime, *, to: str) -> Envelope:
        payload = MaritalStatusChanged(resident_id=resident_id, previous="unmarried", marital_status=to)
        return self._event("MaritalStatusChanged", resident_id, unit_code, at, payload)


def department_message(
    department: str,
    event_type: str,
    payload: dict[str, Any],
    *,
    unit_code: str,
    occurred_at: datetime,
    event_id: uuid.UUID | None = None,
    stream_id: str | None = None,
) -> Envelope:
    """A department's fact as it publishes it on ingest.<department>: a full envelope of its own."""
    event_id = event_id or uuid.uuid4()
    return Envelope.new(
        event_type=event_type,
        stream_id=stream_id or f"{department}-{event_id}",
        stream_version=1,
        unit_code=unit_code,
        source=f"dept:{department}",
        payload=payload,
        occurred_at=occurred_at,
        event_id=event_id,
    )


def hospital_check(
    resident_id: uuid.UUID, unit_code: str, at: datetime, *, kind: str = "pregnancy_check", **fields: Any
) -> Envelope:
    """A check done by a hospital, reported by the health department for the unit it counts for."""
    payload = ServiceDelivered(
        **{
            "service_id": uuid.uuid4(),
            "service_kind": kind,
            "resident_id": resident_id,
            "delivered_by_unit": unit_code,
            "staff_ref": "hospital-zz-0031",
            "free_of_charge": True,
        }
        | fields
    )
    return department_message(
        "health", "ServiceDelivered", payload.model_dump(mode="json"), unit_code=unit_code, occurred_at=at
    )


def hr_training(unit_code: str, at: datetime, *, person_times: int = 38, **fields: Any) -> Envelope:
    """An employment training for migrants, reported by human resources."""
    payload = TrainingHeld(
        **{
            "training_id": uuid.uuid4(),
            "topic": "流动人口就业技能培训",
            "person_times": person_times,
            "audience": "migrants",
        }
        | fields
    )
    return department_message(
        "hr", "TrainingHeld", payload.model_dump(mode="json"), unit_code=unit_code, occurred_at=at
    )
