//! The typed rule representation that synthesis builds and renderers print.
//!
//! A [`Ruleset`] holds chains of [`Rule`]s in the hooks a firewall needs for helpers: the
//! anti-spoofing chain (PREROUTING, before connection tracking), the helper-assignment chains
//! (PREROUTING for connections arriving at the firewall, OUTPUT for connections the firewall
//! host opens; both before destination NAT), and the RELATED chains (filter FORWARD, INPUT,
//! OUTPUT). Address lists are kept as lists: the nft renderers turn them into sets, the
//! iptables renderers into one rule per network, with sub-chains where two lists would
//! multiply. Every string in here was validated when the site was ([`IfName`], [`RuleName`],
//! helper names), so renderers never need to quote or escape.
//!
//! There is no accept target: the rules only ever *drop* (spoofed sources, RELATED flows the
//! model does not allow) or *return* (let the site's own firewall decide). Nothing nfh renders
//! can open a firewall.
//!
//! ```
//! use netfilter_helpers_core::ir::{Chain, ChainKind, Match, Rule, Ruleset, Target};
//! use netfilter_helpers_core::net::Family;
//! let mut rs = Ruleset::new("nfh".parse().unwrap());
//! rs.chain_mut(ChainKind::RelatedForward).rules.push(Rule::new(Some(Family::Ipv4), vec![Match::Icmp], Target::Return));
//! assert_eq!(rs.chain(ChainKind::RelatedForward).rules.len(), 1);
//! ```

use serde::Serialize;

use crate::catalogue::HelperName;
use crate::net::Cidr;
use crate::net::{Family, L4Proto};
use crate::net::{IfName, RpFilter, RuleName};
use crate::options::ModuleOptions;

/// The chains netfilter-helpers fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChainKind {
    /// Anti-spoofing, PREROUTING before connection tracking (iptables raw, nft priority raw).
    Antispoof,
    /// Helper assignment for connections arriving at the firewall, PREROUTING before
    /// destination NAT (iptables raw, nft priority mangle).
    HelpersIn,
    /// Helper assignment for connections the firewall host opens, OUTPUT before destination
    /// NAT (iptables raw, nft priority mangle).
    HelpersOut,
    /// The RELATED flows the model allows for forwarded traffic (filter FORWARD, RELATED
    /// packets only) return; the chain ends with a drop, so no other RELATED flow passes.
    RelatedForward,
    /// The same for traffic to the firewall host (filter INPUT).
    RelatedInput,
    /// The same for traffic from the firewall host (filter OUTPUT).
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
    /// Arrived through an interface whose name starts with this (`-i ppp+`, `iifname "ppp*"`).
    InIfacePrefix(IfName),
    /// Source address in one of these networks (one family).
    Src(Vec<Cidr>),
    /// Destination address in one of these networks (one family).
    Dst(Vec<Cidr>),
    /// The destination is not a broadcast or multicast address (`-m addrtype !
    /// --dst-type BROADCAST/MULTICAST`, `fib daddr type != { broadcast, multicast }`; IPv6:
    /// outside `ff00::/8`): the host's own broadcasts and multicasts loop back through
    /// PREROUTING on the interface they left by.
    DstNotGroup,
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
    /// The packet's connection was expected by a master whose helper is this one: iptables'
    /// `-m helper --helper` and nft's `ct helper` both read the helper of the connection's
    /// *master* (`nfct_help(ct->master)` in `xt_helper.c` and in `nft_ct.c`,
    /// `nft_ct_get_eval`, key `NFT_CT_HELPER`).
    Helper(HelperName),
    /// The reverse-path lookup of the source fails: strict, the route back does not leave
    /// through the arrival interface (`-m rpfilter --invert`, `fib saddr . iif oif missing`);
    /// loose, there is no route back at all (`--loose`, `fib saddr oif missing`); with `mark`,
    /// the lookup uses the packet's mark (`--validmark`, `fib saddr . mark ...`).
    RpfilterFails {
        /// Loose mode.
        loose: bool,
        /// Mark-aware lookup.
        mark: bool,
    },
    /// At most this many packets per minute (a burst of 5), for logging.
    Limit(u32),
}

