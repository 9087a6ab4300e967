#!/usr/bin/env python3
"""Protocol players for the netfilter-helpers kernel lab (python3 stdlib only).

Run inside a network namespace by the Rust harness (tests/src/players.rs):

    ip netns exec NS python3 -u tests/lab/players.py ROLE [options]

Each player speaks just enough of one protocol to make a Linux conntrack helper
(running in the lab's router namespace) create expectations.

Line protocol on stdout (one event per line, flushed):

* ``READY``                      a server is bound/listening
* ``GOT <what> <peer> <port>``   a server received the message of interest
* ``DONE <local-ip> <local-port> <peer-ip> <peer-port>``
                                 a client finished its exchange; it then keeps
                                 its socket open (the master conntrack alive)
* ``REPLY <text>``               first line of a reply a client received

Every player (client or server) exits when its stdin reaches EOF: that is how
the harness ends an exchange. Errors go to stderr and exit with status 2.

Roles ("server" = listens in the lab's server namespace, "client" = initiates
from the client namespace, i.e. the master conntrack's ORIGINAL direction is
client -> server):

  ftp-server / ftp-client       TCP, banner + USER first (unless --no-banner /
                                --no-user), then one command
  irc-server / irc-client       TCP, NICK/USER first, then PRIVMSG with DCC
  tftp-server / tftp-client     UDP, RRQ/WRQ; with --respond the server answers a RRQ
                                with DATA from a fresh port (``SENT data <port> <peer>
                                <peer-port>``), and a client with --wait-data waits for it:
                                ``RESULT data <src> <sport> opcode=N`` or ``RESULT timeout``
  sip-server / sip-client       UDP, INVITE with SDP or REGISTER
  amanda-server / amanda-client UDP, amanda-server is the *responder* (amandad,
                                the Amanda "client" host) that answers with the
                                CONNECT line; amanda-client is the initiator
  sane-server / sane-client     TCP, SANE_NET_START + reply
  netbios-ns-client             UDP broadcast name query (no server)

Generic roles for testing firewall rules (tests/src/probes.rs):

  udp-sink      binds every --bind address on --port; prints READY, then
                ``GOT udp <src> <sport> <local> <first-payload-word>`` per datagram
                (link-local addresses are given and printed without their %scope
                when --dev names the interface)
  udp-probe     sends --count datagrams to --to:--port from each --from address
                (which must be local: the harness adds forged ones first); prints
                ``SENT <src> <dst> <port>`` per source, then ``FINISHED``; with
                --recv-timeout it sends from a connected socket and then waits for
                an answer: ``RESULT refused`` (an ICMP error came back),
                ``RESULT timeout`` or ``RESULT data``
  dhcp-probe    sends --count DHCPv4-like UDP datagrams 0.0.0.0:68 ->
                255.255.255.255:67 out of --dev as Ethernet frames (payload: --tag);
                prints ``SENT 0.0.0.0 255.255.255.255 67`` then ``FINISHED``
  tcp-listen    listens on --bind:--port; prints READY, then
                ``ACCEPT <peer> <peer-port>`` per connection (and closes it)
  tcp-connect   connects to --connect:--port (optionally from --bind) with a
                --timeout; prints ``RESULT connected <local> <lport> <peer> <pport>``
                or ``RESULT failed <reason>``, then exits
"""

import argparse
import errno
import os
import select
import socket
import struct
import sys
import threading


def out(*words):
    print(" ".join(str(w) for w in words), flush=True)


def die(msg):
    sys.stderr.write("players.py: %s\n" % msg)
    sys.stderr.flush()
    os._exit(2)


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def exit_on_stdin_eof():
    """Exit the whole process once the harness closes our stdin."""

    def watch():
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except Exception:  # noqa: BLE001 - any failure means the harness is gone
            pass
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def hold_open():
    """Block until stdin is closed (keeps the client's sockets open)."""
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except Exception:  # noqa: BLE001
        pass
    os._exit(0)


def sockname(sock):
    a = sock.getsockname()
    return a[0], a[1]


def peername(sock):
    a = sock.getpeername()
    return a[0], a[1]


