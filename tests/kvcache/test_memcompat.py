#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""kvcache beside memcached 1.6.18: the corners of the text protocol where
the two must agree (pipelined stats, multi-gets of any length, the
2048-byte line, incr parsing, gat without a key, clients past the
descriptor limit), the meta commands, the binary protocol, stats sizes,
cachedump and lru_crawler metadump, and memcached's command line (every
option accepted or refused, UNIX sockets, -p 0 with a port file, -F, -A
and shutdown, -B, -X, -o idle_timeout).

Each exchange is checked against the reply memcached gives (written out
here, taken from Debian's memcached 1.6.18), and, when memcached is
installed (scripts/install-deps.sh memcached), the same bytes are also
sent to a memcached started by this script, which must give that reply
too: the expectations cannot drift from the reference.

Uses the connection and server helpers of test_protocol.py.  Prints
PASS/FAIL lines and ends with "NN%: Checks: N, Failures: F, Errors: E";
exits 1 on any failure.
"""
import os
import re
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_protocol as tp  # noqa: E402

check = tp.check
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


# ---- The reference server ---------------------------------------------

class Memcached:
    """Debian's memcached on a free port, or None when not installed."""

    def __init__(self, *args):
        self.port = tp.free_port()
        cmd = ["memcached", "-U", "0", "-l", "127.0.0.1", "-p",
               str(self.port)] + [str(a) for a in args]
        if os.getuid() == 0:
            cmd += ["-u", "nobody"]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
        deadline = time.time() + tp.TIMEOUT
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port),
                                         timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("memcached did not start")

    def conn(self):
        return tp.Conn(self.port)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_memcached(*args):
    if not shutil.which("memcached"):
        subprocess.call([os.path.join(ROOT, "scripts", "install-deps.sh"),
                         "memcached"])
    if not shutil.which("memcached"):
        print("NOTE: memcached not installed; replies checked against "
              "the expected text only")
        return None
    return Memcached(*args)


# How long a reply that already is what the test expects must stay
# unchanged: anything the server sends after it still arrives in time to
# be seen, and a right answer costs no full quiet window.
SETTLE = 0.03


def read_reply(s, first, idle, done=None):
    """Read from @s until the server has been quiet for @idle seconds
    (@first for the first byte), or for SETTLE seconds once done(reply)
    holds.  Returns the reply and False, or "closed" or "reset" if the
    server closed the connection."""
    got = b""
    s.settimeout(first)
    try:
        while True:
            d = s.recv(1 << 20)
            if not d:
                return got, "closed"
            got += d
            s.settimeout(SETTLE if done and done(got) else idle)
    except socket.timeout:
        pass
    except ConnectionResetError:
        return got, "reset"
    return got, False


