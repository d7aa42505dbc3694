#!/usr/bin/env bash
# kafka-local.sh - a single-node Apache Kafka broker (KRaft, combined broker+controller) on
# 127.0.0.1, run from the official release artifacts on Maven Central with the machine's Java 17.
# No Docker needed. Needs Java 17+, python3 and, the first time only, Maven.
#
#   kafka-local.sh fetch    resolve the broker classpath with Maven into the cache folder
#   kafka-local.sh start    start the broker in the background and wait until it answers;
#                           a no-op when it is already running. The last stdout line is the
#                           bootstrap address (127.0.0.1:<port>).
#   kafka-local.sh stop     SIGTERM the broker, SIGKILL after KAFKA_STOP_TIMEOUT seconds
#   kafka-local.sh status   exit 0 and print the bootstrap address when running
#
# Environment (all optional):
#   KAFKA_VERSION          Apache Kafka version (default 4.1.1; 3.9.x selects the reload4j profile)
#   KAFKA_CACHE_DIR        resolved jars (default: <repo>/.local/kafka-dist)
#   KAFKA_STATE_DIR        config, data, logs and pid file (default: <repo>/.local/kafka)
#   KAFKA_PORT             client port or "auto" (default 9092)
#   KAFKA_CONTROLLER_PORT  controller port or "auto" (default 9093)
#   KAFKA_FRESH            1 = wipe the data folder before starting (default 0: data persists)
#   KAFKA_HEAP_OPTS        default "-Xms256m -Xmx1g"
#   KAFKA_JVM_PERFORMANCE_OPTS  default: the G1 settings of Kafka's kafka-run-class.sh
#   KAFKA_OPTS             extra JVM arguments
#   KAFKA_EXTRA_PROPERTIES extra server.properties lines (newline separated)
#   KAFKA_START_TIMEOUT    seconds (default 120); KAFKA_STOP_TIMEOUT seconds (default 30)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../../.." && pwd)"
KAFKA_VERSION="${KAFKA_VERSION:-4.1.1}"
KAFKA_POM="$SCRIPT_DIR/pom.xml"
KAFKA_CACHE_DIR="${KAFKA_CACHE_DIR:-$REPO_ROOT/.local/kafka-dist}"
KAFKA_STATE_DIR="${KAFKA_STATE_DIR:-$REPO_ROOT/.local/kafka}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-120}"
KAFKA_STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"
LIB_DIR="$KAFKA_CACHE_DIR/kafka_2.13-$KAFKA_VERSION/libs"
CONF_DIR="$KAFKA_STATE_DIR/config"
DATA_DIR="$KAFKA_STATE_DIR/data"
LOG_DIR="$KAFKA_STATE_DIR/logs"
PID_FILE="$KAFKA_STATE_DIR/kafka.pid"
BOOTSTRAP_FILE="$KAFKA_STATE_DIR/bootstrap"
MAJOR="${KAFKA_VERSION%%.*}"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"

