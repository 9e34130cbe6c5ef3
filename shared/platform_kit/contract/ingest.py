"""``ingest.rejected``: what a service could not accept from a department, and why.

One shape for every service that reads department topics (the kit's department gate writes
it): the message's place on its topic, the fields at fault with their reasons, and the
message itself with anything that looks like personal data masked. Nothing was recorded for
a rejected message; the department corrects it and sends it again.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class FieldProblem(BaseModel):
    """One thing wrong with a request or a message."""

    field: str = Field(description="the field at fault, dotted (payload.person_times), or 'body' / 'message'")
    reason: str = Field(description="why, in words the sender can act on; never the rejected value itself")


class IngestRejection(BaseModel):
    """A department message that was not accepted. ``field`` and ``reason`` repeat the first
    entry of ``errors``, for consumers that route on one field."""

    rejected_by: str = Field(description="the service that refused it: registry, services-log, ...")
    rejected_at: datetime
    topic: str
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)
    event_id: uuid.UUID | None = Field(None, description="the department's event id, when readable")
    event_type: str | None = Field(None, description="the message's event_type, when readable")
    field: str = Field(description="what is wrong first: an envelope field, payload.<field>, or message")
    reason: str
    errors: list[FieldProblem] = Field(min_length=1, description="every problem found, the first being field and reason")
    original: str = Field(description="the message as received, anything that looks like personal data masked")
