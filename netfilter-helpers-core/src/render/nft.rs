//! An nftables script: one `inet` table with `ct helper` objects and one base chain per
//! chain kind. Address lists become anonymous sets, so the number of rules does not grow with
//! the number of prefixes.
//!
//! nfh owns its table and nothing else; loading the script replaces the table atomically.
//! Hooks and priorities:
//!
//! | chain | hook | priority | why |
//! |---|---|---|---|
//! | `antispoof` | prerouting | raw (-300) | before connection tracking: spoofed packets never create entries |
//! | `helpers_in` | prerouting | mangle (-150) | after conntrack (-200), which `ct helper set` needs, and before destination NAT (-100), so the assignment sees the addresses the client used, as iptables' raw table does, and NAT adds the sequence-adjustment extension the NAT helpers need |
//! | `helpers_out` | output | mangle (-150) | the same for connections the firewall host opens |
//! | `related_fwd`, `related_in`, `related_out` | forward, input, output | filter (0) | after NAT, on the addresses the hosts really use |
//!
//! RELATED flows are matched with `ct helper "<creator>"`: like iptables' `-m helper`, it
//! reads the helper of the connection's *master* (`nft_ct.c`, `nft_ct_get_eval`, key
//! `NFT_CT_HELPER`: `nfct_help(ct->master)`). No connection or packet mark is read or
//! written. The rules never accept: a `drop` in any base chain is final, a `return` leaves
//! the verdict to the other base chains on the hook, the site's own.

use std::fmt::Write as _;

use crate::ir::{Chain, ChainKind, Match, Rule, Ruleset, Target};
use crate::net::Cidr;
use crate::net::{Family, L4Proto};

pub(super) fn chain_name(kind: ChainKind) -> String {
    kind.suffix().replace('-', "_")
}

/// (hook, priority) of each chain.
pub(super) fn hook(kind: ChainKind) -> (&'static str, &'static str) {
    match kind {
        ChainKind::Antispoof => ("prerouting", "raw"),
        ChainKind::HelpersIn => ("prerouting", "mangle"),
        ChainKind::HelpersOut => ("output", "mangle"),
        ChainKind::RelatedForward => ("forward", "filter"),
        ChainKind::RelatedInput => ("input", "filter"),
        ChainKind::RelatedOutput => ("output", "filter"),
    }
}

fn is_related(kind: ChainKind) -> bool {
    matches!(
        kind,
        ChainKind::RelatedForward | ChainKind::RelatedInput | ChainKind::RelatedOutput
    )
}

fn set(list: &[Cidr]) -> String {
    if list.len() == 1 {
        list[0].to_string()
    } else {
        let items: Vec<String> = list.iter().map(ToString::to_string).collect();
        format!("{{ {} }}", items.join(", "))
    }
}

/// The numeric value of a named priority.
pub(super) fn priority(name: &str) -> i32 {
    match name {
        "raw" => -300,
        "mangle" => -150,
        _ => 0,
    }
}

fn rule_text(rs: &Ruleset, rule: &Rule) -> String {
    let mut s = String::with_capacity(128);
    let ip = |f: Option<Family>| match f {
        Some(Family::Ipv6) => "ip6",
        _ => "ip",
    };
    if let Some(f) = rule.family {
        let _ = write!(
            s,
            "meta nfproto {} ",
            match f {
                Family::Ipv4 => "ipv4",
                Family::Ipv6 => "ipv6",
            }
        );
    }
    let (proto, has_port) = proto_and_ports(rule);
    for m in &rule.matches {
        match m {
            Match::InIface(i) => {
                let _ = write!(s, "iifname \"{i}\" ");
            }
            Match::InIfacePrefix(i) => {
                let _ = write!(s, "iifname \"{i}*\" ");
            }
            Match::DstNotGroup => match rule.family {
                Some(Family::Ipv6) => s.push_str("ip6 daddr != ff00::/8 "),
                _ => s.push_str("fib daddr type != { broadcast, multicast } "),
            },
            Match::Limit(n) => {
                // A log rule counts every packet it sees, logged or not: in log-only mode it
                // is the count of what enforcement would drop.
                if matches!(rule.target, Target::Log(_)) {
                    s.push_str("counter ");
                }
                let _ = write!(s, "limit rate {n}/minute burst 5 packets ");
            }
            Match::Src(l) => {
                let _ = write!(s, "{} saddr {} ", ip(rule.family), set(l));
            }
            Match::Dst(l) => {
                let _ = write!(s, "{} daddr {} ", ip(rule.family), set(l));
            }
            Match::Proto(p) => {
                if !has_port {
                    let _ = write!(s, "meta l4proto {} ", l4(*p));
                }
            }
            Match::Sport(p) => {
                let _ = write!(s, "{} sport {p} ", l4(proto.unwrap_or(L4Proto::Tcp)));
            }
            Match::Dport(p) => {
                let _ = write!(s, "{} dport {p} ", l4(proto.unwrap_or(L4Proto::Tcp)));
            }
            Match::Dports(l) => {
                let items: Vec<String> = l.iter().map(u16::to_string).collect();
                let _ = write!(
                    s,
                    "{} dport {{ {} }} ",
                    l4(proto.unwrap_or(L4Proto::Tcp)),
                    items.join(", ")
                );
            }
            Match::DportFrom(p) => {
                let _ = write!(s, "{} dport {p}-65535 ", l4(proto.unwrap_or(L4Proto::Tcp)));
            }
            Match::Icmp => match rule.family {
                Some(Family::Ipv4) => s.push_str("meta l4proto icmp "),
                Some(Family::Ipv6) => s.push_str("meta l4proto ipv6-icmp "),
                None => s.push_str("meta l4proto { icmp, ipv6-icmp } "),
            },
            Match::Icmpv6Type(t) => {
                let _ = write!(s, "icmpv6 type {t} ");
            }
            Match::Helper(creator) => {
                let _ = write!(s, "ct helper \"{creator}\" ");
            }
            Match::RpfilterFails { loose, mark } => {
                s.push_str("fib saddr ");
                if *mark {
                    s.push_str(". mark ");
                }
                if !*loose {
                    s.push_str(". iif ");
                }
                s.push_str("oif missing ");
            }
        }
    }
    match &rule.target {
        Target::Drop => s.push_str("counter drop"),
        Target::Log(prefix) => {
            let _ = write!(s, "log prefix \"{prefix} \"");
        }
        Target::Return => s.push_str("return"),
        Target::CtHelper(h) => {
            let obj = rs
                .helpers
                .iter()
                .find(|o| o.helper == *h && Some(o.l4) == proto)
                .or_else(|| rs.helpers.iter().find(|o| o.helper == *h));
            match obj {
                Some(o) => {
                    let _ = write!(s, "ct helper set \"{}\"", o.object_name());
                }
                // Synthesis declares an object for every assignment; should one be missing,
                // the rule must not load rather than do something else.
                None => {
                    let _ = write!(s, "ct helper set \"missing-object-{h}\"");
                }
            }
        }
    }
    if let Some(c) = &rule.comment {
        let _ = write!(s, " comment \"{c}\"");
    }
    s
}

