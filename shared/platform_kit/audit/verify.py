"""Recompute the chain over an events table and say what differs, and where.

Each event row is checked against the seal it got (found by its event id), using the stored
hash before it: so one edited row is reported as that row, not as "everything after it".

- **edited**: the row's content no longer gives the hash it was sealed with;
- **deleted**: a sealed event is no longer in the table;
- **inserted**: a row at or below the sealed head that was never sealed (or at a position
  below 1);
- **moved**: a sealed event now at another position (rows swapped or renumbered);
- **chain**: the chain table itself is damaged (a seal missing, or a sealed head that no
  longer reaches an anchor: events *and* chain rewritten together).

Rows after the sealed head are the ones the sealing loop has not reached yet: counted, not
reported (docs/audit.md says what that window means).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import asyncpg

from platform_kit.audit.canonical import GENESIS, SELECT, link
from platform_kit.database import checked_schema

KINDS = ("edited", "deleted", "inserted", "moved", "chain")


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    position: int
    stream_id: str
    event_id: uuid.UUID | None
    detail: str

    def line(self) -> str:
        return f"{self.kind:<8} position {self.position:>9}  stream {self.stream_id}  {self.detail}"


@dataclass
class Report:
    schema: str
    events: int = 0
    sealed_head: int = 0
    unsealed: int = 0
    anchors_checked: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.findings


Progress = Callable[[int], None]


async def verify(
    conn: asyncpg.Connection | asyncpg.Pool,
    schema: str,
    *,
    anchors: Iterable[tuple[int, bytes]] = (),
    batch_size: int = 5000,
    progress: Progress | None = None,
) -> Report:
    """Check ``<schema>.events`` against ``<schema>.event_chain`` and the anchors (those
    stored in ``audit_anchor`` plus any given, e.g. one published elsewhere)."""
    schema = checked_schema(schema)
    report = Report(schema)
    chain: dict[int, tuple[uuid.UUID, str, bytes]] = {
        r["position"]: (r["event_id"], r["stream_id"], bytes(r["hash"]))
        for r in await conn.fetch(f"SELECT position, event_id, stream_id, hash FROM {schema}.event_chain")
    }
    sealed_at = {event_id: position for position, (event_id, _, _) in chain.items()}
    report.sealed_head = max(chain, default=0)
    for position in range(1, report.sealed_head + 1):
        if position not in chain:
            report.findings.append(Finding("chain", position, "?", None, "the seal of this position is missing"))

    seen: set[uuid.UUID] = set()
    after = -(2**63)
    while True:
        rows = await conn.fetch(
            f"SELECT {SELECT} FROM {schema}.events WHERE position > $1 ORDER BY position LIMIT $2", after, batch_size
        )
        if not rows:
            break
        after = rows[-1]["position"]
        for row in rows:
            _check(row, chain, sealed_at, seen, report)
        report.events += len(rows)
        if progress:
            progress(len(rows))

    for position, (event_id, stream_id, _) in sorted(chain.items()):
        if event_id not in seen:
            report.findings.append(Finding("deleted", position, stream_id, event_id, f"event {event_id} was sealed here and is gone"))

    stored = [(r["position"], bytes(r["hash"])) for r in await conn.fetch(f"SELECT position, hash FROM {schema}.audit_anchor ORDER BY id")]
    for position, expected in [*stored, *anchors]:
        report.anchors_checked += 1
        sealed = chain.get(position)
        if sealed is None or sealed[2] != expected:
            report.findings.append(
                Finding("chain", position, sealed[1] if sealed else "?", sealed[0] if sealed else None,
                        f"the chain no longer reaches the anchored hash {expected.hex()[:16]}…: rewritten at or before here")
            )
    report.findings.sort(key=lambda f: (f.position, KINDS.index(f.kind)))
    return report


def _check(row, chain, sealed_at, seen: set[uuid.UUID], report: Report) -> None:
    position, event_id, stream_id = row["position"], row["event_id"], row["stream_id"]
    sealed = sealed_at.get(event_id)
    if sealed is None:
        if position <= report.sealed_head or position < 1:
            report.findings.append(Finding("inserted", position, stream_id, event_id, f"event {event_id} was never sealed"))
        else:
            report.unsealed += 1
        return
    seen.add(event_id)
    if sealed != position:
        report.findings.append(Finding("moved", position, stream_id, event_id, f"event {event_id} was sealed at position {sealed}"))
    previous = chain[sealed - 1][2] if sealed > 1 and sealed - 1 in chain else GENESIS
    if sealed > 1 and sealed - 1 not in chain:
        return  # reported as a missing seal; this row cannot be checked on its own
    if link(previous, {**dict(row), "position": sealed}) != chain[sealed][2]:
        report.findings.append(Finding("edited", position, stream_id, event_id, f"event {event_id} differs from what was sealed"))
