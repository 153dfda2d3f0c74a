#!/bin/sh
# ensure-command.sh COMMAND PACKAGE: make a Debian package's command available to the tests
# that need it (minisign for the record seal, systemd-analyze for the unit files): install
# PACKAGE with apt-get when COMMAND is missing and the tests run as root. Prints the reason
# and exits 1 when it cannot (not root, no apt-get, apt failed). COMMAND may be a shared
# library's name instead (libpulse.so.0: Qt Multimedia links it), looked up with ldconfig.
set -u
if [ $# -ne 2 ]; then
    echo "usage: ensure-command.sh COMMAND PACKAGE"
    exit 2
fi
command=$1
package=$2
present() {
    case $command in
        *.so | *.so.*) ldconfig -p 2>/dev/null | grep -qF "	$command (" ;;
        *) command -v "$command" >/dev/null 2>&1 ;;
    esac
}
if present; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "$command is not installed and the tests are not running as root (apt-get install -y $package)"
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "$command is not installed and there is no apt-get to install it with"
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends "$package" >/dev/null 2>&1; then
    apt-get update >/dev/null 2>&1
    if ! apt-get install -y --no-install-recommends "$package" >/dev/null 2>&1; then
        echo "apt-get install $package failed"
        exit 1
    fi
fi
present || { echo "$command is still not there after apt-get install $package"; exit 1; }
