"""Structured logs (JSON lines) that never carry personal data.

Names, ID numbers and phone numbers are personal data: they must never reach a log line.
Every service configures logging through :func:`configure_logging`, which installs a
processor that masks any field whose name says it holds personal data and any value that
looks like an 18-digit resident ID number or a mainland mobile number, wherever it stands.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from typing import Any

import structlog

from platform_kit.tracing import add_trace_ids

PERSONAL_FIELDS = frozenset(
    {"name", "full_name", "id_number", "id_no", "identity_number", "phone", "mobile", "telephone"}
)
_ID_NUMBER = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
MASK = "***"


def mask_personal_text(text: str) -> str:
    """Mask anything in free text that looks like an ID number or a mobile number."""
    return _MOBILE.sub(MASK, _ID_NUMBER.sub(MASK, text))


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return mask_personal_text(value)
    if isinstance(value, Mapping):
        return {k: MASK if str(k).lower() in PERSONAL_FIELDS else _scrub(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub(v) for v in value]
    return value


def scrub_personal_data(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: the last line of defence against personal data in logs."""
    return _scrub(event_dict)


class _ScrubbingFormatter(logging.Formatter):
    """Masks personal data in records from libraries that log through the standard module."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_personal_text(super().format(record))


class _CurrentStderr:
    """Whatever ``sys.stderr`` is at the moment of writing (test capture, redirection)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(service: str, level: str = "INFO", fmt: str = "json") -> None:
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            add_trace_ids,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            scrub_personal_data,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.bind_contextvars(service=service)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_ScrubbingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING if level == "DEBUG" else level)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)
