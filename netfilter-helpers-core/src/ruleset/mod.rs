//! Rulesets as loaded in a kernel: a common model of what the audit needs from
//! `nft -j list ruleset` and `iptables-save`/`ip6tables-save` text, its two readers, and the
//! hazard analysis.
//!
//! The readers are tolerant: whatever they do not understand is kept as an opaque condition
//! or action with its text, and noted in [`Ruleset::notes`]; they never fail on a document
//! nft or iptables printed. Only input that is not such a document at all (not JSON, no
//! `nftables` array) is an error.
//!
//! ```
//! use netfilter_helpers_core::ruleset::{iptables_save, Action, Cond};
//!
//! let rs = iptables_save::read("*filter\n:FORWARD DROP [0:0]\n\
//!     -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\nCOMMIT\n", None);
//! let chain = &rs.chains[0];
//! assert_eq!(chain.policy, Some(Action::Drop));
//! assert!(matches!(&chain.rules[0].conds[0], Cond::CtState { states, negated: false } if states.len() == 2));
//! assert_eq!(chain.rules[0].action, Action::Accept);
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

pub mod drift;
pub mod hazards;
pub mod iptables_save;
mod json;
pub mod nft_json;

/// Where a ruleset was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// `nft -j list ruleset`.
    Nft,
    /// `iptables-save`/`ip6tables-save` of iptables-legacy.
    IptablesLegacy,
    /// `iptables-save`/`ip6tables-save` of iptables-nft (the tables also show in nft output,
    /// as `xt` expressions).
    IptablesNft,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Nft => "nft",
            Origin::IptablesLegacy => "iptables-legacy",
            Origin::IptablesNft => "iptables-nft",
        })
    }
}

/// A netfilter hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Hook {
    /// Before routing, every incoming packet.
    Prerouting,
    /// Packets for the host.
    Input,
    /// Routed packets.
    Forward,
    /// Packets the host sends.
    Output,
    /// After routing, every outgoing packet.
    Postrouting,
    /// netdev ingress.
    Ingress,
    /// netdev egress.
    Egress,
}

impl Hook {
    /// Parses an nft hook name (`prerouting`) or iptables built-in chain (`PREROUTING`).
    ///
    /// ```
    /// use netfilter_helpers_core::ruleset::Hook;
    /// assert_eq!(Hook::parse("FORWARD"), Some(Hook::Forward));
    /// assert_eq!(Hook::parse("mychain"), None);
    /// ```
    pub fn parse(s: &str) -> Option<Hook> {
        Some(match s.to_ascii_lowercase().as_str() {
            "prerouting" => Hook::Prerouting,
            "input" => Hook::Input,
            "forward" => Hook::Forward,
            "output" => Hook::Output,
            "postrouting" => Hook::Postrouting,
            "ingress" => Hook::Ingress,
            "egress" => Hook::Egress,
            _ => return None,
        })
    }

    /// The nft name of the hook.
    ///
    /// ```
    /// use netfilter_helpers_core::ruleset::Hook;
    /// assert_eq!(Hook::Forward.name(), "forward");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Hook::Prerouting => "prerouting",
            Hook::Input => "input",
            Hook::Forward => "forward",
            Hook::Output => "output",
            Hook::Postrouting => "postrouting",
            Hook::Ingress => "ingress",
            Hook::Egress => "egress",
        }
    }
}

/// One condition of a rule, as far as the audit cares.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Cond {
    /// `ct state` / `-m conntrack --ctstate` / `-m state --state`: lowercase state names.
    CtState {
        /// The states (`related`, `established`, ...).
        states: Vec<String>,
        /// `!=` / `!`.
        negated: bool,
    },
    /// `ct helper "ftp"` / `-m helper --helper ftp`: the helper of the master connection.
    CtHelper {
        /// The helper name.
        name: String,
        /// Negated.
        negated: bool,
    },
    /// A source address restriction (`ip saddr`, `-s`, `-m iprange --src-range`, a set).
    Saddr {
        /// Negated.
        negated: bool,
    },
    /// A destination address restriction.
    Daddr {
        /// Negated.
        negated: bool,
    },
    /// Input interface names (`iifname`, `-i`); `+`/`*` suffix is a wildcard.
    Iif {
        /// The names.
        names: Vec<String>,
        /// Negated.
        negated: bool,
    },
    /// Output interface names.
    Oif {
        /// The names.
        names: Vec<String>,
        /// Negated.
        negated: bool,
    },
    /// Layer-4 protocol (`-p tcp`, `meta l4proto`, implied by `tcp dport`).
    Proto {
        /// Lowercase protocol name or number.
        proto: String,
        /// Negated.
        negated: bool,
    },
    /// Destination ports, as inclusive ranges.
    Dport {
        /// The ranges (empty when not decoded, e.g. a named set).
        ports: Vec<(u16, u16)>,
        /// Negated.
        negated: bool,
    },
    /// A source port restriction.
    Sport {
        /// Negated.
        negated: bool,
    },
    /// `meta nfproto ipv4|ipv6`.
    NfProto {
        /// `ipv4` or `ipv6`.
        family: String,
    },
    /// A reverse-path check (`-m rpfilter`, `fib saddr . iif oif`): matches packets that
    /// fail it when `fails`.
    RpFilter {
        /// Matches packets failing the check (`--invert`, `oif missing`).
        fails: bool,
    },
    /// A condition the audit does not decode, with its text.
    Opaque {
        /// The condition as printed.
        text: String,
    },
}

