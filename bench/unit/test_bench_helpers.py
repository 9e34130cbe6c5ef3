"""The bench's pure helpers: its percentiles, when a load counts as held, the plot's input."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench.latency import held, percentiles
from bench.plot import Point, load_curve


def test_percentiles_are_measured_values_by_nearest_rank():
    samples = [float(v) for v in range(100, 0, -1)]  # 1..100, unsorted
    assert percentiles(samples, (50, 99, 100)) == {50: 50.0, 99: 99.0, 100: 100.0}
    assert percentiles([3.0, 1.0], (50, 99)) == {50: 1.0, 99: 3.0}
    with pytest.raises(ValueError):
        percentiles([], (50,))


def test_a_load_is_held_when_taken_in_and_latency_stays_put():
    assert held(1000, 990, [0.2, 0.3], [0.25, 0.3])
    assert not held(1000, 700, [0.2, 0.3], [0.25, 0.3])  # a queue builds up
    assert not held(1000, 990, [0.2, 0.3], [5.0, 9.0])  # latency grows without bound
    assert not held(1000, 990, [], [])  # nothing seen: nothing shown


def test_the_plot_reads_one_point_per_offered_load_in_order():
    rows = [
        {"name": "e2e_load_1000 throughput", "value": 640.0},
        {"name": "e2e_load_1000 latency p50 (10 probes)", "value": 900.0},
        {"name": "e2e_load_100 throughput", "value": 100.0},
        {"name": "e2e_load_100 latency p50 (30 probes)", "value": 120.0},
        {"name": "e2e_load_100 latency p99 (30 probes)", "value": 200.0},
        {"name": "e2e_latency_1000 p50", "value": 900.0},
        {"name": "e2e_highest_steady_rate", "value": 100},
    ]
    assert load_curve(rows) == [Point(100, 100.0, 120.0, 200.0), Point(1000, 640.0, 900.0, None)]


def test_the_cpu_of_a_process_is_read_from_proc_and_grows_with_its_work():
    import os
    import time

    from bench.e2e import cpu_seconds, machine_busy

    before, machine = cpu_seconds(os.getpid()), machine_busy()
    spun = time.process_time() + 0.05
    while time.process_time() < spun:
        pass
    assert cpu_seconds(os.getpid()) - before >= 0.03  # /proc counts in ticks (10 ms)
    busy, total = machine_busy()
    assert 0 < busy <= total and busy - machine[0] >= 0.03


def test_a_rebuild_in_a_process_of_its_own_reports_its_own_peak_memory_not_the_benchs():
    """``make bench`` runs each replay_<n> in a child process so that the peak RSS is the
    rebuild's. The bench holds its workload (a GiB at 1M events) when it starts the child:
    ru_maxrss, which Linux keeps across exec, reported that as the rebuild's peak."""
    held = b"x" * (400 * 1024 * 1024)  # written, so resident
    child = subprocess.run(
        [sys.executable, "-c", "from bench.replay import rss_mib; print(rss_mib())"],
        capture_output=True, text=True, check=True,
    )
    peak = float(child.stdout)
    del held
    assert peak < 300, f"the child reported a peak of {peak:.0f} MiB, its parent's"