def exchange(port, data, wait=0.05, idle=0.3, want=None):
    """Send @data on a new connection; everything read until the server
    has been quiet for @idle seconds (b"<EOF>" appended if it closed).
    With @want, the first byte may take as long as a test allows, and a
    reply equal to @want ends the wait (see SETTLE)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=tp.TIMEOUT)
    s.sendall(data)
    if want is None:
        time.sleep(wait)
    out, closed = read_reply(
        s, idle if want is None else tp.TIMEOUT, idle,
        None if want is None else lambda got: got == want)
    s.close()
    return out + {False: b"", "closed": b"<EOF>", "reset": b"<RESET>"}[closed]


def on_both(kv, mc, fn, *args, **kw):
    """fn(kv.port, ...) and, when @mc is not None, fn(mc.port, ...) in a
    thread alongside: the reference's quiet waits cost no time of their
    own.  Returns both results (None for an absent @mc)."""
    if mc is None:
        return fn(kv.port, *args, **kw), None
    box = []
    th = threading.Thread(
        target=lambda: box.append(fn(mc.port, *args, **kw)))
    th.start()
    try:
        got = fn(kv.port, *args, **kw)
    finally:
        th.join()
    if not box:
        raise RuntimeError("the exchange with memcached failed")
    return got, box[0]


class Pair:
    """kvcache and (if installed) memcached, started alike."""

    def __init__(self, kv_args=(), mc_args=()):
        self.kv = tp.Server("-t", 2, *kv_args)
        self.mc = start_memcached(*mc_args)

    def both(self, fn, *args, **kw):
        """fn(port, ...) on kvcache and on memcached at the same time
        (each waits for its server to go quiet); the two results, the
        second None without memcached."""
        return on_both(self.kv, self.mc, fn, *args, **kw)

    def expect(self, data, want, what, **kw):
        kw.setdefault("want", want)
        got, ref = self.both(exchange, data, **kw)
        ok = check(got == want, "%s (kvcache: %r)" % (what, got[:200]))
        if ref is not None:
            check(ref == want, "%s: memcached agrees (%r)" %
                  (what, ref[:200]))
        return ok

    def stop(self, what):
        self.kv.stop(what)
        if self.mc:
            self.mc.stop()


# ---- Issue: protocol corners -------------------------------------------

def test_pipelined_stats():
    srv = tp.Server("-t", 2, "-m", 64)
    c = srv.conn()
    big = b"x" * 500000
    c.store(b"set", b"big", big)
    for group in (b"", b"slabs", b"items", b"settings", b"sizes",
                  b"cachedump 1 10"):
        line = b"stats" + (b" " + group if group else b"")
        s = socket.create_connection(("127.0.0.1", srv.port),
                                     timeout=tp.TIMEOUT)
        s.sendall(b"get big\r\n" * 30 + line + b"\r\n")
        time.sleep(0.5)  # the client reads late: the server blocks
        x = tp.Conn.__new__(tp.Conn)
        x.sock, x.buf = s, b""
        n = 0
        try:
            for _ in range(30):
                ln = x.line()
                n += (ln == b"VALUE big 0 500000" and
                      x.exact(500002) == big + b"\r\n" and
                      x.line() == b"END")
            x.send(b"version\r\n")
            st = []
            while True:
                ln = x.line()
                if ln == b"END":
                    break
                st.append(ln)
            # A cachedump lists ITEM lines (none if the class is empty).
            ok = (n == 30 and (st or group.startswith(b"cachedump")) and
                  all(ln.startswith((b"STAT ", b"ITEM ")) for ln in st))
            ok = ok and x.line().startswith(b"VERSION ")
        except (ValueError, EOFError, socket.timeout, KeyError) as e:
            ok = False
            print("  %r" % e)
        check(ok, "'%s' behind 30 unread 500 KB values: all answered" %
              line.decode())
        s.close()
    c.close()
    srv.stop("pipelined stats server")


def test_long_multiget(p):
    c = p.kv.conn()
    for i in range(0, 8000, 7):
        c.store(b"set", b"key%05d" % i, b"v%d" % i)
    keys = [b"key%05d" % i for i in range(8000)]
    line = b"get " + b" ".join(keys)
    check(len(line) > 70000, "an 8000-key get line is %d bytes" % len(line))
    try:
        v = c.retrieve(line)
        ok = (sorted(v) == [b"key%05d" % i for i in range(0, 8000, 7)] and
              all(v[b"key%05d" % i][1] == b"v%d" % i
                  for i in range(0, 8000, 7)))
    except (ValueError, EOFError) as e:
        ok = False
        print("  %r" % e)
    check(ok, "get of 8000 keys (72 KB line): every stored key answered")
    # gets and gat stream as well, and the connection goes on.
    try:
        v = c.retrieve(b"gets " + b" ".join(keys))
        ok = len(v) == 1143 and all(x[2] for x in v.values())
        v = c.retrieve(b"gat 0 " + b" ".join(keys))
        ok = ok and len(v) == 1143
    except (ValueError, EOFError) as e:
        ok = False
        print("  %r" % e)
    check(ok, "gets and gat of 8000 keys answered")
    # 1 MB of keys, sent slowly in pieces.
    keys = [b"key%05d" % (i % 8000) for i in range(110000)]
    line = b"get " + b" ".join(keys) + b"\r\n"
    for i in range(0, len(line), 65536):
        c.send(line[i:i + 65536])
        time.sleep(0.002)
    try:
        n = 0
        while True:
            ln = c.line()
            if ln == b"END":
                break
            n += 1
            c.exact(int(ln.split()[3]) + 2)
        ok = n == len([k for k in keys if int(k[3:]) % 7 == 0])
    except (ValueError, EOFError) as e:
        ok = False
        print("  %r" % e)
    check(ok, "get of 110,000 keys (1 MB line, sent in pieces) answered")
    check(c.cmd(b"version").startswith(b"VERSION "),
          "connection usable after the long gets")
    # A key over 250 bytes in a long line: CLIENT_ERROR, then the next
    # command is read as one.
    c.send(b"get " + b"a " * 5000 + b"b" * 300 + b" c\r\nversion\r\n")
    ln = c.line()
    while ln.startswith(b"VALUE"):
        c.exact(int(ln.split()[3]) + 2)
        ln = c.line()
    check(ln == b"CLIENT_ERROR bad command line format" and
          c.line().startswith(b"VERSION "),
          "long get with a 300-byte key: CLIENT_ERROR, connection goes on")
    c.close()
    # Lines too long and not a get are still refused (memcached closes).
    got = exchange(p.kv.port, b"set " + b"x" * 5000)
    check(got.endswith(b"<EOF>"), "5000 bytes of a set line: closed (%r)" %
          got[:60])


def test_line_crlf(p):
    c = p.kv.conn()
    c.store(b"set", b"k", b"v")
    line = b"touch k 0"
    line += b" " * (2048 - len(line))
    check(c.cmd(line) == b"TOUCHED", "a 2048-byte line ending in CRLF")
    c.close()
    c = p.kv.conn()
    check(c.cmd(line + b" ").startswith(b"CLIENT_ERROR line too long"),
          "a 2049-byte line: line too long")
    c.close()


def test_arith_values(p):
    cases = [
        (b"+5", b"6"), (b"007", b"8"), (b" 12", b"13"), (b"12 ", b"13"),
        (b"\t5", b"6"), (b"5\r\n", b"6"), (b"12 ab", b"13"),
        (b"0000000000000000000012", b"13"),
        (b"-0", b"1"),
        (b"-12", b"CLIENT_ERROR cannot increment or decrement "
                 b"non-numeric value"),
        (b"12ab", b"CLIENT_ERROR cannot increment or decrement "
                  b"non-numeric value"),
        (b"+", b"CLIENT_ERROR cannot increment or decrement "
               b"non-numeric value"),
        (b"18446744073709551616", b"CLIENT_ERROR cannot increment or "
                                  b"decrement non-numeric value"),
        (b"0" * 70 + b"9", b"10"),
    ]
    for val, want in cases:
        p.expect(b"set n 0 0 %d\r\n%s\r\nincr n 1\r\n" % (len(val), val),
                 b"STORED\r\n" + want + b"\r\n",
                 "incr of a stored %r" % val)
    for delta, want in ((b"007", b"12"), (b"+3", b"8"), (b"-0", b"5"),
                        (b"-1", b"CLIENT_ERROR invalid numeric delta "
                                b"argument"),
                        (b"0x1", b"CLIENT_ERROR invalid numeric delta "
                                 b"argument")):
        p.expect(b"set n 0 0 1\r\n5\r\nincr n %s\r\n" % delta,
                 b"STORED\r\n" + want + b"\r\n", "incr by %r" % delta)


def test_gat_nokey(p):
    p.expect(b"gat 10\r\n", b"END\r\n", "gat with an exptime, no key")
    p.expect(b"gats 10\r\n", b"END\r\n", "gats with an exptime, no key")
    p.expect(b"gat 10 \r\n", b"END\r\n", "gat with an exptime and a space")
    p.expect(b"gat\r\n", b"ERROR\r\n", "gat alone")
    p.expect(b"gat abc\r\n", b"CLIENT_ERROR invalid exptime argument\r\n",
             "gat with a bad exptime, no key")
    p.expect(b"get\r\n", b"ERROR\r\n", "get alone")


def run_kvcache(*args):
    """Run kvcache with @args; a server still running after 2 s is
    stopped, and its returncode is then None."""
    proc = subprocess.Popen([tp.SERVER] + [str(a) for a in args],
                            stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=2)
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate()
        rc = None
    return subprocess.CompletedProcess(proc.args, rc, out, err)


def test_options_item1():
    for bad in ("17592186044417m", "18014398509481985k",
                "18446744073709551617", "99999999999999999999999m"):
        r = run_kvcache("-p", tp.free_port(), "-I", bad)
        check(r.returncode not in (0, None) and b"-I" in r.stderr,
              "-I %s (overflow) refused (rc %s)" % (bad, r.returncode))
    r = run_kvcache("--help")
    check(r.returncode == 0 and b"-f" in r.stdout and
          b"--port" in r.stdout, "--help prints the options, exits 0")
    r2 = run_kvcache("-h")
    check(r2.returncode == 0 and r2.stdout == r.stdout, "-h is --help")
    srv = tp.Server("-t", 1)
    c = srv.conn()
    gf = c.stats(b"settings")["growth_factor"]
    c.close()
    srv.stop("default server")
    check(("default: %s)" % gf).encode() in r.stdout,
          "the help gives the real -f default (%s)" % gf)


def test_fd_limit():
    srv = tp.Server("-t", 2, "-c", 4000)
    # Lower the soft limit only: raising a hard one back takes privilege.
    old = resource.prlimit(srv.proc.pid, resource.RLIMIT_NOFILE)
    resource.prlimit(srv.proc.pid, resource.RLIMIT_NOFILE, (64, old[1]))
    conns, answered, silent = [], 0, 0
    try:
        for _ in range(200):
            try:
                x = srv.conn()
            except OSError:
                answered += 1
                continue
            x.sock.settimeout(2)
            try:
                x.send(b"version\r\n")
                ln = x.line()
                if ln.startswith(b"VERSION "):
                    conns.append(x)
                    continue
                answered += ln == b"ERROR Too many open connections"
                x.close()
            except (EOFError, ConnectionResetError, BrokenPipeError):
                answered += 1
                x.close()
            except socket.timeout:
                silent += 1
                x.close()
        check(len(conns) > 20 and answered > 100 and silent == 0,
              "past the descriptor limit: %d served, %d refused, %d "
              "left without an answer" % (len(conns), answered, silent))
    finally:
        for x in conns:
            x.close()
    resource.prlimit(srv.proc.pid, resource.RLIMIT_NOFILE, old)
    time.sleep(0.3)
    c = srv.conn()
    check(c.cmd(b"version").startswith(b"VERSION "),
          "served again once descriptors are free")
    c.close()
    srv.stop("descriptor-limit server")


def test_fd_limit_log():
    """The 'out of descriptors' log line is rate limited."""
    port = tp.free_port()
    proc = subprocess.Popen([tp.SERVER, "-p", str(port), "-t", "1"],
                            stdin=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.time() + tp.TIMEOUT
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port),
                                         timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        hard = resource.prlimit(proc.pid, resource.RLIMIT_NOFILE)[1]
        resource.prlimit(proc.pid, resource.RLIMIT_NOFILE, (40, hard))
        held = []
        t0 = time.time()
        for _ in range(300):
            try:
                s = socket.create_connection(("127.0.0.1", port),
                                             timeout=2)
                held.append(s)
            except OSError:
                pass
        elapsed = time.time() - t0
        for s in held:
            s.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        err = proc.communicate(timeout=tp.TIMEOUT * 3)[1]
    lines = [ln for ln in err.splitlines() if b"descriptor" in ln or
             b"accept" in ln]
    check(0 < len(lines) <= elapsed + 2,
          "out-of-descriptor log: %d lines in %.1f s (at most one a "
          "second)" % (len(lines), elapsed))
    check(proc.returncode == 0, "descriptor-limit server exits 0")


# ---- Meta commands -------------------------------------------------------

CAS_RE = re.compile(rb"(?<= c)[0-9]+|(?<=cas=)[0-9]+")


def session(port, steps, wants=None):
    """Send each step on one connection and read its reply (everything
    until the server is quiet, or the step's entry in @wants once the
    reply equals it); "{cas}" in a step is the last CAS seen.  The
    transcript has CAS values replaced by "<cas>", since the two servers
    number them differently."""
    s = socket.create_connection(("127.0.0.1", port), timeout=tp.TIMEOUT)
    cas = b"0"
    out = []
    for i, step in enumerate(steps):
        want = wants[i] if wants and i < len(wants) else None
        s.sendall(step.replace(b"{cas}", cas))
        got, _ = read_reply(
            s, tp.TIMEOUT, 0.15,
            None if want is None else
            lambda g, w=want: CAS_RE.sub(b"<cas>", g) == w)
        m = CAS_RE.findall(got)
        if m:
            cas = m[-1]
        out.append(CAS_RE.sub(b"<cas>", got))
    s.close()
    return out


# (name, steps, expected replies (None: only compared with memcached))
META = [
    ("mn", [b"mn\r\n"], [b"MN\r\n"]),
    ("mg miss", [b"mg m_nokey v\r\n", b"mg m_nokey v k Oabc\r\n"],
     [b"EN\r\n", b"EN km_nokey Oabc\r\n"]),
    ("mg quiet miss then mn", [b"mg m_nokey v q\r\nmn\r\n"],
     [b"MN\r\n"]),
    ("ms then mg with every return flag",
     [b"ms m_a 5 F7 T0\r\nhello\r\n",
      b"mg m_a s v f t k O123 h\r\n", b"mg m_a h\r\n",
      b"mg m_a c\r\n"],
     [b"HD\r\n", b"VA 5 s5 f7 t-1 km_a O123 h0\r\nhello\r\n",
      b"HD h1\r\n", b"HD c<cas>\r\n"]),
    ("ms return flags, quiet",
     [b"ms m_b 2 c k Oop\r\nhi\r\n", b"ms m_b 2 q\r\nho\r\nmn\r\n",
      b"mg m_b v\r\n"],
     [b"HD c<cas> km_b Oop\r\n", b"MN\r\n", b"VA 2\r\nho\r\n"]),
    ("ms modes",
     [b"ms m_c 1 ME\r\na\r\n", b"ms m_c 1 ME\r\nb\r\n",
      b"ms m_c 1 MA\r\nz\r\n", b"ms m_c 1 MP\r\ny\r\n",
      b"mg m_c v\r\n", b"ms m_nokey2 1 MR\r\nx\r\n",
      b"ms m_nokey2 1 MA\r\nx\r\n", b"ms m_c 1 MS\r\nq\r\n",
      b"ms m_c 1 MX\r\nq\r\n", b"mg m_c v\r\n"],
     [b"HD\r\n", b"NS\r\n", b"HD\r\n", b"HD\r\n", b"VA 3\r\nyaz\r\n",
      b"NS\r\n", b"NS\r\n", b"HD\r\n",
      b"CLIENT_ERROR invalid mode for ms M token\r\n",
      b"VA 1\r\nq\r\n"]),
    ("ms compare-and-swap",
     [b"ms m_d 1 c\r\n1\r\n", b"ms m_d 1 C{cas}\r\n2\r\n",
      b"ms m_d 1 C1\r\n3\r\n", b"ms m_nokey3 1 C5\r\n3\r\n",
      b"mg m_d v\r\n"],
     [b"HD c<cas>\r\n", b"HD\r\n", b"EX\r\n", b"NF\r\n",
      b"VA 1\r\n2\r\n"]),
    ("md, stale, win and recache",
     [b"ms m_e 3 T100\r\nold\r\n", b"md m_e I T30\r\n",
      b"mg m_e v c\r\n", b"mg m_e v\r\n",
      b"ms m_e 3 I C1\r\nnew\r\n", b"mg m_e v\r\n",
      b"md m_e q\r\nmn\r\n", b"md m_e\r\n", b"mg m_e v\r\n"],
     [b"HD\r\n", b"HD\r\n", b"VA 3 c<cas> X W\r\nold\r\n",
      b"VA 3 Z X\r\nold\r\n", b"HD\r\n", b"VA 3 Z X\r\nnew\r\n",
      b"MN\r\n", b"NF\r\n", b"EN\r\n"]),
    ("mg vivify and recache",
     [b"mg m_f N30 v t\r\n", b"mg m_f N30 v\r\n",
      b"ms m_g 1 T10\r\nv\r\n", b"mg m_g R30 v\r\n",
      b"mg m_g R30 v\r\n", b"mg m_g T0 t v\r\n"],
     [b"VA 0 t30 W\r\n\r\n", b"VA 0 Z\r\n\r\n", b"HD\r\n",
      b"VA 1 W\r\nv\r\n", b"VA 1 Z\r\nv\r\n", b"VA 1 t-1 Z\r\nv\r\n"]),
    ("md with CAS",
     [b"ms m_h 1 c\r\nx\r\n", b"md m_h C1\r\n", b"md m_h C{cas} k\r\n",
      b"md m_h\r\n"],
     [b"HD c<cas>\r\n", b"EX\r\n", b"HD km_h\r\n", b"NF\r\n"]),
    ("ma",
     [b"ma m_i\r\n", b"ma m_i N0 J10 v\r\n", b"ma m_i v\r\n",
      b"ma m_i v MD D5\r\n", b"ma m_i v M- D100\r\n",
      b"ma m_i q D2\r\nmn\r\n", b"ma m_i v t c\r\n", b"ma m_i MX\r\n",
      b"ms m_j 1\r\nx\r\n", b"ma m_j\r\n", b"ma m_i C1\r\n",
      b"ma m_i Dabc\r\n"],
     [b"NF\r\n", b"VA 2\r\n10\r\n", b"VA 2\r\n11\r\n",
      b"VA 1\r\n6\r\n", b"VA 1\r\n0\r\n", b"MN\r\n",
      b"VA 1 t-1 c<cas>\r\n3\r\n",
      b"CLIENT_ERROR invalid mode for ma M token\r\n", b"HD\r\n",
      b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n",
      b"EX\r\n", b"CLIENT_ERROR invalid or duplicate flag\r\n"]),
    ("base64 keys",
     [b"ms Zm9vYmFy 2 b\r\nhi\r\n", b"mg foobar v\r\n",
      b"mg Zm9vYmFy b k v\r\n", b"ms AAEC/w== 1 b\r\nx\r\n",
      b"mg AAEC/w== b k s\r\n", b"mg !!! b v\r\n",
      b"me Zm9vYmFy b\r\n"],
     [b"HD\r\n", b"VA 2\r\nhi\r\n", b"VA 2 kZm9vYmFy b\r\nhi\r\n",
      b"HD\r\n", b"HD kAAEC/w== b s1\r\n",
      b"CLIENT_ERROR error decoding key\r\n", None]),
    ("flag errors",
     [b"mg m_a v v\r\n", b"mg m_a x\r\n", b"mg m_a Tabc\r\n",
      b"mg m_a O" + b"x" * 40 + b"\r\n",
      b"mg " + b"k" * 251 + b" v\r\n",
      b"mg m_a" + b" v" * 25 + b"\r\n",
      b"ms m_a 1 v v\r\nx\r\nmn\r\n", b"ms m_a\r\n", b"ms m_a abc\r\n",
      b"mg\r\n", b"mz foo\r\n", b"md m_a x\r\n",
      b"ms m_a 2 S2\r\nxx\r\n"],
     [b"CLIENT_ERROR duplicate flag\r\n", b"CLIENT_ERROR invalid flag\r\n",
      b"CLIENT_ERROR bad token in command line format\r\n",
      b"CLIENT_ERROR opaque token too long\r\n",
      b"CLIENT_ERROR bad command line format\r\n",
      b"CLIENT_ERROR options flags are too long\r\n",
      b"CLIENT_ERROR duplicate flag\r\nMN\r\n",
      b"CLIENT_ERROR bad command line format\r\n",
      b"CLIENT_ERROR bad command line format\r\n", b"ERROR\r\n",
      b"ERROR\r\n", b"CLIENT_ERROR invalid or duplicate flag\r\n",
      b"CLIENT_ERROR invalid flag\r\n"]),
    ("me", [b"set m_k 0 0 3\r\nabc\r\n", b"me m_k\r\n", b"me m_nokey\r\n"],
     [b"STORED\r\n", None, b"EN\r\n"]),
    ("mixed with classic commands",
     [b"ms m_l 3 F5\r\nabc\r\n", b"get m_l\r\n",
      b"set m_l 9 0 2\r\nzz\r\n", b"mg m_l f v\r\n"],
     [b"HD\r\n", b"VALUE m_l 5 3\r\nabc\r\nEND\r\n", b"STORED\r\n",
      b"VA 2 f9\r\nzz\r\n"]),
]


def test_meta(p):
    for name, steps, want in META:
        got, ref = p.both(session, steps, want)
        bad = [(s, g, w) for s, g, w in zip(steps, got, want)
               if w is not None and g != w]
        check(not bad, "meta: %s%s" % (name, "" if not bad else
                                       " (sent %r: got %r, want %r)" %
                                       bad[0]))
        if ref is not None:
            bad = [(s, g, r) for s, g, r in zip(steps, got, ref)
                   if g != r and not s.startswith(b"me ")]
            check(not bad, "meta: %s: same as memcached%s" % (
                name, "" if not bad else " (sent %r: kvcache %r, "
                "memcached %r)" % bad[0]))
    # me: memcached's fields, la the seconds since the last access.
    got = session(p.kv.port, [b"me m_k\r\n"])[0]
    check(re.match(rb"ME m_k exp=-1 la=[0-9]+ cas=<cas> fetch=no cls=[0-9]+ "
                   rb"size=[0-9]+\r\n$", got) is not None,
          "me: the item's metadata (%r)" % got)
    # A big value through mg, and a pipeline of quiet gets.
    c = p.kv.conn()
    big = bytes(range(256)) * 2000
    c.send(b"ms m_big %d T0\r\n%s\r\n" % (len(big), big))
    check(c.line() == b"HD", "ms of a 512 KB value")
    c.send(b"mg m_big v s\r\n")
    check(c.line() == b"VA %d s%d" % (len(big), len(big)) and
          c.exact(len(big) + 2) == big + b"\r\n", "mg of a 512 KB value")
    c.send(b"".join(b"mg m_q%d v q O%d\r\n" % (i, i) for i in range(200)) +
           b"mn\r\n")
    check(c.line() == b"MN", "200 quiet misses then mn: only MN")
    c.close()


# ---- Binary protocol ----------------------------------------------------

def breq(op, key=b"", extras=b"", value=b"", cas=0, opaque=0x11223344,
         bodylen=None):
    body = extras + key + value
    return struct.pack(">BBHBBHIIQ", 0x80, op, len(key), len(extras), 0, 0,
                       len(body) if bodylen is None else bodylen, opaque,
                       cas) + body


def bparse(data):
    """Responses in @data: (opcode, status, extras, key, value, opaque,
    cas != 0) each, and what is left over."""
    out = []
    while len(data) >= 24:
        magic, op, kl, el, _, st, bl, opq, cas = struct.unpack(
            ">BBHBBHIIQ", data[:24])
        if magic != 0x81 or len(data) < 24 + bl:
            break
        body = data[24:24 + bl]
        out.append((op, st, body[:el], body[el:el + kl], body[el + kl:],
                    opq, cas != 0))
        data = data[24 + bl:]
    return out, data


# -C as memcached 1.6.18 -C answers: CAS 0 everywhere; a storage command
# with a CAS (cas, ms C) never matches, since the new item's CAS is "none";
# ma, md and binary delete and incr compare with 0; binary set ignores it.
NO_CAS = [
    (b"set k 0 0 1\r\na\r\n", b"STORED\r\n"),
    (b"gets k\r\n", b"VALUE k 0 1 0\r\na\r\nEND\r\n"),
    (b"cas k 0 0 1 0\r\nb\r\n", b"EXISTS\r\n"),
    (b"cas k 0 0 1 5\r\nc\r\n", b"EXISTS\r\n"),
    (b"cas nokey 0 0 1 0\r\nc\r\n", b"NOT_FOUND\r\n"),
    (b"mg k c v\r\n", b"VA 1 c0\r\na\r\n"),
    (b"ms k 1 C0\r\nd\r\n", b"EX\r\n"),
    (b"ms k 1 C7\r\ne\r\n", b"EX\r\n"),
    (b"ms k 1 c\r\nf\r\n", b"HD c0\r\n"),
    (b"md k C3\r\n", b"EX\r\n"),
    (b"ms k 1 MA C5\r\nz\r\n", b"HD\r\n"),
    (b"gets k\r\n", b"VALUE k 0 2 0\r\nfz\r\nEND\r\n"),
    (b"set n 0 0 1\r\n5\r\n", b"STORED\r\n"),
    (b"ma n c v\r\n", b"VA 1 c0\r\n6\r\n"),
    (b"ma n C9\r\n", b"EX\r\n"),
    (b"ma n C0\r\n", b"HD\r\n"),
    (b"md n C0\r\n", b"HD\r\n"),
    (b"ms x 1 C0\r\n1\r\n", b"NF\r\n"),
]


ADMIN = [
    (b"cache_memlimit 100\r\n", b"OK\r\n"),
    (b"cache_memlimit 4\r\n",
     b"MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n"),
    (b"cache_memlimit abc\r\n", b"ERROR\r\n"),
    (b"cache_memlimit\r\n", b"ERROR\r\n"),
    (b"cache_memlimit 2000000000\r\n",
     b"MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes\r\n"),
    (b"cache_memlimit 64 noreply\r\n", b""),
    (b"slabs automove 1\r\n", b"OK\r\n"),
    (b"slabs automove 3\r\n", b"ERROR\r\n"),
    (b"slabs automove x\r\n", b"CLIENT_ERROR bad command line format\r\n"),
    (b"slabs automove\r\n", b"ERROR\r\n"),
    (b"slabs automove 2 noreply\r\n", b""),
    (b"slabs reassign 1 1\r\n",
     b"SAME src and dst class are identical\r\n"),
    (b"slabs reassign 999 1\r\n",
     b"BADCLASS invalid src or dst class id\r\n"),
    (b"slabs reassign x y\r\n", b"CLIENT_ERROR bad command line format\r\n"),
    (b"slabs reassign 1\r\n", b"ERROR\r\n"),
    (b"slabs foo\r\n", b"ERROR\r\n"),
]


def settings_of(port):
    got = exchange(port, b"stats settings\r\n")
    return dict(ln.split(b" ")[1:3] for ln in got.split(b"\r\n")
                if ln.startswith(b"STAT "))


def test_admin():
    """cache_memlimit and slabs, answered as memcached answers; then a
    lowered limit holds (the shrinker evicts) and reassign gives a
    class's empty slabs back."""
    p = Pair(("-m", "64"), ("-m", "64"))
    try:
        p.expect(b"".join(s for s, _ in ADMIN), b"".join(w for _, w in ADMIN),
                 "cache_memlimit and slabs automove/reassign")
        st = settings_of(p.kv.port)
        check(st.get(b"maxbytes") == b"%d" % (64 << 20) and
              st.get(b"slab_automove") == b"2",
              "stats settings: maxbytes 64 MB, slab_automove 2 (%r, %r)" %
              (st.get(b"maxbytes"), st.get(b"slab_automove")))
    finally:
        p.stop("admin server")
    srv = tp.Server("-t", 1, "-m", 64)
    try:
        c = srv.conn()
        value = b"v" * 4000
        for i in range(6000):  # about 24 MB of 4 KB items
            c.sock.sendall(b"set a%d 0 0 %d noreply\r\n%s\r\n" %
                           (i, len(value), value))
        check(c.cmd(b"version").startswith(b"VERSION"), "24 MB stored")
        check(c.cmd(b"cache_memlimit 8") == b"OK", "cache_memlimit 8: OK")
        for i in range(3000):
            c.sock.sendall(b"set b%d 0 0 %d noreply\r\n%s\r\n" %
                           (i, len(value), value))
        st = c.stats()
        check(int(st["evictions"]) > 0 and
              int(st["limit_maxbytes"]) == 8 << 20,
              "after cache_memlimit 8 the server evicts (%s evictions)" %
              st["evictions"])
        check(c.get(b"b2999") == value, "the newest item is there")
        for i in range(6000):
            c.sock.sendall(b"delete a%d noreply\r\ndelete b%d noreply\r\n"
                           % (i, i))
        r = c.cmd(b"slabs reassign -1 1")
        check(r == b"OK", "slabs reassign -1 1 after deleting: %r" % r)
        st = c.stats(b"slabs")
        check(int(st["total_malloced"]) < 2 << 20,
              "the item classes hold at most 2 MB of slabs (%s bytes)" %
              st["total_malloced"])
        c.close()
    finally:
        srv.stop("memlimit server")


