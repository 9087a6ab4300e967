//! The anti-spoofing lab (issue 10, item 9): a [`SiteLab`] router with three more interfaces,
//! site descriptions that use every anti-spoofing feature, probes with legitimate and forged
//! sources from every kind of interface, and the evidence around them (rule counters, the
//! kernel log).
//!
//! # Topology built by [`SpoofLab::new`]
//!
//! The [`SiteLab`] (`wan0`, `lan0`, `dmz0` and their hosts), plus:
//!
//! ```text
//!   router ns                                   host ns
//!   ppp0 10.82.0.1/24 fd82::1/64  ──── ppp     eth0 10.82.0.2/24 fd82::2/64
//!        (site: name = "ppp", match = "prefix"; routed 10.82.1.0/24, fd82:1::/64, and
//!         10.87.0.0/24, fd87::/64 routed only in table 100, selected by `fwmark 1`)
//!   lan1 10.85.0.1/24 fd85::1/64  ──── branch  eth0 10.85.0.2/24 fd85::2/64
//!        (site: rp_filter "loose", "strict" or "off" by variant; routed 10.81.5.0/24,
//!         fd81:5::/64 nested in lan0's
//!         10.81.0.0/16, fd81::/16; and 10.86.0.0/23, fd86::/63 of which the router routes
//!         10.86.0.0/24, fd86::/64 back via ppp0 (asymmetric) and blackholes 10.86.1.0/24,
//!         fd86:0:0:1::/64)
//!   ext0 10.83.0.1/24 fd83::1/64  ──── ext     eth0 10.83.0.2/24 fd83::2/64
//!        (not in the site: an undeclared interface)
//! ```
//!
//! and the router routes lan0's summary 10.81.0.0/16, fd81::/16 via the LAN host, and has a
//! service address inside lan0's networks on its `lo` (10.81.1.53, fd81:1::53, the site's
//! `local_addresses`). The kernel's rp_filter is off on every router interface and on the
//! sinks, so every drop that is not a kernel martian-source drop is the rules'.
//!
//! # Probes
//!
//! Every probe is a UDP datagram written as a whole Ethernet frame (AF_PACKET) by a small
//! embedded Python sender ([`SENDER_PY`]) in the sending host, addressed to the router's MAC:
//! no address has to be configured on the host, so sources the host's own stack would refuse
//! (`::`, `0.0.0.0`, multicast, the router's own addresses) are probes like any other. The
//! destination is the DMZ host (the LAN host for probes sent from the DMZ; the router itself for
//! `::`, which `ip6_forward` never forwards), where the lab's `udp-sink` player reports each
//! datagram with its source and the probe's tag; a probe counts as received only if it arrived
//! with its source intact. Senders of all hosts run at once, [`COPIES`] frames per probe.
//!
//! Each probe carries, per site [`Variant`], whether it must pass, be dropped by the rules
//! (and by which kinds of rule, the comments nfh puts on its rules: `rpfilter`, `antispoof`,
//! `bogon`, ...), or is dropped by the kernel itself whatever the rules say ([`Expect`]).
//!
//! # Marks set before the anti-spoofing chain
//!
//! `rp_filter_mark = true` looks the reverse path up with the packet's mark, so the mark must be
//! set before nfh's anti-spoofing chain runs (raw priority, -300). [`add_mark_rules_at`] shows
//! what works ([`MarkAt::BeforeAntispoof`]): in nft, a chain of the site's own table at priority
//! -350 (`meta mark set`); with iptables (legacy or nft), a `MARK` rule inserted at the top of
//! the raw table's PREROUTING chain, before the jump the hook script put there. Where policy
//! routing marks usually go ([`MarkAt::Mangle`]: the mangle table, nft priority mangle, -150)
//! runs after the anti-spoofing chain: too late, the marked packets are dropped.
//!
//! # Evidence
//!
//! [`read_counters`] sums nfh's anti-spoofing counters by verdict and rule kind
//! (`nft list chain`, `iptables -L -v -n -x`), and [`counter_problems`] checks that every probe
//! the rules stop is counted by a rule of its kind. Log-only mode is checked in the kernel log:
//! packet logging from a network namespace needs `net.netfilter.nf_log_all_netns=1` on the host
//! ([`HostSysctl`] sets and restores it), and [`mark_kernel_log`] / [`kernel_log_after`] /
//! [`unlogged`] find the `nfh-<kind> ` lines of each probe. In log-only mode nft's rules have
//! no counter at all (the would-be drop is a `return` without `counter`, the `log` rule has
//! none), so the kernel log is the only evidence there; iptables counts both.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::net::IpAddr;
use std::process::{Child, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::firewall::{self, Flavor};
use crate::netns::{CommandError, Netns, veth};
use crate::players::{LabError, PYTHON, Player};
use crate::sitelab::{Node, SiteLab, addr};

/// UDP destination port of the probes.
pub const PROBE_PORT: u16 = 9997;
/// UDP source port the site's mark rule marks (`fwmark 1`) on `ppp0`.
pub const MARK_SPORT: u16 = 4242;
/// The mark, and the routing table selected by it.
pub const MARK: u32 = 1;
/// Routing table of the policy-routed networks.
pub const MARK_TABLE: &str = "100";
/// Datagrams sent per probe.
pub const COPIES: u32 = 3;
/// Pause between two frames of a sender: nfh's log rules allow 5 packets at once, then
/// `log_rate` per minute (60000 in the lab's sites, one a millisecond), so frames 2 ms apart
/// are each logged.
pub const PACE: Duration = Duration::from_millis(2);
/// How long [`run_probes`] waits for the probes that must arrive.
pub const ARRIVAL_TIMEOUT: Duration = Duration::from_secs(3);
/// How long it listens after that, for those that must not.
pub const SETTLE: Duration = Duration::from_millis(600);
/// How long [`dhcpv6_probes`] listens after the last frame is sent (one link).
pub const LOCAL_WINDOW: Duration = Duration::from_millis(400);

/// The addresses [`SpoofLab`] adds to the [`SiteLab`].
pub mod net {
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// Router, `ppp0`.
    pub const ROUTER_PPP_V4: Ipv4Addr = Ipv4Addr::new(10, 82, 0, 1);
    /// Router, `ppp0` (IPv6).
    pub const ROUTER_PPP_V6: Ipv6Addr = Ipv6Addr::new(0xfd82, 0, 0, 0, 0, 0, 0, 1);
    /// The host behind `ppp0`.
    pub const PPP_V4: Ipv4Addr = Ipv4Addr::new(10, 82, 0, 2);
    /// The host behind `ppp0` (IPv6).
    pub const PPP_V6: Ipv6Addr = Ipv6Addr::new(0xfd82, 0, 0, 0, 0, 0, 0, 2);
    /// Router, `lan1`.
    pub const ROUTER_BRANCH_V4: Ipv4Addr = Ipv4Addr::new(10, 85, 0, 1);
    /// Router, `lan1` (IPv6).
    pub const ROUTER_BRANCH_V6: Ipv6Addr = Ipv6Addr::new(0xfd85, 0, 0, 0, 0, 0, 0, 1);
    /// The host behind `lan1` (a branch office).
    pub const BRANCH_V4: Ipv4Addr = Ipv4Addr::new(10, 85, 0, 2);
    /// The host behind `lan1` (IPv6).
    pub const BRANCH_V6: Ipv6Addr = Ipv6Addr::new(0xfd85, 0, 0, 0, 0, 0, 0, 2);
    /// Router, `ext0` (undeclared).
    pub const ROUTER_EXT_V4: Ipv4Addr = Ipv4Addr::new(10, 83, 0, 1);
    /// Router, `ext0` (IPv6).
    pub const ROUTER_EXT_V6: Ipv6Addr = Ipv6Addr::new(0xfd83, 0, 0, 0, 0, 0, 0, 1);
    /// The host behind `ext0`.
    pub const EXT_V4: Ipv4Addr = Ipv4Addr::new(10, 83, 0, 2);
    /// The host behind `ext0` (IPv6).
    pub const EXT_V6: Ipv6Addr = Ipv6Addr::new(0xfd83, 0, 0, 0, 0, 0, 0, 2);
}

/// The hosts that send probes, each behind one router interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Host {
    /// The LAN host (`lan0`).
    Lan,
    /// The DMZ host (`dmz0`).
    Dmz,
    /// The internet (`wan0`, the default route).
    Inet,
    /// The host behind `ppp0` (a wildcard interface of the site).
    Ppp,
    /// The branch host behind `lan1` (loose reverse-path mode, nested networks).
    Branch,
    /// The host behind `ext0` (not in the site).
    Ext,
}

