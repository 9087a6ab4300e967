//! End-to-end probes through the [`SiteLab`] router: UDP datagrams from (possibly forged)
//! sources to listeners behind the router, TCP connections, and FTP control connections.
//!
//! * [`run_udp_probes`] starts a `udp-sink` on every destination, forges the sources that are
//!   not the sending node's own ([`SiteLab::forge`]), sends a few datagrams per probe from a
//!   `udp-probe` player, and reports per probe whether the listener received it (it reads the
//!   source address the listener saw, so a probe counts only if it arrived with the forged
//!   source intact). It waits until every probe expected to pass has arrived (or
//!   [`ARRIVAL_TIMEOUT`]), then [`SETTLE`] more for those expected to be dropped.
//! * [`tcp_connect`] / [`tcp_listen`]: one TCP connection attempt with a timeout; a listener
//!   that reports who connected.
//! * [`ftp_control`]: an FTP control connection (banner, `USER`, one command and its reply),
//!   kept open in the returned [`Exchange`] while the test opens data connections.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use crate::netns::{Family, L4, Netns};
use crate::players::{LabError, Player};
use crate::scenarios::{Exchange, FtpCommand, MasterTuple};
use crate::sitelab::{DadState, Node, SiteLab, addr};

/// UDP port of probes and sinks.
pub const PROBE_PORT: u16 = 9999;
/// How long [`run_udp_probes`] waits for the probes expected to arrive.
pub const ARRIVAL_TIMEOUT: Duration = Duration::from_secs(3);
/// How long it keeps listening after that, for probes expected to be dropped.
pub const SETTLE: Duration = Duration::from_millis(600);
/// Connect timeout of [`tcp_connect`] (a dropped SYN is retransmitted after 1 s; that one
/// is dropped too, so 2 s is conclusive while a permitted connection takes milliseconds).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// One UDP probe: `from` sends from `src` to `dst`:[`PROBE_PORT`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpProbe {
    /// Sending namespace.
    pub from: Node,
    /// Source address (forged when not one of `from`'s own).
    pub src: IpAddr,
    /// Destination, an address of another node.
    pub dst: IpAddr,
    /// Whether the rules must let it through.
    pub pass: bool,
    /// Why (for the report): "LAN host claims a DMZ address".
    pub what: &'static str,
}

impl UdpProbe {
    /// A probe expected to arrive.
    pub fn pass(from: Node, src: IpAddr, dst: IpAddr, what: &'static str) -> UdpProbe {
        UdpProbe {
            from,
            src,
            dst,
            pass: true,
            what,
        }
    }

    /// A probe expected to be dropped.
    pub fn drop(from: Node, src: IpAddr, dst: IpAddr, what: &'static str) -> UdpProbe {
        UdpProbe {
            from,
            src,
            dst,
            pass: false,
            what,
        }
    }
}

/// The result of one probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeOutcome {
    /// The probe.
    pub probe: UdpProbe,
    /// Whether the listener received at least one of its datagrams with its source intact.
    pub received: bool,
}

impl ProbeOutcome {
    /// Received as expected (or dropped as expected).
    pub fn as_expected(&self) -> bool {
        self.received == self.probe.pass
    }
}

/// All outcomes of a probe run, printable as a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeReport {
    /// One per probe, in the order given.
    pub outcomes: Vec<ProbeOutcome>,
}

impl ProbeReport {
    /// Outcomes that differ from the expectation.
    pub fn unexpected(&self) -> Vec<&ProbeOutcome> {
        self.outcomes.iter().filter(|o| !o.as_expected()).collect()
    }

    /// Whether the probe from `src` to `dst` was received.
    pub fn received(&self, src: IpAddr, dst: IpAddr) -> Option<bool> {
        self.outcomes
            .iter()
            .find(|o| o.probe.src == src && o.probe.dst == dst)
            .map(|o| o.received)
    }
}

impl fmt::Display for ProbeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for o in &self.outcomes {
            let p = &o.probe;
            writeln!(
                f,
                "{} {:<5} {:>22} -> {:<22} via {:<5} expected {:<7} got {:<8} ({})",
                if o.as_expected() { "  ok" } else { "FAIL" },
                p.from.as_str(),
                p.src.to_string(),
                p.dst.to_string(),
                p.from.router_iface().unwrap_or("-"),
                if p.pass { "pass" } else { "drop" },
                if o.received { "received" } else { "nothing" },
                p.what
            )?;
        }
        Ok(())
    }
}

