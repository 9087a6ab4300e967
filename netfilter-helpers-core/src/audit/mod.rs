//! Audit of a host: module options in force, kernel version, and the expectation table,
//! judged against the model and, optionally, a site policy.
//!
//! The core reads no files: [`HostSnapshot::collect`] asks a caller-supplied function for each
//! path it needs (relative to a root, so tests can point it at a fixture tree), and
//! [`audit`] judges the snapshot.
//!
//! ```
//! use netfilter_helpers_core::audit::{audit, AuditCode, HostSnapshot};
//!
//! let snap = HostSnapshot::collect(|path| match path {
//!     "proc/sys/kernel/osrelease" => Ok(b"6.1.0-18-amd64\n".to_vec()),
//!     "sys/module/nf_conntrack_ftp/parameters/loose" => Ok(b"Y\n".to_vec()),
//!     "proc/net/nf_conntrack_expect" => Ok(b"299 l3proto = 2 proto=6 src=10.0.1.2 dst=10.0.0.9 sport=0 dport=50000 ftp\n".to_vec()),
//!     _ => Err("No such file or directory".into()),
//! });
//! let report = audit(&snap, None);
//! assert!(report.findings.iter().any(|f| f.code == AuditCode::DangerousOption && f.subject == "nf_conntrack_ftp.loose"));
//! assert_eq!(report.expectations.len(), 1);
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::conform::{Finding, Verdict};
use crate::judge::{Detail, Judge};
use crate::kernel::{AutoAssignment, KernelVersion};
use crate::options::{ModuleOptions, PARAMS};
use crate::policy::SitePolicy;
use crate::report::Severity;
use crate::ruleset::{Location, Ruleset, escape};

pub mod drift;
pub mod hazards;

/// Path of the kernel release, relative to the root.
pub const OSRELEASE: &str = "proc/sys/kernel/osrelease";
/// Path of `/proc/version`, used when the release file is missing.
pub const PROC_VERSION: &str = "proc/version";
/// Path of the expectation table.
pub const EXPECT_TABLE: &str = "proc/net/nf_conntrack_expect";
/// Path of the automatic-assignment sysctl (kernels 3.5 to 5.19).
pub const AUTO_ASSIGN_SYSCTL: &str = "proc/sys/net/netfilter/nf_conntrack_helper";

/// What was read from a host.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct HostSnapshot {
    /// The kernel release (`6.1.0-18-amd64`) or `/proc/version` text.
    pub kernel_release: Option<String>,
    /// Module parameters found: (module, parameter, raw value).
    pub params: Vec<(String, String, String)>,
    /// The value of `net.netfilter.nf_conntrack_helper`, where it exists.
    pub auto_assign_sysctl: Option<String>,
    /// The contents of `/proc/net/nf_conntrack_expect`.
    pub expectations: Option<Vec<u8>>,
    /// Paths that could not be read, with why (missing parameters of unloaded modules are
    /// normal and not listed; unreadable ones, 0600 on real kernels, are).
    pub unreadable: Vec<(String, String)>,
    /// Loaded modules (`/proc/modules`, plus modules whose parameters exist), when known.
    #[serde(default)]
    pub loaded_modules: Option<Vec<String>>,
    /// Interfaces with their addresses and `rp_filter` (filled by the caller: the core reads
    /// no directories).
    #[serde(default)]
    pub interfaces: Vec<Interface>,
    /// `net.ipv4.conf.all.rp_filter`.
    #[serde(default)]
    pub rp_filter_all: Option<String>,
}

/// Path of the list of loaded modules.
pub const PROC_MODULES: &str = "proc/modules";
/// Path of `net.ipv4.conf.all.rp_filter`.
pub const RP_FILTER_ALL: &str = "proc/sys/net/ipv4/conf/all/rp_filter";