def done(sock):
    lip, lport = sockname(sock)
    pip, pport = peername(sock)
    out("DONE", lip, lport, pip, pport)


# --------------------------------------------------------------------------------------------
# TCP helpers


def tcp_listen(bind, port):
    s = socket.socket(family_of(bind), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((bind, port))
    s.listen(8)
    out("READY")
    return s


def tcp_connect(addr, port, sport=0, bind=None):
    s = socket.socket(family_of(addr), socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if sport or bind:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((bind or ("::" if ":" in addr else "0.0.0.0"), sport))
    s.settimeout(15)
    s.connect((addr, port))
    return s


class LineReader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def readline(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                if self.buf:
                    line, self.buf = self.buf, b""
                    return line
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line + b"\n"


def serve_tcp_forever(listener, handler):
    """Accept connections one after the other; each is handled in a thread."""
    while True:
        conn, peer = listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=handler, args=(conn, peer), daemon=True).start()


# --------------------------------------------------------------------------------------------
# FTP


def ftp_server(args):
    listener = tcp_listen(args.bind, args.port)

    def handle(conn, peer):
        rd = LineReader(conn)
        if not args.no_banner:
            conn.sendall(b"220 nfh lab ftp ready\r\n")
        commands = 0
        while True:
            line = rd.readline()
            if line is None:
                return
            text = line.decode("latin-1").strip()
            verb = text.split(" ", 1)[0].upper() if text else ""
            if verb == "USER":
                reply = "331 password please"
            elif verb == "PASS":
                reply = "230 logged in"
            elif verb == "QUIT":
                conn.sendall(b"221 bye\r\n")
                return
            else:
                commands += 1
                out("GOT", verb or "-", peer[0], peer[1])
                reply = args.reply if commands == 1 and args.reply else "200 ok"
            conn.sendall(reply.encode("latin-1") + b"\r\n")

    serve_tcp_forever(listener, handle)


def ftp_client(args):
    s = tcp_connect(args.connect, args.port, args.sport)
    rd = LineReader(s)
    if not args.no_banner:
        if rd.readline() is None:
            die("ftp: no banner")
    if not args.no_user:
        s.sendall(b"USER lab\r\n")
        if rd.readline() is None:
            die("ftp: no reply to USER")
    s.sendall(args.command.encode("latin-1") + b"\r\n")
    reply = rd.readline()
    if reply is None:
        die("ftp: no reply to command")
    out("REPLY", reply.decode("latin-1").strip())
    done(s)
    hold_open()


# --------------------------------------------------------------------------------------------
# IRC


def irc_server(args):
    listener = tcp_listen(args.bind, args.port)

    def handle(conn, peer):
        rd = LineReader(conn)
        while True:
            line = rd.readline()
            if line is None:
                return
            text = line.decode("latin-1").strip()
            verb = text.split(" ", 1)[0].upper() if text else ""
            if verb == "NICK":
                conn.sendall(b":lab.invalid 001 a :welcome\r\n")
            elif verb == "PRIVMSG":
                out("GOT", "PRIVMSG", peer[0], peer[1])
                conn.sendall(b":lab.invalid NOTICE a :delivered\r\n")

    serve_tcp_forever(listener, handle)


def irc_client(args):
    s = tcp_connect(args.connect, args.port, args.sport)
    rd = LineReader(s)
    if not args.no_preamble:
        # NICK and USER in one segment; the server answers NICK with 001.
        s.sendall(b"NICK a\r\nUSER a 0 * :lab\r\n")
        if rd.readline() is None:
            die("irc: no welcome")
    msg = "PRIVMSG %s :\x01DCC %s %s %s %s %s\x01\r\n" % (
        args.target,
        args.dcc_type,
        args.filename,
        args.dcc_ip,
        args.dcc_port,
        args.size,
    )
    s.sendall(msg.encode("latin-1"))
    reply = rd.readline()
    if reply is None:
        die("irc: no reply to PRIVMSG")
    out("REPLY", reply.decode("latin-1").strip())
    done(s)
    hold_open()


# --------------------------------------------------------------------------------------------
# UDP helpers


def udp_bind(bind, port):
    s = socket.socket(family_of(bind), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((bind, port))
    return s


def udp_connect(addr, port, sport=0, broadcast=False):
    s = socket.socket(family_of(addr), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if broadcast:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.bind(("::" if ":" in addr else "0.0.0.0", sport))
    s.connect((addr, port))
    return s


def recv_reply(s, what):
    s.settimeout(15)
    try:
        data = s.recv(65535)
    except socket.timeout:
        die("%s: no reply" % what)
    first = data.split(b"\n", 1)[0].decode("latin-1").strip()
    out("REPLY", first)
    return data


# --------------------------------------------------------------------------------------------
# TFTP


def tftp_server(args):
    s = udp_bind(args.bind, args.port)
    out("READY")
    while True:
        data, peer = s.recvfrom(65535)
        opcode = struct.unpack(">H", data[:2])[0] if len(data) >= 2 else -1
        out("GOT", "opcode=%d" % opcode, peer[0], peer[1])
        if args.respond and opcode == 1:
            # As a real server does: DATA block 1 from a fresh port (the expected connection).
            d = udp_bind(args.bind, 0)
            d.sendto(struct.pack(">HH", 3, 1) + b"nfh lab tftp data\n", peer)
            out("SENT", "data", sockname(d)[1], peer[0], peer[1])
            d.close()


def tftp_client(args):
    pkt = struct.pack(">H", args.opcode) + args.filename.encode() + b"\0" + args.mode.encode() + b"\0"
    if args.wait_data is None:
        s = udp_connect(args.connect, args.port, args.sport)
        s.send(pkt)
        done(s)
        hold_open()
    # The answer comes from another port of the server: an unconnected socket receives it.
    s = udp_bind("::" if ":" in args.connect else "0.0.0.0", args.sport)
    s.sendto(pkt, (args.connect, args.port))
    lip, lport = sockname(s)
    out("DONE", lip, lport, args.connect, args.port)
    s.settimeout(args.wait_data)
    try:
        data, peer = s.recvfrom(65535)
        opcode = struct.unpack(">H", data[:2])[0] if len(data) >= 2 else -1
        out("RESULT", "data", peer[0], peer[1], "opcode=%d" % opcode)
    except socket.timeout:
        out("RESULT", "timeout")
    hold_open()


# --------------------------------------------------------------------------------------------
# SIP


def host_for_uri(addr):
    return "[%s]" % addr if ":" in addr else addr


def ip_ver(addr):
    return "IP6" if ":" in addr else "IP4"


def sip_headers(data):
    """Return (first line, list of (name, value)) of a SIP message (header part only)."""
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    lines = head.split("\r\n")
    hdrs = []
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            hdrs.append((name.strip(), value.strip()))
    return lines[0], hdrs


def sip_message(first_line, headers, body=""):
    """Build a SIP message with a correct Content-Length (body is bytes-counted)."""
    body_bytes = body.encode("latin-1")
    text = first_line + "\r\n"
    for name, value in headers:
        text += "%s: %s\r\n" % (name, value)
    text += "Content-Length: %d\r\n\r\n" % len(body_bytes)
    return text.encode("latin-1") + body_bytes


def sdp_body(origin_addr, media_addr, audio_port, video_port):
    lines = [
        "v=0",
        "o=lab 1 1 IN %s %s" % (ip_ver(origin_addr), origin_addr),
        "s=-",
        "c=IN %s %s" % (ip_ver(media_addr), media_addr),
        "t=0 0",
    ]
    if audio_port is not None:
        lines.append("m=audio %d RTP/AVP 0" % audio_port)
    if video_port is not None:
        lines.append("m=video %d RTP/AVP 31" % video_port)
    return "\r\n".join(lines) + "\r\n"


def sip_server(args):
    s = udp_bind(args.bind, args.port)
    out("READY")
    me = host_for_uri(args.bind)
    while True:
        data, peer = s.recvfrom(65535)
        first, hdrs = sip_headers(data)
        method = first.split(" ", 1)[0].upper()
        out("GOT", method, peer[0], peer[1])
        echo = [(n, v) for (n, v) in hdrs if n.lower() in ("via", "from", "call-id", "cseq")]
        to = [(n, v + ";tag=srv") for (n, v) in hdrs if n.lower() == "to"]
        if method == "REGISTER":
            if args.register_reply == "none":
                continue
            if args.register_reply == "forbidden":
                s.sendto(sip_message("SIP/2.0 403 Forbidden", echo + to), peer)
                continue
            contacts = [v for (n, v) in hdrs if n.lower() in ("contact", "m")]
            expires = [v for (n, v) in hdrs if n.lower() == "expires"]
            exp = args.expires if args.expires is not None else (int(expires[0]) if expires else 3600)
            extra = [("Contact", "%s;expires=%d" % (c, exp)) for c in contacts]
            s.sendto(sip_message("SIP/2.0 200 OK", echo + to + extra), peer)
        elif method == "INVITE":
            if args.answer_addr:
                body = sdp_body(args.bind, args.answer_addr, args.answer_audio_port, None)
                extra = [
                    ("Contact", "<sip:bob@%s:%d>" % (me, args.port)),
                    ("Content-Type", "application/sdp"),
                ]
                s.sendto(sip_message("SIP/2.0 200 OK", echo + to + extra, body), peer)
            else:
                s.sendto(sip_message("SIP/2.0 100 Trying", echo + to), peer)


def sip_client(args):
    s = udp_connect(args.connect, args.port, args.sport)
    lip, lport = sockname(s)
    me = host_for_uri(lip)
    srv = host_for_uri(args.connect)
    common = [
        ("Via", "SIP/2.0/UDP %s:%d;branch=z9hG4bK-lab%d" % (me, lport, os.getpid())),
        ("Max-Forwards", "70"),
    ]
    if args.method == "INVITE":
        media = args.media_addr or lip
        headers = common + [
            ("From", "<sip:alice@%s>;tag=cli" % me),
            ("To", "<sip:bob@%s>" % srv),
            ("Call-ID", "invite-%d@%s" % (os.getpid(), me)),
            ("CSeq", "%d INVITE" % args.cseq),
            ("Contact", "<sip:alice@%s:%d>" % (me, lport)),
            ("Content-Type", "application/sdp"),
        ]
        body = sdp_body(lip, media, args.audio_port, args.video_port)
        msg = sip_message("INVITE sip:bob@%s SIP/2.0" % srv, headers, body)
    elif args.method == "REGISTER":
        contact_host = host_for_uri(args.contact_addr) if args.contact_addr else me
        headers = common + [
            ("From", "<sip:alice@%s>;tag=cli" % srv),
            ("To", "<sip:alice@%s>" % srv),
            ("Call-ID", "register-%d@%s" % (os.getpid(), me)),
            ("CSeq", "%d REGISTER" % args.cseq),
            ("Contact", "<sip:alice@%s:%d>" % (contact_host, args.contact_port)),
            ("Expires", "%d" % args.expires),
        ]
        msg = sip_message("REGISTER sip:%s SIP/2.0" % srv, headers)
    else:
        die("sip: unknown method %s" % args.method)
    s.send(msg)
    if args.wait_reply:
        recv_reply(s, "sip")
    done(s)
    hold_open()


# --------------------------------------------------------------------------------------------
# Amanda


def amanda_server(args):
    """The responder (amandad): answers any request with the CONNECT line."""
    s = udp_bind(args.bind, args.port)
    out("READY")
    while True:
        data, peer = s.recvfrom(65535)
        out("GOT", "request", peer[0], peer[1])
        reply = "Amanda 2.6 REP HANDLE 000-00000001 SEQ 1\n%s\n" % args.connect_line
        s.sendto(reply.encode("latin-1"), peer)


def amanda_client(args):
    """The initiator (Amanda server host) sending a request to udp/10080."""
    s = udp_connect(args.connect, args.port, args.sport)
    req = "Amanda 2.6 REQ HANDLE 000-00000001 SEQ 1\nSECURITY USER lab\nSERVICE noop\nOPTIONS features=0;\n"
    s.send(req.encode("latin-1"))
    recv_reply(s, "amanda")
    done(s)
    hold_open()


# --------------------------------------------------------------------------------------------
# SANE

SANE_NET_INIT = 0
SANE_NET_START = 7


def sane_string(text):
    raw = text.encode() + b"\0"
    return struct.pack(">I", len(raw)) + raw


def recv_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def sane_server(args):
    listener = tcp_listen(args.bind, args.port)

    def handle(conn, peer):
        while True:
            head = recv_exact(conn, 4)
            if head is None:
                return
            code = struct.unpack(">I", head)[0]
            if code == SANE_NET_INIT:
                # version word + username string; read what is there
                conn.recv(4096)
                conn.sendall(struct.pack(">II", 0, 0x01000003))
            elif code == SANE_NET_START:
                if recv_exact(conn, 4) is None:
                    return
                out("GOT", "START", peer[0], peer[1])
                reply = struct.pack(">IHHI", args.status, args.zero, args.data_port, 0x1234)
                reply += sane_string("")
                conn.sendall(reply)
            else:
                conn.recv(4096)
                conn.sendall(struct.pack(">I", 0))

    serve_tcp_forever(listener, handle)


def sane_client(args):
    s = tcp_connect(args.connect, args.port, args.sport)
    if args.init:
        s.sendall(struct.pack(">II", SANE_NET_INIT, 0x01000003) + sane_string("lab"))
        if recv_exact(s, 8) is None:
            die("sane: no reply to NET_INIT")
    s.sendall(struct.pack(">II", SANE_NET_START, args.handle))
    s.settimeout(15)
    reply = s.recv(4096)
    if len(reply) < 8:
        die("sane: short reply to NET_START")
    status, zero, port = struct.unpack(">IHH", reply[:8])
    out("REPLY", "status=%d zero=%d port=%d" % (status, zero, port))
    done(s)
    hold_open()


# --------------------------------------------------------------------------------------------
# NetBIOS name service (broadcast, locally generated)


def netbios_ns_client(args):
    s = udp_connect(args.broadcast, args.port, args.sport, broadcast=True)
    # Name query for "*" (wildcard), NB, IN; the kernel does not parse the payload.
    name = b"\x20" + b"CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" + b"\x00"
    pkt = struct.pack(">HHHHHH", 0x4C41, 0x0110, 1, 0, 0, 0) + name + struct.pack(">HH", 0x20, 1)
    s.send(pkt)
    done(s)
    hold_open()


# --------------------------------------------------------------------------------------------
# Generic probes for firewall tests


def sockaddr(addr, port, dev):
    """(addr, port), or (addr, port, 0, ifindex) for a link-local address when dev is given."""
    if dev and addr.lower().startswith("fe80:"):
        return (addr, port, 0, socket.if_nametoindex(dev))
    return (addr, port)


def unscoped(addr):
    return addr.split("%", 1)[0]


def udp_sink(args):
    socks = []
    for b in args.bind:
        sock = socket.socket(family_of(b), socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(sockaddr(b, args.port, args.dev))
        socks.append(sock)
    out("READY")
    while True:
        ready, _, _ = select.select(socks, [], [])
        for s in ready:
            data, peer = s.recvfrom(65535)
            words = data.decode("latin-1", "replace").split()
            out("GOT", "udp", unscoped(peer[0]), peer[1], unscoped(sockname(s)[0]), words[0] if words else "-")


def udp_probe(args):
    to = sockaddr(args.to, args.port, args.dev)
    for src in args.sources:
        s = socket.socket(family_of(args.to), socket.SOCK_DGRAM)
        s.bind(sockaddr(src, 0, args.dev))
        if args.recv_timeout is not None:
            s.connect(to)
        for i in range(args.count):
            payload = ("%s %s %d\n" % (args.tag, src, i)).encode()
            if args.recv_timeout is not None:
                s.send(payload)
            else:
                s.sendto(payload, to)
        out("SENT", src, args.to, args.port)
        if args.recv_timeout is not None:
            s.settimeout(args.recv_timeout)
            try:
                s.recv(65535)
                out("RESULT", "data")
            except ConnectionRefusedError:
                out("RESULT", "refused")
            except socket.timeout:
                out("RESULT", "timeout")
            except OSError as exc:
                out("RESULT", "error", errno.errorcode.get(exc.errno, exc.errno))
        s.close()
    out("FINISHED")
    hold_open()


def ip_checksum(header):
    total = 0
    for i in range(0, len(header), 2):
        total += (header[i] << 8) + header[i + 1]
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def dhcp_probe(args):
    """A whole Ethernet frame through AF_PACKET: a raw IP socket would replace the 0.0.0.0
    source with the interface's address."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((args.dev, 0x0800))
    mac = s.getsockname()[4]
    payload = ("%s dhcp\n" % args.tag).encode()
    udp = struct.pack(">HHHH", 68, 67, 8 + len(payload), 0) + payload
    head = struct.pack(
        ">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), os.getpid() & 0xFFFF, 0, 64, 17, 0,
        socket.inet_aton("0.0.0.0"), socket.inet_aton("255.255.255.255"),
    )
    head = head[:10] + struct.pack(">H", ip_checksum(head)) + head[12:]
    frame = b"\xff" * 6 + mac + struct.pack(">H", 0x0800) + head + udp
    for _ in range(args.count):
        s.send(frame)
    out("SENT", "0.0.0.0", "255.255.255.255", 67)
    out("FINISHED")
    hold_open()


def tcp_listen_role(args):
    listener = tcp_listen(args.bind, args.port)
    while True:
        conn, peer = listener.accept()
        out("ACCEPT", peer[0], peer[1])
        try:
            conn.sendall(b"data\r\n")
        except OSError:
            pass
        conn.close()


def tcp_connect_role(args):
    s = socket.socket(family_of(args.connect), socket.SOCK_STREAM)
    if args.bind:
        s.bind((args.bind, 0))
    s.settimeout(args.timeout)
    try:
        s.connect((args.connect, args.port))
    except socket.timeout:
        out("RESULT", "failed", "timeout")
    except OSError as exc:
        out("RESULT", "failed", errno.errorcode.get(exc.errno, str(exc.errno)))
    else:
        lip, lport = sockname(s)
        pip, pport = peername(s)
        out("RESULT", "connected", lip, lport, pip, pport)
    s.close()
    hold_open()


# --------------------------------------------------------------------------------------------


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="role", required=True)

    def server(name, port, fn):
        sp = sub.add_parser(name)
        sp.add_argument("--bind", required=True)
        sp.add_argument("--port", type=int, default=port)
        sp.set_defaults(fn=fn, server=True)
        return sp

    def client(name, port, fn):
        sp = sub.add_parser(name)
        sp.add_argument("--connect", required=True)
        sp.add_argument("--port", type=int, default=port)
        sp.add_argument("--sport", type=int, default=0)
        sp.set_defaults(fn=fn, server=False)
        return sp

    sp = server("ftp-server", 21, ftp_server)
    sp.add_argument("--reply", default="", help="reply line to the first command after USER")
    sp.add_argument("--no-banner", action="store_true", help="do not send the 220 banner")
    sp = client("ftp-client", 21, ftp_client)
    sp.add_argument("--command", required=True, help="command line sent after USER")
    sp.add_argument("--no-banner", action="store_true", help="the server sends no banner")
    sp.add_argument("--no-user", action="store_true", help="send the command as first segment")

    server("irc-server", 6667, irc_server)
    sp = client("irc-client", 6667, irc_client)
    sp.add_argument("--target", default="bob")
    sp.add_argument("--dcc-type", default="SEND")
    sp.add_argument("--filename", default="file")
    sp.add_argument("--dcc-ip", required=True, help="address as unsigned decimal (or any text)")
    sp.add_argument("--dcc-port", required=True)
    sp.add_argument("--size", default="1234")
    sp.add_argument("--no-preamble", action="store_true", help="PRIVMSG is the first data segment")

    sp = server("tftp-server", 69, tftp_server)
    sp.add_argument("--respond", action="store_true", help="answer a RRQ with DATA from a new port")
    sp = client("tftp-client", 69, tftp_client)
    sp.add_argument("--opcode", type=int, default=1)
    sp.add_argument("--filename", default="file")
    sp.add_argument("--mode", default="octet")
    sp.add_argument("--wait-data", type=float, default=None, help="wait this long for the answer")

    sp = server("sip-server", 5060, sip_server)
    sp.add_argument("--register-reply", choices=["ok", "none", "forbidden"], default="ok")
    sp.add_argument("--expires", type=int, default=None)
    sp.add_argument("--answer-addr", default=None)
    sp.add_argument("--answer-audio-port", type=int, default=None)
    sp = client("sip-client", 5060, sip_client)
    sp.add_argument("--method", choices=["INVITE", "REGISTER"], required=True)
    sp.add_argument("--cseq", type=int, default=1)
    sp.add_argument("--media-addr", default=None)
    sp.add_argument("--audio-port", type=int, default=None)
    sp.add_argument("--video-port", type=int, default=None)
    sp.add_argument("--contact-addr", default=None)
    sp.add_argument("--contact-port", type=int, default=5060)
    sp.add_argument("--expires", type=int, default=3600)
    sp.add_argument("--no-wait", dest="wait_reply", action="store_false")

    sp = server("amanda-server", 10080, amanda_server)
    sp.add_argument("--connect-line", required=True)
    client("amanda-client", 10080, amanda_client)

    sp = server("sane-server", 6566, sane_server)
    sp.add_argument("--data-port", type=int, required=True)
    sp.add_argument("--status", type=int, default=0)
    sp.add_argument("--zero", type=int, default=0)
    sp = client("sane-client", 6566, sane_client)
    sp.add_argument("--handle", type=int, default=1)
    sp.add_argument("--init", action="store_true", help="send SANE_NET_INIT first")

    sp = sub.add_parser("netbios-ns-client")
    sp.add_argument("--broadcast", required=True)
    sp.add_argument("--port", type=int, default=137)
    sp.add_argument("--sport", type=int, default=0)
    sp.set_defaults(fn=netbios_ns_client, server=False)

    sp = sub.add_parser("udp-sink")
    sp.add_argument("--bind", action="append", required=True, help="repeatable")
    sp.add_argument("--port", type=int, required=True)
    sp.add_argument("--dev", default=None, help="scope of link-local --bind addresses")
    sp.set_defaults(fn=udp_sink, server=True)
    sp = sub.add_parser("udp-probe")
    sp.add_argument("--to", required=True)
    sp.add_argument("--port", type=int, required=True)
    sp.add_argument("--from", dest="sources", action="append", required=True, help="repeatable")
    sp.add_argument("--count", type=int, default=3)
    sp.add_argument("--tag", default="probe")
    sp.add_argument("--recv-timeout", type=float, default=None)
    sp.add_argument("--dev", default=None, help="scope of link-local addresses")
    sp.set_defaults(fn=udp_probe, server=False)
    sp = sub.add_parser("dhcp-probe")
    sp.add_argument("--dev", default="eth0")
    sp.add_argument("--count", type=int, default=3)
    sp.add_argument("--tag", default="dhcp")
    sp.set_defaults(fn=dhcp_probe, server=False)
    sp = sub.add_parser("tcp-listen")
    sp.add_argument("--bind", required=True)
    sp.add_argument("--port", type=int, required=True)
    sp.set_defaults(fn=tcp_listen_role, server=True)
    sp = sub.add_parser("tcp-connect")
    sp.add_argument("--connect", required=True)
    sp.add_argument("--port", type=int, required=True)
    sp.add_argument("--bind", default=None)
    sp.add_argument("--timeout", type=float, default=2.0)
    sp.set_defaults(fn=tcp_connect_role, server=False)

    args = p.parse_args()
    if args.server:
        exit_on_stdin_eof()
    try:
        args.fn(args)
    except Exception as exc:  # noqa: BLE001
        die("%s: %r" % (args.role, exc))


if __name__ == "__main__":
    main()
