#!/bin/sh
# Install the Debian packages bench/objcache needs to build its peers
# (jemalloc, tcmalloc, mimalloc, GLib's GSlice, DPDK's rte_mempool) and
# bench/malloc needs to run its (the malloc libraries themselves, which
# it preloads, and the programs it runs on them: python3, sqlite3,
# memcached and libmemcached-tools' memcaslap), if
# missing, on top of what uslab itself needs: scripts/install-deps.sh
# does the checking and installing (idempotent; as non-root it prints
# the command to run and exits non-zero).
#
# Usage: scripts/install-bench-deps.sh [extra-package ...]
set -eu

exec "$(dirname "$0")/install-deps.sh" \
	libjemalloc-dev libgoogle-perftools-dev libmimalloc-dev \
	libglib2.0-dev libdpdk-dev \
	libjemalloc2 libtcmalloc-minimal4 libmimalloc2.0 python3 sqlite3 \
	memcached libmemcached-tools "$@"
