//! The typed rule representation that synthesis builds and renderers print.
//!
//! A [`Ruleset`] holds chains of [`Rule`]s in the hooks a firewall needs for helpers: the
//! anti-spoofing chain (raw PREROUTING), the helper-assignment chains (raw PREROUTING for
//! forwarded traffic, raw OUTPUT for connections the firewall host opens), and the RELATED
//! chain (filter FORWARD, INPUT, OUTPUT). Address lists are kept as lists: the nft renderers
//! turn them into sets, the iptables renderers into one rule per network. Every string in
//! here was validated when the site was ([`IfName`], [`RuleName`], helper names), so renderers
//! never need to quote or escape.
//!
//! ```
//! use netfilter_helpers_core::ir::{Chain, ChainKind, Match, Rule, Ruleset, Target};
//! use netfilter_helpers_core::catalogue::Family;
//! let mut rs = Ruleset::new("nfh".parse().unwrap());
//! rs.chain_mut(ChainKind::RelatedForward).rules.push(Rule::new(Some(Family::Ipv4), vec![Match::Icmp], Target::Accept));
//! assert_eq!(rs.chain(ChainKind::RelatedForward).rules.len(), 1);
//! ```

use serde::Serialize;

use crate::catalogue::{Family, HelperName, L4Proto};
use crate::policy::Cidr;
use crate::site::{IfName, RuleName};

/// The chains netfilter-helpers fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChainKind {
    /// Anti-spoofing, raw PREROUTING (before connection tracking).
    Antispoof,
    /// Helper assignment for traffic arriving at the firewall, raw PREROUTING.
    HelpersIn,
    /// Helper assignment for connections the firewall host opens, raw OUTPUT.
    HelpersOut,
    /// RELATED accepts for forwarded traffic (filter FORWARD, RELATED packets only); ends with
    /// a drop, so RELATED flows not accepted here never pass.
    RelatedForward,
    /// RELATED accepts for traffic to the firewall host (filter INPUT); ends with a drop.
    RelatedInput,
    /// RELATED accepts for traffic from the firewall host (filter OUTPUT); ends with a drop.
    RelatedOutput,
}

impl ChainKind {
    /// Every chain, in rendering order.
    pub const ALL: [ChainKind; 6] = [
        ChainKind::Antispoof,
        ChainKind::HelpersIn,
        ChainKind::HelpersOut,
        ChainKind::RelatedForward,
        ChainKind::RelatedInput,
        ChainKind::RelatedOutput,
    ];

    /// The chain's name suffix (`antispoof`, `helpers-in`, ...).
    ///
    /// ```
    /// use netfilter_helpers_core::ir::ChainKind;
    /// assert_eq!(ChainKind::HelpersOut.suffix(), "helpers-out");
    /// ```
    pub const fn suffix(self) -> &'static str {
        match self {
            ChainKind::Antispoof => "antispoof",
            ChainKind::HelpersIn => "helpers-in",
            ChainKind::HelpersOut => "helpers-out",
            ChainKind::RelatedForward => "related-fwd",
            ChainKind::RelatedInput => "related-in",
            ChainKind::RelatedOutput => "related-out",
        }
    }
}

/// A condition on a packet.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case", tag = "match", content = "value")]
pub enum Match {
    /// Arrived through this interface.
    InIface(IfName),
    /// Source address in one of these networks (one family).
    Src(Vec<Cidr>),
    /// Destination address in one of these networks (one family).
    Dst(Vec<Cidr>),
    /// Layer-4 protocol.
    Proto(L4Proto),
    /// Source port.
    Sport(u16),
    /// Destination port.
    Dport(u16),
    /// Destination ports in a list.
    Dports(Vec<u16>),
    /// Destination port at least this.
    DportFrom(u16),
    /// ICMP (IPv4) or ICMPv6 (IPv6), by family.
    Icmp,
    /// ICMPv6 of one type.
    Icmpv6Type(u8),
    /// The packet's connection was expected by a master handled by `creator` (what iptables'
    /// `-m helper` checks), within a chain of connections whose first master was assigned
    /// `assigned` by a rule (nft matches the connection mark set with the assignment and
    /// inherited by every expected connection).
    Helper {
        /// The helper of the master that created the expectation.
        creator: HelperName,
        /// The helper a rule assigned at the start of the chain.
        assigned: HelperName,
    },
    /// The reverse path to the source does not go out through the arrival interface
    /// (`-m rpfilter --invert`, `fib saddr . iif oif missing`).
    RpfilterFails,
}

/// What a rule does.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case", tag = "target", content = "value")]
pub enum Target {
    /// Accept (ends this chain; other chains and tables still see the packet).
    Accept,
    /// Drop.
    Drop,
    /// Return to the calling chain.
    Return,
    /// Assign a helper (`-j CT --helper`, `ct helper set`).
    CtHelper(HelperName),
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Rule {
    /// The family it applies to; `None`: both.
    pub family: Option<Family>,
    /// All must hold.
    pub matches: Vec<Match>,
    /// What to do.
    pub target: Target,
    /// Why (rendered as a comment): a service name or a short phrase from the synthesiser.
    pub comment: Option<RuleName>,
}

impl Rule {
    /// A rule without a comment.
    pub fn new(family: Option<Family>, matches: Vec<Match>, target: Target) -> Rule {
        Rule {
            family,
            matches,
            target,
            comment: None,
        }
    }

