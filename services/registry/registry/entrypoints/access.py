"""Who may see and change which residents (docs/security.md): the caller's units decide.

A resident outside the caller's units is answered as if unknown (404): whether someone lives in
another village is itself personal. Personal data (name, ID number, phone) is shown as the
caller's role allows (clear, masked, hidden), and every view in clear is recorded as a
``PersonalDataRead`` event on the resident's own read stream (``personal-reads-<id>``), so the
resident's history and its optimistic versions are untouched.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from platform_kit.auth import Principal, normalise_unit_code, record_personal_read, require_principal
from platform_kit.auth.http import forbidden
from platform_kit.envelope import Envelope
from platform_kit.event_store import ConcurrencyConflict
from platform_kit.problems import NotFound

from registry.domain.resident import Resident
from registry.entrypoints.schemas import PersonalView
from registry.service_layer.handlers import Registry

Caller = Annotated[Principal, Depends(require_principal)]
READ_EVENT = "PersonalDataRead"


def reads_stream(resident_id: uuid.UUID) -> str:
    return f"personal-reads-{resident_id}"


def unit_scope(registry: Registry, caller: Principal, unit_code: str | None, field: str = "unit_code") -> list[str] | None:
    """The villages a listing may cover: the unit asked for (if in scope), else all the caller's.
    None means the whole district (the district and auditors only)."""
    if unit_code is not None:
        villages = registry.villages_under(unit_code, field)  # an unknown unit: refused as before, with its field
        if not caller.can_read_unit(unit_code, registry.units):
            raise forbidden(f"{field}: {registry.units[unit_code].name} is outside the units this token may see")
        return villages
    if caller.role in ("district", "auditor"):
        return None
    villages: list[str] = []
    for code in caller.units:
        villages += registry.villages_under(code, field) or []
    return villages


def may_write_unit(registry: Registry, caller: Principal, code: str, field: str = "unit_code") -> None:
    """403 for a unit of the district outside the caller's; a code that names no unit is left
    to the command, which refuses it (422) with its reason, as it always has."""
    try:
        code = normalise_unit_code(code)
    except ValueError:
        return
    if code in registry.units and not caller.can_write_unit(code, registry.units):
        raise forbidden(f"{field}: {registry.units[code].name} is outside the units this token may change")


async def resident_in_scope(registry: Registry, caller: Principal, resident_id: uuid.UUID, *, write: bool = False) -> Resident:
    """The resident, if the caller may see them (else 404, as if unknown) and, for a command,
    change them (else 403)."""
    resident = await registry.resident(resident_id)
    if resident is None or not caller.can_read_unit(resident.unit_code, registry.units):
        raise NotFound("resident_id", f"no resident {resident_id} in the registry")
    if write and not caller.can_write_unit(resident.unit_code, registry.units):
        raise forbidden(f"resident_id: {registry.units[resident.unit_code].name} is outside the units this token may change")
    return resident


def mask_name(name: str | None) -> str | None:
    return None if name is None else name[:1] + "*" * max(len(name) - 1, 1)


def mask_digits(text: str | None, keep_start: int, keep_end: int) -> str | None:
    if text is None:
        return None
    return text[:keep_start] + "*" * max(len(text) - keep_start - keep_end, 0) + text[-keep_end:]


def personal_view(view: str, name: str | None, id_number: str | None, phone: str | None) -> PersonalView | None:
    if view == "hidden":
        return None
    if view == "masked":
        return PersonalView(name=mask_name(name), id_number=mask_digits(id_number, 4, 4), phone=mask_digits(phone, 3, 2))
    return PersonalView(name=name, id_number=id_number, phone=phone)


async def record_read(registry: Registry, caller: Principal, resident: Resident, what: str, why: str) -> None:
    """Append who saw this person's data in clear, and why (one event on the read stream)."""
    stream = reads_stream(resident.resident_id)
    payload = record_personal_read(caller, what, resident.stream_id, why, at=registry.clock())
    for _attempt in range(5):  # two readers at once: the later one takes the next version
        version = await registry.store.stream_version(stream)
        event = Envelope.new(
            event_type=READ_EVENT, stream_id=stream, stream_version=version + 1, unit_code=resident.unit_code,
            source="registry", payload=payload, occurred_at=registry.clock(),
        )
        try:
            await registry.store.append([event])
            return
        except ConcurrencyConflict:
            continue
    raise ConcurrencyConflict(stream, version, version + 1)
