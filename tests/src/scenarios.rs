//! Protocol exchanges that make the router's helpers create expectations.
//!
//! Each function starts a server player in the lab's server namespace (waits for `READY`),
//! then a client player in the client namespace (waits for `DONE`), then waits for the
//! server's `GOT` (the message of interest crossed the router). It returns an [`Exchange`]
//! holding both players alive — the master connection stays open until the exchange is
//! dropped — and the master's [`MasterTuple`] (ORIGINAL direction: client → server), from
//! which a test predicts the expectation.
//!
//! None of these functions assigns a helper: call [`Lab::assign_helper`] first (e.g.
//! `lab.assign_helper(Family::V4, L4::Tcp, 21, "ftp")`), so a test can also check the
//! "no helper" case. Each waits at most [`Lab::player_timeout`] per step; when the helper drops
//! a packet (e.g. a malformed command) the exchange times out with an error naming the player,
//! its output and its stderr.
//!
//! Message details that matter to the kernel (checked against net/netfilter/*.c and on the
//! live kernel):
//!
//! * **ftp**: the helper parses a segment only if it starts right after a newline it has
//!   already seen in that direction, so the server sends a `220` banner first and the client
//!   sends `USER lab\r\n` first; the command (or the server's reply to it) is then one line in
//!   its own segment;
//! * **irc**: the client sends `NICK`/`USER` and waits for the welcome, then the `PRIVMSG` with
//!   the DCC offer in its own segment (the kernel wants `PRIVMSG ` at the start of the segment);
//! * **sip**: complete requests with a correct `Content-Length`; the server echoes
//!   Via/From/To/Call-ID/CSeq in its responses;
//! * **amanda**: the client is the *initiator* (the Amanda server host) sending to udp/10080,
//!   the server player is the responder (amandad) whose reply carries the `CONNECT` line — the
//!   kernel only parses the REPLY direction;
//! * **sane**: the client sends exactly 8 bytes (`SANE_NET_START` + handle) in one segment; the
//!   reply (status, zero, port, byte order, resource string) is one segment.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::netns::{Family, Host, L4, Lab, addr};
use crate::players::{LabError, Player};

/// The master connection's tuple in the ORIGINAL direction (client → server), as seen by the
/// client player (no NAT in the lab, so the router sees the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MasterTuple {
    /// Address family.
    pub family: Family,
    /// Transport protocol.
    pub l4: L4,
    /// Client address and port (the connection's source).
    pub client: SocketAddr,
    /// Server address and port (the connection's destination).
    pub server: SocketAddr,
}

/// A finished exchange whose master connection is still open.
///
/// Drop it (or call [`Exchange::stop`]) to close the connection; the client player is stopped
/// before the server player.
#[derive(Debug)]
pub struct Exchange {
    /// The master connection.
    pub master: MasterTuple,
    /// The client player (keeps the master connection open).
    pub client: Player,
    /// The server player, if the scenario has one.
    pub server: Option<Player>,
}

impl Exchange {
    /// Closes the client (then the server) now.
    pub fn stop(&mut self) {
        self.client.stop();
        if let Some(server) = self.server.as_mut() {
            server.stop();
        }
    }
}

fn parse_done(words: &[String], label: &str) -> Result<(SocketAddr, SocketAddr), LabError> {
    let bad = || LabError::Player(format!("player {label}: malformed DONE line {words:?}"));
    if words.len() < 4 {
        return Err(bad());
    }
    let lip: IpAddr = words[0].parse().map_err(|_| bad())?;
    let lport: u16 = words[1].parse().map_err(|_| bad())?;
    let pip: IpAddr = words[2].parse().map_err(|_| bad())?;
    let pport: u16 = words[3].parse().map_err(|_| bad())?;
    Ok((SocketAddr::new(lip, lport), SocketAddr::new(pip, pport)))
}

/// Runs server (in the server ns) then client (in the client ns); see the module docs.
fn run_exchange(
    lab: &Lab,
    family: Family,
    l4: L4,
    server: Option<(&str, Vec<String>)>,
    client_role: &str,
    client_args: Vec<String>,
) -> Result<Exchange, LabError> {
    let timeout = lab.player_timeout;
    let mut server = match server {
        Some((role, args)) => {
            let mut player = Player::spawn(&lab.server, role, &args)?;
            player.expect("READY", timeout)?;
            Some(player)
        }
        None => None,
    };
    let mut client = Player::spawn(&lab.client, client_role, &client_args)?;
    let done = client.expect("DONE", timeout)?;
    let (local, peer) = parse_done(&done, client.label())?;
    if let Some(server) = server.as_mut() {
        server.expect("GOT", timeout)?;
    }
    Ok(Exchange {
        master: MasterTuple {
            family,
            l4,
            client: local,
            server: peer,
        },
        client,
        server,
    })
}

