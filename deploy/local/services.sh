#!/usr/bin/env bash
# Start, stop and list the four services on this machine, each as `python -m <package>`,
# logging to <STACK_DIR>/logs/<service>.log. Reads KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL
# from `stack.sh status` unless they are set. Every other setting (HTTP_HOST, LOG_LEVEL, and the
# secrets IDENTITY_SECRET for the registry and WEBHOOK_SECRET for the notifier) is taken from
# this environment as it is; HTTP_PORT is set per service. An unset secret leaves the service's
# development default in force, and `start` says so.
#
#   deploy/local/services.sh start    start every service not yet running (idempotent), wait until ready
#   deploy/local/services.sh stop     stop them (SIGTERM, then wait)
#   deploy/local/services.sh status   one line per service: name, state, URL, listen address, pid
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
STACK_DIR="${STACK_DIR:-$REPO_ROOT/.stack}"
PYTHON="${STACK_PYTHON:-$REPO_ROOT/.venv/bin/python}"
RUN_DIR="$STACK_DIR/run"
LOG_DIR="$STACK_DIR/logs"
# name:package:port — the order is the order of start.
SERVICES=(registry:registry:8101 services-log:services_log:8102 assessment:assessment:8103 notifier:notifier:8104)

log() { printf '[services] %s\n' "$*" >&2; }

stack_env() {
  if [[ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" || -z "${DATABASE_URL:-}" ]]; then
    eval "$("$SCRIPT_DIR/stack.sh" status | grep -E '^(KAFKA_BOOTSTRAP_SERVERS|DATABASE_URL|KAFKA_SECURITY_PROTOCOL|KAFKA_SASL_MECHANISM|KAFKA_SASL_DIR)=' | sed 's/^/export /')"
  fi
}

sasl_env() { # name -> the service's own Kafka principal on a secured stack (KAFKA_SECURITY=sasl)
  [[ -n "${KAFKA_SASL_DIR:-}" ]] || return 0
  printf 'KAFKA_SASL_USERNAME=%s\nKAFKA_SASL_PASSWORD_FILE=%s\n' "$1" "$KAFKA_SASL_DIR/$1.password"
}

pid_of() { # name -> pid if running
  local pidfile="$RUN_DIR/$1.pid"
  [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null && cat "$pidfile"
}

installed() { "$PYTHON" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('$1.__main__') is None)" 2>/dev/null; }

start() {
  stack_env
  mkdir -p "$RUN_DIR" "$LOG_DIR"
  # The demo's replay clock, when there is one: every service reads the same.
  if [[ -f "$STACK_DIR/demo.env" ]]; then set -a; . "$STACK_DIR/demo.env"; set +a; fi
  local entry name package port started=() secret
  # Who may call (docs/security.md): on this machine the services trust the development key of
  # `msp token`, made here on first use; a configured identity provider (AUTH_* set) wins.
  export MSP_KEY_DIR="${MSP_KEY_DIR:-$STACK_DIR/keys}"
  if [[ -z "${AUTH_JWKS_URL:-}${AUTH_PUBLIC_KEY_FILE:-}" ]]; then
    export AUTH_ENVIRONMENT="${AUTH_ENVIRONMENT:-development}" AUTH_PUBLIC_KEY_FILE="$MSP_KEY_DIR/jwks.json"
    "$PYTHON" -c "import sys; from platform_kit.auth import DevKey; DevKey.load_or_create(sys.argv[1])" "$MSP_KEY_DIR"
    log "sign in with a token: $REPO_ROOT/.venv/bin/msp token --role district (key in $MSP_KEY_DIR)"
  fi
  # The assessment's page reads the network through the assessment (docs/network.md).
  export SERVICES_LOG_URL="${SERVICES_LOG_URL:-http://127.0.0.1:8102}"
  for secret in IDENTITY_SECRET WEBHOOK_SECRET; do
    if [[ -n "${!secret:-}" ]]; then log "$secret: from the environment"
    else log "$secret: not set, the service's development default is used (never in production)"; fi
  done
  for entry in "${SERVICES[@]}"; do
    IFS=: read -r name package port <<<"$entry"
    if ! installed "$package"; then log "$name: not built yet, skipped"; continue; fi
    if pid_of "$name" >/dev/null; then log "$name: already running"; continue; fi
    HTTP_PORT="$port" nohup env $(sasl_env "$name") "$PYTHON" -m "$package" >>"$LOG_DIR/$name.log" 2>&1 &
    echo $! >"$RUN_DIR/$name.pid"
    echo "${HTTP_HOST:-127.0.0.1}" >"$RUN_DIR/$name.host"
    started+=("$name:$port")
    log "$name: starting on http://127.0.0.1:$port"
  done
  for entry in "${started[@]}"; do
    IFS=: read -r name port <<<"$entry"
    wait_ready "$name" "$port"
  done
}

wait_ready() {
  local name=$1 port=$2 deadline=$((SECONDS + 90))
  until curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1; do
    if ! pid_of "$name" >/dev/null; then log "$name: exited; last lines of $LOG_DIR/$name.log:"; tail -n 30 "$LOG_DIR/$name.log" >&2; exit 1; fi
    if ((SECONDS > deadline)); then log "$name: not ready after 90 s (see $LOG_DIR/$name.log)"; exit 1; fi
    sleep 0.5
  done
  log "$name: ready"
}

stop() {
  local entry name pid
  for entry in "${SERVICES[@]}"; do
    name=${entry%%:*}
    if pid=$(pid_of "$name"); then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -KILL "$pid" 2>/dev/null || true
      log "$name: stopped"
    fi
    rm -f "$RUN_DIR/$name.pid" "$RUN_DIR/$name.host"
  done
}

status() {
  local entry name package port pid host
  for entry in "${SERVICES[@]}"; do
    IFS=: read -r name package port <<<"$entry"
    if pid=$(pid_of "$name"); then
      host=$(cat "$RUN_DIR/$name.host" 2>/dev/null || echo 127.0.0.1)
      echo "$name running http://127.0.0.1:$port (listening on $host:$port, pid $pid)"
    else
      echo "$name stopped"
    fi
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
