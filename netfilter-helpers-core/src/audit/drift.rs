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
use crate::ir;
use crate::render::{Backend, RenderError, render};
use crate::report::Severity;
use crate::ruleset::nft_json::NftJsonError;
use crate::ruleset::{Action, Chain, Cond, Origin, Rule, Ruleset, escape, iptables_save, nft_json};
use crate::site::ValidSite;
use crate::synth::synthesize;

/// Why a site's rules could not be compared with a loaded ruleset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SiteDriftError {
    /// The site's rules cannot be rendered for the backend they are compared in (its kernel
    /// is too old for nftables `ct helper` objects).
    #[error(transparent)]
    Render(#[from] RenderError),
    /// The site's own nft JSON rendering did not read back (a bug in nfh).
    #[error("the site's nft JSON rendering does not read back: {0}")]
    Reread(#[from] NftJsonError),
}

/// Drift of a site against the ruleset loaded on a host: what nfh would render for `site`
/// compared with `loaded` (see [`against_rules`]).
///
/// ```
/// use netfilter_helpers_core::audit::{drift::against_site, AuditCode};
/// use netfilter_helpers_core::ruleset::Ruleset;
/// use netfilter_helpers_core::site::Site;
/// let site = Site::from_toml("[[interfaces]]\nname = \"eth0\"\ndefault_route = true\nnetworks = [\"198.51.100.2/24\"]\n")
///     .unwrap().validate().unwrap();
/// // Nothing loaded: every rule the site renders is missing.
/// let d = against_site(&site, &Ruleset::default()).unwrap();
/// assert!(!d.is_empty() && d.iter().all(|f| f.code == AuditCode::DriftMissing));
/// ```
///
/// # Errors
/// When the site's rules cannot be rendered for the backend they are compared in.
pub fn against_site(
    site: &ValidSite,
    loaded: &Ruleset,
) -> Result<Vec<AuditFinding>, SiteDriftError> {
    against_rules(&synthesize(site), loaded)
}

/// Drift of synthesised rules (`expected`, from [`synthesize`]) against a loaded ruleset.
///
/// The backend is chosen by what is loaded: when nfh's iptables chains (`TABLE-…`, in any
/// table) are loaded and its nft table is not, the `iptables` and `ip6tables` renderings are
/// compared with the iptables chains ([`drift_iptables`]); otherwise the nft JSON rendering
/// is compared with the nft table ([`drift`]; every rule is missing when neither is loaded).
/// Each rendering is read back with the same reader as the loaded ruleset, so both sides are
/// compared as the audit decodes them.
///
/// ```
/// use netfilter_helpers_core::audit::{drift::against_rules, AuditCode};
/// use netfilter_helpers_core::render::{render, Backend};
/// use netfilter_helpers_core::ruleset::{iptables_save, Ruleset};
/// use netfilter_helpers_core::site::Site;
/// use netfilter_helpers_core::synth::synthesize;
/// let site = Site::from_toml("[[interfaces]]\nname = \"eth0\"\ndefault_route = true\nnetworks = [\"198.51.100.2/24\"]\n")
///     .unwrap().validate().unwrap();
/// let rules = synthesize(&site);
/// // The iptables rendering, loaded as is: no drift.
/// let v4 = iptables_save::read(&render(&rules, Backend::Iptables).unwrap(), Some("ip"));
/// let v6 = iptables_save::read(&render(&rules, Backend::Ip6tables).unwrap(), Some("ip6"));
/// let mut loaded = Ruleset::combine(None, vec![v4, v6]);
/// assert_eq!(against_rules(&rules, &loaded).unwrap(), []);
/// // One rule removed: it is missing.
/// let chain = loaded.chains.iter_mut().find(|c| !c.rules.is_empty()).unwrap();
/// chain.rules.pop();
/// let d = against_rules(&rules, &loaded).unwrap();
/// assert_eq!(d.iter().map(|f| f.code).collect::<Vec<_>>(), [AuditCode::DriftMissing]);
/// ```
///
/// # Errors
/// When the rules cannot be rendered for the backend they are compared in.
pub fn against_rules(
    expected: &ir::Ruleset,
    loaded: &Ruleset,
) -> Result<Vec<AuditFinding>, SiteDriftError> {
    let table = expected.table.as_str();
    let prefix = format!("{table}-");
    let in_nft = loaded
        .chains
        .iter()
        .any(|c| c.origin == Origin::Nft && c.table == table);
    let in_iptables = loaded
        .chains
        .iter()
        .any(|c| c.origin != Origin::Nft && c.name.starts_with(&prefix));
    if in_iptables && !in_nft {
        let mut texts = Vec::new();
        for (b, fam) in [(Backend::Iptables, "ip"), (Backend::Ip6tables, "ip6")] {
            texts.push(iptables_save::read(&render(expected, b)?, Some(fam)));
        }
        let want = Ruleset::combine(None, texts);
        return Ok(drift_iptables(&want, loaded, table));
    }
    let want = nft_json::read(&render(expected, Backend::NftJson)?)?;
    Ok(drift(&want, loaded, table))
}

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
        let words = iptables_save::split_words(t);
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
    use crate::site::Site;

    fn site(extra: &str) -> ValidSite {
        Site::from_toml(&format!(
            "{extra}[[interfaces]]\nname = \"eth0\"\ndefault_route = true\nnetworks = [\"198.51.100.2/24\"]\n[[interfaces]]\nname = \"eth1\"\nnetworks = [\"10.0.1.1/24\"]\n[[services]]\nname = \"ftp-in\"\nhelper = \"ftp\"\ndirection = \"inbound\"\nservers = [\"10.0.1.10\"]\n"
        ))
        .unwrap()
        .validate()
        .unwrap()
    }

    #[test]
    fn against_site_compares_with_the_nft_table_when_it_is_loaded() {
        let s = site("");
        let rules = synthesize(&s);
        let mut loaded = nft_json::read(&render(&rules, Backend::NftJson).unwrap()).unwrap();
        assert_eq!(against_site(&s, &loaded).unwrap(), []);
        // iptables chains of the same prefix next to the nft table: nft is compared, and
        // the iptables chains are not drift.
        let ipt = iptables_save::read(&render(&rules, Backend::Iptables).unwrap(), Some("ip"));
        let both = Ruleset::combine(Some(loaded.clone()), vec![ipt]);
        assert_eq!(against_site(&s, &both).unwrap(), []);
        let n = loaded.rule_count();
        loaded.chains.iter_mut().for_each(|c| c.rules.clear());
        let d = against_site(&s, &loaded).unwrap();
        assert_eq!(d.len(), n);
        assert!(
            d.iter()
                .all(|f| f.code == AuditCode::DriftMissing
                    && f.subject.starts_with("inet nfh chain "))
        );
    }

    #[test]
    fn against_site_says_when_the_site_cannot_be_rendered() {
        // Kernel 4.9 has no nft ct helper objects, and nothing of the site is loaded, so
        // the comparison would be with its nft rendering.
        let e = against_site(&site("kernel = \"4.9\"\n"), &Ruleset::default()).unwrap_err();
        assert!(matches!(e, SiteDriftError::Render(_)), "{e:?}");
        assert!(e.to_string().contains("Linux 4.12"), "{e}");
    }

    #[test]
    fn a_changed_address_is_drift() {
        let want = iptables_save::read(
            "*filter\n:nfh-fwd - [0:0]\n-A nfh-fwd -s 10.0.1.0/24 -d 10.0.2.5/32 -j RETURN\nCOMMIT\n",
            None,
        );
        let same = iptables_save::read(
            "*filter\n:nfh-fwd - [0:0]\n-A nfh-fwd -s 10.0.1.0/24 -d 10.0.2.5 -j RETURN\nCOMMIT\n",
            None,
        );
        assert_eq!(drift_iptables(&want, &same, "nfh"), []);
        let moved = iptables_save::read(
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