/// What a rule does.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case", tag = "target", content = "value")]
pub enum Target {
    /// Drop.
    Drop,
    /// Leave nfh's rules: the packet continues with the site's own rules (iptables: return
    /// to the built-in chain; nft: the base chain's `policy accept`, after which the site's
    /// own base chains on the same hook still judge the packet).
    Return,
    /// Assign a helper (`-j CT --helper`, `ct helper set`).
    CtHelper(HelperName),
    /// Log with this prefix and go on (`-j LOG --log-prefix`, `log prefix`).
    Log(Comment),
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub struct Rule {
    /// The family it applies to; `None`: both.
    pub family: Option<Family>,
    /// All must hold.
    pub matches: Vec<Match>,
    /// What to do.
    pub target: Target,
    /// Why (rendered as a comment): service, helper and expectation class
    /// (`voip/sip/audio`), or a short phrase from the synthesiser.
    pub comment: Option<Comment>,
}

/// A rule comment: 1 to 128 bytes of letters, digits and `_ - . / : ,`, so it needs no quoting
/// in iptables-restore, shell, nft or JSON text.
///
/// ```
/// use netfilter_helpers_core::ir::Comment;
/// assert_eq!(Comment::new("voip/sip/audio").unwrap().as_str(), "voip/sip/audio");
/// assert!(Comment::new("a b").is_err());
/// assert!(Comment::new("x\"; drop").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "String")]
pub struct Comment(String);

impl Comment {
    /// Checks and wraps a comment.
    pub fn new(text: &str) -> Result<Comment, String> {
        let ok = !text.is_empty()
            && text.len() <= 128
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-./:,".contains(&b));
        if ok {
            Ok(Comment(text.to_string()))
        } else {
            Err(format!(
                "comment {text:?} must be 1 to 128 letters, digits, '_', '-', '.', '/', ':' or ','"
            ))
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Comment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<RuleName> for Comment {
    fn from(n: RuleName) -> Comment {
        Comment(n.as_str().to_string())
    }
}

impl From<Comment> for String {
    fn from(c: Comment) -> String {
        c.0
    }
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
    pub fn with_comment(mut self, comment: impl Into<Comment>) -> Rule {
        self.comment = Some(comment.into());
        self
    }

    /// Whether the rule applies to a family.
    ///
    /// ```
    /// use netfilter_helpers_core::ir::{Rule, Target};
    /// use netfilter_helpers_core::net::Family;
    /// assert!(Rule::new(None, vec![], Target::Drop).applies_to(Family::Ipv6));
    /// ```
    pub fn applies_to(&self, family: Family) -> bool {
        self.family.is_none_or(|f| f == family)
    }
}

/// A chain and its rules.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
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
}

impl HelperObject {
    /// The object's name in the nft table: helper and protocol joined by `_`, with `.` and `-`
    /// replaced by `_` (`ftp_tcp`, `Q_931_tcp`, `netbios_ns_udp`).
    ///
    /// ```
    /// use netfilter_helpers_core::ir::HelperObject;
    /// use netfilter_helpers_core::net::L4Proto;
    /// let o = HelperObject { helper: "Q.931".parse().unwrap(), l4: L4Proto::Tcp };
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
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub struct Ruleset {
    /// The nft table name and iptables chain prefix.
    pub table: RuleName,
    /// The kernel the rules are for.
    pub kernel: crate::kernel::KernelVersion,
    /// The chains, one of each kind, in [`ChainKind::ALL`] order.
    pub chains: Vec<Chain>,
    /// The `ct helper` objects the helper chains use.
    pub helpers: Vec<HelperObject>,
    /// The sysctl settings the rules rely on, in order (rendered by the `sysctl` backend).
    pub sysctls: Vec<Sysctl>,
    /// The module options the rules rely on (rendered by the `modprobe` backend).
    pub options: ModuleOptions,
}

/// Where an IPv4 `conf` sysctl applies.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfScope {
    /// `conf/all`: the kernel uses the maximum of `all` and the interface's own value.
    All,
    /// `conf/default`: the value interfaces created later start with.
    Default,
    /// One interface's own setting.
    Interface(IfName),
}

/// A sysctl setting the rules rely on. The text form (`net.ipv4.conf.eth0.rp_filter = 1`) is
/// the `sysctl` backend's business (`render::sysctl_pairs`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case", tag = "sysctl")]
#[non_exhaustive]
pub enum Sysctl {
    /// `net.ipv4.conf.<scope>.rp_filter`: reverse-path filtering.
    RpFilter {
        /// Which `conf` directory.
        scope: ConfScope,
        /// The mode.
        mode: RpFilter,
    },
    /// `net.netfilter.nf_conntrack_helper` (kernels 3.5 to 5.19): automatic helper
    /// assignment by port.
    AutoAssign {
        /// Whether it stays on (nfh always turns it off).
        enabled: bool,
    },
}

impl Ruleset {
    /// An empty ruleset.
    pub fn new(table: RuleName) -> Ruleset {
        Ruleset {
            table,
            kernel: crate::kernel::DEFAULT_KERNEL,
            chains: ChainKind::ALL
                .iter()
                .map(|k| Chain {
                    kind: *k,
                    rules: Vec::new(),
                })
                .collect(),
            helpers: Vec::new(),
            sysctls: Vec::new(),
            options: ModuleOptions::new(),
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

crate::spelling::spelling! {
    ChainKind {
        Antispoof => "antispoof",
        HelpersIn => "helpers-in",
        HelpersOut => "helpers-out",
        RelatedForward => "related-forward",
        RelatedInput => "related-input",
        RelatedOutput => "related-output",
    }
}
