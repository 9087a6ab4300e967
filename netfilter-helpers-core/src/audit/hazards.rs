//! Helper hazards in a loaded ruleset.
//!
//! Every base chain is walked from its hook, following jumps and gotos and carrying the
//! conditions of the rules that led there, so an `accept` hidden in a user chain that only
//! RELATED packets reach is seen as a RELATED accept. Each rule reached is judged:
//!
//! * **RELATED accepts** (`related-accept-blanket`, `-no-helper`, `-no-address`): a rule that
//!   accepts RELATED packets must name the helper (`ct helper "ftp"`, `-m helper`) and restrict
//!   addresses, or any forged payload of any helper opens a hole. Accepts in one base chain do
//!   not end the hook: a RELATED accept is *mitigated* (reported as info) when another base
//!   chain on the same hook drops the RELATED packets it does not allow (nfh's `related_*`
//!   chains, a chain with policy drop), whatever the priorities, since a drop is final.
//!   A rule reached from several base chains is mitigated only if every one is guarded.
//!   Chain types count ([`ChainType`]): an accept in a NAT chain with policy accept lets
//!   nothing past the hook's other chains, and chains that run before connection tracking
//!   (priority below -200 in prerouting and output, e.g. iptables' `raw` table; ingress) never
//!   see the RELATED state, so neither reports RELATED accepts nor guards; nor do NAT chains
//!   (first packets only), netdev chains (one device) or chains of another hook family
//!   (a `bridge` forward chain does not guard the IP forward hook). `ct status expected`
//!   matches RELATED connections as `ct state related` does.
//! * **Helper assignments** (`helper-unrestricted`, `helper-unsupported`, `helper-not-loaded`,
//!   `dangerous-option-in-use`, `ports-mismatch`), among them an inet `ct helper` object of an
//!   IPv4-only helper used for IPv6 connections too (it silently assigns nothing to them).
//! * **Anti-spoofing** (`no-antispoofing`): interfaces with addresses that neither
//!   `rp_filter` nor a prerouting rule protects.
//! * **Opaque rules** (`opaque-rule`, `opaque-item`): iptables-nft rules only
//!   `iptables-nft-save` can show, items the readers kept opaque.
//!
//! ```
//! use netfilter_helpers_core::audit::AuditCode;
//! use netfilter_helpers_core::options::ModuleOptions;
//! use netfilter_helpers_core::{audit::hazards::{hazards, Facts}, ruleset::{iptables_save, Ruleset}};
//!
//! let rs = iptables_save::read("*filter\n:FORWARD DROP [0:0]\n:rel - [0:0]\n\
//!     -A FORWARD -m state --state RELATED -j rel\n-A rel -j ACCEPT\nCOMMIT\n", None);
//! let options = ModuleOptions::new();
//! let found = hazards(&rs, &Facts::new(&options));
//! assert_eq!(found.len(), 1);
//! assert_eq!(found[0].code, AuditCode::RelatedAcceptBlanket);
//! assert_eq!(found[0].rule.as_ref().unwrap().text, "-A rel -j ACCEPT");
//! ```

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use super::{AuditCode, AuditFinding, Interface, RuleRef};
use crate::catalogue::{Helper, HelperName};
use crate::net::{Family, L4Proto};
use crate::options::ModuleOptions;
use crate::registry::resolve_name;
use crate::report::Severity;
use crate::ruleset::{Action, Chain, ChainType, Cond, Hook, Rule, Ruleset, escape};

/// What the hazard analysis knows about the host besides the ruleset.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Facts<'a> {
    /// The module options in force.
    pub options: &'a ModuleOptions,
    /// Loaded kernel modules, when known.
    pub loaded_modules: Option<&'a [String]>,
    /// Whether automatic helper assignment is in force.
    pub auto_assign: bool,
    /// Interfaces with their addresses and `rp_filter`.
    pub interfaces: &'a [Interface],
    /// `net.ipv4.conf.all.rp_filter`.
    pub rp_filter_all: Option<&'a str>,
}

impl<'a> Facts<'a> {
    /// Facts with only the module options: modules, interfaces and sysctls unknown.
    pub fn new(options: &'a ModuleOptions) -> Facts<'a> {
        Facts {
            options,
            loaded_modules: None,
            auto_assign: false,
            interfaces: &[],
            rp_filter_all: None,
        }
    }
}

/// How a RELATED packet stands at a point of a walk.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
struct Ctx {
    /// `ct state` includes related (explicitly, or every other state has left).
    related: bool,
    /// A `ct state` condition excludes related packets.
    excluded: bool,
    helper: bool,
    addr: bool,
    dport: bool,
    /// Any condition besides the connection state.
    narrowed: bool,
    proto: Option<String>,
    nfproto: Option<String>,
}

/// `ipv4` or `ipv6` when every address is of that family (networks, hosts, ranges; a named
/// set says nothing).
fn address_family(values: &[String]) -> Option<&'static str> {
    // The readers normalise addresses (`ruleset::address_values`): an IPv6 one has a colon,
    // an IPv4 one starts with a digit and has none; anything else (`@set`) is unknown.
    let fam = |v: &String| {
        if v.contains(':') {
            Some("ipv6")
        } else if v.starts_with(|c: char| c.is_ascii_digit()) {
            Some("ipv4")
        } else {
            None
        }
    };
    let first = fam(values.first()?)?;
    values
        .iter()
        .all(|v| fam(v) == Some(first))
        .then_some(first)
}

fn states_include_related(states: &[String], negated: bool) -> bool {
    states.iter().any(|s| s == "related") != negated
}

impl Ctx {
    fn with(&self, conds: &[Cond]) -> Ctx {
        let mut c = self.clone();
        for cond in conds {
            match cond {
                Cond::CtState { states, negated } => {
                    if states_include_related(states, *negated) {
                        c.related = true;
                    } else {
                        c.excluded = true;
                    }
                }
                Cond::CtStatus { statuses, negated } => {
                    if statuses.iter().any(|s| s == "expected") {
                        // Every RELATED connection has `expected` (see `Cond::CtStatus`).
                        if *negated {
                            c.excluded = true;
                        } else {
                            c.related = true;
                        }
                    } else {
                        c.narrowed = true;
                    }
                }
                Cond::CtHelper { negated, .. } => {
                    c.narrowed = true;
                    c.helper |= !negated;
                }
                Cond::Saddr { values, negated } | Cond::Daddr { values, negated } => {
                    c.narrowed = true;
                    // `0.0.0.0/0` (or a range over every address, which the readers merge
                    // into it) restricts nothing.
                    let everything = values.iter().any(|v| v == "0.0.0.0/0" || v == "::/0");
                    c.addr |= !negated && !everything;
                    if !negated && c.nfproto.is_none() {
                        c.nfproto = address_family(values).map(str::to_string);
                    }
                }
                Cond::Dport { negated, .. } => {
                    c.narrowed = true;
                    c.dport |= !negated;
                }
                Cond::Proto { proto, negated } => {
                    c.narrowed = true;
                    if !negated {
                        c.proto = Some(proto.clone());
                    }
                }
                Cond::NfProto { family } => {
                    c.narrowed = true;
                    c.nfproto = Some(family.clone());
                }
                _ => c.narrowed = true,
            }
        }
        c
    }
}

