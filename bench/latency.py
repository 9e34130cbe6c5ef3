"""Pure helpers for the latency figures: percentiles, and whether an offered load was held."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def percentiles(samples: Sequence[float], wanted: Iterable[int]) -> dict[int, float]:
    """Nearest-rank percentiles (the smallest sample with at least p% of the samples at or
    below it): always a measured value, never an interpolation between two."""
    if not samples:
        raise ValueError("percentiles of no samples")
    ordered = sorted(samples)
    return {p: ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] for p in wanted}


def held(offered: float, achieved: float, early: Sequence[float], late: Sequence[float]) -> bool:
    """A load is held when the pipeline took in what was offered (within 5%) and the latency at
    the end of the step is not growing away from its start (a queue building up without bound
    shows as late samples far above early ones): the late median within twice the early one,
    plus a second for scheduling noise."""
    if not early or not late:
        return False
    early_median = percentiles(early, (50,))[50]
    late_median = percentiles(late, (50,))[50]
    return achieved >= 0.95 * offered and late_median <= 2 * early_median + 1.0
