"""The long form of the fault suite (``make soak``): the district on a private stack, faults
round after round (every kind, in a seeded random order, at seeded random moments) until the
stores hold ``--events`` events, then the verdict. Ends with one line:
``N faults injected, N events checked, N lost, N doubled, N stuck``; exits 1 unless the last
three are 0.

    python -m tests.faults.soak --events 200000 --seed 7
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bad_day import BadDay, Config  # noqa: E402

from platform_kit import testing  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000, help="events in the stores before the load stops")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=6, help="concurrent command senders")
    parser.add_argument("--gap", type=float, nargs=2, default=(20.0, 60.0), metavar=("MIN", "MAX"),
                        help="seconds of calm between faults")
    parser.add_argument("--minutes", type=float, default=None,
                        help="stop the load after this long even if fewer events are stored (the verdict still runs)")
    parser.add_argument("--workdir", type=Path, default=None, help="where the services' logs go")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="soak-"))
    # Outside pytest, so no root conftest: the services trust a key of the soak's own, as in the tests.
    testing.use_test_key(os.environ.get("MSP_KEY_DIR") or workdir / "keys")
    print(f"services' logs in {workdir}", flush=True)
    config = Config(workdir=workdir, seed=args.seed, events=args.events, workers=args.workers, once_each=False,
                    max_seconds=args.minutes and args.minutes * 60,
                    fault_gap=tuple(args.gap), log=lambda line: print(line, flush=True))
    result = asyncio.run(BadDay(config).run())
    report(result)
    return 0 if (result.lost, result.doubled, result.stuck) == (0, 0, 0) else 1


def report(result) -> None:
    print("injected:")
    for fault in result.faults:
        print(f"  {fault}")
    print("counted:")
    for detail in result.details:
        print(f"  {detail}")
    print(result.line(), flush=True)


if __name__ == "__main__":
    sys.exit(main())