/// The rule's protocol, and whether a port (or ICMPv6 type) match implies it: then the
/// protocol needs no separate `meta l4proto` match.
pub(super) fn proto_and_ports(rule: &Rule) -> (Option<L4Proto>, bool) {
    let proto = rule.matches.iter().find_map(|m| match m {
        Match::Proto(p) => Some(*p),
        _ => None,
    });
    let has_port = rule.matches.iter().any(|m| {
        matches!(
            m,
            Match::Sport(_)
                | Match::Dport(_)
                | Match::Dports(_)
                | Match::DportFrom(_)
                | Match::Icmpv6Type(_)
        )
    });
    (proto, has_port)
}

pub(super) fn l4(p: L4Proto) -> String {
    match p {
        L4Proto::Icmpv6 => "ipv6-icmp".into(),
        p => p.name(),
    }
}

fn chain_text(rs: &Ruleset, chain: &Chain, out: &mut String) {
    let (hook, prio) = hook(chain.kind);
    let _ = writeln!(out, "\tchain {} {{", chain_name(chain.kind));
    let _ = writeln!(
        out,
        "\t\ttype filter hook {hook} priority {prio}; policy accept;"
    );
    if is_related(chain.kind) {
        out.push_str("\t\tct state != related return\n");
    }
    for rule in &chain.rules {
        let _ = writeln!(out, "\t\t{}", rule_text(rs, rule));
    }
    out.push_str("\t}\n");
}

/// The script for `nft -f`; loading it replaces the table.
pub(super) fn script(rs: &Ruleset) -> String {
    let mut out = String::with_capacity(96 * rs.rule_count() + 1024);
    out.push_str(super::HEADER);
    let t = &rs.table;
    let _ = writeln!(
        out,
        "# nfh's own table and nothing else: `nft -f` replaces it atomically, the site's tables\n\
         # stay as they are; remove it with `nfh render --backend nft-remove` (`delete table inet {t}`).\n\
         # The rules never accept: they drop spoofed sources and the RELATED flows the model does\n\
         # not allow, and return the rest to the site's own chains, which must accept RELATED\n\
         # themselves. Every RELATED flow that nfh's services do not describe is dropped: nfh\n\
         # must own all helper use on this host.\n\
         table inet {t}\ndelete table inet {t}\ntable inet {t} {{"
    );
    for o in &rs.helpers {
        let _ = writeln!(
            out,
            "\tct helper {} {{\n\t\ttype \"{}\" protocol {}\n\t\tl3proto inet\n\t}}",
            o.object_name(),
            o.helper,
            o.l4
        );
    }
    for chain in &rs.chains {
        chain_text(rs, chain, &mut out);
    }
    out.push_str("}\n");
    out
}

/// The script that removes nfh's table (and succeeds when it is not there).
pub(super) fn remove(rs: &Ruleset) -> String {
    let t = &rs.table;
    format!(
        "{}# Removes nfh's table inet {t}, and nothing else.\ntable inet {t}\ndelete table inet {t}\n",
        super::HEADER
    )
}
