"""Which event types exist, what their payload looks like, and how old payloads are read.

History is never rewritten. When a payload's shape changes, its ``schema_version`` goes up
and an *upcaster* turns a payload of the old version into the next one, so every reader
sees only the current shape, however old the event. Upcasters chain: v1 -> v2 -> v3.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from platform_kit.envelope import Envelope

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]
M = TypeVar("M", bound=type[BaseModel])


class UnknownEventType(LookupError):
    def __init__(self, event_type: str) -> None:
        super().__init__(f"event_type: unknown event type {event_type!r}")
        self.event_type = event_type


class UnsupportedSchemaVersion(ValueError):
    """A payload version this reader cannot bring to its current one. ``newer`` says the
    event is from a producer newer than this reader (a rolling deploy in progress): the
    reader must wait for its own upgrade, not skip the event."""

    def __init__(self, event_type: str, version: int, current: int) -> None:
        self.event_type, self.version, self.current = event_type, version, current
        self.newer = version > current
        reason = "newer than this reader knows" if self.newer else f"no upcaster from v{version}"
        super().__init__(f"schema_version: {event_type} v{version} cannot be read (current is v{current}, {reason})")


class EventCatalogue:
    """Event type -> current payload model, plus the upcasters that lead to it."""

    def __init__(self) -> None:
        self._models: dict[str, tuple[int, type[BaseModel]]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    def event(self, event_type: str, *, version: int = 1) -> Callable[[M], M]:
        """Class decorator: register ``model`` as the payload of ``event_type`` at ``version``."""

        def register(model: M) -> M:
            if event_type in self._models:
                raise ValueError(f"{event_type} is registered twice")
            self._models[event_type] = (version, model)
            return model

        return register

    def upcaster(self, event_type: str, *, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Function decorator: turn a ``from_version`` payload into a ``from_version + 1`` one."""

        def register(fn: Upcaster) -> Upcaster:
            self._upcasters[(event_type, from_version)] = fn
            return fn

        return register

    @property
    def event_types(self) -> list[str]:
        return sorted(self._models)

    def model(self, event_type: str) -> type[BaseModel]:
        return self._entry(event_type)[1]

    def current_version(self, event_type: str) -> int:
        return self._entry(event_type)[0]

    def knows(self, event_type: str) -> bool:
        return event_type in self._models

    def upcast(self, envelope: Envelope) -> Envelope:
        """The same event with its payload brought to the current schema version."""
        version, payload = self._upcast_payload(envelope)
        if version == envelope.schema_version:
            return envelope
        return envelope.model_copy(update={"schema_version": version, "payload": payload})

    def _upcast_payload(self, envelope: Envelope) -> tuple[int, dict[str, Any]]:
        current = self.current_version(envelope.event_type)
        version, payload = envelope.schema_version, envelope.payload
        if version > current:
            raise UnsupportedSchemaVersion(envelope.event_type, version, current)
        while version < current:
            step = self._upcasters.get((envelope.event_type, version))
            if step is None:
                raise UnsupportedSchemaVersion(envelope.event_type, version, current)
            payload, version = step(dict(payload)), version + 1  # a copy: the envelope's stays as it is
        return version, payload

    def load(self, envelope: Envelope) -> BaseModel:
        """The event's payload as its current model, validated."""
        # The payload upcast without a new envelope (a copy of it was a quarter of a load).
        _, payload = self._upcast_payload(envelope)
        return self.model(envelope.event_type).model_validate(payload)

    def validate(self, envelope: Envelope) -> Envelope:
        """Check a new event's payload against its model; returns the envelope unchanged."""
        self.load(envelope)
        return envelope

    def _entry(self, event_type: str) -> tuple[int, type[BaseModel]]:
        try:
            return self._models[event_type]
        except KeyError:
            raise UnknownEventType(event_type) from None
