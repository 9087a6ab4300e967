//! The scenarios that prove synthesised rules load and behave in a [`SiteLab`] router.
//!
//! * [`Rendered`] holds every text rendered for [`crate::sitelab::SITE_TOML`];
//! * [`Rig`] is a fresh [`SiteLab`] whose router has one rendering loaded with one [`Loader`]
//!   and the [`lab_policy`] added after it (or, for control runs, the policy alone);
//! * [`spoof_probes`] is the anti-spoofing matrix (IPv4 and IPv6, every interface, legitimate
//!   and forged sources);
//! * [`FtpCase`]s are FTP control connections whose announced data connection must pass or be
//!   dropped ([`ftp_cases`], [`run_ftp_case`]).

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::expect;
use crate::firewall::{self, LabPolicy, LoadError, Loader, RuleText};
use crate::netns::Family;
use crate::players::LabError;
use crate::probes::{self, DataAttempt, PROBE_PORT, UdpProbe};
use crate::scenarios::FtpCommand;
use crate::sitelab::{Node, SiteLab, addr};
use crate::sysparam::ParamGuard;

/// UDP port without a listener anywhere: datagrams to it draw ICMP port-unreachable errors,
/// which come back RELATED.
pub const CLOSED_PORT: u16 = 9998;

/// FTP control port of the DMZ server.
pub const FTP_PORT: u16 = 21;

/// Every rendering of one site.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rendered {
    /// `iptables-restore` file (IPv4).
    pub iptables: String,
    /// `ip6tables-restore` file.
    pub ip6tables: String,
    /// The script that hooks the restore files' chains into the built-in chains.
    pub iptables_hooks: String,
    /// The script that removes nfh's iptables chains and hooks (both families).
    pub iptables_remove: String,
    /// `iptables`/`ip6tables` command lines.
    pub commands: String,
    /// `nft -f` script.
    pub nft: String,
    /// libnftables JSON.
    pub nft_json: String,
    /// `nft -f` script that removes nfh's table.
    pub nft_remove: String,
    /// `sysctl.d` text.
    pub sysctl: String,
    /// `modprobe.d` text.
    pub modprobe: String,
}

impl Rendered {
    /// Parses, validates, synthesises and renders a site (TOML) for every backend; the error
    /// names the stage that failed.
    pub fn from_site_toml(toml: &str) -> Result<Rendered, String> {
        use netfilter_helpers_core::render::{Backend, render};
        use netfilter_helpers_core::site::Site;
        use netfilter_helpers_core::synth::synthesize;
        let site = Site::from_toml(toml).map_err(|e| format!("site does not parse: {e}"))?;
        let valid = site
            .validate()
            .map_err(|e| format!("site does not validate: {e}"))?;
        let rules = synthesize(&valid);
        let r = |b: Backend| render(&rules, b).map_err(|e| format!("render {b}: {e}"));
        Ok(Rendered {
            iptables: r(Backend::Iptables)?,
            ip6tables: r(Backend::Ip6tables)?,
            iptables_hooks: r(Backend::IptablesHooks)?,
            iptables_remove: r(Backend::IptablesRemove)?,
            commands: r(Backend::Commands)?,
            nft: r(Backend::Nft)?,
            nft_json: r(Backend::NftJson)?,
            nft_remove: r(Backend::NftRemove)?,
            sysctl: r(Backend::Sysctl)?,
            modprobe: r(Backend::Modprobe)?,
        })
    }

    /// The text `loader` takes.
    pub fn text(&self, loader: Loader) -> RuleText<'_> {
        match loader {
            Loader::LegacyRestore | Loader::NftRestore => RuleText::Restore {
                v4: &self.iptables,
                v6: &self.ip6tables,
                hooks: &self.iptables_hooks,
            },
            Loader::LegacyCommands | Loader::NftCommands => RuleText::Commands(&self.commands),
            Loader::Nft => RuleText::Nft(&self.nft),
            Loader::NftJson => RuleText::NftJson(&self.nft_json),
        }
    }

    /// The removal text for what `loader` loaded ([`Loader::unload`] runs it): the
    /// `iptables-remove` script for the iptables flavors, the `nft-remove` script for nft.
    pub fn removal(&self, loader: Loader) -> &str {
        match loader.flavor() {
            firewall::Flavor::Nft => &self.nft_remove,
            firewall::Flavor::Legacy | firewall::Flavor::IptablesNft => &self.iptables_remove,
        }
    }
}

