//! Scripted binary exchanges for the fidelity lab: PPTP control sessions, H.323 (RAS, Q.931,
//! H.245 through [`crate::h323per`]) and broadcast queries.
//!
//! A [`Script`] is a list of messages in order, each sent by the connecting or the listening
//! end, with optional pauses. [`run`] starts `tests/lab/scripted.py listen` in one namespace
//! (waits for `READY`), `scripted.py connect` in another, and returns when the connecting end
//! reaches its first pause or the end of the script (both ends have then sent and received
//! every message before it). [`Scripted::resume`] plays on to the next pause or the end.
//! The players keep their sockets, so the master connection and its expectations, until the
//! [`Scripted`] is dropped.

use std::net::{IpAddr, SocketAddr};

use crate::netns::{Family, L4, Netns};
use crate::players::{LabError, Player};
use crate::scenarios::MasterTuple;

/// Absolute path of `scripted.py`.
pub const SCRIPTED_PY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/lab/scripted.py");

/// One step of a [`Script`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The connecting end (the master's initiator) sends these bytes.
    Connector(Vec<u8>),
    /// The listening end (the master's responder) sends these bytes.
    Listener(Vec<u8>),
    /// The connecting end stops until [`Scripted::resume`].
    Pause,
}

/// Messages in playing order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Script(pub Vec<Step>);

