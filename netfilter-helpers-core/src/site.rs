//! The site description: interfaces with their networks, the services that need helpers,
//! the kernel version and module options; and its validation into a [`ValidSite`], which
//! reports every problem at once with its path.
//!
//! ```
//! use netfilter_helpers_core::site::Site;
//!
//! let site = Site::from_toml(r#"
//!     [[interfaces]]
//!     name = "eth0"
//!     default_route = true
//!     networks = ["198.51.100.2/24"]
//!
//!     [[interfaces]]
//!     name = "eth1"
//!     networks = ["10.0.1.1/24"]
//!     routed = ["10.0.2.0/24"]
//!
//!     [[services]]
//!     name = "ftp-in"
//!     helper = "ftp"
//!     direction = "inbound"
//!     servers = ["10.0.1.10"]
//! "#).unwrap();
//! let valid = site.validate().unwrap();
//! assert_eq!(valid.default_interface().name.as_str(), "eth0");
//!
//! let bad = Site::from_toml(r#"
//!     [[interfaces]]
//!     name = "eth0; rm -rf /"
//!     networks = ["10.1.0.0/16"]
//!     [[interfaces]]
//!     name = "eth1"
//!     networks = ["10.1.0.0/16"]
//! "#).unwrap();
//! let e = bad.validate().unwrap_err();
//! let paths: Vec<_> = e.problems.iter().map(|p| p.path.as_str()).collect();
//! assert_eq!(paths, ["interfaces[0].name", "interfaces[0].networks[0]", "interfaces"]);
//! ```

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnetwork::IpNetwork;
use serde::{Deserialize, Serialize};

use crate::catalogue::{Helper, HelperName};
use crate::kernel::DEFAULT_KERNEL;
use crate::kernel::KernelVersion;
use crate::net::Cidr;
use crate::net::Family;
use crate::net::IFNAME_MAX;
use crate::net::IfName;
use crate::net::RpFilter;
use crate::net::RuleName;
use crate::net::aggregate;
use crate::net::span;
use crate::options::ModuleOptions;
use crate::registry::registered_names;
use crate::report::Problem;

/// How an interface's `name` matches the kernel's interfaces.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum NameMatch {
    /// The one interface of that name.
    #[default]
    Exact,
    /// Every interface whose name starts with it (`ppp` matches `ppp0`, `ppp1`, ...):
    /// rendered `ppp+` for iptables and `"ppp*"` for nft; rp_filter sysctls for them come from
    /// `conf.default`, since their per-interface keys do not exist before they do.
    Prefix,
}

/// What happens to packets arriving on interfaces the site does not describe.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum UnknownInterfaces {
    /// Dropped (the default: an interface must be described to carry traffic).
    #[default]
    Drop,
    /// Only a strict reverse-path check: sources routed back through the arrival interface.
    Rpfilter,
    /// Passed unchecked.
    Allow,
}

/// Whether the anti-spoofing and RELATED drops drop, or only log what they would drop.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Drop (with a counter), and log too when `log` is on.
    #[default]
    Enforce,
    /// Log, rate-limited, every packet enforcement would drop, and drop nothing: a way to try
    /// a site before enforcing it.
    LogOnly,
}

/// One interface of the firewall.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Interface {
    /// The kernel's interface name (checked by [`Site::validate`], see [`IfName`]); with
    /// `match = "prefix"`, the prefix of the names.
    pub name: String,
    /// Whether `name` is one interface or a prefix.
    #[serde(default, rename = "match")]
    pub name_match: NameMatch,
    /// Whether the default route leaves through this interface (anti-spoofing uses inverted
    /// logic on it: internal sources are dropped, everything else passes).
    #[serde(default)]
    pub default_route: bool,
    /// Networks attached to the interface, as `address/prefix` or a network. Written with host
    /// bits (`10.0.1.1/24`), the address is the firewall's own address on the interface: a
    /// service whose servers are own addresses runs on the firewall itself.
    #[serde(default)]
    pub networks: Vec<String>,
    /// Networks routed through the interface.
    #[serde(default)]
    pub routed: Vec<String>,
    /// Hosts on this interface get addresses by DHCPv4 from the firewall (accept source
    /// 0.0.0.0 to 255.255.255.255, UDP 68 to 67).
    #[serde(default)]
    pub dhcp: bool,
    /// Reverse-path filtering mode, in the rules (`fib` / `rpfilter`) and the sysctls.
    #[serde(default)]
    pub rp_filter: RpFilter,
    /// Look the reverse path up with the packet's mark, for policy routing by fwmark
    /// (`fib saddr . mark ...`, `-m rpfilter --validmark`).
    #[serde(default)]
    pub rp_filter_mark: bool,
}

impl Interface {
    /// An interface with this name and every other field at its default (no networks, not
    /// the default route, strict reverse-path filtering).
    ///
    /// ```
    /// use netfilter_helpers_core::site::Interface;
    /// let mut i = Interface::named("wan0");
    /// i.default_route = true;
    /// assert_eq!(i.name, "wan0");
    /// ```
    pub fn named(name: &str) -> Interface {
        Interface {
            name: name.to_string(),
            name_match: NameMatch::Exact,
            default_route: false,
            networks: Vec::new(),
            routed: Vec::new(),
            dhcp: false,
            rp_filter: RpFilter::Strict,
            rp_filter_mark: false,
        }
    }
}

/// Where the helper's master connections go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Clients outside reach servers behind the firewall (forwarded traffic), or servers on the
    /// firewall itself when `servers` are its own addresses.
    Inbound,
    /// Clients behind the firewall reach servers outside (forwarded traffic).
    Outbound,
    /// The firewall host itself is the client.
    Local,
}

