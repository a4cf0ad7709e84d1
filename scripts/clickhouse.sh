#!/usr/bin/env bash
# Makes sure a ClickHouse server answers on 127.0.0.1:9000 (native protocol).
# Idempotent; meant for a fresh Debian 12 machine without systemd, run as
# root. Installs Debian's clickhouse-server/clickhouse-client when missing and
# starts the server as the clickhouse user when nothing answers.
set -euo pipefail

# The defaults match Debian's package; the variables exist for testing the
# script against a second server.
HOST=127.0.0.1
PORT=${CLICKHOUSE_PORT:-9000}
CONFIG=${CLICKHOUSE_CONFIG:-/etc/clickhouse-server/config.xml}
DATA_DIR=${CLICKHOUSE_DATA_DIR:-/var/lib/clickhouse}
LOG_DIR=${CLICKHOUSE_LOG_DIR:-/var/log/clickhouse-server}
WAIT_SECONDS=${CLICKHOUSE_WAIT_SECONDS:-60}

log() { printf 'clickhouse.sh: %s\n' "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

need_root() {
    if [ "$(id -u)" -ne 0 ]; then
        die "$1 needs root; run: sudo bash $0"
    fi
}

answers() {
    command -v clickhouse-client >/dev/null 2>&1 &&
        clickhouse-client --host "$HOST" --port "$PORT" -q 'SELECT 1' >/dev/null 2>&1
}

if ! command -v clickhouse-server >/dev/null 2>&1 || ! command -v clickhouse-client >/dev/null 2>&1; then
    need_root "installing clickhouse-server"
    log "installing clickhouse-server and clickhouse-client"
    apt-get update || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y clickhouse-server clickhouse-client ||
        die "apt-get install clickhouse-server clickhouse-client failed"
fi

if ! answers; then
    if pgrep -f -- "clickhouse-server --config-file=$CONFIG" >/dev/null 2>&1; then
        log "a clickhouse-server process exists but does not answer yet; waiting for it"
    else
        need_root "starting clickhouse-server"
        [ -f "$CONFIG" ] || die "$CONFIG is missing; reinstall clickhouse-server"
        id clickhouse >/dev/null 2>&1 || die "user clickhouse does not exist; reinstall clickhouse-server"
        mkdir -p "$DATA_DIR" "$LOG_DIR"
        chown -R clickhouse:clickhouse "$DATA_DIR" "$LOG_DIR"
        log "starting clickhouse-server"
        su -s /bin/sh clickhouse -c "clickhouse-server --config-file=$CONFIG --daemon" ||
            die "clickhouse-server did not start; see $LOG_DIR/clickhouse-server.err.log"
    fi
    deadline=$((SECONDS + WAIT_SECONDS))
    until answers; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            if [ -r "$LOG_DIR/clickhouse-server.err.log" ]; then
                log "last lines of $LOG_DIR/clickhouse-server.err.log:"
                tail -n 20 "$LOG_DIR/clickhouse-server.err.log" >&2 || true
            fi
            die "no ClickHouse answer on $HOST:$PORT after ${WAIT_SECONDS}s"
        fi
        sleep 1
    done
fi

version=$(clickhouse-client --host "$HOST" --port "$PORT" -q 'SELECT version()') ||
    die "cannot query the server version on $HOST:$PORT"
echo "ClickHouse $version on $HOST:$PORT"
