//! Synthesis: a [`ValidSite`] becomes a [`Ruleset`]. No text is produced here.
//!
//! * **Anti-spoofing** (raw PREROUTING, before connection tracking): on every interface but the
//!   default-route one, only its attached and routed networks pass (plus IPv6 link-local
//!   sources, duplicate address detection from `::`, and DHCPv4 from `0.0.0.0` where the site
//!   says so); everything else arriving there is dropped. On the default-route interface the
//!   logic is inverted: sources of the internal networks are dropped. Before all of these,
//!   where the kernel has it, a reverse-path filter rule sees every packet but loopback's.
//!   Legitimate packets *return* rather than being accepted, so the helper-assignment rules
//!   after them still run.
//! * **Helper assignment** with the CT target / `ct helper set`, restricted to each service's
//!   ports, servers and clients, in PREROUTING for forwarded traffic and OUTPUT for
//!   connections the firewall host opens. Nothing relies on automatic assignment, and
//!   non-standard ports are covered by rules, never by `ports=`.
//! * **RELATED accepts** derived from the degree-of-freedom model: for each kind of
//!   expectation the helper creates, the source and destination of the expected connection
//!   are the service's roles the model pins them to (ftp data only between the server and its
//!   clients); where the payload or a wildcard decides, the service's `related` networks (the
//!   provider's RTP farm) or the announcing side's role restrict it; payload-chosen ports get
//!   the service's port floor. Each related chain first accepts ICMP errors and ends with a
//!   drop: there is no blanket RELATED accept.
//!
//! ```
//! use netfilter_helpers_core::site::Site;
//! use netfilter_helpers_core::synth::synthesize;
//! use netfilter_helpers_core::ir::ChainKind;
//!
//! let site = Site::from_toml(r#"
//!     [[interfaces]]
//!     name = "eth0"
//!     default_route = true
//!     [[interfaces]]
//!     name = "eth1"
//!     networks = ["10.0.1.1/24"]
//!     [[services]]
//!     name = "ftp-in"
//!     helper = "ftp"
//!     direction = "inbound"
//!     servers = ["10.0.1.10"]
//! "#).unwrap().validate().unwrap();
//! let rs = synthesize(&site);
//! assert!(!rs.chain(ChainKind::HelpersIn).rules.is_empty());
//! assert!(!rs.chain(ChainKind::RelatedForward).rules.is_empty());
//! ```

use crate::catalogue::{Helper, HelperName};
use crate::net::{Family, L4Proto};
use crate::registry::registered_names;
use std::collections::{BTreeSet, HashMap};

use crate::dof::{CommandFrom, Endpoint, ExpectationRule, Freedom, PortRule, rules_for};
use crate::ir::{
    ChainKind, Comment, ConfScope, HelperObject, Match, Rule, Ruleset, Sysctl, Target,
};
use crate::kernel::AutoAssignment;
use crate::net::Cidr;
use std::net::IpAddr;

use crate::net::{IfName, RpFilter, aggregate};
use crate::site::{UnknownInterfaces, ValidInterface, ValidService, ValidSite};

/// Builds the ruleset for a site.
pub fn synthesize(site: &ValidSite) -> Ruleset {
    let mut rs = Ruleset::new(site.table.clone());
    rs.kernel = site.kernel;
    antispoof(site, &mut rs);
    assign_helpers(site, &mut rs);
    related(site, &mut rs);
    sysctls(site, &mut rs);
    rs.options = site.options.clone();
    rs
}

fn comment(s: &str) -> Comment {
    Comment::new(s).expect("synthesiser comments are valid")
}

fn net(s: &str) -> Cidr {
    s.parse().expect("constant network")
}

/// The rules that stop a packet: a rate-limited log first when the site logs, then a drop
/// (with a counter, in every backend), or in log-only mode a return instead of the drop.
fn stop(site: &ValidSite, family: Option<Family>, matches: Vec<Match>, kind: &str) -> Vec<Rule> {
    let mut out = Vec::with_capacity(2);
    if let Some(rate) = site.log_rate {
        let mut m = matches.clone();
        m.push(Match::Limit(rate));
        out.push(
            Rule::new(family, m, Target::Log(comment(&format!("nfh-{kind}"))))
                .with_comment(comment(kind)),
        );
    }
    let target = if site.log_only {
        Target::Return
    } else {
        Target::Drop
    };
    out.push(Rule::new(family, matches, target).with_comment(comment(kind)));
    out
}

/// The interface match of an interface.
fn iface_match(iface: &ValidInterface) -> Match {
    if iface.prefix_match {
        Match::InIfacePrefix(iface.name.clone())
    } else {
        Match::InIface(iface.name.clone())
    }
}

/// Special-purpose networks (RFC 6890 and its updates) that never arrive from the Internet as
/// sources. Multicast and the unspecified address are handled on their own.
const BOGONS: [&str; 21] = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "240.0.0.0/4",
    "::1/128",
    "::ffff:0:0/96",
    "64:ff9b:1::/48",
    "100::/64",
    "2001:db8::/32",
    "3fff::/20",
    "fc00::/7",
    "fec0::/10",
];

