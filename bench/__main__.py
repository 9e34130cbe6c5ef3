"""``python -m bench [--events N | --quick] [--rounds R]``: every stage of the platform kit
beside its raw limit, in one run; prints a table and writes bench/results/latest.json."""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import platform
import sys
import time
from pathlib import Path

from bench import peers, plot
from bench.context import Context
from bench.report import Result, table, write_json
from bench.suite import Suite, say
from bench.workload import make_events
from platform_kit.kafka import idempotent_producer

RESULTS = Path(__file__).parent / "results" / "latest.json"


def arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--events", type=int, default=200_000, help="events per stage (default 200000)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 20000 events")
    parser.add_argument("--batch", type=int, default=1000, help="events per append call (default 1000)")
    parser.add_argument("--rounds", type=int, default=1, help="measure each stage R times, keep the best (default 1)")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"the JSON results (default {RESULTS})")
    parser.add_argument("--single-events", type=int, default=10_000, help="events of the one-event append stages")
    parser.add_argument("--read-events", type=int, nargs="+", default=[1_000_000], help="events in the store read (the first N) and in the assessment's rebuilds")
    parser.add_argument("--full", action="store_true", help="also rebuild the assessment from 5M events (replay_5m: growth from 1M)")
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 16], help="concurrent writers of single appends")
    parser.add_argument("--kit-only", action="store_true", help="skip the assessment's and the notifier's stages")
    args = parser.parse_args(argv)
    if args.quick:
        args.events, args.single_events, args.read_events = 20_000, 2_000, [100_000]
    if args.full:
        args.read_events = sorted({*args.read_events, 1_000_000, 5_000_000})
    return args


async def run(args: argparse.Namespace, bootstrap_servers: str, database_url: str) -> list[Result]:
    started = time.perf_counter()
    events = make_events(args.events)
    # The workload stays in memory for the whole run, which no service does: keep the
    # garbage collector from walking it again and again inside the timed sections.
    gc.collect()
    gc.freeze()
    say(f"{len(events):,} events made in {time.perf_counter() - started:.1f}s")
    ctx = await Context.open(bootstrap_servers, database_url)
    producer = idempotent_producer(bootstrap_servers)
    await producer.start()
    try:
        warmup = await ctx.topic("warmup")
        results = await Suite(ctx, producer, events, args.batch, args.rounds, warmup).run()
        # Beside a peer (the eventsourcing library's PostgreSQL recorder): single appends,
        # reading everything in order, and a rebuild from the store.
        say("append_single_vs_eventsourcing ...")
        singles = events[: args.single_events]
        for writers in args.writers:
            results += await peers.append_single(ctx, singles, writers, args.rounds)
        results += await peers.read_all(ctx, args.read_events[0], args.rounds)
    finally:
        await producer.stop()
        await ctx.close()
    del events
    gc.unfreeze()
    # Issue 14: the assessment's rebuild of its views from N events, each N in a process of its
    # own (its peak RSS is the rebuild's), and how it grows from the smallest N to the largest.
    from bench import replay

    say("replay (the assessment's rebuild) ...")
    rebuilds = [await asyncio.to_thread(replay.rows, database_url, n) for n in args.read_events]
    results += [Result.from_row(row) for rows in rebuilds for row in rows]
    if len(rebuilds) > 1:
        results += [Result.from_row(row) for row in replay.growth(rebuilds[0], rebuilds[-1])]
    if not args.kit_only:
        # The services' own figures (issues 4 and 5): their projections against a plain consume,
        # and the delay from an event to what a person sees.
        from bench import assessment, notifier

        for service in (assessment, notifier):
            results += [Result.from_row(row) for row in await service.run(bootstrap_servers, database_url, args.quick)]
        # Issue 14: the scoreboard at a past knowledge date, and a department's message to the
        # scoreboard under a stepped load (bench/scoreboard.py, bench/e2e.py).
        from bench import e2e, scoreboard

        say("scoreboard_as_known_1m ...")
        rows = await scoreboard.run(database_url, 100_000 if args.quick else 1_000_000, 10 if args.quick else 50)
        say("e2e_latency_1000 and the load steps ...")
        rows += await e2e.run(bootstrap_servers, database_url, args.quick)
        results += [Result.from_row(row) for row in rows]
    return results


def main(argv: list[str]) -> int:
    args = arguments(argv)
    try:
        bootstrap_servers, database_url = os.environ["KAFKA_BOOTSTRAP_SERVERS"], os.environ["DATABASE_URL"]
    except KeyError as missing:
        say(f"{missing.args[0]} is not set: run `make bench`, or set KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL")
        return 2
    load_before = os.getloadavg()[0]
    results = asyncio.run(run(args, bootstrap_servers, database_url))
    print(
        f"\n{args.events:,} events per stage, {args.batch} events per append call, best of {args.rounds} round(s); "
        f"Python {platform.python_version()}, {os.cpu_count()} cores, "
        f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after\n"
    )
    print(table(results))
    write_json(results, args.output)
    print(f"\nwritten to {args.output}")
    note = f"{time.strftime('%Y-%m-%d')}, load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    if drawn := plot.draw([r.as_json() for r in results], note=note):
        print(f"drawn to {drawn}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
