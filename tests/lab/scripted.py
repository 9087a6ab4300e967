#!/usr/bin/env python3
"""Scripted binary players for the kernel fidelity lab (python3 stdlib only).

The Rust side (tests/src/fidelity.rs) encodes every message (PPTP control
messages, H.225 RAS, Q.931 with H.225 user-user information, H.245, SNMP) and
hands this script a list of steps; this script only moves bytes, so all
protocol knowledge lives in tested Rust code.

    ip netns exec NS python3 -u tests/lab/scripted.py ROLE --l4 tcp|udp ... --steps STEPS

ROLE is ``listen`` (bind --bind:--port, accept one TCP connection or take the
first UDP datagram's sender as peer) or ``connect`` (to --connect:--port,
optionally from --sport; with --broadcast a UDP socket may send to a broadcast
address).

STEPS is a comma-separated list, played in order by both ends:

* ``c:HEX``  the connecting end sends these bytes (one write, one segment);
  the listening end reads exactly that many bytes (TCP) or one datagram (UDP);
* ``l:HEX``  the same, from the listening end;
* ``p``      the connecting end prints ``PAUSED <n>`` and waits for a ``GO``
  line on stdin (the listening end ignores it).

Output lines (flushed): ``READY`` (listening end bound), ``DONE <local-ip>
<local-port> <peer-ip> <peer-port>`` (connecting end: printed at the first
pause, or at the end when the script has no pause), ``STEP <i>`` after each
step, ``FINISHED`` at the end of the script. Both ends then keep their
sockets open until stdin reaches EOF, which ends the process. Errors go to
stderr with exit status 2.
"""

import argparse
import os
import socket
import sys
import threading
import time

GO = threading.Event()


def out(*words):
    print(" ".join(str(w) for w in words), flush=True)


def die(msg):
    sys.stderr.write("scripted.py: %s\n" % msg)
    sys.stderr.flush()
    os._exit(2)


def watch_stdin():
    """GO lines release a pause; EOF ends the process."""

    def run():
        try:
            for line in sys.stdin:
                if line.strip() == "GO":
                    GO.set()
        except Exception:  # noqa: BLE001 - the harness is gone
            pass
        os._exit(0)

    threading.Thread(target=run, daemon=True).start()


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def parse_steps(text):
    steps = []
    for item in text.split(","):
        item = item.strip()
        if item == "p":
            steps.append(("p", b""))
            continue
        who, _, hexdata = item.partition(":")
        if who not in ("c", "l") or not hexdata:
            die("bad step %r" % item)
        try:
            steps.append((who, bytes.fromhex(hexdata)))
        except ValueError:
            die("bad hex in step %r" % item)
    return steps


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            die("peer closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def play(args, sock, me, peer_addr):
    """Plays the steps; `peer_addr` is the UDP peer (None for TCP)."""
    steps = parse_steps(args.steps)
    announced = False
    for i, (who, data) in enumerate(steps):
        if who == "p":
            if me == "c":
                if not announced:
                    done(sock, peer_addr)
                    announced = True
                out("PAUSED", i)
                GO.wait()
                GO.clear()
            out("STEP", i)
            continue
        if who == me:
            if peer_addr is None:
                sock.sendall(data)
            else:
                sock.sendto(data, peer_addr)
            # Separate segments: the helpers parse one message per segment.
            time.sleep(0.05)
        else:
            if peer_addr is None and args.l4 == "tcp":
                got = recv_exact(sock, len(data))
            else:
                got, frm = sock.recvfrom(65535)
                if peer_addr is None or args.role == "listen":
                    peer_addr = frm
            if got != data:
                die("step %d: expected %s, got %s" % (i, data.hex(), got.hex()))
        out("STEP", i)
    if me == "c" and not announced:
        done(sock, peer_addr)
    out("FINISHED")


def done(sock, peer_addr):
    local = sock.getsockname()
    peer = peer_addr if peer_addr is not None else sock.getpeername()
    out("DONE", local[0], local[1], peer[0], peer[1])


def listen(args):
    fam = family_of(args.bind)
    if args.l4 == "tcp":
        srv = socket.socket(fam, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((args.bind, args.port))
        srv.listen(1)
        out("READY")
        conn, _ = srv.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        play(args, conn, "l", None)
        keep = (srv, conn)
    else:
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((args.bind, args.port))
        out("READY")
        play(args, s, "l", None)
        keep = (s,)
    out("GOT", args.port)
    return keep


def connect(args):
    fam = family_of(args.connect)
    if args.l4 == "tcp":
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if args.sport:
            s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", args.sport))
        s.settimeout(10)
        s.connect((args.connect, args.port))
        s.settimeout(None)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        play(args, s, "c", None)
    else:
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if args.broadcast:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", args.sport))
        peer = (args.connect, args.port)
        if not args.broadcast:
            s.connect(peer)
        play(args, s, "c", peer)
    return (s,)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("role", choices=["listen", "connect"])
    p.add_argument("--l4", choices=["tcp", "udp"], required=True)
    p.add_argument("--bind")
    p.add_argument("--connect")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--sport", type=int, default=0)
    p.add_argument("--broadcast", action="store_true")
    p.add_argument("--steps", required=True)
    args = p.parse_args()
    watch_stdin()
    try:
        keep = listen(args) if args.role == "listen" else connect(args)
    except OSError as e:
        die("%s: %s" % (args.role, e))
    while keep:  # the sockets stay open (referenced) until stdin's EOF ends us
        time.sleep(3600)


if __name__ == "__main__":
    main()
