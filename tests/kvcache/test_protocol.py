#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""kvcache against memcached's text protocol (doc/protocol.txt), over
real sockets.

Starts its own servers ($USLAB_BUILD/examples/kvcache/kvcache, default
build/) on free loopback ports and stops them with SIGTERM, checking that
each exits 0.  Covers every command (get/gets with several keys, set, add,
replace, append, prepend, cas with conflicts, delete, incr/decr with wrap
and underflow, touch, gat/gats, flush_all with and without delay,
version, verbosity, quit, stats, stats slabs/items/settings), noreply
everywhere it is allowed, expiry (relative, absolute, negative), values
larger than uslab's largest object (chunked items), eviction and "out of
memory" under a small -m, then bad input (malformed and unknown commands,
oversized keys and values, wrong byte counts, binary junk, endless lines,
clients that disconnect mid-value, thousands of idle connections, more
connections than -c) after which the data stored at the start is read
back byte for byte, several clients in parallel with their data verified
afterwards, and a server on a fake two-node topology.

Prints PASS/FAIL lines and ends with "NN%: Checks: N, Failures: F,
Errors: E"; exits 1 on any failure.
"""
import os
import random
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback

BUILD = os.environ.get("USLAB_BUILD", "build")
SERVER = os.path.join(BUILD, "examples", "kvcache", "kvcache")
TIMEOUT = 20 if "asan" in BUILD or "tsan" in BUILD else 10
# TSan's shadow memory makes RSS figures meaningless.
CHECK_RSS = "tsan" not in BUILD

checks = failures = errors = 0


def check(cond, what):
    global checks, failures
    checks += 1
    if cond:
        print("PASS: %s" % what)
    else:
        failures += 1
        print("FAIL: %s" % what)
    sys.stdout.flush()
    return cond


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             timeout=TIMEOUT)
        self.buf = b""

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        d = self.sock.recv(1 << 20)
        if not d:
            raise EOFError("connection closed")
        self.buf += d

    def line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        i = self.buf.index(b"\r\n")
        ln, self.buf = self.buf[:i], self.buf[i + 2:]
        return ln

    def exact(self, n):
        while len(self.buf) < n:
            self._fill()
        d, self.buf = self.buf[:n], self.buf[n:]
        return d

    def cmd(self, line):
        self.send(line + b"\r\n")
        return self.line()

    def eof(self):
        """True if the server closes the connection (after any data)."""
        try:
            while True:
                self._fill()
        except EOFError:
            return True
        except (ConnectionResetError, socket.timeout):
            return False

    def store(self, cmd, key, data, flags=0, exptime=0, cas=None,
              noreply=False):
        line = b"%s %s %d %d %d" % (cmd, key, flags, exptime, len(data))
        if cas is not None:
            line += b" %d" % cas
        if noreply:
            line += b" noreply"
        self.send(line + b"\r\n" + data + b"\r\n")
        return None if noreply else self.line()

    def retrieve(self, line):
        """Send a get-like line; {key: (flags, data, cas)} in order."""
        self.send(line + b"\r\n")
        out = {}
        while True:
            ln = self.line()
            if ln == b"END":
                return out
            parts = ln.split(b" ")
            if parts[0] != b"VALUE":
                raise ValueError("unexpected %r" % ln[:80])
            n = int(parts[3])
            data = self.exact(n + 2)
            if data[-2:] != b"\r\n":
                raise ValueError("value not followed by \\r\\n")
            out[parts[1]] = (int(parts[2]), data[:-2],
                             int(parts[4]) if len(parts) > 4 else None)

    def get(self, key):
        v = self.retrieve(b"get " + key)
        return v[key][1] if key in v else None

    def stats(self, group=b""):
        self.send(b"stats" + (b" " + group if group else b"") + b"\r\n")
        out = {}
        while True:
            ln = self.line()
            if ln == b"END":
                return out
            parts = ln.split(b" ", 2)
            if parts[0] != b"STAT" or len(parts) != 3:
                raise ValueError("bad stats line %r" % ln)
            out[parts[1].decode()] = parts[2].decode()


# Every server started, so that none outlives the test, whatever failed.
started = []


def kill_leftovers():
    for srv in started:
        if srv.proc.poll() is None:
            srv.proc.kill()
            srv.proc.wait()


class Server:
    def __init__(self, *args, env=None):
        self.args = [str(a) for a in args]
        for attempt in range(3):
            self.port = free_port()
            e = dict(os.environ)
            e.setdefault("ASAN_OPTIONS", "abort_on_error=1:detect_leaks=1")
            if env:
                e.update(env)
            self.proc = subprocess.Popen([SERVER, "-p", str(self.port)] +
                                         self.args, env=e,
                                         stdin=subprocess.DEVNULL)
            started.append(self)
            if self._wait_ready():
                return
            self.proc.kill()
            self.proc.wait()
        raise RuntimeError("server did not start")

    def _wait_ready(self):
        deadline = time.time() + TIMEOUT
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                c = Conn(self.port)
                ok = c.cmd(b"version").startswith(b"VERSION ")
                c.close()
                if ok:
                    return True
            except OSError:
                time.sleep(0.05)
        return False

    def conn(self):
        return Conn(self.port)

    def rss_kb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for ln in f:
                if ln.startswith("VmRSS:"):
                    return int(ln.split()[1])
        return 0

    def stop(self, what):
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=TIMEOUT * 3)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        check(rc == 0, "%s: SIGTERM: clean exit 0 (got %s)" % (what, rc))


def rand_bytes(rng, n):
    return bytes(rng.getrandbits(8) for _ in range(n))


# ---- Commands ---------------------------------------------------------

def test_storage(c):
    check(c.cmd(b"version").startswith(b"VERSION "), "version")
    check(c.store(b"set", b"s1", b"hello", flags=42) == b"STORED", "set")
    v = c.retrieve(b"get s1")
    check(v == {b"s1": (42, b"hello", None)}, "get returns value and flags")
    check(c.store(b"set", b"s1", b"world") == b"STORED", "set overwrites")
    check(c.get(b"s1") == b"world", "get sees the new value")
    check(c.store(b"set", b"empty", b"") == b"STORED", "set empty value")
    check(c.retrieve(b"get empty") == {b"empty": (0, b"", None)},
          "get empty value")
    check(c.store(b"set", b"fl", b"x", flags=4294967295) == b"STORED" and
          c.retrieve(b"get fl")[b"fl"][0] == 4294967295, "32-bit flags")
    check(c.store(b"add", b"s1", b"nope") == b"NOT_STORED",
          "add existing: NOT_STORED")
    check(c.store(b"add", b"a1", b"new") == b"STORED", "add new: STORED")
    check(c.get(b"a1") == b"new", "add stored")
    check(c.store(b"replace", b"nokey", b"x") == b"NOT_STORED",
          "replace missing: NOT_STORED")
    check(c.store(b"replace", b"a1", b"repl", flags=7) == b"STORED",
          "replace existing: STORED")
    check(c.retrieve(b"get a1")[b"a1"][:2] == (7, b"repl"),
          "replace took value and flags")
    check(c.store(b"append", b"a1", b"-tail", flags=9) == b"STORED",
          "append: STORED")
    check(c.store(b"prepend", b"a1", b"head-") == b"STORED",
          "prepend: STORED")
    check(c.retrieve(b"get a1")[b"a1"][:2] == (7, b"head-repl-tail"),
          "append/prepend keep flags, join values")
    check(c.store(b"append", b"nokey", b"x") == b"NOT_STORED",
          "append missing: NOT_STORED")
    check(c.store(b"prepend", b"nokey", b"x") == b"NOT_STORED",
          "prepend missing: NOT_STORED")
    binval = bytes(range(256)) + b"\r\n\r\nEND\r\n" + bytes(range(255, -1, -1))
    check(c.store(b"set", b"bin", binval) == b"STORED" and
          c.get(b"bin") == binval, "binary value with \\r\\n inside")


def test_cas(c):
    c.store(b"set", b"c1", b"v1")
    v = c.retrieve(b"gets c1")
    cas1 = v[b"c1"][2]
    check(cas1 is not None and v[b"c1"][1] == b"v1", "gets returns a cas")
    v2 = c.retrieve(b"gets c1")
    check(v2[b"c1"][2] == cas1, "cas unchanged without update")
    check(c.store(b"cas", b"c1", b"v2", cas=cas1) == b"STORED",
          "cas with current unique: STORED")
    check(c.store(b"cas", b"c1", b"v3", cas=cas1) == b"EXISTS",
          "cas with stale unique: EXISTS")
    check(c.get(b"c1") == b"v2", "failed cas left the value")
    other = Conn(c.sock.getpeername()[1])
    cas2 = c.retrieve(b"gets c1")[b"c1"][2]
    check(other.store(b"set", b"c1", b"by-other") == b"STORED",
          "another client updates")
    check(c.store(b"cas", b"c1", b"mine", cas=cas2) == b"EXISTS",
          "cas after another client's update: EXISTS")
    check(c.get(b"c1") == b"by-other", "the other client's value stays")
    other.close()
    check(c.store(b"cas", b"nokey", b"x", cas=1) == b"NOT_FOUND",
          "cas missing: NOT_FOUND")
    c.store(b"set", b"c2", b"x")
    u1 = c.retrieve(b"gets c2")[b"c2"][2]
    c.store(b"append", b"c2", b"y")
    u2 = c.retrieve(b"gets c2")[b"c2"][2]
    check(u2 != u1, "append changes the cas unique")


def test_get_multi(c):
    for i in range(5):
        c.store(b"set", b"m%d" % i, b"value-%d" % i, flags=i)
    v = c.retrieve(b"get m0 m1 missing m2 m3 m4")
    check(list(v) == [b"m0", b"m1", b"m2", b"m3", b"m4"] and
          all(v[b"m%d" % i][:2] == (i, b"value-%d" % i) for i in range(5)),
          "get of several keys, one missing: in order")
    v = c.retrieve(b"gets m0 m4")
    check(len(v) == 2 and all(x[2] for x in v.values()),
          "gets of several keys carries cas uniques")
    check(c.retrieve(b"get nothere nothere2") == {}, "get all missing: END")
    keys = [b"mk%04d" % i for i in range(3000)]
    for i in range(0, 3000, 300):
        c.send(b"".join(b"set %s 0 0 %d noreply\r\n%s\r\n" %
                        (k, len(k) * 3, k * 3) for k in keys[i:i + 300]))
    v = c.retrieve(b"get " + b" ".join(keys))
    check(len(v) == 3000 and all(v[k][1] == k * 3 for k in keys),
          "get of 3000 keys on a 20 KB line")


def test_arith(c):
    c.store(b"set", b"n", b"10", flags=5)
    check(c.cmd(b"incr n 5") == b"15", "incr")
    check(c.cmd(b"decr n 6") == b"9", "decr")
    check(c.retrieve(b"get n")[b"n"][:2] == (5, b"9"),
          "decr shrinking the length; flags kept")
    check(c.cmd(b"decr n 100") == b"0", "decr below 0 gives 0")
    c.store(b"set", b"n", b"18446744073709551615")
    check(c.cmd(b"incr n 1") == b"0", "incr wraps at 2^64")
    check(c.cmd(b"incr n 18446744073709551615") ==
          b"18446744073709551615", "incr by 2^64-1")
    check(c.cmd(b"incr nokey 1") == b"NOT_FOUND", "incr missing: NOT_FOUND")
    check(c.cmd(b"decr nokey 1") == b"NOT_FOUND", "decr missing: NOT_FOUND")
    c.store(b"set", b"txt", b"abc")
    check(c.cmd(b"incr txt 1") ==
          b"CLIENT_ERROR cannot increment or decrement non-numeric value",
          "incr non-numeric value")
    c.store(b"set", b"big", b"18446744073709551616")
    check(c.cmd(b"decr big 1") ==
          b"CLIENT_ERROR cannot increment or decrement non-numeric value",
          "decr of a value above 2^64-1")
    c.store(b"set", b"n", b"1")
    check(c.cmd(b"incr n abc") ==
          b"CLIENT_ERROR invalid numeric delta argument", "incr bad delta")
    check(c.cmd(b"incr n -1") ==
          b"CLIENT_ERROR invalid numeric delta argument",
          "incr negative delta")
    check(c.cmd(b"incr n 18446744073709551616") ==
          b"CLIENT_ERROR invalid numeric delta argument",
          "incr delta above 2^64-1")
    c.store(b"set", b"n", b"99")
    check(c.cmd(b"incr n 1") == b"100" and c.get(b"n") == b"100",
          "incr growing the length")


def test_delete_touch(c):
    c.store(b"set", b"d1", b"x")
    check(c.cmd(b"delete d1") == b"DELETED", "delete: DELETED")
    check(c.get(b"d1") is None, "deleted key is gone")
    check(c.cmd(b"delete d1") == b"NOT_FOUND", "delete missing: NOT_FOUND")
    c.store(b"set", b"d2", b"x")
    check(c.cmd(b"delete d2 0") == b"DELETED", "delete <key> 0 (legacy)")
    check(c.cmd(b"delete d2 5") == b"CLIENT_ERROR bad command line format."
          b"  Usage: delete <key> [noreply]", "delete with a time: error")
    c.store(b"set", b"t1", b"x")
    check(c.cmd(b"touch t1 100") == b"TOUCHED", "touch: TOUCHED")
    check(c.cmd(b"touch nokey 100") == b"NOT_FOUND", "touch missing")
    check(c.cmd(b"touch t1 abc") == b"CLIENT_ERROR invalid exptime argument",
          "touch bad exptime")
    c.store(b"set", b"g1", b"gv", flags=3)
    v = c.retrieve(b"gat 100 g1 nokey")
    check(v == {b"g1": (3, b"gv", None)}, "gat returns the value")
    v = c.retrieve(b"gats 100 g1")
    check(v[b"g1"][2] is not None, "gats returns a cas unique")
    check(c.cmd(b"gat abc g1") == b"CLIENT_ERROR invalid exptime argument",
          "gat bad exptime")


def test_misc(c):
    check(c.cmd(b"verbosity 1") == b"OK", "verbosity")
    check(c.cmd(b"verbose 0") == b"OK", "verbose")
    check(c.cmd(b"verbosity") == b"ERROR", "verbosity without level")
    s = c.stats(b"settings")
    check(s.get("item_size_max") == "1048576" and "maxconns" in s,
          "stats settings")
    q = c.sock.getpeername()[1]
    d = Conn(q)
    d.send(b"quit\r\n")
    check(d.eof(), "quit closes the connection")
    d.close()


def test_noreply(c):
    cmds = [b"set nr1 1 0 2 noreply\r\nv1\r\n",
            b"set nr2 0 0 1 noreply\r\n5\r\n",
            b"add nr1 0 0 1 noreply\r\nX\r\n",
            b"add nr3 0 0 2 noreply\r\nv3\r\n",
            b"replace nr3 0 0 3 noreply\r\nv3b\r\n",
            b"replace nokey 0 0 1 noreply\r\nX\r\n",
            b"append nr1 0 0 2 noreply\r\n-a\r\n",
            b"prepend nr1 0 0 2 noreply\r\np-\r\n",
            b"incr nr2 10 noreply\r\n",
            b"decr nr2 3 noreply\r\n",
            b"touch nr3 1000 noreply\r\n",
            b"delete nr3 noreply\r\n",
            b"delete nokey noreply\r\n",
            b"cas nr1 0 0 1 1 noreply\r\nZ\r\n",
            b"verbosity 0 noreply\r\n",
            b"set big-nr 0 0 2000000 noreply\r\n" + b"b" * 2000000 + b"\r\n",
            b"incr nr1 1 noreply\r\n",
            b"set nr4 0 0 2 noreply\r\nxy!!"]
    c.send(b"".join(cmds))
    check(c.cmd(b"version").startswith(b"VERSION "),
          "noreply on every command: no reply, not even errors")
    check(c.retrieve(b"get nr1")[b"nr1"][:2] == (1, b"p-v1-a"),
          "noreply set/add/append/prepend/cas took effect")
    check(c.get(b"nr2") == b"12", "noreply incr/decr took effect")
    check(c.get(b"nr3") is None, "noreply replace/delete took effect")
    check(c.get(b"nr4") is None, "noreply bad data chunk: not stored")
    gets = c.retrieve(b"gets nr1")
    c.send(b"cas nr1 0 0 2 %d noreply\r\nOK\r\n" % gets[b"nr1"][2])
    check(c.cmd(b"version").startswith(b"VERSION ") and
          c.get(b"nr1") == b"OK", "noreply cas with the right unique")
    c.store(b"set", b"fa", b"x")
    c.send(b"flush_all noreply\r\n")
    check(c.cmd(b"version").startswith(b"VERSION ") and c.get(b"fa") is None,
          "noreply flush_all")


def test_expiry(srv):
    c = srv.conn()
    now = int(time.time())
    check(c.store(b"set", b"e1", b"x", exptime=1) == b"STORED",
          "set exptime 1")
    c.store(b"set", b"e2", b"x", exptime=100)
    c.store(b"set", b"e3", b"x", exptime=-1)
    c.store(b"set", b"e4", b"x", exptime=now + 1)
    c.store(b"set", b"e5", b"x", exptime=now + 100)
    c.store(b"set", b"e6", b"x", exptime=1)
    c.cmd(b"touch e6 100")
    c.store(b"set", b"e7", b"x", exptime=100)
    c.cmd(b"touch e7 1")
    c.store(b"set", b"e8", b"x", exptime=1)
    c.retrieve(b"gat 100 e8")
    c.store(b"set", b"e9", b"x", exptime=1000)
    c.send(b"touch e9 -1\r\n")
    c.line()
    before = c.stats()
    check(c.get(b"e3") is None, "negative exptime: expired at once")
    check(c.get(b"e9") is None, "touch with negative exptime: expired")
    check(int(c.stats()["get_expired"]) - int(before["get_expired"]) == 2,
          "stats get_expired counts expired items asked for")
    check(c.get(b"e2") == b"x" and c.get(b"e5") == b"x",
          "future expiry: present")
    c.store(b"set", b"f1", b"x")
    check(c.cmd(b"flush_all 2") == b"OK", "flush_all with delay: OK")
    check(c.get(b"f1") == b"x", "delayed flush: items still there")
    before = c.stats()
    time.sleep(2.2)
    check(c.get(b"e1") is None, "exptime 1: gone after 2 s")
    check(c.get(b"e4") is None, "absolute exptime: gone after 2 s")
    check(c.get(b"e7") is None, "touch shortened the expiry")
    check(c.get(b"f1") is None and c.get(b"e2") is None and
          c.get(b"e6") is None and c.get(b"e8") is None,
          "delayed flush_all ran")
    check(int(c.stats()["get_flushed"]) - int(before["get_flushed"]) >= 4,
          "stats get_flushed counts flushed items asked for")
    check(c.store(b"set", b"f2", b"y") == b"STORED" and c.get(b"f2") == b"y",
          "items stored after the flush survive")
    c.store(b"set", b"f3", b"z")
    check(c.cmd(b"flush_all") == b"OK" and c.get(b"f3") is None and
          c.get(b"f2") is None, "flush_all now")
    check(c.cmd(b"flush_all abc") == b"CLIENT_ERROR invalid exptime argument",
          "flush_all bad delay")
    c.close()


def test_large(c):
    rng = random.Random(7)
    for size in (200 * 1024, 256 * 1024, 300 * 1024, 700 * 1024,
                 1024 * 1024 - 512):
        val = rand_bytes(rng, size)
        ok = c.store(b"set", b"L%d" % size, val) == b"STORED"
        check(ok and c.get(b"L%d" % size) == val,
              "value of %d bytes round trip" % size)
    v1 = rand_bytes(rng, 300000)
    c.store(b"set", b"Lap", v1)
    check(c.store(b"append", b"Lap", b"tail" * 1000) == b"STORED" and
          c.store(b"prepend", b"Lap", b"head" * 100) == b"STORED" and
          c.get(b"Lap") == b"head" * 100 + v1 + b"tail" * 1000,
          "append/prepend on a chunked value")
    c.store(b"set", b"Lbig", b"keep")
    r = c.store(b"set", b"Lbig", b"x" * (1024 * 1024 + 1))
    check(r == b"SERVER_ERROR object too large for cache",
          "value above -I: SERVER_ERROR object too large for cache")
    check(c.cmd(b"version").startswith(b"VERSION "),
          "too large value: its data block was swallowed")
    check(c.get(b"Lbig") is None, "failed set removed the old value")
    r = c.store(b"append", b"Lap", b"x" * 800000)
    check(r == b"SERVER_ERROR object too large for cache",
          "append beyond -I refused")
    check(c.get(b"Lap") == b"head" * 100 + v1 + b"tail" * 1000,
          "refused append left the value")


def test_stats(srv, c):
    s0 = c.stats()
    for k in ("pid", "uptime", "time", "version", "curr_connections",
              "total_connections", "cmd_get", "cmd_set", "get_hits",
              "get_misses", "curr_items", "total_items", "evictions",
              "bytes", "limit_maxbytes", "threads", "delete_hits",
              "incr_hits", "cas_badval", "touch_hits", "bytes_read",
              "bytes_written", "rusage_user", "max_connections"):
        check(k in s0, "stats has %s" % k)
    check(int(s0["pid"]) == srv.proc.pid, "stats pid is the server's")
    check(abs(int(s0["time"]) - time.time()) <= 3, "stats time is now")
    check(s0["limit_maxbytes"] == str(64 << 20), "limit_maxbytes is -m")
    check(s0["threads"] == "2", "threads is -t")
    c.store(b"set", b"st1", b"v")
    c.get(b"st1")
    c.get(b"st-missing")
    s1 = c.stats()
    check(int(s1["cmd_set"]) - int(s0["cmd_set"]) == 1 and
          int(s1["get_hits"]) - int(s0["get_hits"]) == 1 and
          int(s1["get_misses"]) - int(s0["get_misses"]) == 1 and
          int(s1["cmd_get"]) - int(s0["cmd_get"]) == 2,
          "stats count sets, hits and misses")
    check(int(s1["curr_items"]) >= 1 and int(s1["bytes"]) > 0 and
          int(s1["total_items"]) >= int(s1["curr_items"]),
          "curr_items, total_items, bytes")
    sl = c.stats(b"slabs")
    classes = {k.split(":")[0] for k in sl if ":" in k}
    check(len(classes) >= 1 and "active_slabs" in sl and
          "total_malloced" in sl, "stats slabs lists classes and totals")
    ok = True
    used = 0
    for cl in classes:
        for f in ("chunk_size", "chunks_per_page", "total_pages",
                  "total_chunks", "used_chunks", "free_chunks",
                  "get_hits", "cmd_set", "efficiency", "page_size"):
            ok &= ("%s:%s" % (cl, f)) in sl
        total = int(sl[cl + ":total_chunks"])
        ok &= total == int(sl[cl + ":used_chunks"]) + \
            int(sl[cl + ":free_chunks"])
        ok &= total == int(sl[cl + ":total_pages"]) * \
            int(sl[cl + ":chunks_per_page"])
        used += int(sl[cl + ":used_chunks"])
    check(ok, "stats slabs: every field, chunks add up")
    check(used >= int(s1["curr_items"]),
          "stats slabs used chunks cover the items")
    check(int(sl["active_slabs"]) == len(classes), "active_slabs")
    it = c.stats(b"items")
    check(any(k.endswith(":number") for k in it), "stats items")
    check(c.cmd(b"stats nonsense") == b"ERROR", "stats unknown group: ERROR")
    check(c.cmd(b"stats reset") == b"RESET", "stats reset")
    s2 = c.stats()
    check(int(s2["cmd_get"]) == 0 and int(s2["curr_items"]) ==
          int(s1["curr_items"]), "stats reset zeroes counters, not items")


# ---- Memory limit -----------------------------------------------------

def test_eviction():
    srv = Server("-m", 2, "-t", 2)
    c = srv.conn()
    c.store(b"set", b"hot", b"h" * 1000)
    n = 6000
    for i in range(n):
        c.send(b"set ev%05d 0 0 1000 noreply\r\n%s\r\n" %
               (i, (b"%05d" % i) * 200))
        if i % 200 == 0:
            c.get(b"hot")
    check(c.cmd(b"version").startswith(b"VERSION "),
          "6 MB of sets into -m 2 all accepted")
    s = c.stats()
    check(int(s["evictions"]) > 0, "evictions counted (%s)" % s["evictions"])
    check(int(c.stats(b"uslab")["slot_bytes"]) <= 2 << 20,
          "slot bytes within -m")
    check(int(s["curr_items"]) * 1000 < 2 << 20 and
          int(s["curr_items"]) > 500, "items fit the limit (%s)" %
          s["curr_items"])
    last = [b"ev%05d" % i for i in range(n - 50, n)]
    v = c.retrieve(b"get " + b" ".join(last))
    check(len(v) == 50 and all(v[k][1] == k[2:] * 200 for k in last),
          "newest items present and intact")
    check(c.get(b"ev00000") is None and c.get(b"ev00001") is None,
          "oldest items evicted")
    check(c.get(b"hot") == b"h" * 1000,
          "an item read all along survived (LRU)")
    it = c.stats(b"items")
    check(any(k.endswith(":evicted") and int(v) > 0 for k, v in it.items()),
          "stats items: evicted per class")
    # Too big for the small chunks -m 2 allows: chunked in 8 KiB
    # objects (slabs of 128 KiB), read back whole.
    big = bytes(range(256)) * 3515
    check(c.store(b"set", b"big", big) == b"STORED" and
          c.get(b"big") == big, "-m 2: a 900 KB value stored in small chunks")
    # One that no layout fits in half of -m: out of memory, data swallowed.
    r = c.store(b"set", b"huge", b"x" * 1040000)
    check(r == b"SERVER_ERROR out of memory storing object",
          "nothing evictable: SERVER_ERROR out of memory storing object")
    check(c.cmd(b"version").startswith(b"VERSION "),
          "out of memory: data block swallowed")
    check(int(c.stats()["store_no_memory"]) >= 1, "store_no_memory counted")
    # Expired items are reclaimed before live ones are evicted.
    c.send(b"flush_all\r\n")
    c.line()
    for i in range(3000):
        c.send(b"set rc%05d 0 0 1000 noreply\r\n%s\r\n" % (i, b"r" * 1000))
    c.cmd(b"version")
    check(int(c.stats()["reclaimed"]) > 0, "flushed items reclaimed first")
    if CHECK_RSS:
        check(srv.rss_kb() < 48 * 1024, "RSS bounded (%d kB) with -m 2" %
              srv.rss_kb())
    c.close()
    srv.stop("-m 2 server")


# ---- Bad input --------------------------------------------------------

def test_bad_input(srv, reference):
    c = srv.conn()
    check(c.cmd(b"bogus") == b"ERROR", "unknown command: ERROR")
    check(c.cmd(b"") == b"ERROR", "empty line: ERROR")
    check(c.cmd(b"GET x") == b"ERROR", "commands are case-sensitive")
    check(c.cmd(b"get") == b"ERROR", "get without key: ERROR")
    check(c.cmd(b"set k 0 0") == b"ERROR", "set with too few tokens: ERROR")
    check(c.cmd(b"set a b c d e f g h i") == b"ERROR",
          "set with too many tokens: ERROR")
    c.send(b"set k abc 0 1\r\nX\r\n")
    check(c.line() == b"CLIENT_ERROR bad command line format" and
          c.cmd(b"version").startswith(b"VERSION "),
          "bad flags: CLIENT_ERROR, data block swallowed")
    c.send(b"set k 0 0 -5\r\n")
    check(c.line() == b"CLIENT_ERROR bad command line format",
          "negative length: CLIENT_ERROR")
    c.send(b"set k 0 0 5x\r\n")
    check(c.line() == b"CLIENT_ERROR bad command line format",
          "bad length: CLIENT_ERROR")
    c.send(b"set k 4294967296 0 1\r\nX\r\n")
    check(c.line() == b"CLIENT_ERROR bad command line format",
          "flags above 32 bits: CLIENT_ERROR")
    long_key = b"K" * 251
    r = c.store(b"set", long_key, b"value")
    check(r == b"CLIENT_ERROR bad command line format" and
          c.cmd(b"version").startswith(b"VERSION "),
          "251-byte key: CLIENT_ERROR, data block swallowed")
    check(c.cmd(b"get " + long_key) == b"CLIENT_ERROR bad command line format",
          "get of a 251-byte key: CLIENT_ERROR")
    check(c.cmd(b"get ok " + long_key) ==
          b"CLIENT_ERROR bad command line format",
          "multi-get with one 251-byte key: CLIENT_ERROR only")
    k250 = b"Q" * 250
    check(c.store(b"set", k250, b"v250") == b"STORED" and c.get(k250) ==
          b"v250", "250-byte key works")
    c.store(b"set", b"wb", b"orig")
    c.send(b"set wb 0 0 3\r\nabcde\r\n")
    check(c.line() == b"CLIENT_ERROR bad data chunk",
          "more bytes than announced: CLIENT_ERROR bad data chunk")
    check(c.line() == b"ERROR", "then the rest is a (bad) command line")
    c.send(b"set wb 0 0 5\r\nab\r\n")
    c.send(b"XYZ\r\n")
    check(c.line() == b"CLIENT_ERROR bad data chunk" and c.line() == b"ERROR",
          "fewer bytes than announced: the next line completes the block,"
          " CLIENT_ERROR bad data chunk")
    check(c.get(b"wb") == b"orig", "bad data chunk left the old value")
    check(c.store(b"set", b"tl", b"y" * (2 << 20)) ==
          b"SERVER_ERROR object too large for cache" and
          c.cmd(b"version").startswith(b"VERSION "),
          "2 MB value: SERVER_ERROR, data swallowed")
    check(c.cmd(b"incr") == b"ERROR" and c.cmd(b"touch x") == b"ERROR" and
          c.cmd(b"delete") == b"ERROR" and c.cmd(b"gat") == b"ERROR",
          "commands missing arguments: ERROR")
    rng = random.Random(3)
    junk_lines = [bytes(rng.randrange(0x80, 0x100) for _ in range(60))
                  for _ in range(50)]
    c.send(b"\n".join(junk_lines) + b"\n")
    check(all(c.line() == b"ERROR" for _ in junk_lines),
          "50 lines of binary junk: ERROR each")
    c.send(b"\x00\x01\x02 \x80\x81\r\n")
    check(c.line() == b"ERROR", "NUL and control bytes: ERROR")
    check(c.cmd(b"version").startswith(b"VERSION "),
          "connection still serves after junk")
    c.close()

    d = srv.conn()
    d.send(b"x" * 3000)
    check(d.line() == b"CLIENT_ERROR line too long" and d.eof(),
          "3000 bytes without newline: CLIENT_ERROR line too long, closed")
    d.close()
    d = srv.conn()
    d.send(b"set k 0 0 1 " + b"z" * 2100 + b"\r\n")
    check(d.line() == b"CLIENT_ERROR line too long" and d.eof(),
          "2100-byte set line: CLIENT_ERROR line too long, closed")
    d.close()
    d = srv.conn()
    d.send(bytes(random.Random(5).getrandbits(8) for _ in range(100000))
           .replace(b"\n", b"."))
    check(d.eof(), "100 KB of binary junk without newline: closed")
    d.close()

    for n in (0, 100, 70000, 500000):
        d = srv.conn()
        d.send(b"set mid%d 0 0 900000\r\n" % n + b"m" * n)
        d.close()
    d = srv.conn()
    d.send(b"get abc")
    d.close()
    d = srv.conn()
    d.send(b"get " + b"k " * 1000)
    d.close()
    time.sleep(0.3)
    e = srv.conn()
    check(all(e.get(b"mid%d" % n) is None for n in (0, 100, 70000, 500000)),
          "clients gone mid-value: nothing stored")

    # Thousands of idle connections.
    idle = []
    try:
        for _ in range(2000):
            idle.append(srv.conn())
        deadline = time.time() + TIMEOUT
        while True:
            s = e.stats()
            if int(s["curr_connections"]) >= 2000 or time.time() > deadline:
                break
            time.sleep(0.1)
        check(int(s["curr_connections"]) >= 2000,
              "2000 idle connections open (%s)" % s["curr_connections"])
        check(e.store(b"set", b"busy", b"yes") == b"STORED" and
              e.get(b"busy") == b"yes", "server serves with 2000 idle ones")
        check(all(x.cmd(b"version").startswith(b"VERSION ")
                  for x in idle[::100]), "idle connections still answer")
        if CHECK_RSS:
            check(srv.rss_kb() < 120 * 1024,
                  "2000 idle connections cost little (RSS %d kB)" %
                  srv.rss_kb())
    finally:
        for x in idle:
            x.close()
    check(e.cmd(b"version").startswith(b"VERSION "), "after idle ones left")

    # Earlier data, byte for byte.
    bad = [k for k, v in reference.items() if e.get(k) != v]
    check(not bad, "data stored before the bad input intact (%d keys, %d bad)"
          % (len(reference), len(bad)))
    s = e.stats()
    s.update(e.stats(b"uslab"))
    check(int(s["slot_bytes"]) <= int(s["limit_maxbytes"]),
          "memory within -m after bad input")
    e.close()


def class_of(stats_slabs, chunk_min, chunk_max):
    """The "stats slabs" class number whose chunk size is in range."""
    for k, v in stats_slabs.items():
        if k.endswith(":chunk_size") and chunk_min <= int(v) <= chunk_max:
            return k.split(":")[0]
    return None


def test_evict_per_store():
    """Once memory is full, a store whose class has no free slot evicts
    its class's LRU tail, one item per store, as memcached does; a class
    whose items are young beside the others' still takes memory from
    them (no calcification)."""
    srv = Server("-m", 8, "-t", 1, "-o", "watcher_logbuf_size=8")
    c = srv.conn()
    w = srv.conn()
    val = b"v" * 1000
    for i in range(12000):
        c.send(b"set ps%05d 0 0 1000 noreply\r\n%s\r\n" % (i, val))
    c.cmd(b"version")
    # Before the figures: the watcher's ring may take a slab.
    r = w.cmd(b"watch evictions")
    check(r == b"OK", "watch evictions: %r" % r)
    ev0 = int(c.stats()["evictions"])
    check(ev0 > 0, "-m 8 filled: %d evictions" % ev0)
    got, replies, last = [], set(), ev0
    for i in range(300):
        replies.add(c.store(b"set", b"pn%03d" % i, val))
        ev = int(c.stats()["evictions"])
        got.append(ev - last)
        last = ev
    check(replies == {b"STORED"}, "300 stores after the fill: %r" % replies)
    # The first ones may take free slots, or a new slab if the watcher's
    # ring gave pages back; then each store evicts exactly one item.
    check(set(got) <= {0, 1} and got[200:] == [1] * 100,
          "once the class is full, each store evicts one item (%r)" % got)
    want = [last - ev0]
    time.sleep(0.3)
    w.sock.settimeout(2)
    lines = b""
    try:
        while lines.count(b"\n") < want[-1]:
            lines += w.sock.recv(65536)
    except socket.timeout:
        pass
    nums = [int(k[2:]) for k in
            re.findall(rb"type=eviction key=ps(\d+)", lines)]
    # Read nothing of the class now: a hit would make its tail young.
    check(len(nums) == want[-1] and nums and
          nums == list(range(nums[0], nums[0] + len(nums))),
          "the victims are the oldest items, in order, each logged once "
          "(%d lines: %r...)" % (len(nums), nums[:3]))
    w.close()
    # Young items of another size: their class grows into the memory of
    # the 1000-byte items, older by three seconds, rather than evicting
    # its own (memcached without its page mover keeps a class's pages).
    time.sleep(3.2)
    small = b"s" * 100
    for i in range(20000):
        c.send(b"set sm%05d 0 0 100 noreply\r\n%s\r\n" % (i, small))
    c.cmd(b"version")
    v = c.retrieve(b"get " + b" ".join(b"sm%05d" % i for i in range(20000)))
    check(len(v) == 20000, "20,000 new 100-byte items all kept (%d), the "
          "old class evicted for them" % len(v))
    check(all(c.get(b"ps%05d" % n) is None for n in nums),
          "the logged victims are gone")
    c.close()
    srv.stop("per-store eviction server")


def test_mem_requested():
    """memcached's issue_42.t in kvcache's class numbers: ten 10-byte
    values of 4-byte keys are 10 x (52 + 4 + 10) bytes requested, less
    than ten chunks of their class."""
    srv = Server("-t", 1, "-o", "no_modern")
    c = srv.conn()
    for i in range(10):
        c.store(b"set", b"key%d" % i, b"B" * 10)
    sl, it = c.stats(b"slabs"), c.stats(b"items")
    cls = class_of(sl, 66, 72)
    req = int(it.get("items:%s:mem_requested" % cls, 0))
    check(cls == "2" and req == 660 and
          req < int(sl[cls + ":chunk_size"]) * 10,
          "mem_requested of ten 66-byte items: %d in class %s" % (req, cls))
    c.close()
    srv.stop("mem_requested server")


def test_maxconns():
    srv = Server("-c", 50, "-t", 2)
    # The readiness probe's connection counts until its worker has seen
    # it close: start counting from a server that holds only ours.
    first = srv.conn()
    deadline = time.time() + TIMEOUT
    while (int(first.stats()["curr_connections"]) != 1 and
           time.time() < deadline):
        time.sleep(0.05)
    conns = [first] + [srv.conn() for _ in range(49)]
    ok = all(x.cmd(b"version").startswith(b"VERSION ") for x in conns[::7])
    check(ok, "-c 50: 50 connections served")
    refused = 0
    for _ in range(10):
        x = srv.conn()
        try:
            ln = x.line()
            refused += ln == b"ERROR Too many open connections" and x.eof()
        except (EOFError, ConnectionResetError):
            refused += 1
        x.close()
    check(refused == 10, "-c 50: 10 more refused with "
          "\"ERROR Too many open connections\" (%d)" % refused)
    check(conns[0].cmd(b"version").startswith(b"VERSION "),
          "existing connections keep working")
    check(int(conns[1].stats()["rejected_connections"]) == 10,
          "rejected_connections counted")
    for x in conns[5:]:
        x.close()
    deadline = time.time() + TIMEOUT
    ok = False
    while time.time() < deadline and not ok:
        time.sleep(0.1)
        x = srv.conn()
        try:
            ok = x.cmd(b"version").startswith(b"VERSION ")
        except (EOFError, ConnectionResetError):
            ok = False
        x.close()
    check(ok, "new connections accepted again below -c")
    for x in conns[:5]:
        x.close()
    srv.stop("-c 50 server")


# ---- Parallel clients -------------------------------------------------

def test_parallel(srv):
    nthreads, rounds = 8, 600
    results = [None] * nthreads
    failed = []
    c = srv.conn()
    c.store(b"set", b"ctr", b"0")
    c.store(b"set", b"shared", b"init")

    def worker(t):
        rng = random.Random(100 + t)
        mine = {}
        incrs = 0
        try:
            x = srv.conn()
            for i in range(rounds):
                k = b"p%d-%d" % (t, rng.randrange(150))
                op = rng.random()
                if op < 0.5:
                    v = rand_bytes(rng, rng.choice((1, 10, 100, 3000,
                                                    70000)))
                    if x.store(b"set", k, v) != b"STORED":
                        failed.append("set %r" % k)
                    mine[k] = v
                elif op < 0.7:
                    want = mine.get(k)
                    got = x.get(k)
                    if got != want:
                        failed.append("get %r" % k)
                elif op < 0.8:
                    r = x.cmd(b"delete " + k)
                    if r != (b"DELETED" if k in mine else b"NOT_FOUND"):
                        failed.append("delete %r: %r" % (k, r))
                    mine.pop(k, None)
                elif op < 0.9:
                    x.cmd(b"incr ctr 1")
                    incrs += 1
                else:
                    g = x.retrieve(b"gets shared")
                    if b"shared" in g:
                        x.store(b"cas", b"shared", b"t%d" % t,
                                cas=g[b"shared"][2])
            x.close()
            results[t] = (mine, incrs)
        except Exception as e:  # reported below as a failure
            failed.append("thread %d: %r" % (t, e))

    ths = [threading.Thread(target=worker, args=(t,))
           for t in range(nthreads)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    check(not failed, "%d clients in parallel: every reply as expected%s" %
          (nthreads, "" if not failed else " (%s)" % failed[:3]))
    bad = 0
    total = 0
    for r in results:
        if r is None:
            continue
        for k, v in r[0].items():
            total += 1
            bad += c.get(k) != v
    check(bad == 0 and total > 0, "parallel clients' data verified "
          "afterwards (%d keys)" % total)
    incrs = sum(r[1] for r in results if r)
    check(c.get(b"ctr") == b"%d" % incrs,
          "concurrent incr lost nothing (%d)" % incrs)
    check(c.get(b"shared").startswith(b"t"), "concurrent cas settled")
    c.close()


def test_fake_numa():
    srv = Server("-t", 2, env={"USLAB_FAKE_NUMA": "2"})
    conns = [srv.conn() for _ in range(4)]
    for i in range(400):
        conns[i % 4].store(b"set", b"nu%d" % i, b"v" * 200)
    ok = all(conns[i % 4].get(b"nu%d" % i) == b"v" * 200
             for i in range(400))
    check(ok, "USLAB_FAKE_NUMA=2: data served by both workers")
    s = conns[0].stats(b"uslab")
    check(s.get("numa_nodes") == "2", "USLAB_FAKE_NUMA=2: two nodes")
    it = conns[0].stats(b"items")
    nodes = {k.rsplit("_node", 1)[1]: int(v) for k, v in it.items()
             if "number_node" in k and int(v) > 0}
    check(set(nodes) == {"0", "1"}, "items on both nodes' LRU lists %s"
          % nodes)
    sl = conns[0].stats(b"slabs")
    check(any("node1_used_chunks" in k and int(v) > 0
              for k, v in sl.items()),
          "item chunks allocated on node 1")
    for x in conns:
        x.close()
    srv.stop("fake NUMA server")


def test_truncated_segment(srv):
    """The statistics segment truncated under the server: it goes on
    serving (no SIGBUS) and writes the segment again."""
    path = "/dev/shm/uslab.%d" % srv.proc.pid
    c = srv.conn()
    check(c.store(b"set", b"seg", b"before") == b"STORED", "stored")
    for size in (0, 100):
        os.truncate(path, size)
        deadline = time.time() + 5
        while time.time() < deadline and os.path.getsize(path) <= size:
            time.sleep(0.05)
        check(os.path.getsize(path) > 4096,
              "segment truncated to %d: written again (%d bytes)" %
              (size, os.path.getsize(path)))
        check(c.get(b"seg") == b"before",
              "segment truncated to %d: the server still answers" % size)
    check(srv.proc.poll() is None, "the server is alive")
    c.close()


def run_tests(tests):
    """Run (name, fn) pairs; an exception is an error, and the rest go on."""
    global errors
    for name, fn in tests:
        try:
            fn()
        except Exception:
            errors += 1
            print("ERROR: %s:" % name)
            traceback.print_exc(file=sys.stdout)


def summary():
    """Print the Check-style summary line; the exit status to return."""
    total = checks + errors
    pct = 100 * (total - failures - errors) // total if total else 0
    print("%d%%: Checks: %d, Failures: %d, Errors: %d" %
          (pct, total, failures, errors))
    return 1 if failures or errors else 0


def test_small_memory():
    """Items whose class has 2 MiB slabs under -m 3: chunked smaller."""
    srv = Server("-m", 3, "-t", 2)
    c = srv.conn()
    vals = [(b"%05d" % i) * 13312 for i in range(60)]  # 66,560 bytes each
    ok = all(c.store(b"set", b"sm%d" % i, v, flags=i) == b"STORED"
             for i, v in enumerate(vals))
    check(ok, "-m 3: sixty 66,560-byte items stored")
    v = c.retrieve(b"get " + b" ".join(b"sm%d" % i for i in range(50, 60)))
    check(len(v) == 10 and all(v[b"sm%d" % i] == (i, vals[i], None)
                               for i in range(50, 60)),
          "-m 3: the newest ten read back intact, with their flags")
    s = c.stats()
    s.update(c.stats(b"uslab"))
    check(int(s["evictions"]) > 0 and int(s["memory_used"]) <= 3 << 20,
          "-m 3: evictions (%s), memory_used within -m (%s)" %
          (s["evictions"], s["memory_used"]))
    check(c.store(b"append", b"sm59", b"+tail") == b"STORED" and
          c.get(b"sm59") == vals[59] + b"+tail",
          "-m 3: append to a chunked item")
    # Over -m after cache_memlimit lowers it: memory goes back.
    check(c.cmd(b"cache_memlimit 16") == b"OK", "cache_memlimit 16")
    for i in range(150):
        c.send(b"set big%d 0 0 66560 noreply\r\n%s\r\n" % (i, vals[0]))
    c.cmd(b"version")
    before = int(c.stats(b"uslab")["memory_used"])
    check(c.cmd(b"cache_memlimit 8") == b"OK", "cache_memlimit 8")
    for i in range(150):
        c.send(b"delete big%d noreply\r\n" % i)
    after = before
    for _ in range(40):
        after = int(c.stats(b"uslab")["memory_used"])
        if after <= 8 << 20:
            break
        time.sleep(0.25)
    check(before > 8 << 20 and after <= 8 << 20,
          "memory over a lowered limit given back within seconds "
          "(%d -> %d bytes)" % (before, after))
    c.close()
    srv.stop("-m 3 server")


def bin_request(sock, opcode, key=b"", extras=b"", value=b""):
    """One binary request; its responses' (status, key, value) until
    the one that ends it (a STAT request's empty key)."""
    import struct
    body = extras + key + value
    sock.sendall(struct.pack(">BBHBBHIIQ", 0x80, opcode, len(key),
                             len(extras), 0, 0, len(body), 0, 0) + body)
    out = []
    buf = b""
    while True:
        while len(buf) < 24:
            d = sock.recv(65536)
            if not d:
                raise EOFError("connection closed")
            buf += d
        _, _, nkey, next_, _, status, nbody, _, _ = struct.unpack(
            ">BBHBBHIIQ", buf[:24])
        while len(buf) < 24 + nbody:
            buf += sock.recv(65536)
        k = buf[24 + next_:24 + next_ + nkey]
        v = buf[24 + next_ + nkey:24 + nbody]
        buf = buf[24 + nbody:]
        out.append((status, k, v))
        if opcode != 0x10 or not k:
            return out


def test_detail():
    srv = Server("-t", 2)
    c = srv.conn()
    check(c.cmd(b"stats detail dump") == b"END", "stats detail: empty")
    c.store(b"set", b"pre:1", b"v")  # detail off: not counted
    check(c.cmd(b"stats detail on") == b"OK" and
          c.stats(b"settings").get("detail_enabled") == "yes",
          "stats detail on")
    c.store(b"set", b"foo:1", b"v")
    c.store(b"add", b"foo:1", b"v")
    c.get(b"foo:1")
    c.get(b"foo:2")
    c.retrieve(b"gets foo:1 bar:1 nodelimiter")
    c.cmd(b"delete foo:3")
    check(c.cmd(b"mg foo:1 v") == b"VA 1" and c.line() == b"v",
          "mg foo:1 (meta commands are not counted, as memcached's)")
    c.send(b"stats detail dump\r\n")
    lines = set()
    while True:
        ln = c.line()
        if ln == b"END":
            break
        lines.add(ln)
    check(lines == {b"PREFIX foo get 3 hit 2 set 2 del 1",
                    b"PREFIX bar get 1 hit 0 set 0 del 0"},
          "stats detail dump: gets, hits, sets, deletes per prefix (%r)" %
          lines)
    # Binary: the same counters, and the dump as one "detailed" STAT.
    b = socket.create_connection(("127.0.0.1", srv.port), timeout=TIMEOUT)
    bin_request(b, 0x00, b"foo:1")  # get
    bin_request(b, 0x01, b"bar:2", b"\0" * 8, b"x")  # set
    bin_request(b, 0x04, b"bar:2")  # delete
    r = bin_request(b, 0x10, b"detail dump")
    check(len(r) == 2 and r[0][1] == b"detailed" and
          b"PREFIX foo get 4 hit 3 set 2 del 1\r\n" in r[0][2] and
          b"PREFIX bar get 1 hit 0 set 1 del 1\r\n" in r[0][2] and
          r[0][2].endswith(b"END\r\n") and r[1] == (0, b"", b""),
          "binary stats detail dump (%r)" % r)
    r = bin_request(b, 0x10, b"detail off")
    check(r == [(0, b"", b"")], "binary stats detail off")
    check(bin_request(b, 0x10, b"detail nonsense")[0][0] == 1,
          "binary stats detail nonsense: not found")
    b.close()
    c.get(b"foo:1")
    check(c.stats(b"settings").get("detail_enabled") == "no" and
          c.cmd(b"stats detail dump").startswith(b"PREFIX"),
          "detail off: counters kept, not counted")
    c.line()
    c.line()
    for bad in (b"stats detail", b"stats detail x", b"stats detail on x"):
        check(c.cmd(bad) == b"CLIENT_ERROR usage: stats detail on|off|dump",
              "%s: usage" % bad.decode())
    check(c.cmd(b"stats reset") == b"RESET" and
          c.cmd(b"stats detail dump") == b"END", "stats reset clears them")
    # Many prefixes, and keys of every byte a text key may have.
    c.cmd(b"stats detail on")
    for i in range(3000):
        c.send(b"get p%d:x\r\n" % i)
    for i in range(3000):
        c.line()
    c.send(b"stats detail dump\r\n")
    n = 0
    while c.line() != b"END":
        n += 1
    check(n == 3000, "3000 prefixes dumped (%d)" % n)
    c.close()
    srv.stop("detail server")
    srv = Server("-t", 1, "-D", "/")
    c = srv.conn()
    st = c.stats(b"settings")
    c.store(b"set", b"a/b:c", b"v")
    check(st.get("stat_key_prefix") == "/" and
          st.get("detail_enabled") == "yes" and
          c.cmd(b"stats detail dump") == b"PREFIX a get 0 hit 0 set 1 del 0",
          "-D /: the delimiter, detail on from the start")
    c.close()
    srv.stop("-D server")
    check(run_refused("-D", ""), "-D '': refused")


def test_idle_kicks_reclaimed():
    srv = Server("-t", 1, "-o", "idle_timeout=1")
    c, idle = srv.conn(), srv.conn()
    check(c.stats()["idle_kicks"] == "0", "idle_kicks: 0 at start")
    end = time.time() + 3.5
    while time.time() < end:
        c.cmd(b"version")
        time.sleep(0.3)
    check(idle.eof() and c.stats()["idle_kicks"] == "1",
          "idle_kicks: the idle connection closed is counted, the busy "
          "one is not")
    # memcached's issue_183.t: a set after flush_all reuses the flushed
    # item at its class's tail, counted as reclaimed.
    c.store(b"set", b"rk", b"1")
    r0 = int(c.stats()["reclaimed"])
    c.cmd(b"flush_all")
    c.store(b"set", b"rk2", b"2", exptime=-1)  # expired at once
    c.store(b"set", b"rk", b"1")
    s = c.stats()
    check(int(s["reclaimed"]) - r0 == 2 and s["curr_items"] == "1",
          "flushed and expired tail items reclaimed by the next set "
          "(%s, %s items)" % (s["reclaimed"], s["curr_items"]))
    c.close()
    srv.stop("idle_timeout server")


def test_stats_conns():
    srv = Server("-t", 2)
    a, b, c = srv.conn(), srv.conn(), srv.conn()
    a.send(b"set half 0 0 6\r\n")  # waits for its data: conn_nread
    b.cmd(b"version")
    time.sleep(1.2)
    st = c.stats(b"conns")
    fds = {k.split(":")[0] for k in st}
    states = sorted(v for k, v in st.items() if k.endswith(":state"))
    check(states == ["conn_listening", "conn_nread", "conn_parse_cmd",
                     "conn_waiting"],
          "stats conns: the listener and three clients' states (%r)" %
          states)
    lfd = [k.split(":")[0] for k, v in st.items() if v == "conn_listening"]
    check(len(fds) == 4 and st.get(lfd[0] + ":addr") ==
          "tcp:127.0.0.1:%d" % srv.port,
          "stats conns: four descriptors, the listener's address")
    ok = True
    for fd in fds - set(lfd):
        ok &= st[fd + ":listen_addr"] == "tcp:127.0.0.1:%d" % srv.port
        ok &= st[fd + ":addr"].startswith("tcp:127.0.0.1:")
    nread = [k.split(":")[0] for k, v in st.items() if v == "conn_nread"]
    check(ok and int(st[nread[0] + ":secs_since_last_cmd"]) >= 1,
          "stats conns: client and listen addresses, seconds idle")
    # The same over the binary protocol.
    bs = socket.create_connection(("127.0.0.1", srv.port), timeout=TIMEOUT)
    r = bin_request(bs, 0x10, b"conns")
    check(r[-1] == (0, b"", b"") and
          sum(1 for x in r if x[1].endswith(b":state")) == 5,
          "binary stats conns: five connections with a state")
    bs.close()
    # Connections come and go on both workers while others list them.
    stop = time.time() + 3
    errs = []

    def churn():
        try:
            while time.time() < stop:
                s = socket.create_connection(("127.0.0.1", srv.port))
                s.sendall(b"version\r\n")
                s.recv(100)
                s.close()
        except OSError as e:
            errs.append(e)

    threads = [threading.Thread(target=churn) for _ in range(3)]
    for t in threads:
        t.start()
    n = 0
    while time.time() < stop:
        st = c.stats(b"conns")
        n += 1
        errs += [k for k, v in st.items() if v == "unknown"]
    for t in threads:
        t.join()
    check(not errs and n > 10 and c.cmd(b"version").startswith(b"VERSION"),
          "stats conns while 3 clients connect and close (%d lists, %r)" %
          (n, errs[:3]))
    a.send(b"abcdef\r\n")
    check(a.line() == b"STORED", "the half-sent set completes")
    for x in (a, b, c):
        x.close()
    srv.stop("stats conns server")


# ---- last access time (mg l, me la=) -----------------------------------

def test_last_access():
    srv = Server("-t", 1)
    c = srv.conn()
    c.cmd(b"ms la 2 T100\r\nla")
    c.cmd(b"ms la2 2 T100\r\nla")
    time.sleep(2.2)
    first = c.cmd(b"mg la s t l")
    again = c.cmd(b"mg la l")
    m = re.match(rb"HD s2 t\d+ l(\d+)$", first)
    check(m and int(m.group(1)) >= 2 and again == b"HD l0",
          "mg l: seconds since the last access, before this one counts "
          "(%r, %r)" % (first, again))
    c.cmd(b"mg la2 l u")
    nou = c.cmd(b"mg la2 l")
    check(re.match(rb"HD l[2-9]$", nou),
          "mg u: an access that does not count (%r)" % nou)
    c.get(b"la2")
    me = c.cmd(b"me la2")
    check(re.match(rb"ME la2 exp=-\d+ la=0 cas=\d+ fetch=yes ", me),
          "a get is an access; me shows la= (%r)" % me)
    time.sleep(1.1)
    c.cmd(b"touch la2 100")
    check(c.cmd(b"mg la2 l") == b"HD l0", "touch is an access")
    check(c.cmd(b"mg missing l") == b"EN", "mg l of a miss: EN")
    c.close()
    srv.stop("last access server")


# ---- watch (memcached's logger) ----------------------------------------

LOG_LINE = re.compile(rb"^(ts=\d+\.\d+ gid=(\d+) type=(\w+) .*|skipped=\d+)$")


def watch_line(w):
    """One log line of watcher @w (lines end in a bare \n)."""
    while b"\n" not in w.buf:
        w._fill()
    i = w.buf.index(b"\n")
    ln, w.buf = w.buf[:i], w.buf[i + 1:]
    return ln


def watcher(srv, what=b""):
    w = srv.conn()
    ok = w.cmd(b"watch" + (b" " + what if what else b"")) == b"OK"
    return w, ok


def test_watch():
    srv = Server("-t", 2, "-m", 60, "-o", "watcher_logbuf_size=8")
    c = srv.conn()
    w, ok = watcher(srv, b"fetchers mutations")
    cfd = c.stats(b"conns")
    check(ok, "watch fetchers mutations: OK")
    c.store(b"set", b"vfoo", b"vbar", exptime=100)
    c.get(b"vfoo")
    got = [watch_line(w) for _ in range(3)]
    check(re.match(rb"ts=\d+\.\d+ gid=\d+ type=item_get key=vfoo "
                   rb"status=not_found clsid=0 cfd=\d+ size=0$", got[0]) and
          re.match(rb"ts=\d+\.\d+ gid=\d+ type=item_store key=vfoo "
                   rb"status=stored cmd=set ttl=(99|100) clsid=\d+ cfd=\d+ "
                   rb"size=4$", got[1]) and
          re.match(rb"ts=\d+\.\d+ gid=\d+ type=item_get key=vfoo "
                   rb"status=found clsid=\d+ cfd=\d+ size=4$", got[2]),
          "watch: a set's lookup, its store, a get (%r)" % got)
    fds = {m.group(1) for m in (re.search(rb"cfd=(\d+)", g) for g in got)}
    mine = [k.split(":")[0] for k, v in cfd.items()
            if v == "conn_parse_cmd"]
    check(fds == {mine[0].encode()}, "watch: cfd is the client's descriptor")
    gids = [int(LOG_LINE.match(g).group(2)) for g in got]
    check(gids == sorted(gids) and len(set(gids)) == 3, "watch: gids rise")
    c.cmd(b"add vfoo 0 0 1\r\nx")
    c.cmd(b"delete vfoo")
    c.cmd(b"set " + b"#" * 250 + b" 0 0 1\r\nx")
    got = [watch_line(w) for _ in range(5)]
    check(b"status=not_stored cmd=add" in got[1] and
          b"type=item_get key=vfoo status=found" in got[2] and
          len(got[4].split()[3]) == 4 + 750,
          "watch: add refused, delete's lookup, a 250-byte key URI-encoded")
    c.store(b"set", b"big", b"x" * (2 << 20))
    got = [watch_line(w) for _ in range(1)]
    check(re.search(rb"type=item_store key=big status=too_large cmd=set "
                    rb"ttl=0 clsid=0 cfd=\d+ size=0$", got[0]),
          "watch: a too large value is logged too_large (%r)" % got)
    c.store(b"set", b"n,foo", b"1")
    got = [watch_line(w) for _ in range(2)]
    check(b"key=n%2Cfoo " in got[1], "watch: keys are URI-encoded")
    # The first watcher keeps its place; more, up to memcached's 20.
    st = c.stats()
    check(st.get("log_watchers") == "1" and
          st.get("log_worker_dropped") == "0" and
          int(st["log_watcher_sent"]) >= 11 and
          int(st["log_worker_written"]) >= 11,
          "stats: log_watchers 1, log_watcher_sent, log_worker_written")
    more = [watcher(srv, b"connevents") for _ in range(19)]
    extra = srv.conn()
    check(all(ok for _, ok in more) and
          extra.cmd(b"watch") ==
          b"WATCHER_TOO_MANY log watcher limit reached",
          "watch: 20 watchers, the 21st refused")
    # Every other one leaves (from the middle of each worker's list of
    # watchers): each that stays still gets its lines.
    for x, _ in more[1::2]:
        x.close()
    time.sleep(0.3)
    n = srv.conn()
    n.cmd(b"version")
    nport = b"rport=%d " % n.sock.getsockname()[1]
    stay = []
    for x, _ in more[0::2]:
        x.sock.settimeout(5)
        try:
            ln = watch_line(x)
            while nport not in ln:
                ln = watch_line(x)
            stay.append(b"type=conn_new" in ln)
        except socket.timeout:
            stay.append(False)
    check(stay == [True] * 10,
          "watch: the 10 watchers left after 9 closed all get a new "
          "client's conn_new (%r)" % stay)
    n.close()
    for x, _ in more[0::2]:
        x.close()
    extra.close()
    time.sleep(0.5)
    check(c.stats().get("log_watchers") == "1",
          "stats: closed watchers are gone (log_watchers 1)")
    # connevents: a new client, "quit", an HTTP request.
    ce, _ = watcher(srv, b"connevents")
    n = srv.conn()
    n.cmd(b"version")
    n.send(b"quit\r\n")
    h = srv.conn()
    h.send(b"GET / HTTP/1.1\r\n")
    got = [watch_line(ce) for _ in range(4)]
    # Two connections' events: each one's own come in order, but the
    # workers may interleave the two (a loaded machine does).
    nport = b"rport=%d " % n.sock.getsockname()[1]
    hport = b"rport=%d " % h.sock.getsockname()[1]
    mine = [x for x in got if nport in x]
    http = [x for x in got if hport in x]
    check(len(mine) == 2 and len(http) == 2 and
          re.match(rb"ts=\d+\.\d+ gid=\d+ type=conn_new rip=127\.0\.0\.1 "
                   rb"rport=\d+ transport=tcp cfd=\d+$", mine[0]) and
          re.search(rb"type=conn_close rip=127\.0\.0\.1 rport=\d+ "
                    rb"transport=tcp reason=normal cfd=\d+$", mine[1]) and
          b"type=conn_new" in http[0] and
          re.search(rb"type=conn_close .* reason=error cfd=\d+$", http[1]),
          "watch connevents: conn_new, close normal and error (%r)" % got)
    ce.close()
    # Bad words; what comes after "watch" on its line is not run.
    b = srv.conn()
    check(b.cmd(b"watch fetchers bogus") == b"ERROR",
          "watch with an unknown event: ERROR")
    b.send(b"watch mutations\r\nset x 0 0 1\r\nx\r\n")
    check(b.line() == b"OK" and c.get(b"x") is None,
          "watch: input after it is ignored")
    b.close()
    # A watcher that does not read: lines are dropped, counted, reported.
    slow, _ = watcher(srv)
    slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    pad = b"X" * 180
    for i in range(30000):
        c.send(b"get foo%d%s\r\n" % (i, pad))
        if i % 500 == 499:
            while c.buf.count(b"END\r\n") < 500:
                c._fill()
            c.buf = b""
    while c.buf.count(b"END\r\n") < 30000 % 500:
        c._fill()
    c.buf = b""
    st = c.stats()
    check(int(st["log_watcher_skipped"]) > 0,
          "a watcher that does not read: lines skipped (%s)" %
          st["log_watcher_skipped"])
    seen = None
    for i in range(40000):
        if i % 50 == 0:
            c.get(b"foo")
        ln = watch_line(slow)
        if ln.startswith(b"skipped="):
            seen = ln
            break
    nxt = watch_line(slow) if seen else b""
    check(seen and int(seen[8:]) > 0 and
          re.match(rb"ts=\d+\.\d+ gid=\d+ type=item_get", nxt),
          "skipped=N, then the line that found room (%r, %r)" % (seen, nxt))
    slow.close()
    w.close()
    c.close()
    srv.stop("watch server")
    # Evictions, with la= from the items' access time.
    srv = Server("-t", 1, "-m", 8)
    c = srv.conn()
    ev, _ = watcher(srv, b"evictions")
    for i in range(3000):
        c.send(b"set e%d 0 0 4000 noreply\r\n%s\r\n" % (i, b"e" * 4000))
    c.cmd(b"version")
    ln = watch_line(ev)
    check(re.match(rb"ts=\d+\.\d+ gid=\d+ type=eviction key=e\d+ fetch=no "
                   rb"ttl=-1 la=\d+ clsid=\d+ size=4000$", ln),
          "watch evictions: memcached's eviction line (%r)" % ln)
    ev.close()
    c.close()
    srv.stop("evictions watch server")
    srv = Server("-W")
    c = srv.conn()
    check(c.cmd(b"watch mutations") ==
          b"CLIENT_ERROR watch commands not allowed",
          "-W: watch refused as memcached refuses it")
    c.close()
    srv.stop("-W server")


def test_watch_stress():
    """More clients and workers than CPUs, watchers coming and going."""
    srv = Server("-t", 4, "-m", 16, "-o", "watcher_logbuf_size=4")
    stop = time.time() + 4
    errs = []
    lines = [0]

    def client(t):
        try:
            c = srv.conn()
            i = 0
            while time.time() < stop:
                k = b"s%d_%d" % (t, i % 400)
                c.store(b"set", k, b"v" * (i % 3000))
                c.get(k)
                c.cmd(b"delete " + k)
                i += 1
            c.close()
        except Exception as e:
            errs.append(repr(e))

    def watching(what):
        try:
            while time.time() < stop:
                w, ok = watcher(srv, what)
                if not ok:
                    errs.append("watch refused")
                    return
                end = time.time() + 0.3
                w.sock.settimeout(2)
                while time.time() < end:
                    try:
                        ln = watch_line(w)
                    except socket.timeout:
                        if time.time() < stop:
                            errs.append("%r: no line for 2 s" % what)
                        break
                    if not LOG_LINE.match(ln):
                        errs.append(ln)
                    lines[0] += 1
                w.close()
        except Exception as e:
            errs.append(repr(e))

    def idle_watcher():
        w, _ = watcher(srv, b"fetchers mutations connevents")
        while time.time() < stop:
            time.sleep(0.1)
        w.close()

    threads = [threading.Thread(target=client, args=(t,)) for t in range(6)]
    threads += [threading.Thread(target=watching, args=(x,)) for x in
                (b"fetchers", b"mutations evictions", b"")]
    threads.append(threading.Thread(target=idle_watcher))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    c = srv.conn()
    time.sleep(0.3)
    st = c.stats()
    check(not errs and lines[0] > 1000 and st["log_watchers"] == "0" and
          int(st["log_watcher_skipped"]) > 0,
          "watch stress: 6 clients, 4 workers, watchers coming and going "
          "(%d lines, %s skipped, %r)" % (lines[0],
                                          st["log_watcher_skipped"],
                                          errs[:3]))
    c.close()
    srv.stop("watch stress server")


# ---- memcached's -o options (its t/*.t start servers with them) -------

def run_refused(*args):
    """True if kvcache refuses to start with @args, saying why."""
    r = subprocess.run([SERVER, "-p", str(free_port())] +
                       [str(a) for a in args], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=TIMEOUT)
    return r.returncode not in (0, None) and b"kvcache" in r.stderr


def settings_of(*args):
    srv = Server(*args)
    c = srv.conn()
    st = c.stats(b"settings")
    c.close()
    srv.stop("kvcache %s" % " ".join(str(a) for a in args))
    return st


def test_options():
    st = settings_of("-t", 1)
    check(st.get("udpport") == "0" and st.get("slab_automove_window") ==
          "30" and st.get("watcher_logbuf_size") == str(256 << 10) and
          st.get("worker_logbuf_size") == str(64 << 10) and
          st.get("read_buf_mem_limit") == "0" and
          st.get("slab_reassign") == "yes" and
          st.get("slab_chunk_max") == str(256 << 10),
          "stats settings: memcached's defaults (%r)" % st)
    check(st.get("auth_enabled_sasl") == "no" and
          st.get("auth_enabled_ascii") == "no",
          "stats settings: auth_enabled_sasl, auth_enabled_ascii no")
    srv = Server("-t", 1)
    c = srv.conn()
    s0 = c.stats()
    check(s0.get("lrutail_reflocked") == "0" and
          s0.get("time_in_listen_disabled_us") == "0" and
          "idle_kicks" not in s0,
          "stats: lrutail_reflocked, time_in_listen_disabled_us start at "
          "0; no idle_kicks without -o idle_timeout, as memcached")
    c.close()
    srv.stop("stats server")
    st = settings_of("-t", 1, "-o", "no_modern")
    check(st.get("slab_automove") == "0" and st.get("slab_reassign") == "no",
          "-o no_modern: slab_automove 0, slab_reassign no")
    st = settings_of("-t", 1, "-o", "slab_automove,slab_automove_window=3")
    check(st.get("slab_automove") == "1" and
          st.get("slab_automove_window") == "3",
          "-o slab_automove (bare: 1), slab_automove_window=3")
    st = settings_of("-t", 1, "-o",
                     "watcher_logbuf_size=8,worker_logbuf_size=16")
    check(st.get("watcher_logbuf_size") == "8192" and
          st.get("worker_logbuf_size") == "16384",
          "-o watcher/worker_logbuf_size in kilobytes")
    st = settings_of("-t", 1, "-o", "read_buf_mem_limit=3")
    check(st.get("read_buf_mem_limit") == str(3 << 20),
          "-o read_buf_mem_limit in megabytes")
    st = settings_of("-t", 1, "-I", 1024, "-o", "slab_chunk_max=1024")
    check(st.get("item_size_max") == "1024" and
          st.get("slab_chunk_max") == str(256 << 10),
          "-I 1024 -o slab_chunk_max=1024: accepted, kvcache's chunk size")
    st = settings_of("-t", 1, "-m", 256, "-I", "32m")
    check(st.get("item_size_max") == str(32 << 20), "-m 256 -I 32m")
    for args in (("-o", "slab_automove=3"), ("-o", "slab_automove_window=2"),
                 ("-o", "slab_automove_window"), ("-o", "slab_chunk_max=0"),
                 ("-o", "slab_chunk_max=x"),
                 ("-I", 1024, "-o", "slab_chunk_max=2048"),
                 ("-I", "3000", "-o", "slab_chunk_max=1500"),
                 ("-I", "768k", "-o", "slab_chunk_max=786432"),
                 ("-o", "watcher_logbuf_size=-1"),
                 ("-o", "read_buf_mem_limit=5000000"),
                 ("-o", "idle_timeout=x"),
                 ("-I", "33m", "-m", 256), ("-I", "40m", "-m", 64),
                 ("-I", "2m", "-m", 3), ("-o", "no_modern=1")):
        check(run_refused("-t", 1, *args),
              "refused: %s" % " ".join(str(a) for a in args))


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    if not os.access(SERVER, os.X_OK):
        print("FAIL: %s is not built" % SERVER)
        print("0%: Checks: 1, Failures: 1, Errors: 0")
        return 1
    global errors
    tests = []
    srv = Server("-t", 2, "-c", 4096)
    try:
        c = srv.conn()
        reference = {}

        def store_reference():
            rng = random.Random(1)
            stored = 0
            for i in range(300):
                k = b"ref%d" % i
                v = rand_bytes(rng, rng.choice((0, 1, 50, 500, 5000, 300000)))
                stored += c.store(b"set", k, v) == b"STORED"
                reference[k] = v
            check(stored == 300, "300 reference items stored")

        tests = [
            ("storage", lambda: test_storage(c)),
            ("cas", lambda: test_cas(c)),
            ("multi-get", lambda: test_get_multi(c)),
            ("incr/decr", lambda: test_arith(c)),
            ("delete/touch", lambda: test_delete_touch(c)),
            ("misc", lambda: test_misc(c)),
            ("noreply", lambda: test_noreply(c)),
            ("large values", lambda: test_large(c)),
            ("stats", lambda: test_stats(srv, c)),
            ("reference data", store_reference),
            ("bad input", lambda: test_bad_input(srv, reference)),
            ("parallel", lambda: test_parallel(srv)),
            ("expiry", lambda: test_expiry(srv)),
            ("truncated segment", lambda: test_truncated_segment(srv)),
        ]
        run_tests(tests)
        c.close()
    finally:
        srv.stop("main server")
    run_tests((("eviction", test_eviction),
               ("eviction per store", test_evict_per_store),
               ("mem_requested", test_mem_requested),
               ("maxconns", test_maxconns),
               ("fake NUMA", test_fake_numa),
               ("small memory", test_small_memory),
               ("stats detail", test_detail),
               ("stats conns", test_stats_conns),
               ("last access", test_last_access),
               ("watch", test_watch),
               ("watch stress", test_watch_stress),
               ("idle_kicks, reclaimed", test_idle_kicks_reclaimed),
               ("memcached's options", test_options)))
    return summary()


def run_main(main_fn):
    """Exit with main_fn()'s status; never leave a server behind."""
    try:
        sys.exit(main_fn())
    finally:
        kill_leftovers()


if __name__ == "__main__":
    run_main(main)
