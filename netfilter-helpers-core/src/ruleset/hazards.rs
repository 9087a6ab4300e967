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
//! * **Helper assignments** (`helper-unrestricted`, `helper-unsupported`, `helper-not-loaded`,
//!   `dangerous-option-in-use`, `ports-mismatch`).
//! * **Anti-spoofing** (`no-antispoofing`): interfaces with addresses that neither
//!   `rp_filter` nor a prerouting rule protects.
//! * **Opaque rules** (`opaque-rule`, `opaque-item`): iptables-nft rules only
//!   `iptables-nft-save` can show, items the readers kept opaque.
//!
//! ```
//! use netfilter_helpers_core::audit::AuditCode;
//! use netfilter_helpers_core::options::ModuleOptions;
//! use netfilter_helpers_core::ruleset::{hazards::{hazards, Facts}, iptables_save, Ruleset};
//!
//! let rs = iptables_save::read("*filter\n:FORWARD DROP [0:0]\n:rel - [0:0]\n\
//!     -A FORWARD -m state --state RELATED -j rel\n-A rel -j ACCEPT\nCOMMIT\n", None);
//! let options = ModuleOptions::new();
//! let found = hazards(&rs, &Facts::new(&options));
//! assert_eq!(found.len(), 1);
//! assert_eq!(found[0].code, AuditCode::RelatedAcceptBlanket);
//! assert_eq!(found[0].rule.as_ref().unwrap().text, "-A rel -j ACCEPT");
//! ```

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

use super::{Action, Chain, Cond, Hook, Rule, Ruleset, escape};
use crate::audit::{AuditCode, AuditFinding, Interface, RuleRef};
use crate::catalogue::{Helper, HelperName};
use crate::net::{Family, L4Proto};
use crate::options::ModuleOptions;
use crate::registry::resolve_name;
use crate::report::Severity;

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
                Cond::CtHelper { negated, .. } => {
                    c.narrowed = true;
                    c.helper |= !negated;
                }
                Cond::Saddr { negated } | Cond::Daddr { negated } => {
                    c.narrowed = true;
                    c.addr |= !negated;
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

type ChainKey<'r> = (super::Origin, &'r str, &'r str, &'r str);

struct Walker<'r, 'f> {
    rs: &'r Ruleset,
    facts: &'f Facts<'f>,
    chains: HashMap<ChainKey<'r>, usize>,
    memo: HashMap<(usize, Ctx), End>,
    found: Vec<(AuditFinding, usize, Hook, String)>,
    seen: HashSet<(usize, usize, AuditCode)>,
    /// Rules reached from a prerouting hook: (chain, rule, context).
    prerouting: Vec<(usize, usize)>,
    assigned: BTreeMap<Helper, Vec<(u16, u16)>>,
    base: usize,
    hook: Hook,
}

fn rule_ref(r: &Rule) -> Option<RuleRef> {
    Some(RuleRef {
        location: r.location.clone(),
        text: escape(&r.text),
    })
}

impl<'r, 'f> Walker<'r, 'f> {
    fn push(&mut self, chain: usize, idx: usize, code: AuditCode, sev: Severity, msg: String) {
        if !self.seen.insert((chain, idx, code)) {
            return;
        }
        let rule = &self.rs.chains[chain].rules[idx];
        let f = AuditFinding {
            code,
            severity: sev,
            subject: escape(&rule.location.to_string()),
            message: msg,
            rule: rule_ref(rule),
        };
        let fam = self.rs.chains[chain].family.clone();
        self.found.push((f, self.base, self.hook, fam));
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
            if rule.action.is_terminal() && !own.narrowed && own.excluded {
                // `ct state != related return`: only RELATED packets go on.
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
        // nft names an object; iptables names the kernel helper.
        let (helper_name, obj_proto, obj_l3) = if rule.location.origin == super::Origin::Nft {
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
                            chain.family,
                            chain.table
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
        seen: HashSet::new(),
        prerouting: Vec::new(),
        assigned: BTreeMap::new(),
        base: 0,
        hook: Hook::Input,
    };
    // Guards: base chains where RELATED packets no rule allows end dropped.
    let mut guards: Vec<(usize, Hook, String)> = Vec::new();
    for (ci, c) in rs.chains.iter().enumerate() {
        let Some(hook) = c.hook else { continue };
        w.base = ci;
        w.hook = hook;
        w.memo.clear();
        let start = Ctx::default();
        let end = w.walk(ci, &start, 0);
        let policy_drop = c.policy == Some(Action::Drop);
        if end == End::Dropped || (policy_drop && matches!(end, End::Through | End::WentAway)) {
            guards.push((ci, hook, c.family.clone()));
        }
    }
    let mut out = Vec::new();
    for (mut f, base, hook, fam) in std::mem::take(&mut w.found) {
        let related = matches!(
            f.code,
            AuditCode::RelatedAcceptBlanket
                | AuditCode::RelatedAcceptNoHelper
                | AuditCode::RelatedAcceptNoAddress
        );
        if related {
            let guarded = |v4: bool| {
                guards
                    .iter()
                    .find(|(g, h, gf)| *g != base && *h == hook && Chain::sees_family(gf, v4))
            };
            let fams: Vec<bool> = [true, false]
                .into_iter()
                .filter(|v4| Chain::sees_family(&fam, *v4))
                .collect();
            let gs: Vec<_> = fams.iter().map(|v4| guarded(*v4)).collect();
            if !fams.is_empty() && gs.iter().all(Option::is_some) {
                let g = &rs.chains[gs[0].map(|g| g.0).unwrap_or(0)];
                f.severity = Severity::Info;
                f.message.push_str(&format!(
                    " (mitigated: base chain {} {} {} on the same {} hook, priority {}, drops the RELATED connections it does not allow, and a drop in any base chain is final)",
                    g.family,
                    g.table,
                    g.name,
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
