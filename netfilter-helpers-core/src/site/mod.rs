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

use serde::{Deserialize, Serialize};

use crate::catalogue::HelperName;
use crate::kernel::KernelVersion;
use crate::net::Cidr;
use crate::net::Family;
use crate::net::IfName;
use crate::net::RpFilter;
use crate::net::RuleName;
use crate::net::aggregate;
use crate::options::ModuleOptions;
use crate::report::Problem;

mod validate;

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
            problems: vec![crate::doc::toml_problem(text, &e, "site")],
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
        validate::validate(self)
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
