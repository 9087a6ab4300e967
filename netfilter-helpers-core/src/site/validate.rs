//! Validation of a [`Site`] into a [`ValidSite`]: one function per concern, each adding its
//! problems (and warnings) with their paths to one [`Checker`], in document order.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;

use ipnetwork::IpNetwork;

use super::{
    DEFAULT_LOG_RATE, Direction, Mode, NameMatch, Service, Site, SiteError, TABLE_MAX,
    UnknownInterfaces, ValidInterface, ValidService, ValidSite,
};
use crate::catalogue::Helper;
use crate::kernel::{Capabilities, DEFAULT_KERNEL, KernelVersion};
use crate::net::{Cidr, Family, IFNAME_MAX, IfName, RuleName, span};
use crate::options::ModuleOptions;
use crate::registry::registered_names;
use crate::report::Problem;

/// Validates a site: every problem, each with its path, or the validated site.
pub(super) fn validate(site: &Site) -> Result<ValidSite, SiteError> {
    let mut c = Checker {
        site,
        problems: Vec::new(),
        warnings: Vec::new(),
    };
    let kernel = c.kernel();
    let caps = kernel.capabilities();
    let table = c.table();
    let options = c.options(kernel);
    let interfaces = c.interfaces();
    c.same_network_twice(&interfaces);
    c.prefix_overlaps(&interfaces);
    let bogon_exceptions = c.nets("bogon_exceptions", &site.bogon_exceptions, false);
    let log_rate = c.log_rate();
    let reverse_path = c.reverse_path(kernel, &caps);
    c.default_route(&interfaces);
    let local = c.local_addresses(&interfaces);
    c.antispoof_warnings(kernel, reverse_path, &interfaces);
    let services = c.services(&options, &local);
    let Checker {
        problems, warnings, ..
    } = c;
    if !problems.is_empty() {
        return Err(SiteError { problems });
    }
    Ok(ValidSite {
        kernel,
        table,
        rpfilter: site.rpfilter,
        local_addresses: local.addresses,
        warnings,
        unknown_interfaces: site.unknown_interfaces,
        rp_filter_default: site.rp_filter_default,
        bogons: site.bogons,
        bogon_exceptions,
        log_rate: (site.log || site.mode == Mode::LogOnly).then_some(log_rate),
        log_only: site.mode == Mode::LogOnly,
        options,
        interfaces,
        services,
    })
}

/// The firewall's own addresses: from interface networks written with host bits and
/// `local_addresses`.
struct Local {
    addresses: Vec<IpAddr>,
    set: HashSet<IpAddr>,
}

impl Local {
    /// Whether a network is exactly one of the firewall's own addresses.
    fn is_local(&self, c: &Cidr) -> bool {
        let host = match c.family() {
            Family::Ipv4 => 32,
            Family::Ipv6 => 128,
        };
        c.prefix() == host && self.set.contains(&c.addr())
    }
}

/// What one validation found so far.
struct Checker<'a> {
    site: &'a Site,
    problems: Vec<Problem>,
    warnings: Vec<Problem>,
}

