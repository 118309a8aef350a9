#!/usr/bin/python3
# bench/malloc/memcached.py LIB SCALE: memcached under load, with LIB
# preloaded into the server only ("" for glibc's malloc).  Starts
# memcached (2 worker threads, 64 MiB, TCP on a free loopback port; as
# nobody when run as root, which memcached requires), drives it with
# memcaslap (one thread, 16 connections, its default mix of 90% gets
# and 10% sets of values around 1 KiB) for 300,000 operations times
# SCALE, and prints one line as mrun does for the other workloads:
#
#   WALL_SECONDS PEAK_RSS_KIB STATUS CPU_SECONDS
#
# where the wall time is the load's and the peak RSS (VmHWM) and CPU
# time (user + system) are the server's, read just before it is
# stopped.  STATUS is 0, or the failing step's exit status (or 1).
# Exits 3 with "unavailable REASON" on stderr when memcached or
# memcaslap is not installed.  A report's helper, not a test.
import os
import shutil
import signal
import socket
import subprocess
import sys
import time


def free_port():
    """A loopback TCP port nobody listens on (as of now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, timeout=10.0):
    """True once the server accepts connections on port."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.02)
    return False


def server_figures(pid):
    """(peak RSS in KiB, user + system CPU seconds) of a live process."""
    kib = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                kib = int(line.split()[1])
    with open("/proc/%d/stat" % pid) as f:
        # Fields after the command (which may hold spaces): state is
        # field 3, utime 14 and stime 15.
        rest = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return kib, (int(rest[11]) + int(rest[12])) / ticks


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: memcached.py LIB SCALE")
    lib, scale = sys.argv[1], float(sys.argv[2])
    for prog in ("memcached", "memcaslap"):
        if not shutil.which(prog):
            print("unavailable %s is not installed" % prog, file=sys.stderr)
            sys.exit(3)
    ops = max(1000, int(300000 * scale))
    port = free_port()
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    server_env = dict(env, LD_PRELOAD=lib) if lib else env
    argv = ["memcached", "-l", "127.0.0.1", "-p", str(port), "-U", "0",
            "-t", "2", "-m", "64"]
    if os.geteuid() == 0:
        argv += ["-u", "nobody"]
    server = subprocess.Popen(argv, env=server_env)
    status = 1
    try:
        if not wait_listening(port, server):
            print("memcached did not start", file=sys.stderr)
            print("0 0 1 0")
            return
        t0 = time.monotonic()
        load = subprocess.run(["memcaslap", "-s", "127.0.0.1:%d" % port,
                               "-T", "1", "-c", "16", "-x", str(ops)],
                              env=env, stdout=subprocess.DEVNULL)
        wall = time.monotonic() - t0
        status = load.returncode
        if server.poll() is not None:
            print("memcached exited during the load (status %d)" %
                  server.returncode, file=sys.stderr)
            status = status or 1
            kib, cpu = 0, 0.0
        else:
            kib, cpu = server_figures(server.pid)
        print("%.3f %d %d %.3f" % (wall, kib, status, cpu))
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


if __name__ == "__main__":
    main()
