//! A router with three interfaces (internet, LAN, DMZ) for testing synthesised rule sets.
//!
//! # Topology built by [`SiteLab::new`]
//!
//! ```text
//!   inet ns                           router ns                          lan ns
//!   eth0 198.51.100.2/24  ──── wan0 198.51.100.1/24    lan0 10.81.1.1/24 ──── eth0 10.81.1.2/24
//!        2001:db8:81::2/64          2001:db8:81::1/64       fd81:1::1/64           fd81:1::2/64
//!   lo   192.0.2.10/32                                                       lo   10.81.3.1/32
//!        2001:db8:99::10/128     dmz0 10.81.2.1/24                                fd81:3::1/128
//!   (the "internet": a host       fd81:2::1/64                               (a host of the
//!    next to the router and a          │                                       routed network
//!    far host behind it)               │        dmz ns                         10.81.3.0/24,
//!                                      └──── eth0 10.81.2.10/24                fd81:3::/64)
//!                                                 fd81:2::10/64  (the FTP server)
//! ```
//!
//! * the router's default routes go to the inet host (198.51.100.2, 2001:db8:81::2); it routes
//!   10.81.3.0/24 and fd81:3::/64 via the LAN host, and, as a trap for the reverse-path
//!   filter, 10.99.0.0/24 and fd99::/64 via the DMZ host ([`addr::UNDECLARED_V4`]): those
//!   networks are *not* in [`SITE_TOML`], so anti-spoofing lets them in from the internet and
//!   only the `rpfilter`/`fib` rule can drop them;
//! * the router forwards, and its kernel reverse-path filter is **off**
//!   (`net.ipv4.conf.{all,default,wan0,lan0,dmz0}.rp_filter=0`), so every spoofed packet that
//!   is dropped was dropped by the loaded rules, not by the kernel;
//! * the inet host has routes to 10.81.0.0/16, 10.99.0.0/16, fd81::/16 and fd99::/16 via the
//!   router; LAN and DMZ hosts have default routes via the router;
//! * besides the kernel's own link-local addresses, every router interface has fe80::1 and
//!   every host `eth0` fe80::2 ([`addr::ROUTER_LL`], [`addr::HOST_LL`]);
//! * IPv6 addresses are added with `nodad`, and DAD is off for link-local addresses too
//!   (`accept_dad=0` before the interfaces exist): a router whose link-local address is still
//!   tentative discards forwarded packets with foreign sources instead of resolving the next
//!   hop. [`SiteLab::start_dad`] turns DAD on again for one host interface.
//!
//! [`SITE_TOML`] describes exactly this router (interface names, networks, the FTP service of
//! the DMZ server for the LAN clients).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use crate::netns::{CommandError, Netns, veth};

