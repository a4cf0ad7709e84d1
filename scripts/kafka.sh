#!/usr/bin/env bash
# Makes sure Apache Kafka answers on loopback for the tests, the way
# scripts/clickhouse.sh does for ClickHouse. Kafka itself (the
# org.apache.kafka:kafka_2.13 server and its runtime dependencies, version
# pinned in scripts/kafka/pom.xml) is resolved from Maven Central with Maven
# into a cache directory; the brokers run on Java 17 in KRaft mode.
#
# Nodes (every node is a combined broker and controller):
#   single     127.0.0.1:19092 (controller 19093), replication factor 1
#   c1 c2 c3   127.0.0.1:29092-29094 (controllers 29192-29194), one
#              three-node cluster: replication factor 3, min.insync.replicas 2
#   spare      127.0.0.1:19094 (controller 19095), a private single node that
#              the broker-outage drill stops and starts; not started by default
#
# Usage:
#   kafka.sh                 fetch Kafka when missing; start single and c1-c3
#                            unless they already answer; wait until ready
#   kafka.sh start NODE...   the same for the named nodes
#   kafka.sh stop NODE...    SIGTERM, wait for the process to end
#   kafka.sh kill NODE...    SIGKILL (the drills' crash)
#   kafka.sh status          one line per node
#
# All ports lie below Linux's ephemeral range (32768-60999), where an
# outgoing connection could hold them at the moment a node starts.
#
# Every node accepts records up to 32 MiB (message.max.bytes,
# replica.fetch.max.bytes): a 25 MiB webhook body plus its key and headers.
set -euo pipefail

KAFKA_VERSION=4.1.1 # keep equal to kafka.version in scripts/kafka/pom.xml
SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
CACHE_DIR=${DORAFLOW_KAFKA_DIR:-$HOME/.cache/doraflow-kafka}
LIBS="$CACHE_DIR/kafka-$KAFKA_VERSION/libs"
# Logs, data and pid files: per machine boot, not worth caching.
RUN_DIR=${DORAFLOW_KAFKA_RUN:-/tmp/doraflow-kafka}
WAIT_SECONDS=${KAFKA_WAIT_SECONDS:-120}
JAVA=${JAVA:-java}
HEAP=${KAFKA_HEAP:-512m}
MAX_RECORD_BYTES=33554432 # 32 MiB; broker.MaxRecordBytes on the Go side

log() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

# node NAME sets the node's id, ports, quorum and replication settings.
node() {
    GROUP=$1
    case "$1" in
    single) ID=1 PORT=19092 CPORT=19093 VOTERS="1@127.0.0.1:19093" RF=1 MIN_ISR=1 ;;
    spare) ID=1 PORT=19094 CPORT=19095 VOTERS="1@127.0.0.1:19095" RF=1 MIN_ISR=1 ;;
    c1 | c2 | c3)
        GROUP=cluster
        ID=${1#c}
        PORT=$((29091 + ID))
        CPORT=$((29191 + ID))
        VOTERS="1@127.0.0.1:29192,2@127.0.0.1:29193,3@127.0.0.1:29194"
        RF=3 MIN_ISR=2
        ;;
    *) die "unknown node '$1' (single, c1, c2, c3, spare)" ;;
    esac
    DIR="$RUN_DIR/$1"
}

fetch() {
    if [ -f "$LIBS/kafka_2.13-$KAFKA_VERSION.jar" ] && [ -f "$LIBS/.complete" ]; then
        return
    fi
    command -v mvn >/dev/null 2>&1 || die "mvn is missing (Debian: apt-get install maven)"
    log "resolving org.apache.kafka:kafka_2.13:$KAFKA_VERSION and its runtime dependencies from Maven Central"
    rm -rf "$LIBS"
    mkdir -p "$LIBS"
    mvn -B -q -Dstyle.color=never -f "$SCRIPT_DIR/kafka/pom.xml" \
        -Dmaven.repo.local="$CACHE_DIR/m2" \
        dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$LIBS" ||
        die "Maven could not resolve Kafka $KAFKA_VERSION (scripts/kafka/pom.xml); see the output above"
    [ -f "$LIBS/kafka_2.13-$KAFKA_VERSION.jar" ] || die "Maven finished but $LIBS has no kafka_2.13-$KAFKA_VERSION.jar"
    touch "$LIBS/.complete"
}

