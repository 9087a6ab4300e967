//! iptables-restore files, the hook and removal scripts, and the article's command form.
//!
//! # What nfh owns
//!
//! Chains named `<table>-*` in the raw and filter tables, and one jump from each of raw
//! PREROUTING, raw OUTPUT, filter FORWARD, filter INPUT and filter OUTPUT into them. Nothing
//! else: no built-in chain's policy, no other rule, no other chain.
//!
//! * `<table>-prerouting` (raw PREROUTING) runs `<table>-antispoof`, then `<table>-helpers-in`;
//!   `<table>-helpers-out` hangs off raw OUTPUT; `<table>-related-fwd|in|out` hang off filter
//!   FORWARD, INPUT and OUTPUT for RELATED packets.
//! * Address lists become one rule per network (iptables has no sets without ipset). Where a
//!   rule restricts both source and destination to several networks, the product would grow
//!   as clients × servers, so the rule becomes a *continuation*: one rule per source that
//!   jumps (`-g`) to a sub-chain `<table>-N` holding one rule per destination, which ends by
//!   going on (`-g`) to the chain that holds the rest of the rules. Every chain after the
//!   first is entered by `-g`, so `RETURN` anywhere leaves nfh's rules as it does in the
//!   first chain, and the rule count grows as clients + servers.
//! * Port lists longer than 15 (the limit of `-m multiport`) are split.
//!
//! The restore files hold only nfh's chains: `iptables-restore -w --noflush` replaces their
//! contents atomically and touches nothing else. A restore file cannot add a jump only when
//! it is missing, so the jumps come from a separate idempotent script (`iptables-hooks`,
//! `iptables -C ... || iptables -I ... 1`), or from the site's own rules.

use std::fmt::Write as _;

use crate::ir::{ChainKind, Match, Rule, Ruleset, Target};
use crate::net::Cidr;
use crate::net::{Family, L4Proto};

/// The most ports `-m multiport` takes in one rule.
const MULTIPORT_MAX: usize = 15;

fn table_of(kind: ChainKind) -> &'static str {
    match kind {
        ChainKind::Antispoof | ChainKind::HelpersIn | ChainKind::HelpersOut => "raw",
        _ => "filter",
    }
}

fn chain_name(rs: &Ruleset, kind: ChainKind) -> String {
    format!("{}-{}", rs.table, kind.suffix())
}

/// The raw PREROUTING entry chain: anti-spoofing, then helper assignment.
fn entry_name(rs: &Ruleset) -> String {
    format!("{}-prerouting", rs.table)
}

/// One jump from a built-in chain into nfh's rules.
struct Hook {
    table: &'static str,
    builtin: &'static str,
    /// Matches before the jump.
    matches: &'static str,
    chain: String,
}

/// The jumps, in the order they are added.
fn hooks(rs: &Ruleset) -> Vec<Hook> {
    let related = "-m conntrack --ctstate RELATED ";
    let h = |table, builtin, matches, chain| Hook {
        table,
        builtin,
        matches,
        chain,
    };
    vec![
        h("raw", "PREROUTING", "", entry_name(rs)),
        h("raw", "OUTPUT", "", chain_name(rs, ChainKind::HelpersOut)),
        h(
            "filter",
            "FORWARD",
            related,
            chain_name(rs, ChainKind::RelatedForward),
        ),
        h(
            "filter",
            "INPUT",
            related,
            chain_name(rs, ChainKind::RelatedInput),
        ),
        h(
            "filter",
            "OUTPUT",
            related,
            chain_name(rs, ChainKind::RelatedOutput),
        ),
    ]
}

/// A rule split into the parts iptables writes separately.
struct Parts {
    iface: String,
    srcs: Vec<Option<Cidr>>,
    dsts: Vec<Option<Cidr>>,
    /// Protocol, ports and match modules; one entry per port chunk.
    rest: Vec<String>,
    /// The protocol alone (`-p tcp `): the CT target refuses rules without one.
    proto: String,
    comment: String,
    target: String,
}

