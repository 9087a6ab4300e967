#!/usr/bin/env python3
"""FTP load players for the watch lab (tests/tests/lab_watch.rs), python3 stdlib only.

Many FTP control sessions in one process each, so a few hundred sessions take seconds:

  ftp-load-server --bind ADDR --port N [--data-delay-ms MS] [--no-data]
        accepts control connections one after the other: banner, USER, then one command.
        PORT h1,...,p2: answers ``200 ok``, waits --data-delay-ms, then opens the data
        connection to the announced address and port (active mode, as a server does) and
        prints ``DATA port <addr> <port> <result>``; PASV: listens on a fresh port, answers
        227 and waits for the client's data connection: ``DATA pasv <addr> <port> <result>``.
        Then sends ``226 <result>`` on the control connection. With --no-data it opens no data
        connection after PORT (the expectation stays until it expires or its master goes).
  ftp-load-client --connect ADDR --port N --mode port|pasv --count C [--data ADDR]
                  [--base-port P]
        runs C sessions one after the other. In port mode session i sends
        ``PORT <data>,<base+i>`` (listening there itself when --data is its own address);
        just before sending the command it takes the wall-clock time. Prints per session
        ``SESSION <i> <mode> <t_command> <data-port> <server-result> <client-result>``,
        then ``FINISHED``.
  port-sink --bind ADDR --base-port P --count C
        listens on C consecutive ports, accepts and closes every connection; prints READY.

Results: ``connected``, ``refused`` (RST), ``unreachable`` (ICMP error), ``timeout``,
``accepted``, ``none`` (nothing to do), ``error:<errno>``.

Every role exits when its stdin reaches EOF (servers) or when done (client).
"""

import argparse
import errno
import os
import select
import socket
import sys
import threading
import time


def out(*words):
    print(" ".join(str(w) for w in words), flush=True)


def die(msg):
    sys.stderr.write("watch_load.py: %s\n" % msg)
    sys.stderr.flush()
    os._exit(2)


def exit_on_stdin_eof():
    def run():
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except OSError:
            pass
        os._exit(0)

    threading.Thread(target=run, daemon=True).start()


def read_line(sock, buf):
    """Reads one CRLF-terminated line; returns (line, rest) or (None, rest) on EOF."""
    while b"\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            return None, buf
        buf += chunk
    line, _, rest = buf.partition(b"\n")
    return line.rstrip(b"\r").decode("latin-1"), rest


def connect_result(addr, port, timeout):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect((addr, port))
        try:
            s.sendall(b"x")
        except OSError:
            pass
        return "connected"
    except socket.timeout:
        return "timeout"
    except ConnectionRefusedError:
        return "refused"
    except OSError as e:
        if e.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EACCES, errno.EPERM):
            return "unreachable"
        return "error:%s" % errno.errorcode.get(e.errno, e.errno)
    finally:
        s.close()


def ftp_load_server(a):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.bind, a.port))
    ls.listen(64)
    exit_on_stdin_eof()
    out("READY")
    while True:
        c, _ = ls.accept()
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            serve_one(c, a)
        except OSError as e:
            sys.stderr.write("session error: %s\n" % e)
        finally:
            c.close()


def serve_one(c, a):
    buf = b""
    c.sendall(b"220 lab ready\r\n")
    line, buf = read_line(c, buf)
    if line is None:
        return
    c.sendall(b"331 ok\r\n")
    line, buf = read_line(c, buf)
    if line is None:
        return
    if line.startswith("PORT "):
        f = [int(x) for x in line[5:].split(",")]
        addr = "%d.%d.%d.%d" % tuple(f[:4])
        port = f[4] * 256 + f[5]
        c.sendall(b"200 ok\r\n")
        if a.no_data:
            result = "none"
        else:
            if a.data_delay_ms:
                time.sleep(a.data_delay_ms / 1000.0)
            result = connect_result(addr, port, 1.0)
        out("DATA", "port", addr, port, result)
    elif line == "PASV":
        ds = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ds.bind((a.bind, 0))
        ds.listen(1)
        port = ds.getsockname()[1]
        h = a.bind.replace(".", ",")
        c.sendall(("227 Entering Passive Mode (%s,%d,%d)\r\n" % (h, port >> 8, port & 255)).encode())
        ds.settimeout(1.0)
        try:
            d, _ = ds.accept()
            d.close()
            result = "accepted"
        except socket.timeout:
            result = "timeout"
        ds.close()
        out("DATA", "pasv", a.bind, port, result)
    else:
        c.sendall(b"500 unknown\r\n")
        result = "none"
    c.sendall(("226 %s\r\n" % result).encode())
    # Wait for the client to close.
    c.settimeout(2.0)
    try:
        while c.recv(4096):
            pass
    except OSError:
        pass