/// Anti-spoofing, in this order:
///
/// 1. loopback returns;
/// 2. sources never legitimate from outside are stopped on every other interface: the
///    firewall's own addresses (except towards multicast groups, where the host's own
///    packets loop back) and multicast sources;
/// 3. per described interface: its reverse-path check in its mode; IPv6 DAD and MLD from
///    `::`, DHCPv4 where asked, return; then on an inside interface IPv6 link-local sources
///    return, and its networks, most specific first, return when they are its own and stop
///    when they belong to another interface nested inside; everything else is stopped. On
///    the default-route interface the logic is inverted: the unspecified address, the
///    internal networks (most specific first, the interface's own nested networks returning
///    before them) and, opted in, special-purpose sources are stopped; everything else
///    returns;
/// 4. packets on interfaces the site does not describe: stopped, reverse-path checked, or
///    let through (`unknown_interfaces`).
fn antispoof(site: &ValidSite, rs: &mut Ruleset) {
    let mut chain: Vec<Rule> = Vec::new();
    let lo = IfName::new("lo").expect("valid");
    let caps = site.kernel.capabilities();
    let rp_on = site.rpfilter && (caps.rpfilter_match || caps.nft_fib);
    chain.push(
        Rule::new(None, vec![Match::InIface(lo)], Target::Return).with_comment(comment("loopback")),
    );
    for family in [Family::Ipv4, Family::Ipv6] {
        let own: Vec<Cidr> = aggregate(
            site.local_addresses
                .iter()
                .map(|a| host(*a))
                .filter(|c| c.family() == family)
                .collect(),
        );
        let multicast = net(match family {
            Family::Ipv4 => "224.0.0.0/4",
            Family::Ipv6 => "ff00::/8",
        });
        if !own.is_empty() {
            chain.extend(stop(
                site,
                Some(family),
                vec![Match::Src(own), Match::DstNotGroup],
                "own-address",
            ));
        }
        chain.extend(stop(
            site,
            Some(family),
            vec![Match::Src(vec![multicast])],
            "multicast-source",
        ));
    }
    // Each interface's networks per family, aggregated once, and an index of all of them for
    // finding the networks nested inside one: O(n log n) in the networks of the site.
    let nets: Vec<[Vec<Cidr>; 2]> = site
        .interfaces
        .iter()
        .map(|i| [i.networks(Family::Ipv4), i.networks(Family::Ipv6)])
        .collect();
    let indexes = [Family::Ipv4, Family::Ipv6].map(|f| NetIndex::new(&nets, family_slot(f)));
    for (index, iface) in site.interfaces.iter().enumerate() {
        let im = iface_match(iface);
        if rp_on && iface.rp_filter != RpFilter::Off {
            chain.extend(stop(
                site,
                None,
                vec![
                    im.clone(),
                    Match::RpfilterFails {
                        loose: iface.rp_filter == RpFilter::Loose,
                        mark: iface.rp_filter_mark,
                    },
                ],
                "rpfilter",
            ));
        }
        // IPv6 from the unspecified address: duplicate address detection (neighbour
        // solicitations to a solicited-node group) and MLD reports before an address exists
        // (RFC 3590).
        for (dst, icmp_type, what) in [
            ("ff02::1:ff00:0/104", 135, "dad"),
            ("ff02::16/128", 143, "mld"),
        ] {
            chain.push(
                Rule::new(
                    Some(Family::Ipv6),
                    vec![
                        im.clone(),
                        Match::Src(vec![net("::/128")]),
                        Match::Dst(vec![net(dst)]),
                        Match::Proto(L4Proto::Icmpv6),
                        Match::Icmpv6Type(icmp_type),
                    ],
                    Target::Return,
                )
                .with_comment(comment(what)),
            );
        }
        if iface.dhcp {
            chain.push(
                Rule::new(
                    Some(Family::Ipv4),
                    vec![
                        im.clone(),
                        Match::Src(vec![net("0.0.0.0/32")]),
                        Match::Dst(vec![net("255.255.255.255/32")]),
                        Match::Proto(L4Proto::Udp),
                        Match::Sport(68),
                        Match::Dport(67),
                    ],
                    Target::Return,
                )
                .with_comment(comment("dhcp")),
            );
        }
        if iface.default_route {
            default_route_rules(site, iface, &im, &mut chain);
        } else {
            // Neighbour discovery, DHCPv6 and router advertisements use link-local sources.
            chain.push(
                Rule::new(
                    Some(Family::Ipv6),
                    vec![im.clone(), Match::Src(vec![net("fe80::/10")])],
                    Target::Return,
                )
                .with_comment(comment("link-local")),
            );
            for family in [Family::Ipv4, Family::Ipv6] {
                let own = &nets[index][family_slot(family)];
                let nested: Vec<Cidr> = aggregate(
                    own.iter()
                        .flat_map(|n| indexes[family_slot(family)].inside(n, index))
                        .collect(),
                );
                layered(site, family, &im, own, &nested, true, &mut chain);
                chain.extend(stop(site, Some(family), vec![im.clone()], "antispoof"));
            }
        }
    }
    match site.unknown_interfaces {
        UnknownInterfaces::Drop => chain.extend(stop(site, None, vec![], "unknown-interface")),
        UnknownInterfaces::Rpfilter => chain.extend(stop(
            site,
            None,
            vec![Match::RpfilterFails {
                loose: false,
                mark: false,
            }],
            "unknown-interface",
        )),
        UnknownInterfaces::Allow => {}
    }
    rs.chain_mut(ChainKind::Antispoof).rules = chain;
}

/// A host address as a network.
fn host(a: IpAddr) -> Cidr {
    Cidr::new(a, if a.is_ipv4() { 32 } else { 128 }).expect("a host is a network")
}

fn family_slot(f: Family) -> usize {
    match f {
        Family::Ipv4 => 0,
        Family::Ipv6 => 1,
    }
}

/// The last address of a network, as an integer.
fn span_end(c: &Cidr) -> u128 {
    crate::net::span(c).2
}

/// Every interface's networks of one family, sorted by first address, with their interface.
struct NetIndex {
    /// (first address, last address, network, interface index).
    entries: Vec<(u128, u128, Cidr, usize)>,
}

impl NetIndex {
    fn new(nets: &[[Vec<Cidr>; 2]], slot: usize) -> NetIndex {
        let mut entries: Vec<(u128, u128, Cidr, usize)> = nets
            .iter()
            .enumerate()
            .flat_map(|(i, n)| {
                n[slot]
                    .iter()
                    .map(move |c| (span_start(c), span_end(c), *c, i))
            })
            .collect();
        entries.sort_by_key(|e| (e.0, e.2.prefix()));
        NetIndex { entries }
    }