/// What a rule does.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "target")]
pub enum Action {
    /// No verdict: evaluation continues (counters, logs, marks).
    Continue,
    /// Accept.
    Accept,
    /// Drop.
    Drop,
    /// Reject.
    Reject,
    /// Return to the calling chain.
    Return,
    /// Jump to a chain.
    Jump(String),
    /// Go to a chain (no return).
    Goto(String),
    /// Assign a helper: nft `ct helper set "OBJECT"`, iptables `-j CT --helper NAME`.
    SetHelper(String),
    /// No connection tracking (`notrack`, `-j CT --notrack`).
    Notrack,
    /// `ct state vmap { related : accept, ... }`: per-state verdicts.
    StateMap(Vec<(String, Action)>),
    /// An action the audit does not decode, with its text.
    Opaque(String),
}

impl Action {
    /// Whether the action ends the chain's evaluation for the packet.
    ///
    /// ```
    /// use netfilter_helpers_core::ruleset::Action;
    /// assert!(Action::Drop.is_terminal());
    /// assert!(!Action::Continue.is_terminal());
    /// ```
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Action::Accept | Action::Drop | Action::Reject | Action::Return | Action::Goto(_)
        )
    }
}

/// Where a rule is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Location {
    /// Where it was read from.
    pub origin: Origin,
    /// `ip`, `ip6`, `inet`, ...
    pub family: String,
    /// The table.
    pub table: String,
    /// The chain.
    pub chain: String,
    /// 1-based position in its chain.
    pub index: usize,
    /// nft rule handle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<u64>,
    /// 1-based line of `iptables-save` text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} chain {} rule {}",
            self.origin, self.family, self.table, self.chain, self.index
        )?;
        if let Some(h) = self.handle {
            write!(f, " (handle {h})")?;
        }
        if let Some(l) = self.line {
            write!(f, " (line {l})")?;
        }
        Ok(())
    }
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// Where it is.
    pub location: Location,
    /// Its text (iptables-save syntax, or nft syntax rebuilt from the JSON).
    pub text: String,
    /// Its conditions.
    pub conds: Vec<Cond>,
    /// What it does.
    pub action: Action,
    /// It contains `xt` expressions: an iptables-nft rule whose matches nft cannot show.
    pub xt: bool,
}

/// One chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Chain {
    /// Where it was read from.
    pub origin: Origin,
    /// `ip`, `ip6`, `inet`, `bridge`, `netdev`, `arp`.
    pub family: String,
    /// The table.
    pub table: String,
    /// The name.
    pub name: String,
    /// The hook of a base chain.
    pub hook: Option<Hook>,
    /// The priority of a base chain.
    pub priority: Option<i32>,
    /// The policy of a base chain ([`Action::Accept`] or [`Action::Drop`]).
    pub policy: Option<Action>,
    /// The rules in order.
    pub rules: Vec<Rule>,
}

impl Chain {
    /// Whether the chain sees IPv4 (`true` for `ip`, `inet`, `bridge`, `netdev`).
    ///
    /// ```
    /// use netfilter_helpers_core::ruleset::Chain;
    /// assert!(Chain::sees_family("inet", true) && !Chain::sees_family("ip6", true));
    /// ```
    pub fn sees_family(family: &str, ipv4: bool) -> bool {
        match family {
            "ip" => ipv4,
            "ip6" => !ipv4,
            "arp" => false,
            _ => true,
        }
    }
}