impl Script {
    /// The `--steps` text of `scripted.py`.
    pub fn to_arg(&self) -> String {
        let hex = |d: &[u8]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        self.0
            .iter()
            .map(|s| match s {
                Step::Connector(d) => format!("c:{}", hex(d)),
                Step::Listener(d) => format!("l:{}", hex(d)),
                Step::Pause => "p".to_string(),
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Where the two ends run.
#[derive(Debug, Clone, Copy)]
pub struct Ends<'a> {
    /// Namespace of the connecting end.
    pub connector: &'a Netns,
    /// Namespace of the listening end.
    pub listener: &'a Netns,
    /// The listening end's address.
    pub listen_addr: IpAddr,
    /// The listening port.
    pub port: u16,
    /// TCP or UDP.
    pub l4: L4,
}

/// A running scripted exchange.
#[derive(Debug)]
pub struct Scripted {
    /// The master connection (connecting end → listening end).
    pub master: MasterTuple,
    /// The connecting end's player.
    pub connector: Player,
    /// The listening end's player.
    pub listener: Player,
    timeout: std::time::Duration,
}

impl Scripted {
    /// Lets the connecting end play on to its next pause (`Ok(true)`) or the script's end
    /// (`Ok(false)`).
    pub fn resume(&mut self) -> Result<bool, LabError> {
        self.connector.send_line("GO")?;
        loop {
            let line = self.connector.next_line(self.timeout)?.ok_or_else(|| {
                LabError::Player(format!(
                    "player {}: neither PAUSED nor FINISHED within {:?}",
                    self.connector.label(),
                    self.timeout
                ))
            })?;
            if line.starts_with("PAUSED") {
                return Ok(true);
            }
            if line.starts_with("FINISHED") {
                return Ok(false);
            }
        }
    }
}

/// Runs `script` between `ends` (see the module docs). `sport` fixes the connecting end's
/// source port (0 = ephemeral).
pub fn run(
    ends: Ends<'_>,
    script: &Script,
    sport: u16,
    timeout: std::time::Duration,
) -> Result<Scripted, LabError> {
    let l4 = match ends.l4 {
        L4::Tcp => "tcp",
        L4::Udp => "udp",
    };
    let common = |role: &str| -> Vec<String> {
        vec![
            role.to_string(),
            "--l4".into(),
            l4.into(),
            "--port".into(),
            ends.port.to_string(),
            "--steps".into(),
            script.to_arg(),
        ]
    };
    let mut largs = common("listen");
    largs.extend(["--bind".into(), ends.listen_addr.to_string()]);
    let mut listener = Player::spawn_script(ends.listener, SCRIPTED_PY, &largs[0], &largs[1..])?;
    listener.expect("READY", timeout)?;
    let mut cargs = common("connect");
    cargs.extend([
        "--connect".into(),
        ends.listen_addr.to_string(),
        "--sport".into(),
        sport.to_string(),
    ]);
    let mut connector = Player::spawn_script(ends.connector, SCRIPTED_PY, &cargs[0], &cargs[1..])?;
    let done = connector.expect("DONE", timeout)?;
    let bad = || LabError::Player(format!("malformed DONE line {done:?}"));
    if done.len() < 4 {
        return Err(bad());
    }
    let local = SocketAddr::new(
        done[0].parse().map_err(|_| bad())?,
        done[1].parse().map_err(|_| bad())?,
    );
    let peer = SocketAddr::new(
        done[2].parse().map_err(|_| bad())?,
        done[3].parse().map_err(|_| bad())?,
    );
    let family = if local.is_ipv4() {
        Family::V4
    } else {
        Family::V6
    };
    // At a pause the connecting end has also received everything before it; without a
    // pause, wait until the listener has seen everything too.
    if script.0.contains(&Step::Pause) {
        connector.expect("PAUSED", timeout)?;
    } else {
        listener.expect("GOT", timeout)?;
    }
    Ok(Scripted {
        master: MasterTuple {
            family,
            l4: ends.l4,
            client: local,
            server: peer,
        },
        connector,
        listener,
        timeout,
    })
}

/// Sends one UDP datagram from `ns` to `to`:`port` (a broadcast address when `broadcast`)
/// from `sport` (0 = ephemeral) and keeps the socket open; returns the player and the master
/// tuple (sender → destination).
pub fn send_udp(
    ns: &Netns,
    to: IpAddr,
    port: u16,
    sport: u16,
    payload: &[u8],
    broadcast: bool,
    timeout: std::time::Duration,
) -> Result<(Player, MasterTuple), LabError> {
    let mut args: Vec<String> = vec![
        "--l4".into(),
        "udp".into(),
        "--connect".into(),
        to.to_string(),
        "--port".into(),
        port.to_string(),
        "--sport".into(),
        sport.to_string(),
        "--steps".into(),
        Script(vec![Step::Connector(payload.to_vec())]).to_arg(),
    ];
    if broadcast {
        args.push("--broadcast".into());
    }
    let mut player = Player::spawn_script(ns, SCRIPTED_PY, "connect", &args)?;
    let done = player.expect("DONE", timeout)?;
    let bad = || LabError::Player(format!("malformed DONE line {done:?}"));
    let parse = |i: usize| -> Result<SocketAddr, LabError> {
        Ok(SocketAddr::new(
            done.get(i).ok_or_else(bad)?.parse().map_err(|_| bad())?,
            done.get(i + 1)
                .ok_or_else(bad)?
                .parse()
                .map_err(|_| bad())?,
        ))
    };
    let (local, peer) = (parse(0)?, parse(2)?);
    // The wildcard bind reports 0.0.0.0: the source is the interface address.
    let local = if local.ip().is_unspecified() {
        SocketAddr::new(source_towards(ns, to)?, local.port())
    } else {
        local
    };
    Ok((
        player,
        MasterTuple {
            family: if peer.is_ipv4() {
                Family::V4
            } else {
                Family::V6
            },
            l4: L4::Udp,
            client: local,
            server: peer,
        },
    ))
}

/// The source address `ns` uses towards `to` (`ip route get`).
pub fn source_towards(ns: &Netns, to: IpAddr) -> Result<IpAddr, LabError> {
    let out = ns.ip(&["route", "get", &to.to_string()])?;
    let words: Vec<&str> = out.split_whitespace().collect();
    words
        .iter()
        .position(|w| *w == "src")
        .and_then(|i| words.get(i + 1))
        .and_then(|w| w.parse().ok())
        .ok_or_else(|| LabError::Player(format!("no src in `ip route get {to}`: {out}")))
}

// ---------------------------------------------------------------------------------------------
// PPTP (RFC 2637): control messages on TCP 1723

/// The PPTP magic cookie.
pub const PPTP_MAGIC: u32 = 0x1a2b_3c4d;

/// A PPTP control message: length, type 1 (control), magic cookie, control message type,
/// reserved, then `body` (the kernel checks the length against its struct sizes).
pub fn pptp_control(msg_type: u16, body: &[u8]) -> Vec<u8> {
    let len = 12 + body.len();
    let mut v = Vec::with_capacity(len);
    v.extend_from_slice(&(len as u16).to_be_bytes());
    v.extend_from_slice(&1u16.to_be_bytes());
    v.extend_from_slice(&PPTP_MAGIC.to_be_bytes());
    v.extend_from_slice(&msg_type.to_be_bytes());
    v.extend_from_slice(&0u16.to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn host_vendor() -> Vec<u8> {
    let mut v = vec![0u8; 128];
    v[..7].copy_from_slice(b"nfh-lab");
    v
}

/// Start-Control-Connection-Request (type 1, 156 bytes).
pub fn pptp_sccrq() -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&0x0100u16.to_be_bytes()); // protocol version 1.0
    b.extend_from_slice(&[0, 0]); // reserved
    b.extend_from_slice(&1u32.to_be_bytes()); // framing: async
    b.extend_from_slice(&1u32.to_be_bytes()); // bearer: analog
    b.extend_from_slice(&1u16.to_be_bytes()); // max channels
    b.extend_from_slice(&1u16.to_be_bytes()); // firmware revision
    b.extend(host_vendor());
    pptp_control(1, &b)
}

/// Start-Control-Connection-Reply (type 2, 156 bytes), result 1 (OK).
pub fn pptp_sccrp() -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&0x0100u16.to_be_bytes());
    b.extend_from_slice(&[1, 0]); // result OK, error 0
    b.extend_from_slice(&1u32.to_be_bytes());
    b.extend_from_slice(&1u32.to_be_bytes());
    b.extend_from_slice(&1u16.to_be_bytes());
    b.extend_from_slice(&1u16.to_be_bytes());
    b.extend(host_vendor());
    pptp_control(2, &b)
}

/// Outgoing-Call-Request (type 7, 168 bytes) from the PNS with its call ID.
pub fn pptp_ocrq(call_id: u16) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&call_id.to_be_bytes());
    b.extend_from_slice(&1u16.to_be_bytes()); // call serial number
    b.extend_from_slice(&300u32.to_be_bytes()); // min bps
    b.extend_from_slice(&100_000_000u32.to_be_bytes()); // max bps
    b.extend_from_slice(&3u32.to_be_bytes()); // bearer type
    b.extend_from_slice(&3u32.to_be_bytes()); // framing type
    b.extend_from_slice(&64u16.to_be_bytes()); // packet receive window
    b.extend_from_slice(&0u16.to_be_bytes()); // processing delay
    b.extend_from_slice(&0u16.to_be_bytes()); // phone number length
    b.extend_from_slice(&0u16.to_be_bytes()); // reserved
    b.extend([0u8; 128]); // phone number, subaddress
    pptp_control(7, &b)
}