impl Host {
    /// Every host.
    pub const ALL: [Host; 6] = [
        Host::Lan,
        Host::Dmz,
        Host::Inet,
        Host::Ppp,
        Host::Branch,
        Host::Ext,
    ];

    /// Lower-case name for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Host::Lan => "lan",
            Host::Dmz => "dmz",
            Host::Inet => "inet",
            Host::Ppp => "ppp",
            Host::Branch => "branch",
            Host::Ext => "ext",
        }
    }

    /// The router interface the host is attached to.
    pub fn router_iface(self) -> &'static str {
        match self {
            Host::Lan => "lan0",
            Host::Dmz => "dmz0",
            Host::Inet => "wan0",
            Host::Ppp => "ppp0",
            Host::Branch => "lan1",
            Host::Ext => "ext0",
        }
    }
}

/// The router of [`SiteLab`] with `ppp0`, `lan1` and `ext0` added (see the module docs).
/// Namespaces are deleted on drop.
#[derive(Debug)]
pub struct SpoofLab {
    /// The router, its `wan0`, `lan0`, `dmz0` and their hosts.
    pub site: SiteLab,
    /// The host behind `ppp0`.
    pub ppp: Netns,
    /// The host behind `lan1`.
    pub branch: Netns,
    /// The host behind `ext0`.
    pub ext: Netns,
    /// The router's MAC address on each host's link.
    macs: BTreeMap<Host, String>,
}

impl SpoofLab {
    /// Builds the topology of the module docs.
    pub fn new() -> Result<SpoofLab, CommandError> {
        let site = SiteLab::new()?;
        let ppp = Netns::new("ppp")?;
        let branch = Netns::new("branch")?;
        let ext = Netns::new("ext")?;
        let router = &site.router;
        for ns in [&ppp, &branch, &ext] {
            ns.sysctl("net.ipv6.conf.all.accept_dad", "0")?;
            ns.sysctl("net.ipv6.conf.default.accept_dad", "0")?;
        }
        veth(router, "ppp0", &ppp, "eth0")?;
        veth(router, "lan1", &branch, "eth0")?;
        veth(router, "ext0", &ext, "eth0")?;
        for (dev, v4, v6) in [
            ("ppp0", "10.82.0.1/24", "fd82::1/64"),
            ("lan1", "10.85.0.1/24", "fd85::1/64"),
            ("ext0", "10.83.0.1/24", "fd83::1/64"),
        ] {
            router.add_addr(dev, v4)?;
            router.add_addr(dev, v6)?;
            router.add_addr(dev, "fe80::1/64")?;
            router.link_up(dev)?;
            router.sysctl(&format!("net.ipv4.conf.{dev}.rp_filter"), "0")?;
        }
        for (ns, v4, v6, gw4, gw6) in [
            (
                &ppp,
                "10.82.0.2/24",
                "fd82::2/64",
                net::ROUTER_PPP_V4,
                net::ROUTER_PPP_V6,
            ),
            (
                &branch,
                "10.85.0.2/24",
                "fd85::2/64",
                net::ROUTER_BRANCH_V4,
                net::ROUTER_BRANCH_V6,
            ),
            (
                &ext,
                "10.83.0.2/24",
                "fd83::2/64",
                net::ROUTER_EXT_V4,
                net::ROUTER_EXT_V6,
            ),
        ] {
            ns.add_addr("eth0", v4)?;
            ns.add_addr("eth0", v6)?;
            ns.add_addr("eth0", "fe80::2/64")?;
            ns.link_up("eth0")?;
            ns.default_routes(gw4, gw6)?;
        }
        for route in [
            // lan0's summary (nested: 10.81.1/24 and 10.81.2/24 are connected, 10.81.5/24 is
            // behind lan1).
            "10.81.0.0/16 via 10.81.1.2",
            "fd81::/16 via fd81:1::2",
            "10.82.1.0/24 via 10.82.0.2",
            "fd82:1::/64 via fd82::2",
            "10.81.5.0/24 via 10.85.0.2",
            "fd81:5::/64 via fd85::2",
            // Asymmetric: declared on lan1, routed back via ppp0.
            "10.86.0.0/24 via 10.82.0.2",
            "fd86::/64 via fd82::2",
            // Declared on lan1, not routable at all.
            "blackhole 10.86.1.0/24",
            "blackhole fd86:0:0:1::/64",
        ] {
            let mut args = vec!["route", "add"];
            args.extend(route.split(' '));
            if route.contains(':') {
                args.insert(0, "-6");
            }
            router.ip(&args)?;
        }
        // A service address of the firewall (the site's `local_addresses`), inside lan0's
        // networks.
        router.ip(&["addr", "add", "10.81.1.53/32", "dev", "lo"])?;
        router.add_addr("lo", "fd81:1::53/128")?;
        // Policy routing: 10.87.0.0/24 and fd87::/64 only in table 100, for marked packets.
        router.ip(&[
            "route",
            "add",
            "10.87.0.0/24",
            "via",
            "10.82.0.2",
            "dev",
            "ppp0",
            "table",
            MARK_TABLE,
        ])?;
        router.ip(&[
            "-6",
            "route",
            "add",
            "fd87::/64",
            "via",
            "fd82::2",
            "dev",
            "ppp0",
            "table",
            MARK_TABLE,
        ])?;
        let mark = MARK.to_string();
        router.ip(&["rule", "add", "fwmark", &mark, "lookup", MARK_TABLE])?;
        router.ip(&["-6", "rule", "add", "fwmark", &mark, "lookup", MARK_TABLE])?;
        // The sinks take every source (their kernel rp_filter would otherwise judge too).
        for ns in [&site.lan, &site.dmz, &site.inet] {
            for key in ["all", "default", "eth0"] {
                ns.sysctl(&format!("net.ipv4.conf.{key}.rp_filter"), "0")?;
            }
        }
        let mut macs = BTreeMap::new();
        for host in Host::ALL {
            let dev = host.router_iface();
            let out = router.ip(&["-o", "link", "show", "dev", dev])?;
            let mac = out
                .split_whitespace()
                .skip_while(|w| *w != "link/ether")
                .nth(1)
                .ok_or_else(|| CommandError {
                    command: format!("ip -n {} -o link show dev {dev}", router.name()),
                    status: Some(0),
                    stdout: out.clone(),
                    stderr: "no link/ether address".to_owned(),
                })?
                .to_owned();
            macs.insert(host, mac);
        }
        Ok(SpoofLab {
            site,
            ppp,
            branch,
            ext,
            macs,
        })
    }

