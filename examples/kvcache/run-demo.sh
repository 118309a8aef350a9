#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The kvcache demo (what `make run` calls):
#
#   examples/kvcache/run-demo.sh BUILD_DIR
#
# Starts kvcache on 127.0.0.1 on a free port, waits until it answers
# "version", drives it for a few seconds with memcaslap (Debian's
# libmemcached-tools: 2 threads, 16 connections, 90% gets / 10% sets, 1%
# of gets verified), prints memcaslap's summary, the server's own
# statistics, and its caches as uslab-slabtop reads them from outside the
# process, then stops the server with SIGTERM and checks that it exited 0.
set -u

BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# make -C "$ROOT" below reads a relative O= from there.
mkdir -p "$BUILD" && BUILD=$(cd "$BUILD" && pwd)
SERVER=$BUILD/examples/kvcache/kvcache
SLABTOP=$BUILD/tools/slabtop/uslab-slabtop
PY=/usr/bin/python3

"$ROOT/scripts/install-deps.sh" libmemcached-tools || exit 1
for bin in "$SERVER" "$SLABTOP"; do
	if [ ! -x "$bin" ]; then
		make -C "$ROOT" --no-print-directory O="$BUILD" "$bin" || exit 1
	fi
done

port=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$SERVER" -p "$port" -m 256 &
pid=$!
# Interrupted (or a closed pipe): the server must not outlive the demo.
trap 'kill -KILL $pid 2>/dev/null' EXIT INT TERM PIPE

# Ask "version" until it answers (a few seconds at most).
ready=0
for _ in $(seq 100); do
	if $PY - "$port" <<'EOF' 2>/dev/null; then
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
s.sendall(b"version\r\n")
sys.exit(0 if s.recv(100).startswith(b"VERSION ") else 1)
EOF
		ready=1
		break
	fi
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
if [ "$ready" -ne 1 ]; then
	echo "kvcache did not start on port $port" >&2
	kill -KILL "$pid" 2>/dev/null
	exit 1
fi
echo "== kvcache (pid $pid) listening on 127.0.0.1:$port, $(nproc) CPUs =="
echo
echo "== memcaslap -s 127.0.0.1:$port -T 2 -c 16 -t 3s --verify=0.01 =="
memcaslap -s "127.0.0.1:$port" -T 2 -c 16 -t 3s --verify=0.01 2>&1 |
	sed -n '/^cmd_get/,$p'
echo
echo "== server statistics (memcstat) =="
memcstat --servers="127.0.0.1:$port" 2>&1 |
	grep -E '^	(version|threads|curr_connections|total_connections|cmd_get|cmd_set|get_hits|get_misses|curr_items|bytes|limit_maxbytes|evictions):'
echo
echo "== uslab's figures (stats uslab) =="
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'stats uslab\r\nquit\r\n' >&3
cat <&3
exec 3<&-
echo
echo "== uslab-slabtop -o -p $pid (caches holding objects) =="
"$SLABTOP" -o -p "$pid" | awk 'NR <= 8 || $1 > 0'
echo
kill -TERM "$pid"
wait "$pid"
rc=$?
trap - EXIT INT TERM PIPE
if [ "$rc" -ne 0 ]; then
	echo "kvcache exited with status $rc after SIGTERM" >&2
	exit 1
fi
echo "kvcache stopped by SIGTERM, exit status 0"
