//! iptables-restore files and the article's command form.
//!
//! Address lists become one rule per network (iptables has no sets without ipset); the
//! chains are `<table>-antispoof`, `<table>-helpers-in`, `<table>-helpers-out` in the raw
//! table and `<table>-related-fwd|in|out` in the filter table, hooked from the built-in chains.

use std::fmt::Write as _;

use crate::catalogue::{Family, L4Proto};
use crate::ir::{ChainKind, Match, Rule, Ruleset, Target};
use crate::policy::Cidr;

fn table_of(kind: ChainKind) -> &'static str {
    match kind {
        ChainKind::Antispoof | ChainKind::HelpersIn | ChainKind::HelpersOut => "raw",
        _ => "filter",
    }
}

fn chain_name(rs: &Ruleset, kind: ChainKind) -> String {
    format!("{}-{}", rs.table, kind.suffix())
}

/// The jumps from built-in chains: (table, built-in chain, extra matches, our chain).
fn hooks(rs: &Ruleset) -> Vec<(&'static str, &'static str, &'static str, String)> {
    let related = "-m conntrack --ctstate RELATED ";
    vec![
        (
            "raw",
            "PREROUTING",
            "",
            chain_name(rs, ChainKind::Antispoof),
        ),
        (
            "raw",
            "PREROUTING",
            "",
            chain_name(rs, ChainKind::HelpersIn),
        ),
        ("raw", "OUTPUT", "", chain_name(rs, ChainKind::HelpersOut)),
        (
            "filter",
            "FORWARD",
            related,
            chain_name(rs, ChainKind::RelatedForward),
        ),
        (
            "filter",
            "INPUT",
            related,
            chain_name(rs, ChainKind::RelatedInput),
        ),
        (
            "filter",
            "OUTPUT",
            related,
            chain_name(rs, ChainKind::RelatedOutput),
        ),
    ]
}

/// Expands a rule into the argument strings of one or more iptables rules.
fn expand(rule: &Rule, family: Family) -> Vec<String> {
    let mut srcs: Vec<Option<Cidr>> = vec![None];
    let mut dsts: Vec<Option<Cidr>> = vec![None];
    let mut iface = String::new();
    let mut proto = None;
    let mut ports = String::new();
    let mut modules = String::new();
    for m in &rule.matches {
        match m {
            Match::InIface(i) => iface = format!("-i {i} "),
            Match::Src(l) => srcs = l.iter().map(|c| Some(*c)).collect(),
            Match::Dst(l) => dsts = l.iter().map(|c| Some(*c)).collect(),
            Match::Proto(p) => proto = Some(*p),
            Match::Sport(p) => {
                let _ = write!(ports, "--sport {p} ");
            }
            Match::Dport(p) => {
                let _ = write!(ports, "--dport {p} ");
            }
            Match::Dports(l) => {
                let list: Vec<String> = l.iter().map(u16::to_string).collect();
                let _ = write!(ports, "-m multiport --dports {} ", list.join(","));
            }
            Match::DportFrom(p) => {
                let _ = write!(ports, "--dport {p}:65535 ");
            }
            Match::Icmp => {
                proto = Some(match family {
                    Family::Ipv4 => L4Proto::Icmp,
                    Family::Ipv6 => L4Proto::Icmpv6,
                })
            }
            Match::Icmpv6Type(t) => {
                let _ = write!(ports, "-m icmp6 --icmpv6-type {t} ");
            }
            Match::Helper { creator, .. } => {
                let _ = write!(modules, "-m helper --helper {creator} ");
            }
            Match::RpfilterFails => modules.push_str("-m rpfilter --invert "),
        }
    }
    let proto = proto
        .map(|p| match p {
            L4Proto::Icmpv6 => "-p ipv6-icmp ".to_string(),
            p => format!("-p {p} "),
        })
        .unwrap_or_default();
    let comment = rule
        .comment
        .as_ref()
        .map(|c| format!("-m comment --comment {c} "))
        .unwrap_or_default();
    let target = match &rule.target {
        Target::Accept => "-j ACCEPT".to_string(),
        Target::Drop => "-j DROP".to_string(),
        Target::Return => "-j RETURN".to_string(),
        Target::CtHelper(h) => format!("-j CT --helper {h}"),
    };
    let mut out = Vec::with_capacity(srcs.len() * dsts.len());
    for s in &srcs {
        for d in &dsts {
            let mut line = String::with_capacity(96);
            line.push_str(&iface);
            if let Some(s) = s {
                let _ = write!(line, "-s {s} ");
            }
            if let Some(d) = d {
                let _ = write!(line, "-d {d} ");
            }
            line.push_str(&proto);
            line.push_str(&ports);
            line.push_str(&modules);
            line.push_str(&comment);
            line.push_str(&target);
            out.push(line);
        }
    }
    out
}

/// An `iptables-restore` (IPv4) or `ip6tables-restore` (IPv6) file.
pub(super) fn restore(rs: &Ruleset, family: Family) -> String {
    let mut out = String::with_capacity(64 * rs.rule_count() + 512);
    out.push_str(super::HEADER);
    let _ = writeln!(
        out,
        "# Load with {}-restore, which replaces the raw and filter tables: merge the site's own\n# rules into this file, or add them afterwards with {} -A.",
        tool(family),
        tool(family)
    );
    for (table, builtins) in [
        ("raw", &["PREROUTING", "OUTPUT"][..]),
        ("filter", &["INPUT", "FORWARD", "OUTPUT"][..]),
    ] {
        let _ = writeln!(out, "*{table}");
        for b in builtins {
            let _ = writeln!(out, ":{b} ACCEPT [0:0]");
        }
        for kind in ChainKind::ALL.iter().filter(|k| table_of(**k) == table) {
            let _ = writeln!(out, ":{} - [0:0]", chain_name(rs, *kind));
        }
        for (t, builtin, extra, chain) in hooks(rs) {
            if t == table {
                let _ = writeln!(out, "-A {builtin} {extra}-j {chain}");
            }
        }
        for chain in rs.chains.iter().filter(|c| table_of(c.kind) == table) {
            let name = chain_name(rs, chain.kind);
            for rule in chain.rules.iter().filter(|r| r.applies_to(family)) {
                for args in expand(rule, family) {
                    let _ = writeln!(out, "-A {name} {args}");
                }
            }
        }
        out.push_str("COMMIT\n");
    }
    out
}

fn tool(family: Family) -> &'static str {
    match family {
        Family::Ipv4 => "iptables",
        Family::Ipv6 => "ip6tables",
    }
}

/// `iptables` and `ip6tables` commands, one per rule, as the article writes them.
pub(super) fn commands(rs: &Ruleset) -> String {
    let mut out = String::with_capacity(80 * rs.rule_count() * 2 + 512);
    out.push_str(super::HEADER);
    for family in [Family::Ipv4, Family::Ipv6] {
        let t = tool(family);
        for kind in ChainKind::ALL {
            let _ = writeln!(out, "{t} -t {} -N {}", table_of(kind), chain_name(rs, kind));
        }
        for (table, builtin, extra, chain) in hooks(rs) {
            let _ = writeln!(out, "{t} -t {table} -A {builtin} {extra}-j {chain}");
        }
        for chain in &rs.chains {
            let name = chain_name(rs, chain.kind);
            let table = table_of(chain.kind);
            for rule in chain.rules.iter().filter(|r| r.applies_to(family)) {
                for args in expand(rule, family) {
                    let _ = writeln!(out, "{t} -t {table} -A {name} {args}");
                }
            }
        }
    }
    out
}