// ---------------------------------------------------------------------------------------------
// FTP

/// `h1,h2,h3,h4,p1,p2` (RFC 959) for an IPv4 address and port.
pub fn rfc959(addr: Ipv4Addr, port: u16) -> String {
    let [a, b, c, d] = addr.octets();
    format!("{a},{b},{c},{d},{},{}", port >> 8, port & 0xff)
}

/// The FTP command (or server reply) that should make the helper expect a data connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FtpCommand {
    /// Client sends `PORT h1,h2,h3,h4,p1,p2`; server answers `200 ok`.
    Port {
        /// Address announced in the command.
        addr: Ipv4Addr,
        /// Port announced in the command.
        port: u16,
    },
    /// Client sends `EPRT |1|a.b.c.d|port|` or `EPRT |2|v6addr|port|`; server answers `200 ok`.
    Eprt {
        /// Address announced (its family picks `|1|` or `|2|`).
        addr: IpAddr,
        /// Port announced.
        port: u16,
    },
    /// Client sends `PASV`; server answers `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)`.
    Pasv {
        /// Address in the server's reply.
        addr: Ipv4Addr,
        /// Port in the server's reply.
        port: u16,
    },
    /// Client sends `EPSV`; server answers `229 Entering Extended Passive Mode (|||port|)`.
    Epsv {
        /// Port in the server's reply.
        port: u16,
    },
    /// Any command line and reply line (without `\r\n`), for edge cases.
    Custom {
        /// Line the client sends after `USER`.
        command: String,
        /// Line the server answers to it.
        reply: String,
    },
}

impl FtpCommand {
    /// The line the client sends after `USER lab` (without `\r\n`).
    pub fn command_line(&self) -> String {
        match self {
            FtpCommand::Port { addr, port } => format!("PORT {}", rfc959(*addr, *port)),
            FtpCommand::Eprt {
                addr: IpAddr::V4(a),
                port,
            } => format!("EPRT |1|{a}|{port}|"),
            FtpCommand::Eprt {
                addr: IpAddr::V6(a),
                port,
            } => format!("EPRT |2|{a}|{port}|"),
            FtpCommand::Pasv { .. } => "PASV".to_owned(),
            FtpCommand::Epsv { .. } => "EPSV".to_owned(),
            FtpCommand::Custom { command, .. } => command.clone(),
        }
    }

    /// The server's reply line to [`FtpCommand::command_line`] (without `\r\n`).
    pub fn reply_line(&self) -> String {
        match self {
            FtpCommand::Port { .. } | FtpCommand::Eprt { .. } => "200 ok".to_owned(),
            FtpCommand::Pasv { addr, port } => {
                format!("227 Entering Passive Mode ({})", rfc959(*addr, *port))
            }
            FtpCommand::Epsv { port } => {
                format!("229 Entering Extended Passive Mode (|||{port}|)")
            }
            FtpCommand::Custom { reply, .. } => reply.clone(),
        }
    }
}

/// What precedes the interesting FTP command on the control connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FtpFlow {
    /// The server sends a `220` banner first (its first data segment).
    pub banner: bool,
    /// The client sends `USER lab` (and reads the `331`) before the command.
    pub user: bool,
}

impl FtpFlow {
    /// Banner and `USER` first: the command and its reply are each the second segment in
    /// their direction, as the helper needs.
    pub const NORMAL: FtpFlow = FtpFlow {
        banner: true,
        user: true,
    };
}

/// FTP control connection client → server:`ctrl_port` (TCP): banner, `USER`, then `cmd`.
pub fn ftp(
    lab: &Lab,
    family: Family,
    ctrl_port: u16,
    cmd: &FtpCommand,
) -> Result<Exchange, LabError> {
    ftp_with(lab, family, ctrl_port, cmd, FtpFlow::NORMAL)
}