/// The lab's fixed addresses (documentation and private ranges, only ever configured on lab
/// veths and loopbacks).
pub mod addr {
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// Router, `wan0`.
    pub const ROUTER_WAN_V4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
    /// Router, `wan0` (IPv6).
    pub const ROUTER_WAN_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x81, 0, 0, 0, 0, 1);
    /// Router, `lan0`.
    pub const ROUTER_LAN_V4: Ipv4Addr = Ipv4Addr::new(10, 81, 1, 1);
    /// Router, `lan0` (IPv6).
    pub const ROUTER_LAN_V6: Ipv6Addr = Ipv6Addr::new(0xfd81, 1, 0, 0, 0, 0, 0, 1);
    /// Router, `dmz0`.
    pub const ROUTER_DMZ_V4: Ipv4Addr = Ipv4Addr::new(10, 81, 2, 1);
    /// Router, `dmz0` (IPv6).
    pub const ROUTER_DMZ_V6: Ipv6Addr = Ipv6Addr::new(0xfd81, 2, 0, 0, 0, 0, 0, 1);

    /// The internet host next to the router (its default gateway).
    pub const INET_V4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);
    /// The internet host (IPv6).
    pub const INET_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x81, 0, 0, 0, 0, 2);
    /// A far internet host (on the inet namespace's `lo`): the third party of FTP tests.
    pub const FAR_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
    /// A far internet host (IPv6).
    pub const FAR_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x99, 0, 0, 0, 0, 0x10);

    /// The LAN host (FTP client).
    pub const LAN_V4: Ipv4Addr = Ipv4Addr::new(10, 81, 1, 2);
    /// The LAN host (IPv6).
    pub const LAN_V6: Ipv6Addr = Ipv6Addr::new(0xfd81, 1, 0, 0, 0, 0, 0, 2);
    /// A host of the network routed behind the LAN host (on its `lo`).
    pub const ROUTED_V4: Ipv4Addr = Ipv4Addr::new(10, 81, 3, 1);
    /// A host of the routed network (IPv6).
    pub const ROUTED_V6: Ipv6Addr = Ipv6Addr::new(0xfd81, 3, 0, 0, 0, 0, 0, 1);

    /// The DMZ host (FTP server).
    pub const DMZ_V4: Ipv4Addr = Ipv4Addr::new(10, 81, 2, 10);
    /// The DMZ host (IPv6).
    pub const DMZ_V6: Ipv6Addr = Ipv6Addr::new(0xfd81, 2, 0, 0, 0, 0, 0, 0x10);

    /// The router's link-local address on each of its interfaces (besides the kernel's own).
    pub const ROUTER_LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
    /// Each host's link-local address on its `eth0` (besides the kernel's own).
    pub const HOST_LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2);

    /// A source in 10.99.0.0/24, routed by the router via the DMZ host but not declared in the
    /// site: only the reverse-path rule drops it when it arrives on `wan0`.
    pub const UNDECLARED_V4: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 5);
    /// A source in fd99::/64 (routed via the DMZ host, undeclared).
    pub const UNDECLARED_V6: Ipv6Addr = Ipv6Addr::new(0xfd99, 0, 0, 0, 0, 0, 0, 5);
}

/// The namespaces of a [`SiteLab`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Node {
    /// The router (`wan0`, `lan0`, `dmz0`), where the rules are loaded.
    Router,
    /// The LAN host (and, on its `lo`, a host of the routed network).
    Lan,
    /// The DMZ host (FTP server).
    Dmz,
    /// The internet: the router's gateway and, on its `lo`, a far host.
    Inet,
}

impl Node {
    /// Lower-case name for messages (`lan`, `dmz`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Node::Router => "router",
            Node::Lan => "lan",
            Node::Dmz => "dmz",
            Node::Inet => "inet",
        }
    }

    /// The router interface the node is attached to (`None` for the router).
    pub fn router_iface(self) -> Option<&'static str> {
        match self {
            Node::Router => None,
            Node::Lan => Some("lan0"),
            Node::Dmz => Some("dmz0"),
            Node::Inet => Some("wan0"),
        }
    }
}

/// The site description of [`SiteLab`]: `wan0` (default route), `lan0` (with the routed
/// network 10.81.3.0/24 / fd81:3::/64 and DHCPv4), `dmz0`; one FTP service `ftp-dmz`
/// (`direction = "inbound"`) whose server is the DMZ host and whose clients are the LAN and
/// routed networks; `ftp.loose = 1` is declared, as the FTP tests run the kernel with it.
pub const SITE_TOML: &str = r#"kernel = "6.18"
table = "nfh"

[options]
"ftp.loose" = 1

[[interfaces]]
name = "wan0"
default_route = true
networks = ["198.51.100.1/24", "2001:db8:81::1/64"]

[[interfaces]]
name = "lan0"
networks = ["10.81.1.1/24", "fd81:1::1/64"]
routed = ["10.81.3.0/24", "fd81:3::/64"]
dhcp = true

[[interfaces]]
name = "dmz0"
networks = ["10.81.2.1/24", "fd81:2::1/64"]

[[services]]
name = "ftp-dmz"
helper = "ftp"
direction = "inbound"
servers = ["10.81.2.10", "fd81:2::10"]
clients = ["10.81.1.0/24", "10.81.3.0/24", "fd81:1::/64", "fd81:3::/64"]
"#;

/// The state of an IPv6 address under duplicate address detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DadState {
    /// Still being probed.
    Tentative,
    /// A neighbour defended it (`dadfailed`).
    Failed,
    /// Nobody answered: the address is in use.
    Valid,
    /// Not configured.
    Absent,
}

