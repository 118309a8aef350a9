#!/bin/bash
# SPDX-License-Identifier: MIT
#
# kvcache against real memcached clients (Debian's libmemcached-tools):
#
#  - memccapable -a and -b: every ASCII and binary-protocol test it has,
#    one check each;
#  - memcaslap with data verification on (--verify), 16 connections over
#    2 threads for 3 s, then with 10-key multi-gets (--division) and
#    over the binary protocol (--binary): no
#    verification may fail, and the plain run may not miss;
#  - memcslap's set, get and mget tests, 4 threads;
#  - memcstat reads the statistics;
#  - the server exits 0 on SIGTERM.
#
# Starts its own server ($USLAB_BUILD/examples/kvcache/kvcache, default
# build/) on a free loopback port.  Ends with "NN%: Checks: N, Failures:
# F, Errors: E"; exits 1 on failure.
set -u

BUILD=${USLAB_BUILD:-build}
SERVER=$BUILD/examples/kvcache/kvcache
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3

# shellcheck source=tests/tally.sh
. "$ROOT/tests/tally.sh"

"$ROOT/scripts/install-deps.sh" libmemcached-tools ||
	error "libmemcached-tools cannot be installed"
[ -x "$SERVER" ] || error "$SERVER is not built"

port=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$SERVER" -p "$port" -t 2 -m 256 &
pid=$!
trap 'kill -KILL $pid 2>/dev/null' EXIT
for _ in $(seq 200); do
	if $PY - "$port" <<'EOF' 2>/dev/null; then
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
s.sendall(b"version\r\n")
sys.exit(0 if s.recv(100).startswith(b"VERSION ") else 1)
EOF
		break
	fi
	sleep 0.1
done
server=127.0.0.1:$port
out=$(mktemp)

# memccapable: one check per test, ASCII (-a) then binary (-b).
for proto in a b; do
	timeout 120 memccapable -h 127.0.0.1 -p "$port" -$proto -t 10 > "$out" 2>&1
	rc=$?
	n=0
	while read -r line; do
		name=$(echo "$line" | sed -E 's/ +\[(pass|FAIL)\].*//')
		case "$line" in
		*"[pass]"*) pass "memccapable: $name"; n=$((n + 1)) ;;
		*"[FAIL]"*) fail "memccapable: $name"; n=$((n + 1)) ;;
		esac
	done < <(tr -d '\r' < "$out" | sed 's/\(\[[a-zA-Z]*\]\)/\1\n/g' | grep -E '\[(pass|FAIL)\]')
	if [ "$rc" -eq 0 ] && [ "$n" -ge 20 ] && grep -q "All tests passed" "$out"; then
		pass "memccapable -$proto: all $n tests passed"
	else
		fail "memccapable -$proto: exit $rc, $n tests seen"
		cat "$out"
	fi
done

# memcaslap with verification.
field() {
	sed -n "s/^$1: *\([0-9]*\).*/\1/p" "$out" | head -1
}

timeout 60 memcaslap -s "$server" -T 2 -c 16 -t 3s --verify=0.05 > "$out" 2>&1
rc=$?
sed -n '/^cmd_get/,$p' "$out"
if [ "$rc" -eq 0 ] && [ "$(field cmd_get)" -gt 0 ] 2>/dev/null &&
   [ "$(field cmd_set)" -gt 0 ] && [ "$(field verify_failed)" = 0 ] &&
   [ "$(field verify_misses)" = 0 ] && [ "$(field get_misses)" = 0 ]; then
	pass "memcaslap --verify=0.05, 16 connections: no miss, no bad value"
else
	fail "memcaslap --verify=0.05 (exit $rc)"
	cat "$out"
fi

timeout 60 memcaslap -s "$server" -T 2 -c 16 -t 2s --verify=0.05 \
	--division=10 > "$out" 2>&1
rc=$?
if [ "$rc" -eq 0 ] && [ "$(field cmd_get)" -gt 0 ] 2>/dev/null &&
   [ "$(field verify_failed)" = 0 ]; then
	pass "memcaslap --division=10 --verify: multi-gets, no bad value"
else
	fail "memcaslap --division=10 --verify (exit $rc)"
	cat "$out"
fi

timeout 60 memcaslap -s "$server" -T 2 -c 16 -t 3s --verify=0.05 --binary \
	> "$out" 2>&1
rc=$?
if [ "$rc" -eq 0 ] && [ "$(field cmd_get)" -gt 0 ] 2>/dev/null &&
   [ "$(field cmd_set)" -gt 0 ] && [ "$(field verify_failed)" = 0 ] &&
   [ "$(field verify_misses)" = 0 ]; then
	pass "memcaslap --binary --verify=0.05: no miss, no bad value"
else
	fail "memcaslap --binary --verify=0.05 (exit $rc)"
	cat "$out"
fi

# memcslap's own tests.
for t in set get mget; do
	if timeout 60 memcslap --servers="$server" -c 4 -e 2000 -t "$t" \
		> "$out" 2>&1; then
		pass "memcslap -t $t, 4 threads"
	else
		fail "memcslap -t $t"
		cat "$out"
	fi
done

if memcstat --servers="$server" > "$out" 2>&1 &&
   grep -q "curr_items:" "$out" && grep -q "threads: 2" "$out"; then
	pass "memcstat reads the statistics"
else
	fail "memcstat"
	cat "$out"
fi
rm -f "$out"

kill -TERM "$pid"
wait "$pid"
rc=$?
trap - EXIT
if [ "$rc" -eq 0 ]; then
	pass "SIGTERM: clean exit 0"
else
	fail "SIGTERM: exit status $rc"
fi
finish
