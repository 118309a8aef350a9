#!/bin/bash
# Real programs on uslab: python3, git, gcc, sort and sqlite3 run once on
# glibc's malloc and once under LD_PRELOAD=libuslab-malloc.so, and must
# give the same output (and exit status) both times, with nothing on
# stderr from the dynamic loader or from uslab; Python's own regression
# tests for containers and strings (Debian's libpython3.11-testsuite)
# must pass under the preload.  Each program is checked to have really
# run on uslab: under the preload it maps libuslab-malloc.so and
# publishes /dev/shm/uslab.<pid> (seen from inside it).
# Prints PASS/FAIL lines and a Check-style summary.
set -u
build=$(cd "${USLAB_BUILD:-build}" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
lib=$build/libuslab-malloc.so
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
PY=/usr/bin/python3

ok() { echo "PASS: $1"; pass=$((pass + 1)); }
ko() { echo "FAIL: $1"; fail=$((fail + 1)); }

# same NAME CMD...: run CMD (in $work) on glibc, then under the preload;
# stdout and status must match, and the preloaded run's stderr must be
# free of loader and uslab reports.
same() {
	local name=$1 a b
	shift
	(cd "$work" && "$@") > "$work/glibc.out" 2> "$work/glibc.err"
	a=$?
	(cd "$work" && LD_PRELOAD=$lib "$@") > "$work/uslab.out" \
		2> "$work/uslab.err"
	b=$?
	if [ $a -ne $b ]; then
		ko "$name: exit status $a on glibc, $b on uslab"
	elif ! cmp -s "$work/glibc.out" "$work/uslab.out"; then
		ko "$name: output differs"
		diff "$work/glibc.out" "$work/uslab.out" | head -5
	elif grep -qE '^uslab:|ERROR: ld.so|cannot be preloaded' \
		"$work/uslab.err"; then
		ko "$name: reports on stderr"
		head -5 "$work/uslab.err"
	elif [ ! -s "$work/glibc.out" ]; then
		ko "$name: no output to compare"
	else
		ok "$name: same output on uslab ($(wc -c < "$work/uslab.out") bytes)"
	fi
}

# The preload is really in effect in a program it starts.
if LD_PRELOAD=$lib $PY -c '
import os
pid = os.getpid()
maps = open("/proc/%d/maps" % pid).read()
assert "libuslab-malloc.so" in maps
assert os.path.exists("/dev/shm/uslab.%d" % pid)
'; then
	ok "a preloaded python3 maps libuslab-malloc.so and exports its caches"
else
	ko "the preload is not in effect"
fi

# python3: containers, strings, json, regular expressions, big integers.
cat > "$work/work.py" <<'PY'
import collections, hashlib, json, random, re
r = random.Random(42)
d = {}
for i in range(200000):
    d["k%d" % r.randrange(50000)] = [i] * (i % 7)
words = [("%x" % r.getrandbits(40)) * (i % 5 + 1) for i in range(50000)]
words.sort()
c = collections.Counter(w[:3] for w in words)
text = " ".join(words[:5000])
print(len(d), sum(len(v) for v in d.values()), c.most_common(5))
print(hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest())
print(len(re.findall(r"[a-f]{4,}", text)), 3 ** 20000 % 1000003)
s = set(range(0, 300000, 3)) & set(range(0, 300000, 5))
print(len(s), max(s), "".join(sorted(set(text)))[:20])
PY
same "python3: containers, strings, json, re" $PY work.py

# git: a repository built, committed, packed and checked, fixed dates.
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com \
	GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.com \
	GIT_AUTHOR_DATE="2024-01-01T00:00:00Z" \
	GIT_COMMITTER_DATE="2024-01-01T00:00:00Z" GIT_CONFIG_NOSYSTEM=1 \
	HOME=$work
git_work() {
	rm -rf repo && git init -q -b main repo && cd repo || return 1
	cp "$root"/lib/*.c . && git add . && git commit -qm one &&
	sed -i 's/uslab/USLAB/g' *.c && git commit -qam two &&
	git log --stat --format='%H %s' && git diff HEAD~1 --stat &&
	git gc -q && git fsck --strict 2>&1 && git count-objects -v |
		grep -v size
}
same "git: commit, log, diff, gc, fsck" git_work

# gcc: the same objects, byte for byte, and a program that runs.
gcc_work() {
	gcc -O2 -g -c -I"$root/include" -I"$build/include" \
		"$root"/lib/slab.c -o slab.o && sha256sum slab.o | cut -c1-64 &&
	printf '#include <stdio.h>\nint main(void){puts("built");return 0;}\n' \
		> hello.c && gcc -O2 -o hello hello.c && ./hello
}
same "gcc: -O2 object identical, program runs" gcc_work

# sort: numbers and keys, in memory and through temporary files.
$PY -c '
import random
r = random.Random(7)
for i in range(300000):
    print(r.randrange(10**9), "%x" % r.getrandbits(32), r.random())
' > "$work/rows"
same "sort -n" sort -n rows
same "sort -k2,2 -S 1M --parallel=2 (temporary files, threads)" \
	sort -k2,2 -S 1M --parallel=2 rows

# sqlite3: a table, an index, joins and aggregates.
cat > "$work/work.sql" <<'SQL'
CREATE TABLE t(a INTEGER, b TEXT, c REAL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
INSERT INTO t SELECT i, hex(i * 7919 % 100003), i / 7.0 FROM n;
CREATE INDEX tb ON t(b);
SELECT count(*), sum(a), round(avg(c), 4) FROM t;
SELECT b, count(*) FROM t GROUP BY substr(b, 1, 2) ORDER BY 2 DESC, 1 LIMIT 5;
SELECT x.a, y.a FROM t x JOIN t y ON x.b = y.b AND x.a < y.a LIMIT 5;
SELECT group_concat(a) FROM (SELECT a FROM t ORDER BY b LIMIT 20);
SQL
same "sqlite3: insert, index, group, join" sqlite3 :memory: ".read work.sql"

# Python's regression tests for containers and strings, under uslab.
if [ -d /usr/lib/python3.11/test ] && [ -f /usr/lib/python3.11/test/test_dict.py ]; then
	if (cd "$work" && LD_PRELOAD=$lib $PY -m test test_dict test_list \
		test_set test_unicode test_bytes) > "$work/regr.out" 2>&1 &&
		grep -q "Tests result: SUCCESS" "$work/regr.out"; then
		ok "python3 -m test test_dict test_list test_set test_unicode test_bytes"
	else
		ko "python3 regression tests under uslab"
		tail -20 "$work/regr.out"
	fi
else
	ko "python3 regression tests: libpython3.11-testsuite is not installed"
fi

total=$((pass + fail))
echo "$((pass * 100 / total))%: Checks: $total, Failures: $fail, Errors: 0"
[ $fail -eq 0 ]