    /// The networks of interfaces other than `owner` strictly inside `n`.
    fn inside<'a>(&'a self, n: &Cidr, owner: usize) -> impl Iterator<Item = Cidr> + 'a {
        let (start, end, prefix) = (span_start(n), span_end(n), n.prefix());
        let first = self.entries.partition_point(|e| e.0 < start);
        self.entries[first..]
            .iter()
            .take_while(move |e| e.0 <= end)
            .filter(move |e| e.1 <= end && e.3 != owner && e.2.prefix() > prefix)
            .map(|e| e.2)
    }
}

/// The networks that decide on one interface, most specific first: `own` return and `others`
/// stop. With `own_decides` (an inside interface) `others` are the other interfaces' networks
/// nested inside `own`, and all of them decide; otherwise (the default-route interface)
/// `others` are the internal networks, which all stop, and only the `own` networks nested
/// inside one of them come first.
fn layered(
    site: &ValidSite,
    family: Family,
    im: &Match,
    own: &[Cidr],
    others: &[Cidr],
    own_decides: bool,
    chain: &mut Vec<Rule>,
) {
    let mut entries: Vec<(Cidr, bool)> = Vec::new();
    entries.extend(others.iter().map(|c| (*c, false)));
    if own_decides {
        entries.extend(own.iter().map(|c| (*c, true)));
    } else {
        // `others` is sorted and disjoint (aggregated): the one that could hold `c` is the
        // last that starts at or before it.
        entries.extend(
            own.iter()
                .filter(|c| {
                    let i = others.partition_point(|o| span_start(o) <= span_start(c));
                    i > 0 && others[i - 1].contains(c.addr()) && c.prefix() > others[i - 1].prefix()
                })
                .map(|c| (*c, true)),
        );
    }
    // Most specific first; runs of the same verdict share one rule.
    entries.sort_by_key(|(c, own)| (std::cmp::Reverse(c.prefix()), !*own, span_start(c)));
    let mut i = 0;
    while i < entries.len() {
        let verdict = entries[i].1;
        let mut j = i;
        while j < entries.len() && entries[j].1 == verdict {
            j += 1;
        }
        let nets: Vec<Cidr> = entries[i..j].iter().map(|(c, _)| *c).collect();
        let m = vec![im.clone(), Match::Src(nets)];
        if verdict {
            chain.push(
                Rule::new(Some(family), m, Target::Return).with_comment(comment("antispoof")),
            );
        } else {
            chain.extend(stop(site, Some(family), m, "antispoof"));
        }
        i = j;
    }
}

fn span_start(c: &Cidr) -> u128 {
    crate::net::span(c).1
}

fn default_route_rules(
    site: &ValidSite,
    iface: &ValidInterface,
    im: &Match,
    chain: &mut Vec<Rule>,
) {
    for family in [Family::Ipv4, Family::Ipv6] {
        let unspecified = net(match family {
            Family::Ipv4 => "0.0.0.0/8",
            Family::Ipv6 => "::/128",
        });
        chain.extend(stop(
            site,
            Some(family),
            vec![im.clone(), Match::Src(vec![unspecified])],
            "unspecified-source",
        ));
        let internal = aggregate(
            site.interfaces
                .iter()
                .filter(|i| !i.default_route)
                .flat_map(|i| i.networks(family))
                .collect(),
        );
        layered(
            site,
            family,
            im,
            &iface.networks(family),
            &internal,
            false,
            chain,
        );
        if site.bogons {
            let mut keep: Vec<Cidr> = site
                .interfaces
                .iter()
                .flat_map(|i| i.networks(family))
                .collect();
            keep.extend(
                site.bogon_exceptions
                    .iter()
                    .filter(|c| c.family() == family),
            );
            let bogons: Vec<Cidr> = BOGONS
                .iter()
                .map(|b| net(b))
                .filter(|c| c.family() == family)
                .collect();
            let list = subtract(&bogons, &keep);
            if !list.is_empty() {
                chain.extend(stop(
                    site,
                    Some(family),
                    vec![im.clone(), Match::Src(list)],
                    "bogon",
                ));
            }
        }
    }
    chain.push(
        Rule::new(None, vec![im.clone()], Target::Return).with_comment(comment("default-route")),
    );
}

/// The parts of `nets` outside every network of `remove`, aggregated and sorted.
fn subtract(nets: &[Cidr], remove: &[Cidr]) -> Vec<Cidr> {
    let mut out = Vec::new();
    let mut work: Vec<Cidr> = nets.to_vec();
    while let Some(n) = work.pop() {
        let same = |r: &&Cidr| r.family() == n.family();
        if remove
            .iter()
            .filter(same)
            .any(|r| r.prefix() <= n.prefix() && r.contains(n.addr()))
        {
            continue;
        }
        if !remove
            .iter()
            .filter(same)
            .any(|r| r.prefix() > n.prefix() && n.contains(r.addr()))
        {
            out.push(n);
            continue;
        }
        // Part of it is removed: look at both halves.
        let bits: u8 = if n.family() == Family::Ipv4 { 32 } else { 128 };
        let start = span_start(&n);
        let half = 1u128 << (bits - n.prefix() - 1);
        for s in [start, start + half] {
            let addr = match n.family() {
                Family::Ipv4 => IpAddr::V4(std::net::Ipv4Addr::from(s as u32)),
                Family::Ipv6 => IpAddr::V6(std::net::Ipv6Addr::from(s)),
            };
            work.push(Cidr::new(addr, n.prefix() + 1).expect("a half of a network is a network"));
        }
    }
    aggregate(out)
}

/// The networks of one family, aggregated; `Some(empty)` means any, `None` that the list
/// names networks but none of this family (so nothing of this family is allowed).
fn family_list(list: &[Cidr], family: Family) -> Option<Vec<Cidr>> {
    if list.is_empty() {
        return Some(Vec::new());
    }
    let l = aggregate(
        list.iter()
            .copied()
            .filter(|c| c.family() == family)
            .collect(),
    );
    (!l.is_empty()).then_some(l)
}