/// An nft `ct helper` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CtHelperObject {
    /// The family of its table.
    pub family: String,
    /// Its table.
    pub table: String,
    /// Its name (what `ct helper set` names).
    pub name: String,
    /// The kernel helper (`ftp`, `sip`, ...).
    pub helper: String,
    /// The master protocol (`tcp`, `udp`).
    pub protocol: String,
    /// `ip`, `ip6` or `inet`.
    pub l3proto: String,
}

/// Something a reader kept opaque or could not place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReadNote {
    /// Where (`item 12`, `line 40`, a location).
    pub place: String,
    /// What.
    pub message: String,
    /// An iptables-nft rule only `iptables-nft-save` can show.
    pub xt: bool,
}

/// A ruleset: chains in order, nft `ct helper` objects, and notes of the readers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Ruleset {
    /// Every chain.
    pub chains: Vec<Chain>,
    /// nft `ct helper` objects.
    pub helper_objects: Vec<CtHelperObject>,
    /// What the readers kept opaque.
    pub notes: Vec<ReadNote>,
}

impl Ruleset {
    /// Number of rules.
    ///
    /// ```
    /// use netfilter_helpers_core::ruleset::Ruleset;
    /// assert_eq!(Ruleset::default().rule_count(), 0);
    /// ```
    pub fn rule_count(&self) -> usize {
        self.chains.iter().map(|c| c.rules.len()).sum()
    }

    /// Combines the nft ruleset with `iptables-save` readings. Tables of iptables-nft
    /// that `iptables-save` read are dropped from the nft reading (they would be there twice,
    /// the second time as opaque `xt` expressions), together with their notes.
    ///
    /// ```
    /// use netfilter_helpers_core::ruleset::{iptables_save, Ruleset};
    /// let ipt = iptables_save::read("# Generated by iptables-save v1.8.9 (nf_tables)\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n", None);
    /// let all = Ruleset::combine(None, vec![ipt]);
    /// assert_eq!(all.chains.len(), 1);
    /// ```
    pub fn combine(nft: Option<Ruleset>, iptables: Vec<Ruleset>) -> Ruleset {
        let mut out = Ruleset::default();
        let covered: Vec<(String, String)> = iptables
            .iter()
            .flat_map(|r| r.chains.iter())
            .filter(|c| c.origin == Origin::IptablesNft)
            .map(|c| (c.family.clone(), c.table.clone()))
            .collect();
        let is_covered =
            |fam: &str, table: &str| covered.iter().any(|(f, t)| f == fam && t == table);
        if let Some(n) = nft {
            out.chains.extend(
                n.chains
                    .into_iter()
                    .filter(|c| !is_covered(&c.family, &c.table)),
            );
            out.helper_objects = n.helper_objects;
            out.notes.extend(n.notes.into_iter().filter(|note| {
                !(note.xt
                    && covered
                        .iter()
                        .any(|(f, t)| note.place.starts_with(&format!("nft {f} {t} "))))
            }));
        }
        for r in iptables {
            out.chains.extend(r.chains);
            out.notes.extend(r.notes);
        }
        out
    }
}

/// Reads rulesets from texts, each `nft -j list ruleset` output (it starts with `{`) or
/// `iptables-save`/`ip6tables-save` text, and combines them ([`Ruleset::combine`]).
///
/// ```
/// use netfilter_helpers_core::ruleset::read_texts;
/// let rs = read_texts(["{\"nftables\": []}", "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n"]).unwrap();
/// assert_eq!(rs.chains.len(), 1);
/// assert!(read_texts(["{ not json"]).is_err());
/// ```
///
/// # Errors
/// When a text that starts with `{` is not an nft JSON document.
pub fn read_texts<'a>(
    texts: impl IntoIterator<Item = &'a str>,
) -> Result<Ruleset, nft_json::NftJsonError> {
    let mut nft: Option<Ruleset> = None;
    let mut ipt = Vec::new();
    for t in texts {
        if t.trim_start().starts_with('{') {
            let rs = nft_json::read(t)?;
            match &mut nft {
                Some(n) => {
                    n.chains.extend(rs.chains);
                    n.helper_objects.extend(rs.helper_objects);
                    n.notes.extend(rs.notes);
                }
                None => nft = Some(rs),
            }
        } else {
            ipt.push(iptables_save::read(t, None));
        }
    }
    Ok(Ruleset::combine(nft, ipt))
}

