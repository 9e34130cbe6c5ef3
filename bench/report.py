"""Results: one line per stage, the kit's figure beside its raw limit."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Result:
    name: str
    value: float
    unit: str
    limit_name: str | None
    limit_value: float | None

    @property
    def ratio(self) -> float | None:
        # A latency has no raw limit to be a share of.
        return None if not self.limit_value else round(self.value / self.limit_value, 3)

    def as_json(self) -> dict:
        return {
            "name": self.name,
            "value": round(self.value, 3) if self.value < 10 else round(self.value, 1) if self.value < 100 else round(self.value),
            "unit": self.unit,
            "limit_name": self.limit_name,
            "limit_value": None if self.limit_value is None else round(self.limit_value),
            "ratio": self.ratio,
        }

    @classmethod
    def from_row(cls, row: dict) -> Result:
        return cls(row["name"], row["value"], row["unit"], row.get("limit_name"), row.get("limit_value"))


HEADERS = ("stage", "value", "unit", "raw limit", "limit", "ratio")


def table(results: list[Result]) -> str:
    rows = [HEADERS] + [
        (
            r.name,
            f"{r.value:,.0f}" if r.value >= 10 else f"{r.value:.3f}",
            r.unit,
            r.limit_name or "—",
            "—" if r.limit_value is None else f"{r.limit_value:,.0f}",
            "—" if r.ratio is None else f"{r.ratio:.2f}",
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]
    right = {1, 4, 5}

    def line(row: tuple[str, ...]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths)))

    return "\n".join([line(rows[0]), "  ".join("-" * w for w in widths), *map(line, rows[1:])])


def write_json(results: list[Result], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([r.as_json() for r in results], indent=2, ensure_ascii=False) + "\n")