def test_no_cas():
    p = Pair(("-C",), ("-C",))
    try:
        steps = b"".join(s for s, _ in NO_CAS)
        want = b"".join(w for _, w in NO_CAS)
        p.expect(steps, want, "-C: text and meta commands without CAS")
        got = exchange(p.kv.port, b"stats settings\r\n")
        check(b"STAT cas_enabled no\r\n" in got,
              "-C: stats settings says cas_enabled no")
        steps = [breq(0x01, b"bk", fl(0), b"v"),
                 breq(0x01, b"bk", fl(0), b"w", cas=5),
                 breq(0x02, b"bk", fl(0), b"w", cas=5),
                 breq(0x00, b"bk"),
                 breq(0x04, b"bk", cas=5),
                 breq(0x05, b"bc", arith(1, 0, 0)),
                 breq(0x05, b"bc", arith(1, 0, 0), cas=3),
                 breq(0x0e, b"bk", b"", b"x", cas=4),
                 breq(0x00, b"bk")]
        kv, ref = p.both(bsession, steps)
        cas = [r[6] for st in kv for r in st[0]]
        vals = [r[4] for st in kv for r in st[0]]
        check(len(cas) == 9 and not any(cas) and vals[3] == b"w" and
              vals[8] == b"wx",
              "-C: binary: CAS 0 in every reply, set with a CAS stores, "
              "append with one appends (%r)" % kv)
        if ref is not None:
            check(ref == kv, "-C: binary: memcached agrees")
    finally:
        p.stop("-C server")


