#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Two kvcache instances behind one client with consistent hashing.

Debian's libmemcached-tools offer no way to pick the distribution (their
--servers list always uses libmemcached's default, modulo), so the
ketama client here is python3-pylibmc: libmemcached itself with its
"ketama" behaviour (MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA, MD5).

  - spread: 4000 keys set through the ketama client land on both
    instances (each instance's curr_items and cmd_set at least 20% of
    them), each key on exactly one instance, and a second client reads
    every value back byte for byte;
  - memcaslap --servers=P1,P2 --verify: memcaslap's own spread over two
    servers (it does not use libmemcached's distribution), no value may
    fail verification and both instances take sets;
  - restart: the client gets and sets the 4000 keys in a loop while
    instance B is stopped with SIGTERM (it must exit 0), left down for
    a second and started again on the same port.  What counts: a wrong
    value is always a failure; a key of instance A may never fail nor
    miss (ketama never moves it); a key of B may fail only from B's
    stop until 1.5 s after it is back (libmemcached retries a dead
    server after retry_timeout, 1 s here), and may miss afterwards (its
    data went with the process), after which the client sets it again;
    from then on no operation may fail.  Nothing of B may land on A
    meanwhile (no failover: the keys of a dead server fail, they are
    not remapped).

Prints PASS/FAIL lines and ends with "NN%: Checks: N, Failures: F,
Errors: E"; exits 1 on any failure.
"""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_protocol as tp  # noqa: E402

check = tp.check
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
NKEYS = 4000


def install(*pkgs):
    subprocess.call([os.path.join(ROOT, "scripts", "install-deps.sh")] +
                    list(pkgs))


install("python3-pylibmc", "libmemcached-tools")
import pylibmc  # noqa: E402


def keys():
    return ["ketama:%d" % i for i in range(NKEYS)]


def value(k, gen=0):
    """The value of key @k in generation @gen: its length varies."""
    n = 1 + int(k.split(":")[1]) % 7
    return (b"%s/%d|" % (k.encode(), gen)) * n


def client(srvs):
    return pylibmc.Client(["127.0.0.1:%d" % s.port for s in srvs],
                          binary=False,
                          behaviors={"ketama": True, "connect_timeout": 500,
                                     "retry_timeout": 1,
                                     "receive_timeout": 2000000,
                                     "send_timeout": 2000000})


def holdings(srv, ks):
    """The keys of @ks that instance @srv holds, with their values."""
    c = srv.conn()
    out = {}
    for i in range(0, len(ks), 500):
        got = c.retrieve(b"get " + b" ".join(k.encode()
                                              for k in ks[i:i + 500]))
        out.update((k.decode(), v[1]) for k, v in got.items())
    c.close()
    return out


def stat(srv, name):
    c = srv.conn()
    v = int(c.stats()[name])
    c.close()
    return v


def restart_same_port(srv):
    """Start @srv's server again on its port, as before."""
    e = dict(os.environ)
    e.setdefault("ASAN_OPTIONS", "abort_on_error=1:detect_leaks=1")
    for _ in range(50):
        srv.proc = subprocess.Popen([tp.SERVER, "-p", str(srv.port)] +
                                    srv.args, env=e,
                                    stdin=subprocess.DEVNULL)
        tp.started.append(srv)
        if srv._wait_ready():
            return True
        srv.proc.wait()
        time.sleep(0.1)
    return False


def test_spread(a, b):
    mc = client((a, b))
    ks = keys()
    for k in ks:
        mc.set(k, value(k))
    ha, hb = holdings(a, ks), holdings(b, ks)
    low = NKEYS // 5
    for name, s, h in (("A", a, ha), ("B", b, hb)):
        items, sets = stat(s, "curr_items"), stat(s, "cmd_set")
        check(items >= low and sets >= low and items == len(h),
              "ketama spread: instance %s holds %d of %d keys "
              "(curr_items %d, cmd_set %d, at least %d each)" %
              (name, len(h), NKEYS, items, sets, low))
    check(not set(ha) & set(hb) and len(ha) + len(hb) == NKEYS,
          "ketama spread: every key on exactly one instance")
    check(all(v == value(k) for h in (ha, hb) for k, v in h.items()),
          "ketama spread: each instance holds the values set")
    mc2 = client((a, b))
    got = {}
    for i in range(0, NKEYS, 100):
        got.update(mc2.get_multi(ks[i:i + 100]))
    check(got == {k: value(k) for k in ks},
          "ketama spread: a second ketama client reads all %d values back"
          % NKEYS)
    mc.disconnect_all()
    mc2.disconnect_all()
    return set(ha), set(hb)


def test_memcaslap(a, b):
    sets = (stat(a, "cmd_set"), stat(b, "cmd_set"))
    r = subprocess.run(["memcaslap", "--servers=127.0.0.1:%d,127.0.0.1:%d" %
                        (a.port, b.port), "-T", "2", "-c", "16", "-t", "3s",
                        "--verify=0.05"], capture_output=True, text=True,
                       timeout=90)
    field = {}
    for ln in r.stdout.splitlines():
        p = ln.split(":")
        if len(p) == 2 and p[1].strip().split(" ")[0].isdigit():
            field.setdefault(p[0].strip(), int(p[1].split()[0]))
    grew = (stat(a, "cmd_set") - sets[0], stat(b, "cmd_set") - sets[1])
    ok = (r.returncode == 0 and field.get("cmd_get", 0) > 0 and
          field.get("verify_failed") == 0 and min(grew) > 0)
    check(ok, "memcaslap --servers=A,B --verify=0.05: %s gets, "
          "verify_failed %s, sets on A %d and B %d" %
          (field.get("cmd_get"), field.get("verify_failed"), *grew))
    if not ok:
        print(r.stdout, r.stderr)


def test_restart(a, b, on_a, on_b):
    mc = client((a, b))
    ks = keys()
    gen = {k: 0 for k in ks}
    for k in ks:  # memcaslap above wrote its own keys only; set anew
        mc.set(k, value(k))
    bad = []  # wrong values, at any time
    a_trouble = []  # errors or misses of A's keys
    b_errors = {"before": 0, "down": 0, "grace": 0, "after": 0}
    b_misses = {"before": 0, "down": 0, "grace": 0, "after": 0}
    phase, t0, t_up, rc = "before", time.time(), None, None
    ops = 0
    while True:
        now = time.time()
        if phase == "before" and now - t0 > 1.5:
            b.proc.send_signal(signal.SIGTERM)
            rc = b.proc.wait(timeout=tp.TIMEOUT * 3)
            phase, t_down = "down", time.time()
        elif phase == "down" and now - t_down > 1.0:
            if not restart_same_port(b):
                check(False, "restart: instance B starts again on port %d"
                      % b.port)
                return
            phase, t_up = "grace", time.time()
        elif phase == "grace" and now - t_up > 1.5:
            phase, t_after = "after", time.time()
        elif phase == "after" and now - t_after > 2.0:
            break
        k = ks[ops % NKEYS]
        ops += 1
        try:
            v = mc.get(k)
            if v is None:
                if k in on_a:
                    a_trouble.append((phase, k, "miss"))
                else:
                    b_misses[phase] += 1
                gen[k] += 1
                mc.set(k, value(k, gen[k]))
            elif v != value(k, gen[k]):
                bad.append((phase, k))
        except pylibmc.Error as e:
            if k in on_a:
                a_trouble.append((phase, k, repr(e)))
            else:
                b_errors[phase] += 1
    check(rc == 0, "restart: instance B exits 0 on SIGTERM mid-run")
    check(not bad, "restart: no wrong value in %d operations (%s)" %
          (ops, bad[:3]))
    check(not a_trouble, "restart: instance A's keys never fail nor miss "
          "(%d did: %s)" % (len(a_trouble), a_trouble[:3]))
    check(b_errors["before"] == 0 and b_errors["after"] == 0,
          "restart: B's keys fail only while B is down or being retried "
          "(errors %s)" % b_errors)
    check(b_errors["down"] > 0,
          "restart: B's keys do fail while B is down (%d errors)" %
          b_errors["down"])
    check(b_misses["before"] == 0 and
          b_misses["grace"] + b_misses["after"] > 0,
          "restart: B's keys miss only after B lost its data (%s)" %
          b_misses)
    mc2 = client((a, b))
    got = {}
    for i in range(0, NKEYS, 100):
        got.update(mc2.get_multi(ks[i:i + 100]))
    check(got == {k: value(k, gen[k]) for k in ks},
          "restart: afterwards every key reads back with its last value")
    check(not set(holdings(a, sorted(on_b))),
          "restart: none of B's keys went to A")
    mc.disconnect_all()
    mc2.disconnect_all()


def main():
    if not os.access(tp.SERVER, os.X_OK):
        print("FAIL: %s is not built" % tp.SERVER)
        print("0%: Checks: 1, Failures: 1, Errors: 0")
        return 1
    a = tp.Server("-t", 2, "-m", 64)
    b = tp.Server("-t", 2, "-m", 64)
    try:
        on = {}

        def spread():
            on["a"], on["b"] = test_spread(a, b)

        tp.run_tests((("spread", spread),
                      ("memcaslap", lambda: test_memcaslap(a, b)),
                      ("restart", lambda: test_restart(a, b, on["a"],
                                                       on["b"]))))
    finally:
        a.stop("instance A")
        b.stop("instance B")
    return tp.summary()


if __name__ == "__main__":
    tp.run_main(main)
