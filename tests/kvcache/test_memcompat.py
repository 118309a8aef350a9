#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""kvcache beside memcached 1.6.18: the corners of the text protocol where
the two must agree, the meta commands and the binary protocol.

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


def exchange(port, data, wait=0.05, idle=0.3):
    """Send @data on a new connection; everything read until the server
    has been quiet for @idle seconds (b"<EOF>" appended if it closed)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=tp.TIMEOUT)
    s.sendall(data)
    time.sleep(wait)
    s.settimeout(idle)
    out = b""
    try:
        while True:
            d = s.recv(1 << 20)
            if not d:
                out += b"<EOF>"
                break
            out += d
    except socket.timeout:
        pass
    except ConnectionResetError:
        out += b"<RESET>"
    s.close()
    return out


class Pair:
    """kvcache and (if installed) memcached, started alike."""

    def __init__(self, kv_args=(), mc_args=()):
        self.kv = tp.Server("-t", 2, *kv_args)
        self.mc = start_memcached(*mc_args)

    def expect(self, data, want, what, **kw):
        got = exchange(self.kv.port, data, **kw)
        ok = check(got == want, "%s (kvcache: %r)" % (what, got[:200]))
        if self.mc:
            ref = exchange(self.mc.port, data, **kw)
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
    for group in (b"", b"slabs", b"items", b"settings"):
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
            ok = n == 30 and st and all(ln.startswith(b"STAT ")
                                        for ln in st)
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


def session(port, steps):
    """Send each step on one connection and read its reply (everything
    until the server is quiet); "{cas}" in a step is the last CAS seen.
    The transcript has CAS values replaced by "<cas>", since the two
    servers number them differently."""
    s = socket.create_connection(("127.0.0.1", port), timeout=tp.TIMEOUT)
    cas = b"0"
    out = []
    for step in steps:
        s.sendall(step.replace(b"{cas}", cas))
        s.settimeout(tp.TIMEOUT)
        got = b""
        try:
            got = s.recv(1 << 20)
            s.settimeout(0.15)
            while True:
                d = s.recv(1 << 20)
                if not d:
                    break
                got += d
        except socket.timeout:
            pass
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
        got = session(p.kv.port, steps)
        bad = [(s, g, w) for s, g, w in zip(steps, got, want)
               if w is not None and g != w]
        check(not bad, "meta: %s%s" % (name, "" if not bad else
                                       " (sent %r: got %r, want %r)" %
                                       bad[0]))
        if p.mc:
            ref = session(p.mc.port, steps)
            bad = [(s, g, r) for s, g, r in zip(steps, got, ref)
                   if g != r and not s.startswith(b"me ")]
            check(not bad, "meta: %s: same as memcached%s" % (
                name, "" if not bad else " (sent %r: kvcache %r, "
                "memcached %r)" % bad[0]))
    # me: memcached's fields but la (no access time is kept).
    got = session(p.kv.port, [b"me m_k\r\n"])[0]
    check(re.match(rb"ME m_k exp=-1 cas=<cas> fetch=no cls=[0-9]+ "
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
        ))
    finally:
        p.stop("main server")
    total = tp.checks + tp.errors
    pct = 100 * (total - tp.failures - tp.errors) // total if total else 0
    print("%d%%: Checks: %d, Failures: %d, Errors: %d" %
          (pct, total, tp.failures, tp.errors))
    return 1 if tp.failures or tp.errors else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        tp.kill_leftovers()
