#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Memory tools see a user's bugs in slab objects.  tests/api/memtools/
# user.c, a user's program with one bug per mode, is built against the
# library as a user builds (uslab's headers, -luslab, the shared library
# of this build) and run under the tool:
#
#  - the program built with -fsanitize=address, the library not: ASan
#    reports a use after free, a read into an object's padding and a
#    read of a slot never handed out (use-after-poison, with the
#    program's line), and nothing in a program without bugs; with
#    USLAB_PASSTHROUGH=1, ASan's own heap-use-after-free report;
#  - valgrind memcheck on slab objects (client requests, lib/sanitize.c):
#    a write after free, a read past the object, a read of a slot never
#    handed out and a branch on bytes nobody wrote are errors at the
#    program's line, with the block's allocation (and free) stack through
#    kmem_cache_alloc (kmem_cache_free); a forgotten object is "definitely
#    lost"; a program without bugs is clean;
#  - the same under USLAB_PASSTHROUGH=1 (each object a malloc block),
#    where the leak is allocated from the library's pass-through path
#    under kmem_cache_alloc, called by the program's own line.
#
#  - debug reports name the callers (dladdr()): a double free under
#    USLAB_DEBUG=ZU in the program linked with -rdynamic.
#
# Ends with "NN%: Checks: N, Failures: F, Errors: E"; exit 1 on failure.
set -u

BUILD=${USLAB_BUILD:-build}
CC=${CC:-cc}
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$HERE/memtools/user.c
LIB=$(cd "$BUILD" && pwd)

# shellcheck source=tests/tally.sh
. "$HERE/../tally.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

[ -e "$LIB/libuslab.so" ] || error "need $LIB/libuslab.so (make)"
# uslab's own SAN=asan build: its library needs the ASan runtime, which
# valgrind cannot run and which a program must load first.
lib_asan=0
if readelf -d "$LIB/libuslab.so" | grep -q 'NEEDED.*libasan'; then
	lib_asan=1
fi
user_flags=()
[ $lib_asan = 1 ] && user_flags=(-fsanitize=address)
"$CC" "${user_flags[@]}" -g -gdwarf-4 -O1 -I"$HERE/../../include" -I"$LIB/include" -o "$tmp/user" \
	"$SRC" -L"$LIB" -luslab -Wl,-rpath,"$LIB" 2>"$tmp/cc.log" ||
	error "cannot build user.c: $(head -5 "$tmp/cc.log")"

# $1: what; $2: expected exit status; $3: log; rest: a command.
expect_rc() {
	local what=$1 want=$2 log=$3 rc
	shift 3
	"$@" >"$log" 2>&1
	rc=$?
	if [ "$rc" -eq "$want" ]; then
		pass "$what: exit $rc"
	else
		fail "$what: exit $rc, expected $want; $(head -20 "$log")"
	fi
}

# $1: what; $2: log; $3: an extended regular expression it must hold.
expect_text() {
	if grep -Eq -- "$3" "$2"; then
		pass "$1: /$3/"
	else
		fail "$1: no /$3/ in: $(head -40 "$2")"
	fi
}

# Debug reports name callers: a double free under USLAB_DEBUG=ZU, in a
# program linked with -rdynamic, names double_free() with its offset and
# size, and the program's file.
if "$CC" "${user_flags[@]}" -g -O1 -rdynamic -I"$HERE/../../include" \
	-I"$LIB/include" -o "$tmp/user-rd" "$SRC" -L"$LIB" -luslab \
	-Wl,-rpath,"$LIB" 2>"$tmp/cc-rd.log"; then
	log=$tmp/double.log
	expect_rc "USLAB_DEBUG=ZU, double free" 0 "$log" \
		env USLAB_DEBUG=ZU "$tmp/user-rd" double
	expect_text "double free: reported" "$log" \
		"BUG user \(uslab\): Object already free"
	expect_text "double free: the allocation, symbolized" "$log" \
		"Allocated by double_free\+0x[0-9a-f]+/0x[0-9a-f]+ \(.*user-rd\)"
	expect_text "double free: the first free, symbolized" "$log" \
		"Freed by double_free\+0x[0-9a-f]+/0x[0-9a-f]+ \(.*user-rd\)"
	expect_text "double free: the second free, symbolized" "$log" \
		"Freed again by double_free\+0x[0-9a-f]+/0x[0-9a-f]+ \(.*user-rd\)"
else
	fail "cannot build user.c with -rdynamic: $(head -5 "$tmp/cc-rd.log")"
fi

# ASan: the program instrumented, the library not (in uslab's own ASan
# build the library's poisoning is off, and there is nothing to see).
if [ $lib_asan = 1 ]; then
	skip "ASan reports: this build's library is built with ASan itself"
elif ! "$CC" -fsanitize=address -g -gdwarf-4 -O1 -I"$HERE/../../include" \
	-I"$LIB/include" -o "$tmp/user-asan" "$SRC" -L"$LIB" -luslab \
	-Wl,-rpath,"$LIB" 2>"$tmp/cc-asan.log"; then
	fail "cannot build user.c with -fsanitize=address: $(head -5 "$tmp/cc-asan.log")"
