"""docs/bench-load.png: throughput and latency against offered load, drawn from the results'
``e2e_load_<rate> ...`` rows (bench/e2e.py)."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

PLOT = Path(__file__).resolve().parents[1] / "docs" / "bench-load.png"
_ROW = re.compile(r"^e2e_load_(\d+) (throughput|latency (p50|p99))")


@dataclass(frozen=True)
class Point:
    offered: int
    throughput: float | None
    p50_ms: float | None
    p99_ms: float | None


def load_curve(rows: list[dict]) -> list[Point]:
    """One point per offered load, in increasing order, from the rows of latest.json."""
    found: dict[int, dict[str, float]] = {}
    for row in rows:
        if m := _ROW.match(row["name"]):
            found.setdefault(int(m[1]), {})[m[3] or "throughput"] = row["value"]
    return [Point(rate, f.get("throughput"), f.get("p50"), f.get("p99")) for rate, f in sorted(found.items())]


def draw(rows: list[dict], path: Path = PLOT, note: str = "") -> Path | None:
    """The PNG, or None when the results hold no load steps (a --kit-only run)."""
    points = load_curve(rows)
    if not points:
        return None
    import matplotlib

    matplotlib.use("Agg")  # no display: the bench runs in terminals and CI
    import matplotlib.pyplot as plt

    offered = [p.offered for p in points]
    fig, (rate_ax, latency_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
    rate_ax.plot(offered, offered, linestyle=":", color="grey", label="offered (what holding it would take)")
    rate_ax.plot(offered, [p.throughput or 0 for p in points], marker="o", label="taken in by the assessment")
    rate_ax.set(xscale="log", yscale="log", xlabel="offered load (department messages/s)", ylabel="events/s",
                title="Throughput")
    rate_ax.legend(fontsize=8)
    for label, values in (("p50", [p.p50_ms for p in points]), ("p99", [p.p99_ms for p in points])):
        latency_ax.plot(offered, [v if v is not None else float("nan") for v in values], marker="o", label=label)
    latency_ax.axhline(250, linestyle=":", color="grey", label="goal p99 at 1,000/s (250 ms)")
    latency_ax.set(xscale="log", yscale="log", xlabel="offered load (department messages/s)", ylabel="ms",
                   title="ingest.health -> scoreboard changed")
    latency_ax.legend(fontsize=8)
    if note:
        fig.suptitle(note, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


if __name__ == "__main__":  # python -m bench.plot [latest.json]: redraw from saved results
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "results" / "latest.json"
    print(draw(json.loads(source.read_text())))
