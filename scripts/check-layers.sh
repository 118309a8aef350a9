#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Calls go only down the layers of lib/.  The order is the fenced block
# marked "layers" in Documentation/design.md: files top to bottom, one
# rank per line; files on one line may call each other only where a line
# "a.c -> b.c" in the block allows it.  Every lib/*.c must be listed.
# nm gives each object's defined and undefined symbols; each undefined
# symbol that another lib/ object defines is a call (or a data
# reference) from one file to the other, and one that goes up the order,
# or sideways without leave, is printed ("a.c calls up to b.c: symbol")
# and fails the check.
#
#   scripts/check-layers.sh BUILD_DIR [DOC]   check BUILD_DIR/lib/*.o
#   scripts/check-layers.sh --self-test BUILD_DIR
#       prove the check fails: run it against doctored copies of the
#       order (reversed, two ranks merged, a file left out)
set -u

root=$(cd "$(dirname "$0")/.." && pwd)

# The block's lines, comments and blank lines dropped.
order_lines() {
	awk '/^```layers[[:space:]]*$/ { on = 1; next }
	     on && /^```/ { exit }
	     on { sub(/#.*/, ""); if (NF) print }' "$1"
}

# The verdict, from lines "rank R FILE", "peer A B" (A may call B),
# "src FILE" (a lib/*.c), "def FILE SYM" and "use FILE SYM".
verdict='
function fail(msg) { print "layers: " msg; bad++ }
$1 == "rank" { rank[$3] = $2; next }
$1 == "peer" { peer[$2 " " $3] = 0; next }
$1 == "src" { src[$2] = 1; next }
$1 == "def" { def[$3] = $2; next }
$1 == "use" { n++; caller[n] = $2; sym[n] = $3; next }
END {
	for (f in src)
		if (!(f in rank))
			fail("lib/" f " is not in the order")
	for (f in rank)
		if (!(f in src))
			fail(f " is in the order but not in lib/")
	for (p in peer) {
		split(p, ab, " ")
		if (!(ab[1] in rank) || rank[ab[1]] != rank[ab[2]])
			fail("\"" ab[1] " -> " ab[2] "\": not one rank")
	}
	for (i = 1; i <= n; i++) {
		f = caller[i]
		g = def[sym[i]]
		if (g == "" || g == f)
			continue	# outside lib/, or its own
		calls++
		if ((f in rank) && (g in rank) && rank[g] > rank[f])
			continue
		if (((f " " g) in peer) && rank[f] == rank[g]) {
			peer[f " " g]++
			continue
		}
		how = rank[f] == rank[g] ? " calls its peer " : " calls up to "
		fail(f how g ": " sym[i])
	}
	for (p in peer)
		if (!peer[p] && split(p, ab, " "))
			print "layers: note: \"" ab[1] " -> " ab[2] "\"" \
			      " is allowed but not used"
	if (bad) {
		print "layers: " bad " problem(s); the order is the layers" \
		      " block of Documentation/design.md"
		exit 1
	}
	print "layers: " calls " references between " length(src) \
	      " files, all down the order"
}'

check() {
	local build=$1 doc=$2 f

	if [ -z "$(order_lines "$doc")" ]; then
		echo "layers: no layers block in $doc"
		return 1
	fi
	for f in "$root"/lib/*.c; do
		f=$build/lib/$(basename "$f" .c).o
		if [ ! -f "$f" ]; then
			echo "layers: $f missing (build first)"
			return 1
		fi
	done
	{
		order_lines "$doc" | awk '
			$2 == "->" { print "peer", $1, $3; next }
			{ r++; for (i = 1; i <= NF; i++) print "rank", r, $i }'
		for f in "$root"/lib/*.c; do
			f=$(basename "$f" .c)
			echo "src $f.c"
			nm -g --defined-only "$build/lib/$f.o" |
				awk -v f="$f.c" 'NF >= 3 { print "def", f, $3 }'
			nm -u "$build/lib/$f.o" |
				awk -v f="$f.c" '{ print "use", f, $NF }'
		done
	} | awk "$verdict"
}

self_test() {
	local build=$1 doc=$root/Documentation/design.md tmp name status=0
	local fence='```layers'
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' RETURN

	order_lines "$doc" > "$tmp/order"
	grep -v -- '->' "$tmp/order" > "$tmp/ranks"
	grep -- '->' "$tmp/order" > "$tmp/peers"
	# Reversed: every call down becomes a call up.
	{ tac "$tmp/ranks"; cat "$tmp/peers"; } > "$tmp/reversed"
	# The first two one-file ranks merged, with no leave to call.
	awk 'NF == 1 && !done && p != "" { print p, $0; p = ""; done = 1; next }
	     { if (p != "") print p; p = "" }
	     NF == 1 && !done { p = $0; next }
	     { print }
	     END { if (p != "") print p }' "$tmp/ranks" > "$tmp/merged.r"
	cat "$tmp/merged.r" "$tmp/peers" > "$tmp/merged"
	# The last file left out.
	{ sed '$d' "$tmp/ranks"; cat "$tmp/peers"; } > "$tmp/missing"

	for name in reversed merged missing; do
		{ echo "$fence"; cat "$tmp/$name"; echo '```'; } \
			> "$tmp/$name.md"
		if check "$build" "$tmp/$name.md" > "$tmp/$name.out"; then
			echo "FAIL: check-layers accepted the $name order:"
			cat "$tmp/$name.md"
			status=1
		else
			echo "PASS: check-layers refuses the $name order" \
			     "($(grep -m1 -v note "$tmp/$name.out"))"
		fi
	done
	return $status
}

case "${1:-}" in
--self-test)
	self_test "${2:?usage: $0 --self-test BUILD_DIR}"
	;;
'' | -*)
	echo "usage: $0 BUILD_DIR [DOC] | --self-test BUILD_DIR" >&2
	exit 2
	;;
*)
	check "$1" "${2:-$root/Documentation/design.md}"
	;;
esac
