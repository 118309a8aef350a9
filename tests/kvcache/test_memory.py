#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""kvcache's memory limit (-m), beside Debian's memcached where it is
installed (make check installs it):

 - size churn: waves of values of one size each, 300 B to 250 KB, each
   set (more than -m) then deleted: kvcache's peak RSS and its RSS after
   everything is deleted are at most memcached's under the same load,
   and its RSS falls back once the items are gone;
 - no calcification: with -m 8 full of 100-byte values, 500 B, 1 KB,
   5 KB and 100 KB values all store;
 - the class table reaches 256 KiB for any -f: with -f 1.01 an item
   lands in a class at most 6% larger than itself (classes stopped at
   1648 B before, every larger item taking a 256 KiB slot).

The probes are examples/kvcache/probe-memory.py's, smaller (6 waves of
40 MB) to take seconds; kvcache runs with USLAB_REAP_MS=300 so that its
reaper gives memory back within the settle time.  Prints PASS/FAIL
lines and a Check summary line; exits 1 on any failure.
"""
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "examples", "kvcache"))
probe = __import__("probe-memory")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
tp = __import__("test_protocol")
check = tp.check

BUILD = os.path.abspath(os.environ.get("USLAB_BUILD", "build"))
# Sanitizers' shadow memory and quarantine make RSS figures meaningless.
CHECK_RSS = "tsan" not in BUILD and "asan" not in BUILD
HAVE_MC = shutil.which("memcached") is not None

def kv_env():
    env = dict(os.environ)
    env["USLAB_REAP_MS"] = "300"
    return env


def test_churn():
    kv = probe.churn("kvcache", BUILD, mem=32, waves=6, wave_mb=40,
                     settle=3, env=kv_env())
    print("kvcache: start %d kB, peak %d kB, after %d kB" %
          (kv["base"], kv["peak"], kv["after"]))
    check(kv["items"] == 0, "every item deleted")
    if not CHECK_RSS:
        return
    # -m bounds the slabs; page descriptors, magazines, the hash table's
    # directory, stacks and the binary come on top: 25% and 8 MB is
    # generous for them, and far below the 537 MB this load once took.
    bound = kv["base"] + 32 * 1024 * 5 // 4 + 8 * 1024
    check(kv["peak"] <= bound, "peak RSS %d kB within -m 32 plus overhead "
          "(%d kB)" % (kv["peak"], bound))
    # Falls back: what is left is the start plus the hash table's chunks
    # and what the reaper has not yet returned.
    check(kv["after"] <= kv["base"] + 8 * 1024,
          "RSS falls back after deleting everything (%d kB, started at "
          "%d kB)" % (kv["after"], kv["base"]))
    if not HAVE_MC:
        print("memcached is not installed: no side-by-side figures")
        return
    mc = probe.churn("memcached", BUILD, mem=32, waves=6, wave_mb=40,
                     settle=0)
    print("memcached: start %d kB, peak %d kB, after %d kB" %
          (mc["base"], mc["peak"], mc["after"]))
    check(kv["peak"] <= mc["peak"], "peak RSS %d kB <= memcached's %d kB" %
          (kv["peak"], mc["peak"]))
    check(kv["after"] <= mc["after"], "RSS after deleting %d kB <= "
          "memcached's %d kB" % (kv["after"], mc["after"]))


def test_full():
    res = probe.full("kvcache", BUILD, mem=8, fill_mb=16)
    for size, answer in res:
        check(answer == "STORED", "-m 8 full of 100 B values: a %d B value "
              "stores (%s)" % (size, answer))
    if HAVE_MC:
        print("memcached: %s" % ", ".join("%d B %s" % r for r in
                                          probe.full("memcached", BUILD)))


def slab_classes(srv):
    """{chunk_size: used_chunks} of the item classes in use."""
    srv.sock.sendall(b"stats slabs\r\n")
    size, used = {}, {}
    while True:
        ln = srv.line()
        if ln == b"END":
            break
        m = re.match(rb"STAT (\d+):(chunk_size|used_chunks) (\d+)", ln)
        if m:
            (size if m.group(2) == b"chunk_size" else used)[
                int(m.group(1))] = int(m.group(3))
    return {size[i]: used.get(i, 0) for i in size}


def test_class_table():
    for factor, slack in (("1.01", 1.06), ("1.25", 1.26), ("2.0", 2.01)):
        srv = probe.Server("kvcache", BUILD, 64, ("-f", factor))
        try:
            for size in (1700, 3000, 20000, 100000, 200000):
                key = b"c%d" % size
                srv.set(key, b"c" * size)
                # header 48, the key, the value: what the class holds
                need = 48 + len(key) + size
                got = slab_classes(srv)
                slot = min((s for s, u in got.items() if u and s >= need),
                           default=0)
                check(need <= slot <= need * slack,
                      "-f %s: %d B item in a %d B slot (at most x%.2f)" %
                      (factor, need, slot, slack))
                srv.sock.sendall(b"delete %s\r\n" % key)
                srv.line()
        finally:
            srv.stop()


def main():
    tp.run_tests((("class table", test_class_table), ("full", test_full),
                  ("churn", test_churn)))
    return tp.summary()


if __name__ == "__main__":
    sys.exit(main())
