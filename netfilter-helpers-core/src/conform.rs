//! Conformance: could the kernel's helper have created this expectation, with the module
//! options in force? If not, say why, attribute by attribute.
//!
//! A [`Validator`] compiles the degree-of-freedom rules for one set of options once; checking
//! an expectation then allocates nothing when it conforms. Helper names resolve through the
//! catalogue (`ftp-2121`, `sip-1`). Where the command's sender is unknown (it always is: the
//! kernel does not record it), both sides of the master are tried. `/proc` lines carry no
//! master tuple and no mask: what depends on them is reported as unverifiable (info), not
//! as a failure. `conntrack` lines show the master tuple but not its protocol: for SIP, which
//! runs on UDP and TCP, a signalling expectation's protocol is checked against both.
//!
//! ```
//! use netfilter_helpers_core::conform::Validator;
//! use netfilter_helpers_core::options::ModuleOptions;
//! use netfilter_helpers_core::parse::parse_line;
//!
//! let v = Validator::new(&ModuleOptions::new());
//! let ok = parse_line(b"299 proto=6 src=10.0.1.2 dst=10.0.0.2 sport=0 dport=50000 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.0.0.2 master-dst=10.0.1.2 sport=40000 dport=21 class=0 helper=ftp").unwrap();
//! assert!(v.check_line(&ok).conforms());
//!
//! let bounce = parse_line(b"299 proto=6 src=10.0.1.2 dst=10.0.0.77 sport=0 dport=50000 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.0.0.2 master-dst=10.0.1.2 sport=40000 dport=21 class=0 helper=ftp").unwrap();
//! let verdict = v.check_line(&bounce);
//! assert!(!verdict.conforms());
//! assert!(verdict.findings[0].message.contains("destination 10.0.0.77 differs from the master's initiator 10.0.0.2"));
//! assert!(verdict.findings[0].message.contains("while ftp loose=0"));
//! ```

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::catalogue::{Helper, HelperName};
use crate::dof::{Attribute, CommandFrom, Endpoint, ExpectationRule, Freedom, PortRule, all_rules};
use crate::expect::{ExpectFlags, Expectation, Tuple};
use crate::net::L4Proto;
use crate::net::{full_mask, zero_addr};
use crate::options::{ModuleOptions, Param, Value};
use crate::parse::{Format, ParsedLine};
use crate::registry::resolve_name;
use crate::report::Severity;

/// Stable codes of conformance and policy findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Code {
    /// The expectation names no helper (created from user space or by nft).
    NoHelper,
    /// The helper name is not a kernel helper (a user-space helper such as `rpc`).
    UnknownHelper,
    /// The name is not registered with the `ports=` in force.
    UnregisteredName,
    /// The helper is not registered for this address family.
    FamilyUnsupported,
    /// No expectation kind of the helper has this class.
    ClassMismatch,
    /// The protocol is not the one the helper uses.
    Protocol,
    /// The source address is not what the helper sets.
    SourceAddress,
    /// The source port is not what the helper sets.
    SourcePort,
    /// The destination address is not what the helper sets.
    DestinationAddress,
    /// The destination port is not what the helper sets.
    DestinationPort,
    /// The flags are not what the helper sets.
    Flags,
    /// The remaining lifetime exceeds the helper's policy.
    Timeout,
    /// The master tuple is unknown (`/proc` lines): master-dependent checks were skipped.
    MasterUnknown,
    /// The policy does not allow RELATED flows for this helper.
    PolicyHelper,
    /// The destination is outside the policy's networks.
    PolicyDestination,
    /// The source is outside the policy's networks.
    PolicySource,
    /// The destination port is below the policy's floor.
    PolicyPort,
    /// The destination is neither end of the master connection and the policy forbids third
    /// parties.
    PolicyThirdParty,
    /// The expectation class is not allowed by the policy.
    PolicyClass,
}

impl Code {
    /// The stable code text.
    ///
    /// ```
    /// use netfilter_helpers_core::conform::Code;
    /// assert_eq!(Code::DestinationAddress.as_str(), "destination-address");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Code::NoHelper => "no-helper",
            Code::UnknownHelper => "unknown-helper",
            Code::UnregisteredName => "unregistered-name",
            Code::FamilyUnsupported => "family-unsupported",
            Code::ClassMismatch => "class-mismatch",
            Code::Protocol => "protocol",
            Code::SourceAddress => "source-address",
            Code::SourcePort => "source-port",
            Code::DestinationAddress => "destination-address",
            Code::DestinationPort => "destination-port",
            Code::Flags => "flags",
            Code::Timeout => "timeout",
            Code::MasterUnknown => "master-unknown",
            Code::PolicyHelper => "policy-helper",
            Code::PolicyDestination => "policy-destination",
            Code::PolicySource => "policy-source",
            Code::PolicyPort => "policy-port",
            Code::PolicyThirdParty => "policy-third-party",
            Code::PolicyClass => "policy-class",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding about an expectation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Finding {
    /// The stable code.
    pub code: Code,
    /// How serious it is.
    pub severity: Severity,
    /// The attribute concerned, if one.
    pub attribute: Option<Attribute>,
    /// What is wrong, naming values and the options that decide.
    pub message: Cow<'static, str>,
}

impl Finding {
    /// A finding (for callers that report their own, such as bindings rebuilding one).
    ///
    /// ```
    /// use netfilter_helpers_core::conform::{Code, Finding};
    /// use netfilter_helpers_core::report::Severity;
    /// let f = Finding::new(Code::PolicyPort, Severity::Error, None, "port 80 is below 1024");
    /// assert_eq!(f.code.as_str(), "policy-port");
    /// ```
    pub fn new(
        code: Code,
        severity: Severity,
        attribute: Option<Attribute>,
        message: impl Into<Cow<'static, str>>,
    ) -> Finding {
        Finding {
            code,
            severity,
            attribute,
            message: message.into(),
        }
    }