/// The lab's additions around the generated rules: FORWARD policy drop, `ESTABLISHED` and
/// `RELATED` (the generated rules never accept; they only drop what the model forbids), `NEW`
/// FTP control connections to the DMZ server (from anywhere: the generated helper rules decide
/// who gets a helper), `NEW` UDP to [`PROBE_PORT`] and [`CLOSED_PORT`].
pub fn lab_policy() -> LabPolicy {
    LabPolicy {
        tcp: vec![
            (addr::DMZ_V4.into(), FTP_PORT),
            (addr::DMZ_V6.into(), FTP_PORT),
        ],
        udp_ports: vec![PROBE_PORT, CLOSED_PORT],
    }
}

/// A router lab with rules loaded.
#[derive(Debug)]
pub struct Rig {
    /// The lab.
    pub lab: SiteLab,
    /// How the rules were loaded (its flavor also manages [`lab_policy`]).
    pub loader: Loader,
}

/// Why a [`Rig`] could not be built.
#[derive(Debug)]
pub enum RigError {
    /// The topology could not be built.
    Lab(String),
    /// The generated rules did not load.
    Load(LoadError),
    /// The lab's policy did not load (after the generated rules).
    Policy(String),
}

impl fmt::Display for RigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RigError::Lab(e) => write!(f, "cannot build the router lab: {e}"),
            RigError::Load(e) => e.fmt(f),
            RigError::Policy(e) => write!(f, "the lab policy did not load after the rules: {e}"),
        }
    }
}

impl std::error::Error for RigError {}

impl Rig {
    /// A fresh lab; `rules` (if any) loaded into the router with `loader`, then
    /// [`lab_policy`] with the loader's flavor. `None` is the control: the policy alone.
    pub fn new(loader: Loader, rules: Option<&Rendered>) -> Result<Rig, RigError> {
        let lab = SiteLab::new().map_err(|e| RigError::Lab(e.to_string()))?;
        if let Some(rules) = rules {
            loader
                .load(&lab.router, rules.text(loader))
                .map_err(RigError::Load)?;
        }
        lab_policy()
            .apply(&lab.router, loader.flavor())
            .map_err(|e| RigError::Policy(e.to_string()))?;
        Ok(Rig { lab, loader })
    }

    /// The router's rules with counters (for failure messages).
    pub fn dump(&self) -> String {
        firewall::dump(&self.lab.router, self.loader.flavor())
    }

    /// The control run's blanket RELATED accept ([`firewall::allow_all_related`]).
    pub fn allow_all_related(&self) -> Result<(), String> {
        firewall::allow_all_related(&self.lab.router, self.loader.flavor())
            .map_err(|e| e.to_string())
    }
}

