#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""kvcache's memory against Debian's memcached under the same load.

    examples/kvcache/probe-memory.py [BUILD_DIR]

Two probes, each run on kvcache and on memcached (same -m, -t 2, fresh
server on a free loopback port), printed side by side:

 churn  -m 32: WAVES waves (default 16) of values of one size each, the
        sizes geometric from 300 B to 250 KB; a wave sets WAVE_MB
        (default 48) megabytes of them, pipelined, then deletes every key
        it set.  Reports the server's peak RSS (VmHWM) and its RSS
        SETTLE seconds (default 12) after the last delete.
 full   -m 8: 16 MB of 100-byte values, then one set each of 500 B,
        1 KB, 5 KB and 100 KB: the answers.

Numbers, not a test (tests/kvcache/test_memory.py is the test).  The
environment of this script reaches kvcache, so USLAB_REAP_MS changes how
soon it gives memory back.
"""
import os
import shutil
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    """kvcache or memcached on a free port; stop() ends it."""

    def __init__(self, kind, build, mem, extra=(), env=None):
        self.port = free_port()
        if kind == "kvcache":
            argv = [os.path.join(build, "examples", "kvcache", "kvcache")]
        else:
            argv = [shutil.which("memcached") or "/usr/bin/memcached",
                    "-l", "127.0.0.1"]
            if os.getuid() == 0:
                argv += ["-u", "root"]
        argv += ["-p", str(self.port), "-m", str(mem), "-t", "2"]
        argv += list(extra)
        self.proc = subprocess.Popen(argv, env=env)
        for _ in range(100):
            try:
                self.sock = socket.create_connection(
                    ("127.0.0.1", self.port), timeout=60)
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError("%s did not start" % kind)
        self.buf = b""

    def status(self, field):
        """A field of /proc/PID/status, in kB."""
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return 0

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.sock.recv(1 << 20)
            if not d:
                raise EOFError("server closed the connection")
            self.buf += d
        i = self.buf.index(b"\r\n")
        ln, self.buf = self.buf[:i], self.buf[i + 2:]
        return ln

    def sync(self):
        """Every command sent so far has been processed."""
        self.sock.sendall(b"version\r\n")
        while not self.line().startswith(b"VERSION"):
            pass

    def set(self, key, value):
        self.sock.sendall(b"set %s 0 0 %d\r\n%s\r\n" %
                          (key, len(value), value))
        return self.line()

    def stats(self):
        self.sock.sendall(b"stats\r\n")
        st = {}
        while True:
            ln = self.line()
            if ln == b"END":
                return st
            _, k, v = ln.decode().split(" ", 2)
            st[k] = v

    def stop(self):
        self.sock.close()
        self.proc.terminate()
        self.proc.wait(timeout=30)


def pipeline(srv, cmds, batch=256 << 10):
    """Send @cmds (bytes, noreply) in chunks of about @batch bytes."""
    out = []
    size = 0
    for c in cmds:
        out.append(c)
        size += len(c)
        if size >= batch:
            srv.sock.sendall(b"".join(out))
            out, size = [], 0
    if out:
        srv.sock.sendall(b"".join(out))
    srv.sync()


def wave_sizes(waves, lo=300, hi=250000):
    if waves == 1:
        return [lo]
    return [int(round(lo * (hi / lo) ** (i / (waves - 1))))
            for i in range(waves)]


def churn(kind, build, mem=32, waves=16, wave_mb=48, settle=12, env=None):
    """The churn probe; {'peak': kB, 'after': kB, 'base': kB}."""
    srv = Server(kind, build, mem, env=env)
    try:
        base = srv.status("VmRSS")
        for w, size in enumerate(wave_sizes(waves)):
            n = max(1, (wave_mb << 20) // size)
            val = b"v" * size
            keys = [b"w%02d:%07d" % (w, i) for i in range(n)]
            pipeline(srv, (b"set %s 0 0 %d noreply\r\n%s\r\n" %
                           (k, size, val) for k in keys))
            pipeline(srv, (b"delete %s noreply\r\n" % k for k in keys))
        peak = srv.status("VmHWM")
        time.sleep(settle)
        after = srv.status("VmRSS")
        items = int(srv.stats()["curr_items"])
    finally:
        srv.stop()
    return {"base": base, "peak": peak, "after": after, "items": items}


FULL_SIZES = (500, 1024, 5 * 1024, 100 * 1024)


def full(kind, build, mem=8, fill_mb=16, env=None):
    """The full-store probe: [(size, answer)] after filling with 100 B."""
    srv = Server(kind, build, mem, env=env)
    try:
        val = b"f" * 100
        n = (fill_mb << 20) // 100
        pipeline(srv, (b"set f%07d 0 0 100 noreply\r\n%s\r\n" % (i, val)
                       for i in range(n)))
        res = [(size, srv.set(b"new%d" % size, b"n" * size).decode())
               for size in FULL_SIZES]
    finally:
        srv.stop()
    return res


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                            os.path.join(ROOT, "build"))
    waves = int(os.environ.get("WAVES", 16))
    wave_mb = int(os.environ.get("WAVE_MB", 48))
    settle = float(os.environ.get("SETTLE", 12))
    model = "?"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        model = next(ln.split(":", 1)[1].strip() for ln in out.splitlines()
                     if ln.startswith("Model name"))
    except (OSError, StopIteration):
        pass
    print("CPU: %s" % model)
    sizes = wave_sizes(waves)
    print("churn: -m 32, %d waves of %d MB (values %d B .. %d B), each "
          "set then deleted; RSS %g s after the last delete" %
          (waves, wave_mb, sizes[0], sizes[-1], settle))
    res = {k: churn(k, build, waves=waves, wave_mb=wave_mb, settle=settle)
           for k in ("kvcache", "memcached")}
    print("%-10s %12s %12s %12s" % ("", "start kB", "peak kB", "after kB"))
    for k, r in res.items():
        print("%-10s %12d %12d %12d" % (k, r["base"], r["peak"], r["after"]))
    kv, mc = res["kvcache"], res["memcached"]
    print("%-10s %12s %12.2f %12.2f" % ("ratio", "",
                                        kv["peak"] / mc["peak"],
                                        kv["after"] / mc["after"]))
    print()
    print("full: -m 8 filled with 16 MB of 100 B values, then one set of "
          "each size")
    fr = {k: full(k, build) for k in ("kvcache", "memcached")}
    print("%-8s %-44s %s" % ("size", "kvcache", "memcached"))
    for (size, a), (_, b) in zip(fr["kvcache"], fr["memcached"]):
        print("%-8d %-44s %s" % (size, a, b))
    return 0


if __name__ == "__main__":
    sys.exit(main())
