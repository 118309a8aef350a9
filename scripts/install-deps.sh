#!/bin/sh
# Install the Debian packages uslab needs to build and test, if missing.
#
# Idempotent: checks each package with dpkg-query first and does nothing
# when all are present.  As root it runs apt-get; otherwise it prints the
# exact command to run and exits non-zero.
#
# Usage: scripts/install-deps.sh [extra-package ...]
set -eu

PKGS="gcc make libc6-dev liburcu-dev check libnuma-dev numactl pkg-config"
# valgrind: its <valgrind/memcheck.h> client requests (lib/sanitize.c).
PKGS="$PKGS python3-kconfiglib libncurses-dev valgrind"
PKGS="$PKGS $*"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "uslab: missing Debian packages:$missing" >&2
	echo "uslab: run as root:  apt-get update && apt-get install -y$missing" >&2
	exit 1
fi

echo "uslab: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# Update the package lists only when the install fails on stale ones.
if ! apt-get install -y --no-install-recommends $missing >/dev/null 2>&1; then
	apt-get update -qq
	apt-get install -y -q --no-install-recommends $missing
fi