    /// The same rule with a comment.
    pub fn with_comment(mut self, comment: RuleName) -> Rule {
        self.comment = Some(comment);
        self
    }

    /// Whether the rule applies to a family.
    ///
    /// ```
    /// use netfilter_helpers_core::ir::{Rule, Target};
    /// use netfilter_helpers_core::catalogue::Family;
    /// assert!(Rule::new(None, vec![], Target::Drop).applies_to(Family::Ipv6));
    /// ```
    pub fn applies_to(&self, family: Family) -> bool {
        self.family.is_none_or(|f| f == family)
    }
}

/// A chain and its rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Chain {
    /// Which chain.
    pub kind: ChainKind,
    /// Its rules, in order.
    pub rules: Vec<Rule>,
}

/// An nft `ct helper` object.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct HelperObject {
    /// The helper registration it refers to.
    pub helper: HelperName,
    /// The protocol it is registered for.
    pub l4: L4Proto,
    /// The connection mark value (within [`Ruleset::mark_mask`]) the assignment sets.
    pub mark: u32,
}

impl HelperObject {
    /// The object's name in the nft table: helper and protocol joined by `_`, with `.` and `-`
    /// replaced by `_` (`ftp_tcp`, `Q_931_tcp`, `netbios_ns_udp`).
    ///
    /// ```
    /// use netfilter_helpers_core::ir::HelperObject;
    /// use netfilter_helpers_core::catalogue::L4Proto;
    /// let o = HelperObject { helper: "Q.931".parse().unwrap(), l4: L4Proto::Tcp, mark: 1 << 24 };
    /// assert_eq!(o.object_name(), "Q_931_tcp");
    /// ```
    pub fn object_name(&self) -> String {
        format!(
            "{}_{}",
            self.helper.to_string().replace(['.', '-'], "_"),
            self.l4
        )
    }
}

/// A complete set of rules for one site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ruleset {
    /// The nft table name and iptables chain prefix.
    pub table: RuleName,
    /// The kernel the rules are for.
    pub kernel: crate::kernel::KernelVersion,
    /// The chains, one of each kind, in [`ChainKind::ALL`] order.
    pub chains: Vec<Chain>,
    /// The `ct helper` objects the helper chains use.
    pub helpers: Vec<HelperObject>,
    /// The bits of the connection mark that carry the assigned helper (nft backends).
    pub mark_mask: u32,
    /// sysctl settings (`net.ipv4.conf.eth0.rp_filter` = 1), in order.
    pub sysctls: Vec<(String, String)>,
    /// `modprobe.d` text for the module options.
    pub modprobe: String,
}

/// The connection-mark bits used by default to tag helper assignments (the top byte).
pub const DEFAULT_MARK_MASK: u32 = 0xff00_0000;

impl Ruleset {
    /// The mark an assignment of this helper sets, if the ruleset assigns it.
    ///
    /// ```
    /// use netfilter_helpers_core::ir::{HelperObject, Ruleset};
    /// use netfilter_helpers_core::catalogue::L4Proto;
    /// let mut rs = Ruleset::new("nfh".parse().unwrap());
    /// rs.helpers.push(HelperObject { helper: "ftp".parse().unwrap(), l4: L4Proto::Tcp, mark: 1 << 24 });
    /// assert_eq!(rs.mark_of(&"ftp".parse().unwrap()), Some(1 << 24));
    /// assert_eq!(rs.mark_of(&"sip".parse().unwrap()), None);
    /// ```
    pub fn mark_of(&self, helper: &HelperName) -> Option<u32> {
        self.helpers
            .iter()
            .find(|h| h.helper == *helper)
            .map(|h| h.mark)
    }

    /// An empty ruleset.
    pub fn new(table: RuleName) -> Ruleset {
        Ruleset {
            table,
            kernel: crate::site::DEFAULT_KERNEL,
            chains: ChainKind::ALL
                .iter()
                .map(|k| Chain {
                    kind: *k,
                    rules: Vec::new(),
                })
                .collect(),
            helpers: Vec::new(),
            mark_mask: DEFAULT_MARK_MASK,
            sysctls: Vec::new(),
            modprobe: String::new(),
        }
    }

    /// One chain.
    pub fn chain(&self, kind: ChainKind) -> &Chain {
        self.chains
            .iter()
            .find(|c| c.kind == kind)
            .expect("every chain kind exists")
    }

    /// One chain, mutably.
    pub fn chain_mut(&mut self, kind: ChainKind) -> &mut Chain {
        self.chains
            .iter_mut()
            .find(|c| c.kind == kind)
            .expect("every chain kind exists")
    }

    /// The number of rules, all chains together.
    ///
    /// ```
    /// use netfilter_helpers_core::ir::Ruleset;
    /// assert_eq!(Ruleset::new("nfh".parse().unwrap()).rule_count(), 0);
    /// ```
    pub fn rule_count(&self) -> usize {
        self.chains.iter().map(|c| c.rules.len()).sum()
    }
}
