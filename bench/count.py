"""The assessment's counting alone, no Kafka, no database: ``python -m bench.count [--people N]
[--profile]``.

Demo-shaped history (``bench.assessment.demo_events``, read into facts through the catalogue
as the projection reads them) grouped by person, then timed, CPU only (``time.process_time``):

* ``from_scratch`` over the two live years' periods (2012 and 2013: 34 periods), what a
  rebuild's last step and a new live year cost;
* ``window_figures`` for the year 2013, what a period read on request costs (it also builds
  the ``Counted`` records with their event ids, as ``counted_in`` does).

Each is reported in µs per person and per fact; the best of ``--rounds`` (default 3). With
``--profile`` it prints cProfile's top functions of one ``from_scratch``. Nothing asserts a time.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from collections.abc import Callable

from assessment.domain.coverage import compile_indicators, from_scratch, window_figures
from assessment.domain.facts import by_subject, facts_of
from assessment.domain.periods import Period, Window, periods_of_years
from assessment.settings import DEFAULT_RULES, load_rules
from bench.assessment import demo_events
from platform_kit.contract import catalogue

LIVE_YEARS = (2012, 2013)  # the demo year and the one before: what the service holds live on its clock
DEMO_EVENTS_PER_PERSON = 5  # roughly: a registration, a few services, a survey


def history(people: int) -> dict:
    events = demo_events(people * DEMO_EVENTS_PER_PERSON)
    return by_subject(f for e in events for f in facts_of(e, catalogue.load(e)))


def best(rounds: int, work: Callable[[], object]) -> float:
    """The least CPU seconds of ``rounds`` runs: the others were slowed by the machine's neighbours."""
    spent = []
    for _ in range(rounds):
        started = time.process_time()
        work()
        spent.append(time.process_time() - started)
    return min(spent)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.count", description=__doc__)
    parser.add_argument("--people", type=int, default=5000, help="about this many people (default 5000)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each measurement, the best counts (default 3)")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions of one from_scratch")
    args = parser.parse_args(argv)

    facts = history(args.people)
    people, n_facts = len(facts), sum(len(f) for f in facts.values())
    indicators = compile_indicators(load_rules(DEFAULT_RULES).indicators)
    periods = periods_of_years(LIVE_YEARS)
    year = Period(2013)
    print(f"{people:,} people, {n_facts:,} facts, {len(periods)} periods, {len(indicators)} indicators;"
          f" load average {os.getloadavg()[0]:.2f}")

    stages = {
        f"from_scratch ({len(periods)} periods)": lambda: from_scratch(facts, periods, indicators),
        "window_figures (year 2013)": lambda: window_figures(facts, Window(year.start, year.end), year, indicators),
    }
    for name, work in stages.items():
        cpu = best(args.rounds, work)
        print(f"  {name:<30} {cpu:7.2f} s CPU  {1e6 * cpu / people:8.1f} µs/person  {1e6 * cpu / n_facts:7.1f} µs/fact")
    print(f"  load average after: {os.getloadavg()[0]:.2f}")

    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(from_scratch, facts, periods, indicators)
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
