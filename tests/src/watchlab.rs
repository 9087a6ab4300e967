//! The watch lab: live expectations judged and enforced over ctnetlink while FTP sessions run
//! through a router.
//!
//! Topology (IPv4, each host on its own router interface, so every data connection crosses the
//! router and its conntrack):
//!
//! ```text
//! client 10.73.1.2 ── r-cli 10.73.1.1 ┐
//! server 10.73.2.2 ── r-srv 10.73.2.1 ├ router: CT --helper ftp on tcp/21, FORWARD policy
//! third  10.73.3.2 ── r-thd 10.73.3.1 ┘          DROP, ESTABLISHED,RELATED accepted, new FTP
//!                                                control connections client → server accepted,
//!                                                any other TCP rejected with a reset
//! ```
//!
//! The site policy ([`POLICY_TOML`]) lets FTP data connections go to the server and its clients
//! only; a PORT naming the third party (accepted by the kernel under `loose=1`) creates an
//! expectation the model allows and the policy does not, which the watcher deletes.
//!
//! * [`WatchLab`]: the namespaces, addresses, firewall and helper rule;
//! * [`Enforcer`]: the library's [`Watcher`] on a thread in the router namespace, judging every
//!   expectation with the core's [`Judge`] and deleting those that do not conform, recording
//!   what it saw with wall-clock times;
//! * [`run_sessions`]: many FTP sessions from one `tests/lab/watch_load.py` client, with the
//!   wall-clock time each command was sent.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use netfilter_helpers_core::judge::Judge;
use netfilter_helpers_core::options::ModuleOptions;
use netfilter_helpers_core::policy::SitePolicy;
use netfilter_helpers_netlink::{Deletion, Event, WatchOptions, Watcher};

use crate::netns::{CommandError, Family, L4, Netns, assign_helper_in, veth};
use crate::players::{LabError, Player};

/// Absolute path of `watch_load.py`.
pub const WATCH_LOAD_PY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/lab/watch_load.py");

/// The client's address.
pub const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 73, 1, 2);
/// The FTP server's address.
pub const SERVER: Ipv4Addr = Ipv4Addr::new(10, 73, 2, 2);
/// The third party's address.
pub const THIRD: Ipv4Addr = Ipv4Addr::new(10, 73, 3, 2);

/// The site policy: FTP data connections may only go to the FTP server or its clients; SIP
/// media only to the phones (the client network).
pub const POLICY_TOML: &str = r#"default = "deny"

[helpers.ftp]
destinations = ["10.73.1.0/24", "10.73.2.2/32"]

[helpers.sip]
destinations = ["10.73.1.0/24"]
"#;

/// The FTP option the lab runs under (`nf_conntrack_ftp loose=1`), as `nfh --set` takes it.
pub const FTP_LOOSE: &str = "nf_conntrack_ftp.loose=1";
/// The SIP option of the SIP scenario (`nf_conntrack_sip sip_direct_media=0`).
pub const SIP_INDIRECT_MEDIA: &str = "nf_conntrack_sip.sip_direct_media=0";

/// The namespaces of the watch lab.
#[derive(Debug)]
pub struct WatchLab {
    /// FTP client.
    pub client: Netns,
    /// FTP server.
    pub server: Netns,
    /// A host the client names in PORT.
    pub third: Netns,
    /// The router: conntrack, the FTP helper, the firewall; the watcher runs here.
    pub router: Netns,
}