/// Router — LAN, DMZ, internet. Namespaces are deleted on drop (hosts first, router last).
#[derive(Debug)]
pub struct SiteLab {
    /// LAN host (`eth0` 10.81.1.2/24, fd81:1::2/64; `lo` 10.81.3.1, fd81:3::1).
    pub lan: Netns,
    /// DMZ host (`eth0` 10.81.2.10/24, fd81:2::10/64).
    pub dmz: Netns,
    /// Internet (`eth0` 198.51.100.2/24, 2001:db8:81::2/64; `lo` 192.0.2.10, 2001:db8:99::10).
    pub inet: Netns,
    /// The router: `wan0`, `lan0`, `dmz0`; forwarding on, kernel rp_filter off.
    pub router: Netns,
    /// How long helpers wait for a player's `READY`/`RESULT`/... line.
    pub player_timeout: Duration,
}

impl SiteLab {
    /// Builds the topology described in the module docs.
    pub fn new() -> Result<SiteLab, CommandError> {
        let lan = Netns::new("lan")?;
        let dmz = Netns::new("dmz")?;
        let inet = Netns::new("inet")?;
        let router = Netns::new("rtr")?;
        // No DAD anywhere, link-local addresses included: while the router's link-local
        // address on an interface is tentative, it sends no neighbour solicitation for a
        // forwarded packet whose source is not its own, and such packets are discarded.
        for ns in [&lan, &dmz, &inet, &router] {
            ns.sysctl("net.ipv6.conf.all.accept_dad", "0")?;
            ns.sysctl("net.ipv6.conf.default.accept_dad", "0")?;
        }

        veth(&router, "wan0", &inet, "eth0")?;
        veth(&router, "lan0", &lan, "eth0")?;
        veth(&router, "dmz0", &dmz, "eth0")?;
        for (dev, v4, v6) in [
            ("wan0", "198.51.100.1/24", "2001:db8:81::1/64"),
            ("lan0", "10.81.1.1/24", "fd81:1::1/64"),
            ("dmz0", "10.81.2.1/24", "fd81:2::1/64"),
        ] {
            router.add_addr(dev, v4)?;
            router.add_addr(dev, v6)?;
            router.add_addr(dev, "fe80::1/64")?;
            router.link_up(dev)?;
        }
        router.enable_forwarding()?;
        for key in ["all", "default", "wan0", "lan0", "dmz0"] {
            router.sysctl(&format!("net.ipv4.conf.{key}.rp_filter"), "0")?;
        }
        router.ip(&["route", "add", "default", "via", "198.51.100.2"])?;
        router.ip(&["-6", "route", "add", "default", "via", "2001:db8:81::2"])?;
        router.ip(&["route", "add", "10.81.3.0/24", "via", "10.81.1.2"])?;
        router.ip(&["-6", "route", "add", "fd81:3::/64", "via", "fd81:1::2"])?;
        router.ip(&["route", "add", "10.99.0.0/24", "via", "10.81.2.10"])?;
        router.ip(&["-6", "route", "add", "fd99::/64", "via", "fd81:2::10"])?;

        for (ns, v4, v6) in [
            (&lan, "10.81.1.2/24", "fd81:1::2/64"),
            (&dmz, "10.81.2.10/24", "fd81:2::10/64"),
            (&inet, "198.51.100.2/24", "2001:db8:81::2/64"),
        ] {
            ns.add_addr("eth0", v4)?;
            ns.add_addr("eth0", v6)?;
            ns.add_addr("eth0", "fe80::2/64")?;
            ns.link_up("eth0")?;
        }
        // Host addresses (/32, /128) without `brd +`, which makes no sense for a /32.
        lan.ip(&["addr", "add", "10.81.3.1/32", "dev", "lo"])?;
        lan.add_addr("lo", "fd81:3::1/128")?;
        inet.ip(&["addr", "add", "192.0.2.10/32", "dev", "lo"])?;
        inet.add_addr("lo", "2001:db8:99::10/128")?;
        lan.default_routes(addr::ROUTER_LAN_V4, addr::ROUTER_LAN_V6)?;
        dmz.default_routes(addr::ROUTER_DMZ_V4, addr::ROUTER_DMZ_V6)?;
        for net in ["10.81.0.0/16", "10.99.0.0/16"] {
            inet.ip(&["route", "add", net, "via", "198.51.100.1"])?;
        }
        for net in ["fd81::/16", "fd99::/16"] {
            inet.ip(&["-6", "route", "add", net, "via", "2001:db8:81::1"])?;
        }

        Ok(SiteLab {
            lan,
            dmz,
            inet,
            router,
            player_timeout: Duration::from_secs(10),
        })
    }

