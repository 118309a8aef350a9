#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""kvcache's out-of-memory paths, reached with uslab's fault injection.

Each server runs with USLAB_FAILSLAB (the kernel's failslab syntax),
USLAB_FAILSLAB_FILTER=1 and USLAB_DEBUG=A,kv_item_*, so that only the
item caches fail (or one other cache, last case below), at exactly the calls the test chooses:

  - 1,100,0,3: the first three stores answer "SERVER_ERROR out of memory
    storing object", their data blocks are swallowed (the connection
    goes on), a failed set unlinks the key's old value, later stores
    succeed, "stats items" counts 3 outofmemory and uslab-slabtop --json
    shows the 3 injected failures in the item caches;
  - 2,100,0,-1 (every second item allocation fails): incr's
    "SERVER_ERROR out of memory", append's two allocations (the value
    read, then the joined item) failing one at a time, and a chunked
    value whose first chunk fails after its head was allocated (the head
    is freed again: ASan's leak check in that build, at the clean exit);
  - and with USLAB_DEBUG=A,kv_rbuf, kv_obuf or kv_conn_cache instead: a
    connection that cannot get its read buffer, output buffer or
    structure is closed and counted (read_buf_oom, response_obj_oom,
    malloc_fails in "stats").

Reuses test_protocol.py's server and client.  Ends with "NN%: Checks:
N, Failures: F, Errors: E"; exits 1 on any failure.
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
tp = __import__("test_protocol")
check = tp.check

OOM_STORE = b"SERVER_ERROR out of memory storing object"
ITEMS_ONLY = {"USLAB_FAILSLAB_FILTER": "1", "USLAB_DEBUG": "A,kv_item_*"}
SLABTOP = os.path.join(tp.BUILD, "tools", "slabtop", "uslab-slabtop")


def server(spec):
    env = {"USLAB_FAILSLAB": spec}
    env.update(ITEMS_ONLY)
    return tp.Server("-t", "1", "-m", "64", env=env)


def outofmemory(c):
    st = c.stats(b"items")
    return sum(int(v) for k, v in st.items() if k.endswith(":outofmemory"))


def slabtop_failslab(srv):
    """{cache name: injected failures} from uslab-slabtop --json."""
    out = subprocess.run([SLABTOP, "-p", str(srv.proc.pid), "--json"],
                         capture_output=True, timeout=tp.TIMEOUT)
    if out.returncode:
        raise RuntimeError("uslab-slabtop: %s" % out.stderr[:200])
    doc = json.loads(out.stdout)
    return {c["name"]: c["failslab"] for c in doc["caches"]}


def test_first_three():
    srv = server("1,100,0,3")
    try:
        c = srv.conn()
        for i in range(3):
            r = c.store(b"set", b"k%d" % i, b"value %d" % i)
            check(r == OOM_STORE, "store %d of 3 fails: %r" % (i + 1, r))
        check(c.cmd(b"version").startswith(b"VERSION "),
              "data blocks swallowed: the connection goes on")
        check(c.get(b"k0") is None, "a failed set stored nothing")
        for i in range(3, 8):
            check(c.store(b"set", b"k%d" % i, b"value %d" % i) == b"STORED",
                  "store %d succeeds once times are spent" % (i + 1))
        check(c.get(b"k5") == b"value 5", "stored values read back")
        check(outofmemory(c) == 3, "stats items: outofmemory 3")
        fs = slabtop_failslab(srv)
        items = {k: v for k, v in fs.items() if k.startswith("kv_item_")}
        check(sum(items.values()) == 3,
              "uslab-slabtop: 3 injected failures in the item caches "
              "(%s)" % {k: v for k, v in items.items() if v})
        check(sum(fs.values()) == 3, "no other cache failed")
        c.close()
    finally:
        srv.stop("1,100,0,3")


def test_every_second():
    # Every second item allocation fails: the calls below are numbered.
    srv = server("2,100,0,-1")
    try:
        c = srv.conn()
        check(c.store(b"set", b"n", b"5") == b"STORED", "1: set n")
        r = c.store(b"set", b"n", b"9")
        check(r == OOM_STORE, "2: set fails: %r" % r)
        check(c.get(b"n") is None, "a failed set unlinks the old value")
        check(c.store(b"set", b"n", b"5") == b"STORED", "3: set n again")
        r = c.cmd(b"incr n 1")
        check(r == b"SERVER_ERROR out of memory",
              "4: incr cannot allocate its new item: %r" % r)
        check(c.get(b"n") == b"5", "the failed incr left n as it was")
        check(c.cmd(b"incr n 1") == b"6", "5: incr n")
        r = c.store(b"append", b"n", b"0")
        check(r == OOM_STORE, "6: append cannot read its value: %r" % r)
        r = c.store(b"append", b"n", b"0")
        check(r == OOM_STORE, "7, 8: append cannot join: %r" % r)
        check(c.get(b"n") == b"6", "failed appends left n as it was")
        # 9: the chunked item's head; 10: its first chunk fails.
        big = b"x" * (600 * 1024)
        r = c.store(b"set", b"big", big)
        check(r == OOM_STORE, "9, 10: a chunk fails after the head: %r" % r)
        check(c.get(b"big") is None, "nothing stored of it")
        check(outofmemory(c) == 5, "stats items: outofmemory 5")
        check(c.cmd(b"version").startswith(b"VERSION "), "server answers")
        c.close()
    finally:
        srv.stop("2,100,0,-1")


def test_buffers():
    """memcached's read_buf_oom, response_obj_oom and malloc_fails: a
    read buffer, an output buffer or a connection that cannot be had
    closes its connection and is counted in "stats"."""
    # The call that fails is the test's connection's first.  The ones
    # before are tp.Server's readiness check's: a read buffer for its
    # "version" and one for the read that finds it closed, an output
    # buffer, a connection (and before it the -t 1 worker's probe of
    # its node at start).
    for cache, spec, stat in (("kv_rbuf", "3,100,0,1", "read_buf_oom"),
                              ("kv_obuf", "2,100,0,1", "response_obj_oom"),
                              ("kv_conn_cache", "3,100,0,1",
                               "malloc_fails")):
        srv = tp.Server("-t", "1", env={
            "USLAB_FAILSLAB": spec, "USLAB_FAILSLAB_FILTER": "1",
            "USLAB_DEBUG": "A," + cache})
        try:
            c = srv.conn()
            c.send(b"version\r\n")
            try:
                closed = c.line() is None
            except (EOFError, ConnectionResetError):
                closed = True  # reset when "version" was left unread
            check(closed, "%s fails: the connection closes" % cache)
            c.close()
            c = srv.conn()
            st = c.stats()
            counts = {k: st[k] for k in ("read_buf_oom", "response_obj_oom",
                                          "malloc_fails")}
            check(counts == dict({k: "0" for k in counts}, **{stat: "1"}),
                  "%s fails once: %s 1, the others 0 (%r)" %
                  (cache, stat, counts))
            check(c.cmd(b"stats reset") == b"RESET" and
                  c.stats()[stat] == "0", "stats reset: %s 0" % stat)
            c.close()
        finally:
            srv.stop(cache)


def main():
    tp.run_tests((("first three", test_first_three),
                  ("every second", test_every_second),
                  ("buffers", test_buffers)))
    return tp.summary()


if __name__ == "__main__":
    tp.run_main(main)