fn parts(rule: &Rule, family: Family) -> Parts {
    let mut srcs: Vec<Option<Cidr>> = vec![None];
    let mut dsts: Vec<Option<Cidr>> = vec![None];
    let mut iface = String::new();
    let mut proto = None;
    let mut ports = String::new();
    let mut chunks: Vec<String> = vec![String::new()];
    let mut modules = String::new();
    for m in &rule.matches {
        match m {
            Match::InIface(i) => iface = format!("-i {i} "),
            Match::InIfacePrefix(i) => iface = format!("-i {i}+ "),
            Match::DstNotGroup => match family {
                Family::Ipv4 => modules.push_str(
                    "-m addrtype ! --dst-type BROADCAST -m addrtype ! --dst-type MULTICAST ",
                ),
                Family::Ipv6 => ports.push_str("! -d ff00::/8 "),
            },
            Match::Limit(n) => {
                let _ = write!(modules, "-m limit --limit {n}/minute --limit-burst 5 ");
            }
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
                chunks = l
                    .chunks(MULTIPORT_MAX)
                    .map(|c| {
                        let list: Vec<String> = c.iter().map(u16::to_string).collect();
                        format!("-m multiport --dports {} ", list.join(","))
                    })
                    .collect();
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
            Match::Helper(creator) => {
                let _ = write!(modules, "-m helper --helper {creator} ");
            }
            Match::RpfilterFails { loose, mark } => {
                modules.push_str("-m rpfilter ");
                if *loose {
                    modules.push_str("--loose ");
                }
                if *mark {
                    modules.push_str("--validmark ");
                }
                modules.push_str("--invert ");
            }
        }
    }
    let proto = proto
        .map(|p| match p {
            L4Proto::Icmpv6 => "-p ipv6-icmp ".to_string(),
            p => format!("-p {p} "),
        })
        .unwrap_or_default();
    let rest = chunks
        .iter()
        .map(|c| format!("{proto}{ports}{c}{modules}"))
        .collect();
    let comment = rule
        .comment
        .as_ref()
        .map(|c| format!("-m comment --comment {c} "))
        .unwrap_or_default();
    let target = match &rule.target {
        Target::Drop => "-j DROP".to_string(),
        Target::Return => "-j RETURN".to_string(),
        Target::CtHelper(h) => format!("-j CT --helper {h}"),
        Target::Log(prefix) => format!("-j LOG --log-prefix \"{prefix} \""),
    };
    Parts {
        iface,
        srcs,
        dsts,
        rest,
        proto,
        comment,
        target,
    }
}

/// iptables chains of one table: every chain name, in order, and the rules as they go in
/// a restore file (`-A <chain> <arguments>` lines), written once, straight into one buffer.
#[derive(Default)]
struct Chains {
    names: Vec<String>,
    /// `(chain index, byte range in text)` of every rule, in order.
    rules: Vec<(usize, std::ops::Range<usize>)>,
    text: String,
}

impl Chains {
    fn chain(&mut self, name: String) -> usize {
        self.names.push(name);
        self.names.len() - 1
    }

    /// Appends one rule to chain `c`; `f` writes its arguments.
    fn rule(&mut self, c: usize, f: impl FnOnce(&mut String)) {
        let start = self.text.len();
        f(&mut self.text);
        self.rules.push((c, start..self.text.len()));
    }

    /// The rules as `(chain name, arguments)`.
    fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.rules
            .iter()
            .map(|(c, r)| (self.names[*c].as_str(), &self.text[r.clone()]))
    }
}

