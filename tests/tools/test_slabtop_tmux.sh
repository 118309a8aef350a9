#!/bin/bash
# SPDX-License-Identifier: MIT
#
# uslab-slabtop's interactive mode, driven in tmux: a detached session of
# fixed size on a private server (-L), keys sent with send-keys, the
# screen read with capture-pane -p.
#
#  - the screen shows the source, the summary and the column header;
#  - sort keys re-sort (the first row's name changes), in either case;
#  - 2/3/4 and Tab switch views; on slabinfo text the per-node, frag and
#    magazine views say their figures are not available;
#  - resized very small, the screen says "terminal too small"; resized
#    back, it redraws;
#  - space re-reads the source; a source that breaks shows an error line
#    and the program keeps running; -d refreshes on its own;
#  - q and ^C end it with exit status 0.
#
# Ends with "NN%: Checks: N, Failures: F, Errors: E"; exit 1 on failure.
set -u

BUILD=${USLAB_BUILD:-build}
BIN=$(cd "$(dirname "$BUILD/tools/slabtop/uslab-slabtop")" 2>/dev/null &&
	pwd)/uslab-slabtop
SOCK=uslab-slabtop-test-$$

# shellcheck source=tests/tally.sh
. "$(dirname "$0")/../tally.sh"

if [ ! -x "$BIN" ] || ! command -v tmux > /dev/null; then
	echo "ERROR: need $BUILD/tools/slabtop/uslab-slabtop and tmux"
	checks=1
	errors=1
	finish
fi