/// Runs `probes` (see the module docs) and reports what each listener received.
pub fn run_udp_probes(lab: &SiteLab, probes: &[UdpProbe]) -> Result<ProbeReport, LabError> {
    // Sinks: one per destination node, bound to every destination address of that node.
    let mut sink_nodes: Vec<(Node, Vec<IpAddr>)> = Vec::new();
    for p in probes {
        let node = SiteLab::owner(p.dst).ok_or_else(|| {
            LabError::Player(format!(
                "probe destination {} belongs to no lab node",
                p.dst
            ))
        })?;
        match sink_nodes.iter_mut().find(|(n, _)| *n == node) {
            Some((_, addrs)) if addrs.contains(&p.dst) => {}
            Some((_, addrs)) => addrs.push(p.dst),
            None => sink_nodes.push((node, vec![p.dst])),
        }
    }
    let mut sinks = Vec::new();
    for (node, addrs) in &sink_nodes {
        let mut args = Vec::new();
        for a in addrs {
            args.push("--bind".to_owned());
            args.push(a.to_string());
        }
        args.extend(["--port".to_owned(), PROBE_PORT.to_string()]);
        let mut sink = Player::spawn(lab.ns(*node), "udp-sink", &args)?;
        sink.expect("READY", lab.player_timeout)?;
        sinks.push(sink);
    }
    for p in probes {
        lab.forge(p.from, p.src)?;
    }
    // Senders: one player per (node, destination), all sources of that group in order.
    let mut groups: Vec<(Node, IpAddr, Vec<IpAddr>)> = Vec::new();
    for p in probes {
        match groups
            .iter_mut()
            .find(|(n, d, _)| *n == p.from && *d == p.dst)
        {
            Some((_, _, srcs)) => srcs.push(p.src),
            None => groups.push((p.from, p.dst, vec![p.src])),
        }
    }
    for (node, dst, srcs) in &groups {
        let mut args = vec![
            "--to".to_owned(),
            dst.to_string(),
            "--port".to_owned(),
            PROBE_PORT.to_string(),
        ];
        for s in srcs {
            args.push("--from".to_owned());
            args.push(s.to_string());
        }
        let mut sender = Player::spawn(lab.ns(*node), "udp-probe", &args)?;
        sender.expect("FINISHED", lab.player_timeout)?;
    }
    // Collect: until every expected arrival is in (or the timeout), then settle.
    let mut got: Vec<(IpAddr, IpAddr)> = Vec::new();
    let start = Instant::now();
    let mut settle_from: Option<Instant> = None;
    loop {
        for sink in sinks.iter_mut() {
            for words in sink.collect("GOT", Duration::from_millis(30)) {
                // GOT udp <src> <sport> <local> <tag>
                if let (Some(src), Some(local)) = (words.get(1), words.get(3))
                    && let (Ok(src), Ok(local)) = (src.parse::<IpAddr>(), local.parse::<IpAddr>())
                {
                    got.push((src, local));
                }
            }
        }
        let all_in = probes
            .iter()
            .filter(|p| p.pass)
            .all(|p| got.contains(&(p.src, p.dst)));
        let now = Instant::now();
        if settle_from.is_none() && (all_in || now - start >= ARRIVAL_TIMEOUT) {
            settle_from = Some(now);
        }
        if let Some(t) = settle_from
            && now - t >= SETTLE
        {
            break;
        }
    }
    Ok(ProbeReport {
        outcomes: probes
            .iter()
            .map(|p| ProbeOutcome {
                probe: p.clone(),
                received: got.contains(&(p.src, p.dst)),
            })
            .collect(),
    })
}

/// How long [`dhcp_probes`] and [`link_local_probes`] listen after sending (the datagrams
/// cross one link).
pub const LOCAL_WINDOW: Duration = Duration::from_millis(800);