    fn error(code: Code, attribute: Option<Attribute>, message: String) -> Self {
        Finding {
            code,
            severity: Severity::Error,
            attribute,
            message: message.into(),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}]: {}", self.severity, self.code, self.message)
    }
}

/// The verdict on one expectation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize)]
pub struct Verdict {
    /// The helper, when the name resolved.
    pub helper: Option<HelperName>,
    /// The kind of expectation it matched (or came closest to).
    pub kind: Option<crate::dof::ExpectationKind>,
    /// Every finding; empty when the expectation conforms fully.
    pub findings: Vec<Finding>,
}

impl Verdict {
    /// Whether nothing worse than info was found.
    ///
    /// ```
    /// use netfilter_helpers_core::conform::Verdict;
    /// assert!(Verdict::default().conforms());
    /// ```
    pub fn conforms(&self) -> bool {
        self.findings.iter().all(|f| f.severity == Severity::Info)
    }
}

/// Checks expectations against the model under one set of module options. Two validators are
/// equal when their options are (everything else is compiled from them).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Validator {
    options: ModuleOptions,
    rules: Vec<ExpectationRule>,
    /// Every name the kernel registers under these options, resolved once.
    names: Vec<(String, HelperName)>,
}

impl PartialEq for Validator {
    fn eq(&self, other: &Validator) -> bool {
        self.options == other.options
    }
}

impl Eq for Validator {}

impl std::hash::Hash for Validator {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.options.hash(state);
    }
}

/// The master's endpoints for one assumption about who sent the command.
#[derive(Clone, Copy)]
struct Sides {
    initiator: (IpAddr, u16),
    responder: (IpAddr, u16),
    sender_is_initiator: bool,
}

impl Sides {
    fn get(&self, e: Endpoint) -> (IpAddr, u16) {
        match (e, self.sender_is_initiator) {
            (Endpoint::Initiator, _) | (Endpoint::Sender, true) | (Endpoint::Peer, false) => {
                self.initiator
            }
            _ => self.responder,
        }
    }

    fn words(&self, e: Endpoint) -> String {
        let (role, side) = match (e, self.sender_is_initiator) {
            (Endpoint::Initiator, _) => ("initiator", ""),
            (Endpoint::Responder, _) => ("responder", ""),
            (Endpoint::Sender, true) => ("initiator", " (the command's sender)"),
            (Endpoint::Sender, false) => ("responder", " (the command's sender)"),
            (Endpoint::Peer, true) => ("responder", " (the command's peer)"),
            (Endpoint::Peer, false) => ("initiator", " (the command's peer)"),
        };
        format!("{role} {}{side}", self.get(e).0)
    }
}

impl Validator {
    /// A validator for these options.
    pub fn new(options: &ModuleOptions) -> Self {
        let names = Helper::ALL
            .iter()
            .flat_map(|h| crate::registry::registered_names(*h, options))
            .map(|r| (r.name.to_string(), r.name))
            .collect();
        Validator {
            options: options.clone(),
            rules: all_rules(options),
            names,
        }
    }

    /// The options this validator judges by.
    ///
    /// ```
    /// use netfilter_helpers_core::conform::Validator;
    /// use netfilter_helpers_core::options::ModuleOptions;
    /// assert!(!Validator::new(&ModuleOptions::new()).options().ftp_loose());
    /// ```
    pub fn options(&self) -> &ModuleOptions {
        &self.options
    }

    /// Checks a parsed line (its timeout is checked against the policy too).
    pub fn check_line(&self, line: &ParsedLine) -> Verdict {
        let mut class_hint = None;
        if line.format == Format::Proc {
            class_hint = line.policy_name.as_deref();
        }
        self.check_full(&line.expectation, line.timeout, line.format, class_hint)
    }

    /// Checks one expectation, without a timeout.
    ///
    /// ```
    /// use netfilter_helpers_core::conform::{Code, Validator};
    /// use netfilter_helpers_core::expect::Expectation;
    /// use netfilter_helpers_core::net::L4Proto;
    /// use netfilter_helpers_core::options::ModuleOptions;
    /// let e = Expectation::new(None, None, "10.0.0.2".parse().unwrap(), 5000, L4Proto::Tcp).unwrap().with_helper("rpc", 0);
    /// let v = Validator::new(&ModuleOptions::new()).check(&e);
    /// assert_eq!(v.findings[0].code, Code::UnknownHelper);
    /// ```
    pub fn check(&self, exp: &Expectation) -> Verdict {
        self.check_full(exp, None, Format::Conntrack, None)
    }