/// One chain of the ruleset as iptables chains: the chain itself, then its continuation
/// sub-chains (named `<table>-<n>`, numbered from `next_id`).
fn lower(rs: &Ruleset, kind: ChainKind, family: Family, next_id: &mut usize, out: &mut Chains) {
    let mut cur = out.chain(chain_name(rs, kind));
    let mut fresh = || {
        *next_id += 1;
        format!("{}-{}", rs.table, *next_id)
    };
    for rule in rs.chain(kind).rules.iter().filter(|r| r.applies_to(family)) {
        let p = parts(rule, family);
        if p.srcs.len() > 1 && p.dsts.len() > 1 {
            let sub = fresh();
            let next = fresh();
            for s in &p.srcs {
                for rest in &p.rest {
                    out.rule(cur, |t| {
                        t.push_str(&p.iface);
                        push_addr(t, "-s", s);
                        t.push_str(rest);
                        t.push_str(&p.comment);
                        t.push_str("-g ");
                        t.push_str(&sub);
                    });
                }
            }
            out.rule(cur, |t| {
                t.push_str("-g ");
                t.push_str(&next);
            });
            let sub_i = out.chain(sub);
            for d in &p.dsts {
                out.rule(sub_i, |t| {
                    push_addr(t, "-d", d);
                    t.push_str(&p.proto);
                    t.push_str(&p.comment);
                    t.push_str(&p.target);
                });
            }
            out.rule(sub_i, |t| {
                t.push_str("-g ");
                t.push_str(&next);
            });
            cur = out.chain(next);
        } else {
            for s in &p.srcs {
                for d in &p.dsts {
                    for rest in &p.rest {
                        out.rule(cur, |t| {
                            t.push_str(&p.iface);
                            push_addr(t, "-s", s);
                            push_addr(t, "-d", d);
                            t.push_str(rest);
                            t.push_str(&p.comment);
                            t.push_str(&p.target);
                        });
                    }
                }
            }
        }
    }
}

fn push_addr(t: &mut String, flag: &str, c: &Option<Cidr>) {
    if let Some(c) = c {
        let _ = write!(t, "{flag} {c} ");
    }
}

/// Every iptables chain of one table and family, the raw entry chain first.
fn table_chains(rs: &Ruleset, table: &str, family: Family, next_id: &mut usize) -> Chains {
    let mut out = Chains::default();
    if table == "raw" {
        let e = out.chain(entry_name(rs));
        for k in [ChainKind::Antispoof, ChainKind::HelpersIn] {
            out.rule(e, |t| {
                let _ = write!(t, "-j {}", chain_name(rs, k));
            });
        }
    }
    for kind in ChainKind::ALL.iter().filter(|k| table_of(**k) == table) {
        lower(rs, *kind, family, next_id, &mut out);
    }
    out
}

fn tool(family: Family) -> &'static str {
    match family {
        Family::Ipv4 => "iptables",
        Family::Ipv6 => "ip6tables",
    }
}

/// An `iptables-restore` (IPv4) or `ip6tables-restore` (IPv6) file holding nfh's chains only.
pub(super) fn restore(rs: &Ruleset, family: Family) -> String {
    let mut out = String::with_capacity(64 * rs.rule_count() + 1024);
    out.push_str(super::HEADER);
    let t = tool(family);
    let _ = writeln!(
        out,
        "# nfh's own chains ({table}-*) in the raw and filter tables, and nothing else: no built-in\n\
         # policy, no other rule. Load and reload with `{t}-restore -w --noflush`, which replaces\n\
         # these chains atomically and leaves the site's rules alone. Then hook them once with the\n\
         # idempotent `nfh render --backend iptables-hooks` script (or jump to them from the\n\
         # site's own rules); remove everything with `--backend iptables-remove`.\n\
         # nfh's rules never accept: they drop spoofed sources and the RELATED flows the model\n\
         # does not allow, and return the rest to the site's rules, which must accept RELATED\n\
         # themselves. Every RELATED flow that nfh's services do not describe is dropped: nfh\n\
         # must own all helper use on this host. A site CT rule (zone, notrack) on the same\n\
         # packets as a helper assignment here is ignored (the first CT target wins).",
        table = rs.table
    );
    let mut next_id = 0;
    for table in ["raw", "filter"] {
        let chains = table_chains(rs, table, family, &mut next_id);
        let _ = writeln!(out, "*{table}");
        for name in &chains.names {
            let _ = writeln!(out, ":{name} - [0:0]");
        }
        out.reserve(chains.text.len() + chains.rules.len() * 40);
        for (name, r) in chains.iter() {
            out.push_str("-A ");
            out.push_str(name);
            out.push(' ');
            out.push_str(r);
            out.push('\n');
        }
        out.push_str("COMMIT\n");
    }
    out
}