    /// The router namespace.
    pub fn router(&self) -> &Netns {
        &self.site.router
    }

    /// The namespace of `host`.
    pub fn ns(&self, host: Host) -> &Netns {
        match host {
            Host::Lan => &self.site.lan,
            Host::Dmz => &self.site.dmz,
            Host::Inet => &self.site.inet,
            Host::Ppp => &self.ppp,
            Host::Branch => &self.branch,
            Host::Ext => &self.ext,
        }
    }

    /// The router's MAC address on `host`'s link.
    pub fn router_mac(&self, host: Host) -> &str {
        &self.macs[&host]
    }

    /// The router's addresses, routes and policy rules (for failure messages).
    pub fn routing_dump(&self) -> String {
        let mut out = String::new();
        for args in [
            &["-br", "addr"][..],
            &["route", "show", "table", "all"][..],
            &["-6", "route", "show", "table", "all"][..],
            &["rule"][..],
            &["-6", "rule"][..],
        ] {
            out.push_str(&format!("--- ip {} ---\n", args.join(" ")));
            match self.router().ip(args) {
                Ok(s) => out.push_str(&s),
                Err(e) => out.push_str(&format!("{e}\n")),
            }
        }
        out
    }
}

// ------------------------------------------------------------------------------------------
// Sites

/// A site description of the lab, differing in the anti-spoofing choices under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Variant {
    /// `unknown_interfaces = "drop"`, `lan1` loose, `ppp` strict and mark-aware, bogons,
    /// logging.
    Enforce,
    /// `unknown_interfaces = "rpfilter"`, and `lan1` strict, `ppp` without marks.
    UnknownRpfilter,
    /// `unknown_interfaces = "allow"`, and `lan1` with `rp_filter = "off"` (otherwise
    /// [`Variant::Enforce`]).
    UnknownAllow,
    /// `rpfilter = false` (otherwise [`Variant::Enforce`]).
    NoRpfilter,
    /// `mode = "log-only"` (otherwise [`Variant::Enforce`]).
    LogOnly,
}

impl Variant {
    /// Every variant, in the order the lab loads them.
    pub const ALL: [Variant; 5] = [
        Variant::Enforce,
        Variant::UnknownRpfilter,
        Variant::UnknownAllow,
        Variant::NoRpfilter,
        Variant::LogOnly,
    ];

    /// Name for messages.
    pub fn label(self) -> &'static str {
        match self {
            Variant::Enforce => "enforce (unknown=drop, lan1 loose, ppp strict+mark)",
            Variant::UnknownRpfilter => "unknown=rpfilter, lan1 strict, ppp without mark",
            Variant::UnknownAllow => "unknown=allow, lan1 rp_filter off",
            Variant::NoRpfilter => "rpfilter=false",
            Variant::LogOnly => "log-only",
        }
    }

    /// What the site says about undeclared interfaces.
    pub fn unknown(self) -> &'static str {
        match self {
            Variant::UnknownRpfilter => "rpfilter",
            Variant::UnknownAllow => "allow",
            _ => "drop",
        }
    }

    /// Whether the rules have reverse-path checks.
    pub fn rpfilter(self) -> bool {
        self != Variant::NoRpfilter
    }

    /// `lan1`'s `rp_filter`: `loose`, `strict` or `off`.
    pub fn lan1_mode(self) -> &'static str {
        match self {
            Variant::UnknownRpfilter => "strict",
            Variant::UnknownAllow => "off",
            _ => "loose",
        }
    }

    /// Whether `ppp`'s reverse-path check uses the mark.
    pub fn ppp_mark(self) -> bool {
        self != Variant::UnknownRpfilter
    }

    /// Whether the rules only log.
    pub fn log_only(self) -> bool {
        self == Variant::LogOnly
    }

    /// The site (TOML).
    pub fn site_toml(self) -> String {
        format!(
            r#"kernel = "6.18"
table = "nfh"
rpfilter = {rpfilter}
unknown_interfaces = "{unknown}"
bogons = true
bogon_exceptions = ["192.0.2.0/24", "2001:db8:99::/48"]
log = true
log_rate = 60000
mode = "{mode}"
local_addresses = ["10.81.1.53", "fd81:1::53"]

[[interfaces]]
name = "wan0"
default_route = true
networks = ["198.51.100.1/24", "2001:db8:81::1/64"]

[[interfaces]]
name = "lan0"
networks = ["10.81.1.1/24", "fd81:1::1/64"]
routed = ["10.81.0.0/16", "fd81::/16"]
dhcp = true

[[interfaces]]
name = "dmz0"
networks = ["10.81.2.1/24", "fd81:2::1/64"]

[[interfaces]]
name = "lan1"
networks = ["10.85.0.1/24", "fd85::1/64"]
routed = ["10.81.5.0/24", "fd81:5::/64", "10.86.0.0/23", "fd86::/63"]
rp_filter = "{lan1}"

[[interfaces]]
name = "ppp"
match = "prefix"
networks = ["10.82.0.1/24", "fd82::1/64"]
routed = ["10.82.1.0/24", "fd82:1::/64", "10.87.0.0/24", "fd87::/64"]
rp_filter = "strict"
rp_filter_mark = {mark}
"#,
            rpfilter = self.rpfilter(),
            unknown = self.unknown(),
            mode = if self.log_only() {
                "log-only"
            } else {
                "enforce"
            },
            lan1 = self.lan1_mode(),
            mark = self.ppp_mark(),
        )
    }
}

// ------------------------------------------------------------------------------------------
// Probes

/// What must happen to a probe under one site variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// It arrives.
    Pass,
    /// The rules drop it, with a rule whose comment is one of these kinds (which one may
    /// depend on the backend: `rpfilter` and `fib` differ on `::` and `0.0.0.0`). In log-only
    /// mode it arrives and is logged with one of these kinds.
    Drop(&'static [&'static str]),
    /// The kernel drops it whatever the rules say (martian sources); when the list is not
    /// empty, the rules see it first and count it with one of these kinds.
    Kernel(&'static [&'static str]),
}

const RP: &[&str] = &["rpfilter"];
const RP_OR_ANTISPOOF: &[&str] = &["rpfilter", "antispoof"];
const ANTISPOOF: &[&str] = &["antispoof"];
const BOGON: &[&str] = &["bogon"];
const RP_OR_BOGON: &[&str] = &["rpfilter", "bogon"];
const OWN: &[&str] = &["own-address"];
const UNSPECIFIED: &[&str] = &["unspecified-source", "rpfilter"];
const UNKNOWN: &[&str] = &["unknown-interface"];
const MULTICAST: &[&str] = &["multicast-source"];

/// One probe: `from` sends [`COPIES`] UDP datagrams from `src`:`sport` to `dst`:[`PROBE_PORT`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// Index in its list (the datagrams' tag is `p<id>`).
    pub id: usize,
    /// Sending host.
    pub from: Host,
    /// Source address.
    pub src: IpAddr,
    /// Destination: the DMZ host, or the LAN host for probes from the DMZ.
    pub dst: IpAddr,
    /// Source port ([`MARK_SPORT`] makes the site's rule mark it on `ppp0`).
    pub sport: u16,
    /// What it shows.
    pub what: &'static str,
    /// What must happen.
    pub expect: Expect,
}

impl Probe {
    /// The datagrams' first payload word.
    pub fn tag(&self) -> String {
        format!("p{}", self.id)
    }

    /// Whether it must arrive (in log-only mode what the rules would drop arrives too).
    pub fn should_arrive(&self, log_only: bool) -> bool {
        match self.expect {
            Expect::Pass => true,
            Expect::Drop(_) => log_only,
            Expect::Kernel(_) => false,
        }
    }