/// From each of `from`, DHCPv4-like datagrams 0.0.0.0:68 -> 255.255.255.255:67 (Ethernet frames
/// out of `eth0`); a `udp-sink` in the router listens on 0.0.0.0:67. Returns, per node,
/// whether the router received one.
pub fn dhcp_probes(lab: &SiteLab, from: &[Node]) -> Result<Vec<(Node, bool)>, LabError> {
    let args: Vec<String> = ["--bind", "0.0.0.0", "--port", "67"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let mut sink = Player::spawn(&lab.router, "udp-sink", &args)?;
    sink.expect("READY", lab.player_timeout)?;
    for node in from {
        let args: Vec<String> = vec!["--tag".into(), node.as_str().into()];
        let mut p = Player::spawn(lab.ns(*node), "dhcp-probe", &args)?;
        p.expect("FINISHED", lab.player_timeout)?;
    }
    let got = sink.collect("GOT", LOCAL_WINDOW);
    Ok(from
        .iter()
        .map(|n| {
            let seen = got.iter().any(|w| {
                w.get(1).is_some_and(|s| s == "0.0.0.0")
                    && w.get(4).is_some_and(|t| t == n.as_str())
            });
            (*n, seen)
        })
        .collect())
}

/// From each of `from`, UDP from its link-local [`addr::HOST_LL`] to the router's
/// [`addr::ROUTER_LL`] on that link; returns, per node, whether the router received it.
pub fn link_local_probes(lab: &SiteLab, from: &[Node]) -> Result<Vec<(Node, bool)>, LabError> {
    let mut out = Vec::new();
    for node in from {
        let iface = node.router_iface().ok_or_else(|| {
            LabError::Player("link_local_probes: the router cannot probe itself".into())
        })?;
        let args: Vec<String> = vec![
            "--bind".into(),
            addr::ROUTER_LL.to_string(),
            "--dev".into(),
            iface.into(),
            "--port".into(),
            PROBE_PORT.to_string(),
        ];
        let mut sink = Player::spawn(&lab.router, "udp-sink", &args)?;
        sink.expect("READY", lab.player_timeout)?;
        let args: Vec<String> = vec![
            "--to".into(),
            addr::ROUTER_LL.to_string(),
            "--from".into(),
            addr::HOST_LL.to_string(),
            "--dev".into(),
            "eth0".into(),
            "--port".into(),
            PROBE_PORT.to_string(),
        ];
        let mut p = Player::spawn(lab.ns(*node), "udp-probe", &args)?;
        p.expect("FINISHED", lab.player_timeout)?;
        let got = sink.collect("GOT", LOCAL_WINDOW);
        let ll = addr::HOST_LL.to_string();
        out.push((*node, got.iter().any(|w| w.get(1) == Some(&ll))));
    }
    Ok(out)
}

/// How long [`dad_defended`] waits for duplicate address detection to finish (one probe,
/// 1 s retransmission timer, up to 1 s initial random delay).
pub const DAD_TIMEOUT: Duration = Duration::from_secs(5);

/// For each `(node, router address)`, adds the router's address to the node's `eth0` with DAD
/// on ([`SiteLab::start_dad`]) and waits for the outcome. Returns, per node, the final
/// [`DadState`]: [`DadState::Failed`] means the router received the DAD solicitation (source
/// `::`) and defended its address. The duplicates are removed afterwards.
pub fn dad_defended(
    lab: &SiteLab,
    probes: &[(Node, std::net::Ipv6Addr)],
) -> Result<Vec<(Node, DadState)>, LabError> {
    for (node, a) in probes {
        lab.start_dad(*node, *a)?;
    }
    let deadline = Instant::now() + DAD_TIMEOUT;
    let states = loop {
        let mut states = Vec::new();
        for (node, a) in probes {
            states.push((*node, lab.dad_state(*node, *a)?));
        }
        if states.iter().all(|(_, s)| *s != DadState::Tentative) || Instant::now() >= deadline {
            break states;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    for (node, a) in probes {
        let _ = lab
            .ns(*node)
            .ip(&["-6", "addr", "del", &format!("{a}/64"), "dev", "eth0"]);
    }
    Ok(states)
}

/// What a UDP datagram sent on a connected socket got back ([`udp_expect_reply`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UdpReply {
    /// An ICMP error came back (the socket reported `ECONNREFUSED`).
    Refused,
    /// Nothing came back within the timeout.
    Timeout,
    /// Anything else the player reported (`data`, `error EHOSTUNREACH`, ...).
    Other(String),
}

/// Sends one datagram from `ns` (connected socket, source chosen by routing) to `dst`:`port`
/// and reports whether an ICMP error came back within `wait`.
pub fn udp_expect_reply(
    ns: &Netns,
    src: IpAddr,
    dst: IpAddr,
    port: u16,
    wait: Duration,
) -> Result<UdpReply, LabError> {
    let args: Vec<String> = vec![
        "--to".into(),
        dst.to_string(),
        "--port".into(),
        port.to_string(),
        "--from".into(),
        src.to_string(),
        "--count".into(),
        "1".into(),
        "--recv-timeout".into(),
        format!("{}", wait.as_secs_f64()),
    ];
    let mut player = Player::spawn(ns, "udp-probe", &args)?;
    let words = player.expect("RESULT", wait + Duration::from_secs(5))?;
    Ok(match words.first().map(String::as_str) {
        Some("refused") => UdpReply::Refused,
        Some("timeout") => UdpReply::Timeout,
        _ => UdpReply::Other(words.join(" ")),
    })
}

/// A TCP connection attempt's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connect {
    /// The handshake completed.
    Connected {
        /// Local address and port.
        local: SocketAddr,
        /// Peer address and port.
        peer: SocketAddr,
    },
    /// It did not: `timeout`, `ECONNREFUSED`, `EHOSTUNREACH`, ...
    Failed(String),
}

impl Connect {
    /// Whether the handshake completed.
    pub fn connected(&self) -> bool {
        matches!(self, Connect::Connected { .. })
    }
}

impl fmt::Display for Connect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Connect::Connected { local, peer } => write!(f, "connected {local} -> {peer}"),
            Connect::Failed(why) => write!(f, "failed ({why})"),
        }
    }
}