fn addr_match(list: Vec<Cidr>, src: bool) -> Option<Match> {
    if list.is_empty() {
        None
    } else if src {
        Some(Match::Src(list))
    } else {
        Some(Match::Dst(list))
    }
}

fn assign_helpers(site: &ValidSite, rs: &mut Ruleset) {
    let mut objects: BTreeSet<HelperObject> = BTreeSet::new();
    for s in &site.services {
        let protos = s.helper.helper.info().registered_protocols();
        for p in protos {
            objects.insert(HelperObject {
                helper: s.helper,
                l4: *p,
            });
        }
        // Assignment runs before destination NAT: a published service is matched on its
        // public addresses and ports, and on its servers' own for direct access.
        let kind = if s.clients_local() {
            ChainKind::HelpersOut
        } else {
            ChainKind::HelpersIn
        };
        let mut targets: Vec<(&[Cidr], &[u16])> = vec![(&s.servers, &s.ports)];
        if !s.public.is_empty() {
            targets.push((&s.public, &s.public_ports));
        }
        for family in &s.families {
            let Some(clients) = family_list(&s.clients, *family) else {
                continue;
            };
            for (servers, ports) in &targets {
                let Some(servers) = family_list(servers, *family) else {
                    continue;
                };
                for p in protos {
                    let mut m = vec![Match::Proto(*p)];
                    m.extend(addr_match(clients.clone(), true));
                    m.extend(addr_match(servers.clone(), false));
                    m.push(if ports.len() == 1 {
                        Match::Dport(ports[0])
                    } else {
                        Match::Dports(ports.to_vec())
                    });
                    rs.chain_mut(kind).rules.push(
                        Rule::new(Some(*family), m, Target::CtHelper(s.helper))
                            .with_comment(s.name.clone()),
                    );
                }
            }
        }
    }
    rs.helpers = objects.into_iter().collect();
}

/// A party of an expected connection, as the site knows it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Party {
    Clients,
    Servers,
    Related,
    Any,
}

/// The rules a service's RELATED flows follow: its helper's, and for H.323 those of the
/// helpers its expectations attach (RAS leads to Q.931, Q.931 to H.245).
fn service_rules(s: &ValidService, site: &ValidSite) -> Vec<ExpectationRule> {
    let helpers: &[Helper] = match s.helper.helper {
        Helper::Ras => &[Helper::Ras, Helper::Q931, Helper::H245],
        Helper::Q931 => &[Helper::Q931, Helper::H245],
        h => return rules_for(h, &site.options),
    };
    helpers
        .iter()
        .flat_map(|h| rules_for(*h, &site.options))
        .collect()
}

/// The parties an address of the expected connection may be, given where it comes from.
///
/// Pinned addresses (`M`, `P=M`) are the role of that endpoint. The site's `related`
/// networks (the provider's RTP farm, IRC peers) belong to the server side. An address the
/// payload chooses is restricted to the announcing side: a client announces itself, the
/// server side announces a server or a `related` network. A wildcard is the other side of the
/// flow: the clients, or on the server side its servers and `related` networks (anyone when
/// the site names none).
fn parties(
    f: Freedom,
    sender_is_initiator: bool,
    other: Option<&[Party]>,
    related: bool,
) -> Vec<Party> {
    let role = |e: Endpoint| match (e, sender_is_initiator) {
        (Endpoint::Initiator, _) | (Endpoint::Sender, true) | (Endpoint::Peer, false) => {
            Party::Clients
        }
        _ => Party::Servers,
    };
    let server_side = || {
        if related {
            vec![Party::Servers, Party::Related]
        } else {
            vec![Party::Any]
        }
    };
    match f {
        Freedom::Master(e) | Freedom::PayloadChecked(e) => vec![role(e)],
        Freedom::Payload => match role(Endpoint::Sender) {
            Party::Clients => vec![Party::Clients],
            _ if related => vec![Party::Servers, Party::Related],
            _ => vec![Party::Servers],
        },
        Freedom::Wildcard => match other {
            Some([Party::Clients]) => server_side(),
            Some(o)
                if o.iter()
                    .all(|p| matches!(p, Party::Servers | Party::Related)) =>
            {
                vec![Party::Clients]
            }
            _ => vec![Party::Any],
        },
        _ => vec![Party::Any],
    }
}

fn related(site: &ValidSite, rs: &mut Ruleset) {
    let mut seen: HashMap<(ChainKind, Rule), usize> = HashMap::new();
    for kind in RELATED_CHAINS {
        rs.chain_mut(kind).rules.push(
            Rule::new(None, vec![Match::Icmp], Target::Return).with_comment(comment("icmp-errors")),
        );
    }
    for s in &site.services {
        let has_related = !s.related.is_empty();
        // Each party's networks per family, aggregated once per service.
        let lists: Vec<(Family, [Option<Vec<Cidr>>; 3])> = s
            .families
            .iter()
            .map(|f| {
                (
                    *f,
                    [
                        family_list(&s.clients, *f),
                        family_list(&s.servers, *f),
                        family_list(&s.related, *f),
                    ],
                )
            })
            .collect();
        for rule in service_rules(s, site) {
            let senders: &[bool] = match rule.command_from {
                CommandFrom::Initiator => &[true],
                CommandFrom::Responder => &[false],
                CommandFrom::Either => &[true, false],
            };
            let protos: Vec<L4Proto> = match rule.freedoms.l4 {
                Freedom::Protocol(p) => vec![p],
                _ => s.helper.helper.info().master_protocols.to_vec(),
            };
            // The helper of the master that creates this expectation: the one the service
            // assigns, or for H.323 the helper an earlier expectation attached.
            let creator = if rule.helper == s.helper.helper {
                s.helper
            } else {
                registered_names(rule.helper, &site.options)
                    .first()
                    .map(|r| r.name)
                    .unwrap_or(HelperName {
                        helper: rule.helper,
                        suffix: None,
                    })
            };
            let comment = Comment::new(&format!(
                "{}/{}/{}",
                s.name,
                creator,
                rule.kind
                    .label()
                    .replace(" (", "-")
                    .replace(['(', ')'], "")
                    .replace([' ', '/'], "-")
            ))
            .expect("service names, helper names and labels are comment-safe");
            for &sender_is_initiator in senders {
                let f = &rule.freedoms;
                let (src_first, fixed, free) = if f.dst_addr == Freedom::Wildcard {
                    (true, f.src_addr, f.dst_addr)
                } else {
                    (false, f.dst_addr, f.src_addr)
                };
                let fixed_parties = parties(fixed, sender_is_initiator, None, has_related);
                for fp in &fixed_parties {
                    for op in parties(free, sender_is_initiator, Some(&[*fp]), has_related) {
                        let (src, dst) = if src_first { (*fp, op) } else { (op, *fp) };
                        let mut pairs = vec![(src, dst)];
                        // PPTP: one GRE expectation per direction.
                        if rule.port_rule == PortRule::GreCallIds {
                            pairs.push((dst, src));
                        }
                        for (src, dst) in pairs {
                            push_related(
                                s, &lists, &rule, creator, &comment, &protos, src, dst, rs,
                                &mut seen,
                            );
                        }
                    }
                }
            }
        }
    }
    for kind in RELATED_CHAINS {
        let rules = stop(site, None, vec![], "related-unmatched");
        rs.chain_mut(kind).rules.extend(rules);
    }
}