# memcached 1.6.18's "stats" names, in its order, with
# -o no_lru_crawler,no_lru_maintainer (the two threads kvcache does not
# have), as stats.t counts them (83).
MC_STATS = """pid uptime time version libevent pointer_size rusage_user
rusage_system max_connections curr_connections total_connections
rejected_connections connection_structures response_obj_oom
response_obj_count response_obj_bytes read_buf_count read_buf_bytes
read_buf_bytes_free read_buf_oom reserved_fds cmd_get cmd_set cmd_flush
cmd_touch cmd_meta get_hits get_misses get_expired get_flushed
delete_misses delete_hits incr_misses incr_hits decr_misses decr_hits
cas_misses cas_hits cas_badval touch_hits touch_misses store_too_large
store_no_memory auth_cmds auth_errors bytes_read bytes_written
limit_maxbytes accepting_conns listen_disabled_num
time_in_listen_disabled_us threads conn_yields hash_power_level
hash_bytes hash_is_expanding slab_reassign_rescues
slab_reassign_chunk_rescues slab_reassign_evictions_nomem
slab_reassign_inline_reclaim slab_reassign_busy_items
slab_reassign_busy_deletes slab_reassign_running slabs_moved
malloc_fails log_worker_dropped log_worker_written log_watcher_skipped
log_watcher_sent log_watchers unexpected_napi_ids round_robin_fallback
bytes curr_items total_items slab_global_page_pool expired_unfetched
evicted_unfetched evictions reclaimed crawler_reclaimed
crawler_items_checked lrutail_reflocked""".split()

