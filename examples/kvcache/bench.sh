#!/bin/bash
# SPDX-License-Identifier: MIT
#
# kvcache against Debian's memcached, in one run:
#
#   examples/kvcache/bench.sh BUILD_DIR
#
# Each round starts each server fresh, with the same worker threads (-t,
# default one per CPU) and memory limit (-m 1024), on a free loopback
# port, in alternating order, and:
#  1. loads two fixed data sets with kvload.py (100,000 items of 64-byte
#     keys and 1024-byte values, memcaslap's default sizes; then 300,000
#     items of 30-byte keys and 100-byte values) and reads VmRSS from
#     /proc after each;
#  2. runs memcaslap for a fixed time (2 threads, 16 connections, 90% get,
#     10% set) and takes its ops/s, and the server's CPU time per
#     operation: utime + stime from /proc/PID/stat over the run, divided
#     by memcaslap's operation count.  The client shares the machine's
#     CPUs, so ops/s depends on how the two split them; CPU per op is
#     what the server itself spends.
# Then prints every round, the medians, and the ratios kvcache/memcached.
# Numbers, not a test.  Environment: ROUNDS (3), SECS (5), THREADS
# (nproc).
set -u

BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# make -C "$ROOT" below reads a relative O= from there.
mkdir -p "$BUILD" && BUILD=$(cd "$BUILD" && pwd)
KV=$BUILD/examples/kvcache/kvcache
LOAD=$ROOT/examples/kvcache/kvload.py
PY=/usr/bin/python3
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-5}
THREADS=${THREADS:-$(nproc)}
MEM=1024

"$ROOT/scripts/install-deps.sh" memcached libmemcached-tools || exit 1
if [ ! -x "$KV" ]; then
	make -C "$ROOT" --no-print-directory O="$BUILD" "$KV" || exit 1
fi
MC=$(command -v memcached || echo /usr/bin/memcached)
MC_USER=()
[ "$(id -u)" -eq 0 ] && MC_USER=(-u "$(id -un memcache 2>/dev/null || echo root)")
# Debian's package starts a memcached service where it can; ours are our own.

pid=
cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	pid=
}
trap cleanup EXIT INT TERM

free_port() {
	$PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_ready() {
	for _ in $(seq 100); do
		$PY - "$1" <<'EOF' 2>/dev/null && return 0
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
s.sendall(b"version\r\n")
sys.exit(0 if s.recv(100).startswith(b"VERSION ") else 1)
EOF
		sleep 0.1
	done
	return 1
}

rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# utime + stime of process $1, in clock ticks (fields 14 and 15; the
# command name in field 2 may hold spaces, so count from its ')').
cpu_ticks() {
	sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}
TICKS=$(getconf CLK_TCK)

results=$(mktemp)
# One round for one server: "name rss_large rss_small ops cpu_ns_per_op".
run_one() {
	local name=$1 port rss1 rss2 ops out t0 t1 nops cpu
	port=$(free_port)
	if [ "$name" = kvcache ]; then
		"$KV" -p "$port" -t "$THREADS" -m "$MEM" &
	else
		"$MC" "${MC_USER[@]}" -l 127.0.0.1 -p "$port" -t "$THREADS" \
			-m "$MEM" -U 0 &
	fi
	pid=$!
	if ! wait_ready "$port"; then
		echo "$name did not start" >&2
		cleanup
		return 1
	fi
	$PY "$LOAD" "$port" 100000 64 1024 || { cleanup; return 1; }
	sleep 0.5
	rss1=$(rss_kb "$pid")
	$PY "$LOAD" "$port" 300000 30 100 2 || { cleanup; return 1; }
	sleep 0.5
	rss2=$(rss_kb "$pid")
	t0=$(cpu_ticks "$pid")
	out=$(memcaslap -s "127.0.0.1:$port" -T 2 -c 16 -t "${SECS}s" 2>&1)
	t1=$(cpu_ticks "$pid")
	ops=$(sed -n 's/.*TPS: \([0-9]*\).*/\1/p' <<< "$out")
	nops=$(sed -n 's/.* Ops: \([0-9]*\) .*/\1/p' <<< "$out")
	cpu=$(awk -v d=$((t1 - t0)) -v n="${nops:-0}" -v hz="$TICKS" \
		'BEGIN { printf "%.0f", n ? d * 1e9 / hz / n : 0 }')
	kill -TERM "$pid"
	wait "$pid"
	pid=
	printf '%-9s %12s %12s %10s %12s\n' "$name" "$rss1" "$rss2" \
		"${ops:-0}" "$cpu"
	echo "$name $rss1 $rss2 ${ops:-0} $cpu" >> "$results"
}

echo "kvcache: $KV"
echo "memcached: $($MC -V 2>/dev/null)"
echo "both: -t $THREADS -m $MEM, on 127.0.0.1; $(nproc) CPUs"
echo "data set A: kvload.py PORT 100000 64 1024  (100k items, 64 B keys, 1 KiB values)"
echo "data set B: kvload.py PORT 300000 30 100 2 (300k more, 30 B keys, 100 B values)"
echo "load: memcaslap -s 127.0.0.1:PORT -T 2 -c 16 -t ${SECS}s"
echo
printf '%-9s %12s %12s %10s %12s\n' server "RSS A (kB)" "RSS A+B (kB)" \
	"ops/s" "CPU ns/op"
for r in $(seq "$ROUNDS"); do
	if [ $((r % 2)) -eq 1 ]; then
		run_one kvcache && run_one memcached || exit 1
	else
		run_one memcached && run_one kvcache || exit 1
	fi
done
echo
$PY - "$results" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
med = {}
for name in ("kvcache", "memcached"):
    cols = list(zip(*[[int(x) for x in r[1:]] for r in rows if r[0] == name]))
    med[name] = [statistics.median(c) for c in cols]
    print("median %-9s RSS A %7d kB  RSS A+B %7d kB  %8d ops/s  "
          "%6d CPU ns/op" % (name, *med[name]))
k, m = med["kvcache"], med["memcached"]
print("ratio kvcache/memcached: RSS A %.3f, RSS A+B %.3f, ops/s %.3f, "
      "CPU/op %.3f" % (k[0] / m[0], k[1] / m[1], k[2] / m[2] if m[2] else 0,
                       k[3] / m[3] if m[3] else 0))
EOF
rm -f "$results"
