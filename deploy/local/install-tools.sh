#!/usr/bin/env bash
# The Debian tools the tests use beside Python's: Chromium (and CJK fonts, so the page's
# Chinese renders) for the assessment page's browser test, Prometheus's promtool for the alert
# rules, docker-compose to check the compose file (`config` needs no Docker engine).
# Idempotent: installs only what is missing. Playwright drives Debian's chromium through
# executable_path; `playwright install` is not used.
set -euo pipefail

missing=()
[[ -x /usr/bin/chromium ]] || missing+=(chromium fonts-noto-cjk)
command -v promtool >/dev/null || missing+=(prometheus)
command -v docker-compose >/dev/null || command -v docker >/dev/null || missing+=(docker-compose)

# Kafka's console tools (kafka-tools), for the test that reads our records as any client would;
# the broker's own jars in the stack do not include them.
KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
if [[ ! -f "$HOME/.m2/repository/org/apache/kafka/kafka-tools/$KAFKA_VERSION/kafka-tools-$KAFKA_VERSION.jar" ]]; then
  mvn -q dependency:get -Dartifact="org.apache.kafka:kafka-tools:$KAFKA_VERSION" -Dtransitive=false
fi

if ((${#missing[@]} == 0)); then
  echo "[install-tools] chromium, promtool and docker-compose are installed" >&2
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "[install-tools] run as root (or install sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi

echo "[install-tools] installing with apt-get: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
# prometheus: only its binaries are wanted; keep the packaged service from running.
$SUDO apt-get install -y --no-install-recommends "${missing[@]}"
if command -v systemctl >/dev/null && systemctl is-active --quiet prometheus 2>/dev/null; then $SUDO systemctl stop prometheus || true; fi
pkill -x prometheus 2>/dev/null || true
