#!/bin/bash
# Run test programs and keep a tally across builds.
#
#   scripts/run-tests.sh BUILD_DIR PROGRAM...   run each, print its output
#   scripts/run-tests.sh --reset                start a new tally
#   scripts/run-tests.sh --total                print the tally and the
#                                               slowest programs; exit 1 if
#                                               anything failed
#
# Each program is a Check runner (it prints "NN%: Checks: N, Failures: F,
# Errors: E") or a script printing "PASS"/"FAIL" lines.  The tally lives in
# $USLAB_RESULTS (default build/test-results), one line per program:
# PASS|FAIL checks failures errors program seconds.
set -u
results=${USLAB_RESULTS:-build/test-results}
mkdir -p "$(dirname "$results")"

case "${1:-}" in
--reset)
	: > "$results"
	exit 0
	;;
--total)
	awk '{ c += $2; f += $3; e += $4; if ($1 == "FAIL") bad = bad " " $5 }
	     END {
		printf "Check totals: Checks: %d, Failures: %d, Errors: %d\n", c, f, e
		if (bad != "") printf "Failed programs:%s\n", bad
		printf "%d passed, %d failed\n", c - f - e, f + e
		exit (f + e > 0 || bad != "") ? 1 : 0
	     }' "$results"
	status=$?
	# Where the time went: the slowest programs, in seconds.
	echo "Slowest programs (seconds):"
	awk 'NF >= 6 { print $6, $5 }' "$results" | sort -rn | head -12 |
		awk '{ printf "  %5d  %s\n", $1, $2 }'
	awk 'NF >= 6 { s += $6 } END { printf "  %5d  all programs\n", s }' \
		"$results"
	exit $status
	;;
esac

build=$1
shift
# Scripts and tests find the build's programs (uslab-slabtop) here.
export USLAB_BUILD=$build
# Check's default 4 s per test is too short under sanitizers; tests that
# need longer set their own timeouts, scaled by this multiplier.
case "$build" in
*asan* | *tsan*) export CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-4} ;;
esac
[ -n "${USLAB_RUNNER:-}" ] && export CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-10}
export CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-60}
# Keep sanitizer reports fatal and readable.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# die_after_fork=0: the fork tests' children start uslab's reaper thread.
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:die_after_fork=0}

status=0
for prog in "$@"; do
	out=$(mktemp)
	start=$SECONDS
	# USLAB_RUNNER wraps each program (valgrind).
	${USLAB_RUNNER:-} "$prog" > "$out" 2>&1
	rc=$?
	secs=$((SECONDS - start))
	cat "$out"
	line=$(grep -E '^[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$out" | tail -1)
	if [ -n "$line" ]; then
		read -r c f e < <(echo "$line" | sed -E 's/.*Checks: ([0-9]+), Failures: ([0-9]+), Errors: ([0-9]+).*/\1 \2 \3/')
	else
		c=1 f=0 e=1	# crashed before Check could report
	fi
	if [ $rc -ne 0 ] || [ "$f" -ne 0 ] || [ "$e" -ne 0 ]; then
		echo "FAIL $c $f $e $prog $secs" >> "$results"
		echo "*** $prog failed (exit $rc)"
		status=1
	else
		echo "PASS $c $f $e $prog $secs" >> "$results"
	fi
	rm -f "$out"
done
exit $status
