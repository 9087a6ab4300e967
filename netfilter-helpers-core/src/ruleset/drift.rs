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
//! use netfilter_helpers_core::ruleset::{drift::drift, iptables_save};
//! let want = iptables_save::read("*raw\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp -m tcp --dport 21 -j CT --helper ftp\nCOMMIT\n", None);
//! let have = iptables_save::read("*raw\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp --dport 21 -j CT --helper ftp\n-A PREROUTING -j ACCEPT\nCOMMIT\n", None);
//! let d = drift(&want, &have, "raw");
//! assert_eq!(d.len(), 1);
//! assert_eq!((d[0].code, d[0].rule.as_ref().unwrap().text.as_str()), (AuditCode::DriftExtra, "-A PREROUTING -j ACCEPT"));
//! ```

use std::collections::HashMap;

use super::{Action, Cond, Rule, Ruleset, escape};
use crate::audit::{AuditCode, AuditFinding, RuleRef};
use crate::report::Severity;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Sig {
    chain: String,
    conds: Vec<String>,
    action: String,
    comment: Option<String>,
}

fn comment_of(r: &Rule) -> Option<String> {
    let t = &r.text;
    let i = t.find("comment ").or_else(|| t.find("--comment "))?;
    let rest = t[i..].split_once(' ')?.1;
    Some(rest.trim().trim_matches('"').to_string())
}

fn sig(chain: &str, r: &Rule) -> Sig {
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
        chain: chain.to_string(),
        conds,
        action,
        comment: comment_of(r),
    }
}

/// Compares the chains of `table` in `expected` with those in `loaded`.
pub fn drift(expected: &Ruleset, loaded: &Ruleset, table: &str) -> Vec<AuditFinding> {
    let rules = |rs: &Ruleset| -> Vec<(Sig, Rule)> {
        rs.chains
            .iter()
            .filter(|c| c.table == table)
            .flat_map(|c| c.rules.iter().map(|r| (sig(&c.name, r), r.clone())))
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
                subject: format!("table {} chain {}", escape(table), escape(&s.chain)),
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
                subject: format!("table {} chain {}", escape(table), escape(&s.chain)),
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