# Zero whatever happens, in kvcache: machinery it does not have.
ZERO_STATS = ["auth_cmds", "auth_errors", "slab_reassign_rescues",
              "slab_reassign_chunk_rescues", "slab_reassign_evictions_nomem",
              "slab_reassign_inline_reclaim", "slab_reassign_busy_items",
              "slab_reassign_busy_deletes", "slab_reassign_running",
              "slabs_moved", "log_worker_dropped", "unexpected_napi_ids",
              "round_robin_fallback", "slab_global_page_pool",
              "crawler_reclaimed", "crawler_items_checked"]


def stat_names(port, group=b""):
    c = tp.Conn(port)
    names = []
    c.send(b"stats" + (b" " + group if group else b"") + b"\r\n")
    while True:
        ln = c.line()
        if ln == b"END":
            break
        names.append(ln.split(b" ")[1].decode())
    c.close()
    return names


def test_stats_names():
    """"stats" has memcached's names in memcached's order, with real
    figures; uslab's own are in "stats uslab"."""
    base = ("-o", "no_lru_crawler,no_lru_maintainer")
    no_mover = [n for n in MC_STATS
                if not n.startswith("slab_reassign_") and n != "slabs_moved"]
    # no_modern also turns memcached's maxconns_fast off, which prints
    # no rejected_connections; kvcache always rejects as it does.
    for extra, want, mc_want in (
            ((), MC_STATS, MC_STATS),
            (("-o", "idle_timeout=30"),
             MC_STATS[:MC_STATS.index("bytes_read")] + ["idle_kicks"] +
             MC_STATS[MC_STATS.index("bytes_read"):], None),
            (("-o", "no_modern"), no_mover,
             [n for n in no_mover if n != "rejected_connections"])):
        mc_want = mc_want or want
        p = Pair(base + extra, base + extra)
        try:
            kv, ref = p.both(stat_names)
            check(kv == want, "stats %s: memcached's %d names in its "
                  "order (%r)" % (" ".join(extra), len(want),
                                  [n for n in kv if n not in want] +
                                  [n for n in want if n not in kv]))
            if ref is not None:
                check(ref == mc_want, "stats %s: memcached agrees" %
                      " ".join(extra))
            if not extra:
                c = p.kv.conn()
                for i in range(20):
                    c.store(b"set", b"s%d" % i, b"v" * 100)
                    c.get(b"s%d" % i)
                st = c.stats()
                check(all(st[n] == "0" for n in ZERO_STATS) and
                      st["libevent"] == "none" and
                      st["reserved_fds"] == "64" and
                      st["cmd_set"] == "20" and st["get_hits"] == "20" and
                      int(st["read_buf_bytes"]) >= 16384,
                      "stats: what kvcache lacks is 0, the rest counts "
                      "(%r)" % {n: st[n] for n in ZERO_STATS + [
                          "libevent", "reserved_fds", "read_buf_bytes"]})
                us = c.stats(b"uslab")
                check(sorted(us) == sorted(["memory_used", "slot_bytes",
                                            "total_malloced",
                                            "slab_classes", "numa_nodes"])
                      and 0 < int(us["slot_bytes"]) <=
                      int(us["memory_used"]) <= 64 << 20 and
                      us["slab_classes"] == "172",
                      "stats uslab: uslab's figures (%r)" % us)
                c.close()
        finally:
            p.stop("stats names server")


def flush_session(port):
    """What flush_all does to items stored around it: [lost in the
    flush's second (at least once in 5 tries), kept a second after it,
    kept before a delayed flush's second, lost once it has come, kept
    when stored after it, and a hit before a flush saves nothing]."""
    c = tp.Conn(port)
    lost = False
    for _ in range(5):
        c.cmd(b"flush_all")
        c.store(b"set", b"f", b"new")
        if c.get(b"f") is None:
            lost = True
            break
    out = [lost]
    c.cmd(b"flush_all")
    time.sleep(1.1)
    c.store(b"set", b"f", b"later")
    out.append(c.get(b"f"))
    c.cmd(b"flush_all 2")
    c.store(b"set", b"d", b"before")
    out.append(c.get(b"d"))
    time.sleep(3.1)
    out.append(c.get(b"d"))
    c.store(b"set", b"d", b"after")
    out.append(c.get(b"d"))
    c.store(b"set", b"h", b"hit")
    time.sleep(1.1)
    c.get(b"h")
    c.cmd(b"flush_all")
    out.append(c.get(b"h"))
    c.close()
    return out


def test_flush_no_cas():
    """-C: flush_all by time (memcached's oldest_live): what is stored in
    the flush's second is flushed with it; with CAS, nothing stored after
    a flush's "OK" is."""
    p = Pair(("-C",), ("-C",))
    try:
        want = [True, b"later", b"before", None, b"after", None]
        kv, ref = p.both(flush_session)
        check(kv == want, "-C: flush_all by the second (%r)" % kv)
        if ref is not None:
            check(ref == want, "-C: flush_all: memcached agrees (%r)" % ref)
    finally:
        p.stop("-C flush server")
    srv = tp.Server("-t", 2)
    try:
        c = tp.Conn(srv.port)
        got = []
        for i in range(50):
            c.cmd(b"flush_all")
            c.store(b"set", b"f", b"%d" % i)
            got.append(c.get(b"f"))
        check(got == [b"%d" % i for i in range(50)],
              "with CAS: 50 sets right after flush_all are all kept")
        c.close()
    finally:
        srv.stop("flush server")


def test_no_evictions():
    """-M: a full cache refuses to store rather than evict."""
    oom = b"SERVER_ERROR out of memory storing object"
    for name, srv in (("kvcache", tp.Server("-t", 2, "-m", 4, "-M")),
                      ("memcached", start_memcached("-m", 4, "-M"))):
        if not srv:
            continue
        c = srv.conn()
        val = b"v" * 20000
        n, last = 0, b""
        while n < 2000:
            last = c.store(b"set", b"m%d" % n, val)
            if last != b"STORED":
                break
            n += 1
        check(last == oom and n > 20,
              "-M (%s): %d items of 20 KB stored, then %r" %
              (name, n, last))
        got = sum(c.get(b"m%d" % i) == val for i in range(n))
        st = c.stats()
        check(got == n and st.get("evictions") == "0",
              "-M (%s): all %d items still there, evictions %s" %
              (name, n, st.get("evictions")))
        c.close()
        c2 = srv.conn()
        check(c2.get(b"m0") == val and
              c2.store(b"set", b"m0", b"small") == b"STORED",
              "-M (%s): a new connection reads, and overwrites an item"
              % name)
        check(c2.stats(b"settings").get("evictions") == "off",
              "-M (%s): stats settings says evictions off" % name)
        c2.close()
        if name == "kvcache":
            srv.stop("-M server")
        else:
            srv.stop()


def stat_of(port, name, group=b""):
    c = tp.Conn(port)
    v = c.stats(group).get(name)
    c.close()
    return v