/// The shell function that adds a jump unless it is there.
const HOOK_FN: &str = "nfh_hook() { t=$1; tb=$2; c=$3; shift 3; \"$t\" -w -t \"$tb\" -C \"$c\" \"$@\" 2>/dev/null || \"$t\" -w -t \"$tb\" -I \"$c\" 1 \"$@\"; }\n";

fn hook_lines(rs: &Ruleset, out: &mut String) {
    out.push_str(HOOK_FN);
    for family in [Family::Ipv4, Family::Ipv6] {
        for h in hooks(rs) {
            let _ = writeln!(
                out,
                "nfh_hook {} {} {} {}-j {}",
                tool(family),
                h.table,
                h.builtin,
                h.matches,
                h.chain
            );
        }
    }
}

/// The idempotent script that adds the jumps from the built-in chains.
pub(super) fn hooks_script(rs: &Ruleset) -> String {
    let mut out = String::from("#!/bin/sh\n");
    out.push_str(super::HEADER);
    let _ = writeln!(
        out,
        "# Adds the jumps into nfh's chains ({}-*) at the top of the built-in chains, once, and\n\
         # removes the numbered sub-chains an earlier, different load left unreferenced: run it\n\
         # after loading the restore files; running it again changes nothing.\nset -e",
        rs.table
    );
    hook_lines(rs, &mut out);
    // Numbered sub-chains this rendering does not declare are left over from another one:
    // the restore file emptied the chains that went to them, so they are unreferenced.
    for family in [Family::Ipv4, Family::Ipv6] {
        let t = tool(family);
        let mut next_id = 0;
        for table in ["raw", "filter"] {
            let chains = table_chains(rs, table, family, &mut next_id);
            let keep: Vec<&str> = chains
                .names
                .iter()
                .filter(|n| is_sub(rs, n))
                .map(String::as_str)
                .collect();
            let stale = format!(
                "for c in {}; do case \" {} \" in *\" $c \"*) ;; *) {t} -w -t {table}",
                subchains(t, table, rs),
                keep.join(" ")
            );
            let _ = writeln!(out, "{stale} -F \"$c\";; esac; done");
            let _ = writeln!(out, "{stale} -X \"$c\";; esac; done");
        }
    }
    out
}

/// Shell text listing the numbered sub-chains of a table (`<table>-<n>`).
fn subchains(t: &str, table: &str, rs: &Ruleset) -> String {
    format!(
        "$(\"{t}\" -w -t {table} -S | sed -n 's/^-N \\({}-[0-9][0-9]*\\)$/\\1/p')",
        rs.table
    )
}

/// The idempotent script that removes every jump and chain nfh added, and nothing else.
pub(super) fn remove_script(rs: &Ruleset) -> String {
    let mut out = String::from("#!/bin/sh\n");
    out.push_str(super::HEADER);
    let _ = writeln!(
        out,
        "# Removes nfh's jumps and chains ({}-*), and nothing else; running it again changes nothing.\n\
         nfh_unhook() {{ t=$1; tb=$2; c=$3; shift 3; while \"$t\" -w -t \"$tb\" -D \"$c\" \"$@\" 2>/dev/null; do :; done; }}\n\
         nfh_drop() {{ t=$1; tb=$2; shift 2; for c in \"$@\"; do \"$t\" -w -t \"$tb\" -F \"$c\" 2>/dev/null || true; done; for c in \"$@\"; do \"$t\" -w -t \"$tb\" -X \"$c\" 2>/dev/null || true; done; }}",
        rs.table
    );
    for family in [Family::Ipv4, Family::Ipv6] {
        let t = tool(family);
        for h in hooks(rs) {
            let _ = writeln!(
                out,
                "nfh_unhook {t} {} {} {}-j {}",
                h.table, h.builtin, h.matches, h.chain
            );
        }
        for table in ["raw", "filter"] {
            let mut names: Vec<String> = Vec::new();
            if table == "raw" {
                names.push(entry_name(rs));
            }
            names.extend(
                ChainKind::ALL
                    .iter()
                    .filter(|k| table_of(**k) == table)
                    .map(|k| chain_name(rs, *k)),
            );
            let _ = writeln!(
                out,
                "nfh_drop {t} {table} {} {}",
                names.join(" "),
                subchains(t, table, rs)
            );
        }
    }
    out
}