/// A service whose connections need a helper.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Service {
    /// A name for the rules' comments (checked by [`Site::validate`], see [`RuleName`]).
    pub name: String,
    /// The helper (`ftp`, `sip`, `tftp`, `RAS`, `Q.931`, ...).
    pub helper: String,
    /// Where the master connections go.
    pub direction: Direction,
    /// The hosts that listen on the helper's ports (for amanda: the backed-up hosts running
    /// amandad); empty: any.
    #[serde(default)]
    pub servers: Vec<String>,
    /// The hosts that connect to them; empty: any (for `local`: the firewall host).
    #[serde(default)]
    pub clients: Vec<String>,
    /// Master ports; empty: the helper's default port.
    #[serde(default)]
    pub ports: Vec<u16>,
    /// Where the far end of RELATED flows may be when the helper leaves it open (SIP media
    /// from a provider's RTP farm, IRC DCC peers); empty: wherever the model allows.
    #[serde(default)]
    pub related: Vec<String>,
    /// Lowest destination port of RELATED flows whose port the payload chooses.
    #[serde(default = "default_min_port")]
    pub min_port: u16,
    /// Addresses the site publishes the servers at through destination NAT (inbound services
    /// only). Helpers are assigned before destination NAT, so the assignment matches these
    /// (and `public_ports`); RELATED flows are matched on the servers' own addresses.
    #[serde(default)]
    pub public: Vec<String>,
    /// The ports the servers are published at (default: `ports`).
    #[serde(default)]
    pub public_ports: Vec<u16>,
}

fn default_min_port() -> u16 {
    1024
}

impl Service {
    /// A service with every optional field at its default (any servers and clients, the
    /// helper's port, port floor 1024, not published).
    ///
    /// ```
    /// use netfilter_helpers_core::site::{Direction, Service};
    /// let mut s = Service::new("ftp-in", "ftp", Direction::Inbound);
    /// s.servers = vec!["10.0.0.5".into()];
    /// assert_eq!(s.min_port, 1024);
    /// ```
    pub fn new(name: &str, helper: &str, direction: Direction) -> Service {
        Service {
            name: name.to_string(),
            helper: helper.to_string(),
            direction,
            servers: Vec::new(),
            clients: Vec::new(),
            ports: Vec::new(),
            related: Vec::new(),
            min_port: default_min_port(),
            public: Vec::new(),
            public_ports: Vec::new(),
        }
    }
}

/// A site as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Site {
    /// The kernel version the rules are for (default: current kernels).
    #[serde(default)]
    pub kernel: Option<String>,
    /// Name of the nft table and prefix of iptables chains.
    #[serde(default)]
    pub table: Option<String>,
    /// Add a reverse-path filter rule (`rpfilter` / `fib`) to the anti-spoofing rules.
    #[serde(default = "yes")]
    pub rpfilter: bool,
    /// Addresses of the firewall host besides those written with host bits in the
    /// interfaces' `networks` (a service address on a loopback, say).
    #[serde(default)]
    pub local_addresses: Vec<String>,
    /// Packets arriving on interfaces the site does not describe.
    #[serde(default)]
    pub unknown_interfaces: UnknownInterfaces,
    /// `net.ipv4.conf.default.rp_filter`: the mode interfaces created later start with.
    #[serde(default)]
    pub rp_filter_default: RpFilter,
    /// Drop special-purpose sources (RFC 6890: private, CGNAT, link-local, documentation,
    /// 240/4, foreign ULA, ...) arriving on the default-route interface, except the site's
    /// own networks and `bogon_exceptions`.
    #[serde(default)]
    pub bogons: bool,
    /// Special-purpose networks that may arrive on the default-route interface all the same.
    #[serde(default)]
    pub bogon_exceptions: Vec<String>,
    /// Log what the rules drop, rate-limited (`log_rate` per minute, each rule).
    #[serde(default)]
    pub log: bool,
    /// Log messages per minute and rule (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_rate: Option<u32>,
    /// Enforce, or only log what would be dropped.
    #[serde(default)]
    pub mode: Mode,
    /// Module options, `MODULE.PARAM = VALUE` (`"ftp.loose" = 0`).
    #[serde(default)]
    pub options: BTreeMap<String, toml_value::Value>,
    /// The interfaces.
    #[serde(default)]
    pub interfaces: Vec<Interface>,
    /// The services that need helpers.
    #[serde(default)]
    pub services: Vec<Service>,
}

fn yes() -> bool {
    true
}

/// Log messages per minute and rule when the site names no rate.
pub const DEFAULT_LOG_RATE: u32 = 10;

/// Option values as TOML and JSON write them.
pub mod toml_value {
    use serde::{Deserialize, Serialize};

    /// A scalar option value.
    ///
    /// ```
    /// use netfilter_helpers_core::site::toml_value::Value;
    /// assert_eq!(Value::Int(1).to_string(), "1");
    /// assert_eq!(Value::Bool(true).to_string(), "1");
    /// ```
    #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(untagged)]
    pub enum Value {
        /// `true` / `false`.
        Bool(bool),
        /// A number.
        Int(i64),
        /// Text (`"21,2121"`).
        Text(String),
    }

    impl std::fmt::Display for Value {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self {
                Value::Bool(b) => f.write_str(if *b { "1" } else { "0" }),
                Value::Int(n) => write!(f, "{n}"),
                Value::Text(s) => f.write_str(s),
            }
        }
    }
}

/// Every problem found in a site.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("invalid site: {}", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct SiteError {
    /// The problems, in document order.
    pub problems: Vec<Problem>,
}

/// A validated interface.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ValidInterface {
    /// The name.
    pub name: IfName,
    /// Whether the default route leaves through it.
    pub default_route: bool,
    /// Attached networks (host bits cleared).
    pub attached: Vec<Cidr>,
    /// Routed networks.
    pub routed: Vec<Cidr>,
    /// DHCPv4 clients on this interface.
    pub dhcp: bool,
    /// Reverse-path filtering.
    pub rp_filter: RpFilter,
    /// The firewall's own addresses on the interface (the `networks` written with host bits).
    pub addresses: Vec<IpAddr>,
    /// Whether `name` is a prefix of interface names.
    pub prefix_match: bool,
    /// Mark-aware reverse-path lookups.
    pub rp_filter_mark: bool,
}