/// [`ftp`] with a chosen [`FtpFlow`] (e.g. no banner and no `USER`, so that the command and the
/// reply are the first data segments of their direction).
pub fn ftp_with(
    lab: &Lab,
    family: Family,
    ctrl_port: u16,
    cmd: &FtpCommand,
    flow: FtpFlow,
) -> Result<Exchange, LabError> {
    let server = lab.addr(Host::Server, family).to_string();
    let port = ctrl_port.to_string();
    let mut server_args = vec![
        "--bind".into(),
        server.clone(),
        "--port".into(),
        port.clone(),
        "--reply".into(),
        cmd.reply_line(),
    ];
    let mut client_args = vec![
        "--connect".into(),
        server,
        "--port".into(),
        port,
        "--command".into(),
        cmd.command_line(),
    ];
    if !flow.banner {
        server_args.push("--no-banner".into());
        client_args.push("--no-banner".into());
    }
    if !flow.user {
        client_args.push("--no-user".into());
    }
    run_exchange(
        lab,
        family,
        L4::Tcp,
        Some(("ftp-server", server_args)),
        "ftp-client",
        client_args,
    )
}

// ---------------------------------------------------------------------------------------------
// IRC

/// A DCC offer sent by the IRC client in
/// `PRIVMSG bob :\x01DCC <kind> file <ip> <port> 1234\x01\r\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IrcDcc {
    /// DCC type: `SEND`, `CHAT`, `MOVE`, `TSEND`, `SCHAT`.
    pub kind: String,
    /// The address field, normally `u32::from(ipv4)` in decimal (any text is sent verbatim).
    pub ip: String,
    /// The port field (any text is sent verbatim).
    pub port: String,
    /// Send `NICK`/`USER` first and wait for the welcome (true), or make the `PRIVMSG` the very
    /// first data segment of the connection (false).
    pub preamble: bool,
}

impl IrcDcc {
    /// `DCC SEND` offering `ip:port`, after a `NICK`/`USER` preamble.
    pub fn send(ip: Ipv4Addr, port: u16) -> IrcDcc {
        IrcDcc {
            kind: "SEND".to_owned(),
            ip: u32::from(ip).to_string(),
            port: port.to_string(),
            preamble: true,
        }
    }
}

/// IRC client → server:`port` (TCP, IPv4 only: the irc helper is AF_INET only).
pub fn irc(lab: &Lab, port: u16, dcc: &IrcDcc) -> Result<Exchange, LabError> {
    let server = addr::SERVER_V4.to_string();
    let port = port.to_string();
    let mut client_args = vec![
        "--connect".into(),
        server.clone(),
        "--port".into(),
        port.clone(),
        "--dcc-type".into(),
        dcc.kind.clone(),
        "--dcc-ip".into(),
        dcc.ip.clone(),
        "--dcc-port".into(),
        dcc.port.clone(),
    ];
    if !dcc.preamble {
        client_args.push("--no-preamble".into());
    }
    run_exchange(
        lab,
        Family::V4,
        L4::Tcp,
        Some((
            "irc-server",
            vec!["--bind".into(), server, "--port".into(), port],
        )),
        "irc-client",
        client_args,
    )
}

// ---------------------------------------------------------------------------------------------
// TFTP

/// TFTP request client:`client_port` → server:`server_port` (UDP). `opcode` 1 = RRQ,
/// 2 = WRQ; `client_port` 0 = ephemeral. The server does not answer.
pub fn tftp(
    lab: &Lab,
    family: Family,
    server_port: u16,
    client_port: u16,
    opcode: u16,
) -> Result<Exchange, LabError> {
    let server = lab.addr(Host::Server, family).to_string();
    let port = server_port.to_string();
    run_exchange(
        lab,
        family,
        L4::Udp,
        Some((
            "tftp-server",
            vec![
                "--bind".into(),
                server.clone(),
                "--port".into(),
                port.clone(),
            ],
        )),
        "tftp-client",
        vec![
            "--connect".into(),
            server,
            "--port".into(),
            port,
            "--sport".into(),
            client_port.to_string(),
            "--opcode".into(),
            opcode.to_string(),
        ],
    )
}

// ---------------------------------------------------------------------------------------------
// SIP

/// An INVITE with an SDP offer, sent by the client from UDP `client_port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipInvite {
    /// Client's UDP source port (also in Via/Contact); 0 = ephemeral.
    pub client_port: u16,
    /// Session-level `c=IN IP4|IP6 <addr>`.
    pub media_addr: IpAddr,
    /// `m=audio <port> RTP/AVP 0`, if any.
    pub audio_port: Option<u16>,
    /// `m=video <port> RTP/AVP 31`, if any.
    pub video_port: Option<u16>,
    /// If set, the server answers `200 OK` with an SDP (`c=` address, `m=audio` port) instead
    /// of `100 Trying`.
    pub answer: Option<(IpAddr, u16)>,
}