/// `iptables` and `ip6tables` commands, one per rule, as the article writes them; idempotent.
///
/// Each run creates or empties nfh's chains, removes the numbered sub-chains an earlier run
/// left, refills everything and adds the jumps that are missing. While a chain that drops
/// (anti-spoofing, RELATED; not in log-only mode) is refilled, a temporary drop at its top
/// keeps it closed.
pub(super) fn commands(rs: &Ruleset) -> String {
    let mut out = String::with_capacity(96 * rs.rule_count() * 2 + 2048);
    out.push_str("#!/bin/sh\n");
    out.push_str(super::HEADER);
    let _ = writeln!(
        out,
        "# One command per rule, as the article writes them; running it again leaves exactly these\n\
         # rules. Not atomic: use the restore files for that. nfh's rules never accept (see the\n\
         # iptables backend's header for the contract).\nset -e\n\
         nfh_chain() {{ \"$1\" -w -t \"$2\" -N \"$3\" 2>/dev/null || \"$1\" -w -t \"$2\" -F \"$3\"; }}"
    );
    // The chains that drop (none do in log-only mode) stay closed while they are refilled.
    let closing: Vec<String> = rs
        .chains
        .iter()
        .filter(|c| c.rules.iter().any(|r| r.target == Target::Drop))
        .map(|c| chain_name(rs, c.kind))
        .collect();
    let closed = |name: &str| closing.iter().any(|c| c == name);
    for family in [Family::Ipv4, Family::Ipv6] {
        let t = tool(family);
        let mut next_id = 0;
        for table in ["raw", "filter"] {
            let chains = table_chains(rs, table, family, &mut next_id);
            // Base chains: create or empty, closed while refilled.
            for name in chains.names.iter().filter(|n| !is_sub(rs, n)) {
                let _ = writeln!(out, "nfh_chain {t} {table} {name}");
                if closed(name) {
                    let _ = writeln!(
                        out,
                        "{t} -w -t {table} -A {name} -m comment --comment nfh-reloading -j DROP"
                    );
                }
            }
            // Sub-chains of an earlier run are unreferenced now: remove them.
            let _ = writeln!(
                out,
                "for c in {}; do {t} -w -t {table} -F \"$c\"; done",
                subchains(t, table, rs)
            );
            let _ = writeln!(
                out,
                "for c in {}; do {t} -w -t {table} -X \"$c\"; done",
                subchains(t, table, rs)
            );
            for name in chains.names.iter().filter(|n| is_sub(rs, n)) {
                let _ = writeln!(out, "{t} -w -t {table} -N {name}");
            }
            for (name, r) in chains.iter() {
                let _ = writeln!(out, "{t} -w -t {table} -A {name} {r}");
            }
            for name in chains.names.iter().filter(|n| closed(n)) {
                let _ = writeln!(out, "{t} -w -t {table} -D {name} 1");
            }
        }
    }
    hook_lines(rs, &mut out);
    out
}