/// One TCP connection attempt from `ns` to `to` with [`CONNECT_TIMEOUT`].
pub fn tcp_connect(ns: &Netns, to: SocketAddr) -> Result<Connect, LabError> {
    tcp_connect_from(ns, None, to)
}

/// One TCP connection attempt from `ns` to `to` with [`CONNECT_TIMEOUT`], from the source
/// address `from` (one of the namespace's own) or, with `None`, the one routing picks.
pub fn tcp_connect_from(
    ns: &Netns,
    from: Option<IpAddr>,
    to: SocketAddr,
) -> Result<Connect, LabError> {
    let mut args: Vec<String> = vec![
        "--connect".into(),
        to.ip().to_string(),
        "--port".into(),
        to.port().to_string(),
        "--timeout".into(),
        format!("{}", CONNECT_TIMEOUT.as_secs_f64()),
    ];
    if let Some(from) = from {
        args.extend(["--bind".into(), from.to_string()]);
    }
    let mut player = Player::spawn(ns, "tcp-connect", &args)?;
    let words = player.expect("RESULT", CONNECT_TIMEOUT + Duration::from_secs(5))?;
    let bad = || {
        LabError::Player(format!(
            "player {}: malformed RESULT line {words:?}",
            player.label()
        ))
    };
    match words.first().map(String::as_str) {
        Some("connected") if words.len() >= 5 => {
            let parse = |a: &String, p: &String| -> Option<SocketAddr> {
                Some(SocketAddr::new(a.parse().ok()?, p.parse().ok()?))
            };
            match (parse(&words[1], &words[2]), parse(&words[3], &words[4])) {
                (Some(local), Some(peer)) => Ok(Connect::Connected { local, peer }),
                _ => Err(bad()),
            }
        }
        Some("failed") => Ok(Connect::Failed(words[1..].join(" "))),
        _ => Err(bad()),
    }
}

/// Starts a `tcp-listen` player on `bind`:`port` in `ns` and waits for `READY`.
pub fn tcp_listen(
    ns: &Netns,
    bind: IpAddr,
    port: u16,
    timeout: Duration,
) -> Result<Player, LabError> {
    let args: Vec<String> = vec![
        "--bind".into(),
        bind.to_string(),
        "--port".into(),
        port.to_string(),
    ];
    let mut player = Player::spawn(ns, "tcp-listen", &args)?;
    player.expect("READY", timeout)?;
    Ok(player)
}

/// A data connection attempt: a listener on `listen` in `listener_ns`, a connection from
/// `connector_ns` to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataAttempt {
    /// What the connecting side saw.
    pub connect: Connect,
    /// Who the listener accepted (if anyone) within a short wait after the attempt.
    pub accepted_from: Option<IpAddr>,
}

