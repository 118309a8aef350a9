#!/bin/bash
# SPDX-License-Identifier: MIT
#
# USLAB_INLINE as a user builds with it: tests/api/inline/user.c, built
# against uslab's headers and linked three ways (a PIE program on this
# build's shared library; a non-PIE one, built with -fno-pie, whose
# direct reads of the layout the library publishes need a copy
# relocation of it; and a static link of libuslab.a), must carry its own
# restartable sequences, see the library's published layout, and finish
# with everything balanced, on rseq and with per-CPU locks.  A program built for another layout
# (another __USLAB_FAST_ABI) must fail to link instead of misreading
# memory.
#
# Ends with "NN%: Checks: N, Failures: F, Errors: E"; exit 1 on failure.
set -u

BUILD=${USLAB_BUILD:-build}
CC=${CC:-cc}
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$HERE/inline/user.c
LIB=$(cd "$BUILD" && pwd)
INC=(-I"$HERE/../../include" -I"$LIB/include")

# shellcheck source=tests/tally.sh
. "$HERE/../tally.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

[ -e "$LIB/libuslab.so" ] || error "need $LIB/libuslab.so (make)"
[ -e "$LIB/libuslab.a" ] || error "need $LIB/libuslab.a (make)"
[ "$(uname -m)" = x86_64 ] || {
	skip "USLAB_INLINE is inline on x86-64 only"
	finish
}
# A sanitizer build's library needs its runtimes (ASan first).
flags=()
if readelf -d "$LIB/libuslab.so" | grep -q 'NEEDED.*libasan'; then
	flags+=(-fsanitize=address)
fi
if readelf -d "$LIB/libuslab.so" | grep -q 'NEEDED.*libubsan'; then
	flags+=(-fsanitize=undefined)
fi
deps=$(pkg-config --libs liburcu-bp 2>/dev/null || echo -lurcu-bp)

# $1: name; rest: how to link.
build() {
	local name=$1
	shift
	if "$CC" "${flags[@]}" -O2 "${INC[@]}" -o "$tmp/$name" "$SRC" "$@" \
		2>"$tmp/$name.log"; then
		pass "$name: builds"
		return 0
	fi
	fail "$name: does not build: $(head -5 "$tmp/$name.log")"
	return 1
}

# $1: name; rest: environment.
run() {
	local name=$1 out rc
	shift
	out=$(env "$@" "$tmp/$name" 2>"$tmp/$name.err")
	rc=$?
	if [ $rc -eq 0 ] && [ "$out" = ok ]; then
		pass "$name${*:+ $*}: ok"
	else
		fail "$name${*:+ $*}: exit $rc, '$out'; $(head -5 "$tmp/$name.err")"
	fi
}

for how in pie nopie static; do
	case $how in
	pie) set -- -L"$LIB" -luslab -Wl,-rpath,"$LIB" ;;
	nopie) set -- -fno-pie -no-pie -L"$LIB" -luslab -Wl,-rpath,"$LIB" ;;
	static) set -- "$LIB/libuslab.a" $deps -lpthread ;;
	esac
	build "$how" "$@" || continue
	if readelf -SW "$tmp/$how" | grep -q ' __rseq_cs '; then
		pass "$how: the program has its own rseq sections"
	else
		fail "$how: no __rseq_cs section: the fast path is not inline"
	fi
	if [ $how = nopie ]; then
		if readelf -rW "$tmp/$how" | grep -q 'R_X86_64_COPY.*__uslab_fast'; then
			pass "$how: a copy relocation of the published layout"
		else
			fail "$how: no copy relocation to test"
		fi
	fi
	run "$how"
	run "$how" USLAB_PERCPU=lock
done

# Another layout's program does not link against this library.
cat >"$tmp/other.c" <<'EOC'
extern struct { long rseq_off; } __uslab_fast0;
int main(void) { return (int)__uslab_fast0.rseq_off; }
EOC
if "$CC" -o "$tmp/other" "$tmp/other.c" -L"$LIB" -luslab \
	-Wl,-rpath,"$LIB" 2>"$tmp/other.log"; then
	fail "a program for another layout links"
elif grep -q "undefined reference to .__uslab_fast0" "$tmp/other.log"; then
	pass "a program for another layout: undefined __uslab_fast0"
else
	fail "a program for another layout: $(head -3 "$tmp/other.log")"
fi

finish