/// The `rp_filter` path of an interface, relative to the root.
///
/// ```
/// use netfilter_helpers_core::audit::rp_filter_path;
/// assert_eq!(rp_filter_path("eth0"), "proc/sys/net/ipv4/conf/eth0/rp_filter");
/// ```
pub fn rp_filter_path(iface: &str) -> String {
    format!("proc/sys/net/ipv4/conf/{iface}/rp_filter")
}

/// An interface of the host.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Interface {
    /// Its name.
    pub name: String,
    /// Its addresses (`10.0.0.1/24`, `2001:db8::1/64`; the prefix is optional).
    pub addresses: Vec<String>,
    /// Its `net.ipv4.conf.NAME.rp_filter`, when read.
    pub rp_filter: Option<String>,
}

/// Interfaces from `ip -j addr show` output. Unknown fields are ignored; entries without a
/// name are skipped.
///
/// ```
/// use netfilter_helpers_core::audit::interfaces_from_ip_json;
/// let i = interfaces_from_ip_json(r#"[{"ifname": "eth0", "addr_info": [{"local": "10.0.0.1", "prefixlen": 24}]}]"#).unwrap();
/// assert_eq!((i[0].name.as_str(), i[0].addresses[0].as_str()), ("eth0", "10.0.0.1/24"));
/// assert!(interfaces_from_ip_json("nope").is_err());
/// ```
///
/// # Errors
/// When the text is not a JSON array.
pub fn interfaces_from_ip_json(text: &str) -> Result<Vec<Interface>, String> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not `ip -j addr` output: {e}"))?;
    let arr = v
        .as_array()
        .ok_or("not `ip -j addr` output: not an array")?;
    Ok(arr
        .iter()
        .filter_map(|i| {
            let name = i.get("ifname")?.as_str()?.to_string();
            let addresses = i
                .get("addr_info")
                .and_then(|a| a.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|x| {
                            let l = x.get("local")?.as_str()?;
                            Some(match x.get("prefixlen").and_then(|p| p.as_u64()) {
                                Some(p) => format!("{l}/{p}"),
                                None => l.to_string(),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            Some(Interface {
                name,
                addresses,
                rp_filter: None,
            })
        })
        .collect())
}

/// The outcome of reading one path, for [`HostSnapshot::collect_from`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadOutcome {
    /// The bytes read.
    Bytes(Vec<u8>),
    /// The path does not exist (a module that is not loaded).
    Missing,
    /// It exists but could not be read (permissions, not a regular file, too large).
    Failed(String),
}

impl HostSnapshot {
    /// Every path (relative to the root) a snapshot reads.
    ///
    /// ```
    /// use netfilter_helpers_core::audit::HostSnapshot;
    /// assert!(HostSnapshot::paths().contains(&"sys/module/nf_conntrack_ftp/parameters/loose".to_string()));
    /// ```
    pub fn paths() -> Vec<String> {
        let mut p = vec![
            OSRELEASE.to_string(),
            PROC_VERSION.to_string(),
            EXPECT_TABLE.to_string(),
            AUTO_ASSIGN_SYSCTL.to_string(),
            RP_FILTER_ALL.to_string(),
            PROC_MODULES.to_string(),
        ];
        for s in &PARAMS {
            p.push(param_path(s.module.name(), s.name));
        }
        p
    }

    /// Builds a snapshot by asking `read` for each path of [`HostSnapshot::paths`].
    /// `read` returns the file's bytes or a description of why it could not be read; an
    /// error mentioning "No such file" is a missing file (a module that is not loaded),
    /// any other error of a module parameter is listed in `unreadable`.
    pub fn collect(mut read: impl FnMut(&str) -> Result<Vec<u8>, String>) -> HostSnapshot {
        HostSnapshot::collect_from(|p| match read(p) {
            Ok(b) => ReadOutcome::Bytes(b),
            Err(e) if e.contains("No such file") => ReadOutcome::Missing,
            Err(e) => ReadOutcome::Failed(e),
        })
    }

    /// Builds a snapshot by asking `read` for each path of [`HostSnapshot::paths`], telling
    /// missing files from unreadable ones: module parameters that exist but cannot be read
    /// (0600 on real kernels) are listed in `unreadable` and become findings.
    ///
    /// ```
    /// use netfilter_helpers_core::audit::{HostSnapshot, ReadOutcome};
    /// let snap = HostSnapshot::collect_from(|p| match p {
    ///     "sys/module/nf_conntrack_sip/parameters/sip_direct_media" => ReadOutcome::Failed("Permission denied".into()),
    ///     "proc/modules" => ReadOutcome::Bytes(b"nf_conntrack_sip 45056 0 - Live 0x0\n".to_vec()),
    ///     _ => ReadOutcome::Missing,
    /// });
    /// assert_eq!(snap.unreadable.iter().filter(|(p, _)| p.contains("sip_direct_media")).count(), 1);
    /// assert_eq!(snap.loaded_modules, Some(vec!["nf_conntrack_sip".to_string()]));
    /// ```
    pub fn collect_from(mut read: impl FnMut(&str) -> ReadOutcome) -> HostSnapshot {
        let mut snap = HostSnapshot::default();
        let text = |b: Vec<u8>| String::from_utf8_lossy(&b).trim().to_string();
        let why = |o: ReadOutcome| match o {
            ReadOutcome::Failed(e) => e,
            _ => "No such file or directory".to_string(),
        };
        match read(OSRELEASE) {
            ReadOutcome::Bytes(b) => snap.kernel_release = Some(text(b)),
            first => match read(PROC_VERSION) {
                ReadOutcome::Bytes(b) => snap.kernel_release = Some(text(b)),
                // Why the release file failed, unless it is simply missing.
                e => snap.unreadable.push((
                    OSRELEASE.to_string(),
                    why(if matches!(first, ReadOutcome::Failed(_)) {
                        first
                    } else {
                        e
                    }),
                )),
            },
        }
        match read(EXPECT_TABLE) {
            ReadOutcome::Bytes(b) => snap.expectations = Some(b),
            e => snap.unreadable.push((EXPECT_TABLE.to_string(), why(e))),
        }
        match read(AUTO_ASSIGN_SYSCTL) {
            ReadOutcome::Bytes(b) => snap.auto_assign_sysctl = Some(text(b)),
            ReadOutcome::Missing => {}
            e => snap
                .unreadable
                .push((AUTO_ASSIGN_SYSCTL.to_string(), why(e))),
        }
        if let ReadOutcome::Bytes(b) = read(RP_FILTER_ALL) {
            snap.rp_filter_all = Some(text(b));
        }
        let mut loaded: Option<Vec<String>> = match read(PROC_MODULES) {
            ReadOutcome::Bytes(b) => Some(
                String::from_utf8_lossy(&b)
                    .lines()
                    .filter_map(|l| l.split_whitespace().next())
                    .filter(|m| m.starts_with("nf_") || m.starts_with("nft_"))
                    .map(str::to_string)
                    .collect(),
            ),
            _ => None,
        };
        for s in &PARAMS {
            let path = param_path(s.module.name(), s.name);
            let present = match read(&path) {
                ReadOutcome::Bytes(b) => {
                    snap.params
                        .push((s.module.name().to_string(), s.name.to_string(), text(b)));
                    true
                }
                ReadOutcome::Missing => false,
                ReadOutcome::Failed(e) => {
                    snap.unreadable.push((path, e));
                    true
                }
            };
            if present
                && let Some(l) = loaded.as_mut()
                && !l.iter().any(|m| m == s.module.name())
            {
                l.push(s.module.name().to_string());
            }
        }
        snap.loaded_modules = loaded;
        snap
    }
}

impl HostSnapshot {
    /// A snapshot of a host known only by its kernel release and module options (for
    /// auditing a ruleset without reading the host): the options become `params`, the
    /// expectation table is empty.
    ///
    /// ```
    /// use netfilter_helpers_core::audit::{audit, AuditCode, HostSnapshot};
    /// use netfilter_helpers_core::options::ModuleOptions;
    /// let mut o = ModuleOptions::new();
    /// o.set_assignment("ftp.loose=1").unwrap();
    /// o.set_assignment("ftp.ports=21,2121").unwrap();
    /// let snap = HostSnapshot::from_options(Some("6.12.0"), &o);
    /// let r = audit(&snap, None);
    /// assert_eq!(r.options, o);
    /// assert_eq!(r.findings.iter().map(|f| f.code).collect::<Vec<_>>(), [AuditCode::DangerousOption]);
    /// ```
    pub fn from_options(kernel_release: Option<&str>, options: &ModuleOptions) -> HostSnapshot {
        HostSnapshot {
            kernel_release: kernel_release.map(str::to_string),
            params: options
                .explicit()
                .map(|(p, v)| {
                    let s = p.spec();
                    (
                        s.module.name().to_string(),
                        s.name.to_string(),
                        v.to_string(),
                    )
                })
                .collect(),
            expectations: Some(Vec::new()),
            ..HostSnapshot::default()
        }
    }
}

fn param_path(module: &str, param: &str) -> String {
    format!("sys/module/{module}/parameters/{param}")
}

/// Stable codes of audit findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum AuditCode {
    /// A module option enables a dangerous helper feature.
    DangerousOption,
    /// A `/sys` value the model cannot read.
    InvalidParameter,
    /// The kernel still assigns helpers automatically.
    AutoAssignment,
    /// The kernel version could not be determined.
    KernelUnknown,
    /// A file could not be read.
    Unreadable,
    /// A line of the expectation table could not be parsed.
    UnparsableLine,
    /// An expectation the kernel's helpers could not have created with these options.
    Nonconforming,
    /// An expectation the site policy does not allow.
    PolicyViolation,
    /// A rule accepts RELATED connections without helper and without address restriction.
    RelatedAcceptBlanket,
    /// A rule accepts RELATED connections of any helper (addresses restricted).
    RelatedAcceptNoHelper,
    /// A rule accepts RELATED connections of a helper from and to any address.
    RelatedAcceptNoAddress,
    /// A helper is assigned without address or port restriction.
    HelperUnrestricted,
    /// A helper is assigned for a family or protocol the kernel does not register it for,
    /// or the assignment names no known helper.
    HelperUnsupported,
    /// A rule names a helper whose module or `ports=` registration is not loaded.
    HelperNotLoaded,
    /// `ports=` registers a helper on ports no rule assigns it to.
    PortsMismatch,
    /// A dangerous module option is in force and rules assign that helper.
    DangerousOptionInUse,
    /// An interface with addresses has neither rp_filter nor anti-spoofing rules.
    NoAntispoofing,
    /// A rule the readers could not decode (iptables-nft `xt` expressions).
    OpaqueRule,
    /// A ruleset item the readers kept opaque.
    OpaqueItem,
    /// A rule the site renders is not loaded.
    DriftMissing,
    /// A rule is loaded in the site's table that the site does not render.
    DriftExtra,
}

impl AuditCode {
    /// The stable code text.
    ///
    /// ```
    /// use netfilter_helpers_core::audit::AuditCode;
    /// assert_eq!(AuditCode::AutoAssignment.as_str(), "auto-assignment");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            AuditCode::DangerousOption => "dangerous-option",
            AuditCode::InvalidParameter => "invalid-parameter",
            AuditCode::AutoAssignment => "auto-assignment",
            AuditCode::KernelUnknown => "kernel-unknown",
            AuditCode::Unreadable => "unreadable",
            AuditCode::UnparsableLine => "unparsable-line",
            AuditCode::Nonconforming => "nonconforming",
            AuditCode::PolicyViolation => "policy-violation",
            AuditCode::RelatedAcceptBlanket => "related-accept-blanket",
            AuditCode::RelatedAcceptNoHelper => "related-accept-no-helper",
            AuditCode::RelatedAcceptNoAddress => "related-accept-no-address",
            AuditCode::HelperUnrestricted => "helper-unrestricted",
            AuditCode::HelperUnsupported => "helper-unsupported",
            AuditCode::HelperNotLoaded => "helper-not-loaded",
            AuditCode::PortsMismatch => "ports-mismatch",
            AuditCode::DangerousOptionInUse => "dangerous-option-in-use",
            AuditCode::NoAntispoofing => "no-antispoofing",
            AuditCode::OpaqueRule => "opaque-rule",
            AuditCode::OpaqueItem => "opaque-item",
            AuditCode::DriftMissing => "drift-missing",
            AuditCode::DriftExtra => "drift-extra",
        }
    }
}