def test_reqs_per_event():
    """-R N: a connection yields after N requests of one event, and the
    replies are what they would be without the limit."""
    p = Pair(("-R", 5), ("-R", 5))
    try:
        ports = [("kvcache", p.kv.port)] + ([("memcached", p.mc.port)]
                                            if p.mc else [])
        p.expect(b"set r 0 0 1\r\na\r\n" + b"get r\r\n" * 100,
                 b"STORED\r\n" + b"VALUE r 0 1\r\na\r\nEND\r\n" * 100,
                 "-R 5: 100 pipelined gets all answered, in order")
        for name, port in ports:
            y = int(stat_of(port, "conn_yields"))
            check(15 <= y <= 21, "-R 5 (%s): conn_yields %d after 101 "
                  "pipelined requests (20 when they arrive at once)" %
                  (name, y))
            check(stat_of(port, "reqs_per_event", b"settings") == "5",
                  "-R 5 (%s): stats settings says reqs_per_event 5" % name)
        sets = b"".join(b"set r%d 0 0 5\r\nv%04d\r\n" % (i, i)
                        for i in range(200))
        gets = b"get" + b"".join(b" r%d" % i for i in range(200)) + b"\r\n"
        p.expect(sets + gets + b"delete r7\r\nincr r8 1\r\n",
                 b"STORED\r\n" * 200 +
                 b"".join(b"VALUE r%d 0 5\r\nv%04d\r\n" % (i, i)
                          for i in range(200)) +
                 b"END\r\nDELETED\r\nCLIENT_ERROR cannot increment or "
                 b"decrement non-numeric value\r\n",
                 "-R 5: 200 pipelined sets, a multi-get, delete, incr")
        steps = [b"".join(breq(0x11, b"rb%d" % i, fl(i), b"x" * i)
                          for i in range(1, 60)) + breq(0x0a),
                 breq(0x00, b"rb59")]
        kv, ref = p.both(bsession, steps)
        check([r[:5] for r in kv[0][0]] == [(0x0a, 0, b"", b"", b"")] and
              kv[1][0][0][4] == b"x" * 59,
              "-R 5: binary: 59 quiet sets and a noop: only the noop "
              "answers, the last value reads back (%r)" % kv)
        if ref is not None:
            check(ref == kv, "-R 5: binary: memcached agrees")
    finally:
        p.stop("-R server")
    srv = tp.Server("--max-reqs-per-event=1")
    c = srv.conn()
    c.send(b"get x\r\n" * 50 + b"set x 0 0 1\r\n1\r\nget x\r\n")
    got = [c.line() for _ in range(54)]
    check(got == [b"END"] * 50 + [b"STORED", b"VALUE x 0 1", b"1", b"END"],
          "--max-reqs-per-event=1: every reply, in order")
    c.close()
    srv.stop("-R 1 server")
    srv = tp.Server()
    c = srv.conn()
    c.send(b"get x\r\n" * 100)
    got = [c.line() for _ in range(100)]
    check(got == [b"END"] * 100 and c.stats().get("conn_yields") == "0" and
          c.stats(b"settings").get("reqs_per_event") == "0",
          "no -R: no limit, no yield, reqs_per_event 0")
    c.close()
    srv.stop("server without -R")
    for arg in ("0", "x", "-1"):
        r = run_kvcache("-p", tp.free_port(), "-R", arg)
        check(r.returncode not in (0, None) and b"-R" in r.stderr,
              "-R %s refused (%r)" % (arg, r.stderr.split(b"\n")[0]))


def bsession(port, steps, counts=None):
    """Send each binary step on one connection and parse its replies:
    (responses, bytes left over, closed) per step.  A step whose entry
    in @counts says how many responses it gets stops waiting once they
    are all in (see SETTLE); otherwise the server must go quiet."""
    s = socket.create_connection(("127.0.0.1", port), timeout=tp.TIMEOUT)
    out = []
    for i, step in enumerate(steps):
        n = counts[i] if counts and i < len(counts) else 0
        s.sendall(step)
        got, closed = read_reply(
            s, tp.TIMEOUT if n else 0.3, 0.3,
            None if not n else
            lambda g, n=n: len(bparse(g)[0]) >= n and not bparse(g)[1])
        res, rest = bparse(got)
        out.append((res, rest, closed))
    s.close()
    return out


def fl(flags, exp=0):
    return struct.pack(">II", flags, exp)


def arith(delta, initial, exp):
    return struct.pack(">QQI", delta, initial, exp)


OK, ENOENT, EEXISTS, EINVAL, NOT_STORED, BADVAL, UNKNOWN = (
    0, 1, 2, 4, 5, 6, 0x81)

# (name, requests, [[(opcode, status, extras, key, value), ...] per request])
BINARY = [
    ("noop", [breq(0x0a)], [[(0x0a, OK, b"", b"", b"")]]),
    ("set, get, getk", [breq(0x01, b"b1", fl(7), b"hello"),
                        breq(0x00, b"b1"), breq(0x0c, b"b1")],
     [[(0x01, OK, b"", b"", b"")],
      [(0x00, OK, struct.pack(">I", 7), b"", b"hello")],
      [(0x0c, OK, struct.pack(">I", 7), b"b1", b"hello")]]),
    ("misses", [breq(0x00, b"bx"), breq(0x0c, b"bx"),
                breq(0x09, b"bx") + breq(0x0d, b"bx") + breq(0x0a)],
     [[(0x00, ENOENT, b"", b"", b"Not found")],
      [(0x0c, ENOENT, b"", b"bx", b"")], [(0x0a, OK, b"", b"", b"")]]),
    ("quiet hits", [breq(0x11, b"b2", fl(0), b"v2") + breq(0x09, b"b2") +
                    breq(0x0d, b"b2") + breq(0x0a)],
     [[(0x09, OK, fl(0)[:4], b"", b"v2"), (0x0d, OK, fl(0)[:4], b"b2", b"v2"),
       (0x0a, OK, b"", b"", b"")]]),
    ("add, replace", [breq(0x02, b"b1", fl(0), b"x"),
                      breq(0x03, b"bx", fl(0), b"x"),
                      breq(0x03, b"b1", fl(3), b"new"),
                      breq(0x12, b"b1", fl(0), b"x")],
     [[(0x02, EEXISTS, b"", b"", b"Data exists for key.")],
      [(0x03, ENOENT, b"", b"", b"Not found")],
      [(0x03, OK, b"", b"", b"")],
      [(0x12, EEXISTS, b"", b"", b"Data exists for key.")]]),
    ("append, prepend", [breq(0x0e, b"b1", b"", b"-t"),
                         breq(0x0f, b"b1", b"", b"h-"),
                         breq(0x0e, b"bx", b"", b"z"),
                         breq(0x00, b"b1")],
     [[(0x0e, OK, b"", b"", b"")], [(0x0f, OK, b"", b"", b"")],
      [(0x0e, NOT_STORED, b"", b"", b"Not stored.")],
      [(0x00, OK, struct.pack(">I", 3), b"", b"h-new-t")]]),
    ("set with a wrong CAS", [breq(0x01, b"b1", fl(0), b"c", cas=1),
                              breq(0x01, b"bx", fl(0), b"c", cas=1)],
     [[(0x01, EEXISTS, b"", b"", b"Data exists for key.")],
      [(0x01, ENOENT, b"", b"", b"Not found")]]),
    ("delete", [breq(0x04, b"b1"), breq(0x04, b"b1"),
                breq(0x14, b"b2") + breq(0x0a), breq(0x04, b"b2", cas=5)],
     [[(0x04, OK, b"", b"", b"")],
      [(0x04, ENOENT, b"", b"", b"Not found")],
      [(0x0a, OK, b"", b"", b"")], [(0x04, ENOENT, b"", b"", b"Not found")]]),
    ("incr, decr", [breq(0x05, b"bn", arith(1, 10, 0xffffffff)),
                    breq(0x05, b"bn", arith(1, 10, 0)),
                    breq(0x05, b"bn", arith(5, 0, 0)),
                    breq(0x06, b"bn", arith(100, 0, 0)),
                    breq(0x15, b"bn", arith(2, 0, 0)) + breq(0x0a),
                    breq(0x01, b"bt", fl(0), b"txt"),
                    breq(0x05, b"bt", arith(1, 0, 0))],
     [[(0x05, ENOENT, b"", b"", b"Not found")],
      [(0x05, OK, b"", b"", struct.pack(">Q", 10))],
      [(0x05, OK, b"", b"", struct.pack(">Q", 15))],
      [(0x06, OK, b"", b"", struct.pack(">Q", 0))],
      [(0x0a, OK, b"", b"", b"")], [(0x01, OK, b"", b"", b"")],
      [(0x05, BADVAL, b"", b"",
        b"Non-numeric server-side value for incr or decr")]]),
    ("touch, gat", [breq(0x01, b"b3", fl(9), b"gv"),
                    breq(0x1c, b"b3", struct.pack(">I", 100)),
                    breq(0x1d, b"b3", struct.pack(">I", 100)),
                    breq(0x23, b"b3", struct.pack(">I", 100)),
                    breq(0x1e, b"bx", struct.pack(">I", 100)) + breq(0x0a),
                    breq(0x1c, b"bx", struct.pack(">I", 100))],
     [[(0x01, OK, b"", b"", b"")],
      [(0x1c, OK, struct.pack(">I", 9), b"", b"")],
      [(0x1d, OK, struct.pack(">I", 9), b"", b"gv")],
      [(0x23, OK, struct.pack(">I", 9), b"b3", b"gv")],
      [(0x0a, OK, b"", b"", b"")],
      [(0x1c, ENOENT, b"", b"", b"Not found")]]),
    ("flush", [breq(0x08), breq(0x18) + breq(0x0a), breq(0x00, b"b3")],
     [[(0x08, OK, b"", b"", b"")], [(0x0a, OK, b"", b"", b"")],
      [(0x00, ENOENT, b"", b"", b"Not found")]]),
    ("unknown opcodes and SASL", [breq(0x30, b"k", b"", b"body"),
                                  breq(0x20), breq(0x21, b"PLAIN", b"",
                                                   b"\0u\0p"),
                                  breq(0x0a)],
     [[(0x30, UNKNOWN, b"", b"", b"Unknown command")],
      [(0x20, UNKNOWN, b"", b"", b"Unknown command")],
      [(0x21, UNKNOWN, b"", b"", b"Unknown command")],
      [(0x0a, OK, b"", b"", b"")]]),
]


