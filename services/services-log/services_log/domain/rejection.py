"""Why a command cannot be recorded, naming the field at fault."""

from __future__ import annotations


class Rejection(Exception):
    """A command that cannot be recorded as it stands. ``conflict`` marks one that is well
    formed but contradicts what is already known (HTTP 409); otherwise it is invalid (HTTP 422)."""

    def __init__(self, field: str, reason: str, *, conflict: bool = False) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason, self.conflict = field, reason, conflict
