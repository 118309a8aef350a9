#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Load a fixed data set into a memcached-protocol server, for bench.sh.

    kvload.py PORT COUNT KEYLEN VALLEN [SEED]

Stores COUNT items: key i is "kv:" and i in decimal, padded with 'k' to
KEYLEN bytes; its value is VALLEN bytes derived from i and SEED.  Sets
are pipelined with noreply in batches, each batch closed by "version" so
that the server has stored everything when the script exits.  Then reads
back every 97th key and checks it byte for byte.  Exit 1 on any error.
"""
import socket
import sys


def key(i, keylen):
    k = b"kv:%d" % i
    return k + b"k" * (keylen - len(k))


def value(i, vallen, seed):
    pat = b"%d:%d|" % (seed, i)
    return (pat * (vallen // len(pat) + 1))[:vallen]


def recv_until(sock, buf, marker):
    while marker not in buf:
        d = sock.recv(1 << 20)
        if not d:
            raise RuntimeError("server closed the connection")
        buf += d
    i = buf.index(marker) + len(marker)
    return buf[:i], buf[i:]


def main():
    port, count, keylen, vallen = (int(a) for a in sys.argv[1:5])
    seed = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    s = socket.create_connection(("127.0.0.1", port))
    buf = b""
    batch = 200
    for start in range(0, count, batch):
        out = []
        for i in range(start, min(count, start + batch)):
            out.append(b"set %s 0 0 %d noreply\r\n%s\r\n" %
                       (key(i, keylen), vallen, value(i, vallen, seed)))
        out.append(b"version\r\n")
        s.sendall(b"".join(out))
        line, buf = recv_until(s, buf, b"\r\n")
        if not line.startswith(b"VERSION "):
            print("kvload: unexpected reply %r" % line[:80], file=sys.stderr)
            return 1
    for i in range(0, count, 97):
        k = key(i, keylen)
        s.sendall(b"get %s\r\n" % k)
        resp, buf = recv_until(s, buf, b"END\r\n")
        want = b"VALUE %s 0 %d\r\n%s\r\nEND\r\n" % (k, vallen,
                                                   value(i, vallen, seed))
        if resp != want:
            print("kvload: key %d reads back wrong" % i, file=sys.stderr)
            return 1
    s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