    /// The kinds of rule that count it (stop it, or log it), if the rules see it.
    pub fn kinds(&self) -> &'static [&'static str] {
        match self.expect {
            Expect::Pass => &[],
            Expect::Drop(k) | Expect::Kernel(k) => k,
        }
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("literal address")
}

struct ProbeList(Vec<Probe>);

impl ProbeList {
    /// A probe to the usual destination: the DMZ host (the LAN host for probes from the DMZ).
    fn add(&mut self, from: Host, src: &str, sport: u16, what: &'static str, expect: Expect) {
        let to: IpAddr = match (from, src.contains(':')) {
            (Host::Dmz, false) => addr::LAN_V4.into(),
            (Host::Dmz, true) => addr::LAN_V6.into(),
            (_, false) => addr::DMZ_V4.into(),
            (_, true) => addr::DMZ_V6.into(),
        };
        self.add_to(from, src, &to.to_string(), sport, what, expect);
    }

    fn add_to(
        &mut self,
        from: Host,
        src: &str,
        dst: &str,
        sport: u16,
        what: &'static str,
        expect: Expect,
    ) {
        let id = self.0.len();
        self.0.push(Probe {
            id,
            from,
            src: ip(src),
            dst: ip(dst),
            sport,
            what,
            expect,
        });
    }
}

/// The probes and their expectations under `variant` (log-only mode is judged as
/// [`Variant::Enforce`]: what it would drop is [`Expect::Drop`]).
pub fn probes(variant: Variant) -> Vec<Probe> {
    let v = if variant == Variant::LogOnly {
        Variant::Enforce
    } else {
        variant
    };
    let rp = v.rpfilter();
    let lan1_checks = rp && v.lan1_mode() != "off";
    let lan1_strict = rp && v.lan1_mode() == "strict";
    let mut l = ProbeList(Vec::new());
    let sp = 40000;
    let pass = Expect::Pass;
    let drop = Expect::Drop;
    // Dropped by the reverse-path rule, or without it by the interface's network rules.
    let spoof = drop(if rp { RP } else { ANTISPOOF });
    let unknown_verdict = |legit_source: bool| match v.unknown() {
        "allow" => Expect::Pass,
        "rpfilter" if legit_source => Expect::Pass,
        _ => Expect::Drop(UNKNOWN),
    };

    for v6 in [false, true] {
        let a = |four: &'static str, six: &'static str| if v6 { six } else { four };
        // --- the wildcard interface ppp0 (site: "ppp", match = "prefix")
        l.add(
            Host::Ppp,
            a("10.82.0.2", "fd82::2"),
            sp,
            "ppp host, own address (wildcard interface)",
            pass,
        );
        l.add(
            Host::Ppp,
            a("10.82.1.1", "fd82:1::1"),
            sp,
            "ppp routed network (wildcard interface)",
            pass,
        );
        l.add(
            Host::Ppp,
            a("10.81.1.99", "fd81:1::99"),
            sp,
            "ppp host claims a LAN address",
            spoof,
        );
        l.add(
            Host::Ppp,
            a("192.0.2.77", "2001:db8:99::77"),
            sp,
            "ppp host claims an internet address",
            spoof,
        );
        // --- policy routing by mark (ppp: strict, rp_filter_mark)
        l.add(
            Host::Ppp,
            a("10.87.0.1", "fd87::1"),
            MARK_SPORT,
            "ppp, network routed only by fwmark, packet marked",
            if !rp || v.ppp_mark() { pass } else { drop(RP) },
        );
        l.add(
            Host::Ppp,
            a("10.87.0.1", "fd87::1"),
            sp + 1,
            "ppp, network routed only by fwmark, packet not marked",
            if rp { drop(RP) } else { pass },
        );
        // --- loose mode and nested networks (lan1)
        l.add(
            Host::Branch,
            a("10.85.0.2", "fd85::2"),
            sp,
            "branch host, own address",
            pass,
        );
        l.add(
            Host::Branch,
            a("10.81.5.1", "fd81:5::1"),
            sp,
            "branch network nested in lan0's summary, on lan1",
            pass,
        );
        l.add(
            Host::Branch,
            a("10.86.0.1", "fd86::1"),
            sp,
            "branch network routed back via ppp0 (asymmetric)",
            if lan1_strict { drop(RP) } else { pass },
        );
        l.add(
            Host::Branch,
            a("10.86.1.1", "fd86:0:0:1::1"),
            sp,
            "branch network the router blackholes (loose still checks)",
            if lan1_checks { drop(RP) } else { pass },
        );
        l.add(
            Host::Branch,
            a("8.8.4.4", "2a01:4f8::4"),
            sp,
            "branch host claims an internet address",
            drop(if lan1_strict { RP } else { ANTISPOOF }),
        );
        l.add(
            Host::Branch,
            a("10.81.4.9", "fd81:4::9"),
            sp,
            "branch host claims lan0's summary",
            drop(if lan1_strict { RP } else { ANTISPOOF }),
        );
        // --- nested networks on lan0 (10.81.0.0/16 with 10.81.5.0/24 behind lan1)
        l.add(
            Host::Lan,
            a("10.81.1.2", "fd81:1::2"),
            sp,
            "LAN host, own address",
            pass,
        );
        l.add(
            Host::Lan,
            a("10.81.4.9", "fd81:4::9"),
            sp,
            "lan0's summary network",
            pass,
        );
        l.add(
            Host::Lan,
            a("10.81.3.1", "fd81:3::1"),
            sp,
            "lan0's summary network (routed host)",
            pass,
        );
        l.add(
            Host::Lan,
            a("10.81.5.7", "fd81:5::7"),
            sp,
            "LAN host claims the nested branch network (most specific wins)",
            spoof,
        );
        l.add(
            Host::Lan,
            a("10.81.2.99", "fd81:2::99"),
            sp,
            "LAN host claims a DMZ address",
            spoof,
        );
        l.add(
            Host::Dmz,
            a("10.81.2.10", "fd81:2::10"),
            sp,
            "DMZ host, own address",
            pass,
        );
        l.add(
            Host::Dmz,
            a("10.81.4.9", "fd81:4::9"),
            sp,
            "DMZ host claims lan0's summary",
            spoof,
        );
        l.add(
            Host::Dmz,
            a("10.81.5.7", "fd81:5::7"),
            sp,
            "DMZ host claims the nested branch network",
            spoof,
        );
        // --- the uplink: legitimate sources, internal ones, bogons
        l.add(
            Host::Inet,
            a("198.51.100.2", "2001:db8:81::2"),
            sp,
            "internet host, own address",
            pass,
        );
        l.add(
            Host::Inet,
            a("192.0.2.10", "2001:db8:99::10"),
            sp,
            "far host (bogon exception)",
            pass,
        );
        l.add(
            Host::Inet,
            a("8.8.4.4", "2a01:4f8::4"),
            sp,
            "public source",
            pass,
        );
        l.add(
            Host::Inet,
            a("10.81.1.98", "fd81:1::98"),
            sp,
            "internet claims a LAN address",
            spoof,
        );
        l.add(
            Host::Inet,
            a("10.81.5.8", "fd81:5::8"),
            sp,
            "internet claims the nested branch network",
            spoof,
        );
        l.add(
            Host::Inet,
            a("10.82.1.9", "fd82:1::9"),
            sp,
            "internet claims the ppp network",
            spoof,
        );
        l.add(
            Host::Inet,
            a("10.87.0.9", "fd87::9"),
            sp,
            "internet claims the fwmark-routed ppp network (rp passes via the default route)",
            drop(ANTISPOOF),
        );
        l.add(
            Host::Inet,
            a("10.83.0.9", "fd83::9"),
            sp,
            "internet claims the undeclared ext0 network",
            drop(if rp { RP } else { BOGON }),
        );
        if v6 {
            for (src, what) in [
                ("fc00::1", "bogon: foreign ULA fc00::/8"),
                ("fd00::1", "bogon: foreign ULA fd00::/8"),
                ("fdff::1", "bogon: foreign ULA fdff::"),
                ("fec0::1", "bogon: site-local fec0::/10"),
                ("64:ff9b:1::1", "bogon: local-use NAT64 64:ff9b:1::/48"),
            ] {
                l.add(Host::Inet, src, sp, what, drop(BOGON));
            }
        } else {
            for (src, what) in [
                ("192.168.1.1", "bogon: 192.168.0.0/16"),
                ("172.16.1.1", "bogon: 172.16.0.0/12"),
                ("100.64.1.1", "bogon: CGNAT 100.64.0.0/10"),
                ("169.254.1.1", "bogon: link-local 169.254.0.0/16"),
                ("240.0.0.1", "bogon: 240.0.0.0/4"),
                ("10.200.0.1", "bogon: 10/8 outside the site's networks"),
                (
                    "203.0.113.5",
                    "bogon: documentation range without exception",
                ),
            ] {
                l.add(Host::Inet, src, sp, what, drop(BOGON));
            }
            l.add(
                Host::Inet,
                "127.0.0.9",
                sp,
                "bogon: loopback (the kernel drops it too; rpfilter sees a local route)",
                Expect::Kernel(if rp { RP_OR_BOGON } else { BOGON }),
            );
        }
        // --- the firewall's own addresses, the unspecified address, multicast sources
        l.add(
            Host::Lan,
            a("10.81.1.1", "fd81:1::1"),
            sp,
            "LAN host claims the router's lan0 address",
            if v6 { drop(OWN) } else { Expect::Kernel(OWN) },
        );
        l.add(
            Host::Inet,
            a("198.51.100.1", "2001:db8:81::1"),
            sp,
            "internet claims the router's wan0 address",
            if v6 { drop(OWN) } else { Expect::Kernel(OWN) },
        );
        l.add(
            Host::Ppp,
            a("10.82.0.1", "fd82::1"),
            sp,
            "ppp host claims the router's ppp0 address",
            if v6 { drop(OWN) } else { Expect::Kernel(OWN) },
        );
        l.add(
            Host::Branch,
            a("10.81.2.1", "fd81:2::1"),
            sp,
            "branch host claims the router's dmz0 address",
            if v6 { drop(OWN) } else { Expect::Kernel(OWN) },
        );
        l.add(
            Host::Lan,
            a("10.81.1.53", "fd81:1::53"),
            sp,
            "LAN host claims the router's local_addresses address (on its lo, inside lan0's network)",
            if v6 { drop(OWN) } else { Expect::Kernel(OWN) },
        );
        if v6 {
            // Forwarded, `::` is dropped by the kernel (ip6_forward); delivered locally it is
            // not, so these go to the router's own addresses.
            l.add_to(
                Host::Inet,
                "::",
                "2001:db8:81::1",
                sp,
                "internet sends from :: to the router",
                drop(UNSPECIFIED),
            );
            l.add_to(
                Host::Lan,
                "::",
                "fd81:1::1",
                sp,
                "LAN host sends from :: to the router",
                drop(if rp { RP_OR_ANTISPOOF } else { ANTISPOOF }),
            );
            l.add(
                Host::Inet,
                "::",
                sp,
                "internet sends from :: through the router (ip6_forward drops it too)",
                Expect::Kernel(UNSPECIFIED),
            );
            l.add(
                Host::Inet,
                "ff0e::1",
                sp,
                "multicast source (the kernel drops it before netfilter)",
                Expect::Kernel(&[]),
            );
        } else {
            l.add(
                Host::Inet,
                "0.0.0.0",
                sp,
                "internet sends from 0.0.0.0 (the kernel drops it too)",
                Expect::Kernel(UNSPECIFIED),
            );
            l.add(
                Host::Inet,
                "224.1.2.3",
                sp,
                "multicast source (the kernel drops it too)",
                Expect::Kernel(MULTICAST),
            );
        }
        // --- the undeclared interface ext0
        l.add(
            Host::Ext,
            a("10.83.0.2", "fd83::2"),
            sp,
            "undeclared interface, host's own address",
            unknown_verdict(true),
        );
        l.add(
            Host::Ext,
            a("10.81.1.97", "fd81:1::97"),
            sp,
            "undeclared interface, claims a LAN address",
            unknown_verdict(false),
        );
        l.add(
            Host::Ext,
            a("8.8.8.8", "2a01:4f8::8"),
            sp,
            "undeclared interface, claims an internet address",
            unknown_verdict(false),
        );
    }
    l.0
}