/// How the SIP server answers a REGISTER.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SipRegisterReply {
    /// `200 OK` with `Contact: <same URI>;expires=<Expires>` (activates the expectation).
    Ok,
    /// `403 Forbidden` (a non-2xx final response flushes the expectation).
    Forbidden,
    /// No answer (the expectation stays INACTIVE); the client does not wait.
    None,
}

/// A REGISTER with `Contact: <sip:alice@<contact>:<contact_port>>` and `Expires:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipRegister {
    /// Client's UDP source port (also in Via); 0 = ephemeral.
    pub client_port: u16,
    /// Address in the Contact URI; `None` = the client's own address.
    pub contact_addr: Option<IpAddr>,
    /// Port in the Contact URI.
    pub contact_port: u16,
    /// `Expires:` header value.
    pub expires: u32,
    /// The server's answer.
    pub reply: SipRegisterReply,
}

fn sip_server_args(server: &str, port: &str) -> Vec<String> {
    vec![
        "--bind".into(),
        server.to_owned(),
        "--port".into(),
        port.to_owned(),
    ]
}

/// SIP INVITE client → server:`server_port` (UDP). The client waits for the server's answer.
pub fn sip_invite(
    lab: &Lab,
    family: Family,
    server_port: u16,
    invite: &SipInvite,
) -> Result<Exchange, LabError> {
    let server = lab.addr(Host::Server, family).to_string();
    let port = server_port.to_string();
    let mut server_args = sip_server_args(&server, &port);
    if let Some((addr, aport)) = invite.answer {
        server_args.extend([
            "--answer-addr".into(),
            addr.to_string(),
            "--answer-audio-port".into(),
            aport.to_string(),
        ]);
    }
    let mut client_args = vec![
        "--connect".into(),
        server,
        "--port".into(),
        port,
        "--sport".into(),
        invite.client_port.to_string(),
        "--method".into(),
        "INVITE".into(),
        "--media-addr".into(),
        invite.media_addr.to_string(),
    ];
    if let Some(p) = invite.audio_port {
        client_args.extend(["--audio-port".into(), p.to_string()]);
    }
    if let Some(p) = invite.video_port {
        client_args.extend(["--video-port".into(), p.to_string()]);
    }
    run_exchange(
        lab,
        family,
        L4::Udp,
        Some(("sip-server", server_args)),
        "sip-client",
        client_args,
    )
}

/// SIP REGISTER client → server:`server_port` (UDP), answered as `register.reply` says.
pub fn sip_register(
    lab: &Lab,
    family: Family,
    server_port: u16,
    register: &SipRegister,
) -> Result<Exchange, LabError> {
    let server = lab.addr(Host::Server, family).to_string();
    let port = server_port.to_string();
    let mut server_args = sip_server_args(&server, &port);
    server_args.push("--register-reply".into());
    server_args.push(
        match register.reply {
            SipRegisterReply::Ok => "ok",
            SipRegisterReply::Forbidden => "forbidden",
            SipRegisterReply::None => "none",
        }
        .into(),
    );
    let mut client_args = vec![
        "--connect".into(),
        server,
        "--port".into(),
        port,
        "--sport".into(),
        register.client_port.to_string(),
        "--method".into(),
        "REGISTER".into(),
        "--contact-port".into(),
        register.contact_port.to_string(),
        "--expires".into(),
        register.expires.to_string(),
    ];
    if let Some(a) = register.contact_addr {
        client_args.extend(["--contact-addr".into(), a.to_string()]);
    }
    if register.reply == SipRegisterReply::None {
        client_args.push("--no-wait".into());
    }
    run_exchange(
        lab,
        family,
        L4::Udp,
        Some(("sip-server", server_args)),
        "sip-client",
        client_args,
    )
}

// ---------------------------------------------------------------------------------------------
// Amanda

/// `CONNECT DATA <data> MESG <mesg> INDEX <index>`.
pub fn amanda_connect_line(data: u16, mesg: u16, index: u16) -> String {
    format!("CONNECT DATA {data} MESG {mesg} INDEX {index}")
}