    /// Whether a parsed line conforms (what `check_line(..).conforms()` says), without
    /// building a verdict: no allocation, whatever the line. The fast path for judging many
    /// expectations.
    ///
    /// ```
    /// use netfilter_helpers_core::conform::Validator;
    /// use netfilter_helpers_core::options::ModuleOptions;
    /// use netfilter_helpers_core::parse::parse_line;
    /// let v = Validator::new(&ModuleOptions::new());
    /// let l = parse_line(b"299 l3proto = 2 proto=6 src=0.0.0.0 dst=10.0.0.2 sport=0 dport=5000 irc").unwrap();
    /// assert!(v.conforms(&l));
    /// let bad = parse_line(b"299 l3proto = 2 proto=17 src=0.0.0.0 dst=10.0.0.2 sport=0 dport=5000 irc").unwrap();
    /// assert!(!v.conforms(&bad));
    /// ```
    pub fn conforms(&self, line: &ParsedLine) -> bool {
        let exp = &line.expectation;
        let Some(name) = exp.helper.as_deref() else {
            return false;
        };
        // Names outside the table are unknown or unregistered: never conforming.
        let Some(helper) = self
            .names
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, h)| h.helper)
        else {
            return false;
        };
        if !helper.info().supports(exp.family()) && helper != Helper::H245 {
            return false;
        }
        let proc_policy = match line.format {
            Format::Proc => line.policy_name.as_deref(),
            Format::Conntrack => None,
        };
        let master = match line.format {
            Format::Conntrack => exp.master,
            Format::Proc => None,
        };
        self.candidates(helper, exp, line.format, proc_policy)
            .any(|rule| {
                let sides: &[bool] = match rule.command_from {
                    CommandFrom::Initiator => &[true],
                    CommandFrom::Responder => &[false],
                    CommandFrom::Either => &[true, false],
                };
                sides.iter().any(|&sender_is_initiator| {
                    let mut sink = Sink {
                        findings: None,
                        failures: 0,
                    };
                    check_rule(
                        rule,
                        exp,
                        master,
                        sender_is_initiator,
                        line.timeout,
                        line.format,
                        &self.options,
                        &mut sink,
                    );
                    sink.failures == 0
                })
            })
    }

    /// The rules that may have made an expectation of this helper, class and format.
    fn candidates<'a>(
        &'a self,
        helper: Helper,
        exp: &'a Expectation,
        format: Format,
        proc_policy: Option<&'a str>,
    ) -> impl Iterator<Item = &'a ExpectationRule> + 'a {
        self.rules
            .iter()
            .filter(move |r| {
                r.helper == helper
                    || (helper == Helper::Q931
                        && matches!(
                            r.kind,
                            crate::dof::ExpectationKind::H323RtpRtcp
                                | crate::dof::ExpectationKind::H323T120
                        ))
            })
            .filter(move |r| match (format, proc_policy) {
                (Format::Proc, Some(p)) => r.class.policy_name() == Some(p),
                (Format::Proc, None) => r.class.policy_name().is_none(),
                (Format::Conntrack, _) => r.class.number() == exp.class,
            })
    }

    fn check_full(
        &self,
        exp: &Expectation,
        timeout: Option<u32>,
        format: Format,
        proc_policy: Option<&str>,
    ) -> Verdict {
        let mut verdict = Verdict::default();
        let Some(name) = exp.helper.as_deref() else {
            verdict.findings.push(Finding::error(
                Code::NoHelper,
                None,
                "no helper name: not created by a kernel helper (user space or nft ct expectation)"
                    .into(),
            ));
            return verdict;
        };
        let resolved = match self.names.iter().find(|(n, _)| n == name) {
            Some((_, h)) => Ok(*h),
            None => match resolve_name(name, &self.options) {
                // Another spelling of a registered helper (`Tftp`, `q931`): the kernel prints
                // the registered name exactly, so this line was not printed by it.
                Ok(r) => {
                    verdict.helper = Some(r.name);
                    verdict.findings.push(Finding::error(
                        Code::UnknownHelper,
                        None,
                        format!(
                            "helper {name:?} is not how the kernel names a helper: it prints {}",
                            r.name
                        ),
                    ));
                    return verdict;
                }
                Err(e) => Err(e),
            },
        };
        let reg_name = match resolved {
            Ok(r) => r,
            Err(crate::catalogue::CatalogueError::NotRegistered { .. }) => {
                let parsed: HelperName = name.parse().expect("resolve_name parsed it");
                verdict.helper = Some(parsed);
                let ports = self.options.ports(parsed.helper.module());
                verdict.findings.push(Finding::error(
                    Code::UnregisteredName,
                    None,
                    format!(
                        "helper {name} is not registered with {} ports={}",
                        parsed.helper.module(),
                        Value::Ports(ports)
                    ),
                ));
                return verdict;
            }
            Err(_) => {
                verdict.findings.push(Finding::error(
                    Code::UnknownHelper,
                    None,
                    format!("helper {name:?} is not a kernel helper"),
                ));
                return verdict;
            }
        };
        let helper = reg_name.helper;
        verdict.helper = Some(reg_name);
        let family = exp.family();
        let info = helper.info();
        if !info.supports(family) && helper != Helper::H245 {
            verdict.findings.push(Finding::error(
                Code::FamilyUnsupported,
                None,
                format!("{helper} is registered for IPv4 only, not {family}"),
            ));
            return verdict;
        }
        // Helpers whose expectations carry the master's helper name: H.323 channels created
        // by Q.931 fastStart carry Q.931, so RTP/T.120 rules apply to both.
        let candidates = || self.candidates(helper, exp, format, proc_policy);
        if candidates().next().is_none() {
            verdict.findings.push(Finding::error(
                Code::ClassMismatch,
                None,
                match format {
                    Format::Conntrack => {
                        format!("{helper} creates no expectations of class {}", exp.class)
                    }
                    Format::Proc => format!(
                        "{helper} creates no expectations of policy {}",
                        proc_policy.unwrap_or("(unnamed)")
                    ),
                },
            ));
            return verdict;
        }
        let master = if format == Format::Conntrack {
            exp.master
        } else {
            None
        };
        // Try every candidate rule and both senders; keep the closest miss.
        let mut best: Option<(crate::dof::ExpectationKind, Vec<Finding>)> = None;
        for rule in candidates() {
            let sides: &[bool] = match rule.command_from {
                CommandFrom::Initiator => &[true],
                CommandFrom::Responder => &[false],
                CommandFrom::Either => &[true, false],
            };
            for &sender_is_initiator in sides {
                let mut f = Vec::new();
                check_rule(
                    rule,
                    exp,
                    master,
                    sender_is_initiator,
                    timeout,
                    format,
                    &self.options,
                    &mut Sink {
                        findings: Some(&mut f),
                        failures: 0,
                    },
                );
                if f.is_empty() {
                    verdict.kind = Some(rule.kind);
                    if master.is_none() {
                        verdict.findings.push(master_unknown());
                    }
                    return verdict;
                }
                if best.as_ref().is_none_or(|(_, b)| f.len() < b.len()) {
                    best = Some((rule.kind, f));
                }
            }
        }
        let (kind, mut findings) = best.expect("at least one candidate was tried");
        self.add_option_hints(exp, timeout, format, proc_policy, kind, &mut findings);
        verdict.kind = Some(kind);
        verdict.findings = findings;
        if master.is_none() {
            verdict.findings.push(master_unknown());
        }
        verdict
    }

    /// Names the option settings under which the expectation would have conformed.
    fn add_option_hints(
        &self,
        exp: &Expectation,
        timeout: Option<u32>,
        format: Format,
        proc_policy: Option<&str>,
        kind: crate::dof::ExpectationKind,
        findings: &mut [Finding],
    ) {
        let rule = crate::dof::rule(kind, &self.options);
        for p in rule.options.iter().copied() {
            let Some(danger) = p.spec().danger else {
                continue;
            };
            let current = self.options.get(p);
            if p.danger_of(&current).is_some() {
                continue;
            }
            let flipped = match p.spec().kind {
                crate::options::ParamKind::Bool => Value::Bool(danger.when_true),
                _ => Value::Int(i32::from(danger.when_true)),
            };
            let mut alt = self.options.clone();
            if alt.set(p, flipped.clone()).is_err() {
                continue;
            }
            let v = Validator::new(&alt).check_full(exp, timeout, format, proc_policy);
            if v.conforms() {
                let while_text = format!(" while {}={current}", option_label(p));
                for f in findings.iter_mut() {
                    if !f.message.contains(&while_text) {
                        f.message.to_mut().push_str(&while_text);
                    }
                    f.message.to_mut().push_str(&format!(
                        " (it would conform with {}={flipped})",
                        p.spec().name
                    ));
                }
            }
        }
    }
}