TMP=$(mktemp -d)
T() {
	tmux -L "$SOCK" -f /dev/null "$@"
}
# kill-server leaves the socket file behind: remove it too.
SOCK_PATH=${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$SOCK
trap 'T kill-server > /dev/null 2>&1; rm -f "$SOCK_PATH"; rm -rf "$TMP"' EXIT

# The screen of session $1.
screen() {
	T capture-pane -p -t "$1" 2>/dev/null
}

# Wait up to 5 s for session $1's screen to match the regex $2.
wait_for() {
	local i

	for i in $(seq 50); do
		screen "$1" | grep -Eq -- "$2" && return 0
		sleep 0.1
	done
	return 1
}

# The name in the first row under the column header.
first_row() {
	screen "$1" | awk 'f { print $NF; exit } /OBJS +ACTIVE/ { f = 1 }'
}

# Wait up to 5 s for the first row of session $1 to be $2.
wait_first() {
	local i

	for i in $(seq 50); do
		[ "$(first_row "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# Start "uslab-slabtop ARGS..." in a new session $1 of 100x30; its exit
# status goes to $TMP/$1.rc, and its pane stays when it ends.
start() {
	local s=$1 q="" a
	shift

	for a in "$@"; do
		q="$q '$a'"
	done
	T new-session -d -s "$s" -x 100 -y 30 \
		"$BIN$q; echo \$? > '$TMP/$s.rc'" &&
		T set-option -t "$s" remain-on-exit on > /dev/null
}

# Session $1's program ended with status 0 and its pane is dead.
check_exit() {
	local s=$1 what=$2 i dead

	for i in $(seq 50); do
		[ -s "$TMP/$s.rc" ] && break
		sleep 0.1
	done
	dead=$(T list-panes -t "$s" -F '#{pane_dead}' 2>/dev/null)
	if [ "$(cat "$TMP/$s.rc" 2>/dev/null)" = 0 ] && [ "$dead" = 1 ]; then
		pass "$what: exit status 0, process gone"
	else
		fail "$what: exit status '$(cat "$TMP/$s.rc" 2>/dev/null)', pane_dead '$dead'"
	fi
}

H='slabinfo - version: 2.1'
write_file() {
	# $1: the name of the cache with the most objects
	cat > "$TMP/slabinfo.txt" <<EOF
$H
# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>
busy                 900    950     32  128    1 : tunables    0    0    0 : slabdata      8      8      0
$1                   500   1000     16  256    1 : tunables    0    0    0 : slabdata      4      4      0
bigobj                 8      8   4096    1    1 : tunables    0    0    0 : slabdata      8      8      0
alpha                 10     20     64   64    1 : tunables    0    0    0 : slabdata      1      1      0
EOF
}
write_file zeta

# ---- One session through every key ----------------------------------------

start main -d 1000 -f "$TMP/slabinfo.txt"
if wait_for main 'Active / Total Objects \(% used\) +: 1418 / 1978'; then
	pass "the summary is on the screen"
else
	fail "no summary on the screen:"
	screen main
fi
screen main | grep -Eq '^    OBJS   ACTIVE  USE OBJ SIZE  SLABS OBJ/SLAB CACHE SIZE NAME' &&
	pass "the procps column header is on the screen" ||
	fail "no column header"
screen main | grep -Eq "^ Source +: $TMP/slabinfo.txt" &&
	pass "the first line names the source" || fail "no source line"
screen main | grep -q 'q quit' &&
	pass "the status line shows the keys" || fail "no key help line"
wait_first main zeta && pass "sorted by objects at start: zeta first" ||
	fail "first row '$(first_row main)', want zeta"

for k in n:alpha a:busy s:bigobj N:alpha u:bigobj o:zeta; do
	T send-keys -t main "${k%%:*}"
	if wait_first main "${k#*:}"; then
		pass "key ${k%%:*}: ${k#*:} first"
	else
		fail "key ${k%%:*}: first row '$(first_row main)', want ${k#*:}"
	fi
done

for k in '2:per-node figures: not available' \
	 '3:fragmentation figures: not available' \
	 '4:magazine and depot figures: not available'; do
	T send-keys -t main "${k%%:*}"
	if wait_for main "${k#*:}"; then
		pass "key ${k%%:*}: '${k#*:}'"
	else
		fail "key ${k%%:*}: no '${k#*:}' on the screen"
		screen main
	fi
done
T send-keys -t main Tab
wait_for main '^    OBJS   ACTIVE' && wait_for main '1 slabs\*' &&
	pass "Tab from the last view comes back to the slabs view" ||
	fail "Tab does not cycle back to the slabs view"
T send-keys -t main 3
wait_for main 'not available' && T send-keys -t main 1 &&
	wait_for main '^    OBJS   ACTIVE' && pass "key 1: back to the slabs view" ||
	fail "key 1 does not bring the slabs view back"

T resize-window -t main -x 30 -y 5
if wait_for main 'terminal too small'; then
	pass "30x5: 'terminal too small'"
else
	fail "30x5: no 'terminal too small' message:"
	screen main
fi
T resize-window -t main -x 100 -y 30
wait_for main '^    OBJS   ACTIVE' && wait_for main 'Active / Total Objects' &&
	! screen main | grep -q 'too small' &&
	pass "100x30 again: redrawn" || fail "no redraw after growing back"
T resize-window -t main -x 39 -y 30
wait_for main 'terminal too small' && pass "39 columns: too small" ||
	fail "39 columns: no 'terminal too small'"
T resize-window -t main -x 100 -y 9
wait_for main 'terminal too small' && pass "9 rows: too small" ||
	fail "9 rows: no 'terminal too small'"
T resize-window -t main -x 40 -y 10
wait_for main '^    OBJS   ACTIVE' && pass "40x10: drawn" ||
	fail "40x10: not drawn"
T resize-window -t main -x 100 -y 30
wait_for main '^    OBJS   ACTIVE'

# Space re-reads the file (-d 1000 would not).
write_file omega
T send-keys -t main Space
wait_first main omega && pass "space re-reads the source" ||
	fail "after space: first row '$(first_row main)', want omega"

# A source that breaks: an error line, and the program goes on.
printf 'slabinfo - version: 9.9\n' > "$TMP/slabinfo.txt"
T send-keys -t main Space
if wait_for main 'error: .*unsupported slabinfo version 9.9'; then
	pass "a broken source shows an error line"
else
	fail "no error line for a broken source:"
	screen main
fi
[ "$(first_row main)" = omega ] && [ ! -s "$TMP/main.rc" ] &&
	pass "it keeps running and shows the last data" ||
	fail "after the error: first row '$(first_row main)', rc '$(cat "$TMP/main.rc" 2>/dev/null)'"
rm -f "$TMP/slabinfo.txt"
T send-keys -t main Space
wait_for main 'error: .*No such file' && [ ! -s "$TMP/main.rc" ] &&
	pass "a vanished source: error line, still running" ||
	fail "no error line for a vanished source"
write_file zeta
T send-keys -t main Space
wait_first main zeta && ! screen main | grep -q 'error:' &&
	pass "the source back: the error line goes away" ||
	fail "the error line stays after the source is back"

T send-keys -t main q
check_exit main "q"

# ---- The timer, ^C, Q --------------------------------------------------------

start timer -d 1 -f "$TMP/slabinfo.txt"
wait_first timer zeta
write_file kappa
wait_first timer kappa || wait_first timer kappa
[ "$(first_row timer)" = kappa ] && pass "-d 1 refreshes on its own" ||
	fail "-d 1: first row '$(first_row timer)' after 10 s, want kappa"
T send-keys -t timer C-c
check_exit timer "^C"

start big -s n -f "$TMP/slabinfo.txt"
wait_first big alpha && pass "-s n: alpha first" ||
	fail "-s n: first row '$(first_row big)'"
T send-keys -t big Q
check_exit big "Q"

finish