impl ValidInterface {
    /// Attached and routed networks of one family, aggregated.
    ///
    /// ```
    /// use netfilter_helpers_core::site::Site;
    /// use netfilter_helpers_core::net::Family;
    /// let s = Site::from_toml("[[interfaces]]\nname = \"eth0\"\ndefault_route = true\nnetworks = [\"10.0.0.1/25\"]\nrouted = [\"10.0.0.128/25\"]\n").unwrap();
    /// let v = s.validate().unwrap();
    /// assert_eq!(v.interfaces[0].networks(Family::Ipv4)[0].to_string(), "10.0.0.0/24");
    /// ```
    pub fn networks(&self, family: Family) -> Vec<Cidr> {
        aggregate(
            self.attached
                .iter()
                .chain(&self.routed)
                .copied()
                .filter(|c| c.family() == family)
                .collect(),
        )
    }
}

/// A validated service.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ValidService {
    /// The name.
    pub name: RuleName,
    /// The helper registration CT rules assign (`ftp`, or `ftp-0` when `ports=0` renamed it).
    pub helper: HelperName,
    /// The direction.
    pub direction: Direction,
    /// Servers (empty: any).
    pub servers: Vec<Cidr>,
    /// Clients (empty: any; for `local`, the firewall host).
    pub clients: Vec<Cidr>,
    /// Master ports.
    pub ports: Vec<u16>,
    /// Where RELATED flows' open ends may be (empty: anywhere the model allows).
    pub related: Vec<Cidr>,
    /// The port floor.
    pub min_port: u16,
    /// The families the service runs in.
    pub families: Vec<Family>,
    /// Addresses the servers are published at through destination NAT.
    pub public: Vec<Cidr>,
    /// Ports they are published at (`ports` when the site names none).
    pub public_ports: Vec<u16>,
    /// Whether the servers are the firewall host itself (every server is one of its own
    /// addresses): RELATED flows then run through INPUT and OUTPUT.
    pub servers_local: bool,
}

impl ValidService {
    /// Whether the firewall host is the client (`direction = "local"`).
    pub fn clients_local(&self) -> bool {
        self.direction == Direction::Local
    }
}

/// A site whose every value is checked: names are safe in rule text, networks do not overlap
/// across interfaces, exactly one interface carries the default route, helpers exist for the
/// families used.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub struct ValidSite {
    /// The kernel version the rules are for.
    pub kernel: KernelVersion,
    /// Table name / chain prefix.
    pub table: RuleName,
    /// Whether to add a reverse-path filter rule.
    pub rpfilter: bool,
    /// Every address of the firewall host: the interfaces' own addresses, then
    /// `local_addresses`.
    pub local_addresses: Vec<IpAddr>,
    /// Risky but valid choices, each with its path (an outbound SIP service that parses
    /// traffic to any host, `related` networks the kernel ignores, ...).
    pub warnings: Vec<Problem>,
    /// Packets on undeclared interfaces.
    pub unknown_interfaces: UnknownInterfaces,
    /// The rp_filter mode of interfaces created later.
    pub rp_filter_default: RpFilter,
    /// Whether special-purpose sources are dropped on the default-route interface.
    pub bogons: bool,
    /// Special-purpose networks let in all the same.
    pub bogon_exceptions: Vec<Cidr>,
    /// Log rate per minute and rule, when drops are logged (`log`, or always in log-only
    /// mode).
    pub log_rate: Option<u32>,
    /// Log instead of dropping.
    pub log_only: bool,
    /// Module options.
    pub options: ModuleOptions,
    /// Interfaces, in input order.
    pub interfaces: Vec<ValidInterface>,
    /// Services, in input order.
    pub services: Vec<ValidService>,
}

impl ValidSite {
    /// The interface that carries the default route.
    pub fn default_interface(&self) -> &ValidInterface {
        self.interfaces
            .iter()
            .find(|i| i.default_route)
            .expect("validation guarantees one default-route interface")
    }
}

/// Longest table name: iptables chain names (at most 28 bytes) are `<table>-helpers-out`.
pub const TABLE_MAX: usize = 16;

impl Site {
    /// Reads a site from TOML (syntax and type errors name line and column).
    pub fn from_toml(text: &str) -> Result<Site, SiteError> {
        toml::from_str(text).map_err(|e| SiteError {
            problems: vec![crate::policy::toml_problem(text, &e, "site")],
        })
    }

    /// Reads a site from JSON.
    ///
    /// ```
    /// use netfilter_helpers_core::site::Site;
    /// let s = Site::from_json(r#"{"interfaces": [{"name": "eth0", "default_route": true}]}"#).unwrap();
    /// assert!(s.validate().is_ok());
    /// ```
    pub fn from_json(text: &str) -> Result<Site, SiteError> {
        serde_json::from_str(text).map_err(|e| SiteError {
            problems: vec![Problem {
                path: format!("line {}, column {}", e.line(), e.column()),
                message: e.to_string(),
            }],
        })
    }

    /// Reads a site in either format, told apart by [`crate::doc::detect_format`] from the
    /// file name (if any) and the text.
    ///
    /// ```
    /// use netfilter_helpers_core::site::Site;
    /// let s = Site::from_text(None, r#"{"interfaces": [{"name": "eth0", "default_route": true}]}"#).unwrap();
    /// assert_eq!(s.interfaces[0].name, "eth0");
    /// ```
    pub fn from_text(name: Option<&str>, text: &str) -> Result<Site, SiteError> {
        match crate::doc::detect_format(name, text) {
            crate::doc::DocFormat::Json => Site::from_json(text),
            crate::doc::DocFormat::Toml => Site::from_toml(text),
        }
    }

