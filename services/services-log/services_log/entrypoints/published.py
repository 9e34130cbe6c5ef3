"""What the services log publishes on ``services.events``, for the AsyncAPI document.

The outbox relay publishes these (key = stream_id), not the FastStream broker; the publisher
is declared on the broker only so that the generated document describes the channel.
"""

from __future__ import annotations

from typing import Annotated, Literal

from faststream.kafka import KafkaBroker
from pydantic import Field

from platform_kit.contract.services_log import (
    AssociationActivityHeld,
    ResidenceResolved,
    ServiceDelivered,
    SurveyRecorded,
    TrainingHeld,
)
from platform_kit.envelope import Envelope


class ServiceDeliveredEvent(Envelope):
    event_type: Literal["ServiceDelivered"]
    payload: ServiceDelivered


class SurveyRecordedEvent(Envelope):
    event_type: Literal["SurveyRecorded"]
    payload: SurveyRecorded


class TrainingHeldEvent(Envelope):
    event_type: Literal["TrainingHeld"]
    payload: TrainingHeld


class AssociationActivityHeldEvent(Envelope):
    event_type: Literal["AssociationActivityHeld"]
    payload: AssociationActivityHeld


class ResidenceResolvedEvent(Envelope):
    event_type: Literal["ResidenceResolved"]
    payload: ResidenceResolved


ServicesEvent = Annotated[
    ServiceDeliveredEvent
    | SurveyRecordedEvent
    | TrainingHeldEvent
    | AssociationActivityHeldEvent
    | ResidenceResolvedEvent,
    Field(discriminator="event_type"),
]


def describe_services_events(broker: KafkaBroker, topic: str) -> None:
    broker.publisher(
        topic,
        schema=ServicesEvent,
        title=topic,
        description=(
            "What was delivered, one stream per record (service-<id>, survey-<id>, training-<id>, "
            "association-activity-<id>), key = stream_id. Published by the outbox relay after commit, "
            "at least once: deduplicate on event_id."
        ),
    )