const RELATED_CHAINS: [ChainKind; 3] = [
    ChainKind::RelatedForward,
    ChainKind::RelatedInput,
    ChainKind::RelatedOutput,
];

#[allow(clippy::too_many_arguments)]
fn push_related(
    s: &ValidService,
    lists: &[(Family, [Option<Vec<Cidr>>; 3])],
    rule: &ExpectationRule,
    creator: HelperName,
    comment: &Comment,
    protos: &[L4Proto],
    src: Party,
    dst: Party,
    rs: &mut Ruleset,
    seen: &mut HashMap<(ChainKind, Rule), usize>,
) {
    let local = |p: Party| match p {
        Party::Clients => s.clients_local(),
        Party::Servers => s.servers_local,
        _ => false,
    };
    // The chain: flows from or to the firewall host itself run through OUTPUT or INPUT.
    let chain = match (local(src), local(dst)) {
        (true, false) => ChainKind::RelatedOutput,
        (false, true) => ChainKind::RelatedInput,
        (false, false) => ChainKind::RelatedForward,
        (true, true) => return,
    };
    for (family, [clients, servers, related]) in lists {
        let list = |p: Party| -> Option<Vec<Cidr>> {
            match p {
                Party::Clients if s.clients_local() => Some(Vec::new()),
                Party::Clients => clients.clone(),
                Party::Servers => servers.clone(),
                Party::Related => related.clone(),
                Party::Any => Some(Vec::new()),
            }
        };
        let (Some(src_list), Some(dst_list)) = (list(src), list(dst)) else {
            continue;
        };
        for p in protos {
            let mut m = vec![Match::Helper(creator)];
            m.extend(addr_match(src_list.clone(), true));
            m.extend(addr_match(dst_list.clone(), false));
            m.push(Match::Proto(*p));
            if rule.freedoms.src_port == Freedom::HelperPort
                && let Some(port) = rule.helper.info().default_port
            {
                m.push(Match::Sport(port));
            }
            if rule.freedoms.dst_port == Freedom::Payload && s.min_port > 0 && p.has_ports() {
                m.push(Match::DportFrom(s.min_port));
            }
            let r = Rule::new(Some(*family), m, Target::Return);
            let rules = &mut rs.chain_mut(chain).rules;
            match seen.get(&(chain, r.clone())) {
                // The same rule for another class: name both in one comment.
                Some(&i) => {
                    let old = rules[i].comment.as_ref().map(Comment::as_str).unwrap_or("");
                    let label = comment.as_str().rsplit('/').next().unwrap_or("");
                    if !old.split(['/', ',']).any(|part| part == label)
                        && let Ok(c) = Comment::new(&format!("{old},{label}"))
                    {
                        rules[i].comment = Some(c);
                    }
                }
                None => {
                    seen.insert((chain, r.clone()), rules.len());
                    rules.push(r.with_comment(comment.clone()));
                }
            }
        }
    }
}

