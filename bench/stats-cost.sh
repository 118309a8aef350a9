#!/bin/bash
# What statistics cost the fast path: bench/pair built with CONFIG_STATS=y
# and with it off, and the first again with the export thread off
# (USLAB_EXPORT=0), run in turn ROUNDS times each (each run is itself the
# median of 7), on the same CPU.  Prints the median ns per alloc+free
# pair of each and the ratios.  A report, not a test.
#
#   bench/stats-cost.sh PAIR_STATS_ON PAIR_STATS_OFF [ROUNDS]
set -euo pipefail
on=$1 off=$2 rounds=${3:-7}
cpu=$(taskset -pc $$ | sed 's/.*: //; s/[,-].*//')

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for ((i = 0; i < rounds; i++)); do
	# Alternate which build goes first, so neither always runs warm.
	if ((i % 2)); then order="off noexp on"; else order="on noexp off"; fi
	for which in $order; do
		bin=$on export=1
		[ "$which" = off ] && bin=$off
		[ "$which" = noexp ] && export=0
		USLAB_EXPORT=$export taskset -c "$cpu" "$bin" |
			awk -v w="$which" -v d="$tmp" \
			'$1 == 64 || $1 == 256 { print $2 >> (d "/" w "." $1) }'
	done
done

median() { sort -g "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "stats cost: bench/pair, median of $rounds runs each (ns/pair)"
echo "  stats-on: CONFIG_STATS=y, export on (the default build)"
echo "  no-export: the same with USLAB_EXPORT=0; stats-off: CONFIG_STATS=n"
printf '%-6s %10s %10s %10s %14s %16s\n' size stats-on no-export \
	stats-off on/stats-off on/no-export
for size in 64 256; do
	a=$(median "$tmp/on.$size")
	b=$(median "$tmp/off.$size")
	c=$(median "$tmp/noexp.$size")
	awk -v s="$size" -v a="$a" -v b="$b" -v c="$c" 'BEGIN {
		printf "%-6s %10s %10s %10s %14.3f %16.3f\n", s, a, c, b,
		       a / b, a / c }'
done