/// Amanda request client (initiator) → server:`server_port` (UDP); the server (amandad)
/// answers with a header line and `connect_line` + `\n` (e.g. [`amanda_connect_line`]).
pub fn amanda(
    lab: &Lab,
    family: Family,
    server_port: u16,
    connect_line: &str,
) -> Result<Exchange, LabError> {
    let server = lab.addr(Host::Server, family).to_string();
    let port = server_port.to_string();
    run_exchange(
        lab,
        family,
        L4::Udp,
        Some((
            "amanda-server",
            vec![
                "--bind".into(),
                server.clone(),
                "--port".into(),
                port.clone(),
                "--connect-line".into(),
                connect_line.to_owned(),
            ],
        )),
        "amanda-client",
        vec!["--connect".into(), server, "--port".into(), port],
    )
}

// ---------------------------------------------------------------------------------------------
// SANE

/// A `SANE_NET_START` request and the server's reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaneStart {
    /// Port in the reply (be16 after the be16 zero field).
    pub data_port: u16,
    /// Reply status word (0 = `SANE_STATUS_GOOD`).
    pub status: u32,
    /// The be16 field before the port (the kernel requires 0).
    pub zero: u16,
    /// Send a `SANE_NET_INIT` exchange first (true) or make `SANE_NET_START` the first data
    /// segment (false).
    pub init: bool,
}

impl SaneStart {
    /// A successful start announcing `data_port`, without `SANE_NET_INIT`.
    pub fn ok(data_port: u16) -> SaneStart {
        SaneStart {
            data_port,
            status: 0,
            zero: 0,
            init: false,
        }
    }
}

/// SANE client → server:`server_port` (TCP).
pub fn sane(
    lab: &Lab,
    family: Family,
    server_port: u16,
    start: &SaneStart,
) -> Result<Exchange, LabError> {
    let server = lab.addr(Host::Server, family).to_string();
    let port = server_port.to_string();
    let mut client_args = vec![
        "--connect".into(),
        server.clone(),
        "--port".into(),
        port.clone(),
    ];
    if start.init {
        client_args.push("--init".into());
    }
    run_exchange(
        lab,
        family,
        L4::Tcp,
        Some((
            "sane-server",
            vec![
                "--bind".into(),
                server,
                "--port".into(),
                port,
                "--data-port".into(),
                start.data_port.to_string(),
                "--status".into(),
                start.status.to_string(),
                "--zero".into(),
                start.zero.to_string(),
            ],
        )),
        "sane-client",
        client_args,
    )
}

// ---------------------------------------------------------------------------------------------
// NetBIOS name service

/// A NetBIOS name query broadcast by the client to 10.71.1.255:137 from UDP `client_port`
/// (0 = ephemeral). No server player.
///
/// The broadcast helper only handles locally generated packets, so assign it in the
/// *client's* raw OUTPUT chain first:
/// `lab.assign_local_helper(Host::Client, Family::V4, L4::Udp, 137, "netbios-ns")`; the
/// expectation then appears in the client namespace (read `lab.client`), with the
/// `nf_conntrack_netbios_ns timeout` (3 s by default).
pub fn netbios_ns(lab: &Lab, client_port: u16) -> Result<Exchange, LabError> {
    run_exchange(
        lab,
        Family::V4,
        L4::Udp,
        None,
        "netbios-ns-client",
        vec![
            "--broadcast".into(),
            addr::CLIENT_BROADCAST_V4.to_string(),
            "--sport".into(),
            client_port.to_string(),
        ],
    )
}

/// Spawns an arbitrary player role in `host`'s namespace (escape hatch for exchanges not
/// covered above); see `tests/lab/players.py --help`.
pub fn spawn_player(lab: &Lab, host: Host, role: &str, args: &[&str]) -> Result<Player, LabError> {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    Player::spawn(lab.ns(host), role, &args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc959_splits_port() {
        assert_eq!(
            rfc959(Ipv4Addr::new(10, 71, 1, 2), 50000),
            "10,71,1,2,195,80"
        );
    }

    #[test]
    fn ftp_lines() {
        let eprt6 = FtpCommand::Eprt {
            addr: "fd71:1::2".parse().unwrap(),
            port: 50000,
        };
        assert_eq!(eprt6.command_line(), "EPRT |2|fd71:1::2|50000|");
        assert_eq!(
            FtpCommand::Epsv { port: 50001 }.reply_line(),
            "229 Entering Extended Passive Mode (|||50001|)"
        );
    }

    #[test]
    fn done_line() {
        let words: Vec<String> = "10.71.1.2 40000 10.71.2.2 21"
            .split(' ')
            .map(str::to_owned)
            .collect();
        let (l, p) = parse_done(&words, "t").unwrap();
        assert_eq!(l.port(), 40000);
        assert_eq!(p.to_string(), "10.71.2.2:21");
    }
}