impl DataAttempt {
    /// Connected, and the listener saw the connection.
    pub fn succeeded(&self) -> bool {
        self.connect.connected() && self.accepted_from.is_some()
    }
}

impl fmt::Display for DataAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.accepted_from {
            Some(a) => write!(
                f,
                "{}; listener accepted a connection from {a}",
                self.connect
            ),
            None => write!(f, "{}; listener accepted nothing", self.connect),
        }
    }
}

/// Listens on `listen` in `listener_ns`, connects from `connector_ns`, reports both sides.
pub fn data_connection(
    listener_ns: &Netns,
    listen: SocketAddr,
    connector_ns: &Netns,
    timeout: Duration,
) -> Result<DataAttempt, LabError> {
    data_connection_via(listener_ns, listen, connector_ns, None, listen, timeout)
}

/// Listens on `listen` in `listener_ns`, connects from `connector_ns` (from the source `from`,
/// or the one routing picks) to `connect_to`, which differs from `listen` when the router
/// translates the address (DNAT, masquerade); reports both sides.
pub fn data_connection_via(
    listener_ns: &Netns,
    listen: SocketAddr,
    connector_ns: &Netns,
    from: Option<IpAddr>,
    connect_to: SocketAddr,
    timeout: Duration,
) -> Result<DataAttempt, LabError> {
    let mut listener = tcp_listen(listener_ns, listen.ip(), listen.port(), timeout)?;
    let connect = tcp_connect_from(connector_ns, from, connect_to)?;
    let wait = if connect.connected() {
        Duration::from_secs(2)
    } else {
        Duration::from_millis(100)
    };
    let accepted_from = listener
        .expect("ACCEPT", wait)
        .ok()
        .and_then(|w| w.first().and_then(|a| a.parse().ok()));
    Ok(DataAttempt {
        connect,
        accepted_from,
    })
}

/// An FTP control connection from `client_ns` to `server`:`port` (TCP): the server player
/// (in `server_ns`) sends its banner, the client sends `USER`, then `cmd`'s command, and the
/// server answers with `cmd`'s reply. The connection stays open while the returned
/// [`Exchange`] lives.
pub fn ftp_control(
    client_ns: &Netns,
    server_ns: &Netns,
    server: SocketAddr,
    cmd: &FtpCommand,
    timeout: Duration,
) -> Result<Exchange, LabError> {
    ftp_control_via(client_ns, server_ns, server, server, cmd, timeout)
}

/// [`ftp_control`] through an address translation: the server player listens on `listen`,
/// the client connects to `connect` (e.g. a public address the router DNATs to `listen`).
/// The returned master tuple is the client's view (its source, `connect`).
pub fn ftp_control_via(
    client_ns: &Netns,
    server_ns: &Netns,
    listen: SocketAddr,
    connect: SocketAddr,
    cmd: &FtpCommand,
    timeout: Duration,
) -> Result<Exchange, LabError> {
    let server = connect;
    let server_args: Vec<String> = vec![
        "--bind".into(),
        listen.ip().to_string(),
        "--port".into(),
        listen.port().to_string(),
        "--reply".into(),
        cmd.reply_line(),
    ];
    let client_args: Vec<String> = vec![
        "--connect".into(),
        connect.ip().to_string(),
        "--port".into(),
        connect.port().to_string(),
        "--command".into(),
        cmd.command_line(),
    ];
    let mut server_player = Player::spawn(server_ns, "ftp-server", &server_args)?;
    server_player.expect("READY", timeout)?;
    let mut client = Player::spawn(client_ns, "ftp-client", &client_args)?;
    let done = client.expect("DONE", timeout)?;
    server_player.expect("GOT", timeout)?;
    let parse = |a: Option<&String>, p: Option<&String>| -> Option<SocketAddr> {
        Some(SocketAddr::new(a?.parse().ok()?, p?.parse().ok()?))
    };
    let (Some(local), Some(peer)) = (
        parse(done.first(), done.get(1)),
        parse(done.get(2), done.get(3)),
    ) else {
        return Err(LabError::Player(format!(
            "player {}: malformed DONE line {done:?}",
            client.label()
        )));
    };
    Ok(Exchange {
        master: MasterTuple {
            family: if server.is_ipv4() {
                Family::V4
            } else {
                Family::V6
            },
            l4: L4::Tcp,
            client: local,
            server: peer,
        },
        client,
        server: Some(server_player),
    })
}