impl fmt::Display for AuditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One audit finding.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AuditFinding {
    /// The stable code.
    pub code: AuditCode,
    /// How serious it is.
    pub severity: Severity,
    /// What it is about (`nf_conntrack_ftp.loose`, `line 3`, a path).
    pub subject: String,
    /// What was found.
    pub message: String,
    /// The rule it is about, for ruleset findings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleRef>,
}

/// A rule a finding is about: where it is and its text (control characters escaped).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RuleRef {
    /// Where the rule is.
    pub location: Location,
    /// Its text.
    pub text: String,
}

impl fmt::Display for AuditFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} [{}] {}: {}",
            self.severity, self.code, self.subject, self.message
        )?;
        if let Some(r) = &self.rule {
            write!(f, "\n    rule: {}", r.text)?;
        }
        Ok(())
    }
}

/// What the ruleset audit read: counts per origin.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize)]
pub struct RulesetSummary {
    /// Chains read.
    pub chains: usize,
    /// Base chains (attached to a hook).
    pub base_chains: usize,
    /// Rules read.
    pub rules: usize,
    /// nft `ct helper` objects.
    pub helper_objects: usize,
}

/// The verdict on one line of the expectation table.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct LineVerdict {
    /// 1-based line number.
    pub line: usize,
    /// Conformance to the model.
    pub verdict: Verdict,
    /// Policy findings (empty without a policy).
    pub policy: Vec<Finding>,
}

