"""Events the notifier publishes on ``notifier.events``: who was told what."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field

from platform_kit.contract import catalogue
from platform_kit.contract.common import Payload


@catalogue.event("NotificationDelivered")
class NotificationDelivered(Payload):
    notification_id: uuid.UUID
    rule: str = Field(max_length=60)
    recipient: str = Field(max_length=120, description="a unit inbox (unit:<code>) or a staff member (staff:<ref>)")
    channel: Literal["inbox", "webhook", "email", "sms"]
    caused_by_event_id: uuid.UUID
    attempt: int = Field(ge=1)