impl Checker<'_> {
    fn problem(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem::new(path, message));
    }

    fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Problem::new(path, message));
    }

    /// Parses a list of networks, one problem per entry that does not parse (`field[j]`).
    /// `lenient` accepts host bits (an interface address) and clears them.
    fn nets(&mut self, field: &str, list: &[String], lenient: bool) -> Vec<Cidr> {
        let mut out = Vec::with_capacity(list.len());
        for (j, text) in list.iter().enumerate() {
            match parse_net(text, lenient) {
                Ok(c) => out.push(c),
                Err(e) => self.problem(format!("{field}[{j}]"), e),
            }
        }
        out
    }

    /// The kernel version, and whether it can assign helpers explicitly at all.
    fn kernel(&mut self) -> KernelVersion {
        let kernel = match &self.site.kernel {
            None => DEFAULT_KERNEL,
            Some(k) => KernelVersion::from_proc_version(k).unwrap_or_else(|e| {
                self.problem("kernel", e.to_string());
                DEFAULT_KERNEL
            }),
        };
        if !kernel.capabilities().ct_target {
            self.problem(
                "kernel",
                format!(
                    "{kernel} predates the CT target (2.6.34): helpers cannot be assigned explicitly"
                ),
            );
        }
        kernel
    }

    /// The table name: short enough for iptables chain names, not an nft keyword.
    fn table(&mut self) -> RuleName {
        let fallback = || RuleName::new("nfh").expect("valid");
        match &self.site.table {
            None => fallback(),
            Some(t) if t.len() > TABLE_MAX => {
                self.problem(
                    "table",
                    format!(
                        "table name {t:?} is longer than {TABLE_MAX} bytes (iptables chain names are built from it)"
                    ),
                );
                fallback()
            }
            Some(t) if crate::net::nft_keywords::is_nft_keyword(t) => {
                self.problem(
                    "table",
                    format!(
                        "table name {t:?} is an nft keyword: `table inet {t}` does not parse, and nft takes no quoted table names; choose another name"
                    ),
                );
                fallback()
            }
            Some(t) => RuleName::new(t).unwrap_or_else(|e| {
                self.problem("table", e);
                fallback()
            }),
        }
    }

    /// The module options the site sets, plus those its kernel needs.
    fn options(&mut self, kernel: KernelVersion) -> ModuleOptions {
        let mut options = ModuleOptions::new();
        for (k, v) in &self.site.options {
            if let Err(e) = options.set_assignment(&format!("{k}={v}")) {
                self.problem(format!("options.{k:?}"), e.to_string());
            }
        }
        old_kernel_options(self.site, kernel, &mut options, &mut self.warnings);
        options
    }

    /// Each interface on its own: its name, networks and addresses.
    fn interfaces(&mut self) -> Vec<ValidInterface> {
        let mut interfaces = Vec::with_capacity(self.site.interfaces.len());
        let mut names: BTreeMap<&str, usize> = BTreeMap::new();
        let site = self.site;
        for (i, iface) in site.interfaces.iter().enumerate() {
            let base = format!("interfaces[{i}]");
            let name = IfName::new(&iface.name).unwrap_or_else(|e| {
                self.problem(format!("{base}.name"), e);
                IfName::new("invalid").expect("valid")
            });
            if let Some(prev) = names.insert(&iface.name, i) {
                self.problem(
                    format!("{base}.name"),
                    format!(
                        "interface {} is already described at interfaces[{prev}]",
                        iface.name
                    ),
                );
            }
            let attached = self.nets(&format!("{base}.networks"), &iface.networks, true);
            let routed = self.nets(&format!("{base}.routed"), &iface.routed, false);
            let addresses = iface
                .networks
                .iter()
                .filter_map(|t| own_address(t))
                .collect();
            let prefix_match = iface.name_match == NameMatch::Prefix;
            if prefix_match && iface.name.len() >= IFNAME_MAX {
                self.problem(
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
        interfaces
    }

    /// The same network on two interfaces (the default-route interface's included). Every
    /// network is sorted by (family, first address, last address), so large sites stay fast.
    /// Nested networks are fine (the most specific one wins).
    fn same_network_twice(&mut self, interfaces: &[ValidInterface]) {
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
        // Equal spans sit next to each other in the sorted order.
        for j in 1..all.len() {
            let (a, b) = (&all[j - 1], &all[j]);
            if a.key != b.key || a.iface == b.iface {
                continue;
            }
            let (x, y) = if a.iface <= b.iface { (a, b) } else { (b, a) };
            self.problem(
                format!("interfaces[{}].{}", x.iface, x.field),
                format!(
                    "{} on {} is also {} on {}: a source cannot be legitimate on two interfaces (a more specific network behind another interface is fine)",
                    x.net, interfaces[x.iface].name, y.net, interfaces[y.iface].name
                ),
            );
        }
    }

    /// A prefix interface must not also match another declared name: iptables and nft would
    /// each apply both, in an order the site did not choose.
    fn prefix_overlaps(&mut self, interfaces: &[ValidInterface]) {
        for (i, a) in interfaces.iter().enumerate() {
            for (j, b) in interfaces.iter().enumerate() {
                if i != j
                    && a.prefix_match
                    && b.name.as_str().starts_with(a.name.as_str())
                    && (b.name != a.name || j > i)
                {
                    self.problem(
                        format!("interfaces[{j}].name"),
                        format!(
                            "{} is also matched by the prefix {}* at interfaces[{i}]: describe each interface once",
                            b.name, a.name
                        ),
                    );
                }
            }
        }
    }

    /// The log rate, within what the log statements accept.
    fn log_rate(&mut self) -> u32 {
        let log_rate = self.site.log_rate.unwrap_or(DEFAULT_LOG_RATE);
        if !(1..=60_000).contains(&log_rate) {
            self.problem(
                "log_rate",
                format!("{log_rate} messages per minute is out of range: accepted 1..=60000"),
            );
        }
        log_rate
    }

    /// Whether the rules check reverse paths, and whether `unknown_interfaces` can rely on it.
    fn reverse_path(&mut self, kernel: KernelVersion, caps: &Capabilities) -> bool {
        let site = self.site;
        let reverse_path = site.rpfilter && (caps.rpfilter_match || caps.nft_fib);
        if site.unknown_interfaces == UnknownInterfaces::Rpfilter && !reverse_path {
            self.problem(
                "unknown_interfaces",
                if site.rpfilter {
                    format!(
                        "\"rpfilter\" needs the rpfilter match (Linux 3.3), which {kernel} lacks: choose \"drop\""
                    )
                } else {
                    "\"rpfilter\" needs rpfilter = true".into()
                },
            );
        }
        reverse_path
    }

    /// Exactly one interface carries the default route.
    fn default_route(&mut self, interfaces: &[ValidInterface]) {
        let defaults = interfaces.iter().filter(|i| i.default_route).count();
        if self.site.interfaces.is_empty() {
            self.problem(
                "interfaces",
                "at least one interface (the one with the default route) is needed",
            );
        } else if defaults != 1 {
            self.problem(
                "interfaces",
                if defaults == 0 {
                    "no interface has default_route = true: exactly one must carry the default route".into()
                } else {
                    format!("{defaults} interfaces have default_route = true: exactly one may")
                },
            );
        }
    }

    /// The firewall's own addresses.
    fn local_addresses(&mut self, interfaces: &[ValidInterface]) -> Local {
        let mut addresses: Vec<IpAddr> = interfaces
            .iter()
            .flat_map(|i| i.addresses.iter().copied())
            .collect();
        for (j, text) in self.site.local_addresses.iter().enumerate() {
            match text.parse::<IpAddr>() {
                Ok(a) => addresses.push(a),
                Err(_) => self.problem(
                    format!("local_addresses[{j}]"),
                    format!("{text:?} is not an IP address"),
                ),
            }
        }
        let set = addresses.iter().copied().collect();
        Local { addresses, set }
    }

    /// Anti-spoofing that is weaker than the site may think.
    fn antispoof_warnings(
        &mut self,
        kernel: KernelVersion,
        reverse_path: bool,
        interfaces: &[ValidInterface],
    ) {
        let site = self.site;
        if !reverse_path && site.unknown_interfaces == UnknownInterfaces::Allow {
            self.warn(
                "unknown_interfaces",
                format!(
                    "with {} and unknown_interfaces = \"allow\", an interface the site does not describe (a VPN, a new VLAN) can carry internal sources unchecked",
                    if site.rpfilter {
                        format!("{kernel} (no rpfilter match before 3.3)")
                    } else {
                        "rpfilter = false".to_string()
                    }
                ),
            );
        }
        if !reverse_path {
            self.warn(
                "rpfilter",
                "no reverse-path rule: IPv6 sources are checked only by the per-interface networks, and an interface's rp_filter mode has no effect in the rules",
            );
        }
        for (i, iface) in interfaces.iter().enumerate() {
            if iface.prefix_match && iface.rp_filter != site.rp_filter_default {
                self.warn(
                    format!("interfaces[{i}].rp_filter"),
                    format!(
                        "the kernel's rp_filter for {}* interfaces comes from conf.default ({:?}): their per-interface sysctl keys do not exist before they do; the rules apply {:?}",
                        iface.name, site.rp_filter_default, iface.rp_filter
                    ),
                );
            }
        }
    }

    /// Every service; one that names no usable helper is reported and left out.
    fn services(&mut self, options: &ModuleOptions, local: &Local) -> Vec<ValidService> {
        let mut services = Vec::with_capacity(self.site.services.len());
        let mut names: BTreeMap<&str, usize> = BTreeMap::new();
        let site = self.site;
        for (i, s) in site.services.iter().enumerate() {
            let base = format!("services[{i}]");
            let name = RuleName::new(&s.name).unwrap_or_else(|e| {
                self.problem(format!("{base}.name"), e);
                RuleName::new("invalid").expect("valid")
            });
            if let Some(prev) = names.insert(&s.name, i) {
                self.problem(
                    format!("{base}.name"),
                    format!(
                        "service {} is already described at services[{prev}]",
                        s.name
                    ),
                );
            }
            if let Some(v) = self.service(&base, s, name, options, local) {
                services.push(v);
            }
        }
        services
    }

    /// One service.
    fn service(
        &mut self,
        base: &str,
        s: &Service,
        name: RuleName,
        options: &ModuleOptions,
        local: &Local,
    ) -> Option<ValidService> {
        let helper = self.service_helper(base, s)?;
        let servers = self.nets(&format!("{base}.servers"), &s.servers, false);
        let clients = self.nets(&format!("{base}.clients"), &s.clients, false);
        let related = self.nets(&format!("{base}.related"), &s.related, false);
        let public = self.nets(&format!("{base}.public"), &s.public, false);
        let servers_local = self.service_placement(base, s, helper, &servers, &clients, local);
        let families = self.service_families(base, helper, [&servers, &clients, &related, &public]);
        let ports = match s.ports.is_empty() {
            true => helper.info().default_port.into_iter().collect(),
            false => self.ports(&format!("{base}.ports"), &s.ports),
        };
        let public_ports = match s.public_ports.is_empty() {
            true => ports.clone(),
            false => self.ports(&format!("{base}.public_ports"), &s.public_ports),
        };
        self.service_warnings(base, s, helper, options, &servers, &related, local);
        Some(ValidService {
            name,
            helper: registered_names(helper, options)[0].name,
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
        })
    }

    /// The helper a service names, if it can be assigned.
    fn service_helper(&mut self, base: &str, s: &Service) -> Option<Helper> {
        let helper: Helper = match s.helper.parse() {
            Ok(h) => h,
            Err(e) => {
                self.problem(format!("{base}.helper"), e.to_string());
                return None;
            }
        };
        if helper == Helper::H245 {
            self.problem(
                format!("{base}.helper"),
                "H.245 is attached only through Q.931/RAS expectations; describe a Q.931 or RAS service instead",
            );
            return None;
        }
        Some(helper)
    }

    /// Where the service runs (through the firewall, or on it) and whether its direction, clients
    /// and publication fit; returns whether the servers are the firewall's own addresses.
    fn service_placement(
        &mut self,
        base: &str,
        s: &Service,
        helper: Helper,
        servers: &[Cidr],
        clients: &[Cidr],
        local: &Local,
    ) -> bool {
        if s.direction == Direction::Local && !s.clients.is_empty() {
            self.problem(
                format!("{base}.clients"),
                "a local service's client is the firewall host: leave clients empty",
            );
        }
        if let Some(j) = clients.iter().position(|c| local.is_local(c)) {
            self.problem(
                format!("{base}.clients[{j}]"),
                format!(
                    "{} is the firewall's own address: write direction = \"local\" for connections the firewall opens",
                    clients[j]
                ),
            );
        }
        let local_count = servers.iter().filter(|c| local.is_local(c)).count();
        let servers_local = !servers.is_empty() && local_count == servers.len();
        if local_count > 0 && !servers_local {
            self.problem(
                format!("{base}.servers"),
                "some servers are the firewall's own addresses and some are not: their RELATED flows take different paths (INPUT/OUTPUT against FORWARD); describe them as two services",
            );
        }
        if servers_local && s.direction != Direction::Inbound {
            self.problem(
                format!("{base}.direction"),
                "the servers are the firewall's own addresses: such a service is inbound (clients connect to the firewall)",
            );
        }
        if !s.public.is_empty() && s.direction != Direction::Inbound {
            self.problem(
                format!("{base}.public"),
                "only inbound services are published through destination NAT",
            );
        }
        if !s.public_ports.is_empty() && s.public.is_empty() {
            self.problem(
                format!("{base}.public_ports"),
                "public_ports needs the public addresses they are published at",
            );
        }
        if matches!(helper, Helper::NetbiosNs | Helper::Snmp) && s.direction != Direction::Local {
            self.problem(
                format!("{base}.direction"),
                format!(
                    "the {helper} helper expects replies only to broadcasts the firewall host itself sends: direction must be \"local\""
                ),
            );
        }
        servers_local
    }

    /// The families a service's rules cover: those of the addresses given, else all the helper
    /// supports. Addresses of a family the helper lacks, and servers and clients without a
    /// common family, are problems.
    fn service_families(
        &mut self,
        base: &str,
        helper: Helper,
        [servers, clients, related, public]: [&Vec<Cidr>; 4],
    ) -> Vec<Family> {
        let info = helper.info();
        let given: Vec<Family> = servers
            .iter()
            .chain(clients)
            .chain(related)
            .map(|c| c.family())
            .collect();
        let families = [Family::Ipv4, Family::Ipv6]
            .into_iter()
            .filter(|f| (given.is_empty() || given.contains(f)) && info.supports(*f))
            .collect();
        for (field, list) in [
            ("servers", servers),
            ("clients", clients),
            ("related", related),
            ("public", public),
        ] {
            for (j, c) in list.iter().enumerate() {
                if !info.supports(c.family()) {
                    self.problem(
                        format!("{base}.{field}[{j}]"),
                        format!(
                            "{c} is {} but the {helper} helper exists for IPv4 only",
                            c.family()
                        ),
                    );
                }
            }
        }
        if !servers.is_empty() && !clients.is_empty() {
            for f in [Family::Ipv4, Family::Ipv6] {
                let s_has = servers.iter().any(|c| c.family() == f);
                let c_has = clients.iter().any(|c| c.family() == f);
                if s_has != c_has {
                    self.problem(
                        base,
                        format!("servers and clients must both have {f} networks or neither"),
                    );
                }
            }
        }
        families
    }

    /// A list of ports: none 0, none twice.
    fn ports(&mut self, field: &str, list: &[u16]) -> Vec<u16> {
        let mut seen = Vec::with_capacity(list.len());
        for (j, port) in list.iter().enumerate() {
            if *port == 0 {
                self.problem(format!("{field}[{j}]"), "port 0 is not a service port");
            } else if seen.contains(port) {
                self.problem(
                    format!("{field}[{j}]"),
                    format!("port {port} is listed twice"),
                );
            } else {
                seen.push(*port);
            }
        }
        seen
    }

    /// Warnings for a service whose rules are correct but wider than a careful site wants.
    #[allow(clippy::too_many_arguments)]
    fn service_warnings(
        &mut self,
        base: &str,
        s: &Service,
        helper: Helper,
        options: &ModuleOptions,
        servers: &[Cidr],
        related: &[Cidr],
        local: &Local,
    ) {
        let parses_any = s.direction == Direction::Outbound && servers.is_empty();
        if parses_any
            && matches!(
                helper,
                Helper::Sip | Helper::Ras | Helper::Q931 | Helper::Irc
            )
        {
            self.warn(
                format!("{base}.servers"),
                format!(
                    "an outbound {helper} service without servers parses traffic to any host: a forged message from any of them (NAT slipstreaming) opens RELATED flows to the clients; name the servers"
                ),
            );
        }
        if helper == Helper::Irc && related.is_empty() {
            self.warn(
                format!("{base}.related"),
                "IRC DCC connections may come from any host (the kernel leaves their source open); name the peers in related to restrict them",
            );
        }
        if helper == Helper::Sip && !related.is_empty() && options.sip_direct_media() {
            self.warn(
                format!("{base}.related"),
                "with sip_direct_media = 1 (the default) the kernel pins media to the signalling peers, so related is ignored; media from a separate RTP farm needs sip_direct_media = 0",
            );
        }
        if s.direction == Direction::Local && local.addresses.is_empty() {
            self.warn(
                format!("{base}.direction"),
                "a local service, but the site names none of the firewall's own addresses (interface networks written with host bits, or local_addresses): its RELATED flows are told apart only by the INPUT/OUTPUT chains, and no rule drops forged copies of the firewall's addresses",
            );
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