/// The anti-spoofing matrix: from each host, its own sources (pass) and forged ones (drop),
/// IPv4 and IPv6, towards a listener behind another router interface.
pub fn spoof_probes() -> Vec<UdpProbe> {
    use crate::sitelab::Node::{Dmz, Inet, Lan};
    let ip = |s: &str| -> IpAddr { s.parse().expect("literal address") };
    let (dmz4, dmz6): (IpAddr, IpAddr) = (addr::DMZ_V4.into(), addr::DMZ_V6.into());
    let (inet4, inet6): (IpAddr, IpAddr) = (addr::INET_V4.into(), addr::INET_V6.into());
    let (lan4, lan6): (IpAddr, IpAddr) = (addr::LAN_V4.into(), addr::LAN_V6.into());
    vec![
        // LAN host (lan0) -> DMZ listener.
        UdpProbe::pass(Lan, lan4, dmz4, "LAN host, own address"),
        UdpProbe::pass(
            Lan,
            addr::ROUTED_V4.into(),
            dmz4,
            "routed network behind the LAN",
        ),
        UdpProbe::drop(Lan, ip("10.81.2.99"), dmz4, "LAN host claims a DMZ address"),
        UdpProbe::drop(
            Lan,
            ip("192.0.2.99"),
            dmz4,
            "LAN host claims an internet address",
        ),
        UdpProbe::drop(
            Lan,
            ip("10.81.4.9"),
            dmz4,
            "LAN host claims an undeclared 10.81/16 address",
        ),
        UdpProbe::pass(Lan, lan6, dmz6, "LAN host, own address"),
        UdpProbe::pass(
            Lan,
            addr::ROUTED_V6.into(),
            dmz6,
            "routed network behind the LAN",
        ),
        UdpProbe::drop(Lan, ip("fd81:2::99"), dmz6, "LAN host claims a DMZ address"),
        UdpProbe::drop(
            Lan,
            ip("2001:db8:99::99"),
            dmz6,
            "LAN host claims an internet address",
        ),
        // DMZ host (dmz0) -> internet listener.
        UdpProbe::pass(Dmz, dmz4, inet4, "DMZ host, own address"),
        UdpProbe::drop(
            Dmz,
            ip("10.81.1.99"),
            inet4,
            "DMZ host claims a LAN address",
        ),
        UdpProbe::drop(
            Dmz,
            ip("10.81.3.99"),
            inet4,
            "DMZ host claims a routed LAN address",
        ),
        UdpProbe::drop(
            Dmz,
            ip("192.0.2.98"),
            inet4,
            "DMZ host claims an internet address",
        ),
        UdpProbe::pass(Dmz, dmz6, inet6, "DMZ host, own address"),
        UdpProbe::drop(
            Dmz,
            ip("fd81:1::99"),
            inet6,
            "DMZ host claims a LAN address",
        ),
        UdpProbe::drop(
            Dmz,
            ip("fd81:3::99"),
            inet6,
            "DMZ host claims a routed LAN address",
        ),
        UdpProbe::drop(
            Dmz,
            ip("2001:db8:99::98"),
            inet6,
            "DMZ host claims an internet address",
        ),
        // Internet (wan0) -> LAN listener.
        UdpProbe::pass(Inet, inet4, lan4, "internet host, own address"),
        UdpProbe::pass(Inet, addr::FAR_V4.into(), lan4, "far internet host"),
        UdpProbe::drop(
            Inet,
            ip("10.81.1.98"),
            lan4,
            "internet claims a LAN address",
        ),
        UdpProbe::drop(
            Inet,
            ip("10.81.2.98"),
            lan4,
            "internet claims a DMZ address",
        ),
        UdpProbe::drop(
            Inet,
            ip("10.81.3.98"),
            lan4,
            "internet claims a routed LAN address",
        ),
        UdpProbe::drop(
            Inet,
            addr::UNDECLARED_V4.into(),
            lan4,
            "internet claims an undeclared net routed via dmz0 (rpfilter)",
        ),
        UdpProbe::pass(Inet, inet6, lan6, "internet host, own address"),
        UdpProbe::pass(Inet, addr::FAR_V6.into(), lan6, "far internet host"),
        UdpProbe::drop(
            Inet,
            ip("fd81:1::98"),
            lan6,
            "internet claims a LAN address",
        ),
        UdpProbe::drop(
            Inet,
            ip("fd81:2::98"),
            lan6,
            "internet claims a DMZ address",
        ),
        UdpProbe::drop(
            Inet,
            ip("fd81:3::98"),
            lan6,
            "internet claims a routed LAN address",
        ),
        UdpProbe::drop(
            Inet,
            addr::UNDECLARED_V6.into(),
            lan6,
            "internet claims an undeclared net routed via dmz0 (rpfilter)",
        ),
    ]
}

/// Who opens an FTP data connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opener {
    /// The FTP client (passive mode: `PASV`/`EPSV`).
    Client,
    /// The FTP server (active mode: `PORT`/`EPRT`).
    Server,
}

/// One FTP exchange and the data connection it announces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FtpCase {
    /// Short name for messages.
    pub name: &'static str,
    /// Where the FTP client runs (the server is the DMZ host).
    pub client: Node,
    /// Family of the control connection.
    pub family: Family,
    /// The command and reply.
    pub cmd: FtpCommand,
    /// The announced data endpoint (a listener runs there).
    pub data: SocketAddr,
    /// Who connects to it.
    pub opener: Opener,
    /// Whether the router's ftp helper must create an expectation for it.
    pub expectation: bool,
    /// Whether the data connection must succeed with the generated rules.
    pub pass: bool,
}

