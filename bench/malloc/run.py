#!/usr/bin/python3
# bench/malloc/run.py: libuslab-malloc.so against glibc's malloc,
# jemalloc, tcmalloc and mimalloc, each preloaded in turn (glibc: no
# preload), on synthetic workloads (larson, xmalloc-test, cache-scratch,
# mstress, rptest; C programs beside this file), real programs
# (python3, sqlite3, sort, gcc, and memcached under memcaslap's load,
# driven by memcached.py beside this file, which preloads the server
# only) and process start-up (startup: /bin/true
# started 400 times, left out of the geometric means, which stay those
# of the workloads proper).  Every (allocator, workload) run is a
# fresh process started by mrun, which reports its wall time and peak
# RSS.  Rounds interleave the allocators, rotating which goes first.
# Prints medians and ratios to glibc and mimalloc; numbers only.
#
# Usage: run.py --bindir DIR --uslab LIB --root SRC --build BUILD
#               [--rounds N] [--scale X] [--only A,B] [--workload W,X]
#               [--tsv FILE] [--log FILE]
import argparse
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile

PEERS = [
    ("glibc", ""),
    ("jemalloc", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"),
    ("tcmalloc", "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"),
    ("mimalloc", "/usr/lib/x86_64-linux-gnu/libmimalloc.so.2"),
]
SYNTHETIC = ["larson", "xmalloc-test", "cache-scratch", "mstress", "rptest",
             "startup"]
# Rows the geometric means leave out: start-up alone, not a workload.
NOT_IN_GEOMEAN = {"startup"}
# gcc compiles these uslab sources (-O2, -c, one gcc run).
GCC_SOURCES = ["slab.c", "cache.c", "kmalloc.c", "magazine.c"]

SQL = """
CREATE TABLE item(id INTEGER PRIMARY KEY, grp INTEGER, name TEXT, v REAL);
CREATE TABLE grp(id INTEGER PRIMARY KEY, label TEXT);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < {n})
INSERT INTO item SELECT i, (i * 7919) % 1000,
    printf('item-%x-%d', (i * 2654435761) % 1000003, i), (i % 977) * 0.5
    FROM c;
WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < 999)
INSERT INTO grp SELECT i, printf('group %d', i) FROM c;
CREATE INDEX item_name ON item(name);
CREATE INDEX item_grp ON item(grp, v);
SELECT g.label, count(*), sum(i.v), max(i.name) FROM item i
    JOIN grp g ON g.id = i.grp GROUP BY g.id ORDER BY 3 DESC LIMIT 5;
SELECT count(*) FROM item a JOIN item b ON b.name = a.name || ''
    WHERE a.id % 3 = 0;
SELECT count(DISTINCT substr(name, 6, 3)) FROM item;
UPDATE item SET name = name || '-x' WHERE id % 4 = 0;
DELETE FROM item WHERE id % 5 = 0;
SELECT count(*), sum(length(name)) FROM item;
"""


def workloads(a):
    """(name, argv) of every workload, in the table's order."""
    s = str(a.scale)
    w = [(n, [os.path.join(a.bindir, n), s]) for n in SYNTHETIC]
    w.append(("python3", ["/usr/bin/python3",
                          os.path.join(a.root, "bench/malloc/work.py"), s]))
    w.append(("sqlite3", ["sqlite3", ":memory:", ".read work.sql"]))
    w.append(("sort", ["sort", "-k2,2", "rows"]))
    w.append(("gcc", ["gcc", "-std=gnu11", "-O2", "-c", "-pthread",
                      "-DUSLAB_VERSION=\"bench\"",
                      "-I" + os.path.join(a.root, "include"),
                      "-I" + os.path.join(a.build, "include"),
                      "-I" + os.path.join(a.root, "lib")] +
              [os.path.join(a.root, "lib", f) for f in GCC_SOURCES]))
    # Run directly, not by mrun: it takes the library to preload.
    w.append(("memcached", [sys.executable,
                            os.path.join(a.root, "bench/malloc/memcached.py"),
                            s]))
    return [x for x in w if not a.workload or x[0] in a.workload]


def command(mrun, lib, work, wname, argv):
    """How to run workload wname with lib preloaded ("" for glibc)."""
    if wname == "memcached":
        return argv[:2] + [lib] + argv[2:]
    return [mrun, lib, work] + argv


def prepare(a, work):
    """The inputs the real programs read, in the work directory."""
    with open(os.path.join(work, "work.sql"), "w") as f:
        f.write(SQL.format(n=max(1, int(200000 * a.scale))))
    r = random.Random(7)
    with open(os.path.join(work, "rows"), "w") as f:
        for _ in range(max(1, int(600000 * a.scale))):
            f.write("%d %x %.6f\n" % (r.randrange(10**9), r.getrandbits(32),
                                      r.random()))


def in_effect(lib):
    """Does a program started with LD_PRELOAD=lib map lib?"""
    code = ("import sys; sys.exit(0 if %r in open('/proc/self/maps').read()"
            " else 1)" % os.path.basename(lib))
    env = dict(os.environ, LD_PRELOAD=lib)
    return subprocess.run(["/usr/bin/python3", "-c", code], env=env,
                          stderr=subprocess.DEVNULL).returncode == 0


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    except OSError:
        return "unknown (no lscpu)"
    for line in out.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def ratio(x, y):
    return x / y if x is not None and y else None


def fmt(x, spec):
    """x formatted, or NA as wide as spec's width when x is missing."""
    width = spec.split(".")[0]
    return format(x, spec) if x is not None else "NA".rjust(int(width or 0))


def geomean(xs):
    xs = [x for x in xs if x is not None]
    return math.exp(sum(map(math.log, xs)) / len(xs)) if xs else None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bindir", required=True)
    p.add_argument("--uslab", required=True)
    p.add_argument("--root", required=True)
    p.add_argument("--build", required=True)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--only", type=lambda s: s.split(","), default=None)
    p.add_argument("--workload", type=lambda s: s.split(","), default=None)
    p.add_argument("--tsv")
    p.add_argument("--log", default=os.devnull)
    a = p.parse_args()
    # The programs run in a work directory of their own.
    for k in ("bindir", "uslab", "root", "build"):
        setattr(a, k, os.path.abspath(getattr(a, k)))
    if a.rounds < 1 or not a.scale > 0:
        sys.exit("run.py: --rounds must be at least 1, --scale above 0")
    names = [n for n, _ in PEERS] + ["uslab"]
    for n in a.only or []:
        if n not in names:
            sys.exit("run.py: no allocator %r (%s)" % (n, ",".join(names)))
    known = SYNTHETIC + ["python3", "sqlite3", "sort", "gcc", "memcached"]
    for n in a.workload or []:
        if n not in known:
            sys.exit("run.py: no workload %r (%s)" % (n, ",".join(known)))

    mrun = os.path.join(a.bindir, "mrun")
    print("bench-malloc: CPU %s, %d CPUs, load average %s" % (
        cpu_model(), os.cpu_count(),
        " ".join(open("/proc/loadavg").read().split()[:3])))
    print("rounds %d, scale %g; time = wall seconds, cpu = user + system "
          "seconds, RSS = peak RSS (ru_maxrss) in MiB; medians" %
          (a.rounds, a.scale))
    allocs = []
    for name, lib in PEERS + [("uslab", a.uslab)]:
        if a.only and name not in a.only:
            continue
        if lib and not os.path.exists(lib):
            print("  %s: skipped, %s is missing" % (name, lib))
        elif lib and not in_effect(lib):
            print("  %s: skipped, %s does not preload" % (name, lib))
        else:
            allocs.append((name, lib))

    if not allocs:
        sys.exit("run.py: no allocator to measure")

    work = tempfile.mkdtemp(prefix="bench-malloc.")
    log = open(a.log, "a")
    res = {}  # (workload, allocator) -> [(seconds, kib, cpu seconds)]
    fails = {}
    try:
        prepare(a, work)
        wl = workloads(a)
        env = dict(os.environ, LC_ALL="C")
        for rnd in range(a.rounds):
            order = allocs[rnd % len(allocs):] + allocs[:rnd % len(allocs)]
            for wname, argv in wl:
                for name, lib in order:
                    log.write("round %d %s %s: %s\n" % (
                        rnd + 1, wname, name, " ".join(argv)))
                    log.flush()
                    run = subprocess.run(
                        command(mrun, lib, work, wname, argv), env=env,
                        stdout=subprocess.PIPE, stderr=log, text=True)
                    out = run.stdout.split()
                    if run.returncode == 3 and not out:
                        fails[(wname, name)] = "unavailable (see the log)"
                        continue
                    if len(out) != 4 or out[2] != "0":
                        fails[(wname, name)] = "exit %s" % (
                            out[2] if len(out) == 4 else "?")
                        continue
                    res.setdefault((wname, name), []).append(
                        (float(out[0]), int(out[1]), float(out[3])))
            print("  round %d of %d done" % (rnd + 1, a.rounds), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    med = {}
    for k, v in res.items():
        med[k] = (statistics.median(x[0] for x in v),
                  statistics.median(x[1] for x in v) / 1024.0,
                  statistics.median(x[2] for x in v))
    hdr = "%-14s %-9s %8s %7s %7s %8s %7s %9s %7s %7s  %s" % (
        "workload", "allocator", "time s", "/glibc", "/mimal", "cpu s",
        "/glibc", "RSS MiB", "/glibc", "/mimal", "runs")
    print()
    print(hdr)
    print("-" * len(hdr))
    tsv = []
    gm = {n: ([], [], [], [], []) for n, _ in allocs}
    for wname, _ in wl:
        for name, _ in allocs:
            m = med.get((wname, name))
            g = med.get((wname, "glibc"))
            mi = med.get((wname, "mimalloc"))
            if m is None:
                print("%-14s %-9s %s" % (wname, name,
                                         fails.get((wname, name), "no run")))
                tsv.append([wname, name] + ["NA"] * 8 +
                           ["0", fails.get((wname, name), "no run")])
                continue
            r = [ratio(m[0], g and g[0]), ratio(m[0], mi and mi[0]),
                 ratio(m[1], g and g[1]), ratio(m[1], mi and mi[1]),
                 ratio(m[2], g and g[2])]
            for i in range(5 if wname not in NOT_IN_GEOMEAN else 0):
                gm[name][i].append(r[i])
            n = len(res[(wname, name)])
            st = fails.get((wname, name), "ok")
            print("%-14s %-9s %8.3f %7s %7s %8.3f %7s %9.1f %7s %7s  %d%s" % (
                wname, name, m[0], fmt(r[0], "7.2f"), fmt(r[1], "7.2f"),
                m[2], fmt(r[4], "7.2f"), m[1], fmt(r[2], "7.2f"),
                fmt(r[3], "7.2f"), n,
                "" if st == "ok" else " (" + st + ")"))
            tsv.append([wname, name, "%.4f" % m[0], "%.0f" % (m[1] * 1024)] +
                       [fmt(x, ".4f") for x in r[:4]] +
                       ["%.4f" % m[2], fmt(r[4], ".4f"), str(n), st])
        print()
    print("geometric means of the ratios over the workloads (not %s):" %
          ", ".join(sorted(NOT_IN_GEOMEAN)))
    print("%-9s %12s %12s %12s %12s %12s" % ("allocator", "time/glibc",
                                             "time/mimal", "RSS/glibc",
                                             "RSS/mimal", "cpu/glibc"))
    for name, _ in allocs:
        print("%-9s %12s %12s %12s %12s %12s" % (
            (name,) + tuple(fmt(geomean(x), "12.3f") for x in gm[name])))
    if a.tsv:
        with open(a.tsv, "w") as f:
            f.write("\t".join(["workload", "allocator", "median_s",
                               "median_peak_rss_kib", "time_vs_glibc",
                               "time_vs_mimalloc", "rss_vs_glibc",
                               "rss_vs_mimalloc", "median_cpu_s",
                               "cpu_vs_glibc", "runs", "status"]) + "\n")
            for row in tsv:
                f.write("\t".join(row) + "\n")


if __name__ == "__main__":
    main()
