#!/bin/bash
# What the freelist hardening costs: bench/objcache's uslab binary
# (objbench-glibc) built four ways -- both options off, only
# CONFIG_SLAB_FREELIST_HARDENED, only CONFIG_SLAB_FREELIST_RANDOM, both
# (the default) -- run in turn ROUNDS times each on one CPU, on the pair,
# batch and churn workloads (one thread, 64-byte objects unless the line
# says 256).  Prints the median ns per op of each build and its ratio to
# the build with both off.  A report, not a test.
#
#   bench/harden-cost.sh OFF HARDENED RANDOM BOTH [ROUNDS]
set -euo pipefail
bins=("$1" "$2" "$3" "$4")
names=(off hardened random both)
rounds=${5:-7}
cpu=$(taskset -pc $$ | sed 's/.*: //; s/[,-].*//')
# label  workload  size  N  ops  (as bench/objcache's report runs them)
workloads=(
	"pair-64 pair 64 0 2000000"
	"pair-256 pair 256 0 2000000"
	"batch-1000 batch 64 1000 2000000"
	"batch-100000 batch 64 100000 2000000"
	"churn churn 64 50000 2000000"
)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for ((r = 0; r < rounds; r++)); do
	for w in "${workloads[@]}"; do
		read -r label wl size n ops <<<"$w"
		# Rotate which build goes first, so none always runs warm.
		for ((k = 0; k < 4; k++)); do
			b=$(((k + r) % 4))
			out=$(taskset -c "$cpu" "${bins[$b]}" uslab "$wl" "$size" \
				1 "$n" "$ops")
			awk -v f="$tmp/${names[$b]}.$label" \
				'$1 == "ok" { print $2 >> f }' <<<"$out"
		done
	done
done

median() { sort -g "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "hardening cost: bench/objcache uslab, 1 thread, median of $rounds runs (ns/op)"
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p')"
printf '%-13s %8s %9s %8s %8s %10s %9s %8s\n' workload off hardened \
	random both hard/off rand/off both/off
for w in "${workloads[@]}"; do
	read -r label _ <<<"$w"
	o=$(median "$tmp/off.$label")
	h=$(median "$tmp/hardened.$label")
	a=$(median "$tmp/random.$label")
	b=$(median "$tmp/both.$label")
	awk -v l="$label" -v o="$o" -v h="$h" -v a="$a" -v b="$b" 'BEGIN {
		printf "%-13s %8.2f %9.2f %8.2f %8.2f %10.3f %9.3f %8.3f\n",
		       l, o, h, a, b, h / o, a / o, b / o }'
done
