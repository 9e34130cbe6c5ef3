"""Why a command is refused. Every refusal names the field it is about and says why, in words
a village manager can act on; the entrypoints turn it into HTTP 4xx or an ``ingest.rejected``
record."""

from __future__ import annotations

import uuid


class DomainError(Exception):
    """The command is refused and nothing is written."""

    code = "invalid"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


class UnknownResident(DomainError):
    code = "not_found"

    def __init__(self, field: str, resident_id: uuid.UUID) -> None:
        super().__init__(field, f"no resident {resident_id} in the registry")
        self.resident_id = resident_id


class UnknownVerificationRequest(DomainError):
    code = "not_found"

    def __init__(self, request_id: uuid.UUID) -> None:
        super().__init__("request_id", f"no verification request {request_id}")


class AlreadyRecorded(DomainError):
    """The fact is in the registry already: the same person, the same report. Not retryable;
    ``existing_id`` says where it is."""

    code = "already_recorded"

    def __init__(self, field: str, reason: str, existing_id: uuid.UUID) -> None:
        super().__init__(field, reason)
        self.existing_id = existing_id