/// The result of an audit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct AuditReport {
    /// The kernel version, when known.
    pub kernel: Option<KernelVersion>,
    /// The module options in force.
    pub options: ModuleOptions,
    /// Every finding about the host, its options and its expectations.
    pub findings: Vec<AuditFinding>,
    /// One verdict per expectation.
    pub expectations: Vec<LineVerdict>,
    /// What the ruleset audit read, when a ruleset was audited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ruleset: Option<RulesetSummary>,
}

impl AuditReport {
    /// Whether anything worse than info was found.
    ///
    /// ```
    /// use netfilter_helpers_core::audit::{audit, HostSnapshot};
    /// let snap = HostSnapshot { kernel_release: Some("6.12.0".into()), expectations: Some(Vec::new()), ..Default::default() };
    /// assert!(!audit(&snap, None).has_problems());
    /// ```
    pub fn has_problems(&self) -> bool {
        self.findings
            .iter()
            .any(|f| f.severity >= Severity::Warning)
    }
}

/// Audits a snapshot, with an optional site policy.
pub fn audit(snap: &HostSnapshot, policy: Option<&SitePolicy>) -> AuditReport {
    audit_with_ruleset(snap, policy, None)
}

/// Audits a snapshot and, when given, the ruleset loaded on the host (see
/// [`crate::ruleset`]): helper hazards of the rules, judged with the module options, loaded
/// modules, interfaces and kernel of the snapshot.
///
/// ```
/// use netfilter_helpers_core::audit::{audit_with_ruleset, AuditCode, HostSnapshot};
/// use netfilter_helpers_core::ruleset::iptables_save;
///
/// let rs = iptables_save::read("*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\nCOMMIT\n", None);
/// let snap = HostSnapshot { kernel_release: Some("6.12.0".into()), expectations: Some(Vec::new()), ..Default::default() };
/// let report = audit_with_ruleset(&snap, None, Some(&rs));
/// let f = &report.findings[0];
/// assert_eq!(f.code, AuditCode::RelatedAcceptBlanket);
/// assert!(f.rule.as_ref().unwrap().text.contains("RELATED,ESTABLISHED"));
/// assert_eq!(report.ruleset.unwrap().rules, 1);
/// ```
pub fn audit_with_ruleset(
    snap: &HostSnapshot,
    policy: Option<&SitePolicy>,
    ruleset: Option<&Ruleset>,
) -> AuditReport {
    let mut findings = Vec::new();
    let mut push = |code, severity, subject: String, message: String| {
        findings.push(AuditFinding {
            code,
            severity,
            subject: escape(&subject),
            message: escape(&message),
            rule: None,
        })
    };
    for (path, why) in &snap.unreadable {
        push(
            AuditCode::Unreadable,
            if path == EXPECT_TABLE || path.starts_with("sys/module/") {
                Severity::Warning
            } else {
                Severity::Info
            },
            path.clone(),
            if path.starts_with("sys/module/") {
                format!(
                    "cannot read: {why}; the option in force is unknown (module parameters are 0600 on some kernels: audit as root)"
                )
            } else {
                format!("cannot read: {why}")
            },
        );
    }
    let kernel = snap
        .kernel_release
        .as_deref()
        .and_then(|r| KernelVersion::from_proc_version(r).ok());
    if kernel.is_none() {
        push(
            AuditCode::KernelUnknown,
            Severity::Warning,
            OSRELEASE.to_string(),
            format!(
                "kernel version unknown ({}): automatic helper assignment not judged",
                snap.kernel_release.as_deref().unwrap_or("not readable")
            ),
        );
    }
    let mut options = ModuleOptions::new();
    for (m, p, raw) in &snap.params {
        if let Err(e) = options.set_sysfs(m, p, raw) {
            push(
                AuditCode::InvalidParameter,
                Severity::Warning,
                format!("{m}.{p}"),
                e.to_string(),
            );
        }
    }
    for (param, why) in options.dangerous() {
        push(
            AuditCode::DangerousOption,
            Severity::Warning,
            param.to_string(),
            format!(
                "{}={} is dangerous: {why}",
                param.spec().name,
                options.get(param)
            ),
        );
    }
    if let Some(k) = kernel {
        let sysctl_on = snap.auto_assign_sysctl.as_deref().map(|v| v.trim() != "0");
        match (k.capabilities().auto_assignment, sysctl_on) {
            (AutoAssignment::Removed, _) => {}
            (AutoAssignment::Always, _) => push(
                AuditCode::AutoAssignment,
                Severity::Error,
                k.to_string(),
                "kernel before 3.5: every loaded helper attaches to its ports automatically; load helpers with ports=0 and assign them by rule, or upgrade".into(),
            ),
            (_, Some(true)) => push(
                AuditCode::AutoAssignment,
                Severity::Error,
                "net.netfilter.nf_conntrack_helper".into(),
                format!("automatic helper assignment is on (kernel {k}): set net.netfilter.nf_conntrack_helper=0 and assign helpers with CT rules"),
            ),
            (AutoAssignment::KnobDefaultOn, None) => push(
                AuditCode::AutoAssignment,
                Severity::Warning,
                k.to_string(),
                "automatic helper assignment defaults to on before 4.7 and its sysctl could not be read".into(),
            ),
            _ => {}
        }
    }
    let mut expectations = Vec::new();
    if let Some(table) = &snap.expectations {
        // The one judging pipeline, line by line in table order.
        let judge = Judge::new(&options, policy.cloned());
        judge.judge_buffer(table, 1, Detail::Full, |r| {
            let place = format!("{EXPECT_TABLE} line {}", r.line);
            match r.outcome {
                Err(e) => push(
                    AuditCode::UnparsableLine,
                    Severity::Warning,
                    place,
                    e.to_string(),
                ),
                Ok((_, j)) => {
                    let j = j.unwrap_or_default();
                    let serious = |f: &&Finding| f.severity > Severity::Info;
                    for f in j.verdict.findings.iter().filter(serious) {
                        push(
                            AuditCode::Nonconforming,
                            Severity::Error,
                            place.clone(),
                            format!("{}: {}", f.code, f.message),
                        );
                    }
                    for f in j.policy.iter().filter(serious) {
                        push(
                            AuditCode::PolicyViolation,
                            Severity::Error,
                            place.clone(),
                            format!("{}: {}", f.code, f.message),
                        );
                    }
                    expectations.push(LineVerdict {
                        line: r.line,
                        verdict: j.verdict,
                        policy: j.policy,
                    });
                }
            }
        });
    }
    let mut summary = None;
    if let Some(rs) = ruleset {
        let auto_assign = findings.iter().any(|f| f.code == AuditCode::AutoAssignment);
        let mut facts = hazards::Facts::new(&options);
        facts.loaded_modules = snap.loaded_modules.as_deref();
        facts.auto_assign = auto_assign;
        facts.interfaces = &snap.interfaces;
        facts.rp_filter_all = snap.rp_filter_all.as_deref();
        findings.extend(hazards::hazards(rs, &facts));
        summary = Some(RulesetSummary {
            chains: rs.chains.len(),
            base_chains: rs.chains.iter().filter(|c| c.hook.is_some()).count(),
            rules: rs.rule_count(),
            helper_objects: rs.helper_objects.len(),
        });
    }
    AuditReport {
        kernel,
        options,
        findings,
        expectations,
        ruleset: summary,
    }
}

