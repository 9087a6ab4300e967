//! Drift: the rules a site renders against the rules loaded in its table.
//!
//! Rules are compared by what the audit decodes of them (chain, conditions, action,
//! comment), not by their text: nft prints back a loaded rule differently from how it was
//! written (`meta nfproto ipv4` dropped where `ip saddr` implies it, `/32` prefixes shown as
//! addresses, merged sets). Each rule of the expected table not loaded is `drift-missing`,
//! each loaded rule not expected is `drift-extra`, counting duplicates.
//!
//! ```
//! use netfilter_helpers_core::audit::AuditCode;
//! use netfilter_helpers_core::{audit::drift::drift_iptables, ruleset::iptables_save};
//! let want = iptables_save::read("*raw\n:nfh-pre - [0:0]\n-A nfh-pre -p tcp -m tcp --dport 21 -j CT --helper ftp\nCOMMIT\n", None);
//! let have = iptables_save::read("*raw\n:nfh-pre - [0:0]\n-A nfh-pre -p tcp --dport 21 -j CT --helper ftp\n-A nfh-pre -j ACCEPT\nCOMMIT\n", None);
//! let d = drift_iptables(&want, &have, "nfh");
//! assert_eq!(d.len(), 1);
//! assert_eq!((d[0].code, d[0].rule.as_ref().unwrap().text.as_str()), (AuditCode::DriftExtra, "-A nfh-pre -j ACCEPT"));
//! ```

use std::collections::HashMap;

use super::{AuditCode, AuditFinding, RuleRef};
use crate::report::Severity;
use crate::ruleset::{Action, Chain, Cond, Origin, Rule, Ruleset, escape};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Sig {
    family: String,
    table: String,
    chain: String,
    conds: Vec<String>,
    action: String,
    comment: Option<String>,
}

/// The comment of a rule: the word after `--comment` (iptables-save), or the quoted text
/// after `comment` (nft).
fn comment_of(r: &Rule) -> Option<String> {
    let t = &r.text;
    if t.contains("--comment") {
        let words = crate::ruleset::iptables_save::split_words(t);
        let i = words.iter().position(|w| w == "--comment")?;
        return words.get(i + 1).cloned();
    }
    let rest = &t[t.rfind(" comment \"")? + " comment \"".len()..];
    Some(rest.strip_suffix('"').unwrap_or(rest).to_string())
}

fn sig(c: &Chain, r: &Rule) -> Sig {
    let mut conds: Vec<String> = r
        .conds
        .iter()
        .filter(|c| !matches!(c, Cond::NfProto { .. }))
        .map(|c| match c {
            Cond::Opaque { .. } => "opaque".to_string(),
            other => format!("{other:?}"),
        })
        .collect();
    conds.sort();
    conds.dedup();
    let action = match &r.action {
        Action::Opaque(_) => "opaque".to_string(),
        a => format!("{a:?}"),
    };
    Sig {
        family: c.family.clone(),
        table: c.table.clone(),
        chain: c.name.clone(),
        conds,
        action,
        comment: comment_of(r),
    }
}

/// Compares the chains of nft table `table` in `expected` with those in `loaded`.
pub fn drift(expected: &Ruleset, loaded: &Ruleset, table: &str) -> Vec<AuditFinding> {
    drift_chains(expected, loaded, |c| {
        c.origin == Origin::Nft && c.table == table
    })
}

/// Compares nfh's iptables chains (`PREFIX-…` in any table, IPv4 and IPv6) in `expected`
/// (read from the `iptables`/`ip6tables` renderings) with those in `loaded`.
///
/// ```
/// use netfilter_helpers_core::{audit::drift::drift_iptables, ruleset::{iptables_save, Ruleset}};
/// let want = iptables_save::read("*raw\n:nfh-x - [0:0]\n-A nfh-x -s 10.0.0.1/32 -m comment --comment a -j DROP\nCOMMIT\n", None);
/// let have = iptables_save::read("*raw\n:PREROUTING ACCEPT [0:0]\n:nfh-x - [0:0]\n-A PREROUTING -j nfh-x\n-A nfh-x -s 10.0.0.1/32 -m comment --comment a -j DROP\nCOMMIT\n", None);
/// assert!(drift_iptables(&want, &have, "nfh").is_empty());
/// ```
pub fn drift_iptables(expected: &Ruleset, loaded: &Ruleset, prefix: &str) -> Vec<AuditFinding> {
    let p = format!("{prefix}-");
    drift_chains(expected, loaded, |c| {
        c.origin != Origin::Nft && c.name.starts_with(&p)
    })
}

fn drift_chains(
    expected: &Ruleset,
    loaded: &Ruleset,
    select: impl Fn(&Chain) -> bool,
) -> Vec<AuditFinding> {
    let rules = |rs: &Ruleset| -> Vec<(Sig, Rule)> {
        rs.chains
            .iter()
            .filter(|c| select(c))
            .flat_map(|c| c.rules.iter().map(move |r| (sig(c, r), r.clone())))
            .collect()
    };
    let want = rules(expected);
    let have = rules(loaded);
    let mut count: HashMap<&Sig, isize> = HashMap::new();
    for (s, _) in &have {
        *count.entry(s).or_default() += 1;
    }
    let mut out = Vec::new();
    for (s, r) in &want {
        let n = count.entry(s).or_default();
        if *n > 0 {
            *n -= 1;
        } else {
            out.push(AuditFinding {
                code: AuditCode::DriftMissing,
                severity: Severity::Warning,
                subject: format!(
                    "{} {} chain {}",
                    escape(&s.family),
                    escape(&s.table),
                    escape(&s.chain)
                ),
                message: "the site renders this rule, but it is not loaded".into(),
                rule: Some(RuleRef {
                    location: r.location.clone(),
                    text: escape(&r.text),
                }),
            });
        }
    }
    for (s, r) in &have {
        let n = count.entry(s).or_default();
        if *n > 0 {
            *n -= 1;
            out.push(AuditFinding {
                code: AuditCode::DriftExtra,
                severity: Severity::Warning,
                subject: format!(
                    "{} {} chain {}",
                    escape(&s.family),
                    escape(&s.table),
                    escape(&s.chain)
                ),
                message: "this rule is loaded in the site's table, but the site does not render it"
                    .into(),
                rule: Some(RuleRef {
                    location: r.location.clone(),
                    text: escape(&r.text),
                }),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_address_is_drift() {
        let want = crate::ruleset::iptables_save::read(
            "*filter\n:nfh-fwd - [0:0]\n-A nfh-fwd -s 10.0.1.0/24 -d 10.0.2.5/32 -j RETURN\nCOMMIT\n",
            None,
        );
        let same = crate::ruleset::iptables_save::read(
            "*filter\n:nfh-fwd - [0:0]\n-A nfh-fwd -s 10.0.1.0/24 -d 10.0.2.5 -j RETURN\nCOMMIT\n",
            None,
        );
        assert_eq!(drift_iptables(&want, &same, "nfh"), []);
        let moved = crate::ruleset::iptables_save::read(
            "*filter\n:nfh-fwd - [0:0]\n-A nfh-fwd -s 10.0.1.0/24 -d 10.0.9.5/32 -j RETURN\nCOMMIT\n",
            None,
        );
        let d = drift_iptables(&want, &moved, "nfh");
        let codes: Vec<AuditCode> = d.iter().map(|f| f.code).collect();
        assert_eq!(
            codes,
            [AuditCode::DriftMissing, AuditCode::DriftExtra],
            "{d:?}"
        );
    }
}