impl FtpCase {
    /// The same case with another data port (for reruns in one lab).
    pub fn with_port(&self, port: u16) -> FtpCase {
        let mut c = self.clone();
        c.data.set_port(port);
        c.cmd = match c.cmd {
            FtpCommand::Port { addr, .. } => FtpCommand::Port { addr, port },
            FtpCommand::Eprt { addr, .. } => FtpCommand::Eprt { addr, port },
            FtpCommand::Pasv { addr, .. } => FtpCommand::Pasv { addr, port },
            FtpCommand::Epsv { .. } => FtpCommand::Epsv { port },
            other => other,
        };
        c
    }
}

/// The FTP cases, run with `nf_conntrack_ftp loose=1` (so that the helper does create
/// expectations towards third parties): the allowed data connections in both modes and both
/// families, data connections to a third party (the far internet host) in both modes, a
/// passive port below the floor, and a control connection from a host that is not a client
/// of the service (no helper, so no expectation).
pub fn ftp_cases() -> Vec<FtpCase> {
    let dmz4: IpAddr = addr::DMZ_V4.into();
    let dmz6: IpAddr = addr::DMZ_V6.into();
    let sa = |a: IpAddr, p: u16| SocketAddr::new(a, p);
    vec![
        FtpCase {
            name: "PASV naming the server",
            client: Node::Lan,
            family: Family::V4,
            cmd: FtpCommand::Pasv {
                addr: addr::DMZ_V4,
                port: 50010,
            },
            data: sa(dmz4, 50010),
            opener: Opener::Client,
            expectation: true,
            pass: true,
        },
        FtpCase {
            name: "EPSV (IPv6)",
            client: Node::Lan,
            family: Family::V6,
            cmd: FtpCommand::Epsv { port: 50011 },
            data: sa(dmz6, 50011),
            opener: Opener::Client,
            expectation: true,
            pass: true,
        },
        FtpCase {
            name: "PORT naming the client",
            client: Node::Lan,
            family: Family::V4,
            cmd: FtpCommand::Port {
                addr: addr::LAN_V4,
                port: 50012,
            },
            data: sa(addr::LAN_V4.into(), 50012),
            opener: Opener::Server,
            expectation: true,
            pass: true,
        },
        FtpCase {
            name: "EPRT naming the client (IPv6)",
            client: Node::Lan,
            family: Family::V6,
            cmd: FtpCommand::Eprt {
                addr: addr::LAN_V6.into(),
                port: 50013,
            },
            data: sa(addr::LAN_V6.into(), 50013),
            opener: Opener::Server,
            expectation: true,
            pass: true,
        },
        FtpCase {
            name: "PASV naming a third party",
            client: Node::Lan,
            family: Family::V4,
            cmd: FtpCommand::Pasv {
                addr: addr::FAR_V4,
                port: 50014,
            },
            data: sa(addr::FAR_V4.into(), 50014),
            opener: Opener::Client,
            expectation: true,
            pass: false,
        },
        FtpCase {
            name: "PORT naming a third party",
            client: Node::Lan,
            family: Family::V4,
            cmd: FtpCommand::Port {
                addr: addr::FAR_V4,
                port: 50015,
            },
            data: sa(addr::FAR_V4.into(), 50015),
            opener: Opener::Server,
            expectation: true,
            pass: false,
        },
        FtpCase {
            name: "EPRT naming a third party (IPv6)",
            client: Node::Lan,
            family: Family::V6,
            cmd: FtpCommand::Eprt {
                addr: addr::FAR_V6.into(),
                port: 50016,
            },
            data: sa(addr::FAR_V6.into(), 50016),
            opener: Opener::Server,
            expectation: true,
            pass: false,
        },
        FtpCase {
            name: "PASV naming the server, port below min_port",
            client: Node::Lan,
            family: Family::V4,
            cmd: FtpCommand::Pasv {
                addr: addr::DMZ_V4,
                port: 873,
            },
            data: sa(dmz4, 873),
            opener: Opener::Client,
            expectation: true,
            pass: false,
        },
        FtpCase {
            name: "PASV from a host that is not a client of the service",
            client: Node::Inet,
            family: Family::V4,
            cmd: FtpCommand::Pasv {
                addr: addr::DMZ_V4,
                port: 50017,
            },
            data: sa(dmz4, 50017),
            opener: Opener::Client,
            expectation: false,
            pass: false,
        },
    ]
}

/// What happened in one [`FtpCase`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FtpOutcome {
    /// The case.
    pub case: FtpCase,
    /// The router's `conntrack -L expect` lines after the control exchange.
    pub expectations: Vec<String>,
    /// Whether one of them is for the announced data endpoint.
    pub expected: bool,
    /// The data connection attempt.
    pub data: DataAttempt,
}