pid_of() {
    local pid
    [ -f "$DIR/pid" ] || return 1
    pid=$(cat "$DIR/pid")
    # The pid must still be this node's JVM, not a recycled number.
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$DIR/server.properties" || return 1
    echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

write_config() {
    mkdir -p "$DIR/data"
    cat >"$DIR/server.properties" <<EOF
# Written by scripts/kafka.sh for node $1; edits are overwritten.
process.roles=broker,controller
node.id=$ID
controller.quorum.voters=$VOTERS
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$DIR/data
num.partitions=6
default.replication.factor=$RF
min.insync.replicas=$MIN_ISR
offsets.topic.replication.factor=$RF
transaction.state.log.replication.factor=$RF
transaction.state.log.min.isr=$MIN_ISR
unclean.leader.election.enable=false
group.initial.rebalance.delay.ms=0
message.max.bytes=$MAX_RECORD_BYTES
replica.fetch.max.bytes=$MAX_RECORD_BYTES
replica.fetch.response.max.bytes=$((MAX_RECORD_BYTES * 2))
# Fence a killed broker quickly so the failover drill stays short.
broker.session.timeout.ms=6000
broker.heartbeat.interval.ms=1000
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
log.segment.bytes=67108864
log.retention.hours=24
EOF
    cat >"$DIR/log4j2.properties" <<EOF
status=warn
appender.file.type=File
appender.file.name=file
appender.file.fileName=$DIR/server.log
appender.file.layout.type=PatternLayout
appender.file.layout.pattern=[%d] %p %m (%c)%n
rootLogger.level=INFO
rootLogger.appenderRef.file.ref=file
logger.kafka.name=kafka
logger.kafka.level=INFO
logger.request.name=kafka.request.logger
logger.request.level=WARN
logger.state.name=state.change.logger
logger.state.level=WARN
EOF
}

format() {
    [ -f "$DIR/data/meta.properties" ] && return
    local idfile="$RUN_DIR/$GROUP.cluster-id"
    if [ ! -s "$idfile" ]; then
        mkdir -p "$RUN_DIR"
        "$JAVA" -cp "$LIBS/*" kafka.tools.StorageTool random-uuid >"$idfile.tmp" 2>"$DIR/format.log" ||
            die "kafka.tools.StorageTool random-uuid failed; see $DIR/format.log"
        mv "$idfile.tmp" "$idfile"
    fi
    "$JAVA" -Dlog4j2.configurationFile="$DIR/log4j2.properties" -cp "$LIBS/*" kafka.tools.StorageTool \
        format -t "$(cat "$idfile")" -c "$DIR/server.properties" >"$DIR/format.log" 2>&1 ||
        die "formatting $DIR/data failed; see $DIR/format.log"
}

launch() {
    node "$1"
    if pid_of >/dev/null; then
        return
    fi
    if port_open "$PORT"; then
        die "port $PORT answers but not node $1 started by this script; stop whatever listens there"
    fi
    write_config "$1"
    format
    [ -f "$DIR/server.log" ] && mv "$DIR/server.log" "$DIR/server.log.prev"
    log "starting node $1 on 127.0.0.1:$PORT"
    # setsid and no inherited descriptors: a test that starts a node must
    # not wait for it, and the node outlives the test.
    setsid "$JAVA" -Xms128m -Xmx"$HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:TieredStopAtLevel=1 \
        -Djava.awt.headless=true -Dlog4j2.configurationFile="$DIR/log4j2.properties" \
        -cp "$LIBS/*" kafka.Kafka "$DIR/server.properties" \
        </dev/null >"$DIR/stdout.log" 2>&1 &
    echo $! >"$DIR/pid"
}

await() {
    node "$1"
    local deadline=$((SECONDS + WAIT_SECONDS))
    until port_open "$PORT" && grep -q "Kafka Server started" "$DIR/server.log" 2>/dev/null; do
        if ! pid_of >/dev/null; then
            tail -n 20 "$DIR/stdout.log" "$DIR/server.log" >&2 2>/dev/null || true
            die "node $1 exited while starting; see $DIR/server.log and $DIR/stdout.log"
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            tail -n 20 "$DIR/server.log" >&2 2>/dev/null || true
            die "node $1 did not start on 127.0.0.1:$PORT within ${WAIT_SECONDS}s; see $DIR/server.log"
        fi
        sleep 0.5
    done
    echo "Kafka $KAFKA_VERSION node $1 on 127.0.0.1:$PORT"
}

stop() {
    local sig=$1 name=$2 pid
    node "$name"
    pid=$(pid_of) || return 0
    kill "-$sig" "$pid"
    local deadline=$((SECONDS + 60))
    while kill -0 "$pid" 2>/dev/null; do
        [ "$SECONDS" -lt "$deadline" ] || die "node $name (pid $pid) still runs 60s after SIG$sig"
        sleep 0.2
    done
    rm -f "$DIR/pid"
}

cmd=${1:-up}
[ $# -gt 0 ] && shift
case "$cmd" in
up | start)
    [ "$cmd" = up ] && set -- single c1 c2 c3
    [ $# -gt 0 ] || die "start: name at least one node"
    command -v "$JAVA" >/dev/null 2>&1 || die "java is missing (Debian: apt-get install openjdk-17-jre-headless)"
    fetch
    # Start every node before waiting: a cluster node is ready only once a
    # quorum of its controllers runs.
    for n in "$@"; do launch "$n"; done
    for n in "$@"; do await "$n"; done
    ;;
stop) for n in "$@"; do stop TERM "$n"; done ;;
kill) for n in "$@"; do stop KILL "$n"; done ;;
status)
    for n in single c1 c2 c3 spare; do
        node "$n"
        if pid=$(pid_of); then echo "$n pid $pid 127.0.0.1:$PORT"; else echo "$n down"; fi
    done
    ;;
*) die "unknown command '$cmd' (start, stop, kill, status)" ;;
esac