/// Outgoing-Call-Reply (type 8, 32 bytes) from the PAC: its call ID, the PNS's call ID (peer
/// call ID) and `result` (1 = connected).
pub fn pptp_ocrp(call_id: u16, peer_call_id: u16, result: u8) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&call_id.to_be_bytes());
    b.extend_from_slice(&peer_call_id.to_be_bytes());
    b.extend_from_slice(&[result, 0]);
    b.extend_from_slice(&0u16.to_be_bytes()); // cause code
    b.extend_from_slice(&64_000u32.to_be_bytes()); // connect speed
    b.extend_from_slice(&64u16.to_be_bytes()); // receive window
    b.extend_from_slice(&0u16.to_be_bytes()); // processing delay
    b.extend_from_slice(&0u32.to_be_bytes()); // physical channel
    pptp_control(8, &b)
}

/// Incoming-Call-Request (type 9, 220 bytes) from the PAC with its call ID.
pub fn pptp_icrq(call_id: u16) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&call_id.to_be_bytes());
    b.extend_from_slice(&1u16.to_be_bytes()); // call serial number
    b.extend_from_slice(&1u32.to_be_bytes()); // bearer type
    b.extend_from_slice(&0u32.to_be_bytes()); // physical channel
    b.extend_from_slice(&0u16.to_be_bytes()); // dialed number length
    b.extend_from_slice(&0u16.to_be_bytes()); // dialing number length
    b.extend([0u8; 192]); // dialed, dialing number, subaddress
    pptp_control(9, &b)
}