log() { echo "kafka-local: $*" >&2; }
die() { log "error: $*"; exit 1; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

port_is_free() {
  python3 - "$1" <<'PY'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
PY
}

new_cluster_id() {  # the format of Kafka's Uuid.randomUuid(): 22-char URL-safe base64, no leading '-'
  python3 -c '
import base64, uuid
while True:
    s = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    if not s.startswith("-"):
        print(s)
        break'
}

check_java() {
  command -v "$JAVA" >/dev/null 2>&1 || die "java not found: install Java 17+ or set JAVA_HOME"
  local spec
  spec="$("$JAVA" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2; exit}')"
  [ -n "$spec" ] || die "cannot run '$JAVA'"
  [ "${spec%%.*}" -ge 17 ] || die "the Kafka broker needs Java 17+ (found $spec)"
}

fetch() {
  [ -f "$LIB_DIR/.complete" ] && return 0
  command -v mvn >/dev/null 2>&1 || die "mvn not found: Maven is needed once to fetch the Kafka jars"
  local profile=kafka4
  [ "$MAJOR" -ge 4 ] || profile=kafka3
  rm -rf "$LIB_DIR"
  mkdir -p "$LIB_DIR"
  log "fetching org.apache.kafka:kafka_2.13:$KAFKA_VERSION from Maven Central (profile $profile)"
  mvn -B -ntp -q -f "$KAFKA_POM" -P "$profile" -Dkafka.version="$KAFKA_VERSION" \
      dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$LIB_DIR" >&2
  [ -f "$LIB_DIR/kafka_2.13-$KAFKA_VERSION.jar" ] || die "kafka_2.13-$KAFKA_VERSION.jar missing after Maven"
  local bindings
  bindings="$(find "$LIB_DIR" -maxdepth 1 -name '*.jar' | grep -c -E '/(log4j-slf4j2?-impl|slf4j-reload4j|slf4j-log4j12|logback-classic)-[0-9]' || true)"
  [ "$bindings" = 1 ] || die "expected exactly one SLF4J binding in $LIB_DIR, found $bindings"
  if find "$LIB_DIR" -maxdepth 1 -name 'slf4j-api-2.*.jar' | grep -q . \
     && ! find "$LIB_DIR" -maxdepth 1 -name 'log4j-slf4j2-impl-*.jar' | grep -q .; then
    die "slf4j-api 2.x resolved: the pom must use log4j-slf4j2-impl instead of log4j-slf4j-impl"
  fi
  touch "$LIB_DIR/.complete"
  log "jars in $LIB_DIR"
}

write_config() {
  local port="$1" cport="$2"
  cat >"$CONF_DIR/server.properties" <<EOF
# single node, combined broker + controller, static quorum (the same file works for 3.9.x and 4.x)
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA_DIR
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
num.network.threads=2
num.io.threads=4
background.threads=4
num.recovery.threads.per.data.dir=1
log.cleaner.dedupe.buffer.size=16777216
EOF
  if [ "$MAJOR" -ge 4 ]; then
    cat >>"$CONF_DIR/server.properties" <<'EOF'
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
EOF
  fi
  if [ -n "${KAFKA_EXTRA_PROPERTIES:-}" ]; then
    printf '%s\n' "$KAFKA_EXTRA_PROPERTIES" >>"$CONF_DIR/server.properties"
  fi

  if [ "$MAJOR" -ge 4 ]; then
    cat >"$CONF_DIR/log4j2.properties" <<'EOF'
status = warn
name = kafka-local
property.logdir = ${sys:kafka.logs.dir:-.}
property.pattern = [%d] %p %m (%c)%n
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = ${logdir}/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = ${pattern}
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = ${pattern}
appender.err.filter.threshold.type = ThresholdFilter
appender.err.filter.threshold.level = warn
rootLogger.level = info
rootLogger.appenderRef.file.ref = FILE
rootLogger.appenderRef.err.ref = STDERR
logger.request.name = kafka.request.logger
logger.request.level = warn
EOF
  else
    cat >"$CONF_DIR/log4j.properties" <<'EOF'
log4j.rootLogger=INFO, file, stderr
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=${kafka.logs.dir}/server.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.Threshold=WARN
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
EOF
  fi
}

is_running() { [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; }

stop() {
  if ! is_running; then
    rm -f "$PID_FILE"
    log "not running"
    return 0
  fi
  local pid i=0
  pid="$(cat "$PID_FILE")"
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && [ "$i" -lt $((KAFKA_STOP_TIMEOUT * 2)) ]; do
    sleep 0.5
    i=$((i + 1))
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "broker $pid did not stop in ${KAFKA_STOP_TIMEOUT}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PID_FILE"
  log "stopped (pid $pid)"
}

wait_ready() {
  local port="$1" pid deadline
  pid="$(cat "$PID_FILE")"
  deadline=$((SECONDS + KAFKA_START_TIMEOUT))
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 40 "$LOG_DIR/kafkaServer.out" >&2 2>/dev/null || true
      rm -f "$PID_FILE"
      die "the broker exited during start-up (log: $LOG_DIR/server.log)"
    fi
    if grep -q "Kafka Server started" "$LOG_DIR/server.log" 2>/dev/null \
       && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      return 0
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 40 "$LOG_DIR/server.log" >&2 2>/dev/null || true
      stop
      die "the broker was not ready after ${KAFKA_START_TIMEOUT}s (log: $LOG_DIR/server.log)"
    fi
    sleep 0.5
  done
}

start() {
  if is_running; then
    log "already running (pid $(cat "$PID_FILE"), log: $LOG_DIR/server.log)"
    cat "$BOOTSTRAP_FILE"
    return 0
  fi
  check_java
  fetch
  local port cport cluster_id t0=$SECONDS
  port="${KAFKA_PORT:-9092}"
  [ "$port" = auto ] && port="$(free_port)"
  cport="${KAFKA_CONTROLLER_PORT:-9093}"
  [ "$cport" = auto ] && cport="$(free_port)"
  [ "$port" != "$cport" ] || die "the client and controller ports must differ (both $port)"
  port_is_free "$port" || die "port $port on 127.0.0.1 is already in use by another process; free it or set KAFKA_PORT (and JULES_KAFKA_BOOTSTRAP) to another port"
  port_is_free "$cport" || die "controller port $cport on 127.0.0.1 is already in use by another process; free it or set KAFKA_CONTROLLER_PORT to another port"

  [ "${KAFKA_FRESH:-0}" = 1 ] && rm -rf "$DATA_DIR"
  rm -rf "$CONF_DIR"
  mkdir -p "$DATA_DIR" "$CONF_DIR" "$LOG_DIR"
  rm -f "$LOG_DIR/server.log"
  write_config "$port" "$cport"

  local -a log_opts heap perf opts
  if [ "$MAJOR" -ge 4 ]; then
    log_opts=("-Dlog4j2.configurationFile=$CONF_DIR/log4j2.properties")
  else
    log_opts=("-Dlog4j.configuration=file:$CONF_DIR/log4j.properties")
  fi
  read -r -a heap <<<"${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}"
  read -r -a perf <<<"${KAFKA_JVM_PERFORMANCE_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true}"
  read -r -a opts <<<"${KAFKA_OPTS:-}"

  if [ ! -f "$DATA_DIR/meta.properties" ]; then
    cluster_id="$(new_cluster_id)"
    # = bin/kafka-storage.sh format -t <id> -c <file>; the static quorum needs no --standalone
    if ! "$JAVA" -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Djava.awt.headless=true \
          "-Dkafka.logs.dir=$LOG_DIR" "${log_opts[@]}" -cp "$LIB_DIR/*" \
          kafka.tools.StorageTool format -t "$cluster_id" -c "$CONF_DIR/server.properties" \
          >"$LOG_DIR/storage-format.out" 2>&1; then
      cat "$LOG_DIR/storage-format.out" >&2
      die "formatting the storage folder $DATA_DIR failed"
    fi
  fi

  # = bin/kafka-server-start.sh <file> (via kafka-run-class.sh), minus JMX and GC logging
  nohup "$JAVA" "${heap[@]}" "${perf[@]}" "-Dkafka.logs.dir=$LOG_DIR" "${log_opts[@]}" "${opts[@]}" \
      -cp "$LIB_DIR/*" kafka.Kafka "$CONF_DIR/server.properties" \
      >"$LOG_DIR/kafkaServer.out" 2>&1 </dev/null &
  echo $! >"$PID_FILE"
  wait_ready "$port"
  echo "127.0.0.1:$port" >"$BOOTSTRAP_FILE"
  log "Apache Kafka $KAFKA_VERSION ready on 127.0.0.1:$port in $((SECONDS - t0))s (pid $(cat "$PID_FILE"))"
  log "log: $LOG_DIR/server.log"
  echo "127.0.0.1:$port"
}

status() {
  if is_running; then
    echo "running pid $(cat "$PID_FILE") bootstrap $(cat "$BOOTSTRAP_FILE" 2>/dev/null || echo '?') log $LOG_DIR/server.log"
  else
    echo "not running"
    return 1
  fi
}

case "${1:-}" in
  fetch)  check_java; fetch ;;
  start)  start ;;
  stop)   stop ;;
  status) status ;;
  *)      echo "usage: $0 fetch|start|stop|status" >&2; exit 2 ;;
esac
