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
    /// normal and not listed).
    pub unreadable: Vec<(String, String)>,
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
        ];
        for s in &PARAMS {
            p.push(param_path(s.module.name(), s.name));
        }
        p
    }

    /// Builds a snapshot by asking `read` for each path of [`HostSnapshot::paths`].
    /// `read` returns the file's bytes or a description of why it could not be read.
    pub fn collect(mut read: impl FnMut(&str) -> Result<Vec<u8>, String>) -> HostSnapshot {
        let mut snap = HostSnapshot::default();
        let text = |b: Vec<u8>| String::from_utf8_lossy(&b).trim().to_string();
        match read(OSRELEASE) {
            Ok(b) => snap.kernel_release = Some(text(b)),
            Err(_) => match read(PROC_VERSION) {
                Ok(b) => snap.kernel_release = Some(text(b)),
                Err(e) => snap.unreadable.push((OSRELEASE.to_string(), e)),
            },
        }
        match read(EXPECT_TABLE) {
            Ok(b) => snap.expectations = Some(b),
            Err(e) => snap.unreadable.push((EXPECT_TABLE.to_string(), e)),
        }
        if let Ok(b) = read(AUTO_ASSIGN_SYSCTL) {
            snap.auto_assign_sysctl = Some(text(b));
        }
        for s in &PARAMS {
            if let Ok(b) = read(&param_path(s.module.name(), s.name)) {
                snap.params
                    .push((s.module.name().to_string(), s.name.to_string(), text(b)));
            }
        }
        snap
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
}

impl fmt::Display for AuditFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} [{}] {}: {}",
            self.severity, self.code, self.subject, self.message
        )
    }
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
    let mut findings = Vec::new();
    let mut push = |code, severity, subject: String, message: String| {
        findings.push(AuditFinding {
            code,
            severity,
            subject,
            message,
        })
    };
    for (path, why) in &snap.unreadable {
        push(
            AuditCode::Unreadable,
            if path == EXPECT_TABLE {
                Severity::Warning
            } else {
                Severity::Info
            },
            path.clone(),
            format!("cannot read: {why}"),
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
    AuditReport {
        kernel,
        options,
        findings,
        expectations,
    }
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
