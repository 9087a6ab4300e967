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

use crate::catalogue::{Family, Helper, HelperName, L4Proto, registered_names};
use crate::dof::{CommandFrom, Endpoint, ExpectationRule, Freedom, rules_for};
use crate::ir::{ChainKind, HelperObject, Match, Rule, Ruleset, Target};
use crate::kernel::AutoAssignment;
use crate::policy::Cidr;
use crate::site::{Direction, IfName, RuleName, ValidService, ValidSite, aggregate};

/// Builds the ruleset for a site.
pub fn synthesize(site: &ValidSite) -> Ruleset {
    let mut rs = Ruleset::new(site.table.clone());
    rs.kernel = site.kernel;
    rs.mark_mask = site.ct_mark_mask;
    antispoof(site, &mut rs);
    assign_helpers(site, &mut rs);
    related(site, &mut rs);
    sysctls(site, &mut rs);
    rs.modprobe = site.options.render_modprobe();
    rs
}

fn comment(s: &str) -> RuleName {
    RuleName::new(s).expect("synthesiser comments are valid names")
}

fn net(s: &str) -> Cidr {
    s.parse().expect("constant network")
}

fn antispoof(site: &ValidSite, rs: &mut Ruleset) {
    let chain = &mut rs.chain_mut(ChainKind::Antispoof).rules;
    let lo = IfName::new("lo").expect("valid");
    let caps = site.kernel.capabilities();
    // The reverse-path check comes first, so that it also sees the sources the per-interface
    // rules let through (they return early). rpfilter and fib pass DHCP from 0.0.0.0 to the
    // broadcast address and DAD from `::` on their own.
    let rpfilter = site.rpfilter && (caps.rpfilter_match || caps.nft_fib);
    chain.push(
        Rule::new(None, vec![Match::InIface(lo)], Target::Return).with_comment(comment("loopback")),
    );
    if rpfilter {
        chain.push(
            Rule::new(None, vec![Match::RpfilterFails], Target::Drop)
                .with_comment(comment("rpfilter")),
        );
    }
    let default = site.default_interface();
    for iface in site.interfaces.iter().filter(|i| !i.default_route) {
        let c = comment("antispoof");
        let i = || Match::InIface(iface.name.clone());
        // IPv6: link-local sources (neighbour discovery, DHCPv6, router advertisements) and
        // duplicate address detection, which is sent from the unspecified address.
        chain.push(
            Rule::new(
                Some(Family::Ipv6),
                vec![i(), Match::Src(vec![net("fe80::/10")])],
                Target::Return,
            )
            .with_comment(comment("link-local")),
        );
        chain.push(
            Rule::new(
                Some(Family::Ipv6),
                vec![
                    i(),
                    Match::Src(vec![net("::/128")]),
                    Match::Dst(vec![net("ff02::1:ff00:0/104")]),
                    Match::Proto(L4Proto::Icmpv6),
                    Match::Icmpv6Type(135),
                ],
                Target::Return,
            )
            .with_comment(comment("dad")),
        );
        if iface.dhcp {
            chain.push(
                Rule::new(
                    Some(Family::Ipv4),
                    vec![
                        i(),
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
        for family in [Family::Ipv4, Family::Ipv6] {
            let nets = iface.networks(family);
            if !nets.is_empty() {
                chain.push(
                    Rule::new(Some(family), vec![i(), Match::Src(nets)], Target::Return)
                        .with_comment(c.clone()),
                );
            }
            chain.push(Rule::new(Some(family), vec![i()], Target::Drop).with_comment(c.clone()));
        }
    }
    for family in [Family::Ipv4, Family::Ipv6] {
        let internal = aggregate(
            site.interfaces
                .iter()
                .filter(|i| !i.default_route)
                .flat_map(|i| i.networks(family))
                .collect(),
        );
        if !internal.is_empty() {
            chain.push(
                Rule::new(
                    Some(family),
                    vec![Match::InIface(default.name.clone()), Match::Src(internal)],
                    Target::Drop,
                )
                .with_comment(comment("antispoof-default")),
            );
        }
    }
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
    let mut objects: Vec<HelperObject> = Vec::new();
    let mut next_mark = 1u32;
    for s in &site.services {
        let protos = s.helper.helper.info().registered_protocols();
        let mark = match objects.iter().find(|o| o.helper == s.helper) {
            Some(o) => o.mark,
            None => {
                let m = (next_mark << rs.mark_mask.trailing_zeros()) & rs.mark_mask;
                next_mark += 1;
                m
            }
        };
        for p in protos {
            if !objects.iter().any(|o| o.helper == s.helper && o.l4 == *p) {
                objects.push(HelperObject {
                    helper: s.helper,
                    l4: *p,
                    mark,
                });
            }
        }
        let kind = if s.direction == Direction::Local {
            ChainKind::HelpersOut
        } else {
            ChainKind::HelpersIn
        };
        for family in &s.families {
            let (Some(servers), Some(clients)) = (
                family_list(&s.servers, *family),
                family_list(&s.clients, *family),
            ) else {
                continue;
            };
            for p in protos {
                let mut m = vec![Match::Proto(*p)];
                m.extend(addr_match(clients.clone(), true));
                m.extend(addr_match(servers.clone(), false));
                m.push(if s.ports.len() == 1 {
                    Match::Dport(s.ports[0])
                } else {
                    Match::Dports(s.ports.clone())
                });
                rs.chain_mut(kind).rules.push(
                    Rule::new(Some(*family), m, Target::CtHelper(s.helper))
                        .with_comment(s.name.clone()),
                );
            }
        }
    }
    rs.helpers = objects;
}

/// A party of an expected connection, as the site knows it.
#[derive(Clone, Copy, PartialEq, Eq)]
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

fn related(site: &ValidSite, rs: &mut Ruleset) {
    for kind in [
        ChainKind::RelatedForward,
        ChainKind::RelatedInput,
        ChainKind::RelatedOutput,
    ] {
        rs.chain_mut(kind).rules.push(
            Rule::new(None, vec![Match::Icmp], Target::Accept).with_comment(comment("icmp-errors")),
        );
    }
    for s in &site.services {
        for rule in service_rules(s, site) {
            let senders: &[bool] = match rule.command_from {
                CommandFrom::Initiator => &[true],
                CommandFrom::Responder => &[false],
                CommandFrom::Either => &[true, false],
            };
            for &sender_is_initiator in senders {
                let role = |e: Endpoint| match (e, sender_is_initiator) {
                    (Endpoint::Initiator, _)
                    | (Endpoint::Sender, true)
                    | (Endpoint::Peer, false) => Party::Clients,
                    _ => Party::Servers,
                };
                let sender = role(Endpoint::Sender);
                let resolve = |f: Freedom| match f {
                    Freedom::Master(e) | Freedom::PayloadChecked(e) => role(e),
                    Freedom::Payload if !s.related.is_empty() => Party::Related,
                    Freedom::Payload => sender,
                    Freedom::Wildcard if !s.related.is_empty() => Party::Related,
                    _ => Party::Any,
                };
                let src = resolve(rule.freedoms.src_addr);
                let dst = resolve(rule.freedoms.dst_addr);
                let protos: Vec<L4Proto> = match rule.freedoms.l4 {
                    Freedom::Protocol(p) => vec![p],
                    _ => s.helper.helper.info().master_protocols.to_vec(),
                };
                // The chain: for the firewall host's own connections, the host is the client.
                let chain = match s.direction {
                    Direction::Local if dst == Party::Clients => ChainKind::RelatedInput,
                    Direction::Local if src == Party::Clients => ChainKind::RelatedOutput,
                    Direction::Local => continue,
                    _ => ChainKind::RelatedForward,
                };
                let creator = registered_names(rule.helper, &site.options)
                    .first()
                    .map(|r| r.name)
                    .unwrap_or(HelperName {
                        helper: rule.helper,
                        suffix: None,
                    });
                for family in &s.families {
                    let list = |p: Party| -> Option<Vec<Cidr>> {
                        match p {
                            Party::Clients if s.direction == Direction::Local => Some(Vec::new()),
                            Party::Clients => family_list(&s.clients, *family),
                            Party::Servers => family_list(&s.servers, *family),
                            Party::Related => family_list(&s.related, *family),
                            Party::Any => Some(Vec::new()),
                        }
                    };
                    let (Some(src_list), Some(dst_list)) = (list(src), list(dst)) else {
                        continue;
                    };
                    for p in &protos {
                        let mut m = vec![Match::Helper {
                            creator,
                            assigned: s.helper,
                        }];
                        m.extend(addr_match(src_list.clone(), true));
                        m.extend(addr_match(dst_list.clone(), false));
                        m.push(Match::Proto(*p));
                        if rule.freedoms.src_port == Freedom::HelperPort
                            && let Some(port) = rule.helper.info().default_port
                        {
                            m.push(Match::Sport(port));
                        }
                        if rule.freedoms.dst_port == Freedom::Payload
                            && s.min_port > 0
                            && p.has_ports()
                        {
                            m.push(Match::DportFrom(s.min_port));
                        }
                        let r = Rule::new(Some(*family), m, Target::Accept)
                            .with_comment(s.name.clone());
                        let rules = &mut rs.chain_mut(chain).rules;
                        if !rules.contains(&r) {
                            rules.push(r);
                        }
                    }
                }
            }
        }
    }
    for kind in [
        ChainKind::RelatedForward,
        ChainKind::RelatedInput,
        ChainKind::RelatedOutput,
    ] {
        rs.chain_mut(kind)
            .rules
            .push(Rule::new(None, vec![], Target::Drop).with_comment(comment("related-unmatched")));
    }
}

fn sysctls(site: &ValidSite, rs: &mut Ruleset) {
    let key = |name: &str| {
        // sysctl.d separates with '.'; a name containing '.' (VLANs) needs the '/' form.
        if name.contains('.') {
            format!("net/ipv4/conf/{name}/rp_filter")
        } else {
            format!("net.ipv4.conf.{name}.rp_filter")
        }
    };
    // The kernel uses the maximum of conf/all and conf/<if>: `all` gets the lowest mode any
    // interface needs, each interface its own.
    let min = site
        .interfaces
        .iter()
        .map(|i| i.rp_filter.sysctl())
        .min()
        .unwrap_or(1);
    let mut v = vec![
        ("net.ipv4.conf.all.rp_filter".to_string(), min.to_string()),
        (
            "net.ipv4.conf.default.rp_filter".to_string(),
            min.to_string(),
        ),
    ];
    for i in &site.interfaces {
        v.push((key(i.name.as_str()), i.rp_filter.sysctl().to_string()));
    }
    if matches!(
        site.kernel.capabilities().auto_assignment,
        AutoAssignment::KnobDefaultOn | AutoAssignment::KnobDefaultOff
    ) {
        v.push((
            "net.netfilter.nf_conntrack_helper".to_string(),
            "0".to_string(),
        ));
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

    #[test]
    fn antispoof_shape() {
        let rs = synthesize(&site(""));
        let a = &rs.chain(ChainKind::Antispoof).rules;
        let eth2_v4 = a
            .iter()
            .find(|r| {
                r.family == Some(Family::Ipv4)
                    && r.target == Target::Return
                    && r.matches.first() == Some(&Match::InIface(IfName::new("eth2").unwrap()))
            })
            .unwrap();
        // 10.0.2.0/24 attached and 10.0.3.0/24 routed aggregate to one prefix.
        assert_eq!(
            eth2_v4.matches[1],
            Match::Src(vec!["10.0.2.0/23".parse().unwrap()])
        );
        let default_drop = a
            .iter()
            .find(|r| {
                r.matches.first() == Some(&Match::InIface(IfName::new("eth0").unwrap()))
                    && r.family == Some(Family::Ipv4)
            })
            .unwrap();
        assert_eq!(
            default_drop.matches[1],
            Match::Src(vec![
                "10.0.1.0/24".parse().unwrap(),
                "10.0.2.0/23".parse().unwrap()
            ]),
            "internal networks are dropped on the default-route interface"
        );
        // The reverse-path check sees everything but loopback: it precedes the early returns.
        assert_eq!(a[1].matches, vec![Match::RpfilterFails]);
        assert!(
            a.iter()
                .any(|r| r.comment.as_ref().map(RuleName::as_str) == Some("dhcp"))
        );
    }

    #[test]
    fn sip_media_uses_the_related_networks() {
        let rs = synthesize(&site(
            "[[services]]\nname = \"voip\"\nhelper = \"sip\"\ndirection = \"outbound\"\nclients = [\"10.0.1.0/24\"]\nservers = [\"203.0.113.5\"]\nrelated = [\"203.0.113.0/24\"]\n[options]\n\"sip.sip_direct_media\" = 0\n",
        ));
        let farm: Cidr = "203.0.113.0/24".parse().unwrap();
        let rel = &rs.chain(ChainKind::RelatedForward).rules;
        assert!(
            rel.iter()
                .any(|r| r.matches.contains(&Match::Src(vec![farm]))
                    && r.matches.contains(&Match::Proto(L4Proto::Udp)))
        );
        assert!(
            rel.iter()
                .all(|r| !r.matches.is_empty() || r.target == Target::Drop)
        );
    }

    #[test]
    fn mark_mask_is_the_sites() {
        let text = "ct_mark_mask = 0x0000ff00\n[[interfaces]]\nname = \"eth0\"\ndefault_route = true\n[[services]]\nname = \"f\"\nhelper = \"ftp\"\ndirection = \"inbound\"\n";
        let rs = synthesize(&Site::from_toml(text).unwrap().validate().unwrap());
        assert_eq!(rs.mark_mask, 0xff00);
        assert_eq!(rs.helpers[0].mark, 0x0100);
        let bad = Site::from_toml(&text.replace("0x0000ff00", "0x00f0000f"))
            .unwrap()
            .validate()
            .unwrap_err();
        assert_eq!(bad.problems[0].path, "ct_mark_mask");
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
