"""Wait until a Kafka broker really answers (used by deploy/local/stack.sh).

A TCP connect is not enough: the port opens before the KRaft controller has
elected itself and before the broker is unfenced. This keeps asking for
cluster metadata with aiokafka's admin client until at least one broker is
listed and a controller is known, then asks for a group coordinator and a
transaction coordinator. The first such lookups create the internal
__consumer_offsets and __transaction_state topics, so doing it here keeps
that one-off delay (GroupCoordinatorNotAvailable retries) out of the first
test that uses a consumer group or an idempotent/transactional producer.

Usage: python wait_for_kafka.py BOOTSTRAP [TIMEOUT_SECONDS] [PID]
Exit 0 when ready, 1 on timeout, 2 if PID (the broker process) died meanwhile.
Only stderr is written to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import time


def _alive(pid: int | None) -> bool:
    if pid is None:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def _probe(bootstrap: str, attempt_timeout: float) -> str:
    from aiokafka.admin import AIOKafkaAdminClient

    # A secured stack (KAFKA_SECURITY=sasl) is probed as its operator: stack.sh sets KAFKA_SASL_*.
    from platform_kit.kafka import KafkaSecurity

    admin = AIOKafkaAdminClient(
        **KafkaSecurity.from_env().client_options(),
        bootstrap_servers=bootstrap,
        request_timeout_ms=int(attempt_timeout * 1000),
        connections_max_idle_ms=60_000,
    )
    try:
        await asyncio.wait_for(admin.start(), attempt_timeout)
        info = await asyncio.wait_for(admin.describe_cluster(), attempt_timeout)
        brokers = info.get("brokers") or []
        controller = info.get("controller_id", -1)
        if not brokers or controller is None or controller < 0:
            raise RuntimeError(
                f"not ready yet: brokers={brokers!r} controller={controller!r}"
            )
        # 0 = group coordinator (__consumer_offsets), 1 = transaction coordinator.
        for coordinator_type in (0, 1):
            await asyncio.wait_for(
                admin.find_coordinator("stack-readiness-probe", coordinator_type),
                attempt_timeout,
            )
    finally:
        # Best-effort close of a probe client.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(admin.close(), attempt_timeout)
    return f"cluster_id={info.get('cluster_id')} brokers={len(brokers)} controller={controller}"


async def main() -> int:
    bootstrap = sys.argv[1]
    timeout = float(sys.argv[2]) if len(sys.argv) > 2 else 60.0
    pid = int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3] else None
    deadline = time.monotonic() + timeout
    last_error = "no attempt made"
    while time.monotonic() < deadline:
        if not _alive(pid):
            print(f"wait_for_kafka: broker process {pid} exited", file=sys.stderr)
            return 2
        remaining = max(1.0, min(10.0, deadline - time.monotonic()))
        try:
            summary = await _probe(bootstrap, remaining)
        except Exception as exc:  # noqa: BLE001 - any failure means "not yet"
            last_error = f"{type(exc).__name__}: {exc}"
            await asyncio.sleep(0.5)
            continue
        print(f"wait_for_kafka: {bootstrap} ready ({summary})", file=sys.stderr)
        return 0
    print(
        f"wait_for_kafka: {bootstrap} not ready after {timeout:.0f}s (last error: {last_error})",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    # aiokafka logs every refused connection at ERROR while the broker boots.
    logging.basicConfig(level=logging.CRITICAL)
    sys.exit(asyncio.run(main()))