/// Audits like [`audit_with_ruleset`] and, when `site` is given (the rules synthesised from
/// a site, [`crate::synth::synthesize`]), adds the site's drift against the loaded ruleset
/// ([`drift::against_rules`]; against an empty one when no ruleset was read): the audit
/// `nfh audit --site`, `nfh_audit_host` and Python's `audit_host(site=...)` run.
///
/// ```
/// use netfilter_helpers_core::audit::{audit_with_site, AuditCode, HostSnapshot};
/// use netfilter_helpers_core::{site::Site, synth::synthesize};
/// let site = Site::from_toml("[[interfaces]]\nname = \"eth0\"\ndefault_route = true\n").unwrap().validate().unwrap();
/// let snap = HostSnapshot { kernel_release: Some("6.12.0".into()), expectations: Some(Vec::new()), ..Default::default() };
/// let r = audit_with_site(&snap, None, None, Some(&synthesize(&site))).unwrap();
/// assert!(r.findings.iter().all(|f| f.code == AuditCode::DriftMissing) && r.has_problems());
/// assert_eq!(audit_with_site(&snap, None, None, None).unwrap().findings, []);
/// ```
///
/// # Errors
/// When the site's rules cannot be rendered for the backend they are compared in.
pub fn audit_with_site(
    snap: &HostSnapshot,
    policy: Option<&SitePolicy>,
    ruleset: Option<&Ruleset>,
    site: Option<&crate::ir::Ruleset>,
) -> Result<AuditReport, drift::SiteDriftError> {
    let mut report = audit_with_ruleset(snap, policy, ruleset);
    if let Some(site) = site {
        let empty = Ruleset::default();
        let loaded = ruleset.unwrap_or(&empty);
        report.findings.extend(drift::against_rules(site, loaded)?);
    }
    Ok(report)
}

