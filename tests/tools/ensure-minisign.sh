#!/bin/sh
# Make Debian's minisign available for the record-seal tests (tests/room_server/
# test_record_seal.py): install it with apt-get when missing and running as root.
# Prints the reason and exits 1 when it cannot (not root, no apt-get, apt failed).
set -u
if command -v minisign >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "minisign is not installed and the tests are not running as root (apt-get install -y minisign)"
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "minisign is not installed and there is no apt-get to install it with"
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends minisign >/dev/null 2>&1; then
    apt-get update >/dev/null 2>&1
    if ! apt-get install -y --no-install-recommends minisign >/dev/null 2>&1; then
        echo "apt-get install minisign failed"
        exit 1
    fi
fi
command -v minisign >/dev/null 2>&1 || { echo "minisign is still not on PATH after apt-get"; exit 1; }