/// The result of one probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The probe.
    pub probe: Probe,
    /// Whether the sink received at least one of its datagrams, source intact.
    pub received: bool,
}

/// The outcomes of one probe run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Whether the run was judged as log-only (what would be dropped must arrive).
    pub log_only: bool,
    /// One per probe, in order.
    pub outcomes: Vec<Outcome>,
}

impl Report {
    /// Outcomes that differ from the expectation.
    pub fn unexpected(&self) -> Vec<&Outcome> {
        self.outcomes
            .iter()
            .filter(|o| o.received != o.probe.should_arrive(self.log_only))
            .collect()
    }

    /// The per-probe verdicts (received or not), in order.
    pub fn verdicts(&self) -> Vec<bool> {
        self.outcomes.iter().map(|o| o.received).collect()
    }
}

fn expect_text(p: &Probe, log_only: bool) -> String {
    match p.expect {
        Expect::Pass => "pass".to_owned(),
        Expect::Drop(k) if log_only => format!("pass+log({})", k.join("|")),
        Expect::Drop(k) => format!("drop({})", k.join("|")),
        Expect::Kernel([]) => "kernel drop".to_owned(),
        Expect::Kernel(k) => format!("kernel drop, counted({})", k.join("|")),
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for o in &self.outcomes {
            let p = &o.probe;
            let ok = o.received == p.should_arrive(self.log_only);
            writeln!(
                f,
                "{} {:>4} {:<6} {:>5} {:>16}:{:<5} -> {:<14} expected {:<40} got {:<8} ({})",
                if ok { "  ok" } else { "FAIL" },
                p.tag(),
                p.from.as_str(),
                p.from.router_iface(),
                p.src.to_string(),
                p.sport,
                p.dst.to_string(),
                expect_text(p, self.log_only),
                if o.received { "received" } else { "nothing" },
                p.what
            )?;
        }
        Ok(())
    }
}

/// The Python sender and multicast sink (python3 stdlib), run with `python3 -c`:
///
/// * `send DEV JSON`: JSON is a list of frames `{src, dst, sport, dport, mac, payload,
///   hops, count, pace}`; each is written `count` times as a whole Ethernet frame out of DEV
///   (AF_PACKET, so any source goes), `pace` seconds apart; prints `SENT <n>`;
/// * `mcast-sink PORT GROUP SECONDS DEV...`: a UDP socket on `[::]:PORT` that joins GROUP
///   on every DEV; prints `READY`, then `GOT <src> <first payload word>` per datagram, and
///   exits after SECONDS.
pub const SENDER_PY: &str = r##"
import json, os, select, socket, struct, sys, time

def csum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF

def frame(p, src_mac):
    payload = p["payload"].encode()
    ulen = 8 + len(payload)
    if ":" in p["dst"]:
        s = socket.inet_pton(socket.AF_INET6, p["src"])
        d = socket.inet_pton(socket.AF_INET6, p["dst"])
        udp = struct.pack("!HHHH", p["sport"], p["dport"], ulen, 0) + payload
        c = csum(s + d + struct.pack("!IxxxB", ulen, 17) + udp) or 0xFFFF
        udp = udp[:6] + struct.pack("!H", c) + udp[8:]
        ip = struct.pack("!IHBB", 6 << 28, ulen, 17, p["hops"]) + s + d + udp
        ethertype = 0x86DD
    else:
        s = socket.inet_aton(p["src"])
        d = socket.inet_aton(p["dst"])
        udp = struct.pack("!HHHH", p["sport"], p["dport"], ulen, 0) + payload
        head = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, os.getpid() & 0xFFFF, 0,
                           p["hops"], 17, 0, s, d)
        head = head[:10] + struct.pack("!H", csum(head)) + head[12:]
        ip = head + udp
        ethertype = 0x0800
    mac = bytes(int(x, 16) for x in p["mac"].split(":"))
    return mac + src_mac + struct.pack("!H", ethertype) + ip

def send(dev, spec):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((dev, 0))
    src_mac = s.getsockname()[4]
    n = 0
    for p in json.loads(spec):
        f = frame(p, src_mac)
        for _ in range(p["count"]):
            s.send(f)
            n += 1
            time.sleep(p["pace"])
    print("SENT", n, flush=True)

def mcast_sink(port, group, seconds, devs):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", int(port)))
    for dev in devs:
        mreq = socket.inet_pton(socket.AF_INET6, group) + struct.pack("@I", socket.if_nametoindex(dev))
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
    print("READY", flush=True)
    end = time.time() + float(seconds)
    while True:
        left = end - time.time()
        if left <= 0:
            break
        r, _, _ = select.select([s], [], [], left)
        if r:
            data, peer = s.recvfrom(65535)
            words = data.decode("latin-1", "replace").split()
            print("GOT", peer[0].split("%")[0], words[0] if words else "-", flush=True)
    print("END", flush=True)

if sys.argv[1] == "send":
    send(sys.argv[2], sys.argv[3])
elif sys.argv[1] == "mcast-sink":
    mcast_sink(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
else:
    sys.exit("unknown role " + sys.argv[1])
"##;

/// One frame written by the sender of [`SENDER_PY`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Source address (anything).
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// UDP source port.
    pub sport: u16,
    /// UDP destination port.
    pub dport: u16,
    /// Destination MAC address.
    pub mac: String,
    /// Payload (its first word is the tag sinks report).
    pub payload: String,
    /// TTL / hop limit.
    pub hops: u8,
    /// Copies.
    pub count: u32,
}

fn json_frames(frames: &[Frame], pace: Duration) -> String {
    let items: Vec<String> = frames
        .iter()
        .map(|f| {
            format!(
                "{{\"src\":\"{}\",\"dst\":\"{}\",\"sport\":{},\"dport\":{},\"mac\":\"{}\",\"payload\":\"{}\",\"hops\":{},\"count\":{},\"pace\":{}}}",
                f.src,
                f.dst,
                f.sport,
                f.dport,
                f.mac,
                f.payload,
                f.hops,
                f.count,
                pace.as_secs_f64()
            )
        })
        .collect();
    format!("[{}]", items.join(","))
}

/// The Python interpreter's real path (`sys.executable` of [`PYTHON`]), resolved once: version
/// manager shims in `PATH` cost a few hundred milliseconds per start.
pub fn python() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| {
        crate::netns::host_run(PYTHON, &["-c", "import sys; print(sys.executable)"])
            .ok()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| PYTHON.to_owned())
    })
}

/// Starts [`SENDER_PY`] `send` in `ns`, writing `frames` out of its `eth0`.
fn spawn_sender(ns: &Netns, frames: &[Frame], pace: Duration) -> Result<Child, LabError> {
    let spec = json_frames(frames, pace);
    ns.command(python())
        .args(["-c", SENDER_PY, "send", "eth0", &spec])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| LabError::Player(format!("cannot spawn a sender in {}: {e}", ns.name())))
}

/// Waits for senders started by [`spawn_sender`]; fails with the first one that failed.
fn wait_senders(senders: Vec<(Host, Child)>) -> Result<(), LabError> {
    let mut first_error = None;
    for (host, child) in senders {
        let result = child.wait_with_output();
        let err = match result {
            Ok(out) if out.status.success() => continue,
            Ok(out) => format!(
                "sender in {} failed ({}): {}{}",
                host.as_str(),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(e) => format!("sender in {}: {e}", host.as_str()),
        };
        first_error.get_or_insert(LabError::Player(err));
    }
    first_error.map_or(Ok(()), Err)
}

/// Sends `probes` (see the module docs) and reports what the sinks received. With `log_only`,
/// probes the rules would drop must arrive too (it only changes how long the run waits).
pub fn run_probes(lab: &SpoofLab, probes: &[Probe], log_only: bool) -> Result<Report, LabError> {
    // Sinks: the DMZ host, the LAN host, and the router for probes to its own addresses.
    let sink_nodes = [Node::Dmz, Node::Lan, Node::Router];
    let mut by_sink: Vec<(Node, Vec<IpAddr>)> = Vec::new();
    for p in probes {
        let node = SiteLab::owner(p.dst)
            .filter(|n| sink_nodes.contains(n))
            .ok_or_else(|| LabError::Player(format!("no sink for destination {}", p.dst)))?;
        match by_sink.iter_mut().find(|(n, _)| *n == node) {
            Some((_, addrs)) if addrs.contains(&p.dst) => {}
            Some((_, addrs)) => addrs.push(p.dst),
            None => by_sink.push((node, vec![p.dst])),
        }
    }
    let mut sinks = Vec::new();
    for (node, addrs) in &by_sink {
        let mut args = Vec::new();
        for a in addrs {
            args.push("--bind".to_owned());
            args.push(a.to_string());
        }
        args.extend(["--port".to_owned(), PROBE_PORT.to_string()]);
        let mut sink = Player::spawn(lab.site.ns(*node), "udp-sink", &args)?;
        sink.expect("READY", lab.site.player_timeout)?;
        sinks.push(sink);
    }
    // One sender per host, all running at once.
    let mut senders = Vec::new();
    for host in Host::ALL {
        let frames: Vec<Frame> = probes
            .iter()
            .filter(|p| p.from == host)
            .map(|p| Frame {
                src: p.src,
                dst: p.dst,
                sport: p.sport,
                dport: PROBE_PORT,
                mac: lab.router_mac(host).to_owned(),
                payload: format!("{} {} {}", p.tag(), p.src, p.what.len()),
                hops: 64,
                count: COPIES,
            })
            .collect();
        if frames.is_empty() {
            continue;
        }
        senders.push((host, spawn_sender(lab.ns(host), &frames, PACE)?));
    }
    wait_senders(senders)?;
    let mut got: Vec<(String, IpAddr)> = Vec::new();
    let start = Instant::now();
    let mut settle_from: Option<Instant> = None;
    loop {
        for sink in sinks.iter_mut() {
            for words in sink.collect("GOT", Duration::from_millis(30)) {
                // GOT udp <src> <sport> <local> <tag>
                if let (Some(src), Some(tag)) = (words.get(1), words.get(4))
                    && let Ok(src) = src.parse::<IpAddr>()
                {
                    got.push((tag.clone(), src));
                }
            }
        }
        let all_in = probes
            .iter()
            .filter(|p| p.should_arrive(log_only))
            .all(|p| got.contains(&(p.tag(), p.src)));
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
    Ok(Report {
        log_only,
        outcomes: probes
            .iter()
            .map(|p| Outcome {
                probe: p.clone(),
                received: got.contains(&(p.tag(), p.src)),
            })
            .collect(),
    })
}

/// DHCPv6-like datagrams (UDP `fe80::2`:546 -> `ff02::1:2`:547, hop limit 1) from each of
/// `from`, received by a socket in the router that joined `ff02::1:2` on every router
/// interface. Returns, per host, whether the router received it.
pub fn dhcpv6_probes(lab: &SpoofLab, from: &[Host]) -> Result<Vec<(Host, bool)>, LabError> {
    let mut args: Vec<String> = vec![
        "-u".into(),
        "-c".into(),
        SENDER_PY.into(),
        "mcast-sink".into(),
        "547".into(),
        "ff02::1:2".into(),
        "20".into(),
    ];
    args.extend(from.iter().map(|h| h.router_iface().to_owned()));
    let mut child = lab
        .router()
        .command(python())
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| LabError::Player(format!("cannot spawn the DHCPv6 sink: {e}")))?;
    let stdout = child.stdout.take().expect("piped stdout");
    let mut reader = BufReader::new(stdout);
    let mut first = String::new();
    let _ = reader.read_line(&mut first);
    let stop = |mut child: Child| {
        let _ = child.kill();
        let _ = child.wait();
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        err
    };
    if first.trim() != "READY" {
        let err = stop(child);
        return Err(LabError::Player(format!(
            "the DHCPv6 sink did not start: {first:?} {err}"
        )));
    }
    let ll: IpAddr = addr::HOST_LL.into();
    let group: IpAddr = "ff02::1:2".parse().expect("literal");
    let mut senders = Vec::new();
    for host in from {
        let frame = Frame {
            src: ll,
            dst: group,
            sport: 546,
            dport: 547,
            mac: "33:33:00:01:00:02".into(),
            payload: format!("{} dhcpv6-solicit", host.as_str()),
            hops: 1,
            count: COPIES,
        };
        match spawn_sender(lab.ns(*host), &[frame], PACE) {
            Ok(c) => senders.push((*host, c)),
            Err(e) => {
                stop(child);
                let _ = wait_senders(senders);
                return Err(e);
            }
        }
    }
    let sent = wait_senders(senders);
    std::thread::sleep(LOCAL_WINDOW);
    stop(child);
    sent?;
    let lines: Vec<String> = reader.lines().map_while(Result::ok).collect();
    Ok(from
        .iter()
        .map(|h| {
            let seen = lines.iter().any(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                w.first() == Some(&"GOT") && w.get(2) == Some(&h.as_str())
            });
            (*h, seen)
        })
        .collect())
}

