#!/bin/bash
# SPDX-License-Identifier: MIT
#
# uslab-slabtop on slabinfo text (-f): figures, procps format, JSON, and
# every kind of bad input.
#
#  - a saved copy of /proc/slabinfo (SKIP when unreadable) and handmade
#    files: the summary totals equal awk's arithmetic over the same file;
#  - the -o output, but for its first line (the source), is byte for byte
#    what the format in procps-ng 4.0.6's slabtop.c gives, rendered here by
#    an independent Python model of it, for every sort key and --human;
#  - /usr/bin/slabtop itself, run on the same file bind-mounted over
#    /proc/slabinfo in a private mount namespace (root only, else SKIP):
#    byte for byte when it is 4.0.6 or later; older ones (Debian 12 has
#    4.0.2) print narrower columns and the size line in K with decimals,
#    so their output is compared after turning ours into that format;
#  - --json is valid JSON (Python's json module) with the same figures;
#  - bad input (empty, wrong version, truncated, binary, huge or negative
#    numbers, 10^6 rows, missing file, bad -p, bad options) exits 1 with
#    one line on stderr, never a crash.
#
# Ends with "NN%: Checks: N, Failures: F, Errors: E"; exit 1 on failure.
set -u

BUILD=${USLAB_BUILD:-build}
BIN=$BUILD/tools/slabtop/uslab-slabtop
PY=/usr/bin/python3
PROCPS=/usr/bin/slabtop
export LC_ALL=C		# the name sort is strcoll()'s, as in procps

# shellcheck source=tests/tally.sh
. "$(dirname "$0")/../tally.sh"

if [ ! -x "$BIN" ] || [ ! -x "$PY" ]; then
	echo "ERROR: need $BIN (make $BIN) and $PY"
	checks=1
	errors=1
	finish
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# ---- Helpers ---------------------------------------------------------------