else
	# Whatever the caller's: the report, then exit 1.
	export ASAN_OPTIONS=abort_on_error=0:exitcode=1
	for mode in uaf overflow never; do
		log=$tmp/asan-$mode.log
		expect_rc "ASan, $mode" 1 "$log" "$tmp/user-asan" $mode
		expect_text "ASan, $mode" "$log" \
			"ERROR: AddressSanitizer: use-after-poison on address"
		expect_text "ASan, $mode: the program's line" "$log" \
			"#[0-9]+ 0x[0-9a-f]+ in (main|$mode) .*user.c:[0-9]+"
	done
	expect_text "ASan, uaf: the write" "$tmp/asan-uaf.log" "WRITE of size 1"
	expect_text "ASan, overflow: the read" "$tmp/asan-overflow.log" \
		"READ of size 1"
	expect_text "ASan, never: the read" "$tmp/asan-never.log" \
		"READ of size 1"
	expect_rc "ASan, no bug" 0 "$tmp/asan-clean.log" "$tmp/user-asan" clean
	expect_rc "ASan, USLAB_PASSTHROUGH=1, uaf: ASan's heap report" 1 \
		"$tmp/asan-pt.log" env USLAB_PASSTHROUGH=1 "$tmp/user-asan" uaf
	expect_text "ASan, USLAB_PASSTHROUGH=1, uaf" "$tmp/asan-pt.log" \
		"ERROR: AddressSanitizer: heap-use-after-free"
	expect_text "ASan, USLAB_PASSTHROUGH=1, uaf: the free stack" \
		"$tmp/asan-pt.log" "freed by thread T0 here"
fi

VG=(valgrind -q --error-exitcode=99 --leak-check=full
    --errors-for-leak-kinds=definite)
if [ $lib_asan = 1 ]; then
	skip "valgrind: this build's library is built with ASan"
elif ! command -v valgrind >/dev/null; then
	skip "valgrind is not installed (make check installs it)"
else
	for pt in 0 1; do
		what="valgrind"
		[ $pt = 1 ] && what="valgrind, USLAB_PASSTHROUGH=1"
		for mode in uaf overflow never uninit; do
			log=$tmp/vg-$mode-$pt.log
			expect_rc "$what, $mode" 99 "$log" \
				env USLAB_PASSTHROUGH=$pt "${VG[@]}" "$tmp/user" $mode
			expect_text "$what, $mode: the program's line" "$log" \
				"at 0x[0-9A-F]+: (main|$mode) \(user.c:[0-9]+\)"
		done
		expect_text "$what, uaf" "$tmp/vg-uaf-$pt.log" \
			"Invalid write of size 1"
		expect_text "$what, uaf: a freed block" "$tmp/vg-uaf-$pt.log" \
			"is [0-9]+ bytes (inside|after) a block of size [0-9]+ free'd"
		expect_text "$what, uaf: the free stack" "$tmp/vg-uaf-$pt.log" \
			"by 0x[0-9A-F]+: kmem_cache_free \(cache.c:[0-9]+\)"
		expect_text "$what, overflow" "$tmp/vg-overflow-$pt.log" \
			"Invalid read of size 1"
		expect_text "$what, overflow: just past the object" \
			"$tmp/vg-overflow-$pt.log" \
			"is 0 bytes after a (recently re-allocated )?block of size 36 alloc'd"
		expect_text "$what, overflow: the allocation stack" \
			"$tmp/vg-overflow-$pt.log" \
			"by 0x[0-9A-F]+: kmem_cache_alloc \(cache.c:[0-9]+\)"
		expect_text "$what, never" "$tmp/vg-never-$pt.log" \
			"Invalid read of size 1"
		expect_text "$what, uninit" "$tmp/vg-uninit-$pt.log" \
			"Conditional jump or move depends on uninitialised value"
		expect_rc "$what, no bug" 0 "$tmp/vg-clean-$pt.log" \
			env USLAB_PASSTHROUGH=$pt "${VG[@]}" "$tmp/user" clean
	done
	# Debug caches (no magazines, the slab layer's own checks) too.
	expect_rc "valgrind, USLAB_DEBUG=FZPU, uaf" 99 "$tmp/vg-uaf-debug.log" \
		env USLAB_DEBUG=FZPU "${VG[@]}" "$tmp/user" uaf
	expect_text "valgrind, USLAB_DEBUG=FZPU, uaf" "$tmp/vg-uaf-debug.log" \
		"Invalid write of size 1"
	expect_rc "valgrind, USLAB_DEBUG=FZPU, no bug" 0 \
		"$tmp/vg-clean-debug.log" \
		env USLAB_DEBUG=FZPU "${VG[@]}" "$tmp/user" clean
	log=$tmp/vg-leak-slab.log
	expect_rc "valgrind, leak" 99 "$log" "${VG[@]}" "$tmp/user" leak
	expect_text "leak" "$log" "36 bytes in 1 blocks are definitely lost"
	expect_text "leak: through kmem_cache_alloc" "$log" \
		"by 0x[0-9A-F]+: kmem_cache_alloc \(cache.c:[0-9]+\)"
	expect_text "leak: called by the program's line" "$log" \
		"by 0x[0-9A-F]+: (main|leak) \(user.c:[0-9]+\)"
	log=$tmp/vg-leak.log
	expect_rc "valgrind, USLAB_PASSTHROUGH=1, leak" 99 "$log" \
		env USLAB_PASSTHROUGH=1 "${VG[@]}" "$tmp/user" leak
	expect_text "leak" "$log" "[0-9]+ bytes in 1 blocks are definitely lost"
	expect_text "leak: from the pass-through path" "$log" \
		"by 0x[0-9A-F]+: passthrough_alloc \(passthrough.c:[0-9]+\)"
	expect_text "leak: through kmem_cache_alloc" "$log" \
		"by 0x[0-9A-F]+: kmem_cache_alloc \(cache.c:[0-9]+\)"
	expect_text "leak: called by the program's line" "$log" \
		"by 0x[0-9A-F]+: main \(user.c:[0-9]+\)"
fi

finish
