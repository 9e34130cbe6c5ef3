"""A living district for a newcomer: ``make run`` replays 2013 of 市中区 through the real
services, then the page shows it.

    python deploy/demo --clock-env [--seconds 150]   print the replay clock every service reads
    python deploy/demo [--scale 0.25] [--seed 2013]  drive the year through the services

Every service is started with the same CLOCK_* settings, so the year (January 2013 to the late
birth reports of March 2014) passes in about ``--seconds`` of real time, and what the system
"knew at 31 December 2013" is known at that simulated moment.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from district import summary, year_2013  # noqa: E402
from drive import Driver  # noqa: E402

from platform_kit.kafka import idempotent_producer  # noqa: E402
from platform_kit.settings import KitSettings  # noqa: E402
from platform_kit.topics import Topics  # noqa: E402


def clock_env(seconds: float | None, scale: float, seed: int) -> str:
    actions = year_2013(seed, scale)
    seconds = seconds or max(60.0, len(actions) / 25)
    first = min(a.recorded_at for a in actions) - timedelta(days=1)
    last = max(a.recorded_at for a in actions) + timedelta(days=1)
    speed = (last - first).total_seconds() / seconds
    started_at = datetime.now(UTC) + timedelta(seconds=20)  # the services start meanwhile
    return "\n".join([
        f"CLOCK_START={first.isoformat()}",
        f"CLOCK_STARTED_AT={started_at.isoformat()}",
        f"CLOCK_SPEED={speed:.1f}",
        f"CLOCK_FAST_UNTIL={last.isoformat()}",
        f"DEMO_SCALE={scale}",
        f"DEMO_SEED={seed}",
    ])


async def drive(args: argparse.Namespace) -> int:
    settings = KitSettings()
    actions = year_2013(args.seed, args.scale)
    print(f"demo: {len(actions)} actions of 2013 in 市中区: {summary(actions)}", flush=True)
    producer = idempotent_producer(settings.kafka_bootstrap_servers, client_id="demo")
    await producer.start()
    driver = Driver(
        registry=args.registry, services_log=args.services_log, producer=producer,
        topics=Topics(settings.topic_namespace), clock=settings.clock(),
    )
    started = time.monotonic()

    def progress(done: int) -> None:
        print(f"demo: {done}/{len(actions)} sent, system clock at {driver.clock.now():%Y-%m-%d}", flush=True)

    try:
        await driver.run(actions, progress)
    finally:
        await producer.stop()
    print(f"demo: done in {time.monotonic() - started:.0f} s", flush=True)
    for outcome, count in sorted(driver.outcomes.items()):
        print(f"  {outcome:<48} {count}")
    if driver.refusals:
        print("demo: refused by the services (field and reason are in their answers):")
        for refusal, count in driver.refusals.most_common(10):
            print(f"  {refusal:<48} {count}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="demo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=float(_env("DEMO_SCALE", "0.1")), help="1 = the whole district")
    parser.add_argument("--seed", type=int, default=int(_env("DEMO_SEED", "2013")))
    parser.add_argument("--seconds", type=float, help="real seconds the year takes (default: 1 per 25 actions)")
    parser.add_argument("--clock-env", action="store_true", help="print the replay clock settings and exit")
    parser.add_argument("--once", type=Path, help="a marker file: do nothing if it exists, write it when done")
    parser.add_argument("--registry", default="http://127.0.0.1:8101")
    parser.add_argument("--services-log", default="http://127.0.0.1:8102")
    args = parser.parse_args()
    if args.clock_env:
        print(clock_env(args.seconds, args.scale, args.seed))
        return 0
    if args.once and args.once.exists():
        print(f"demo: already loaded ({args.once}); `make clean` starts over")
        return 0
    status = asyncio.run(drive(args))
    if args.once and status == 0:
        args.once.write_text(f"loaded {datetime.now(UTC).isoformat()}\n")
    return status


def _env(name: str, default: str) -> str:
    import os

    return os.environ.get(name, default)


if __name__ == "__main__":
    sys.exit(main())