// ------------------------------------------------------------------------------------------
// Marks, counters, the kernel log

/// Where the site's mark rule sits relative to nfh's anti-spoofing chain (raw priority, -300).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkAt {
    /// Before it: nft, a chain of the site's table at priority -350; iptables, the top of the
    /// raw table's PREROUTING chain, before nfh's jump. This works.
    BeforeAntispoof,
    /// Where marks for policy routing usually go: nft, priority mangle (-150); iptables, the
    /// mangle table's PREROUTING chain. Too late for the mark-aware reverse-path check.
    Mangle,
}

/// Marks (`MARK`) UDP from [`MARK_SPORT`] arriving on `ppp*` (see the module docs): nft, table
/// `inet spoofsite` with a prerouting chain at priority -350 ([`MarkAt::BeforeAntispoof`]) or
/// mangle; iptables flavors, `-t raw -I PREROUTING 1` (run it after nfh's hook script, which
/// inserts its jump at the top only when it is missing, so the mark rule stays first) or
/// `-t mangle -A PREROUTING`.
pub fn add_mark_rules_at(router: &Netns, flavor: Flavor, at: MarkAt) -> Result<(), CommandError> {
    match flavor {
        Flavor::Nft => {
            let priority = match at {
                MarkAt::BeforeAntispoof => "-350",
                MarkAt::Mangle => "mangle",
            };
            firewall::run_with_input(
                router,
                "nft",
                &["-f", "-"],
                &format!(
                    "table inet spoofsite {{\n\tchain setmark {{\n\t\ttype filter hook prerouting priority {priority}; policy accept;\n\t\tiifname \"ppp*\" udp sport {MARK_SPORT} meta mark set {MARK}\n\t}}\n}}\n"
                ),
            )
            .map(drop)
        }
        Flavor::Legacy | Flavor::IptablesNft => {
            let (table, position): (&str, &[&str]) = match at {
                MarkAt::BeforeAntispoof => ("raw", &["-I", "PREROUTING", "1"]),
                MarkAt::Mangle => ("mangle", &["-A", "PREROUTING"]),
            };
            let sport = MARK_SPORT.to_string();
            let mark = MARK.to_string();
            for v6 in [false, true] {
                let mut args = vec!["-w", "-t", table];
                args.extend_from_slice(position);
                args.extend([
                    "-i",
                    "ppp+",
                    "-p",
                    "udp",
                    "--sport",
                    &sport,
                    "-j",
                    "MARK",
                    "--set-mark",
                    &mark,
                ]);
                router.run(flavor.iptables(v6), &args)?;
            }
            Ok(())
        }
    }
}

/// [`add_mark_rules_at`] [`MarkAt::BeforeAntispoof`]: what works.
pub fn add_mark_rules(router: &Netns, flavor: Flavor) -> Result<(), CommandError> {
    add_mark_rules_at(router, flavor, MarkAt::BeforeAntispoof)
}

/// Removes what [`add_mark_rules_at`] added (`delete table inet spoofsite`; the `MARK` rules).
pub fn remove_mark_rules(router: &Netns, flavor: Flavor, at: MarkAt) -> Result<(), CommandError> {
    match flavor {
        Flavor::Nft => router
            .run("nft", &["delete", "table", "inet", "spoofsite"])
            .map(drop),
        Flavor::Legacy | Flavor::IptablesNft => {
            let table = match at {
                MarkAt::BeforeAntispoof => "raw",
                MarkAt::Mangle => "mangle",
            };
            let sport = MARK_SPORT.to_string();
            let mark = MARK.to_string();
            for v6 in [false, true] {
                router.run(
                    flavor.iptables(v6),
                    &[
                        "-w",
                        "-t",
                        table,
                        "-D",
                        "PREROUTING",
                        "-i",
                        "ppp+",
                        "-p",
                        "udp",
                        "--sport",
                        &sport,
                        "-j",
                        "MARK",
                        "--set-mark",
                        &mark,
                    ],
                )?;
            }
            Ok(())
        }
    }
}

/// Packet counters of nfh's anti-spoofing rules, summed by `(verdict, kind)`: verdict `drop`,
/// `log` or `return`, kind the rule's comment (`rpfilter`, `bogon`, ...). Rules without a
/// counter (nft rules without `counter`) are not in it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters(pub BTreeMap<(String, String), u64>);

impl Counters {
    /// Packets counted by rules of `verdict` and one of `kinds`.
    pub fn get(&self, verdict: &str, kinds: &[&str]) -> u64 {
        self.0
            .iter()
            .filter(|((v, k), _)| v == verdict && kinds.contains(&k.as_str()))
            .map(|(_, n)| n)
            .sum()
    }