    /// Validates the site, reporting every problem with its path.
    pub fn validate(&self) -> Result<ValidSite, SiteError> {
        let mut problems = Vec::new();
        let mut p = |path: String, message: String| problems.push(Problem { path, message });

        let kernel = match &self.kernel {
            None => DEFAULT_KERNEL,
            Some(k) => KernelVersion::from_proc_version(k).unwrap_or_else(|e| {
                p("kernel".into(), e.to_string());
                DEFAULT_KERNEL
            }),
        };
        let caps = kernel.capabilities();
        if !caps.ct_target {
            p(
                "kernel".into(),
                format!(
                    "{kernel} predates the CT target (2.6.34): helpers cannot be assigned explicitly"
                ),
            );
        }
        let table = match &self.table {
            None => RuleName::new("nfh").expect("valid"),
            Some(t) if t.len() > TABLE_MAX => {
                p(
                    "table".into(),
                    format!(
                        "table name {t:?} is longer than {TABLE_MAX} bytes (iptables chain names are built from it)"
                    ),
                );
                RuleName::new("nfh").expect("valid")
            }
            Some(t) if crate::net::nft_keywords::is_nft_keyword(t) => {
                p(
                    "table".into(),
                    format!(
                        "table name {t:?} is an nft keyword: `table inet {t}` does not parse, and nft takes no quoted table names; choose another name"
                    ),
                );
                RuleName::new("nfh").expect("valid")
            }
            Some(t) => RuleName::new(t).unwrap_or_else(|e| {
                p("table".into(), e);
                RuleName::new("nfh").expect("valid")
            }),
        };
        let mut options = ModuleOptions::new();
        for (k, v) in &self.options {
            if let Err(e) = options.set_assignment(&format!("{k}={v}")) {
                p(format!("options.{k:?}"), e.to_string());
            }
        }

        let mut early_warnings: Vec<Problem> = Vec::new();
        old_kernel_options(self, kernel, &mut options, &mut early_warnings);

        // Interfaces.
        let mut interfaces = Vec::new();
        let mut names: BTreeMap<String, usize> = BTreeMap::new();
        for (i, iface) in self.interfaces.iter().enumerate() {
            let base = format!("interfaces[{i}]");
            let name = IfName::new(&iface.name).unwrap_or_else(|e| {
                p(format!("{base}.name"), e);
                IfName::new("invalid").expect("valid")
            });
            if let Some(prev) = names.insert(iface.name.to_string(), i) {
                p(
                    format!("{base}.name"),
                    format!(
                        "interface {} is already described at interfaces[{prev}]",
                        iface.name
                    ),
                );
            }
            let mut parse_list = |field: &str, list: &[String], lenient: bool| -> Vec<Cidr> {
                let mut out = Vec::new();
                for (j, text) in list.iter().enumerate() {
                    match parse_net(text, lenient) {
                        Ok(c) => out.push(c),
                        Err(e) => p(format!("{base}.{field}[{j}]"), e),
                    }
                }
                out
            };
            let attached = parse_list("networks", &iface.networks, true);
            let routed = parse_list("routed", &iface.routed, false);
            let addresses = iface
                .networks
                .iter()
                .filter_map(|t| own_address(t))
                .collect();
            let prefix_match = iface.name_match == NameMatch::Prefix;
            if prefix_match && iface.name.len() >= IFNAME_MAX {
                p(
                    format!("{base}.name"),
                    format!(
                        "prefix {:?} is {} bytes: with iptables' '+' it must be at most {} bytes",
                        iface.name,
                        iface.name.len(),
                        IFNAME_MAX - 1
                    ),
                );
            }
            interfaces.push(ValidInterface {
                name,
                default_route: iface.default_route,
                attached,
                routed,
                dhcp: iface.dhcp,
                rp_filter: iface.rp_filter,
                addresses,
                prefix_match,
                rp_filter_mark: iface.rp_filter_mark,
            });
        }
        // The same network on two interfaces (the default-route interface's included): sort
        // every network by (family, first address, last address), so large sites stay fast.
        {
            struct Entry {
                key: (u8, u128, u128),
                iface: usize,
                field: String,
                net: Cidr,
            }
            let mut all: Vec<Entry> = Vec::new();
            for (i, iface) in interfaces.iter().enumerate() {
                for (ai, n) in iface.attached.iter().chain(&iface.routed).enumerate() {
                    let field = if ai < iface.attached.len() {
                        format!("networks[{ai}]")
                    } else {
                        format!("routed[{}]", ai - iface.attached.len())
                    };
                    all.push(Entry {
                        key: span(n),
                        iface: i,
                        field,
                        net: *n,
                    });
                }
            }
            all.sort_by_key(|e| (e.key, e.iface));
            // Nested networks are fine (the most specific one wins); the same network on two
            // interfaces is not. Equal spans sit next to each other in the sorted order.
            let found: Vec<(usize, usize)> = (1..all.len())
                .filter(|&j| all[j - 1].key == all[j].key && all[j - 1].iface != all[j].iface)
                .map(|j| (j - 1, j))
                .collect();
            for (a, b) in found {
                let (x, y) = if all[a].iface <= all[b].iface {
                    (a, b)
                } else {
                    (b, a)
                };
                p(
                    format!("interfaces[{}].{}", all[x].iface, all[x].field),
                    format!(
                        "{} on {} is also {} on {}: a source cannot be legitimate on two interfaces (a more specific network behind another interface is fine)",
                        all[x].net,
                        interfaces[all[x].iface].name,
                        all[y].net,
                        interfaces[all[y].iface].name
                    ),
                );
            }
        }
        // A prefix interface must not also match another declared name: iptables and nft would
        // each apply both, in an order the site did not choose.
        for (i, a) in interfaces.iter().enumerate() {
            for (j, b) in interfaces.iter().enumerate() {
                if i != j
                    && a.prefix_match
                    && b.name.as_str().starts_with(a.name.as_str())
                    && (b.name != a.name || j > i)
                {
                    p(
                        format!("interfaces[{j}].name"),
                        format!(
                            "{} is also matched by the prefix {}* at interfaces[{i}]: describe each interface once",
                            b.name, a.name
                        ),
                    );
                }
            }
        }
        let mut bogon_exceptions = Vec::new();
        for (j, text) in self.bogon_exceptions.iter().enumerate() {
            match parse_net(text, false) {
                Ok(c) => bogon_exceptions.push(c),
                Err(e) => p(format!("bogon_exceptions[{j}]"), e),
            }
        }
        let log_rate = self.log_rate.unwrap_or(DEFAULT_LOG_RATE);
        if !(1..=60_000).contains(&log_rate) {
            p(
                "log_rate".into(),
                format!("{log_rate} messages per minute is out of range: accepted 1..=60000"),
            );
        }
        let reverse_path = self.rpfilter && (caps.rpfilter_match || caps.nft_fib);
        if self.unknown_interfaces == UnknownInterfaces::Rpfilter && !reverse_path {
            p(
                "unknown_interfaces".into(),
                if self.rpfilter {
                    format!(
                        "\"rpfilter\" needs the rpfilter match (Linux 3.3), which {kernel} lacks: choose \"drop\""
                    )
                } else {
                    "\"rpfilter\" needs rpfilter = true".into()
                },
            );
        }
        let defaults = interfaces.iter().filter(|i| i.default_route).count();
        if !self.interfaces.is_empty() && defaults != 1 {
            p(
                "interfaces".into(),
                if defaults == 0 {
                    "no interface has default_route = true: exactly one must carry the default route".into()
                } else {
                    format!("{defaults} interfaces have default_route = true: exactly one may")
                },
            );
        }
        if self.interfaces.is_empty() {
            p(
                "interfaces".into(),
                "at least one interface (the one with the default route) is needed".into(),
            );
        }

        // The firewall's own addresses.
        let mut local_addresses: Vec<IpAddr> = interfaces
            .iter()
            .flat_map(|i| i.addresses.iter().copied())
            .collect();
        for (j, text) in self.local_addresses.iter().enumerate() {
            match text.parse::<IpAddr>() {
                Ok(a) => local_addresses.push(a),
                Err(_) => p(
                    format!("local_addresses[{j}]"),
                    format!("{text:?} is not an IP address"),
                ),
            }
        }
        let local_set: std::collections::HashSet<IpAddr> =
            local_addresses.iter().copied().collect();
        let is_local = |c: &Cidr| {
            let host = match c.family() {
                Family::Ipv4 => 32,
                Family::Ipv6 => 128,
            };
            c.prefix() == host && local_set.contains(&c.addr())
        };
        let mut warnings: Vec<Problem> = early_warnings;
        let mut w = |path: String, message: String| warnings.push(Problem { path, message });
        if !reverse_path && self.unknown_interfaces == UnknownInterfaces::Allow {
            w(
                "unknown_interfaces".into(),
                format!(
                    "with {} and unknown_interfaces = \"allow\", an interface the site does not describe (a VPN, a new VLAN) can carry internal sources unchecked",
                    if self.rpfilter {
                        format!("{kernel} (no rpfilter match before 3.3)")
                    } else {
                        "rpfilter = false".to_string()
                    }
                ),
            );
        }
        if !reverse_path {
            w(
                "rpfilter".into(),
                "no reverse-path rule: IPv6 sources are checked only by the per-interface networks, and an interface's rp_filter mode has no effect in the rules".into(),
            );
        }
        for (i, iface) in interfaces.iter().enumerate() {
            if iface.prefix_match && iface.rp_filter != self.rp_filter_default {
                w(
                    format!("interfaces[{i}].rp_filter"),
                    format!(
                        "the kernel's rp_filter for {}* interfaces comes from conf.default ({:?}): their per-interface sysctl keys do not exist before they do; the rules apply {:?}",
                        iface.name, self.rp_filter_default, iface.rp_filter
                    ),
                );
            }
        }

        // Services.
        let mut services = Vec::new();
        let mut snames: BTreeMap<String, usize> = BTreeMap::new();
        for (i, s) in self.services.iter().enumerate() {
            let base = format!("services[{i}]");
            let sname = RuleName::new(&s.name).unwrap_or_else(|e| {
                p(format!("{base}.name"), e);
                RuleName::new("invalid").expect("valid")
            });
            if let Some(prev) = snames.insert(s.name.to_string(), i) {
                p(
                    format!("{base}.name"),
                    format!(
                        "service {} is already described at services[{prev}]",
                        s.name
                    ),
                );
            }
            let helper: Helper = match s.helper.parse() {
                Ok(h) => h,
                Err(e) => {
                    p(format!("{base}.helper"), e.to_string());
                    continue;
                }
            };
            if helper == Helper::H245 {
                p(
                    format!("{base}.helper"),
                    "H.245 is attached only through Q.931/RAS expectations; describe a Q.931 or RAS service instead".into(),
                );
                continue;
            }
            let regs = registered_names(helper, &options);
            let name = regs[0].name;
            let mut parse_list = |field: &str, list: &[String]| -> Vec<Cidr> {
                let mut out = Vec::new();
                for (j, text) in list.iter().enumerate() {
                    match parse_net(text, false) {
                        Ok(c) => out.push(c),
                        Err(e) => p(format!("{base}.{field}[{j}]"), e),
                    }
                }
                out
            };
            let servers = parse_list("servers", &s.servers);
            let clients = parse_list("clients", &s.clients);
            let related = parse_list("related", &s.related);
            let public = parse_list("public", &s.public);
            if s.direction == Direction::Local && !s.clients.is_empty() {
                p(
                    format!("{base}.clients"),
                    "a local service's client is the firewall host: leave clients empty".into(),
                );
            }
            if let Some(j) = clients.iter().position(&is_local) {
                p(
                    format!("{base}.clients[{j}]"),
                    format!(
                        "{} is the firewall's own address: write direction = \"local\" for connections the firewall opens",
                        clients[j]
                    ),
                );
            }
            let local_count = servers.iter().filter(|c| is_local(c)).count();
            let servers_local = !servers.is_empty() && local_count == servers.len();
            if local_count > 0 && !servers_local {
                p(
                    format!("{base}.servers"),
                    "some servers are the firewall's own addresses and some are not: their RELATED flows take different paths (INPUT/OUTPUT against FORWARD); describe them as two services".into(),
                );
            }
            if servers_local && s.direction != Direction::Inbound {
                p(
                    format!("{base}.direction"),
                    "the servers are the firewall's own addresses: such a service is inbound (clients connect to the firewall)".into(),
                );
            }
            if !s.public.is_empty() && s.direction != Direction::Inbound {
                p(
                    format!("{base}.public"),
                    "only inbound services are published through destination NAT".into(),
                );
            }
            if !s.public_ports.is_empty() && s.public.is_empty() {
                p(
                    format!("{base}.public_ports"),
                    "public_ports needs the public addresses they are published at".into(),
                );
            }
            if matches!(helper, Helper::NetbiosNs | Helper::Snmp) && s.direction != Direction::Local
            {
                p(
                    format!("{base}.direction"),
                    format!(
                        "the {helper} helper expects replies only to broadcasts the firewall host itself sends: direction must be \"local\""
                    ),
                );
            }
            // Families: those of the addresses given, else all the helper supports.
            let info = helper.info();
            let mut families: Vec<Family> = Vec::new();
            let given: Vec<Family> = servers
                .iter()
                .chain(&clients)
                .chain(&related)
                .map(|c| c.family())
                .collect();
            for f in [Family::Ipv4, Family::Ipv6] {
                let wanted = given.is_empty() || given.contains(&f);
                if wanted && info.supports(f) {
                    families.push(f);
                }
            }
            for (field, list) in [
                ("servers", &servers),
                ("clients", &clients),
                ("related", &related),
                ("public", &public),
            ] {
                for (j, c) in list.iter().enumerate() {
                    if !info.supports(c.family()) {
                        p(
                            format!("{base}.{field}[{j}]"),
                            format!(
                                "{c} is {} but the {helper} helper exists for IPv4 only",
                                c.family()
                            ),
                        );
                    }
                }
            }
            // Servers and clients of one service must share a family.
            if !servers.is_empty() && !clients.is_empty() {
                for f in [Family::Ipv4, Family::Ipv6] {
                    let s_has = servers.iter().any(|c| c.family() == f);
                    let c_has = clients.iter().any(|c| c.family() == f);
                    if s_has != c_has {
                        p(
                            base.clone(),
                            format!("servers and clients must both have {f} networks or neither"),
                        );
                    }
                }
            }
            let ports = if s.ports.is_empty() {
                info.default_port.into_iter().collect()
            } else {
                let mut seen = Vec::new();
                for (j, port) in s.ports.iter().enumerate() {
                    if *port == 0 {
                        p(
                            format!("{base}.ports[{j}]"),
                            "port 0 is not a service port".into(),
                        );
                    } else if seen.contains(port) {
                        p(
                            format!("{base}.ports[{j}]"),
                            format!("port {port} is listed twice"),
                        );
                    } else {
                        seen.push(*port);
                    }
                }
                seen
            };
            let public_ports = if s.public_ports.is_empty() {
                ports.clone()
            } else {
                let mut seen = Vec::new();
                for (j, port) in s.public_ports.iter().enumerate() {
                    if *port == 0 || seen.contains(port) {
                        p(
                            format!("{base}.public_ports[{j}]"),
                            format!("port {port} is 0 or listed twice"),
                        );
                    } else {
                        seen.push(*port);
                    }
                }
                seen
            };
            service_warnings(s, helper, &options, &base, &servers, &related, &mut w);
            if s.direction == Direction::Local && local_addresses.is_empty() {
                w(
                    format!("{base}.direction"),
                    "a local service, but the site names none of the firewall's own addresses (interface networks written with host bits, or local_addresses): its RELATED flows are told apart only by the INPUT/OUTPUT chains, and no rule drops forged copies of the firewall's addresses".into(),
                );
            }
            services.push(ValidService {
                name: sname,
                helper: name,
                direction: s.direction,
                servers,
                clients,
                ports,
                related,
                min_port: s.min_port,
                families,
                public,
                public_ports,
                servers_local,
            });
        }
        if problems.is_empty() {
            Ok(ValidSite {
                kernel,
                table,
                rpfilter: self.rpfilter,
                local_addresses,
                warnings,
                unknown_interfaces: self.unknown_interfaces,
                rp_filter_default: self.rp_filter_default,
                bogons: self.bogons,
                bogon_exceptions,
                log_rate: (self.log || self.mode == Mode::LogOnly).then_some(log_rate),
                log_only: self.mode == Mode::LogOnly,
                options,
                interfaces,
                services,
            })
        } else {
            Err(SiteError { problems })
        }
    }
}