    /// The namespace of `node`.
    pub fn ns(&self, node: Node) -> &Netns {
        match node {
            Node::Router => &self.router,
            Node::Lan => &self.lan,
            Node::Dmz => &self.dmz,
            Node::Inet => &self.inet,
        }
    }

    /// The addresses configured on `node` by [`SiteLab::new`] (forged ones not included).
    pub fn native_addrs(node: Node) -> Vec<IpAddr> {
        let v4: &[Ipv4Addr] = match node {
            Node::Router => &[
                addr::ROUTER_WAN_V4,
                addr::ROUTER_LAN_V4,
                addr::ROUTER_DMZ_V4,
            ],
            Node::Lan => &[addr::LAN_V4, addr::ROUTED_V4],
            Node::Dmz => &[addr::DMZ_V4],
            Node::Inet => &[addr::INET_V4, addr::FAR_V4],
        };
        let v6: &[Ipv6Addr] = match node {
            Node::Router => &[
                addr::ROUTER_WAN_V6,
                addr::ROUTER_LAN_V6,
                addr::ROUTER_DMZ_V6,
            ],
            Node::Lan => &[addr::LAN_V6, addr::ROUTED_V6],
            Node::Dmz => &[addr::DMZ_V6],
            Node::Inet => &[addr::INET_V6, addr::FAR_V6],
        };
        v4.iter()
            .map(|a| IpAddr::V4(*a))
            .chain(v6.iter().map(|a| IpAddr::V6(*a)))
            .collect()
    }

    /// The node an address natively belongs to, if any.
    pub fn owner(a: IpAddr) -> Option<Node> {
        [Node::Router, Node::Lan, Node::Dmz, Node::Inet]
            .into_iter()
            .find(|n| SiteLab::native_addrs(*n).contains(&a))
    }

    /// Adds `a` (IPv6) to `node`'s `eth0` with duplicate address detection on (the lab turns
    /// it off everywhere else). Check the outcome with [`SiteLab::dad_state`]: when `a` is a
    /// router address and the router's rules let the DAD neighbour solicitation (source `::`)
    /// through, the router defends it and the state becomes [`DadState::Failed`].
    pub fn start_dad(&self, node: Node, a: Ipv6Addr) -> Result<(), CommandError> {
        let ns = self.ns(node);
        ns.sysctl("net.ipv6.conf.eth0.accept_dad", "1")?;
        ns.ip(&["-6", "addr", "add", &format!("{a}/64"), "dev", "eth0"])
            .map(drop)
    }

    /// The DAD state of `a` on `node`'s `eth0`.
    pub fn dad_state(&self, node: Node, a: Ipv6Addr) -> Result<DadState, CommandError> {
        let out = self
            .ns(node)
            .ip(&["-6", "-o", "addr", "show", "dev", "eth0"])?;
        let needle = format!(" {a}/");
        Ok(match out.lines().find(|l| l.contains(&needle)) {
            None => DadState::Absent,
            Some(l) if l.contains("dadfailed") => DadState::Failed,
            Some(l) if l.contains("tentative") => DadState::Tentative,
            Some(_) => DadState::Valid,
        })
    }

    /// Makes `a` usable as a source on `node`: if it is not one of the node's own addresses,
    /// adds it to `eth0` as a /32 (IPv4) or a `nodad` /128 (IPv6). Adding it twice is fine.
    pub fn forge(&self, node: Node, a: IpAddr) -> Result<(), CommandError> {
        if SiteLab::native_addrs(node).contains(&a) {
            return Ok(());
        }
        let ns = self.ns(node);
        let present = ns.ip(&["-o", "addr", "show", "dev", "eth0"])?;
        let needle = format!(" {a}/");
        if present.contains(&needle) {
            return Ok(());
        }
        match a {
            IpAddr::V4(v4) => ns
                .ip(&["addr", "add", &format!("{v4}/32"), "dev", "eth0"])
                .map(drop),
            IpAddr::V6(v6) => ns.add_addr("eth0", &format!("{v6}/128")),
        }
    }
}
