#!/bin/bash
# Real programs on uslab: python3, git, gcc, sort and sqlite3 run once on
# glibc's malloc and once under LD_PRELOAD=libuslab-malloc.so, and must
# give the same output (and exit status) both times, with nothing on
# stderr from the dynamic loader or from uslab; memcached under the
# preload passes memccapable and memcslap/memcaslap's verified load and
# shows its caches in uslab-slabtop -p; Python's own regression
# tests for containers and strings (Debian's libpython3.11-testsuite)
# must pass under the preload.  A program is checked to have really
# run on uslab: under the preload it maps libuslab-malloc.so and
# publishes /dev/shm/uslab.<pid> (seen from inside it); uslab's threads
# and export wait USLAB_DEFER_MS, and start once it has passed.
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

# The preload is really in effect in a program it starts; with
# USLAB_DEFER_MS=0 its threads and its export start with it.
threads_py='
import os
def uslab_threads():
    names = []
    for t in os.listdir("/proc/self/task"):
        with open("/proc/self/task/%s/comm" % t) as f:
            names.append(f.read().strip())
    return sorted(n for n in names if n.startswith("uslab-"))
def exported():
    return os.path.exists("/dev/shm/uslab.%d" % os.getpid())
'
if USLAB_DEFER_MS=0 LD_PRELOAD=$lib $PY -c "$threads_py"'
maps = open("/proc/self/maps").read()
assert "libuslab-malloc.so" in maps
assert exported()
assert uslab_threads() == ["uslab-export", "uslab-reaper"], uslab_threads()
'; then
	ok "a preloaded python3 maps libuslab-malloc.so and exports its caches"
else
	ko "the preload is not in effect"
fi

# By default the threads wait a second: a short program has none, nor
# a segment, and neither has a child it forks.
if LD_PRELOAD=$lib $PY -c "$threads_py"'
assert uslab_threads() == [] and not exported()
pid = os.fork()
if pid == 0:
    os._exit(0 if uslab_threads() == [] and not exported() else 1)
assert os.waitpid(pid, 0)[1] == 0
'; then
	ok "a short preloaded python3 starts no uslab thread and no export"
else
	ko "a short preloaded program started uslab's threads"
fi

# Past USLAB_DEFER_MS, calls off the fast path (large blocks, calloc)
# start them.
if LD_PRELOAD=$lib USLAB_DEFER_MS=200 timeout 60 $PY -c "$threads_py"'
import time
assert uslab_threads() == [] and not exported()
start = time.monotonic()
while uslab_threads() != ["uslab-export", "uslab-reaper"]:
    assert time.monotonic() - start < 30, uslab_threads()
    blocks = [bytearray(100000) for _ in range(20)]
    time.sleep(0.01)
assert exported()
'; then
	ok "USLAB_DEFER_MS=200: the threads and the export start once it has passed"
else
	ko "USLAB_DEFER_MS=200: the threads did not start"
fi

# USLAB_PASSTHROUGH=1 asks for malloc's blocks: glibc keeps serving
# (kmalloc would call back into the preload's malloc).
out=$(USLAB_PASSTHROUGH=1 LD_PRELOAD=$lib timeout 60 $PY -c '
print(len({i: str(i) * 3 for i in range(200000)}), sum(range(10**6)))' 2>&1)
if [ "$out" = "200000 499999500000" ]; then
	ok "USLAB_PASSTHROUGH=1 under the preload: python3 runs on glibc"
else
	ko "USLAB_PASSTHROUGH=1 under the preload: $out"
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
	sed -i 's/uslab/USLAB/g' ./*.c && git commit -qam two &&
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

# memcached under the preload: its protocol tests and memcslap's load,
# verified values, its caches seen live by uslab-slabtop, a clean stop.
mc_out=$work/mc.out
port=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mc_user=
[ "$(id -u)" = 0 ] && mc_user="-u nobody" # memcached refuses root
# shellcheck disable=SC2086
# USLAB_DEFER_MS=0: the export starts before memcached becomes nobody,
# so the segment stays root's, which uslab-slabtop reads below.
USLAB_DEFER_MS=0 LD_PRELOAD=$lib memcached $mc_user -l 127.0.0.1 -p "$port" -U 0 -t 2 -m 64 &
mc=$!
for _ in $(seq 100); do
	$PY -c "import socket; socket.create_connection(('127.0.0.1', $port))" \
		2>/dev/null && break
	sleep 0.1
done
if timeout 120 memccapable -h 127.0.0.1 -p "$port" -a -t 10 > "$mc_out" 2>&1 &&
	grep -q "All tests passed" "$mc_out"; then
	ok "memcached on uslab: memccapable -a, all ASCII tests pass"
else
	ko "memcached on uslab: memccapable -a"
	tail -5 "$mc_out"
fi
if timeout 60 memcaslap -s "127.0.0.1:$port" -T 2 -c 16 -t 3s \
	--verify=0.05 > "$mc_out" 2>&1 &&
	grep -qE '^verify_failed: *0' "$mc_out" &&
	grep -qE '^cmd_get: *[1-9]' "$mc_out"; then
	ok "memcached on uslab: memcaslap --verify=0.05, no bad value"
else
	ko "memcached on uslab: memcaslap"
	tail -5 "$mc_out"
fi
# memcslap exits 0 even when it cannot connect: the server's own counts
# must grow by what it sent.
mc_count() {
	memcstat --servers="127.0.0.1:$port" 2>/dev/null |
		sed -n "s/^[[:space:]]*$1: *\([0-9]*\).*/\1/p" | head -1
}
for t in set get mget; do
	cmd=cmd_get
	[ $t = set ] && cmd=cmd_set
	before=$(mc_count $cmd)
	if timeout 60 memcslap --servers="127.0.0.1:$port" -c 4 -e 2000 \
		-t "$t" > "$mc_out" 2>&1 &&
		after=$(mc_count $cmd) &&
		[ "${after:-0}" -ge $((${before:-0} + 2000)) ]; then
		ok "memcached on uslab: memcslap -t $t, 4 threads ($((after - before)) commands)"
	else
		ko "memcached on uslab: memcslap -t $t (${before:-?} -> ${after:-?})"
		tail -5 "$mc_out"
	fi
done
if "$build/tools/slabtop/uslab-slabtop" -o -p "$mc" > "$mc_out" 2>&1 &&
	grep -q "(memcached)" "$mc_out" && grep -q " kmalloc-8k" "$mc_out"; then
	ok "uslab-slabtop -p shows memcached's kmalloc caches"
else
	ko "uslab-slabtop -p on memcached"
	head -5 "$mc_out"
fi
if kill -0 "$mc" 2>/dev/null; then
	kill -TERM "$mc"
	wait "$mc"
	rc=$?
	# Exit 0 or killed by the SIGTERM (143); a crash is another signal.
	if [ $rc -eq 0 ] || [ $rc -eq 143 ]; then
		ok "memcached on uslab: ran to the end, stopped by SIGTERM"
	else
		ko "memcached on uslab: exit status $rc on SIGTERM"
	fi
else
	wait "$mc"
	ko "memcached on uslab: gone before the end (exit $?)"
fi

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