/// Escapes control characters (and backslashes) for messages.
///
/// ```
/// use netfilter_helpers_core::ruleset::escape;
/// assert_eq!(escape("a\x1b[31mb\n"), "a\\x1b[31mb\\n");
/// ```
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => o.push_str("\\n"),
            '\t' => o.push_str("\\t"),
            '\r' => o.push_str("\\r"),
            '\\' => o.push_str("\\\\"),
            c if c.is_control() => {
                let n = c as u32;
                if n < 0x100 {
                    o.push_str(&format!("\\x{n:02x}"));
                } else {
                    o.push_str(&format!("\\u{{{n:x}}}"));
                }
            }
            c => o.push(c),
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::hazards::{Facts, hazards};
    use super::*;
    use crate::audit::{AuditCode, Interface};
    use crate::options::ModuleOptions;
    use crate::report::Severity;
    use proptest::prelude::*;

    fn codes(rs: &Ruleset, facts: &Facts<'_>) -> Vec<(AuditCode, Severity)> {
        hazards(rs, facts)
            .iter()
            .map(|f| (f.code, f.severity))
            .collect()
    }

    #[test]
    fn dangerous_option_with_a_rule_that_uses_the_helper() {
        let rs = iptables_save::read(
            "*raw\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -d 10.0.0.1/32 -p udp -m udp --dport 5060 -j CT --helper sip\n-A PREROUTING -d 10.0.0.1/32 -p tcp -m tcp --dport 21 -j CT --helper ftp\nCOMMIT\n",
            None,
        );
        let mut o = ModuleOptions::new();
        o.set_assignment("sip.sip_direct_media=0").unwrap();
        o.set_assignment("ftp.loose=1").unwrap();
        let found = hazards(&rs, &Facts::new(&o));
        let got: Vec<_> = found
            .iter()
            .map(|f| (f.code, f.rule.as_ref().unwrap().location.index))
            .collect();
        assert_eq!(
            got,
            [
                (AuditCode::DangerousOptionInUse, 1),
                (AuditCode::DangerousOptionInUse, 2)
            ]
        );
        assert!(
            found[0].message.contains("sip_direct_media"),
            "{}",
            found[0].message
        );
        assert!(found[1].message.contains("loose"), "{}", found[1].message);
        // Without the options, nothing.
        assert!(hazards(&rs, &Facts::new(&ModuleOptions::new())).is_empty());
    }

    #[test]
    fn helper_names_modules_families_and_protocols() {
        let rs = iptables_save::read(
            "# Generated by ip6tables-save v1.8.9 (legacy)\n*raw\n:PREROUTING ACCEPT [0:0]\n\
             -A PREROUTING -d 2001:db8::1/128 -p tcp -m tcp --dport 1723 -j CT --helper pptp\n\
             -A PREROUTING -d 2001:db8::1/128 -p udp -m udp --dport 21 -j CT --helper ftp\n\
             -A PREROUTING -d 2001:db8::1/128 -p tcp -m tcp --dport 2121 -j CT --helper ftp-2121\n\
             -A PREROUTING -d 2001:db8::1/128 -m tcp --dport 6667 -j CT --helper irc\nCOMMIT\n",
            None,
        );
        let o = ModuleOptions::new();
        let loaded = vec![
            "nf_conntrack_ftp".to_string(),
            "nf_conntrack_pptp".to_string(),
        ];
        let mut facts = Facts::new(&o);
        facts.loaded_modules = Some(&loaded);
        let found = hazards(&rs, &facts);
        let got: Vec<_> = found
            .iter()
            .map(|f| (f.code, f.severity, f.rule.as_ref().unwrap().location.index))
            .collect();
        use AuditCode::*;
        assert_eq!(
            got,
            [
                (HelperUnsupported, Severity::Error, 1),
                (HelperUnsupported, Severity::Error, 2),
                (HelperNotLoaded, Severity::Warning, 3),
                (HelperUnsupported, Severity::Error, 4),
                (HelperNotLoaded, Severity::Warning, 4),
            ],
            "{found:#?}"
        );
        assert!(
            found[2].message.contains("ports=21"),
            "{}",
            found[2].message
        );
        assert!(found[4].message.contains("nf_conntrack_irc is not loaded"));
    }

    #[test]
    fn nft_object_protocol_mismatch() {
        let rs = nft_json::read(r#"{"nftables": [
            {"ct helper": {"family": "inet", "table": "t", "name": "h", "type": "sip", "protocol": "udp", "l3proto": "inet"}},
            {"chain": {"family": "inet", "table": "t", "name": "pre", "type": "filter", "hook": "prerouting", "prio": -150, "policy": "accept"}},
            {"rule": {"family": "inet", "table": "t", "chain": "pre", "expr": [
              {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": "10.0.0.1"}},
              {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 5060}},
              {"ct helper": "h"}]}},
            {"rule": {"family": "inet", "table": "t", "chain": "pre", "expr": [
              {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": "10.0.0.1"}},
              {"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": 5060}},
              {"ct helper": "nope"}]}}
        ]}"#).unwrap();
        let o = ModuleOptions::new();
        let found = hazards(&rs, &Facts::new(&o));
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(
            found[0].message.contains("does nothing"),
            "{}",
            found[0].message
        );
        assert!(found[1].message.contains("not in table inet t"));
    }

    #[test]
    fn antispoofing_by_sysctl_rule_or_not_at_all() {
        let ifs = vec![
            Interface {
                name: "eth0".into(),
                addresses: vec!["192.0.2.1/24".into(), "fe80::1/64".into()],
                rp_filter: Some("0".into()),
            },
            Interface {
                name: "eth1".into(),
                addresses: vec!["10.0.0.1/24".into()],
                rp_filter: Some("1".into()),
            },
            Interface {
                name: "eth2".into(),
                addresses: vec!["10.0.2.1/24".into(), "2001:db8::1/64".into()],
                rp_filter: Some("0".into()),
            },
            Interface {
                name: "lo".into(),
                addresses: vec!["127.0.0.1/8".into()],
                rp_filter: None,
            },
        ];
        let rs = iptables_save::read(
            "*raw\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -i eth2 -m rpfilter --invert -j DROP\nCOMMIT\n",
            None,
        );
        let o = ModuleOptions::new();
        let mut facts = Facts::new(&o);
        facts.interfaces = &ifs;
        let found = hazards(&rs, &facts);
        let got: Vec<_> = found.iter().map(|f| f.subject.as_str()).collect();
        // eth0 (IPv4, rp_filter 0, no rule), eth2 (IPv6: the iptables (IPv4) rule does not
        // cover it); eth0's link-local address is not judged.
        assert_eq!(got, ["interface eth0", "interface eth2"], "{found:#?}");
        assert!(found[1].message.contains("IPv6"));
        // conf/all raises every interface's IPv4 level.
        facts.rp_filter_all = Some("2");
        assert_eq!(hazards(&rs, &facts).len(), 1);
    }

    #[test]
    fn combine_drops_xt_notes_of_tables_iptables_save_read() {
        let nft = nft_json::read(
            r#"{"nftables": [{"rule": {"family": "ip", "table": "filter", "chain": "FORWARD",
            "expr": [{"xt": {"type": "match", "name": "conntrack"}}, {"accept": null}]}}]}"#,
        )
        .unwrap();
        let ipt = iptables_save::read(
            "# Generated by iptables-save v1.8.9 (nf_tables)\n*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -m conntrack --ctstate RELATED -j ACCEPT\nCOMMIT\n",
            None,
        );
        let o = ModuleOptions::new();
        let alone = codes(&nft, &Facts::new(&o));
        assert_eq!(alone, [(AuditCode::OpaqueRule, Severity::Warning)]);
        let both = Ruleset::combine(Some(nft), vec![ipt]);
        assert_eq!(
            codes(&both, &Facts::new(&o)),
            [(AuditCode::RelatedAcceptBlanket, Severity::Error)]
        );
    }

    #[test]
    fn restricted_related_accepts_are_quiet_and_partial_ones_are_not() {
        let rs = iptables_save::read(
            "*filter\n:FORWARD DROP [0:0]\n\
             -A FORWARD -d 10.0.0.10/32 -p tcp -m conntrack --ctstate RELATED -m helper --helper ftp -j ACCEPT\n\
             -A FORWARD -d 10.0.0.10/32 -m conntrack --ctstate RELATED -j ACCEPT\n\
             -A FORWARD -m state --state ESTABLISHED -j ACCEPT\n\
             -A FORWARD -m conntrack ! --ctstate NEW,INVALID -j ACCEPT\nCOMMIT\n",
            None,
        );
        let o = ModuleOptions::new();
        assert_eq!(
            codes(&rs, &Facts::new(&o)),
            [
                (AuditCode::RelatedAcceptNoHelper, Severity::Warning),
                (AuditCode::RelatedAcceptBlanket, Severity::Error)
            ]
        );
    }

    #[test]
    fn loops_in_files_end() {
        let rs = iptables_save::read(
            "*filter\n:INPUT ACCEPT [0:0]\n:a - [0:0]\n:b - [0:0]\n-A INPUT -j a\n-A a -j b\n-A b -j a\n-A b -m state --state RELATED -j ACCEPT\nCOMMIT\n",
            None,
        );
        let o = ModuleOptions::new();
        assert_eq!(
            codes(&rs, &Facts::new(&o)),
            [(AuditCode::RelatedAcceptBlanket, Severity::Error)]
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Arbitrary text never panics either reader or the hazard walk.
        #[test]
        fn readers_never_panic(text in "\\PC{0,400}") {
            let o = ModuleOptions::new();
            let rs = iptables_save::read(&text, None);
            let _ = hazards(&rs, &Facts::new(&o));
            if let Ok(rs) = nft_json::read(&text) {
                let _ = hazards(&rs, &Facts::new(&o));
            }
        }

        /// Rule-like lines built from real options never panic and keep every line.
        #[test]
        fn iptables_rule_lines(words in proptest::collection::vec(prop_oneof![
            Just("-m"), Just("conntrack"), Just("--ctstate"), Just("RELATED"), Just("!"),
            Just("-j"), Just("ACCEPT"), Just("CT"), Just("--helper"), Just("ftp"), Just("-g"),
            Just("-s"), Just("10.0.0.1"), Just("-p"), Just("tcp"), Just("--dport"), Just("21:"),
            Just("\"a b\""), Just("--comment"), Just("-i"), Just("eth0"), Just("x"),
            Just("rpfilter"), Just("--invert"), Just("--match-set"), Just("-A"),
        ], 0..20)) {
            let text = format!("*filter\n:INPUT DROP [0:0]\n-A INPUT {}\nCOMMIT\n", words.join(" "));
            let rs = iptables_save::read(&text, None);
            prop_assert_eq!(rs.rule_count() + rs.notes.len(), 1);
            let o = ModuleOptions::new();
            let _ = hazards(&rs, &Facts::new(&o));
        }

        /// Arbitrary JSON values inside the nftables array never fail the document.
        #[test]
        fn nft_items_never_fail(items in proptest::collection::vec(nft_item(), 0..12)) {
            let doc = serde_json::json!({"nftables": items}).to_string();
            let rs = nft_json::read(&doc);
            prop_assert!(rs.is_ok());
            let o = ModuleOptions::new();
            let _ = hazards(&rs.unwrap(), &Facts::new(&o));
        }

        /// Splitting undoes iptables-save's quoting.
        #[test]
        fn split_words_undoes_quoting(words in proptest::collection::vec("[ -~]{1,12}", 1..6)) {
            let quoted: Vec<String> = words
                .iter()
                .map(|w| format!("\"{}\"", w.replace('\\', "\\\\").replace('"', "\\\"")))
                .collect();
            prop_assert_eq!(iptables_save::split_words(&quoted.join(" ")), words);
        }
    }

    fn nft_item() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::{Value, json};
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            "[a-z ]{0,8}".prop_map(Value::String),
            prop_oneof![
                Just("rule"),
                Just("chain"),
                Just("ct helper"),
                Just("expr"),
                Just("match"),
                Just("left"),
                Just("right"),
                Just("ct"),
                Just("key"),
                Just("state"),
                Just("jump"),
                Just("target"),
                Just("vmap"),
                Just("set"),
                Just("xt"),
                Just("family"),
                Just("table"),
                Just("hook"),
                Just("prio"),
                Just("policy"),
            ]
            .prop_map(|s| json!(s)),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::vec(
                    (
                        prop_oneof![
                            Just("rule"),
                            Just("chain"),
                            Just("expr"),
                            Just("match"),
                            Just("left"),
                            Just("right"),
                            Just("ct"),
                            Just("key"),
                            Just("jump"),
                            Just("goto"),
                            Just("target"),
                            Just("vmap"),
                            Just("data"),
                            Just("set"),
                            Just("payload"),
                            Just("meta"),
                            Just("fib"),
                            Just("flags"),
                            Just("result"),
                            Just("op"),
                            Just("chain"),
                            Just("hook"),
                            Just("prio"),
                            Just("ct helper"),
                            Just("accept"),
                            Just("add"),
                            Just("range"),
                            Just("prefix"),
                        ]
                        .prop_map(str::to_string),
                        inner
                    ),
                    0..4
                )
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }
}