/// How the walk of a chain ended for RELATED packets that match no narrower rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// Fell off the end or returned.
    Through,
    /// Accepted by a rule every RELATED packet matches.
    Accepted,
    /// Dropped by a rule every RELATED packet matches.
    Dropped,
    /// An unconditional goto whose chain fell through: back to the caller's caller.
    WentAway,
}

type ChainKey<'r> = (crate::ruleset::Origin, &'r str, &'r str, &'r str);

struct Walker<'r, 'f> {
    rs: &'r Ruleset,
    facts: &'f Facts<'f>,
    chains: HashMap<ChainKey<'r>, usize>,
    memo: HashMap<(usize, Ctx), End>,
    /// Each finding with every (base chain, hook, family) it was reached from: a rule in a
    /// regular chain that two base chains jump to is mitigated only if both are guarded.
    found: Vec<(AuditFinding, Vec<Reach<'r>>)>,
    seen: HashMap<(usize, usize, AuditCode), usize>,
    /// Rules reached from a prerouting hook: (chain, rule, context).
    prerouting: Vec<(usize, usize)>,
    assigned: BTreeMap<Helper, Vec<(u16, u16)>>,
    base: usize,
    hook: Hook,
    /// The base chain's verdicts say nothing about RELATED packets: it runs before connection
    /// tracking, or it is a NAT chain whose accept lets nothing past a later drop.
    related_blind: bool,
}

/// Where a finding was reached from: base chain, its hook, the family of the rule's table.
type Reach<'r> = (usize, Hook, &'r str);

/// The hooks a family's base chains sit on: `ip`, `ip6` and `inet` chains share the IPv4 and
/// IPv6 hooks (an inet chain registers on both, net/netfilter/nf_tables_api.c,
/// `nf_tables_register_hook`); `bridge`, `netdev` and `arp` chains are on hooks of their own,
/// even when the hook has the same name (a bridge `forward` chain sees bridged frames, not
/// routed packets).
fn hook_space(family: &str) -> &str {
    match family {
        "ip" | "ip6" | "inet" => "inet",
        other => other,
    }
}

/// Whether packets in base chain `c` may carry a conntrack entry whose state is RELATED.
///
/// The state is set by connection tracking at priority -200 (`NF_IP_PRI_CONNTRACK`) in
/// prerouting and output (net/netfilter/nf_conntrack_proto.c, `ipv4_conntrack_ops`); before
/// it, and on ingress (which runs before the IP stack), the packet has no entry and
/// `ct state` reads `invalid` (net/netfilter/nft_ct.c, `nft_ct_get_eval`, `NFT_CT_STATE`;
/// xt_conntrack's `conntrack_mt` likewise), so `ct state related` never matches there.
/// Netdev tables cannot hold `ct` expressions at all (`nf_ct_netns_do_get` refuses
/// `NFPROTO_NETDEV` with `-EPROTO`). At -200 itself the order is the order of registration,
/// so it is taken as seeing the state.
fn sees_ct_state(c: &Chain) -> bool {
    match c.hook {
        Some(Hook::Ingress) => false,
        Some(Hook::Prerouting | Hook::Output) => c.priority.is_none_or(|p| p >= -200),
        _ => true,
    }
}

fn rule_ref(r: &Rule) -> Option<RuleRef> {
    Some(RuleRef {
        location: r.location.clone(),
        text: escape(&r.text),
    })
}

impl<'r, 'f> Walker<'r, 'f> {
    fn push(&mut self, chain: usize, idx: usize, code: AuditCode, sev: Severity, msg: String) {
        let reach = (self.base, self.hook, self.rs.chains[chain].family.as_str());
        if let Some(&at) = self.seen.get(&(chain, idx, code)) {
            let reaches = &mut self.found[at].1;
            if !reaches.contains(&reach) {
                reaches.push(reach);
            }
            return;
        }
        self.seen.insert((chain, idx, code), self.found.len());
        let rule = &self.rs.chains[chain].rules[idx];
        let f = AuditFinding {
            code,
            severity: sev,
            subject: escape(&rule.location.to_string()),
            message: msg,
            rule: rule_ref(rule),
        };
        self.found.push((f, vec![reach]));
    }