def check_binary_closes(port, what, req, status):
    r = bsession(port, [req])[0]
    check(r[2] and [x[1] for x in r[0]] == [status],
          "binary: %s: status %#x and closed (%r)" % (what, status, r))


def test_binary(p):
    for name, reqs, want in BINARY:
        got, ref = p.both(bsession, reqs, [len(w) for w in want])
        norm = [[x[:5] for x in res] for res, _, _ in got]
        ok = norm == want and all(x[5] == 0x11223344 for res, _, _ in got
                                  for x in res)
        check(ok, "binary: %s%s" % (name, "" if ok else " (%r)" % norm))
        # memcached's answers to SASL opcodes depend on its SASL build;
        # kvcache answers "Unknown command", as the protocol says.
        if ref is not None and not name.startswith("unknown"):
            rnorm = [[x[:5] + (x[6],) for x in res] for res, _, _ in ref]
            knorm = [[x[:5] + (x[6],) for x in res] for res, _, _ in got]
            check(rnorm == knorm, "binary: %s: same as memcached%s" %
                  (name, "" if rnorm == knorm else " (%r)" % rnorm))
    got = bsession(p.kv.port, [breq(0x0b)])[0][0]
    check(len(got) == 1 and got[0][1] == OK and
          got[0][4].startswith(b"1.6"), "binary: version (%r)" % got)
    got = bsession(p.kv.port, [breq(0x10)])[0][0]
    names = {x[3] for x in got}
    check(len(got) > 20 and got[-1][3:5] == (b"", b"") and
          {b"curr_items", b"get_hits", b"pid"} <= names,
          "binary: stat: %d statistics and the empty terminator" %
          len(got))
    check([x[3].decode() for x in got if x[3]] == MC_STATS,
          "binary: stat: memcached's names, in its order")
    got = bsession(p.kv.port, [breq(0x10, b"settings")])[0][0]
    check(any(x[3] == b"item_size_max" for x in got),
          "binary: stat settings")
    got = bsession(p.kv.port, [breq(0x10, b"uslab")])[0][0]
    check([x[3] for x in got] == [b"memory_used", b"slot_bytes",
                                  b"total_malloced", b"slab_classes",
                                  b"numa_nodes", b""],
          "binary: stat uslab (%r)" % [x[3] for x in got])
    check_binary_closes(p.kv.port, "get with extras",
                        breq(0x00, b"k", b"xxxx"), EINVAL)
    check_binary_closes(p.kv.port, "a 300-byte key",
                        breq(0x00, b"k" * 300), EINVAL)
    check_binary_closes(p.kv.port, "key longer than the body",
                        breq(0x00, b"key", bodylen=1), UNKNOWN)
    r = bsession(p.kv.port, [breq(0x07)])[0]
    check(r[2] and [x[:2] for x in r[0]] == [(0x07, OK)],
          "binary: quit answers and closes")
    r = bsession(p.kv.port, [breq(0x17)])[0]
    check(r[2] and not r[0], "binary: quitq closes silently")
    # A 700 KB value, set then got, and a request split byte by byte.
    big = bytes(range(256)) * 2800
    s = socket.create_connection(("127.0.0.1", p.kv.port),
                                 timeout=tp.TIMEOUT)
    s.sendall(breq(0x01, b"bbig", fl(1), big))
    req = breq(0x00, b"bbig")
    for i in range(len(req)):
        s.sendall(req[i:i + 1])
        time.sleep(0.001)
    data = b""
    while True:
        res, _ = bparse(data)
        if len(res) >= 2:
            break
        d = s.recv(1 << 20)
        if not d:
            break
        data += d
    s.close()
    check(len(res) == 2 and res[0][1] == OK and res[1][4] == big,
          "binary: 700 KB value set and got back (request sent byte by "
          "byte)")
    # A text command on a binary connection is no command.
    r = bsession(p.kv.port, [breq(0x0a), b"version\r\n" + b"\0" * 20])[1]
    check(r[2], "binary connection: a text line closes it")


# ---- Introspection ------------------------------------------------------

def metadump_lines(c):
    """memcached's metadump lines end in "\\n", then "END\\r\\n"."""
    while not (c.buf == b"END\r\n" or c.buf.endswith(b"\nEND\r\n")):
        c._fill()
    out, c.buf = c.buf[:-5].split(b"\n")[:-1], b""
    return out


def test_dumps(p):
    p.expect(b"stats sizes\r\n", b"STAT sizes_status disabled\r\nEND\r\n",
             "stats sizes")
    p.expect(b"stats cachedump 1\r\n", b"CLIENT_ERROR bad command line\r\n",
             "stats cachedump without a limit")
    p.expect(b"stats cachedump x 1\r\n",
             b"CLIENT_ERROR bad command line format\r\n",
             "stats cachedump with a bad class")
    srv = tp.Server("-t", 2)
    c = srv.conn()
    for k in (b"dump1", b"dump2", b"dump/3"):
        c.store(b"set", k, b"v" * 10)
    c.store(b"set", b"dumpx", b"v" * 10, exptime=1000)
    items = c.stats(b"items")
    ids = [k.split(":")[1] for k, v in items.items()
           if k.endswith(":number") and int(v) == 4]
    check(len(ids) == 1, "the four items share a class (%s)" % ids)
    cls = ids[0].encode() if ids else b"1"
    c.send(b"stats cachedump " + cls + b" 0\r\n")
    lines = []
    while True:
        ln = c.line()
        if ln == b"END":
            break
        lines.append(ln)
    want = {b"ITEM dump1 [10 b; 0 s]", b"ITEM dump2 [10 b; 0 s]",
            b"ITEM dump/3 [10 b; 0 s]"}
    exp = [ln for ln in lines if ln.startswith(b"ITEM dumpx [10 b; ")]
    check(want <= set(lines) and len(lines) == 4 and len(exp) == 1 and
          abs(int(exp[0].split()[4]) - time.time() - 1000) < 5,
          "stats cachedump: every item, its size and expiry (%r)" % lines)
    c.send(b"stats cachedump " + cls + b" 2\r\n")
    n = 0
    while c.line() != b"END":
        n += 1
    check(n == 2, "stats cachedump with a limit of 2: %d lines" % n)
    c.send(b"lru_crawler metadump all\r\n")
    lines = metadump_lines(c)
    now = int(time.time())
    ok = any(re.match(rb"key=dump%2F3 exp=-1 la=([0-9]+) cas=", ln) and
             abs(int(re.match(rb"key=\S+ exp=-1 la=([0-9]+)", ln).group(1))
                 - now) <= 5 and
             b" fetch=no cls=" + cls + b" size=" in ln for ln in lines)
    check(ok and len(lines) == 4, "lru_crawler metadump all (%r)" % lines)
    c.send(b"lru_crawler metadump " + cls + b"\r\n")
    n = len(metadump_lines(c))
    check(n == 4, "lru_crawler metadump of one class: %d lines" % n)
    before = c.stats()
    c.send(b"mg dump1 v\r\nmg nokey\r\nms dump9 1\r\nx\r\n")
    c.line(), c.exact(12), c.line(), c.line()
    after = c.stats()
    check(int(after["cmd_meta"]) - int(before["cmd_meta"]) == 3,
          "stats: cmd_meta counts meta commands")
    check(all(k in after for k in ("read_buf_count", "read_buf_bytes",
                                   "response_obj_count",
                                   "response_obj_bytes",
                                   "listen_disabled_num")),
          "stats: memcached's buffer and listen figures")
    c.close()
    srv.stop("dump server")
    srv = tp.Server("-X", "-t", 1)
    c = srv.conn()
    check(c.cmd(b"stats cachedump 1 1") ==
          b"CLIENT_ERROR stats cachedump not allowed" and
          c.cmd(b"lru_crawler metadump all") == b"ERROR metadump not allowed",
          "-X: dumps refused")
    c.close()
    srv.stop("-X server")