impl FtpOutcome {
    /// Whether the outcome is what `case` demands (`pass` overrides the case's `pass`, for
    /// control runs).
    pub fn matches(&self, pass: bool) -> bool {
        self.expected == self.case.expectation && self.data.succeeded() == pass
    }
}

impl fmt::Display for FtpOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.case;
        writeln!(
            f,
            "{}: {} from {} ({:?}), reply {:?}; data {} opened by the {:?}",
            c.name,
            c.cmd.command_line(),
            c.client.as_str(),
            c.family,
            c.cmd.reply_line(),
            c.data,
            c.opener
        )?;
        writeln!(
            f,
            "  expectation for {}: {} (wanted: {})",
            c.data,
            if self.expected { "present" } else { "absent" },
            if c.expectation { "present" } else { "absent" }
        )?;
        for l in &self.expectations {
            writeln!(f, "    {l}")?;
        }
        writeln!(f, "  data connection: {}", self.data)
    }
}

/// Whether a `conntrack -L expect` line is for `data` (its `dst=` and `dport=` fields).
pub fn expectation_for(line: &str, data: SocketAddr) -> bool {
    let dst = format!("dst={}", data.ip());
    let dport = format!("dport={}", data.port());
    let words: Vec<&str> = line.split_whitespace().collect();
    words.contains(&dst.as_str()) && words.contains(&dport.as_str())
}

/// Runs one case in `rig`: the control connection (kept open), the router's expectation
/// table, then the data connection (listener at the announced endpoint, connection from the
/// opener).
pub fn run_ftp_case(rig: &Rig, case: &FtpCase) -> Result<FtpOutcome, LabError> {
    let lab = &rig.lab;
    let server = SocketAddr::new(
        match case.family {
            Family::V4 => addr::DMZ_V4.into(),
            Family::V6 => addr::DMZ_V6.into(),
        },
        FTP_PORT,
    );
    let exchange = probes::ftp_control(
        lab.ns(case.client),
        &lab.dmz,
        server,
        &case.cmd,
        lab.player_timeout,
    )?;
    // The helper works on the server's reply as it crosses the router; give it a moment.
    let want = usize::from(case.expectation);
    let _ = expect::wait_lines(&lab.router, expect::ExpectSource::Proc, want);
    let expectations = expect::conntrack_lines(&lab.router)?;
    let expected = expectations.iter().any(|l| expectation_for(l, case.data));
    let listener_node = SiteLab::owner(case.data.ip())
        .ok_or_else(|| LabError::Player(format!("{} belongs to no lab node", case.data.ip())))?;
    let opener = match case.opener {
        Opener::Client => case.client,
        Opener::Server => Node::Dmz,
    };
    let data = probes::data_connection(
        lab.ns(listener_node),
        case.data,
        lab.ns(opener),
        lab.player_timeout,
    )?;
    drop(exchange);
    Ok(FtpOutcome {
        case: case.clone(),
        expectations,
        expected,
        data,
    })
}

/// How long an ICMP error may take to come back in [`probes::udp_expect_reply`] checks.
pub const ICMP_WAIT: Duration = Duration::from_secs(2);

/// The `(module, parameter, value)` assignments of `modprobe.d` text (`options MODULE P=V …`
/// lines; comments, blank lines and other directives are skipped).
pub fn modprobe_options(text: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        if words.next() != Some("options") {
            continue;
        }
        let Some(module) = words.next() else {
            continue;
        };
        for assignment in words {
            if let Some((param, value)) = assignment.split_once('=') {
                out.push((module.to_owned(), param.to_owned(), value.to_owned()));
            }
        }
    }
    out
}

/// Applies `modprobe.d` text to the running kernel through `/sys/module/*/parameters/*`, each
/// parameter restored when its guard is dropped. Fails (naming the line's assignment) when a
/// parameter cannot be set at run time or the kernel refuses the value.
pub fn apply_modprobe(text: &str) -> Result<Vec<ParamGuard>, String> {
    modprobe_options(text)
        .into_iter()
        .map(|(module, param, value)| {
            ParamGuard::set(&module, &param, &value)
                .map_err(|e| format!("options {module} {param}={value}: {e}"))
        })
        .collect()
}
