#!/bin/sh
# Install the Debian packages bench/objcache needs to build its peers
# (jemalloc, tcmalloc, mimalloc, GLib's GSlice, DPDK's rte_mempool), if
# missing, on top of what uslab itself needs: scripts/install-deps.sh
# does the checking and installing (idempotent; as non-root it prints
# the command to run and exits non-zero).
#
# Usage: scripts/install-bench-deps.sh [extra-package ...]
set -eu

exec "$(dirname "$0")/install-deps.sh" \
	libjemalloc-dev libgoogle-perftools-dev libmimalloc-dev \
	libglib2.0-dev libdpdk-dev "$@"