/// Incoming-Call-Reply (type 10, 24 bytes) from the PNS: its call ID, the PAC's call ID and
/// `result` (1 = accept).
pub fn pptp_icrp(call_id: u16, peer_call_id: u16, result: u8) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&call_id.to_be_bytes());
    b.extend_from_slice(&peer_call_id.to_be_bytes());
    b.extend_from_slice(&[result, 0]);
    b.extend_from_slice(&64u16.to_be_bytes()); // receive window
    b.extend_from_slice(&0u16.to_be_bytes()); // transmit delay
    b.extend_from_slice(&0u16.to_be_bytes()); // reserved
    pptp_control(10, &b)
}

/// Incoming-Call-Connected (type 11, 28 bytes) from the PAC with the PNS's call ID.
pub fn pptp_iccn(peer_call_id: u16) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&peer_call_id.to_be_bytes());
    b.extend_from_slice(&0u16.to_be_bytes()); // reserved
    b.extend_from_slice(&64_000u32.to_be_bytes()); // connect speed
    b.extend_from_slice(&64u16.to_be_bytes()); // receive window
    b.extend_from_slice(&0u16.to_be_bytes()); // transmit delay
    b.extend_from_slice(&1u32.to_be_bytes()); // framing type
    pptp_control(11, &b)
}

/// Call-Clear-Request (type 12, 16 bytes) from the PNS.
pub fn pptp_ccrq(call_id: u16) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&call_id.to_be_bytes());
    b.extend_from_slice(&0u16.to_be_bytes());
    pptp_control(12, &b)
}

/// Call-Disconnect-Notify (type 13, 148 bytes) from the PAC.
pub fn pptp_cdn(call_id: u16) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&call_id.to_be_bytes());
    b.extend_from_slice(&[3, 0]); // result: admin shutdown
    b.extend_from_slice(&0u16.to_be_bytes()); // cause
    b.extend_from_slice(&0u16.to_be_bytes()); // reserved
    b.extend([0u8; 128]); // call statistics
    pptp_control(13, &b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pptp_lengths_follow_rfc_2637() {
        assert_eq!(pptp_sccrq().len(), 156);
        assert_eq!(pptp_sccrp().len(), 156);
        assert_eq!(pptp_ocrq(1).len(), 168);
        assert_eq!(pptp_ocrp(1, 2, 1).len(), 32);
        assert_eq!(pptp_ccrq(1).len(), 16);
        assert_eq!(pptp_cdn(1).len(), 148);
        assert_eq!(pptp_icrq(1).len(), 220);
        assert_eq!(pptp_icrp(1, 2, 1).len(), 24);
        assert_eq!(pptp_iccn(1).len(), 28);
        let m = pptp_ocrp(0x6bd8, 0xa9a0, 1);
        assert_eq!(u16::from_be_bytes([m[0], m[1]]) as usize, m.len());
        assert_eq!(&m[12..16], &[0x6b, 0xd8, 0xa9, 0xa0]);
    }

    #[test]
    fn script_text() {
        let s = Script(vec![
            Step::Connector(vec![1, 0xab]),
            Step::Pause,
            Step::Listener(vec![0]),
        ]);
        assert_eq!(s.to_arg(), "c:01ab,p,l:00");
    }
}
