#!/usr/bin/env bash
# Prometheus (Debian's package) against the services of `make run`, on http://127.0.0.1:9090.
# Its data lives in $STACK_DIR/prometheus; Ctrl-C stops it. Install: apt-get install -y prometheus
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
STACK_DIR="${STACK_DIR:-$here/../../.stack}"
command -v prometheus >/dev/null || { echo "prometheus is missing: apt-get update && apt-get install -y prometheus" >&2; exit 1; }
mkdir -p "$STACK_DIR/prometheus"
exec prometheus \
  --config.file="$here/prometheus.yml" \
  --storage.tsdb.path="$STACK_DIR/prometheus" \
  --web.listen-address="${PROMETHEUS_LISTEN:-127.0.0.1:9090}" \
  "$@"