fn master_unknown() -> Finding {
    Finding {
        code: Code::MasterUnknown,
        severity: Severity::Info,
        attribute: None,
        message: Cow::Borrowed(
            "the master connection is not shown (/proc line): checks against it were skipped",
        ),
    }
}

fn is_prefix_mask(mask: IpAddr) -> bool {
    match mask {
        IpAddr::V4(m) => {
            let n = u32::from(m);
            n.leading_ones() + n.trailing_zeros() == 32
        }
        IpAddr::V6(m) => {
            let n = u128::from(m);
            n.leading_ones() + n.trailing_zeros() == 128
        }
    }
}

/// Where [`check_rule`] reports failures: collected with their messages, or only counted
/// (messages are then never built, so the quiet path allocates nothing).
pub(crate) struct Sink<'a> {
    pub(crate) findings: Option<&'a mut Vec<Finding>>,
    pub(crate) failures: usize,
}

impl Sink<'_> {
    pub(crate) fn fail(
        &mut self,
        code: Code,
        attribute: Option<Attribute>,
        message: impl FnOnce() -> String,
    ) {
        self.failures += 1;
        if let Some(f) = self.findings.as_deref_mut() {
            f.push(Finding::error(code, attribute, message()));
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn check_rule(
    rule: &ExpectationRule,
    exp: &Expectation,
    master: Option<Tuple>,
    sender_is_initiator: bool,
    timeout: Option<u32>,
    format: Format,
    options: &ModuleOptions,
    out: &mut Sink<'_>,
) {
    let c = RuleCheck {
        rule,
        exp,
        master,
        sides: master.map(|m| {
            // PPTP's exp_gre() makes one GRE expectation per direction: ORIGINAL (initiator
            // to responder) and REPLY (responder to initiator: the second nf_ct_expect_init in
            // net/netfilter/nf_conntrack_pptp.c exp_gre(), with the REPLY tuple). Check the
            // REPLY one with the endpoints swapped.
            let reply =
                rule.port_rule == PortRule::GreCallIds && exp.src == m.dst && exp.dst == m.src;
            let (initiator, responder) = if reply {
                ((m.dst, m.dport), (m.src, m.sport))
            } else {
                ((m.src, m.sport), (m.dst, m.dport))
            };
            Sides {
                initiator,
                responder,
                sender_is_initiator,
            }
        }),
        // /proc shows no mask: a printed zero source means a wildcard, anything else exact.
        mask_known: format == Format::Conntrack,
        options,
    };
    c.l4(out);
    c.src_addr(out);
    c.src_port(out);
    c.dst_addr(out);
    c.dst_port(out);
    c.flags(out);
    c.timeout(timeout, out);
}

/// One expectation checked against one rule of the model, attribute by attribute.
struct RuleCheck<'a> {
    rule: &'a ExpectationRule,
    exp: &'a Expectation,
    master: Option<Tuple>,
    sides: Option<Sides>,
    /// Whether the line format shows masks (`conntrack` does, `/proc` does not).
    mask_known: bool,
    options: &'a ModuleOptions,
}

impl RuleCheck<'_> {
    /// The layer-4 protocol.
    fn l4(&self, out: &mut Sink<'_>) {
        let RuleCheck {
            rule, exp, master, ..
        } = *self;
        let helper = rule.helper;
        let fr = rule.freedoms;
        match fr.l4 {
            Freedom::Protocol(p) if exp.l4 != p => {
                out.fail(Code::Protocol, Some(Attribute::L4), || {
                    format!(
                        "protocol {} but {helper} {} expectations are {p}",
                        exp.l4,
                        rule.kind.label()
                    )
                })
            }
            Freedom::MasterProtocol => {
                let ok = match master {
                    Some(m) if !matches!(m.l4, L4Proto::Unknown(0)) => exp.l4 == m.l4,
                    _ => helper.info().master_protocols.contains(&exp.l4),
                };
                if !ok {
                    out.fail(Code::Protocol, Some(Attribute::L4), || {
                        format!(
                            "protocol {} differs from the master connection's protocol",
                            exp.l4
                        )
                    });
                }
            }
            _ => {}
        }
    }

    /// The source address and its mask.
    fn src_addr(&self, out: &mut Sink<'_>) {
        let RuleCheck {
            rule,
            exp,
            sides,
            mask_known,
            options,
            ..
        } = *self;
        let helper = rule.helper;
        let fr = rule.freedoms;
        let family = exp.family();
        let exact_src = exp.src_mask == full_mask(family);
        let wild_src = exp.src_mask == zero_addr(family) && exp.src == zero_addr(family);
        match fr.src_addr {
            Freedom::Wildcard if !wild_src => {
                out.fail(
                    Code::SourceAddress,
                    Some(Attribute::SrcAddr), || format!(
                        "source {} (mask {}) is pinned but {helper} {} expectations accept any source{}",
                        exp.src,
                        exp.src_mask,
                        rule.kind.label(),
                        option_words(rule, options)
                    ));
            }
            Freedom::Master(e) | Freedom::PayloadChecked(e) => {
                if (mask_known && !exact_src) || wild_src {
                    out.fail(Code::SourceAddress, Some(Attribute::SrcAddr), || {
                        format!(
                            "source is a wildcard (mask {}) but {helper} pins it to the master's {e}{}",
                            exp.src_mask,
                            option_words(rule, options)
                        )
                    });
                } else if let Some(s) = sides
                    && exp.src != s.get(e).0
                {
                    out.fail(Code::SourceAddress, Some(Attribute::SrcAddr), || {
                        format!(
                            "source {} differs from the master's {}",
                            exp.src,
                            s.words(e)
                        )
                    });
                }
            }
            Freedom::InterfaceNetwork => {
                let ok_mask = !mask_known
                    || (is_prefix_mask(exp.src_mask) && exp.src_mask != zero_addr(family));
                if !ok_mask {
                    out.fail(Code::SourceAddress, Some(Attribute::SrcAddr), || {
                        format!("source mask {} is not an interface netmask", exp.src_mask)
                    });
                } else if let Some(s) = sides
                    && exp.src != s.responder.0
                {
                    out.fail(Code::SourceAddress, Some(Attribute::SrcAddr), || {
                        format!(
                            "source {} is not the broadcast address {} the query went to",
                            exp.src, s.responder.0
                        )
                    });
                }
            }
            _ => {}
        }
    }

    /// The source port (or GRE key) and its mask.
    fn src_port(&self, out: &mut Sink<'_>) {
        let RuleCheck {
            rule,
            exp,
            sides,
            mask_known,
            ..
        } = *self;
        let helper = rule.helper;
        let fr = rule.freedoms;
        let sport_wild = exp.sport_mask == 0 && exp.sport == 0;
        let sport_exact = exp.sport_mask == u16::MAX;
        match fr.src_port {
            Freedom::Wildcard if !sport_wild => {
                out.fail(Code::SourcePort, Some(Attribute::SrcPort), || {
                    format!(
                        "source port {} is pinned but {helper} accepts any source port",
                        exp.sport
                    )
                });
            }
            Freedom::HelperPort => {
                let want = helper.info().default_port.unwrap_or(0);
                if (mask_known && !sport_exact) || exp.sport != want {
                    out.fail(Code::SourcePort, Some(Attribute::SrcPort), || {
                        format!(
                            "source port {} but {helper} expects replies from its port {want}",
                            exp.sport
                        )
                    });
                }
            }
            Freedom::Master(e) => {
                if let Some(s) = sides
                    && exp.sport != s.get(e).1
                {
                    out.fail(Code::SourcePort, Some(Attribute::SrcPort), || {
                        format!(
                            "source port {} differs from the master's {e} port",
                            exp.sport
                        )
                    });
                }
            }
            Freedom::Payload if mask_known && !sport_exact => {
                out.fail(Code::SourcePort, Some(Attribute::SrcPort), || {
                    format!(
                        "source key {:#x} is a wildcard but {helper} pins it",
                        exp.sport
                    )
                });
            }
            _ => {}
        }
    }

    /// The destination address.
    fn dst_addr(&self, out: &mut Sink<'_>) {
        let RuleCheck {
            rule, exp, sides, ..
        } = *self;
        let fr = rule.freedoms;
        match fr.dst_addr {
            Freedom::Master(e) | Freedom::PayloadChecked(e) => {
                if let Some(s) = sides
                    && exp.dst != s.get(e).0
                {
                    out.fail(Code::DestinationAddress, Some(Attribute::DstAddr), || {
                        format!(
                            "destination {} differs from the master's {}",
                            exp.dst,
                            s.words(e)
                        )
                    });
                }
            }
            _ => {}
        }
        // An address the kernel refuses as destination (process_acf(): the ACF's receiver).
        // Without the master (/proc) the receiver is the source, which the rule pins to it.
        if let Some(e) = rule.refused_dst {
            let refused = match sides {
                Some(s) => Some(s.get(e).0),
                None if fr.src_addr == Freedom::Master(e) && !exp.src.is_unspecified() => {
                    Some(exp.src)
                }
                None => None,
            };
            if refused == Some(exp.dst) {
                out.fail(Code::DestinationAddress, Some(Attribute::DstAddr), || {
                    format!(
                        "destination {} is the master's {e}: {} {} expectations are never made for it",
                        exp.dst,
                        rule.helper,
                        rule.kind.label()
                    )
                });
            }
        }
    }

    /// The destination port (or GRE key).
    fn dst_port(&self, out: &mut Sink<'_>) {
        let RuleCheck {
            rule, exp, sides, ..
        } = *self;
        let helper = rule.helper;
        let fr = rule.freedoms;
        match fr.dst_port {
            Freedom::Master(e) => {
                if let Some(s) = sides
                    && exp.dport != s.get(e).1
                {
                    out.fail(Code::DestinationPort, Some(Attribute::DstPort), || {
                        format!(
                            "destination port {} differs from the master's {} port {}",
                            exp.dport,
                            e,
                            s.get(e).1
                        )
                    });
                }
            }
            Freedom::Payload => {
                let bad = match rule.port_rule {
                    PortRule::NonZero | PortRule::H323RtpPair => exp.dport == 0,
                    PortRule::Unprivileged | PortRule::SdpRtpPair => exp.dport < 1024,
                    _ => false,
                };
                if bad {
                    out.fail(Code::DestinationPort, Some(Attribute::DstPort), || {
                        format!(
                            "destination port {} is one {helper} never announces ({})",
                            exp.dport,
                            match rule.port_rule {
                                PortRule::Unprivileged | PortRule::SdpRtpPair =>
                                    "it requires 1024-65535",
                                _ => "it refuses port 0",
                            }
                        )
                    });
                }
            }
            _ => {}
        }
    }

    /// The flags: the rule's; INACTIVE may have been cleared (SIP confirmation).
    fn flags(&self, out: &mut Sink<'_>) {
        let RuleCheck { rule, exp, .. } = *self;
        let helper = rule.helper;
        // Flags: the rule's flags; INACTIVE may have been cleared (SIP confirmation).
        let got =
            exp.flags & (ExpectFlags::PERMANENT | ExpectFlags::INACTIVE | ExpectFlags::USERSPACE);
        let want = rule.flags;
        if got != want && got != want - ExpectFlags::INACTIVE {
            out.fail(Code::Flags, None, || {
                format!(
                    "flags {:?} but {helper} {} expectations have {:?}",
                    got.kernel_text(),
                    rule.kind.label(),
                    want.kernel_text()
                )
            });
        }
    }

    /// The time left, where the policy fixes it.
    fn timeout(&self, timeout: Option<u32>, out: &mut Sink<'_>) {
        let RuleCheck { rule, .. } = *self;
        let helper = rule.helper;
        // Timeout: only where the policy fixes it (SIP signalling and RRQ registrations follow
        // the registration's lifetime).
        if let Some(t) = timeout {
            let policy_bound = !(rule.flags.contains(ExpectFlags::PERMANENT)
                && matches!(
                    rule.kind,
                    crate::dof::ExpectationKind::SipSignalling
                        | crate::dof::ExpectationKind::Q931FromRrq
                ));
            if policy_bound && t > rule.policy.timeout_secs {
                out.fail(Code::Timeout, None, || {
                    format!(
                        "{t} s left exceeds the {} s {helper} gives its expectations",
                        rule.policy.timeout_secs
                    )
                });
            }
        }
    }
}