crate::spelling::spelling! {
    AuditCode {
        DangerousOption => "dangerous-option",
        InvalidParameter => "invalid-parameter",
        AutoAssignment => "auto-assignment",
        KernelUnknown => "kernel-unknown",
        Unreadable => "unreadable",
        UnparsableLine => "unparsable-line",
        Nonconforming => "nonconforming",
        PolicyViolation => "policy-violation",
        RelatedAcceptBlanket => "related-accept-blanket",
        RelatedAcceptNoHelper => "related-accept-no-helper",
        RelatedAcceptNoAddress => "related-accept-no-address",
        HelperUnrestricted => "helper-unrestricted",
        HelperUnsupported => "helper-unsupported",
        HelperNotLoaded => "helper-not-loaded",
        PortsMismatch => "ports-mismatch",
        DangerousOptionInUse => "dangerous-option-in-use",
        NoAntispoofing => "no-antispoofing",
        OpaqueRule => "opaque-rule",
        OpaqueItem => "opaque-item",
        DriftMissing => "drift-missing",
        DriftExtra => "drift-extra",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(files: &[(&str, &str)]) -> HostSnapshot {
        HostSnapshot::collect(|p| {
            files
                .iter()
                .find(|(f, _)| *f == p)
                .map(|(_, c)| c.as_bytes().to_vec())
                .ok_or_else(|| "No such file or directory".to_string())
        })
    }

    #[test]
    fn why_the_release_file_failed_is_kept() {
        let failed = |version: ReadOutcome| {
            HostSnapshot::collect_from(|p| match p {
                OSRELEASE => ReadOutcome::Failed("larger than 4 bytes: refused".into()),
                PROC_VERSION => version.clone(),
                _ => ReadOutcome::Missing,
            })
        };
        let s = failed(ReadOutcome::Missing);
        assert_eq!(s.kernel_release, None);
        assert!(
            s.unreadable
                .contains(&(OSRELEASE.to_string(), "larger than 4 bytes: refused".into())),
            "{:?}",
            s.unreadable
        );
        // /proc/version stands in when it can be read.
        let s = failed(ReadOutcome::Bytes(b"Linux version 6.12.0 (x)".to_vec()));
        assert!(s.kernel_release.is_some_and(|r| r.contains("6.12.0")));
        assert!(!s.unreadable.iter().any(|(p, _)| p == OSRELEASE));
    }

    #[test]
    fn old_kernel_with_auto_assignment() {
        let s = snap(&[
            (OSRELEASE, "4.4.0-210-generic\n"),
            (AUTO_ASSIGN_SYSCTL, "1\n"),
            (EXPECT_TABLE, ""),
        ]);
        let r = audit(&s, None);
        assert_eq!(r.findings.len(), 1, "{:?}", r.findings);
        assert_eq!(r.findings[0].code, AuditCode::AutoAssignment);
        assert_eq!(r.findings[0].severity, Severity::Error);
        let s = snap(&[
            (OSRELEASE, "4.9.0\n"),
            (AUTO_ASSIGN_SYSCTL, "0\n"),
            (EXPECT_TABLE, ""),
        ]);
        assert!(!audit(&s, None).has_problems());
    }

    #[test]
    fn bad_values_and_lines_are_reported() {
        let s = snap(&[
            (OSRELEASE, "6.12.0\n"),
            (
                "sys/module/nf_conntrack_irc/parameters/max_dcc_channels",
                "0\n",
            ),
            (
                "sys/module/nf_conntrack_sip/parameters/sip_direct_media",
                "0\n",
            ),
            (
                EXPECT_TABLE,
                "garbage\n300 l3proto = 2 proto=6 src=0.0.0.0 dst=10.0.0.2 sport=0 dport=5000 irc\n",
            ),
        ]);
        let r = audit(&s, None);
        let codes: Vec<_> = r.findings.iter().map(|f| f.code).collect();
        assert_eq!(
            codes,
            [
                AuditCode::InvalidParameter,
                AuditCode::DangerousOption,
                AuditCode::UnparsableLine
            ]
        );
        assert_eq!(r.expectations.len(), 1);
        assert!(r.expectations[0].verdict.conforms());
    }

    #[test]
    fn missing_table_and_kernel() {
        let r = audit(&snap(&[]), None);
        let codes: Vec<_> = r.findings.iter().map(|f| f.code).collect();
        assert_eq!(
            codes,
            [
                AuditCode::Unreadable,
                AuditCode::Unreadable,
                AuditCode::KernelUnknown
            ]
        );
        assert!(r.has_problems());
    }
}
