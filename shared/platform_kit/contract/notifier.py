"""Events the notifier publishes on ``notifier.events``: who was told what, and what could
not be delivered.

Every notification a rule calls for goes to its recipient's inbox and to each channel the
recipient subscribed (webhook, e-mail, SMS); each such delivery ends in exactly one of these
events. The stream is the recipient on that channel (``recipient-<recipient>.<channel>``),
so the Kafka key keeps each recipient's deliveries in order. ``causation_id`` and
``caused_by_event_id`` name the event that made a rule speak; ``correlation_id`` is that
event's own correlation. No address (phone, e-mail, URL) is ever published.
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field

from platform_kit.contract import catalogue
from platform_kit.contract.common import Payload, Text

Channel = Literal["inbox", "webhook", "email", "sms"]
RECIPIENT = Field(
    pattern=r"^(unit:[0-9]{12}|place:[0-9]{6}([0-9]{3}|[0-9]{6})?|resident:[0-9a-f-]{36}|staff:[A-Za-z0-9._-]{1,40})$",
    max_length=120,
    description="an inbox: a unit (unit:<code>), a place outside the district (place:<code>), "
    "a resident (resident:<id>) or a staff member (staff:<ref>)",
)


@catalogue.event("NotificationDelivered")
class NotificationDelivered(Payload):
    notification_id: uuid.UUID
    delivery_id: uuid.UUID = Field(description="the idempotency key the receiver saw: one per notification and channel")
    rule: Text = Field(max_length=60, description="the rule of notifier/rules.toml that called for it")
    recipient: str = RECIPIENT
    channel: Channel
    caused_by_event_id: uuid.UUID
    attempt: int = Field(ge=1, le=100_000_000, description="the attempt that succeeded")


@catalogue.event("NotificationDeadLettered")
class NotificationDeadLettered(Payload):
    """A channel kept failing (or refused for good): the delivery was given up after
    ``attempts`` tries. The notification is still in the recipient's inbox."""

    notification_id: uuid.UUID
    delivery_id: uuid.UUID
    rule: Text = Field(max_length=60)
    recipient: str = RECIPIENT
    channel: Channel
    caused_by_event_id: uuid.UUID
    attempts: int = Field(ge=1, le=100_000_000)
    reason: Text = Field(max_length=500, description="the last failure, without any address in it")