# The expected -o output (without the source line) of FILE, sorted by
# KEY, in procps-ng 4.0.6's format; "human" as a third argument for --human.
render() {
	"$PY" - "$@" <<'EOF'
import struct, sys, os

def f32(x):
    return struct.unpack('f', struct.pack('f', x))[0]

path, key = sys.argv[1], sys.argv[2]
human = len(sys.argv) > 3 and sys.argv[3] == 'human'
page = os.sysconf('SC_PAGESIZE')
rows = []
with open(path, 'rb') as f:
    lines = f.read().split(b'\n')
for l in lines[1:]:
    t = l.split()
    if not t or l.startswith(b'#'):
        continue
    name = t[0]
    a, n, osz, ops, pps = (int(x) for x in t[1:6])
    aslabs, slabs = int(t[13]), int(t[14])
    use = int(f32(100 * f32(f32(a) / f32(n)))) if n else 0
    rows.append(dict(name=name, a=a, n=n, osz=osz, ops=ops, pps=pps,
                     aslabs=aslabs, slabs=slabs, use=use,
                     size=slabs * pps * page))

def scale(kib):
    # procps local/units.c scale_size(kib, 0, 0, human)
    b = kib * 1024
    if not human:
        return '%d' % (b // 1024)
    s = '%dB' % b
    if len(s) <= 4:
        return s
    for i, u in enumerate('KMGTP', 1):
        v = b / 1024.0 ** i
        s = '%.1f%si' % (f32(v), u)
        if len(s) <= 5:
            return s
        s = '%d%si' % (int(v), u)
        if len(s) <= 5:
            return s
    return s

k = key.lower()[:1] if key else 'o'
field = dict(a='a', b='ops', c='size', l='slabs', v='aslabs', n='name',
             o='n', p='pps', s='osz', u='use').get(k, 'n')
rows.sort(key=lambda r: r[field], reverse=(field != 'name'))

def pct(x, y):
    return 100.0 * x / y if y else 0.0

A = sum(r['a'] for r in rows); N = sum(r['n'] for r in rows)
AS = sum(r['aslabs'] for r in rows); S = sum(r['slabs'] for r in rows)
C = len(rows); AC = sum(1 for r in rows if r['n'])
AZ = sum(r['a'] * r['osz'] for r in rows)
TZ = sum(r['n'] * r['osz'] for r in rows)
mn = min((r['osz'] for r in rows), default=0)
mx = max((r['osz'] for r in rows), default=0)
avg = TZ // N if N else 0
out = sys.stdout.buffer
w = lambda s: out.write(s.encode() if isinstance(s, str) else s)
w(' %-35s: %u / %u (%.1f%%)\n' % ('Active / Total Objects (% used)', A, N, pct(A, N)))
w(' %-35s: %u / %u (%.1f%%)\n' % ('Active / Total Slabs (% used)', AS, S, pct(AS, S)))
w(' %-35s: %u / %u (%.1f%%)\n' % ('Active / Total Caches (% used)', AC, C, pct(AC, C)))
w(' %-35s: %s / %s (%.1f%%)\n' % ('Active / Total Size (% used)',
                                  scale(AZ // 1024), scale(TZ // 1024), pct(AZ, TZ)))
w(' %-35s: %.2fK / %.2fK / %.2fK\n\n' % ('Minimum / Average / Maximum Object',
                                         mn / 1024.0, avg / 1024.0, mx / 1024.0))
w('%-80s\n' % '    OBJS   ACTIVE  USE OBJ SIZE  SLABS OBJ/SLAB CACHE SIZE NAME')
for r in rows:
    w(('%8u %8u %3u%% %7.2fK %6u %8u %10s ' % (r['n'], r['a'], r['use'],
       r['osz'] / 1024.0, r['slabs'], r['ops'], scale(r['size'] // 1024))).encode()
      + r['name'] + b' ' * max(0, 23 - len(r['name'])) + b'\n')
EOF
}

# Our -o output in procps-ng 4.0.0-4.0.5's format (narrower columns, "K"
# after CACHE SIZE); the size line, which those print from bytes with
# decimals, becomes "SIZE <active KiB> <total KiB> <pct>" in both.
to_old_format() {
	"$PY" -c '
import sys, re
for l in sys.stdin.buffer.read().decode().split("\n")[:-1]:
    m = re.match(r" Active / Total Size \(% used\)\s+: (\d+)(?:\.\d+K)? / (\d+)(?:\.\d+K)? \((.*)\)$", l)
    if m:
        print("SIZE %s %s %s" % m.groups()); continue
    if l.startswith("    OBJS") or l.startswith("  OBJS"):
        print("%-78s" % "  OBJS ACTIVE  USE OBJ SIZE  SLABS OBJ/SLAB CACHE SIZE NAME"); continue
    t = l.split()
    if len(t) == 8 and t[2].endswith("%") and t[3].endswith("K"):
        print("%6u %6u %3u%% %7sK %6u %8u %9sK %-23s" % (int(t[0]), int(t[1]),
              int(t[2][:-1]), t[3][:-1], int(t[4]), int(t[5]), t[6].rstrip("K"), t[7]))
        continue
    print(l)
'
}

# procps slabtop -o ARGS... on FILE, bind-mounted over /proc/slabinfo.
procps_on() {
	local file=$1
	shift
	unshare -m sh -c 'mount --bind "$0" /proc/slabinfo && exec "$@"' \
		"$file" "$PROCPS" -o "$@"
}

procps_usable() {
	[ -x "$PROCPS" ] && [ "$(id -u)" -eq 0 ] &&
		[ -r /proc/slabinfo ] && unshare -m true 2>/dev/null
}

ours() {
	"$BIN" -o "$@" | tail -n +2
}

# One summary figure of our -o output: field N of the line matching RE.
summary_field() {
	sed -n "s/^ $2 *: //p" "$1" | tr -d '()%' | awk -v n="$3" '{ print $n }'
}

# Compare the totals of our output with awk's over the same file.
check_totals() {
	local file=$1 what=$2 out=$TMP/totals.out
	local want got

	if ! "$BIN" -o -f "$file" > "$out" 2>&1; then
		fail "$what: -o -f exits non-zero"
		return
	fi
	want=$(awk 'NR > 1 && !/^#/ && NF {
			a += $2; o += $3; s += $15; c++; if ($3 > 0) ac++
			as += $2 * $4; ts += $3 * $4
		}
		END { printf "%.0f %.0f %.0f %.0f %.0f %.0f %.0f\n", o, a, s,
			c, ac, int(as / 1024), int(ts / 1024) }' "$file")
	got="$(summary_field "$out" 'Active \/ Total Objects (% used)' 3)"
	got="$got $(summary_field "$out" 'Active \/ Total Objects (% used)' 1)"
	got="$got $(summary_field "$out" 'Active \/ Total Slabs (% used)' 3)"
	got="$got $(summary_field "$out" 'Active \/ Total Caches (% used)' 3)"
	got="$got $(summary_field "$out" 'Active \/ Total Caches (% used)' 1)"
	got="$got $(summary_field "$out" 'Active \/ Total Size (% used)' 1)"
	got="$got $(summary_field "$out" 'Active \/ Total Size (% used)' 3)"
	if [ "$got" = "$want" ]; then
		pass "$what: totals (objects active slabs caches active-caches KiB KiB) = awk's: $want"
	else
		fail "$what: totals: got '$got', awk says '$want'"
	fi
}

# Compare our -o output with the reference format for every sort key.
check_format() {
	local file=$1 what=$2 k bad=""

	for k in a b c l v n o p s u x N; do
		if ! cmp -s <(ours -f "$file" -s "$k") <(render "$file" "$k"); then
			bad="$bad $k"
			diff <(ours -f "$file" -s "$k") <(render "$file" "$k") |
				head -5
		fi
	done
	if ! cmp -s <(ours -f "$file" --human) <(render "$file" o human); then
		bad="$bad human"
	fi
	if [ -z "$bad" ]; then
		pass "$what: -o output = procps 4.0.6 format, every sort key and --human"
	else
		fail "$what: -o output differs from the procps format for:$bad"
	fi
}

# Compare with the installed procps slabtop on the same file.
check_procps() {
	local file=$1 what=$2 k bad="" new=0

	procps_on "$file" > "$TMP/procps.out" 2>&1 || {
		fail "$what: $PROCPS -o on the bind-mounted file failed"
		return
	}
	grep -q '^    OBJS   ACTIVE' "$TMP/procps.out" && new=1
	for k in a b c l v n o p s u; do
		procps_on "$file" -s "$k" > "$TMP/p.$k" 2>&1
		ours -f "$file" -s "$k" > "$TMP/o.$k"
		if [ $new -eq 1 ]; then
			cmp -s "$TMP/p.$k" "$TMP/o.$k" || bad="$bad $k"
		elif ! cmp -s <(to_old_format < "$TMP/p.$k") \
			      <(to_old_format < "$TMP/o.$k"); then
			bad="$bad $k"
			diff <(to_old_format < "$TMP/p.$k") \
			     <(to_old_format < "$TMP/o.$k") | head -6
		fi
	done
	if [ -z "$bad" ]; then
		if [ $new -eq 1 ]; then
			pass "$what: = $($PROCPS -V) -o, byte for byte, every sort key"
		else
			pass "$what: = $($PROCPS -V) -o in its older column format, every sort key"
		fi
	else
		fail "$what: differs from $PROCPS -o for sort keys:$bad"
	fi
}

# Bad input: exit status 1 and one line on stderr starting with our name.
expect_error() {
	local what=$1 rc lines
	shift

	"$@" > "$TMP/err.out" 2> "$TMP/err.err" < /dev/null
	rc=$?
	lines=$(wc -l < "$TMP/err.err")
	if [ $rc -eq 1 ] && [ "$lines" -eq 1 ] &&
	   grep -q '^uslab-slabtop: ' "$TMP/err.err"; then
		pass "$what: exit 1, $(cat "$TMP/err.err")"
	else
		fail "$what: exit $rc (want 1), $lines stderr lines: $(head -c 300 "$TMP/err.err")"
	fi
}

# ---- Handmade files with known figures -------------------------------------

H='slabinfo - version: 2.1'
HDR='# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>'
known=$TMP/known.txt
cat > "$known" <<EOF
$H
$HDR
alpha                100    200     64   64    1 : tunables    0    0    0 : slabdata      4      4      0
beta                  10     10   1024    8    2 : tunables    0    0    0 : slabdata      2      2      0
gamma                  0      0    128   32    1 : tunables    0    0    0 : slabdata      0      0      0
EOF

cat > "$TMP/known.want" <<'EOF'
 Active / Total Objects (% used)    : 110 / 210 (52.4%)
 Active / Total Slabs (% used)      : 6 / 6 (100.0%)
 Active / Total Caches (% used)     : 2 / 3 (66.7%)
 Active / Total Size (% used)       : 16 / 22 (72.2%)
 Minimum / Average / Maximum Object : 0.06K / 0.11K / 1.00K

    OBJS   ACTIVE  USE OBJ SIZE  SLABS OBJ/SLAB CACHE SIZE NAME                 
     200      100  50%    0.06K      4       64         16 alpha                  
      10       10 100%    1.00K      2        8         16 beta                   
       0        0   0%    0.12K      0       32          0 gamma                  
EOF
if [ "$(getconf PAGESIZE)" = 4096 ]; then
	if cmp -s <(ours -f "$known") "$TMP/known.want"; then
		pass "known figures: summary and rows as computed by hand"
	else
		fail "known figures differ from the hand-computed output:"
		diff <(ours -f "$known") "$TMP/known.want"
	fi
else
	skip "known figures: the hand-computed cache sizes assume 4 KiB pages"
fi
head -1 <("$BIN" -o -f "$known") | grep -q "^ Source  *: $known\$" &&
	pass "the first line names the source" ||
	fail "first line is not ' Source : $known': $("$BIN" -o -f "$known" | head -1)"
check_totals "$known" "known figures"
check_format "$known" "known figures"

# Ties keep the file's order (procps's sort is a stable mergesort), old
# SLAB's "(statistics)" rows, comments, numbers beyond 32 bits.
ties=$TMP/ties.txt
{
	echo "$H (statistics)"
	echo "$HDR"
	for n in dd bb aa cc; do
		echo "$n 5 10 32 128 1 : tunables 120 60 8 : slabdata 1 1 0 : globalstat 1 2 3 4 5 6 7 8 9 : cpustat 1 2 3 4"
	done
	echo "# a comment"
	echo "big 1000000 4000000000 4096 8 8 : tunables 0 0 0 : slabdata 500000000 500000000 0"
} > "$ties"
check_format "$ties" "ties, statistics rows, big numbers"
check_totals "$ties" "ties, statistics rows, big numbers"
first=$(ours -f "$ties" | awk 'f { print $NF; exit } /^    OBJS/ { f = 1 }')
second=$(ours -f "$ties" | awk 'f == 2 { print $NF; exit } f { f++ } /^    OBJS/ { f = 1 }')
[ "$first" = big ] && [ "$second" = dd ] &&
	pass "equal keys keep the file's order (big, then dd)" ||
	fail "sort order: first rows '$first' '$second', want 'big' 'dd'"

# Blank lines are skipped (procps refuses them).
{ cat "$known"; echo; echo "  "; } > "$TMP/blank.txt"
cmp -s <(ours -f "$TMP/blank.txt") <(ours -f "$known") &&
	pass "blank lines are skipped" || fail "blank lines change the output"

# No caches at all is fine.
printf '%s\n%s\n' "$H" "$HDR" > "$TMP/none.txt"
if "$BIN" -o -f "$TMP/none.txt" > "$TMP/none.out" 2>&1 &&
   grep -q 'Active / Total Caches (% used)     : 0 / 0' "$TMP/none.out"; then
	pass "a slabinfo with no caches shows zero totals"
else
	fail "no caches: $(cat "$TMP/none.out")"
fi

# stdin
if cmp -s <("$BIN" -o -f - < "$known" | tail -n +2) <(ours -f "$known") &&
   "$BIN" -o -f - < "$known" | head -1 | grep -q 'standard input'; then
	pass "-f - reads standard input"
else
	fail "-f - differs from -f FILE"
fi

# ---- A saved copy of /proc/slabinfo ----------------------------------------

proc=$TMP/proc-slabinfo.txt
if cat /proc/slabinfo > "$proc" 2>/dev/null && [ -s "$proc" ]; then
	check_totals "$proc" "saved /proc/slabinfo"
	check_format "$proc" "saved /proc/slabinfo"
else
	skip "/proc/slabinfo is not readable here: no saved copy"
	proc=""
fi

# ---- procps slabtop itself ---------------------------------------------------

if procps_usable; then
	check_procps "$known" "known figures vs procps"
	check_procps "$ties" "ties vs procps"
	[ -n "$proc" ] && check_procps "$proc" "saved /proc/slabinfo vs procps"
else
	skip "procps comparison needs $PROCPS, root and unshare -m"
fi

# ---- JSON ------------------------------------------------------------------

names=$TMP/names.txt
{
	echo "$H"
	echo 'q"uo\te 1 2 32 128 1 : tunables 0 0 0 : slabdata 1 1 0'
	printf 'na\303\257ve 3 4 64 64 1 : tunables 0 0 0 : slabdata 1 1 0\n'
	printf 'bad\377utf8 0 1 8 512 1 : tunables 0 0 0 : slabdata 1 1 0\n'
} > "$names"
for f in "$known" "$ties" "$names" "$TMP/none.txt" $proc; do
	if "$BIN" --json -f "$f" > "$TMP/j.json" 2> "$TMP/j.err" &&
	   "$PY" -c 'import json, sys; json.load(sys.stdin)' < "$TMP/j.json"; then
		pass "--json on $(basename "$f") is valid JSON"
	else
		fail "--json on $(basename "$f"): $(head -c 300 "$TMP/j.err")"
	fi
done
if "$BIN" --json -f "$known" | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
s = d["summary"]
assert d["source"]["kind"] == "slabinfo", d["source"]
assert d["source"]["origin"] == sys.argv[1], d["source"]
assert (s["num_objs"], s["active_objs"], s["num_slabs"], s["caches"],
        s["active_caches"], s["active_size_bytes"], s["total_size_bytes"]) == \
       (210, 110, 6, 3, 2, 16640, 23040), s
c = d["caches"]
assert [x["name"] for x in c] == ["alpha", "beta", "gamma"], c
assert c[0]["use_percent"] == 50 and c[1]["objperslab"] == 8, c
assert all(x["has_ext"] is False and "nodes" not in x for x in c), c
' "$known"; then
	pass "--json figures of the known file"
else
	fail "--json figures of the known file"
fi
if "$BIN" --json -f "$names" | "$PY" -c '
import json, sys
names = sorted(x["name"] for x in json.load(sys.stdin)["caches"])
assert names == sorted(["q\"uo\\te", "na\u00efve", "bad\ufffdutf8"]), names
'; then
	pass "--json escapes quotes and backslashes, keeps UTF-8, replaces bad bytes"
else
	fail "--json names are not escaped right"
fi

# ---- Views that need a uslab process ---------------------------------------

for v in nodes frag mags; do
	expect_error "--$v on slabinfo text" "$BIN" -o --$v -f "$known"
	grep -q 'not available' "$TMP/err.err" ||
		fail "--$v on slabinfo text does not say 'not available'"
done

# ---- Options ---------------------------------------------------------------

"$BIN" -V | grep -q '^uslab-slabtop from uslab ' &&
	pass "-V prints the version" || fail "-V: $("$BIN" -V 2>&1)"
"$BIN" --help | grep -q 'u: sort by cache utilization' &&
	pass "--help lists the sort keys" || fail "--help"
"$BIN" --list > "$TMP/list.out" 2>&1 && pass "--list exits 0" ||
	fail "--list: $(cat "$TMP/list.out")"
expect_error "-d with -o" "$BIN" -o -d 2 -f "$known"
expect_error "-o after -d" "$BIN" -d 2 -o -f "$known"
expect_error "-d 0" "$BIN" -d 0 -f "$known"
expect_error "-d abc" "$BIN" -d abc -f "$known"
expect_error "stray argument" "$BIN" -o -f "$known" extra
expect_error "unknown option" "$BIN" -o -Z
expect_error "unknown long option" "$BIN" -o --no-such-option
expect_error "missing argument" "$BIN" -o -f
expect_error "-p with -f" "$BIN" -o -p 1 -f "$known"
expect_error "-p abc" "$BIN" -o -p abc
expect_error "-p -5" "$BIN" -o -p -5
expect_error "--nodes with --frag" "$BIN" -o --nodes --frag -f "$known"
expect_error "interactive without a terminal" "$BIN" -f "$known"

# ---- Bad input -------------------------------------------------------------

bad() {
	local what=$1 file=$TMP/bad.txt
	shift
	printf "$@" > "$file"
	expect_error "$what" "$BIN" -o -f "$file"
}
row=' 1 2 32 128 1 : tunables 0 0 0 : slabdata 1 1 0'
bad "empty file" ''
bad "wrong version (1.1)" 'slabinfo - version: 1.1\nx%s\n' "$row"
bad "wrong version (3.0)" 'slabinfo - version: 3.0\nx%s\n' "$row"
bad "no version line" 'x%s\n' "$row"
bad "garbage version" 'slabinfo - version: two\n'
bad "truncated row" '%s\nx 1 2 32 128 1 : tunables 0 0\n' "$H"
bad "row cut after the name" '%s\nx\n' "$H"
bad "missing tunables word" '%s\nx 1 2 32 128 1 : tunable 0 0 0 : slabdata 1 1 0\n' "$H"
bad "trailing junk" '%s\nx%s junk\n' "$H" "$row"
bad "huge number" '%s\nx 1 99999999999999999999999 32 128 1 : tunables 0 0 0 : slabdata 1 1 0\n' "$H"
bad "objsize above 32 bits" '%s\nx 1 2 4294967296 128 1 : tunables 0 0 0 : slabdata 1 1 0\n' "$H"
bad "negative number" '%s\nx -1 2 32 128 1 : tunables 0 0 0 : slabdata 1 1 0\n' "$H"
bad "plus sign" '%s\nx +1 2 32 128 1 : tunables 0 0 0 : slabdata 1 1 0\n' "$H"
bad "hex number" '%s\nx 0x10 20 32 128 1 : tunables 0 0 0 : slabdata 1 1 0\n' "$H"
bad "active > total objects" '%s\nx 3 2 32 128 1 : tunables 0 0 0 : slabdata 1 1 0\n' "$H"
bad "active > total slabs" '%s\nx 1 2 32 128 1 : tunables 0 0 0 : slabdata 2 1 0\n' "$H"
bad "name of 64 bytes" "%s\n$(printf 'n%.0s' $(seq 64))%s\n" "$H" "$row"
bad "NUL byte" '%s\nx\000y%s\n' "$H" "$row"
bad "escape sequence in a name" '%s\n\033[2Jx%s\n' "$H" "$row"
printf '%s\n%s%s\n' "$H" "$(printf 'n%.0s' $(seq 63))" "$row" > "$TMP/n63.txt"
"$BIN" -o -f "$TMP/n63.txt" > /dev/null 2>&1 &&
	pass "a name of 63 bytes is fine" || fail "a name of 63 bytes is refused"
head -c 65536 /dev/urandom > "$TMP/junk.bin"
expect_error "binary junk" "$BIN" -o -f "$TMP/junk.bin"
{ echo "$H"; head -c 65536 /dev/urandom; } > "$TMP/junk2.bin"
expect_error "version line, then binary junk" "$BIN" -o -f "$TMP/junk2.bin"
awk -v h="$H" 'BEGIN { print h
	for (i = 0; i < 1000000; i++)
		printf "c%d 0 0 8 512 1 : tunables 0 0 0 : slabdata 0 0 0\n", i }' \
	> "$TMP/million.txt"
expect_error "10^6 rows" "$BIN" -o -f "$TMP/million.txt"
head -n 100002 "$TMP/million.txt" > "$TMP/limit.txt"
expect_error "100001 rows" "$BIN" -o -f "$TMP/limit.txt"
rm -f "$TMP/million.txt" "$TMP/limit.txt"
expect_error "larger than 64 MiB (/dev/zero)" "$BIN" -o -f /dev/zero
expect_error "nonexistent file" "$BIN" -o -f "$TMP/no/such/file"
expect_error "a directory" "$BIN" -o -f "$TMP"
expect_error "--json on a bad file" "$BIN" --json -f "$TMP/junk.bin"
pid_max=$(cat /proc/sys/kernel/pid_max 2>/dev/null || echo 4194304)
expect_error "-p of a pid that does not exist" "$BIN" -o -p $((pid_max + 1))
expect_error "-p 1 (no uslab segment)" "$BIN" -o -p 1
expect_error "-p of this shell (no uslab segment)" "$BIN" -o -p $$
expect_error "--json -p of a pid that does not exist" "$BIN" --json -p $((pid_max + 1))

finish
