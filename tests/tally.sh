# SPDX-License-Identifier: MIT
# Sourced by the test scripts (tests/<suite>/test_*.sh): PASS/FAIL/SKIP
# lines and the closing "NN%: Checks: N, Failures: F, Errors: E" line
# that scripts/run-tests.sh tallies.

checks=0
failures=0
errors=0

pass() {
	checks=$((checks + 1))
	echo "PASS: $*"
}

fail() {
	checks=$((checks + 1))
	failures=$((failures + 1))
	echo "FAIL: $*"
}

skip() {
	echo "SKIP: $*"
}

# The script cannot go on: one errored check, then the summary.
error() {
	checks=$((checks + 1))
	errors=$((errors + 1))
	echo "ERROR: $*"
	finish
}

# Print the summary line and exit 0 only if nothing failed.
finish() {
	local pct=100

	[ $checks -gt 0 ] && pct=$(((checks - failures - errors) * 100 / checks))
	echo "${pct}%: Checks: $checks, Failures: $failures, Errors: $errors"
	[ $failures -eq 0 ] && [ $errors -eq 0 ]
	exit $?
}