/// " while ftp loose=0"-style words for the options that shape a rule.
fn option_words(rule: &ExpectationRule, options: &ModuleOptions) -> String {
    let mut s = String::new();
    for p in &rule.options {
        if p.spec().danger.is_some() {
            s.push_str(&format!(" while {}={}", option_label(*p), options.get(*p)));
        }
    }
    s
}

/// `ftp loose`, but `sip_direct_media` (already named after its module).
fn option_label(p: Param) -> String {
    let spec = p.spec();
    let short = spec.module.short_name();
    if spec.name.starts_with(short) {
        spec.name.to_string()
    } else {
        format!("{short} {}", spec.name)
    }
}

/// Whether an address is one end of the master connection.
///
/// ```
/// use netfilter_helpers_core::conform::is_master_endpoint;
/// use netfilter_helpers_core::expect::Tuple;
/// use netfilter_helpers_core::net::L4Proto;
/// let m = Tuple::new("10.0.0.2".parse().unwrap(), 40000, "10.0.1.2".parse().unwrap(), 21, L4Proto::Tcp).unwrap();
/// assert!(is_master_endpoint(&m, "10.0.1.2".parse().unwrap()));
/// assert!(!is_master_endpoint(&m, "10.0.1.3".parse().unwrap()));
/// ```
pub fn is_master_endpoint(master: &Tuple, addr: IpAddr) -> bool {
    master.src == addr || master.dst == addr
}