fn is_sub(rs: &Ruleset, name: &str) -> bool {
    name.strip_prefix(rs.table.as_str())
        .and_then(|r| r.strip_prefix('-'))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::site::Site;
    use crate::synth::synthesize;

    fn rs(services: &str) -> Ruleset {
        let text = format!(
            "[[interfaces]]\nname = \"eth0\"\ndefault_route = true\n[[interfaces]]\nname = \"eth1\"\nnetworks = [\"10.0.0.1/16\"]\n{services}"
        );
        synthesize(&Site::from_toml(&text).unwrap().validate().unwrap())
    }

    #[test]
    fn restore_declares_only_its_own_chains() {
        let r = restore(
            &rs("[[services]]\nname = \"f\"\nhelper = \"ftp\"\ndirection = \"inbound\"\n"),
            Family::Ipv4,
        );
        for line in r.lines().filter(|l| l.starts_with(':')) {
            assert!(
                line.starts_with(":nfh-") && line.ends_with(" - [0:0]"),
                "{line}"
            );
        }
        for line in r.lines().filter(|l| l.starts_with("-A ")) {
            assert!(line.starts_with("-A nfh-"), "{line}");
            assert!(!line.contains("ACCEPT"), "{line}");
        }
        assert!(
            !r.lines()
                .any(|l| l.starts_with("-P ") || l.starts_with("-F"))
        );
    }

    #[test]
    fn products_become_continuations() {
        let clients: Vec<String> = (0..50).map(|i| format!("\"10.1.{i}.0/24\"")).collect();
        let servers: Vec<String> = (0..40).map(|i| format!("\"10.0.{i}.7\"")).collect();
        let r = restore(
            &rs(&format!(
                "[[services]]\nname = \"f\"\nhelper = \"ftp\"\ndirection = \"inbound\"\nclients = [{}]\nservers = [{}]\n",
                clients.join(","),
                servers.join(",")
            )),
            Family::Ipv4,
        );
        let rules = r.lines().filter(|l| l.starts_with("-A ")).count();
        // Helper assignment, active and passive data: each about clients + servers rules.
        assert!(rules < 3 * (50 + 40 + 4) + 40, "{rules} rules");
        // Every sub-chain is declared, entered by -g and goes on by -g.
        assert!(r.contains(":nfh-1 - [0:0]") && r.contains("-g nfh-2"));
        assert!(!r.contains("-j nfh-1 "));
    }

    #[test]
    fn helper_assignment_in_sub_chains_names_the_protocol() {
        let r = restore(
            &rs(
                "[[services]]\nname = \"f\"\nhelper = \"ftp\"\ndirection = \"inbound\"\nservers = [\"10.0.0.5\", \"10.0.0.7\"]\nclients = [\"10.1.0.0/24\", \"10.3.0.0/24\"]\n",
            ),
            Family::Ipv4,
        );
        let ct: Vec<&str> = r.lines().filter(|l| l.contains("-j CT")).collect();
        assert_eq!(ct.len(), 2, "{r}");
        // xt_CT refuses a rule without a layer-4 protocol.
        assert!(ct.iter().all(|l| l.contains(" -p tcp ")), "{ct:?}");
    }

    #[test]
    fn long_port_lists_are_split() {
        let ports: Vec<String> = (2000..2020).map(|p| p.to_string()).collect();
        let r = restore(
            &rs(&format!(
                "[[services]]\nname = \"f\"\nhelper = \"ftp\"\ndirection = \"inbound\"\nports = [{}]\n",
                ports.join(",")
            )),
            Family::Ipv4,
        );
        let lists: Vec<&str> = r
            .lines()
            .filter_map(|l| l.split("--dports ").nth(1))
            .map(|l| l.split(' ').next().unwrap())
            .collect();
        assert_eq!(lists.len(), 2, "{r}");
        assert_eq!(lists[0].split(',').count(), 15);
        assert_eq!(lists[1].split(',').count(), 5);
    }

    #[test]
    fn sub_chain_names_are_recognised() {
        let r = rs("");
        assert!(is_sub(&r, "nfh-12"));
        assert!(!is_sub(&r, "nfh-antispoof"));
        assert!(!is_sub(&r, "nfh-"));
        assert!(!is_sub(&r, "other-1"));
    }
}