    fn walk(&mut self, ci: usize, ctx: &Ctx, depth: usize) -> End {
        if let Some(e) = self.memo.get(&(ci, ctx.clone())) {
            return *e;
        }
        // Loops are impossible in a loaded ruleset; the depth bound guards files.
        if depth > 64 {
            return End::Through;
        }
        self.memo.insert((ci, ctx.clone()), End::Through);
        let chain: &'r Chain = &self.rs.chains[ci];
        let mut only_related = false;
        // How RELATED packets left this chain, once they have: later rules only see others.
        let mut rel_end: Option<End> = None;
        for (ri, rule) in chain.rules.iter().enumerate() {
            let own = Ctx::default().with(&rule.conds);
            let mut eff = ctx.with(&rule.conds);
            if rel_end.is_some() {
                eff.excluded = true;
            }
            if only_related && !eff.excluded {
                eff.related = true;
            }
            if self.hook == Hook::Prerouting {
                self.prerouting.push((ci, ri));
            }
            let reaches_related = !eff.excluded;
            // Every RELATED packet that got here matches the rule.
            let all_related = reaches_related && !own.narrowed && !own.excluded;
            let mut stop: Option<End> = None;
            match &rule.action {
                Action::Accept if reaches_related && eff.related => {
                    self.related_accept(ci, ri, &eff);
                }
                Action::StateMap(entries) if reaches_related => {
                    let mut rel_ctx = eff.clone();
                    rel_ctx.related = true;
                    for (state, a) in entries {
                        if state != "related" {
                            continue;
                        }
                        match a {
                            Action::Accept => {
                                self.related_accept(ci, ri, &rel_ctx);
                                if all_related {
                                    stop = Some(End::Accepted);
                                }
                            }
                            Action::Drop if all_related => stop = Some(End::Dropped),
                            Action::Jump(t) | Action::Goto(t) => {
                                if let Some(ti) = self.lookup(chain, t) {
                                    let e = self.walk(ti, &rel_ctx, depth + 1);
                                    if all_related && e != End::Through {
                                        stop = Some(e);
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                }
                Action::VerdictMap { key, entries } if reaches_related => {
                    // Each entry is the rule's conditions plus `key == entry`: a narrower
                    // match (an address or helper restriction when the key is one).
                    let mut map_ctx = eff.clone();
                    map_ctx.narrowed = true;
                    map_ctx.addr |= key.contains("saddr") || key.contains("daddr");
                    map_ctx.helper |= key == "ct helper";
                    for (_, a) in entries {
                        match a {
                            Action::Accept if map_ctx.related => {
                                self.related_accept(ci, ri, &map_ctx);
                            }
                            Action::Jump(t) | Action::Goto(t) => {
                                if let Some(ti) = self.lookup(chain, t) {
                                    self.walk(ti, &map_ctx, depth + 1);
                                }
                            }
                            _ => {}
                        }
                    }
                }
                Action::Jump(t) | Action::Goto(t) => {
                    let goto = matches!(rule.action, Action::Goto(_));
                    match self.lookup(chain, t) {
                        Some(ti) => {
                            let e = self.walk(ti, &eff, depth + 1);
                            if all_related {
                                stop = match e {
                                    End::Through if goto => Some(End::WentAway),
                                    End::Through => None,
                                    e => Some(e),
                                };
                            }
                        }
                        None => self.push(
                            ci,
                            ri,
                            AuditCode::OpaqueRule,
                            Severity::Info,
                            format!(
                                "jumps to chain {:?}, which is not in the ruleset read",
                                escape(t)
                            ),
                        ),
                    }
                }
                Action::SetHelper(name) => self.assignment(ci, ri, name, &eff),
                _ => {}
            }
            if stop.is_none() && all_related && rule.action.is_terminal() {
                stop = Some(match rule.action {
                    Action::Accept => End::Accepted,
                    Action::Drop | Action::Reject => End::Dropped,
                    _ => End::Through,
                });
            }
            if rel_end.is_none() {
                rel_end = stop;
            }
            if rule.action.is_terminal() && !own.narrowed && only_related_pass(&rule.conds) {
                // `ct state != related return`: only RELATED packets go on (not after
                // `ct state invalid drop`, which lets every other state go on).
                only_related = true;
            }
            if rule.action.is_terminal() && rule.conds.is_empty() {
                // Every packet stops here.
                break;
            }
        }
        let end = rel_end.unwrap_or(End::Through);
        self.memo.insert((ci, ctx.clone()), end);
        end
    }

    fn lookup(&self, from: &Chain, name: &str) -> Option<usize> {
        self.chains
            .get(&(from.origin, from.family.as_str(), from.table.as_str(), name))
            .copied()
    }

    fn related_accept(&mut self, ci: usize, ri: usize, eff: &Ctx) {
        if self.related_blind {
            return;
        }
        let (code, sev, why) = match (eff.helper, eff.addr) {
            (false, false) => (
                AuditCode::RelatedAcceptBlanket,
                Severity::Error,
                "accepts every RELATED connection, whatever helper created it and whatever addresses it joins: a forged FTP, SIP or IRC payload from any host opens a hole; accept RELATED per helper (ct helper \"ftp\" / -m helper --helper ftp) and only between the addresses that service uses",
            ),
            (false, true) => (
                AuditCode::RelatedAcceptNoHelper,
                Severity::Warning,
                "accepts RELATED connections of any helper between these addresses: name the helper (ct helper \"ftp\" / -m helper --helper ftp) so another helper's expectation cannot use the opening",
            ),
            (true, false) => (
                AuditCode::RelatedAcceptNoAddress,
                Severity::Warning,
                "accepts RELATED connections of this helper from and to any address: the helper's payload decides where the connection goes; restrict the source and destination to the service's servers and clients",
            ),
            (true, true) => return,
        };
        self.push(ci, ri, code, sev, why.to_string());
    }

    fn assignment(&mut self, ci: usize, ri: usize, name: &str, eff: &Ctx) {
        let chain = &self.rs.chains[ci];
        let rule = &chain.rules[ri];
        // `ct helper set` needs the conntrack entry, which connection tracking creates at
        // priority -200 (NF_IP_PRI_CONNTRACK) in prerouting and output; before it the object's
        // eval returns at once (nft_ct.c, nft_ct_helper_obj_eval: `if (!ct || ...) return`).
        // The iptables CT target works the other way round (a template before conntrack), so
        // the raw table is right for it.
        let base = &self.rs.chains[self.base];
        if rule.location.origin == crate::ruleset::Origin::Nft
            && matches!(self.hook, Hook::Prerouting | Hook::Output)
            && let Some(prio) = base.priority
            && prio <= -200
        {
            let (sev, when) = if prio < -200 {
                (Severity::Error, "before")
            } else {
                (Severity::Warning, "at the same priority as")
            };
            self.push(
                ci,
                ri,
                AuditCode::HelperUnsupported,
                sev,
                format!(
                    "runs in base chain {} {} {} at priority {prio}, {when} connection tracking (-200): the packet has no conntrack entry yet, so `ct helper set` assigns nothing; use priority filter (0) or at least -199, as nft's examples do",
                    escape(&base.family),
                    escape(&base.table),
                    escape(&base.name)
                ),
            );
        }
        // nft names an object; iptables names the kernel helper.
        let (helper_name, obj_proto, obj_l3) =
            if rule.location.origin == crate::ruleset::Origin::Nft {
                match self
                    .rs
                    .helper_objects
                    .iter()
                    .find(|o| o.name == name && o.table == chain.table && o.family == chain.family)
                {
                    Some(o) => (
                        o.helper.clone(),
                        Some(o.protocol.clone()),
                        Some(o.l3proto.clone()),
                    ),
                    None => {
                        self.push(
                            ci,
                            ri,
                            AuditCode::HelperUnsupported,
                            Severity::Warning,
                            format!(
                                "names ct helper object {:?}, which is not in table {} {}",
                                escape(name),
                                escape(&chain.family),
                                escape(&chain.table)
                            ),
                        );
                        return;
                    }
                }
            } else {
                (name.to_string(), None, None)
            };
        let Ok(hn) = helper_name.parse::<HelperName>() else {
            self.push(
                ci,
                ri,
                AuditCode::HelperUnsupported,
                Severity::Warning,
                format!(
                    "assigns helper {:?}, which is not a kernel helper this audit knows",
                    escape(&helper_name)
                ),
            );
            return;
        };
        let helper = hn.helper;
        let info = helper.info();
        // Where the helper applies: address and port restrictions.
        if !eff.addr || !eff.dport {
            let missing = match (eff.addr, eff.dport) {
                (false, false) => "address or port",
                (false, true) => "address",
                _ => "port",
            };
            self.push(
                ci,
                ri,
                AuditCode::HelperUnrestricted,
                Severity::Warning,
                format!("assigns the {helper} helper without an {missing} restriction: every matching connection gets a helper whose payload can open expectations; assign it only to the service's servers (and clients) on its port"),
            );
        }
        // Family.
        let v6_only = chain.family == "ip6"
            || eff.nfproto.as_deref() == Some("ipv6")
            || obj_l3.as_deref() == Some("ip6");
        if v6_only && !info.supports(Family::Ipv6) {
            self.push(
                ci,
                ri,
                AuditCode::HelperUnsupported,
                Severity::Error,
                format!("assigns the {helper} helper to IPv6 connections: the kernel registers it for IPv4 only, so it never attaches"),
            );
        }
        // An nft object in an inet (bridge, netdev) table looks up the helper for both
        // families and fails only when neither exists (net/netfilter/nft_ct.c,
        // `nft_ct_helper_obj_init`, NFPROTO_INET: "only error if INET found neither ipv4 or
        // ipv6"); `nft_ct_helper_obj_eval` picks the one of the connection's family and
        // returns when it is NULL. So an IPv4-only helper's object loads and silently assigns
        // nothing to the IPv6 connections the rule matches.
        let v4_only = chain.family == "ip" || eff.nfproto.as_deref() == Some("ipv4");
        if rule.location.origin == crate::ruleset::Origin::Nft
            && !matches!(chain.family.as_str(), "ip" | "ip6")
            && !v6_only
            && !v4_only
            && (!info.supports(Family::Ipv6) || obj_l3.as_deref() == Some("ip"))
        {
            self.push(
                ci,
                ri,
                AuditCode::HelperUnsupported,
                Severity::Warning,
                format!(
                    "assigns ct helper object {:?} ({helper}) to IPv4 and IPv6 connections alike, but the kernel registers {helper} for IPv4 only: the object loads in table {} {} and silently assigns nothing to IPv6 connections (nft_ct.c, nft_ct_helper_obj_eval); restrict the rule to IPv4 (meta nfproto ipv4, ip daddr)",
                    escape(name),
                    escape(&chain.family),
                    escape(&chain.table)
                ),
            );
        }
        // Protocol.
        let protos = info.registered_protocols();
        let proto_of = |p: &str| p.parse::<L4Proto>().ok();
        match (&obj_proto, &eff.proto) {
            (Some(op), rule_proto) => {
                if proto_of(op).is_none_or(|p| !protos.contains(&p)) {
                    self.push(ci, ri, AuditCode::HelperUnsupported, Severity::Error,
                        format!("ct helper object {:?} declares protocol {:?}, for which the kernel registers no {helper} helper", escape(name), escape(op)));
                } else if let Some(rp) = rule_proto
                    && rp != op
                {
                    self.push(ci, ri, AuditCode::HelperUnsupported, Severity::Warning,
                        format!("matches {} but ct helper object {:?} is for {}: the kernel only attaches it to {} connections (nft_ct.c, nft_ct_helper_obj_eval), so this rule does nothing", escape(rp), escape(name), escape(op), escape(op)));
                }
            }
            (None, None) => self.push(ci, ri, AuditCode::HelperUnsupported, Severity::Error,
                format!("assigns the {helper} helper without -p: xt_CT refuses such a rule (it needs the layer-4 protocol to find the helper)")),
            (None, Some(rp)) => {
                if proto_of(rp).is_none_or(|p| !protos.contains(&p)) {
                    self.push(ci, ri, AuditCode::HelperUnsupported, Severity::Error,
                        format!("assigns the {helper} helper to {} connections, for which the kernel registers no {helper} helper", escape(rp)));
                }
            }
        }
        // Module loaded, name registered with the ports= in force.
        if let Some(mods) = self.facts.loaded_modules {
            let module = helper.module();
            if !mods.iter().any(|m| m == module.name()) {
                self.push(ci, ri, AuditCode::HelperNotLoaded, Severity::Warning,
                    format!("names the {helper} helper, but {} is not loaded: the rule cannot be loaded as written (or the module is built in and not listed)", module.name()));
            } else if let Err(e) = resolve_name(&helper_name, self.facts.options) {
                self.push(
                    ci,
                    ri,
                    AuditCode::HelperNotLoaded,
                    Severity::Warning,
                    escape(&e.to_string()),
                );
            }
        }
        // Dangerous options of this helper's module.
        for (param, why) in self.facts.options.dangerous() {
            if param.spec().module == helper.module() {
                self.push(
                    ci,
                    ri,
                    AuditCode::DangerousOptionInUse,
                    Severity::Error,
                    format!(
                        "assigns the {helper} helper while {}={} is in force: {why}",
                        param,
                        self.facts.options.get(param)
                    ),
                );
            }
        }
        if let Some(Cond::Dport {
            ports,
            negated: false,
        }) = rule.conds.iter().find(|c| matches!(c, Cond::Dport { .. }))
        {
            self.assigned.entry(helper).or_default().extend(ports);
        }
    }
}

/// Whether a rule's conditions match every state but related (`ct state != related`,
/// `--ctstate NEW,ESTABLISHED,INVALID,UNTRACKED`), so that only RELATED packets pass it.
fn only_related_pass(conds: &[Cond]) -> bool {
    let mut all_but_related = false;
    for c in conds {
        if let Cond::CtState { states, negated } = c {
            let has = |s: &str| states.iter().any(|x| x == s);
            all_but_related |= if *negated {
                has("related")
            } else {
                !has("related") && has("new") && has("established") && has("invalid")
            };
        }
    }
    all_but_related
}

fn iface_matches(pattern: &str, name: &str) -> bool {
    match pattern
        .strip_suffix('+')
        .or_else(|| pattern.strip_suffix('*'))
    {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

/// Judges a ruleset: every finding, in walk order, each with its rule.
pub fn hazards(rs: &Ruleset, facts: &Facts<'_>) -> Vec<AuditFinding> {
    let mut w = Walker {
        rs,
        facts,
        chains: rs
            .chains
            .iter()
            .enumerate()
            .map(|(i, c)| {
                (
                    (
                        c.origin,
                        c.family.as_str(),
                        c.table.as_str(),
                        c.name.as_str(),
                    ),
                    i,
                )
            })
            .collect(),
        memo: HashMap::new(),
        found: Vec::new(),
        seen: HashMap::new(),
        prerouting: Vec::new(),
        assigned: BTreeMap::new(),
        base: 0,
        hook: Hook::Input,
        related_blind: false,
    };
    // Guards: base chains where RELATED packets no rule allows end dropped. A NAT chain is
    // none (it sees only a connection's first packet, and not even that when the
    // expectation set up NAT: `nf_nat_inet_fn` skips the chains once `nf_nat_initialized`),
    // nor is a chain that cannot see the RELATED state, nor a netdev chain (bound to one
    // device).
    let mut guards: Vec<(usize, Hook, String)> = Vec::new();
    for (ci, c) in rs.chains.iter().enumerate() {
        let Some(hook) = c.hook else { continue };
        let nat = c.chain_type == Some(ChainType::Nat);
        w.base = ci;
        w.hook = hook;
        // An accept in a NAT chain whose policy is accept lets through nothing that would
        // otherwise be dropped: the packet goes on to the hook's other chains either way
        // (net/netfilter/nf_nat_core.c, `nf_nat_inet_fn`: NF_ACCEPT from a NAT chain moves
        // to the next one, then `nf_nat_packet` returns NF_ACCEPT to `nf_hook_slow`, which
        // runs the next base chain). With policy drop it does filter first packets.
        w.related_blind = !sees_ct_state(c) || (nat && c.policy != Some(Action::Drop));
        w.memo.clear();
        let start = Ctx::default();
        let end = w.walk(ci, &start, 0);
        let policy_drop = c.policy == Some(Action::Drop);
        let can_guard = !nat && sees_ct_state(c) && !matches!(hook, Hook::Ingress | Hook::Egress);
        if can_guard
            && (end == End::Dropped || (policy_drop && matches!(end, End::Through | End::WentAway)))
        {
            guards.push((ci, hook, c.family.clone()));
        }
    }
    let mut out = Vec::new();
    for (mut f, reaches) in std::mem::take(&mut w.found) {
        let related = matches!(
            f.code,
            AuditCode::RelatedAcceptBlanket
                | AuditCode::RelatedAcceptNoHelper
                | AuditCode::RelatedAcceptNoAddress
        );
        if related {
            // Mitigated only if, from every base chain that reaches the rule, every family
            // it sees is guarded on that hook.
            let guard_of = |(base, hook, fam): &Reach<'_>| {
                let guarded = |v4: bool| {
                    guards.iter().find(|(g, h, gf)| {
                        g != base
                            && h == hook
                            && hook_space(gf) == hook_space(fam)
                            && Chain::sees_family(gf, v4)
                    })
                };
                let fams: Vec<bool> = [true, false]
                    .into_iter()
                    .filter(|v4| Chain::sees_family(fam, *v4))
                    .collect();
                let gs: Vec<_> = fams.iter().map(|v4| guarded(*v4)).collect();
                (!fams.is_empty() && gs.iter().all(Option::is_some))
                    .then(|| gs[0].map(|g| (g.0, *hook)))
                    .flatten()
            };
            let gs: Vec<_> = reaches.iter().map(guard_of).collect();
            if !gs.is_empty() && gs.iter().all(Option::is_some) {
                let (gi, hook) = gs[0].unwrap_or((0, Hook::Input));
                let g = &rs.chains[gi];
                f.severity = Severity::Info;
                f.message.push_str(&format!(
                    " (mitigated: base chain {} {} {} on the same {} hook, priority {}, drops the RELATED connections it does not allow, and a drop in any base chain is final)",
                    escape(&g.family),
                    escape(&g.table),
                    escape(&g.name),
                    hook.name(),
                    g.priority.unwrap_or(0)
                ));
            }
        }
        out.push(f);
    }
    // ports= registrations no rule uses.
    if !w.assigned.is_empty() {
        for (helper, ranges) in &w.assigned {
            let module = helper.module();
            let default = helper.info().default_port;
            for port in facts.options.ports(module) {
                // The default port is registered whatever ports= says; only ports an
                // administrator added are judged.
                if port != 0
                    && Some(port) != default
                    && !ranges.iter().any(|(a, b)| (*a..=*b).contains(&port))
                {
                    out.push(AuditFinding {
                        code: AuditCode::PortsMismatch,
                        severity: if facts.auto_assign { Severity::Warning } else { Severity::Info },
                        subject: format!("{}.ports", module.name()),
                        message: format!("ports= registers the {helper} helper on port {port}, but no rule assigns it there{}", if facts.auto_assign { ": with automatic assignment on, every connection to that port gets the helper" } else { "; the registration is unused" }),
                        rule: None,
                    });
                }
            }
        }
    }
    antispoof(&w, facts, &mut out);
    for n in &rs.notes {
        out.push(AuditFinding {
            code: if n.xt {
                AuditCode::OpaqueRule
            } else {
                AuditCode::OpaqueItem
            },
            severity: if n.xt {
                Severity::Warning
            } else {
                Severity::Info
            },
            subject: escape(&n.place),
            message: escape(&n.message),
            rule: None,
        });
    }
    out
}

fn antispoof(w: &Walker<'_, '_>, facts: &Facts<'_>, out: &mut Vec<AuditFinding>) {
    let rs = w.rs;
    let protects = |name: &str, v4: bool| {
        w.prerouting.iter().any(|&(ci, ri)| {
            let c = &rs.chains[ci];
            let r = &c.rules[ri];
            if !matches!(r.action, Action::Drop | Action::Reject)
                || !Chain::sees_family(&c.family, v4)
            {
                return false;
            }
            let fam_ok = r.conds.iter().all(|c| match c {
                Cond::NfProto { family } => (family == "ipv4") == v4,
                _ => true,
            });
            let iif = r.conds.iter().find_map(|c| match c {
                Cond::Iif { names, negated } => Some((names, *negated)),
                _ => None,
            });
            let iif_hit = iif.map(|(ns, neg)| ns.iter().any(|p| iface_matches(p, name)) != neg);
            let rp = r
                .conds
                .iter()
                .any(|c| matches!(c, Cond::RpFilter { fails: true }));
            // A per-interface source check: a drop of sources arriving on it, or of
            // everything arriving on it that earlier rules did not return.
            let per_iface = iif.is_some_and(|(_, neg)| !neg)
                && iif_hit == Some(true)
                && (r.conds.iter().any(|c| matches!(c, Cond::Saddr { .. }))
                    || r.conds
                        .iter()
                        .all(|c| matches!(c, Cond::Iif { .. } | Cond::NfProto { .. })));
            fam_ok && ((rp && iif_hit != Some(false)) || per_iface)
        })
    };
    let level = |v: Option<&str>| v.and_then(|v| v.trim().parse::<u8>().ok()).unwrap_or(0);
    let all = level(facts.rp_filter_all);
    for i in facts.interfaces {
        if i.name == "lo" {
            continue;
        }
        let addrs: Vec<IpAddr> = i
            .addresses
            .iter()
            .filter_map(|a| a.split('/').next()?.parse().ok())
            .collect();
        let v4: Vec<&IpAddr> = addrs.iter().filter(|a| a.is_ipv4()).collect();
        let v6: Vec<&IpAddr> = addrs
            .iter()
            .filter(|a| matches!(a, IpAddr::V6(v) if (v.segments()[0] & 0xffc0) != 0xfe80))
            .collect();
        let rp = all.max(level(i.rp_filter.as_deref()));
        if !v4.is_empty() && rp == 0 && !protects(&i.name, true) {
            out.push(AuditFinding {
                code: AuditCode::NoAntispoofing,
                severity: Severity::Warning,
                subject: format!("interface {}", escape(&i.name)),
                message: format!("has IPv4 address(es) {} but rp_filter is 0 and no prerouting rule drops spoofed sources arriving on it: a forged source address can reach a helper as if from a trusted host", v4.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", ")),
                rule: None,
            });
        }
        if !v6.is_empty() && !protects(&i.name, false) {
            out.push(AuditFinding {
                code: AuditCode::NoAntispoofing,
                severity: Severity::Warning,
                subject: format!("interface {}", escape(&i.name)),
                message: format!("has IPv6 address(es) {} but no prerouting rule (fib saddr . iif oif missing drop, -m rpfilter --invert -j DROP, or per-interface source checks) drops spoofed sources arriving on it; IPv6 has no rp_filter sysctl", v6.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", ")),
                rule: None,
            });
        }
    }
}

#[cfg(test)]
mod ruleset_tests {
    use super::{Facts, hazards};
    use crate::audit::{AuditCode, Interface};
    use crate::options::ModuleOptions;
    use crate::report::Severity;
    use crate::ruleset::*;
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
    fn ct_helper_set_before_conntrack_assigns_nothing() {
        let doc = |prio: i32| {
            format!(
                r#"{{"nftables": [
                {{"ct helper": {{"family": "inet", "table": "t", "name": "ftp", "type": "ftp", "protocol": "tcp", "l3proto": "inet"}}}},
                {{"chain": {{"family": "inet", "table": "t", "name": "pre", "type": "filter", "hook": "prerouting", "prio": {prio}, "policy": "accept"}}}},
                {{"rule": {{"family": "inet", "table": "t", "chain": "pre", "expr": [{{"jump": {{"target": "h"}}}}]}}}},
                {{"rule": {{"family": "inet", "table": "t", "chain": "h", "expr": [
                  {{"match": {{"op": "==", "left": {{"payload": {{"protocol": "ip", "field": "daddr"}}}}, "right": "10.0.0.1"}}}},
                  {{"match": {{"op": "==", "left": {{"payload": {{"protocol": "tcp", "field": "dport"}}}}, "right": 21}}}},
                  {{"ct helper": "ftp"}}]}}}}
                ]}}"#
            )
        };
        let o = ModuleOptions::new();
        let at = |prio| {
            let rs = nft_json::read(&doc(prio)).unwrap();
            hazards(&rs, &Facts::new(&o))
                .iter()
                .map(|f| (f.code, f.severity))
                .collect::<Vec<_>>()
        };
        assert_eq!(at(-300), [(AuditCode::HelperUnsupported, Severity::Error)]);
        assert_eq!(
            at(-200),
            [(AuditCode::HelperUnsupported, Severity::Warning)]
        );
        assert_eq!(at(-150), []);
        assert_eq!(at(0), []);
        let rs = nft_json::read(&doc(-300)).unwrap();
        let f = &hazards(&rs, &Facts::new(&o))[0];
        assert!(
            f.message
                .contains("priority -300, before connection tracking"),
            "{}",
            f.message
        );
        assert_eq!(f.rule.as_ref().unwrap().location.chain, "h");
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
    fn an_address_match_over_every_address_is_no_restriction() {
        let rs = iptables_save::read(
            "*filter\n:FORWARD DROP [0:0]\n\
             -A FORWARD -m conntrack --ctstate RELATED -m helper --helper ftp -m iprange --dst-range 0.0.0.0-255.255.255.255 -j ACCEPT\n\
             -A FORWARD -m conntrack --ctstate RELATED -d 0.0.0.0/0 -j ACCEPT\nCOMMIT\n",
            None,
        );
        let o = ModuleOptions::new();
        assert_eq!(
            codes(&rs, &Facts::new(&o)),
            [
                (AuditCode::RelatedAcceptNoAddress, Severity::Warning),
                (AuditCode::RelatedAcceptBlanket, Severity::Error)
            ]
        );
    }

    #[test]
    fn invalid_drop_does_not_make_later_accepts_related() {
        // `ct state invalid drop` lets new and established packets go on, not only RELATED:
        // the ssh accept after it is no RELATED accept.
        let rs = iptables_save::read(
            "*filter\n:INPUT DROP [0:0]\n\
             -A INPUT -m conntrack --ctstate INVALID -j DROP\n\
             -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n",
            None,
        );
        let o = ModuleOptions::new();
        assert_eq!(codes(&rs, &Facts::new(&o)), []);
        // `! --ctstate RELATED` does: what follows sees only RELATED packets.
        let rs = iptables_save::read(
            "*filter\n:INPUT DROP [0:0]\n\
             -A INPUT -m conntrack ! --ctstate RELATED -j RETURN\n\
             -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n",
            None,
        );
        assert_eq!(
            codes(&rs, &Facts::new(&o)),
            [(AuditCode::RelatedAcceptBlanket, Severity::Error)]
        );
    }

    #[test]
    fn chain_types_are_read_from_nft_and_iptables() {
        let rs = nft_json::read(r#"{"nftables": [
            {"chain": {"family": "ip", "table": "t", "name": "n", "type": "nat", "hook": "prerouting", "prio": -100, "policy": "accept"}},
            {"chain": {"family": "ip", "table": "t", "name": "r", "type": "route", "hook": "output", "prio": -150, "policy": "accept"}},
            {"chain": {"family": "ip", "table": "t", "name": "u"}}
        ]}"#).unwrap();
        let types: Vec<_> = rs.chains.iter().map(|c| c.chain_type).collect();
        assert_eq!(types, [Some(ChainType::Nat), Some(ChainType::Route), None]);
        let rs = iptables_save::read(
            "*nat\n:PREROUTING ACCEPT [0:0]\n:x - [0:0]\nCOMMIT\n*mangle\n:OUTPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\nCOMMIT\n",
            None,
        );
        let types: Vec<_> = rs.chains.iter().map(|c| c.chain_type).collect();
        assert_eq!(
            types,
            [
                Some(ChainType::Nat),
                None,
                Some(ChainType::Route),
                Some(ChainType::Filter)
            ]
        );
    }

    #[test]
    fn related_accepts_where_verdicts_do_not_filter_related_are_quiet() {
        let o = ModuleOptions::new();
        let nft = |chain: &str| {
            nft_json::read(&format!(
                r#"{{"nftables": [{chain},
                {{"rule": {{"family": "inet", "table": "t", "chain": "c", "expr": [
                  {{"match": {{"op": "in", "left": {{"ct": {{"key": "state"}}}}, "right": "related"}}}},
                  {{"accept": null}}]}}}}]}}"#
            ))
            .unwrap()
        };
        let chain = |ty: &str, hook: &str, prio: i32, policy: &str| {
            format!(
                r#"{{"chain": {{"family": "inet", "table": "t", "name": "c", "type": "{ty}", "hook": "{hook}", "prio": {prio}, "policy": "{policy}"}}}}"#
            )
        };
        let blanket = [(AuditCode::RelatedAcceptBlanket, Severity::Error)];
        // A NAT chain with policy accept: its accept lets nothing past the other chains.
        let rs = nft(&chain("nat", "prerouting", -100, "accept"));
        assert_eq!(codes(&rs, &Facts::new(&o)), []);
        // With policy drop it filters first packets: reported.
        let rs = nft(&chain("nat", "prerouting", -100, "drop"));
        assert_eq!(codes(&rs, &Facts::new(&o)), blanket);
        // Before conntrack (raw) and on ingress the state is never RELATED.
        let rs = nft(&chain("filter", "prerouting", -300, "drop"));
        assert_eq!(codes(&rs, &Facts::new(&o)), []);
        let rs = nft(&chain("filter", "ingress", 0, "drop"));
        assert_eq!(codes(&rs, &Facts::new(&o)), []);
        // At conntrack's own priority, and in filter and route chains, it is.
        for (ty, hook, prio) in [
            ("filter", "prerouting", -200),
            ("filter", "forward", 0),
            ("route", "output", -150),
        ] {
            let rs = nft(&chain(ty, hook, prio, "accept"));
            assert_eq!(codes(&rs, &Facts::new(&o)), blanket, "{ty} {hook} {prio}");
        }
        // iptables: the nat and raw tables are quiet, mangle and filter are not.
        for (table, hook, found) in [
            ("nat", "PREROUTING", false),
            ("raw", "PREROUTING", false),
            ("raw", "OUTPUT", false),
            ("mangle", "PREROUTING", true),
            ("mangle", "OUTPUT", true),
            ("filter", "FORWARD", true),
        ] {
            let rs = iptables_save::read(
                &format!(
                    "*{table}\n:{hook} ACCEPT [0:0]\n:rel - [0:0]\n-A {hook} -j rel\n-A rel -m conntrack --ctstate RELATED -j ACCEPT\nCOMMIT\n"
                ),
                None,
            );
            let want: &[_] = if found { &blanket } else { &[] };
            assert_eq!(codes(&rs, &Facts::new(&o)), want, "{table} {hook}");
        }
    }

    #[test]
    fn nat_bridge_and_raw_chains_are_no_guards() {
        let o = ModuleOptions::new();
        let doc = |guard: &str| {
            nft_json::read(&format!(
                r#"{{"nftables": [
                {{"chain": {{"family": "inet", "table": "fw", "name": "fwd", "type": "filter", "hook": "forward", "prio": 0, "policy": "drop"}}}},
                {{"rule": {{"family": "inet", "table": "fw", "chain": "fwd", "expr": [
                  {{"match": {{"op": "in", "left": {{"ct": {{"key": "state"}}}}, "right": "related"}}}},
                  {{"accept": null}}]}}}},
                {guard}]}}"#
            ))
            .unwrap()
        };
        let guard = |family: &str, ty: &str, hook: &str| {
            format!(
                r#"{{"chain": {{"family": "{family}", "table": "g", "name": "g", "type": "{ty}", "hook": "{hook}", "prio": 10, "policy": "drop"}}}}"#
            )
        };
        // A filter chain on the same hook guards.
        let rs = doc(&guard("inet", "filter", "forward"));
        assert_eq!(
            codes(&rs, &Facts::new(&o)),
            [(AuditCode::RelatedAcceptBlanket, Severity::Info)]
        );
        // A bridge forward chain sees bridged frames, not routed packets.
        let rs = doc(&guard("bridge", "filter", "forward"));
        assert_eq!(
            codes(&rs, &Facts::new(&o)),
            [(AuditCode::RelatedAcceptBlanket, Severity::Error)]
        );
        // A NAT chain sees only first packets, and none whose NAT the expectation set up.
        let rs = doc(&guard("ip", "nat", "forward"));
        assert_eq!(
            codes(&rs, &Facts::new(&o)),
            [(AuditCode::RelatedAcceptBlanket, Severity::Error)]
        );
    }

    #[test]
    fn a_chain_shared_by_a_guarded_and_an_unguarded_hook_is_not_mitigated() {
        // `common` is reached from input (guarded by `g`) and from forward (not guarded):
        // the accept lets forwarded RELATED connections through.
        let text = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:common - [0:0]\n\
             -A INPUT -j common\n-A FORWARD -j common\n\
             -A common -m conntrack --ctstate RELATED -j ACCEPT\nCOMMIT\n";
        let guard = "*security\n:INPUT DROP [0:0]\n-A INPUT -m conntrack ! --ctstate RELATED -j ACCEPT\nCOMMIT\n";
        let o = ModuleOptions::new();
        let rs = Ruleset::combine(
            None,
            vec![
                iptables_save::read(text, None),
                iptables_save::read(guard, None),
            ],
        );
        assert_eq!(
            codes(&rs, &Facts::new(&o)),
            [(AuditCode::RelatedAcceptBlanket, Severity::Error)]
        );
        // Guarding forward too mitigates it.
        let guard2 = "*security\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n-A INPUT -m conntrack ! --ctstate RELATED -j ACCEPT\n-A FORWARD -m conntrack ! --ctstate RELATED -j ACCEPT\nCOMMIT\n";
        let rs = Ruleset::combine(
            None,
            vec![
                iptables_save::read(text, None),
                iptables_save::read(guard2, None),
            ],
        );
        assert_eq!(
            codes(&rs, &Facts::new(&o)),
            [(AuditCode::RelatedAcceptBlanket, Severity::Info)]
        );
    }

    #[test]
    fn ct_status_expected_is_a_related_accept() {
        let o = ModuleOptions::new();
        let rs = iptables_save::read(
            "*filter\n:FORWARD DROP [0:0]\n-A FORWARD -m conntrack --ctstatus EXPECTED -j ACCEPT\n\
             -A FORWARD -m conntrack ! --ctstatus EXPECTED -p tcp -j ACCEPT\n\
             -A FORWARD -m conntrack --ctstatus SEEN_REPLY -j ACCEPT\nCOMMIT\n",
            None,
        );
        assert_eq!(
            rs.chains[0].rules[0].conds,
            [Cond::CtStatus {
                statuses: vec!["expected".into()],
                negated: false
            }]
        );
        assert_eq!(
            codes(&rs, &Facts::new(&o)),
            [(AuditCode::RelatedAcceptBlanket, Severity::Error)]
        );
        let rs = nft_json::read(r#"{"nftables": [
            {"chain": {"family": "inet", "table": "t", "name": "c", "type": "filter", "hook": "forward", "prio": 0, "policy": "drop"}},
            {"rule": {"family": "inet", "table": "t", "chain": "c", "expr": [
              {"match": {"op": "in", "left": {"ct": {"key": "status"}}, "right": "expected"}}, {"accept": null}]}},
            {"rule": {"family": "inet", "table": "t", "chain": "c", "expr": [
              {"match": {"op": "!=", "left": {"ct": {"key": "status"}}, "right": "expected"}}, {"accept": null}]}}
        ]}"#).unwrap();
        let found = hazards(&rs, &Facts::new(&o));
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].code, AuditCode::RelatedAcceptBlanket);
        assert_eq!(
            found[0].rule.as_ref().unwrap().text,
            "ct status expected accept"
        );
    }

    #[test]
    fn inet_object_of_an_ipv4_only_helper_assigns_nothing_to_ipv6() {
        let doc = |restriction: &str| {
            format!(
                r#"{{"nftables": [
                {{"ct helper": {{"family": "inet", "table": "t", "name": "irc", "type": "irc", "protocol": "tcp", "l3proto": "ip"}}}},
                {{"ct helper": {{"family": "inet", "table": "t", "name": "ftp", "type": "ftp", "protocol": "tcp", "l3proto": "inet"}}}},
                {{"chain": {{"family": "inet", "table": "t", "name": "pre", "type": "filter", "hook": "prerouting", "prio": 0, "policy": "accept"}}}},
                {{"rule": {{"family": "inet", "table": "t", "chain": "pre", "expr": [
                  {restriction}
                  {{"match": {{"op": "==", "left": {{"meta": {{"key": "l4proto"}}}}, "right": "tcp"}}}},
                  {{"match": {{"op": "==", "left": {{"payload": {{"protocol": "tcp", "field": "dport"}}}}, "right": 6667}}}},
                  {{"ct helper": "irc"}}]}}}},
                {{"rule": {{"family": "inet", "table": "t", "chain": "pre", "expr": [
                  {restriction}
                  {{"match": {{"op": "==", "left": {{"meta": {{"key": "l4proto"}}}}, "right": "tcp"}}}},
                  {{"match": {{"op": "==", "left": {{"payload": {{"protocol": "tcp", "field": "dport"}}}}, "right": 21}}}},
                  {{"ct helper": "ftp"}}]}}}}
                ]}}"#
            )
        };
        let o = ModuleOptions::new();
        let at = |restriction: &str| {
            let rs = nft_json::read(&doc(restriction)).unwrap();
            hazards(&rs, &Facts::new(&o))
        };
        // No address: both unrestricted, and irc assigns nothing to IPv6.
        let found = at("");
        let got: Vec<_> = found
            .iter()
            .map(|f| (f.code, f.severity, f.rule.as_ref().unwrap().location.index))
            .collect();
        assert_eq!(
            got,
            [
                (AuditCode::HelperUnrestricted, Severity::Warning, 1),
                (AuditCode::HelperUnsupported, Severity::Warning, 1),
                (AuditCode::HelperUnrestricted, Severity::Warning, 2),
            ],
            "{found:#?}"
        );
        assert!(
            found[1]
                .message
                .contains("silently assigns nothing to IPv6 connections"),
            "{}",
            found[1].message
        );
        // Restricted to an IPv4 server: quiet (the ip payload implies nfproto ipv4).
        let v4 = r#"{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": "10.0.0.1"}},"#;
        assert_eq!(at(v4), []);
        let nfproto = r#"{"match": {"op": "==", "left": {"meta": {"key": "nfproto"}}, "right": "ipv4"}},
            {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": "@servers"}},"#;
        assert_eq!(at(nfproto), []);
        // Restricted to an IPv6 server: irc never attaches (an error), ftp is fine.
        let v6 = r#"{"match": {"op": "==", "left": {"payload": {"protocol": "ip6", "field": "daddr"}}, "right": "2001:db8::1"}},"#;
        let found = at(v6);
        assert_eq!(
            found
                .iter()
                .map(|f| (f.code, f.severity))
                .collect::<Vec<_>>(),
            [(AuditCode::HelperUnsupported, Severity::Error)],
            "{found:#?}"
        );
    }

    #[test]
    fn a_named_set_of_every_address_restricts_nothing() {
        let doc = |elems: &str| {
            format!(
                r#"{{"nftables": [
            {{"set": {{"family": "inet", "table": "t", "name": "peers", "type": "ipv4_addr", "flags": ["interval"], "elem": {elems}}}}},
            {{"chain": {{"family": "inet", "table": "t", "name": "fw", "type": "filter", "hook": "forward", "prio": 0, "policy": "drop"}}}},
            {{"rule": {{"family": "inet", "table": "t", "chain": "fw", "expr": [
              {{"match": {{"op": "==", "left": {{"ct": {{"key": "state"}}}}, "right": "related"}}}},
              {{"match": {{"op": "==", "left": {{"payload": {{"protocol": "ip", "field": "saddr"}}}}, "right": "@peers"}}}},
              {{"accept": null}}]}}}}
          ]}}"#
            )
        };
        let options = ModuleOptions::new();
        let facts = Facts::new(&options);
        let of = |text: &str| codes(&nft_json::read(text).unwrap(), &facts);
        // Every address, as a prefix or as a range nft merged: a blanket accept.
        for every in [
            r#"[{"prefix": {"addr": "0.0.0.0", "len": 0}}]"#,
            r#"[{"range": ["0.0.0.0", "255.255.255.255"]}]"#,
            r#"[{"prefix": {"addr": "0.0.0.0", "len": 1}}, {"prefix": {"addr": "128.0.0.0", "len": 1}}]"#,
        ] {
            assert_eq!(
                of(&doc(every)),
                [(AuditCode::RelatedAcceptBlanket, Severity::Error)],
                "{every}"
            );
        }
        // A real restriction stays one; so does a set the listing did not show.
        assert_eq!(
            of(&doc(r#"[{"prefix": {"addr": "10.0.0.0", "len": 8}}]"#)),
            [(AuditCode::RelatedAcceptNoHelper, Severity::Warning)]
        );
        let unknown = doc("[]").replace(r#""right": "@peers""#, r#""right": "@elsewhere""#);
        assert_eq!(
            of(&unknown),
            [(AuditCode::RelatedAcceptNoHelper, Severity::Warning)]
        );
    }

    #[test]
    fn an_ipv4_source_check_in_an_inet_table_does_not_protect_ipv6() {
        let ifs = vec![Interface {
            name: "eth0".into(),
            addresses: vec!["10.0.0.1/24".into(), "2001:db8::1/64".into()],
            rp_filter: Some("0".into()),
        }];
        let rs = nft_json::read(r#"{"nftables": [
            {"chain": {"family": "inet", "table": "t", "name": "pre", "type": "filter", "hook": "prerouting", "prio": -300, "policy": "accept"}},
            {"rule": {"family": "inet", "table": "t", "chain": "pre", "expr": [
              {"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "eth0"}},
              {"match": {"op": "!=", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": "10.0.0.0", "len": 24}}}},
              {"drop": null}]}}
        ]}"#).unwrap();
        let o = ModuleOptions::new();
        let mut facts = Facts::new(&o);
        facts.interfaces = &ifs;
        let found = hazards(&rs, &facts);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].message.contains("IPv6"), "{}", found[0].message);
    }

    #[test]
    fn chains_reached_through_verdict_maps_are_walked() {
        let doc = |vmap: &str| {
            format!(
                r#"{{"nftables": [
                {{"map": {{"family": "inet", "name": "zones", "table": "t", "type": "ifname", "map": "verdict", "elem": [["eth0", {{"jump": {{"target": "rel"}}}}], ["eth1", {{"accept": null}}]]}}}},
                {{"chain": {{"family": "inet", "table": "t", "name": "fw", "type": "filter", "hook": "forward", "prio": 0, "policy": "drop"}}}},
                {{"rule": {{"family": "inet", "table": "t", "chain": "fw", "expr": [{vmap}]}}}},
                {{"rule": {{"family": "inet", "table": "t", "chain": "rel", "expr": [
                  {{"match": {{"op": "in", "left": {{"ct": {{"key": "state"}}}}, "right": "related"}}}}, {{"accept": null}}]}}}}
                ]}}"#
            )
        };
        let o = ModuleOptions::new();
        let named = r#"{"vmap": {"key": {"meta": {"key": "iifname"}}, "data": "@zones"}}"#;
        let anonymous = r#"{"vmap": {"key": {"meta": {"key": "l4proto"}}, "data": {"set": [["tcp", {"jump": {"target": "rel"}}], ["udp", {"accept": null}]]}}}"#;
        for vmap in [named, anonymous] {
            let rs = nft_json::read(&doc(vmap)).unwrap();
            assert!(
                matches!(&rs.chains[0].rules[0].action, Action::VerdictMap { entries, .. } if entries.len() == 2),
                "{:?}",
                rs.chains[0].rules[0]
            );
            let found = hazards(&rs, &Facts::new(&o));
            assert_eq!(
                found
                    .iter()
                    .map(|f| (f.code, f.rule.as_ref().unwrap().location.chain.as_str()))
                    .collect::<Vec<_>>(),
                [(AuditCode::RelatedAcceptBlanket, "rel")],
                "{found:#?}"
            );
        }
        // A named map the reader has not seen stays opaque.
        let rs = nft_json::read(&doc(
            r#"{"vmap": {"key": {"meta": {"key": "iifname"}}, "data": "@other"}}"#,
        ))
        .unwrap();
        assert_eq!(
            rs.chains[0].rules[0].action,
            Action::Opaque("meta iifname vmap @other".into())
        );
        // A RELATED accept in a map keyed on the source address is restricted by it.
        let rs = nft_json::read(r#"{"nftables": [
            {"chain": {"family": "inet", "table": "t", "name": "fw", "type": "filter", "hook": "forward", "prio": 0, "policy": "drop"}},
            {"rule": {"family": "inet", "table": "t", "chain": "fw", "expr": [
              {"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": "related"}},
              {"vmap": {"key": {"payload": {"protocol": "ip", "field": "saddr"}}, "data": {"set": [["10.0.0.1", {"accept": null}]]}}}]}}
        ]}"#).unwrap();
        assert_eq!(
            codes(&rs, &Facts::new(&o)),
            [(AuditCode::RelatedAcceptNoHelper, Severity::Warning)]
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
            // One rule or one note per command line (the note on the whole text, that it
            // was read as IPv6 for want of a header, aside).
            prop_assert_eq!(rs.rule_count() + rs.notes.iter().filter(|n| n.place != "text").count(), 1);
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
