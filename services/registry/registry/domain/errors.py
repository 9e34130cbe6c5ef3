"""Why a command is refused, beyond the kit's ``Refusal`` (422), ``NotFound`` (404) and
``Conflict`` (409): each names the field it is about and says why, in words a village manager
can act on; HTTP answers it as a problem, the department gate as an ``ingest.rejected`` record."""

from __future__ import annotations

import uuid

from platform_kit.problems import Conflict, NotFound


class AlreadyRecorded(Conflict):
    """The fact is in the registry already: the same person, the same report. Not retryable;
    ``existing_id`` says where it is (and the problem's ``existing_id`` member, too)."""

    def __init__(self, field: str, reason: str, existing_id: uuid.UUID) -> None:
        super().__init__(field, reason, existing_id=str(existing_id))
        self.existing_id = existing_id


def unknown_resident(field: str, resident_id: uuid.UUID) -> NotFound:
    return NotFound(field, f"no resident {resident_id} in the registry")


def unknown_verification_request(request_id: uuid.UUID) -> NotFound:
    return NotFound("request_id", f"no verification request {request_id}")
