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

/// The type of a base chain, which decides what its verdicts mean.
///
/// Every base chain is one function on its hook (`nf_hook_slow` runs them in priority order);
/// an `accept` ends only that chain, and the packet goes on to the next one, while a drop is
/// final. What differs is when a chain runs:
///
/// * `filter` (nft `type filter`; the iptables `filter`, `raw`, `security` tables and `mangle`
///   outside `OUTPUT`) runs for every packet (net/netfilter/nft_chain_filter.c,
///   `nft_do_chain_ipv4` and siblings: the verdict of `nft_do_chain` is returned as is);
/// * `route` (nft `type route`, only at `output`; iptables `mangle OUTPUT`) is a filter chain
///   that reroutes an accepted packet whose addresses, mark or TOS it changed
///   (net/netfilter/nft_chain_route.c, `nf_route_table_hook4`);
/// * `nat` (nft `type nat`; the iptables `nat` table) runs only for the first packet of a
///   connection (ctinfo `NEW` or `RELATED`) whose NAT is not set up yet, and an accept there
///   goes on to the next NAT chain and then, through `nf_nat_packet`, to the next base chain
///   of the hook (net/netfilter/nf_nat_core.c, `nf_nat_inet_fn`): a NAT chain's accept lets
///   nothing past a later filter chain's drop.
///
/// ```
/// use netfilter_helpers_core::ruleset::{ChainType, Hook};
/// assert_eq!(ChainType::parse("nat"), Some(ChainType::Nat));
/// assert_eq!(ChainType::of_iptables_table("mangle", Hook::Output), ChainType::Route);
/// assert_eq!(ChainType::of_iptables_table("raw", Hook::Prerouting), ChainType::Filter);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChainType {
    /// `type filter`.
    Filter,
    /// `type nat`.
    Nat,
    /// `type route`.
    Route,
}

impl ChainType {
    /// Parses an nft chain type (`filter`, `nat`, `route`); `None` for anything else.
    ///
    /// ```
    /// use netfilter_helpers_core::ruleset::ChainType;
    /// assert_eq!(ChainType::parse("route"), Some(ChainType::Route));
    /// assert_eq!(ChainType::parse("bogus"), None);
    /// ```
    pub fn parse(s: &str) -> Option<ChainType> {
        Some(match s {
            "filter" => ChainType::Filter,
            "nat" => ChainType::Nat,
            "route" => ChainType::Route,
            _ => return None,
        })
    }

    /// The type of the built-in chain `hook` of an iptables table: `nat` for the `nat` table
    /// (net/ipv4/netfilter/iptable_nat.c registers its hooks through `nf_nat_ipv4_register_fn`,
    /// as nft's NAT chains do), `route` for `mangle OUTPUT` (iptable_mangle.c,
    /// `ipt_mangle_out` reroutes like nft's route chain), `filter` for every other.
    ///
    /// ```
    /// use netfilter_helpers_core::ruleset::{ChainType, Hook};
    /// assert_eq!(ChainType::of_iptables_table("nat", Hook::Postrouting), ChainType::Nat);
    /// assert_eq!(ChainType::of_iptables_table("filter", Hook::Forward), ChainType::Filter);
    /// ```
    pub fn of_iptables_table(table: &str, hook: Hook) -> ChainType {
        match (table, hook) {
            ("nat", _) => ChainType::Nat,
            ("mangle", Hook::Output) => ChainType::Route,
            _ => ChainType::Filter,
        }
    }

    /// The nft name of the type.
    ///
    /// ```
    /// use netfilter_helpers_core::ruleset::ChainType;
    /// assert_eq!(ChainType::Nat.name(), "nat");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            ChainType::Filter => "filter",
            ChainType::Nat => "nat",
            ChainType::Route => "route",
        }
    }
}

