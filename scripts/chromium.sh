#!/usr/bin/env bash
# Makes sure Debian's chromium is installed, for the check that the HTML
# quarterly report renders its charts in a real browser. Idempotent; meant
# for a fresh Debian 12 machine, run as root.
set -euo pipefail

log() { printf 'chromium.sh: %s\n' "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then
        die "installing chromium needs root; run: sudo bash $0"
    fi
    log "installing chromium"
    apt-get update || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y chromium ||
        die "apt-get install chromium failed"
fi

version=$(chromium --version 2>/dev/null) || die "chromium is installed but does not run"
echo "$version"
