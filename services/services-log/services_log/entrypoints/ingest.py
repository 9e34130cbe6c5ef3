"""Department messages in: checks done by hospitals on ``ingest.health``, trainings on
``ingest.hr``; what cannot be accepted out, on ``ingest.rejected``. Which messages are ours is
decided in :mod:`services_log.entrypoints.department_messages`.

The Kafka offset is committed only after the append (or the rejection) is done: a restart
redelivers what was in flight, and the event id made from the department's event_id makes a
redelivery, or a department sending twice, a duplicate the event store refuses.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
from aiokafka.errors import KafkaError
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.publisher.usecase import DefaultPublisher
from faststream.middlewares import AckPolicy
from pydantic import SkipValidation

from platform_kit.envelope import utc_now
from platform_kit.logs import get_logger
from platform_kit.projection import INFRASTRUCTURE_ERRORS
from platform_kit.topics import Topics
from services_log.domain.rejection import Rejection
from services_log.entrypoints.department_messages import (
    Admit,
    Refuse,
    ServiceDeliveredFromHealth,
    TrainingHeldFromHr,
    masked,
    message_field,
    triage,
)
from services_log.messages import FieldProblem, IngestRejection
from services_log.service_layer.recorder import Origin, Recorder
from services_log.settings import ServicesLogSettings

log = get_logger(__name__)

# Failures that say nothing about the message: retry it (from the same offset) after a pause.
TRANSIENT_ERRORS = (*INFRASTRUCTURE_ERRORS, asyncpg.exceptions.TransactionRollbackError, KafkaError, TimeoutError)


class DepartmentGate:
    def __init__(self, recorder: Recorder, rejected: DefaultPublisher, *, retry_seconds: float) -> None:
        self.recorder = recorder
        self.rejected = rejected
        self.retry_seconds = retry_seconds

    async def take(self, department: str, message: KafkaMessage) -> None:
        record = message.raw_message
        try:
            verdict = triage(department, message.body)
            if isinstance(verdict, Admit):
                verdict = await self._record(department, verdict)
            if isinstance(verdict, Refuse):
                await self._refuse(department, record, message.body, verdict)
        except TRANSIENT_ERRORS as error:
            # Not the message's fault: leave the offset uncommitted, so it comes again.
            log.warning("ingest.retry", department=department, error=f"{type(error).__name__}: {error}"[:300])
            await asyncio.sleep(self.retry_seconds)
            raise
        except Exception as error:
            # A bug of ours, met by this message: park the message with the reason rather than
            # block every later message of its partition; it can be sent again once fixed.
            log.exception("ingest.failed", department=department, offset=record.offset)
            reason = (
                f"the services log failed on it ({type(error).__name__}); nothing was recorded, send it again later"
            )
            await self._refuse(department, record, message.body, Refuse([FieldProblem(field="message", reason=reason)]))

    async def _record(self, department: str, admitted: Admit) -> Refuse | None:
        message = admitted.message
        try:
            outcome = await self.recorder.record(admitted.command, Origin.department(department, message))
        except Rejection as rejection:
            problem = FieldProblem(field=message_field(rejection.field), reason=rejection.reason)
            return Refuse([problem], message.event_id, message.event_type)
        if outcome.status != "recorded":
            log.info("ingest.duplicate", department=department, event_id=str(message.event_id), status=outcome.status)
        return None

    async def _refuse(self, department: str, record, raw: bytes, refused: Refuse) -> None:
        first = refused.errors[0]
        rejection = IngestRejection(
            rejected_at=utc_now(),
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            event_id=_uuid_or_none(refused.event_id),
            event_type=refused.event_type,
            field=first.field,
            reason=first.reason,
            errors=refused.errors,
            original=masked(raw),
        )
        headers = {"field": first.field, "rejected_by": rejection.rejected_by}
        await self.rejected.publish(rejection, key=record.key, headers=headers)
        log.warning(
            "ingest.rejected",
            department=department,
            offset=record.offset,
            event_type=refused.event_type,
            errors=[f"{p.field}: {p.reason}" for p in refused.errors][:5],
        )


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value is not None else None
    except ValueError:
        return None


def subscribe_departments(broker: KafkaBroker, recorder: Recorder, settings: ServicesLogSettings) -> None:
    topics = Topics(settings.topic_namespace)
    rejected = broker.publisher(
        topics.ingest_rejected,
        schema=IngestRejection,
        title=f"{topics.ingest_rejected}:services-log",
        description="Department messages the services log could not accept, each with the fields at fault and why.",
    )
    gate = DepartmentGate(recorder, rejected, retry_seconds=settings.ingest_retry_seconds)
    consumer = {
        "auto_offset_reset": "earliest",
        "isolation_level": "read_committed",
        "ack_policy": AckPolicy.NACK_ON_ERROR,  # commit after the append; on failure, redeliver
        "session_timeout_ms": settings.ingest_session_timeout_ms,
        "heartbeat_interval_ms": settings.ingest_session_timeout_ms // 5,
        "group_instance_id": settings.ingest_instance_id,
    }
    group = f"{settings.services_log_schema}.ingest"

    @broker.subscriber(topics.ingest("health"), group_id=f"{group}.health", **consumer)
    async def checks_done_by_hospitals(body: SkipValidation[ServiceDeliveredFromHealth], message: KafkaMessage) -> None:
        """ServiceDelivered from hospitals: pregnancy checks, pre-pregnancy health checks, check-ups.
        Other types on ingest.health belong to the registry, its gatekeeper."""
        await gate.take("health", message)

    @broker.subscriber(topics.ingest("hr"), group_id=f"{group}.hr", **consumer)
    async def trainings_from_hr(body: SkipValidation[TrainingHeldFromHr], message: KafkaMessage) -> None:
        """TrainingHeld from human resources. The services log is hr's gatekeeper: whatever else
        arrives here is rejected to ingest.rejected."""
        await gate.take("hr", message)