def ftp_load_client(a):
    local = None
    for i in range(a.count):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.settimeout(5.0)
        c.connect((a.connect, a.port))
        if local is None:
            local = c.getsockname()[0]
        buf = b""
        line, buf = read_line(c, buf)
        c.sendall(b"USER lab\r\n")
        line, buf = read_line(c, buf)
        client_result = "none"
        listener = None
        data_port = 0
        if a.mode == "port":
            data_port = a.base_port + i
            if a.data == local:
                listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                listener.bind((local, data_port))
                listener.listen(1)
                listener.settimeout(2.0)
            cmd = "PORT %s,%d,%d\r\n" % (a.data.replace(".", ","), data_port >> 8, data_port & 255)
            t0 = time.time()
            c.sendall(cmd.encode())
            line, buf = read_line(c, buf)
            if listener is not None:
                try:
                    d, _ = listener.accept()
                    d.close()
                    client_result = "accepted"
                except socket.timeout:
                    client_result = "timeout"
                listener.close()
        else:
            t0 = time.time()
            c.sendall(b"PASV\r\n")
            line, buf = read_line(c, buf)
            inner = line[line.index("(") + 1 : line.index(")")].split(",")
            addr = ".".join(inner[:4])
            data_port = int(inner[4]) * 256 + int(inner[5])
            client_result = connect_result(addr, data_port, 1.0)
        line, buf = read_line(c, buf)
        server_result = line.split(" ", 1)[1] if line and line.startswith("226 ") else "none"
        out("SESSION", i, a.mode, "%.6f" % t0, data_port, server_result, client_result)
        c.close()
    out("FINISHED")


def port_sink(a):
    socks = []
    for p in range(a.base_port, a.base_port + a.count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((a.bind, p))
        s.listen(16)
        s.setblocking(False)
        socks.append(s)
    exit_on_stdin_eof()
    out("READY")
    while True:
        ready, _, _ = select.select(socks, [], [])
        for s in ready:
            try:
                d, _ = s.accept()
                d.close()
            except OSError:
                pass


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="role", required=True)
    sp = sub.add_parser("ftp-load-server")
    sp.add_argument("--bind", required=True)
    sp.add_argument("--port", type=int, default=21)
    sp.add_argument("--data-delay-ms", type=int, default=0)
    sp.add_argument("--no-data", action="store_true", help="never open the data connection")
    sp = sub.add_parser("ftp-load-client")
    sp.add_argument("--connect", required=True)
    sp.add_argument("--port", type=int, default=21)
    sp.add_argument("--mode", choices=["port", "pasv"], required=True)
    sp.add_argument("--count", type=int, default=1)
    sp.add_argument("--data", default="")
    sp.add_argument("--base-port", type=int, default=40000)
    sp = sub.add_parser("port-sink")
    sp.add_argument("--bind", required=True)
    sp.add_argument("--base-port", type=int, required=True)
    sp.add_argument("--count", type=int, required=True)
    a = p.parse_args()
    try:
        {"ftp-load-server": ftp_load_server, "ftp-load-client": ftp_load_client, "port-sink": port_sink}[
            a.role
        ](a)
    except OSError as e:
        die("%s: %s" % (a.role, e))


if __name__ == "__main__":
    main()