/// Kernel preconditions of explicit assignment that live in module options.
///
/// * Before 3.5 automatic assignment cannot be switched off: every connection to a helper's
///   port gets the helper, whatever the rules say. The only way out is `ports=0`, which
///   registers the helper as `NAME-0` for port 0 only; the CT rules then assign `NAME-0`.
///   Every helper module a service uses gets `ports=0` unless the site sets its ports.
/// * 3.5 to 5.19: `nf_conntrack nf_conntrack_helper=0` (a module parameter of nf_conntrack,
///   `nf_conntrack_helper.c`) goes into modprobe.d as well as the sysctl, which applies only
///   when nf_conntrack is already loaded as sysctl.d runs.
fn old_kernel_options(
    site: &Site,
    kernel: KernelVersion,
    options: &mut ModuleOptions,
    warnings: &mut Vec<Problem>,
) {
    use crate::kernel::AutoAssignment;
    use crate::options::{Param, ParamKind, Value};
    match kernel.capabilities().auto_assignment {
        AutoAssignment::Always => {
            let mut done: Vec<crate::catalogue::Module> = Vec::new();
            for (i, s) in site.services.iter().enumerate() {
                let Ok(helper) = s.helper.parse::<Helper>() else {
                    continue;
                };
                let module = helper.info().module;
                if done.contains(&module) {
                    continue;
                }
                done.push(module);
                let Some(ports) = Param::all()
                    .find(|p| p.spec().module == module && p.spec().kind == ParamKind::Ports)
                else {
                    continue;
                };
                let explicit = options.explicit().any(|(p, _)| p == ports);
                if explicit {
                    let key = site
                        .options
                        .keys()
                        .find(|k| {
                            k.split_once('.').is_some_and(|(m, p)| {
                                p == ports.spec().name && module.name().ends_with(m)
                            })
                        })
                        .cloned()
                        .unwrap_or_else(|| ports.spec().name.to_string());
                    warnings.push(Problem {
                        path: format!("options.{key:?}"),
                        message: format!(
                            "{kernel} assigns helpers automatically and nothing turns that off before 3.5: every connection to the ports set here gets the {helper} helper whatever the rules say; ports=0 avoids it"
                        ),
                    });
                } else if options.set(ports, Value::Ports(vec![0])).is_ok() {
                    warnings.push(Problem {
                        path: format!("services[{i}].helper"),
                        message: format!(
                            "{kernel} assigns helpers automatically and nothing turns that off before 3.5: modprobe.d loads {} with ports=0, so the rules assign {helper}-0 instead",
                            module.name()
                        ),
                    });
                }
            }
        }
        AutoAssignment::KnobDefaultOn | AutoAssignment::KnobDefaultOff => {
            let _ = options.set(Param::ConntrackHelper, Value::Bool(false));
        }
        AutoAssignment::Removed => {}
    }
}