fn sysctls(site: &ValidSite, rs: &mut Ruleset) {
    // The kernel uses the maximum of conf/all and conf/<if> (`IN_DEV_RPFILTER` is
    // `IN_DEV_MAXCONF(in_dev, RP_FILTER)`): `all` is off when an interface (or the default for
    // new ones) asks for no filtering, else strict, which leaves loose (2) loose; each
    // described interface gets its own mode. Prefix interfaces have no keys before they
    // exist: they start with `default`, which is the site's `rp_filter_default`, never the
    // weakest mode of some other interface.
    let exact = site.interfaces.iter().filter(|i| !i.prefix_match);
    let any_off = exact
        .clone()
        .map(|i| i.rp_filter)
        .chain([site.rp_filter_default])
        .any(|m| m == RpFilter::Off);
    let mut v = vec![
        Sysctl::RpFilter {
            scope: ConfScope::All,
            mode: if any_off {
                RpFilter::Off
            } else {
                RpFilter::Strict
            },
        },
        Sysctl::RpFilter {
            scope: ConfScope::Default,
            mode: site.rp_filter_default,
        },
    ];
    for i in exact {
        v.push(Sysctl::RpFilter {
            scope: ConfScope::Interface(i.name.clone()),
            mode: i.rp_filter,
        });
    }
    if matches!(
        site.kernel.capabilities().auto_assignment,
        AutoAssignment::KnobDefaultOn | AutoAssignment::KnobDefaultOff
    ) {
        v.push(Sysctl::AutoAssign { enabled: false });
    }
    rs.sysctls = v;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::site::Site;

    fn site(extra: &str) -> ValidSite {
        let text = format!(
            r#"
[[interfaces]]
name = "eth0"
default_route = true
networks = ["198.51.100.2/24"]
[[interfaces]]
name = "eth1"
networks = ["10.0.1.1/24", "fd00:1::1/64"]
dhcp = true
[[interfaces]]
name = "eth2"
networks = ["10.0.2.1/24"]
routed = ["10.0.3.0/24"]
{extra}
"#
        );
        Site::from_toml(&text).unwrap().validate().unwrap()
    }

    #[test]
    fn ftp_related_is_between_server_and_clients_only() {
        let rs = synthesize(&site(
            "[[services]]\nname = \"ftp-in\"\nhelper = \"ftp\"\ndirection = \"inbound\"\nservers = [\"10.0.2.10\"]\nclients = [\"10.0.1.0/24\"]\n",
        ));
        let rel = &rs.chain(ChainKind::RelatedForward).rules;
        // icmp, active (server -> client), passive (client -> server), drop.
        assert_eq!(rel.len(), 4, "{rel:#?}");
        assert!(
            rel.iter()
                .all(|r| r.target != Target::CtHelper("ftp".parse().unwrap()))
        );
        let srv: Cidr = "10.0.2.10".parse().unwrap();
        let cli: Cidr = "10.0.1.0/24".parse().unwrap();
        // Active mode: PORT from the client, data from the server to the client.
        assert!(
            rel[1].matches.contains(&Match::Src(vec![srv]))
                && rel[1].matches.contains(&Match::Dst(vec![cli]))
        );
        // Passive mode: 227 from the server, data from the client to the server.
        assert!(
            rel[2].matches.contains(&Match::Src(vec![cli]))
                && rel[2].matches.contains(&Match::Dst(vec![srv]))
        );
        assert!(
            rel.iter()
                .all(|r| r.family != Some(Family::Ipv6) || r.target == Target::Drop)
        );
        assert_eq!(rel.last().unwrap().target, Target::Drop);
        let helpers = &rs.chain(ChainKind::HelpersIn).rules;
        assert_eq!(helpers.len(), 1);
        assert_eq!(helpers[0].target, Target::CtHelper("ftp".parse().unwrap()));
    }

    /// The antispoof rules of one interface and family, as `(sources, target, comment)`.
    fn iface_rules(rs: &Ruleset, name: &str, family: Family) -> Vec<(String, Target, String)> {
        rs.chain(ChainKind::Antispoof)
            .rules
            .iter()
            .filter(|r| r.applies_to(family))
            .filter(|r| r.matches.first() == Some(&Match::InIface(IfName::new(name).unwrap())))
            .map(|r| {
                let src = r
                    .matches
                    .iter()
                    .find_map(|m| match m {
                        Match::Src(l) => Some(
                            l.iter()
                                .map(ToString::to_string)
                                .collect::<Vec<_>>()
                                .join(","),
                        ),
                        Match::RpfilterFails { .. } => Some("rpfilter".into()),
                        _ => None,
                    })
                    .unwrap_or_default();
                (
                    src,
                    r.target.clone(),
                    r.comment.as_ref().unwrap().as_str().to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn antispoof_shape() {
        let rs = synthesize(&site(""));
        let d = Target::Drop;
        let r = Target::Return;
        let row = |s: &str, t: &Target, c: &str| (s.to_string(), t.clone(), c.to_string());
        // eth2: its reverse path first, then 10.0.2.0/24 attached and 10.0.3.0/24 routed
        // (aggregated) return, everything else drops.
        assert_eq!(
            iface_rules(&rs, "eth2", Family::Ipv4),
            [
                row("rpfilter", &d, "rpfilter"),
                row("10.0.2.0/23", &r, "antispoof"),
                row("", &d, "antispoof"),
            ]
        );
        // eth0 (default route): the unspecified source and the internal networks drop, the
        // rest returns.
        assert_eq!(
            iface_rules(&rs, "eth0", Family::Ipv4),
            [
                row("rpfilter", &d, "rpfilter"),
                row("0.0.0.0/8", &d, "unspecified-source"),
                row("10.0.1.0/24,10.0.2.0/23", &d, "antispoof"),
                row("", &r, "default-route"),
            ]
        );
        let a = &rs.chain(ChainKind::Antispoof).rules;
        // Loopback first; the firewall's own addresses never arrive from outside (except
        // towards multicast groups); nothing undeclared passes.
        assert_eq!(a[0].target, Target::Return);
        assert!(a.iter().any(|r| r.matches
            == [
                Match::Src(vec![
                    "10.0.1.1/32".parse().unwrap(),
                    "10.0.2.1/32".parse().unwrap(),
                    "198.51.100.2/32".parse().unwrap()
                ]),
                Match::DstNotGroup
            ]
            && r.target == Target::Drop));
        let last = a.last().unwrap();
        assert!(last.matches.is_empty() && last.target == Target::Drop);
        assert_eq!(last.comment.as_ref().unwrap().as_str(), "unknown-interface");
        assert!(
            a.iter()
                .any(|r| r.comment.as_ref().map(Comment::as_str) == Some("dhcp"))
        );
    }

    #[test]
    fn sysctls_follow_modes_and_skip_prefix_interfaces() {
        let text = "[[interfaces]]\nname = \"wan\"\ndefault_route = true\nrp_filter = \"loose\"\n[[interfaces]]\nname = \"ppp\"\nmatch = \"prefix\"\n[[interfaces]]\nname = \"lan1\"\nrp_filter = \"off\"\n";
        let rs = synthesize(&Site::from_toml(text).unwrap().validate().unwrap());
        let pairs = crate::render::sysctl_pairs(&rs);
        let got: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("net.ipv4.conf.all.rp_filter", "0"),
                ("net.ipv4.conf.default.rp_filter", "1"),
                ("net.ipv4.conf.wan.rp_filter", "2"),
                ("net.ipv4.conf.lan1.rp_filter", "0"),
            ]
        );
        let strict = synthesize(
            &Site::from_toml(&text.replace("\"off\"", "\"strict\""))
                .unwrap()
                .validate()
                .unwrap(),
        );
        assert_eq!(
            strict.sysctls[0],
            Sysctl::RpFilter {
                scope: ConfScope::All,
                mode: RpFilter::Strict
            }
        );
    }

    #[test]
    fn nested_networks_most_specific_wins() {
        let text = "[[interfaces]]\nname = \"wan\"\ndefault_route = true\n[[interfaces]]\nname = \"lan0\"\nnetworks = [\"10.0.0.1/16\"]\n[[interfaces]]\nname = \"lan1\"\nrouted = [\"10.0.5.0/24\"]\n";
        let rs = synthesize(&Site::from_toml(text).unwrap().validate().unwrap());
        let d = Target::Drop;
        let r = Target::Return;
        let row = |s: &str, t: &Target, c: &str| (s.to_string(), t.clone(), c.to_string());
        assert_eq!(
            iface_rules(&rs, "lan0", Family::Ipv4),
            [
                row("rpfilter", &d, "rpfilter"),
                row("10.0.5.0/24", &d, "antispoof"),
                row("10.0.0.0/16", &r, "antispoof"),
                row("", &d, "antispoof"),
            ]
        );
        assert_eq!(
            iface_rules(&rs, "lan1", Family::Ipv4),
            [
                row("rpfilter", &d, "rpfilter"),
                row("10.0.5.0/24", &r, "antispoof"),
                row("", &d, "antispoof"),
            ]
        );
        // The same network on two interfaces is still refused.
        let dup = text.replace("10.0.5.0/24", "10.0.0.0/16");
        let e = Site::from_toml(&dup).unwrap().validate().unwrap_err();
        assert_eq!(e.problems[0].path, "interfaces[1].networks[0]");
    }

    #[test]
    fn bogons_log_only_and_rp_modes() {
        let text = "bogons = true\nbogon_exceptions = [\"192.0.2.0/24\"]\nmode = \"log-only\"\nlog_rate = 6\nunknown_interfaces = \"rpfilter\"\n[[interfaces]]\nname = \"wan\"\ndefault_route = true\nnetworks = [\"198.51.100.2/24\"]\nrp_filter = \"loose\"\nrp_filter_mark = true\n[[interfaces]]\nname = \"lan\"\nnetworks = [\"10.1.0.1/16\"]\nrp_filter = \"off\"\n";
        let rs = synthesize(&Site::from_toml(text).unwrap().validate().unwrap());
        let a = &rs.chain(ChainKind::Antispoof).rules;
        // Log-only: nothing drops; every would-be drop logs (rate-limited), then returns.
        assert!(a.iter().all(|r| r.target != Target::Drop));
        let logs = a
            .iter()
            .filter(|r| matches!(r.target, Target::Log(_)))
            .count();
        assert!(logs > 5);
        assert!(
            a.iter()
                .filter(|r| matches!(r.target, Target::Log(_)))
                .all(|r| r.matches.contains(&Match::Limit(6)))
        );
        // Bogons on the uplink, without the site's own networks and the exception.
        let bogon = a
            .iter()
            .find(|r| {
                r.comment.as_ref().unwrap().as_str() == "bogon"
                    && r.applies_to(Family::Ipv4)
                    && r.target == Target::Return
            })
            .unwrap();
        let Match::Src(list) = &bogon.matches[1] else {
            panic!()
        };
        let has = |s: &str| list.contains(&s.parse().unwrap());
        assert!(
            has("10.0.0.0/16") && has("10.2.0.0/15") && !has("10.1.0.0/16"),
            "{list:?}"
        );
        assert!(has("100.64.0.0/10") && has("240.0.0.0/4"));
        assert!(
            !list
                .iter()
                .any(|c| c.contains("192.0.2.1".parse().unwrap()))
        );
        assert!(
            !list
                .iter()
                .any(|c| c.contains("198.51.100.7".parse().unwrap()))
        );
        // Loose and mark-aware on the uplink, nothing on the "off" interface, strict for
        // undeclared interfaces.
        let rp: Vec<&Match> = a
            .iter()
            .flat_map(|r| &r.matches)
            .filter(|m| matches!(m, Match::RpfilterFails { .. }))
            .collect();
        assert_eq!(
            rp,
            [
                &Match::RpfilterFails {
                    loose: true,
                    mark: true
                },
                &Match::RpfilterFails {
                    loose: true,
                    mark: true
                },
                &Match::RpfilterFails {
                    loose: false,
                    mark: false
                },
                &Match::RpfilterFails {
                    loose: false,
                    mark: false
                },
            ]
        );
        // Related chains log too.
        assert!(
            rs.chain(ChainKind::RelatedForward)
                .rules
                .iter()
                .any(|r| matches!(r.target, Target::Log(_)))
        );
    }

    /// (src, dst) of the UDP RELATED rules of a chain, as text.
    fn udp_pairs(rs: &Ruleset, kind: ChainKind) -> Vec<(String, String)> {
        let list = |r: &Rule, src: bool| {
            r.matches
                .iter()
                .find_map(|m| match (m, src) {
                    (Match::Src(l), true) | (Match::Dst(l), false) => Some(
                        l.iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(","),
                    ),
                    _ => None,
                })
                .unwrap_or_else(|| "any".into())
        };
        rs.chain(kind)
            .rules
            .iter()
            .filter(|r| r.matches.contains(&Match::Proto(L4Proto::Udp)))
            .map(|r| (list(r, true), list(r, false)))
            .collect()
    }

    const VOIP: &str = "[[services]]\nname = \"voip\"\nhelper = \"sip\"\ndirection = \"outbound\"\nclients = [\"10.0.1.0/24\"]\nservers = [\"203.0.113.5\"]\nrelated = [\"198.18.0.0/24\"]\n";

    #[test]
    fn sip_media_with_direct_media_off_is_phones_and_farm_both_ways() {
        let valid = site(&format!("{VOIP}[options]\n\"sip.sip_direct_media\" = 0\n"));
        assert!(valid.warnings.is_empty(), "{:?}", valid.warnings);
        let pairs = udp_pairs(&synthesize(&valid), ChainKind::RelatedForward);
        let p = |a: &str, b: &str| (a.to_string(), b.to_string());
        // Signalling and media with the proxy, media with the farm, both ways; nothing
        // farm-to-farm and nothing from or to anywhere else.
        let want = [
            p("203.0.113.5/32", "10.0.1.0/24"),
            p("10.0.1.0/24", "203.0.113.5/32"),
            p("198.18.0.0/24", "10.0.1.0/24"),
            p("10.0.1.0/24", "198.18.0.0/24"),
        ];
        let mut got = pairs.clone();
        got.sort();
        let mut want = want.to_vec();
        want.sort();
        assert_eq!(got, want);
    }

    #[test]
    fn sip_media_with_direct_media_on_ignores_related_with_a_warning() {
        let valid = site(VOIP);
        assert_eq!(valid.warnings.len(), 1);
        assert_eq!(valid.warnings[0].path, "services[0].related");
        let pairs = udp_pairs(&synthesize(&valid), ChainKind::RelatedForward);
        assert!(
            pairs
                .iter()
                .all(|(s, d)| !s.contains("198.18") && !d.contains("198.18"))
        );
        assert_eq!(pairs.len(), 2, "{pairs:?}");
    }

    #[test]
    fn no_rule_accepts_and_every_related_rule_names_its_creator() {
        let rs = synthesize(&site(&format!(
            "{VOIP}[[services]]\nname = \"h323\"\nhelper = \"RAS\"\ndirection = \"outbound\"\nservers = [\"203.0.113.9\"]\n[[services]]\nname = \"vpn\"\nhelper = \"pptp\"\ndirection = \"outbound\"\nservers = [\"203.0.113.7\"]\n"
        )));
        let rel = &rs.chain(ChainKind::RelatedForward).rules;
        for r in rel {
            assert!(matches!(r.target, Target::Return | Target::Drop));
        }
        let creators: Vec<String> = rel
            .iter()
            .filter_map(|r| {
                r.matches.iter().find_map(|m| match m {
                    Match::Helper(h) => Some(h.to_string()),
                    _ => None,
                })
            })
            .collect();
        for c in ["sip", "RAS", "Q.931", "H.245", "pptp"] {
            assert!(creators.iter().any(|x| x == c), "{c} in {creators:?}");
        }
        // No two rules of a chain are the same once comments are set aside.
        let mut bare: Vec<Rule> = rel
            .iter()
            .map(|r| Rule::new(r.family, r.matches.clone(), r.target.clone()))
            .collect();
        let n = bare.len();
        bare.sort_by_key(|r| format!("{r:?}"));
        bare.dedup();
        assert_eq!(bare.len(), n);
        // PPTP: GRE both ways between the client and the server.
        let gre: Vec<&Rule> = rel
            .iter()
            .filter(|r| r.matches.contains(&Match::Proto(L4Proto::Gre)))
            .collect();
        assert_eq!(gre.len(), 2, "{gre:#?}");
        assert!(
            gre.iter()
                .all(|r| r.comment.as_ref().unwrap().as_str() == "vpn/pptp/gre")
        );
    }

    #[test]
    fn a_server_on_the_firewall_gets_input_and_output_rules() {
        // eth1's own address is 10.0.1.1 (written with host bits).
        let rs = synthesize(&site(
            "[[services]]\nname = \"ftp-fw\"\nhelper = \"ftp\"\ndirection = \"inbound\"\nservers = [\"10.0.1.1\"]\n",
        ));
        let ftp = |k: ChainKind| {
            rs.chain(k)
                .rules
                .iter()
                .filter(|r| r.matches.contains(&Match::Helper("ftp".parse().unwrap())))
                .count()
        };
        assert_eq!(ftp(ChainKind::RelatedForward), 0);
        assert_eq!(
            ftp(ChainKind::RelatedInput),
            1,
            "passive: client -> firewall"
        );
        assert_eq!(
            ftp(ChainKind::RelatedOutput),
            1,
            "active: firewall -> client"
        );
        assert_eq!(rs.chain(ChainKind::HelpersIn).rules.len(), 1);
    }

    #[test]
    fn a_published_server_is_assigned_on_its_public_address() {
        let rs = synthesize(&site(
            "[[services]]\nname = \"ftp-dmz\"\nhelper = \"ftp\"\ndirection = \"inbound\"\nservers = [\"10.0.2.10\"]\npublic = [\"198.51.100.2\"]\npublic_ports = [2121]\n",
        ));
        let assign = &rs.chain(ChainKind::HelpersIn).rules;
        assert_eq!(assign.len(), 2);
        assert!(
            assign[1]
                .matches
                .contains(&Match::Dst(vec!["198.51.100.2".parse().unwrap()]))
        );
        assert!(assign[1].matches.contains(&Match::Dport(2121)));
        // RELATED rules use the server's own address (after DNAT).
        let rel = &rs.chain(ChainKind::RelatedForward).rules;
        assert!(
            rel.iter()
                .all(|r| !format!("{r:?}").contains("198.51.100.2"))
        );
        assert!(rel.iter().any(|r| {
            r.matches
                .contains(&Match::Dst(vec!["10.0.2.10".parse().unwrap()]))
        }));
    }

    #[test]
    fn deterministic() {
        let s = site(
            "[[services]]\nname = \"t\"\nhelper = \"tftp\"\ndirection = \"local\"\nservers = [\"10.0.2.9\"]\n",
        );
        assert_eq!(synthesize(&s), synthesize(&s));
        let rs = synthesize(&s);
        assert_eq!(rs.chain(ChainKind::HelpersOut).rules.len(), 1);
        assert_eq!(rs.chain(ChainKind::RelatedInput).rules.len(), 3);
    }
}