crate::spelling::spelling! {
    Code {
        NoHelper => "no-helper",
        UnknownHelper => "unknown-helper",
        UnregisteredName => "unregistered-name",
        FamilyUnsupported => "family-unsupported",
        ClassMismatch => "class-mismatch",
        Protocol => "protocol",
        SourceAddress => "source-address",
        SourcePort => "source-port",
        DestinationAddress => "destination-address",
        DestinationPort => "destination-port",
        Flags => "flags",
        Timeout => "timeout",
        MasterUnknown => "master-unknown",
        PolicyHelper => "policy-helper",
        PolicyDestination => "policy-destination",
        PolicySource => "policy-source",
        PolicyPort => "policy-port",
        PolicyThirdParty => "policy-third-party",
        PolicyClass => "policy-class",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_line;

    fn v(o: &ModuleOptions, line: &str) -> Verdict {
        Validator::new(o).check_line(&parse_line(line.as_bytes()).unwrap())
    }

    const FTP_OK: &str = "299 proto=6 src=10.71.2.2 dst=10.71.1.2 sport=0 dport=50000 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.71.1.2 master-dst=10.71.2.2 sport=55446 dport=21 class=0 helper=ftp";

    #[test]
    fn kernel_lines_conform() {
        let o = ModuleOptions::new();
        for l in [
            FTP_OK,
            "299 proto=6 src=0.0.0.0 dst=10.71.1.2 sport=0 dport=50010 mask-src=0.0.0.0 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.71.1.2 master-dst=10.71.2.2 sport=44340 dport=6667 class=0 helper=irc",
            "179 proto=17 src=10.71.2.2 dst=10.71.1.2 sport=0 dport=49170 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.71.1.2 master-dst=10.71.2.2 sport=5060 dport=5060 class=1 helper=sip",
            "3599 proto=17 src=10.71.2.2 dst=10.71.1.2 sport=0 dport=5062 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.71.1.2 master-dst=10.71.2.2 sport=5060 dport=5060 PERMANENT class=0 helper=sip",
            "2 proto=17 src=10.71.1.255 dst=10.71.1.2 sport=137 dport=37229 mask-src=255.255.255.0 mask-dst=255.255.255.255 sport=65535 dport=65535 master-src=10.71.1.2 master-dst=10.71.1.255 sport=37229 dport=137 PERMANENT class=0 helper=netbios-ns",
            "299 proto=17 src=10.71.2.2 dst=10.71.1.2 sport=0 dport=49902 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.71.1.2 master-dst=10.71.2.2 sport=49902 dport=69 class=0 helper=tftp",
            "133 l3proto = 2 proto=47 src=192.168.13.152 dst=192.168.13.118 srckey=0xa9a0 dstkey=0x6bd8 pptp",
        ] {
            let verdict = v(&o, l);
            assert!(verdict.conforms(), "{l}: {:#?}", verdict.findings);
        }
    }

    #[test]
    fn pptp_gre_pair_conforms_in_both_directions() {
        // As the kernel lab shows them (lab_fidelity pptp_call_opens_…): the ORIGINAL and
        // the REPLY direction expectation of one call.
        let o = ModuleOptions::new();
        let master =
            "master-src=10.71.1.2 master-dst=10.71.2.2 sport=40000 dport=1723 class=0 helper=pptp";
        let masks = "mask-src=255.255.255.255 mask-dst=255.255.255.255 srckey=0xffff dstkey=0xffff";
        let orig = format!(
            "299 proto=47 src=10.71.1.2 dst=10.71.2.2 srckey=0xa9a0 dstkey=0x6bd8 {masks} {master}"
        );
        let reply = format!(
            "299 proto=47 src=10.71.2.2 dst=10.71.1.2 srckey=0x6bd8 dstkey=0xa9a0 {masks} {master}"
        );
        for l in [&orig, &reply] {
            assert!(v(&o, l).conforms(), "{l}: {:#?}", v(&o, l).findings);
        }
        // Neither direction may name a third host.
        let third = reply.replace("src=10.71.2.2 dst=10.71.1.2", "src=10.71.2.3 dst=10.71.1.2");
        assert_eq!(v(&o, &third).findings[0].code, Code::SourceAddress);
    }

    #[test]
    fn an_expectation_to_the_receiver_itself_is_an_lcf_never_an_acf() {
        // process_acf() makes none for an ACF naming its receiver; process_lcf() makes one
        // from the receiver to itself (lab_fidelity h323_ras_matches_the_model).
        let o = ModuleOptions::new();
        let master = "master-src=10.71.1.2 master-dst=10.71.2.2 sport=41719 dport=1719 PERMANENT class=0 helper=RAS";
        let masks = "mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535";
        let third =
            format!("239 proto=6 src=10.71.1.2 dst=10.71.3.2 sport=0 dport=1720 {masks} {master}");
        let own =
            format!("239 proto=6 src=10.71.1.2 dst=10.71.1.2 sport=0 dport=1724 {masks} {master}");
        let own_proc =
            "239 l3proto = 2 proto=6 src=10.71.1.2 dst=10.71.1.2 sport=0 dport=1724 PERMANENT RAS";
        let verdict = v(&o, &third);
        assert!(verdict.conforms(), "{:#?}", verdict.findings);
        assert_eq!(verdict.kind, Some(crate::dof::ExpectationKind::Q931FromAcf));
        let verdict = v(&o, &own);
        assert!(verdict.conforms(), "{:#?}", verdict.findings);
        assert_eq!(verdict.kind, Some(crate::dof::ExpectationKind::Q931FromLcf));
        // Without the master (/proc) an RRQ's expectation looks the same; never an ACF's.
        let verdict = v(&o, own_proc);
        assert!(verdict.conforms(), "{:#?}", verdict.findings);
        assert_ne!(verdict.kind, Some(crate::dof::ExpectationKind::Q931FromAcf));
        // Checked against the ACF rule alone, it fails on the destination.
        let exp = parse_line(own.as_bytes()).unwrap().expectation;
        let acf = crate::dof::rule(crate::dof::ExpectationKind::Q931FromAcf, &o);
        let mut f = Vec::new();
        check_rule(
            &acf,
            &exp,
            exp.master,
            false,
            None,
            Format::Conntrack,
            &o,
            &mut Sink {
                findings: Some(&mut f),
                failures: 0,
            },
        );
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].code, Code::DestinationAddress);
        assert!(
            f[0].message.contains("is the master's peer"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn mutations_are_flagged_with_reasons() {
        let o = ModuleOptions::new();
        let third = FTP_OK.replace(
            "dst=10.71.1.2 sport=0 dport=50000",
            "dst=10.71.2.3 sport=0 dport=50000",
        );
        let verdict = v(&o, &third);
        assert_eq!(verdict.findings[0].code, Code::DestinationAddress);
        assert!(
            verdict.findings[0]
                .message
                .contains("it would conform with loose=1"),
            "{:?}",
            verdict.findings
        );
        let mut loose = ModuleOptions::new();
        loose.set_assignment("ftp.loose=1").unwrap();
        assert!(v(&loose, &third).conforms());

        let udp = FTP_OK.replace("proto=6", "proto=17");
        assert_eq!(v(&o, &udp).findings[0].code, Code::Protocol);
        let wild = FTP_OK
            .replace("mask-src=255.255.255.255", "mask-src=0.0.0.0")
            .replace("src=10.71.2.2 dst", "src=0.0.0.0 dst");
        assert_eq!(v(&o, &wild).findings[0].code, Code::SourceAddress);
        let pinned = FTP_OK
            .replace(
                "mask-dst=255.255.255.255 sport=0",
                "mask-dst=255.255.255.255 sport=65535",
            )
            .replace("dst=10.71.1.2 sport=0", "dst=10.71.1.2 sport=20");
        assert_eq!(v(&o, &pinned).findings[0].code, Code::SourcePort);
        let v6irc = "299 l3proto = 10 proto=6 src=0000:0000:0000:0000:0000:0000:0000:0000 dst=fd71:0001:0000:0000:0000:0000:0000:0002 sport=0 dport=50010 irc";
        assert_eq!(v(&o, v6irc).findings[0].code, Code::FamilyUnsupported);
        let unreg = FTP_OK.replace("helper=ftp", "helper=ftp-2121");
        assert_eq!(v(&o, &unreg).findings[0].code, Code::UnregisteredName);
        let class = FTP_OK.replace("class=0", "class=2");
        assert_eq!(v(&o, &class).findings[0].code, Code::ClassMismatch);
        let long = FTP_OK.replacen("299 ", "900 ", 1);
        assert_eq!(v(&o, &long).findings[0].code, Code::Timeout);
    }

    #[test]
    fn proc_lines_are_partial() {
        let o = ModuleOptions::new();
        let verdict = v(
            &o,
            "299 l3proto = 2 proto=6 src=198.51.100.7 dst=192.168.1.10 sport=0 dport=40000 ftp",
        );
        assert!(verdict.conforms());
        assert_eq!(verdict.findings[0].code, Code::MasterUnknown);
        let verdict = v(
            &o,
            "179 l3proto = 2 proto=17 src=0.0.0.0 dst=10.71.2.3 sport=0 dport=49200 sip/audio",
        );
        assert_eq!(verdict.findings[0].code, Code::SourceAddress);
        assert!(
            verdict.findings[0].message.contains("sip_direct_media=1"),
            "{:?}",
            verdict.findings
        );
    }
}