impl WatchLab {
    /// Builds the topology and the router's rules (see the module docs).
    pub fn new() -> Result<WatchLab, CommandError> {
        let client = Netns::new("wclient")?;
        let server = Netns::new("wserver")?;
        let third = Netns::new("wthird")?;
        let router = Netns::new("wrouter")?;
        for (ns, rif, net) in [
            (&client, "r-cli", 1),
            (&server, "r-srv", 2),
            (&third, "r-thd", 3),
        ] {
            veth(&router, rif, ns, "eth0")?;
            router.add_addr(rif, &format!("10.73.{net}.1/24"))?;
            router.link_up(rif)?;
            ns.add_addr("eth0", &format!("10.73.{net}.2/24"))?;
            ns.link_up("eth0")?;
            ns.ip(&["route", "add", "default", "via", &format!("10.73.{net}.1")])?;
            // Ephemeral ports above every data port the scenarios announce (40000-49999), so
            // that a control connection never holds a port a data listener needs.
            ns.sysctl("net.ipv4.ip_local_port_range", "50000 60999")?;
        }
        router.sysctl("net.ipv4.ip_forward", "1")?;
        assign_helper_in(&router, "PREROUTING", Family::V4, L4::Tcp, 21, "ftp")?;
        assign_helper_in(&router, "PREROUTING", Family::V4, L4::Udp, 5060, "sip")?;
        // Events are on by default (or "auto" since 6.x); make sure.
        let _ = router.sysctl("net.netfilter.nf_conntrack_events", "1");
        let ipt = |args: &[&str]| -> Result<(), CommandError> {
            let mut full = vec!["-w"];
            full.extend_from_slice(args);
            router.run("iptables", &full).map(drop)
        };
        ipt(&["-P", "FORWARD", "DROP"])?;
        ipt(&[
            "-A",
            "FORWARD",
            "-m",
            "conntrack",
            "--ctstate",
            "ESTABLISHED,RELATED",
            "-j",
            "ACCEPT",
        ])?;
        ipt(&[
            "-A",
            "FORWARD",
            "-p",
            "tcp",
            "--syn",
            "-s",
            "10.73.1.0/24",
            "-d",
            "10.73.2.2",
            "--dport",
            "21",
            "-j",
            "ACCEPT",
        ])?;
        ipt(&[
            "-A",
            "FORWARD",
            "-p",
            "udp",
            "-s",
            "10.73.1.0/24",
            "-d",
            "10.73.2.2",
            "--dport",
            "5060",
            "-j",
            "ACCEPT",
        ])?;
        ipt(&[
            "-A",
            "FORWARD",
            "-p",
            "tcp",
            "-j",
            "REJECT",
            "--reject-with",
            "tcp-reset",
        ])?;
        ipt(&["-A", "FORWARD", "-j", "REJECT"])?;
        Ok(WatchLab {
            client,
            server,
            third,
            router,
        })
    }

    /// `/run/netns/<router>`.
    pub fn router_path(&self) -> PathBuf {
        PathBuf::from("/run/netns").join(self.router.name())
    }
}

/// The judge the lab enforces: the kernel's options with `assignments` (such as
/// [`FTP_LOOSE`]), and [`POLICY_TOML`].
pub fn lab_judge(assignments: &[&str]) -> Judge {
    let mut options = ModuleOptions::new();
    for a in assignments {
        options
            .set_assignment(a)
            .unwrap_or_else(|e| panic!("{a}: {e}"));
    }
    let policy = SitePolicy::from_toml(POLICY_TOML).expect("the lab policy parses");
    Judge::new(&options, Some(policy))
}

/// Wall-clock seconds since the epoch.
pub fn now() -> f64 {
    seconds(SystemTime::now())
}

/// A wall-clock time as seconds since the epoch.
pub fn seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// What the enforcer saw or did about one expectation.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// `existing`, `new`, `destroyed`, `deleted` or `gone` (the deletion found it gone).
    pub what: &'static str,
    /// The expectation's destination address.
    pub dst: IpAddr,
    /// Its destination port.
    pub dport: u16,
    /// Whether it conformed (for `existing` / `new`).
    pub conforms: bool,
    /// Wall-clock seconds when the event was received, or (deletions) when the kernel
    /// answered the deletion.
    pub at: f64,
}

/// The library's watcher, enforcing [`lab_judge`] in the router namespace on a thread.
#[derive(Debug)]
pub struct Enforcer {
    stop: Arc<AtomicBool>,
    records: Arc<Mutex<Vec<Record>>>,
    handle: Option<JoinHandle<Result<(), String>>>,
}