/// Warnings for a service whose rules are correct but wider than a careful site wants.
fn service_warnings(
    s: &Service,
    helper: Helper,
    options: &ModuleOptions,
    base: &str,
    servers: &[Cidr],
    related: &[Cidr],
    w: &mut impl FnMut(String, String),
) {
    let parses_any = s.direction == Direction::Outbound && servers.is_empty();
    if parses_any
        && matches!(
            helper,
            Helper::Sip | Helper::Ras | Helper::Q931 | Helper::Irc
        )
    {
        w(
            format!("{base}.servers"),
            format!(
                "an outbound {helper} service without servers parses traffic to any host: a forged message from any of them (NAT slipstreaming) opens RELATED flows to the clients; name the servers"
            ),
        );
    }
    if helper == Helper::Irc && related.is_empty() {
        w(
            format!("{base}.related"),
            "IRC DCC connections may come from any host (the kernel leaves their source open); name the peers in related to restrict them".into(),
        );
    }
    if helper == Helper::Sip && !related.is_empty() && options.sip_direct_media() {
        w(
            format!("{base}.related"),
            "with sip_direct_media = 1 (the default) the kernel pins media to the signalling peers, so related is ignored; media from a separate RTP farm needs sip_direct_media = 0".into(),
        );
    }
}