# ---- memcached's command line -------------------------------------------

def test_options():
    # Options that ask for what kvcache does anyway: accepted.
    for args in (["-U", "0"], ["-W"], ["-P", "/nonexistent/pid"],
                 ["-b", "64"], ["-B", "auto"], ["-r"],
                 ["-o", "maxconns_fast,no_lru_crawler,read_buf_mem_limit=0"],
                 ["-o", "idle_timeout=0"], ["--listen-backlog=100"],
                 ["--memory-limit=16", "--conn-limit=100", "--threads=2"],
                 ["-u", "nobody"]):
        try:
            srv = tp.Server(*args)
            c = srv.conn()
            ok = c.cmd(b"version").startswith(b"VERSION ")
            c.close()
            srv.stop("kvcache %s" % " ".join(args))
        except RuntimeError:
            ok = False
        check(ok, "option %s accepted" % " ".join(args))
    # Options that do not apply: refused, with the reason.
    for args in (["-U", "11211"], ["-d"],
                 ["-n", "48"], ["-L"], ["-D", ""], ["-S"],
                 ["-Y", "/tmp/x"], ["-e", "/tmp/x"], ["-Z"], ["-N", "1"],
                 ["-o", "lru_crawler"], ["-o", "read_buf_mem_limit=x"],
                 ["-o", "ext_path=/tmp/x:1m"], ["-B", "http"],
                 ["-a", "999"], ["--bogus"]):
        r = run_kvcache("-p", tp.free_port(), *args)
        check(r.returncode not in (0, None) and b"kvcache" in r.stderr,
              "option %s refused (rc %s: %r)" %
              (" ".join(args), r.returncode, r.stderr.split(b"\n")[0]))
    r = run_kvcache("-V")
    check(r.returncode == 0 and r.stdout.startswith(b"kvcache 1.6"),
          "-V prints the version (%r)" % r.stdout)
    r = run_kvcache("-i")
    check(r.returncode == 0 and b"license" in r.stdout, "-i: the license")


def test_unix_socket():
    d = tempfile.mkdtemp()
    path = os.path.join(d, "kv.sock")
    proc = subprocess.Popen([tp.SERVER, "-s", path, "-a", "770", "-t", "1"],
                            stdin=subprocess.DEVNULL)
    try:
        deadline = time.time() + tp.TIMEOUT
        while not os.path.exists(path) and time.time() < deadline:
            time.sleep(0.05)
        mode = os.stat(path).st_mode & 0o777 if os.path.exists(path) else 0
        check(mode == 0o770, "-s -a 770: the socket's mode is %o" % mode)
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(tp.TIMEOUT)
        s.connect(path)
        x = tp.Conn.__new__(tp.Conn)
        x.sock, x.buf = s, b""
        ok = (x.store(b"set", b"u1", b"over unix") == b"STORED" and
              x.get(b"u1") == b"over unix")
        st = x.stats(b"settings")
        check(ok and st.get("domain_socket") == path,
              "-s: set and get over the UNIX socket")
        x.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=tp.TIMEOUT * 3)
    check(rc == 0, "-s server exits 0")
    shutil.rmtree(d, ignore_errors=True)


def test_port_file():
    d = tempfile.mkdtemp()
    pf = os.path.join(d, "ports")
    env = dict(os.environ, MEMCACHED_PORT_FILENAME=pf)
    proc = subprocess.Popen([tp.SERVER, "-p", "0", "-t", "1"], env=env,
                            stdin=subprocess.DEVNULL)
    try:
        deadline = time.time() + tp.TIMEOUT
        while not os.path.exists(pf) and time.time() < deadline:
            time.sleep(0.05)
        text = open(pf).read() if os.path.exists(pf) else ""
        m = re.match(r"TCP INET6?: (\d+)\n$", text)
        ok = False
        if m and int(m.group(1)) > 0:
            c = tp.Conn(int(m.group(1)))
            ok = c.cmd(b"version").startswith(b"VERSION ")
            c.close()
        check(ok, "-p 0: the port file names the port (%r)" % text)
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=tp.TIMEOUT * 3)
    check(rc == 0, "-p 0 server exits 0")
    shutil.rmtree(d, ignore_errors=True)


class RawServer(tp.Server):
    """A kvcache whose readiness is a TCP connection, not a text
    command (for -B binary)."""

    def _wait_ready(self):
        deadline = time.time() + tp.TIMEOUT
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                socket.create_connection(("127.0.0.1", self.port),
                                         timeout=1).close()
                return True
            except OSError:
                time.sleep(0.05)
        return False


def test_admin_options():
    p = Pair(("-F",), ("-F",))
    p.expect(b"flush_all\r\n", b"CLIENT_ERROR flush_all not allowed\r\n",
             "-F: flush_all refused")
    r = bsession(p.kv.port, [breq(0x08)])[0][0]
    check([x[1] for x in r] == [0x20], "-F: binary FLUSH refused (%r)" % r)
    p.expect(b"shutdown\r\n", b"ERROR: shutdown not enabled\r\n",
             "shutdown without -A")
    p.expect(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"<EOF>",
             "an HTTP request: closed")
    p.stop("-F server")
    srv = tp.Server("-A", "-t", 1)
    c = srv.conn()
    check(c.cmd(b"shutdown foo") == b"CLIENT_ERROR invalid shutdown mode",
          "shutdown with a bad mode")
    c.send(b"shutdown\r\n")
    check(c.eof(), "-A: shutdown closes the connection")
    try:
        rc = srv.proc.wait(timeout=tp.TIMEOUT)
    except subprocess.TimeoutExpired:
        rc = None
    check(rc == 0, "-A: shutdown stops the server, exit 0 (%s)" % rc)
    # -B forces a protocol.
    srv = RawServer("-B", "binary", "-t", 1)
    r = bsession(srv.port, [breq(0x0a), b"version\r\n" + b" " * 30])
    check(r[0][0][0][:2] == (0x0a, 0) and r[1][2],
          "-B binary: binary served, text closes")
    srv.stop("-B binary server")
    srv = tp.Server("-B", "ascii", "-t", 1)
    got = exchange(srv.port, breq(0x0a) + b"\r\nversion\r\n")
    check(got.startswith(b"ERROR\r\n") and b"VERSION" in got,
          "-B ascii: a binary request is no command (%r)" % got[:40])
    srv.stop("-B ascii server")
    # -o idle_timeout
    srv = tp.Server("-o", "idle_timeout=2", "-t", 1)
    idle, busy = srv.conn(), srv.conn()
    end = time.time() + 5
    while time.time() < end:
        busy.cmd(b"version")
        time.sleep(0.5)
    check(idle.eof(), "-o idle_timeout=2: an idle connection is closed")
    check(busy.cmd(b"version").startswith(b"VERSION "),
          "-o idle_timeout=2: a busy one is not")
    busy.close()
    srv.stop("idle_timeout server")


# ---- Main ---------------------------------------------------------------

def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    if not os.access(tp.SERVER, os.X_OK):
        print("FAIL: %s is not built" % tp.SERVER)
        print("0%: Checks: 1, Failures: 1, Errors: 0")
        return 1
    p = Pair()
    try:
        tp.run_tests((
            ("pipelined stats", test_pipelined_stats),
            ("long multi-get", lambda: test_long_multiget(p)),
            ("CRLF line", lambda: test_line_crlf(p)),
            ("incr values", lambda: test_arith_values(p)),
            ("gat without key", lambda: test_gat_nokey(p)),
            ("options", test_options_item1),
            ("descriptor limit", test_fd_limit),
            ("descriptor limit log", test_fd_limit_log),
            ("meta commands", lambda: test_meta(p)),
            ("binary protocol", lambda: test_binary(p)),
            ("dumps", lambda: test_dumps(p)),
            ("memcached's options", test_options),
            ("unix socket", test_unix_socket),
            ("port file", test_port_file),
            ("admin options", test_admin_options),
            ("-C", test_no_cas),
            ("-C flush_all", test_flush_no_cas),
            ("stats names", test_stats_names),
            ("-M", test_no_evictions),
            ("-R", test_reqs_per_event),
            ("cache_memlimit, slabs", test_admin),
        ))
    finally:
        p.stop("main server")
    return tp.summary()


if __name__ == "__main__":
    tp.run_main(main)