impl Enforcer {
    /// Starts watching under the options `assignments` (see [`lab_judge`]); returns once the
    /// watcher has subscribed and read the table.
    pub fn start(lab: &WatchLab, assignments: &[&str]) -> Result<Enforcer, String> {
        let path = lab.router_path();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let records = Arc::new(Mutex::new(Vec::new()));
        let shared = Arc::clone(&records);
        let judge = lab_judge(assignments);
        let (ready_tx, ready_rx) = mpsc::channel();
        let handle = std::thread::spawn(move || -> Result<(), String> {
            let opened = Watcher::open(&WatchOptions::in_netns(path));
            let mut watcher = match opened {
                Ok(w) => {
                    let _ = ready_tx.send(Ok(()));
                    w.with_stop_flag(flag)
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e.to_string()));
                    return Err(e.to_string());
                }
            };
            let push = |r: Record| {
                shared
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(r);
            };
            while let Some(j) = watcher
                .next_judged(&judge, true)
                .map_err(|e| e.to_string())?
            {
                let (what, m) = match &j.event {
                    Event::Existing(m) => ("existing", m),
                    Event::New(m) => ("new", m),
                    Event::Destroyed(m) => ("destroyed", m),
                    other => return Err(format!("unexpected event {other:?}")),
                };
                let e = m.expectation();
                let conforms = j.judgement.as_ref().is_none_or(|j| j.conforms());
                push(Record {
                    what,
                    dst: e.dst,
                    dport: e.dport,
                    conforms,
                    at: seconds(j.received),
                });
                if let Some(outcome) = j.deletion {
                    push(Record {
                        what: match outcome.map_err(|e| e.to_string())? {
                            Deletion::Deleted => "deleted",
                            Deletion::Gone => "gone",
                        },
                        dst: e.dst,
                        dport: e.dport,
                        conforms,
                        at: j.answered.map_or_else(now, seconds),
                    });
                }
            }
            Ok(())
        });
        match ready_rx.recv_timeout(Duration::from_secs(10)) {
            Ok(Ok(())) => Ok(Enforcer {
                stop,
                records,
                handle: Some(handle),
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err("the watcher did not start within 10 s".into()),
        }
    }

    /// What the watcher recorded so far.
    pub fn records(&self) -> Vec<Record> {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits up to `timeout` for a record that `pred` accepts.
    pub fn wait_for(&self, timeout: Duration, pred: impl Fn(&Record) -> bool) -> Option<Record> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(r) = self.records().into_iter().find(|r| pred(r)) {
                return Some(r);
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops the watcher and returns what it recorded.
    pub fn finish(mut self) -> Result<Vec<Record>, String> {
        self.stop.store(true, Ordering::Relaxed);
        match self.handle.take().map(JoinHandle::join) {
            Some(Ok(r)) => r.map(|()| self.records()),
            Some(Err(_)) => Err("the watcher thread panicked".into()),
            None => Err("already finished".into()),
        }
    }
}

impl Drop for Enforcer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// One FTP session of [`run_sessions`].
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// `port` or `pasv`.
    pub mode: String,
    /// Wall-clock seconds just before the client sent the command.
    pub sent_at: f64,
    /// The data port.
    pub data_port: u16,
    /// The server's data connection (`connected`, `refused`, ...) or accept (`accepted`).
    pub server: String,
    /// The client's data connection or accept.
    pub client: String,
}

/// Starts `watch_load.py ftp-load-server` on the server (data connections `delay_ms` after the
/// `200` reply to PORT) and `port-sink` on `sink_ports` of the third party.
pub fn start_servers(
    lab: &WatchLab,
    delay_ms: u32,
    sink_ports: (u16, u16),
) -> Result<(Player, Player), LabError> {
    start_servers_with(lab, Some(delay_ms), sink_ports)
}

/// [`start_servers`]; `None`: the server never opens the data connection after PORT.
pub fn start_servers_with(
    lab: &WatchLab,
    delay_ms: Option<u32>,
    sink_ports: (u16, u16),
) -> Result<(Player, Player), LabError> {
    let wait = Duration::from_secs(10);
    let mut args = vec!["--bind".into(), SERVER.to_string()];
    match delay_ms {
        Some(ms) => args.extend(["--data-delay-ms".into(), ms.to_string()]),
        None => args.push("--no-data".into()),
    }
    let mut server = Player::spawn_script(&lab.server, WATCH_LOAD_PY, "ftp-load-server", &args)?;
    server.expect("READY", wait)?;
    let mut sink = Player::spawn_script(
        &lab.third,
        WATCH_LOAD_PY,
        "port-sink",
        &[
            "--bind".into(),
            THIRD.to_string(),
            "--base-port".into(),
            sink_ports.0.to_string(),
            "--count".into(),
            sink_ports.1.to_string(),
        ],
    )?;
    sink.expect("READY", wait)?;
    Ok((server, sink))
}

/// Runs `count` FTP sessions from the client: `PORT data,base+i` (`data` given) or `PASV`.
pub fn run_sessions(
    lab: &WatchLab,
    data: Option<Ipv4Addr>,
    base_port: u16,
    count: usize,
) -> Result<Vec<Session>, LabError> {
    let mut args = vec![
        "--connect".into(),
        SERVER.to_string(),
        "--count".into(),
        count.to_string(),
        "--base-port".into(),
        base_port.to_string(),
        "--mode".into(),
    ];
    match data {
        Some(a) => args.extend(["port".into(), "--data".into(), a.to_string()]),
        None => args.push("pasv".into()),
    }
    let mut client = Player::spawn_script(&lab.client, WATCH_LOAD_PY, "ftp-load-client", &args)?;
    let timeout = Duration::from_secs(10) + Duration::from_millis(50) * count as u32;
    client.expect("FINISHED", timeout)?;
    let mut sessions = Vec::new();
    for line in client.seen() {
        let w: Vec<&str> = line.split_whitespace().collect();
        if w.first() != Some(&"SESSION") {
            continue;
        }
        let bad = || LabError::Player(format!("malformed SESSION line {line:?}"));
        if w.len() != 7 {
            return Err(bad());
        }
        sessions.push(Session {
            mode: w[2].to_string(),
            sent_at: w[3].parse().map_err(|_| bad())?,
            data_port: w[4].parse().map_err(|_| bad())?,
            server: w[5].to_string(),
            client: w[6].to_string(),
        });
    }
    if sessions.len() != count {
        return Err(LabError::Player(format!(
            "{} of {count} sessions reported: {:?}",
            sessions.len(),
            client.seen()
        )));
    }
    Ok(sessions)
}

/// The `p`-th percentile (0 to 100) of sorted values (nearest rank).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A SIP INVITE from the client (UDP 5060 → server:5060) whose SDP offers audio at
/// `media:audio_port`; the players stay alive (and the call with them) until dropped.
pub fn sip_invite(
    lab: &WatchLab,
    media: Ipv4Addr,
    audio_port: u16,
) -> Result<(Player, Player), LabError> {
    let wait = Duration::from_secs(10);
    let mut server = Player::spawn(
        &lab.server,
        "sip-server",
        &[
            "--bind".into(),
            SERVER.to_string(),
            "--port".into(),
            "5060".into(),
        ],
    )?;
    server.expect("READY", wait)?;
    let mut client = Player::spawn(
        &lab.client,
        "sip-client",
        &[
            "--connect".into(),
            SERVER.to_string(),
            "--port".into(),
            "5060".into(),
            "--sport".into(),
            "5060".into(),
            "--method".into(),
            "INVITE".into(),
            "--media-addr".into(),
            media.to_string(),
            "--audio-port".into(),
            audio_port.to_string(),
        ],
    )?;
    client.expect("DONE", wait)?;
    server.expect("GOT", wait)?;
    Ok((client, server))
}

/// Whether a UDP datagram from the server to `to:port` reaches a listener there (within
/// `window`): a media packet along the expectation.
pub fn udp_reaches(
    lab: &WatchLab,
    listener: &Netns,
    to: Ipv4Addr,
    port: u16,
    window: Duration,
) -> Result<bool, LabError> {
    let mut sink = Player::spawn(
        listener,
        "udp-sink",
        &[
            "--bind".into(),
            to.to_string(),
            "--port".into(),
            port.to_string(),
        ],
    )?;
    sink.expect("READY", Duration::from_secs(10))?;
    let mut probe = Player::spawn(
        &lab.server,
        "udp-probe",
        &[
            "--from".into(),
            SERVER.to_string(),
            "--to".into(),
            to.to_string(),
            "--port".into(),
            port.to_string(),
            "--count".into(),
            "3".into(),
        ],
    )?;
    probe.expect("FINISHED", Duration::from_secs(10))?;
    Ok(!sink.collect("GOT", window).is_empty())
}