/// The address of an interface network written with host bits (`10.0.1.1/24`).
fn own_address(text: &str) -> Option<IpAddr> {
    let n: IpNetwork = text.parse().ok()?;
    (text.contains('/') && n.ip() != n.network()).then(|| n.ip())
}

/// Parses a network; `lenient` accepts host bits (an interface address) and clears them.
fn parse_net(text: &str, lenient: bool) -> Result<Cidr, String> {
    if lenient && text.contains('/') {
        let n: IpNetwork = text
            .parse()
            .map_err(|_| format!("{text:?} is not an IP network (expected ADDRESS/PREFIX)"))?;
        Cidr::new(n.network(), n.prefix()).map_err(|e| e.to_string())
    } else {
        text.parse::<Cidr>().map_err(|e| e.to_string())
    }
}

crate::spelling::spelling! {
    Direction {
        Inbound => "inbound",
        Outbound => "outbound",
        Local => "local",
    }
}

crate::spelling::spelling! {
    Mode {
        Enforce => "enforce",
        LogOnly => "log-only",
    }
}

crate::spelling::spelling! {
    NameMatch {
        Exact => "exact",
        Prefix => "prefix",
    }
}

crate::spelling::spelling! {
    UnknownInterfaces {
        Drop => "drop",
        Rpfilter => "rpfilter",
        Allow => "allow",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
kernel = "6.1.0-18-amd64"
[options]
"ftp.loose" = 0
"sip.sip_direct_media" = 1

[[interfaces]]
name = "eth0"
default_route = true
networks = ["198.51.100.2/24", "2001:db8:ff::2/64"]

[[interfaces]]
name = "eth1"
networks = ["10.0.1.1/24", "fd00:1::1/64"]
routed = ["10.0.2.0/24"]
dhcp = true

[[services]]
name = "ftp-in"
helper = "ftp"
direction = "inbound"
servers = ["10.0.1.10", "fd00:1::10"]
ports = [21, 2121]

[[services]]
name = "voip"
helper = "sip"
direction = "outbound"
clients = ["10.0.1.0/24"]
servers = ["203.0.113.5"]
related = ["203.0.113.0/24"]
"#;

    #[test]
    fn good_site() {
        let v = Site::from_toml(GOOD).unwrap().validate().unwrap();
        assert_eq!(v.kernel, KernelVersion::new(6, 1, 0));
        assert_eq!(v.services[0].families, [Family::Ipv4, Family::Ipv6]);
        assert_eq!(v.services[0].ports, [21, 2121]);
        assert_eq!(v.services[1].families, [Family::Ipv4]);
        assert_eq!(v.interfaces[1].networks(Family::Ipv4).len(), 2);
        assert_eq!(v.services[1].min_port, 1024);
    }

    #[test]
    fn every_problem_with_its_path() {
        let text = r#"
kernel = "two"
table = "my table"
[options]
"ftp.lose" = 1
[[interfaces]]
name = "eth0"
networks = ["10.0.0.0/8"]
[[interfaces]]
name = "eth1"
default_route = false
networks = ["10.1.0.0/16", "not-a-net"]
routed = ["10.2.0.1/16"]
[[services]]
name = "chat"
helper = "irc"
direction = "outbound"
clients = ["fd00::/64"]
[[services]]
name = "chat"
helper = "fpt"
direction = "inbound"
[[services]]
name = "x"
helper = "ftp"
direction = "local"
clients = ["10.0.0.1"]
ports = [21, 21, 0]
"#;
        let e = Site::from_toml(text).unwrap().validate().unwrap_err();
        let paths: Vec<&str> = e.problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "kernel",
                "table",
                "options.\"ftp.lose\"",
                "interfaces[1].networks[1]",
                "interfaces[1].routed[0]",
                "interfaces",
                "services[0].clients[0]",
                "services[1].name",
                "services[1].helper",
                "services[2].clients",
                "services[2].ports[1]",
                "services[2].ports[2]",
            ],
            "{e}"
        );
    }

    #[test]
    fn old_kernels_get_their_module_options() {
        let site = |k: &str, opts: &str| {
            Site::from_toml(&format!(
                "kernel = \"{k}\"\n[options]\n{opts}\n[[interfaces]]\nname = \"eth0\"\ndefault_route = true\n[[services]]\nname = \"f\"\nhelper = \"ftp\"\ndirection = \"inbound\"\n"
            ))
            .unwrap()
            .validate()
            .unwrap()
        };
        // Before 3.5: ports=0, the helper renamed ftp-0, and a warning saying why.
        let v = site("3.2.0", "");
        assert_eq!(
            v.options.render_modprobe(),
            "options nf_conntrack_ftp ports=0\n"
        );
        assert_eq!(v.services[0].helper.to_string(), "ftp-0");
        let old: Vec<_> = v
            .warnings
            .iter()
            .filter(|w| w.message.contains("before 3.5"))
            .collect();
        assert_eq!(old.len(), 1, "{:?}", v.warnings);
        assert_eq!(old[0].path, "services[0].helper");
        // The site's own ports stay, with a warning that automatic assignment applies there.
        let v = site("3.2.0", "\"ftp.ports\" = \"21\"");
        assert_eq!(v.services[0].helper.to_string(), "ftp");
        assert!(
            v.warnings
                .iter()
                .any(|w| w.path == "options.\"ftp.ports\"" && w.message.contains("before 3.5"))
        );
        // 3.5 to 5.19: the switch at module load too; 6.0 and later: nothing.
        for k in ["3.5.0", "4.4.0", "5.15.0"] {
            assert_eq!(
                site(k, "").options.render_modprobe(),
                "options nf_conntrack nf_conntrack_helper=0\n",
                "{k}"
            );
        }
        assert_eq!(site("6.1.0", "").options.render_modprobe(), "");
    }

    #[test]
    fn a_local_service_without_local_addresses_is_warned_about() {
        let text = "[[interfaces]]\nname = \"eth0\"\ndefault_route = true\nnetworks = [\"198.51.100.0/24\"]\n[[services]]\nname = \"t\"\nhelper = \"tftp\"\ndirection = \"local\"\n";
        let v = Site::from_toml(text).unwrap().validate().unwrap();
        assert_eq!(v.warnings.len(), 1, "{:?}", v.warnings);
        assert_eq!(v.warnings[0].path, "services[0].direction");
        let v = Site::from_toml(&text.replace("198.51.100.0/24", "198.51.100.2/24"))
            .unwrap()
            .validate()
            .unwrap();
        assert!(v.warnings.is_empty(), "{:?}", v.warnings);
    }

    #[test]
    fn syntax_errors_have_a_place() {
        let e = Site::from_toml("[[interfaces]]\nname = \"eth0\"\nbogus = 1\n").unwrap_err();
        assert_eq!(e.problems[0].path, "line 3, column 1");
        let e = Site::from_toml("[[interfaces]]\nname = \"a/b\"\n")
            .unwrap()
            .validate()
            .unwrap_err();
        assert_eq!(e.problems[0].path, "interfaces[0].name");
        assert!(e.problems[0].message.contains("contains '/'"), "{e}");
    }

    #[test]
    fn aggregation() {
        let c = |v: &[&str]| -> Vec<String> {
            aggregate(v.iter().map(|s| s.parse().unwrap()).collect())
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        assert_eq!(
            c(&["10.0.0.0/26", "10.0.0.64/26", "10.0.0.128/25"]),
            ["10.0.0.0/24"]
        );
        assert_eq!(
            c(&["10.0.0.64/26", "10.0.0.128/26"]),
            ["10.0.0.64/26", "10.0.0.128/26"]
        );
        assert_eq!(
            c(&["::/1", "8000::/1", "10.0.0.0/8"]),
            ["10.0.0.0/8", "::/0"]
        );
    }
}