impl fmt::Display for ChainType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
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
    /// `ct status` / `-m conntrack --ctstatus`: lowercase status bits (`expected`,
    /// `seen-reply`, `assured`, `confirmed`, `snat`, `dnat`, ...). A connection an expectation
    /// created has `expected` from its first packet on (net/netfilter/nf_conntrack_core.c,
    /// `init_conntrack` sets `IPS_EXPECTED_BIT` when it finds the expectation), so
    /// `ct status expected` matches every RELATED connection.
    CtStatus {
        /// The status bits.
        statuses: Vec<String>,
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
        /// What it matches, normalised and sorted (see [`address_values`]): networks as
        /// `ADDR/LEN` (a host is `/32` or `/128`), ranges as `A-B`, named sets as `@name`.
        values: Vec<String>,
        /// Negated.
        negated: bool,
    },
    /// A destination address restriction.
    Daddr {
        /// What it matches, normalised and sorted as for [`Cond::Saddr`].
        values: Vec<String>,
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
    /// A verdict map on another key (`iifname vmap { "eth0" : jump lan }`, or a named map,
    /// `iifname vmap @zones`, whose elements the reader looked up): per-key verdicts.
    VerdictMap {
        /// The key as printed (`iifname`, `ip saddr`).
        key: String,
        /// The keys as printed, with their verdicts.
        entries: Vec<(String, Action)>,
    },
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
    /// The type of a base chain (nft `type`; for iptables, from the table and hook, see
    /// [`ChainType::of_iptables_table`]); `None` for a regular chain, or an nft type this
    /// reader does not know.
    pub chain_type: Option<ChainType>,
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

/// Address values as the readers keep them, so that the same restriction reads the same
/// whichever way it was printed. Networks (`10.0.0.1`, `10.0.0.1/32`, `10.0.0.0/8`) and
/// ranges (`A-B`) become intervals; overlapping and adjacent ones merge, as nft merges them
/// in an interval set (`{ 10.0.1.0/24, 10.0.2.0/23 }` prints back as
/// `10.0.1.0-10.0.3.255`); each merged interval is written as one network where it is one
/// (`10.0.0.0/23`, a host as `/32` or `/128`), else as `A-B`. Named sets (`@name`) and text
/// that is none of these are kept as written. The list is sorted.
///
/// ```
/// use netfilter_helpers_core::ruleset::address_values;
/// assert_eq!(
///     address_values(["10.0.0.1", "10.0.0.1/32", "@lan", "2001:db8::/32"]),
///     ["10.0.0.1/32", "2001:db8::/32", "@lan"]
/// );
/// assert_eq!(
///     address_values(["10.81.1.0/24", "10.81.2.0/23"]),
///     address_values(["10.81.1.0-10.81.3.255"])
/// );
/// assert_eq!(address_values(["10.0.0.0/24", "10.0.1.0/24"]), ["10.0.0.0/23"]);
/// ```
pub fn address_values<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Vec<String> {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    fn num(a: IpAddr) -> (bool, u128) {
        match a {
            IpAddr::V4(a) => (false, u128::from(u32::from(a))),
            IpAddr::V6(a) => (true, u128::from(a)),
        }
    }
    fn interval(t: &str) -> Option<(bool, u128, u128)> {
        if let Some((a, b)) = t.split_once('-') {
            let (va, a) = num(a.trim().parse().ok()?);
            let (vb, b) = num(b.trim().parse().ok()?);
            return (va == vb && a <= b).then_some((va, a, b));
        }
        let (addr, len) = match t.split_once('/') {
            Some((a, l)) => (a, Some(l.parse::<u32>().ok()?)),
            None => (t, None),
        };
        let (v6, n) = num(addr.parse().ok()?);
        let width = if v6 { 128 } else { 32 };
        let len = len.unwrap_or(width).min(width);
        let host = width - len;
        let size_minus_one = if host == 128 {
            u128::MAX
        } else {
            (1u128 << host) - 1
        };
        let start = n & !size_minus_one;
        Some((v6, start, start | size_minus_one))
    }
    fn show(v6: bool, n: u128) -> String {
        if v6 {
            Ipv6Addr::from(n).to_string()
        } else {
            Ipv4Addr::from(u32::try_from(n).unwrap_or(u32::MAX)).to_string()
        }
    }
    let mut other: Vec<String> = Vec::new();
    let mut spans: Vec<(bool, u128, u128)> = Vec::new();
    for t in items {
        let t = t.as_ref().trim();
        match interval(t) {
            Some(i) => spans.push(i),
            None => other.push(t.to_string()),
        }
    }
    spans.sort();
    let mut merged: Vec<(bool, u128, u128)> = Vec::new();
    for (v6, a, b) in spans {
        match merged.last_mut() {
            Some((lv6, _, lb)) if *lv6 == v6 && a <= lb.saturating_add(1) => *lb = (*lb).max(b),
            _ => merged.push((v6, a, b)),
        }
    }
    let mut out: Vec<String> = merged
        .into_iter()
        .map(|(v6, a, b)| {
            let size_minus_one = b - a;
            let one_prefix = size_minus_one
                .checked_add(1)
                .is_none_or(|s| s.is_power_of_two())
                && a & size_minus_one == 0;
            if one_prefix {
                let width = if v6 { 128 } else { 32 };
                let len = width - (128 - size_minus_one.leading_zeros());
                format!("{}/{len}", show(v6, a))
            } else {
                format!("{}-{}", show(v6, a), show(v6, b))
            }
        })
        .collect();
    other.sort();
    other.dedup();
    out.extend(other);
    out
}