    /// Packets counted by every rule of `verdict`.
    pub fn total(&self, verdict: &str) -> u64 {
        self.0
            .iter()
            .filter(|((v, _), _)| v == verdict)
            .map(|(_, n)| n)
            .sum()
    }

    /// `self - before`, per entry.
    pub fn since(&self, before: &Counters) -> Counters {
        Counters(
            self.0
                .iter()
                .map(|(k, n)| (k.clone(), n.saturating_sub(*before.0.get(k).unwrap_or(&0))))
                .collect(),
        )
    }

    fn add(&mut self, verdict: &str, kind: &str, n: u64) {
        *self
            .0
            .entry((verdict.to_owned(), kind.to_owned()))
            .or_default() += n;
    }
}

impl fmt::Display for Counters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for ((v, k), n) in &self.0 {
            writeln!(f, "  {v:<6} {k:<20} {n}")?;
        }
        Ok(())
    }
}

/// Reads the counters of nfh's anti-spoofing chain: `nft list chain inet <table> antispoof`,
/// or `iptables -t raw -L nfh-antispoof -v -n -x` and the same for ip6tables.
pub fn read_counters(router: &Netns, flavor: Flavor) -> Result<Counters, CommandError> {
    let mut c = Counters::default();
    match flavor {
        Flavor::Nft => {
            let text = router.run("nft", &["list", "chain", "inet", "nfh", "antispoof"])?;
            for line in text.lines() {
                let words: Vec<&str> = line.split_whitespace().collect();
                let Some(i) = words.iter().position(|w| *w == "counter") else {
                    continue;
                };
                let Some(n) = words.get(i + 2).and_then(|n| n.parse::<u64>().ok()) else {
                    continue;
                };
                let kind = line
                    .split("comment \"")
                    .nth(1)
                    .and_then(|r| r.split('"').next())
                    .unwrap_or("-");
                let verdict = if words.contains(&"log") {
                    "log"
                } else if words.contains(&"drop") {
                    "drop"
                } else {
                    "return"
                };
                c.add(verdict, kind, n);
            }
        }
        Flavor::Legacy | Flavor::IptablesNft => {
            for v6 in [false, true] {
                let text = router.run(
                    flavor.iptables(v6),
                    &["-w", "-t", "raw", "-L", "nfh-antispoof", "-v", "-n", "-x"],
                )?;
                for line in text.lines().skip(2) {
                    let words: Vec<&str> = line.split_whitespace().collect();
                    let (Some(n), Some(target)) = (
                        words.first().and_then(|n| n.parse::<u64>().ok()),
                        words.get(2),
                    ) else {
                        continue;
                    };
                    let kind = line
                        .split("/* ")
                        .nth(1)
                        .and_then(|r| r.split(" */").next())
                        .unwrap_or("-");
                    c.add(&target.to_ascii_lowercase(), kind, n);
                }
            }
        }
    }
    Ok(c)
}

/// What the counters must show after a run of `probes` judged under `log_only`: every probe
/// the rules stop is counted by a rule of one of its kinds (drop rules; log rules in log-only
/// mode). Returns the problems (empty: fine). Log rules of nft have no counter, so in
/// log-only mode only the iptables flavors are checked here.
pub fn counter_problems(
    probes: &[Probe],
    delta: &Counters,
    flavor: Flavor,
    log_only: bool,
) -> Vec<String> {
    let verdict = if log_only { "log" } else { "drop" };
    if log_only && flavor == Flavor::Nft {
        return Vec::new();
    }
    let mut problems = Vec::new();
    let counted: Vec<&Probe> = probes.iter().filter(|p| !p.kinds().is_empty()).collect();
    let want_total = u64::from(COPIES) * counted.len() as u64;
    let got_total = delta.total(verdict);
    if got_total < want_total {
        problems.push(format!(
            "{verdict} rules counted {got_total} packets, at least {want_total} expected ({} probes x {COPIES})",
            counted.len()
        ));
    }
    let mut by_kinds: BTreeMap<Vec<&str>, Vec<&Probe>> = BTreeMap::new();
    for p in &counted {
        by_kinds.entry(p.kinds().to_vec()).or_default().push(p);
    }
    for (kinds, ps) in &by_kinds {
        let want = u64::from(COPIES) * ps.len() as u64;
        let got = delta.get(verdict, kinds);
        if got < want {
            problems.push(format!(
                "{verdict} rules of kind {} counted {got} packets, at least {want} expected for {}",
                kinds.join("|"),
                ps.iter().map(|p| p.tag()).collect::<Vec<_>>().join(" ")
            ));
        }
    }
    problems
}

/// Writes `spooflab-marker <text>` to the kernel log (`/dev/kmsg`), so that
/// [`kernel_log_after`] can return what was logged after it.
pub fn mark_kernel_log(text: &str) -> std::io::Result<String> {
    let marker = format!("spooflab-marker {} {text}", std::process::id());
    std::fs::write("/dev/kmsg", format!("{marker}\n"))?;
    Ok(marker)
}

/// The kernel log lines (`dmesg`) after the last line containing `marker`.
pub fn kernel_log_after(marker: &str) -> Result<Vec<String>, CommandError> {
    let out = crate::netns::host_run("dmesg", &[])?;
    let lines: Vec<&str> = out.lines().collect();
    let start = lines
        .iter()
        .rposition(|l| l.contains(marker))
        .map_or(0, |i| i + 1);
    Ok(lines[start..].iter().map(|l| (*l).to_owned()).collect())
}

/// The address as the kernel's packet log prints it (`%pI4`, `%pI6`: IPv6 in full, four hex
/// digits per group).
pub fn log_addr(a: IpAddr) -> String {
    match a {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => v6
            .segments()
            .iter()
            .map(|s| format!("{s:04x}"))
            .collect::<Vec<_>>()
            .join(":"),
    }
}

/// Probes the rules see and stop (or would stop) for which no kernel log line has an
/// `nfh-<kind> ` prefix of one of the probe's kinds, its interface (`IN=`), source and
/// destination.
pub fn unlogged<'a>(probes: &'a [Probe], log: &[String]) -> Vec<&'a Probe> {
    probes
        .iter()
        .filter(|p| !p.kinds().is_empty())
        .filter(|p| {
            let iface = format!("IN={} ", p.from.router_iface());
            let src = format!("SRC={} ", log_addr(p.src));
            let dst = format!("DST={} ", log_addr(p.dst));
            !log.iter().any(|l| {
                p.kinds().iter().any(|k| l.contains(&format!("nfh-{k} ")))
                    && l.contains(&iface)
                    && l.contains(&src)
                    && l.contains(&dst)
            })
        })
        .collect()
}

/// A host sysctl (`/proc/sys/...`) set for the lifetime of the guard, restored on drop.
#[derive(Debug)]
#[must_use = "the sysctl is restored as soon as the guard is dropped"]
pub struct HostSysctl {
    path: String,
    previous: String,
}

impl HostSysctl {
    /// Sets `key` (`net.netfilter.nf_log_all_netns`) to `value` on the host.
    pub fn set(key: &str, value: &str) -> std::io::Result<HostSysctl> {
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        let previous = std::fs::read_to_string(&path)?.trim().to_owned();
        std::fs::write(&path, value)?;
        Ok(HostSysctl { path, previous })
    }

    /// The value before the guard changed it.
    pub fn previous(&self) -> &str {
        &self.previous
    }
}

impl Drop for HostSysctl {
    fn drop(&mut self) {
        if let Err(e) = std::fs::write(&self.path, &self.previous) {
            eprintln!(
                "netfilter-helpers-tests: cannot restore {} to {}: {e}",
                self.path, self.previous
            );
        }
    }
}
