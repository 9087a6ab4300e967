//! Host audit: `HostSnapshot` (read at the binding's edge by `netfilter-helpers-host`, the
//! hardened reader `nfh audit` and the C API use), `AuditFinding`, `AuditReport`, `audit()`
//! and `audit_host()`.

use std::path::PathBuf;

use netfilter_helpers_core::audit::{
    AuditFinding, AuditReport, HostSnapshot, Interface, LineVerdict, audit_with_site,
};
use netfilter_helpers_core::judge::Judgement;
use netfilter_helpers_core::ruleset::read_texts;
use netfilter_helpers_core::synth::synthesize;
use netfilter_helpers_host::{DEFAULT_MAX_FILE_BYTES, HostError, HostOptions, HostRead, read_host};
use pyo3::exceptions::{PyFileNotFoundError, PyNotADirectoryError, PyValueError};
use pyo3::prelude::*;

use crate::conform::{PolicyArg, PyVerdict};
use crate::document::from_json;
use crate::enums::{CoreEnum, PyAuditCode, PySeverity, core_repr, enum_repr};
use crate::error::Result;
use crate::kernel::{KernelArg, PyKernelVersion};
use crate::options::{OptionsArg, PyModuleOptions};
use crate::repr::{Repr, list_repr, opt_repr, str_repr};
use crate::site::PySite;
use crate::util::{ListArg, TextArg, guard};

/// What was read from a host: kernel release, module parameters, the automatic-assignment
/// sysctl, the expectation table, and what could not be read.
#[pyclass(frozen, eq, hash, module = "netfilter_helpers", name = "HostSnapshot")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PyHostSnapshot(pub(crate) HostSnapshot);

/// Reads a host with the shared hardened reader; a document that is not what it claims to
/// be (`ip-addr.json`, `nft-ruleset.json`) raises `ValueError`.
fn read(options: &HostOptions) -> Result<HostRead> {
    read_host(options).map_err(|e| match e {
        HostError::NotADirectory { .. } => PyNotADirectoryError::new_err(e.to_string()).into(),
        e => PyValueError::new_err(e.to_string()).into(),
    })
}

/// The snapshot of a copy of a host under `root`: files only, interfaces included, no ruleset.
fn read_root(root: &std::path::Path, max_file_bytes: u64) -> Result<HostSnapshot> {
    let mut options = HostOptions::under(root);
    options.read_rulesets = false;
    options.max_file_bytes = check_limit(max_file_bytes)?;
    Ok(read(&options)?.snapshot)
}

/// A per-file size limit: at least one byte.
fn check_limit(max_file_bytes: u64) -> PyResult<u64> {
    if max_file_bytes == 0 {
        return Err(PyValueError::new_err(
            "max_file_bytes must be at least 1 (the default is 268435456, 256 MiB)",
        ));
    }
    Ok(max_file_bytes)
}

fn check_root(root: &std::path::Path) -> PyResult<()> {
    if !root.exists() {
        return Err(PyFileNotFoundError::new_err(format!(
            "{}: no such directory",
            root.display()
        )));
    }
    if !root.is_dir() {
        return Err(PyNotADirectoryError::new_err(format!(
            "{}: not a directory",
            root.display()
        )));
    }
    Ok(())
}

#[pymethods]
impl PyHostSnapshot {
    #[new]
    #[pyo3(signature = (*, kernel_release=None, params=ListArg::default(), auto_assign_sysctl=None, expectations=None, unreadable=ListArg::default(), loaded_modules=None, interfaces=ListArg::default(), rp_filter_all=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        kernel_release: Option<String>,
        params: ListArg<(String, String, String)>,
        auto_assign_sysctl: Option<String>,
        expectations: Option<TextArg>,
        unreadable: ListArg<(String, String)>,
        loaded_modules: Option<ListArg<String>>,
        interfaces: ListArg<(String, ListArg<String>, Option<String>)>,
        rp_filter_all: Option<String>,
    ) -> Self {
        PyHostSnapshot(HostSnapshot {
            kernel_release,
            params: params.0,
            auto_assign_sysctl,
            expectations: expectations.map(|t| t.0.into_bytes()),
            unreadable: unreadable.0,
            loaded_modules: loaded_modules.map(|l| l.0),
            interfaces: interfaces
                .0
                .into_iter()
                .map(|(name, addresses, rp_filter)| Interface {
                    name,
                    addresses: addresses.0,
                    rp_filter,
                })
                .collect(),
            rp_filter_all,
        })
    }

    /// Reads a snapshot from a root directory (`/`, or a copy of a host's `proc` and `sys`
    /// trees), without holding the GIL, with the reader `nfh audit` uses: no symlink out of
    /// the root, FIFOs and special files refused without blocking, 256 MiB per file (each
    /// refusal listed in `unreadable`). Interfaces come from `ip-addr.json` at the top of the
    /// root and `proc/sys/net/ipv4/conf/*`, with their `rp_filter`. Raises ValueError when
    /// `ip-addr.json` is not `ip -j addr show` output. `max_file_bytes` changes the per-file
    /// limit.
    #[staticmethod]
    #[pyo3(
        signature = (root=PathBuf::from("/"), *, max_file_bytes=DEFAULT_MAX_FILE_BYTES),
        text_signature = "(root='/', *, max_file_bytes=268435456)"
    )]
    fn read(py: Python<'_>, root: PathBuf, max_file_bytes: u64) -> Result<Self> {
        check_root(&root)?;
        check_limit(max_file_bytes)?;
        Ok(PyHostSnapshot(
            py.detach(|| guard(|| read_root(&root, max_file_bytes)))?,
        ))
    }

    /// Every path (relative to the root) a snapshot reads.
    #[staticmethod]
    fn paths() -> Vec<String> {
        HostSnapshot::paths()
    }

    /// The kernel release (`6.1.0-18-amd64`) or `/proc/version` text.
    #[getter]
    fn kernel_release(&self) -> Option<&str> {
        self.0.kernel_release.as_deref()
    }

    /// Module parameters found: (module, parameter, raw value).
    #[getter]
    fn params(&self) -> Vec<(String, String, String)> {
        self.0.params.clone()
    }

    /// The value of `net.netfilter.nf_conntrack_helper`, where it exists.
    #[getter]
    fn auto_assign_sysctl(&self) -> Option<&str> {
        self.0.auto_assign_sysctl.as_deref()
    }

    /// The contents of `/proc/net/nf_conntrack_expect` (text), when readable.
    #[getter]
    fn expectations(&self) -> Option<String> {
        self.0
            .expectations
            .as_ref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }

    /// Paths that could not be read, with why.
    #[getter]
    fn unreadable(&self) -> Vec<(String, String)> {
        self.0.unreadable.clone()
    }

    /// Loaded modules (`/proc/modules` and modules whose parameters exist), when known.
    #[getter]
    fn loaded_modules(&self) -> Option<Vec<String>> {
        self.0.loaded_modules.clone()
    }

    /// Interfaces: (name, addresses, rp_filter).
    #[getter]
    fn interfaces(&self) -> Vec<(String, Vec<String>, Option<String>)> {
        self.0
            .interfaces
            .iter()
            .map(|i| (i.name.clone(), i.addresses.clone(), i.rp_filter.clone()))
            .collect()
    }

    /// `net.ipv4.conf.all.rp_filter`, when read.
    #[getter]
    fn rp_filter_all(&self) -> Option<&str> {
        self.0.rp_filter_all.as_deref()
    }

    fn __repr__(&self) -> String {
        let s = &self.0;
        let pair = |(a, b): &(String, String)| format!("({}, {})", str_repr(a), str_repr(b));
        Repr::new("HostSnapshot")
            .kw(
                "kernel_release",
                opt_repr(s.kernel_release.as_deref(), str_repr),
            )
            .kw(
                "params",
                list_repr(&s.params, |(m, p, v)| {
                    format!("({}, {}, {})", str_repr(m), str_repr(p), str_repr(v))
                }),
            )
            .kw(
                "auto_assign_sysctl",
                opt_repr(s.auto_assign_sysctl.as_deref(), str_repr),
            )
            .kw(
                "expectations",
                opt_repr(s.expectations.as_deref(), |b| {
                    str_repr(&String::from_utf8_lossy(b))
                }),
            )
            .kw("unreadable", list_repr(&s.unreadable, pair))
            .kw(
                "loaded_modules",
                opt_repr(s.loaded_modules.as_deref(), |l| {
                    list_repr(l, |m| str_repr(m))
                }),
            )
            .kw(
                "interfaces",
                list_repr(&s.interfaces, |i| {
                    format!(
                        "({}, {}, {})",
                        str_repr(&i.name),
                        list_repr(&i.addresses, |a| str_repr(a)),
                        opt_repr(i.rp_filter.as_deref(), str_repr)
                    )
                }),
            )
            .kw(
                "rp_filter_all",
                opt_repr(s.rp_filter_all.as_deref(), str_repr),
            )
            .finish()
    }
}

/// One audit finding.
#[pyclass(frozen, eq, hash, module = "netfilter_helpers", name = "AuditFinding")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PyAuditFinding(pub(crate) AuditFinding);

fn audit_finding_repr(f: &AuditFinding) -> String {
    Repr::new("AuditFinding")
        .arg(core_repr::<PyAuditCode>(f.code))
        .arg(enum_repr(PySeverity::from(f.severity)))
        .arg(str_repr(&f.subject))
        .arg(str_repr(&f.message))
        .finish()
}

#[pymethods]
impl PyAuditFinding {
    #[new]
    fn new(code: PyAuditCode, severity: PySeverity, subject: String, message: String) -> Self {
        PyAuditFinding(AuditFinding {
            code: code.into(),
            severity: severity.into(),
            subject,
            message,
            rule: None,
        })
    }

    /// The stable code.
    #[getter]
    fn code(&self) -> Result<PyAuditCode> {
        PyAuditCode::from_core(self.0.code)
    }

    /// How serious it is.
    #[getter]
    fn severity(&self) -> PySeverity {
        self.0.severity.into()
    }

    /// What it is about (`nf_conntrack_ftp.loose`, `line 3`, a path).
    #[getter]
    fn subject(&self) -> &str {
        &self.0.subject
    }

    /// What was found.
    #[getter]
    fn message(&self) -> &str {
        &self.0.message
    }

    /// The text of the rule a ruleset finding is about (control characters escaped).
    #[getter]
    fn rule_text(&self) -> Option<&str> {
        self.0.rule.as_ref().map(|r| r.text.as_str())
    }

    /// Where that rule is (`iptables-nft ip filter chain FORWARD rule 3 (line 12)`).
    #[getter]
    fn rule_location(&self) -> Option<String> {
        self.0.rule.as_ref().map(|r| r.location.to_string())
    }

    fn __str__(&self) -> String {
        self.0.to_string()
    }

    fn __repr__(&self) -> String {
        audit_finding_repr(&self.0)
    }
}

/// The result of an audit: kernel, options in force, findings, and one verdict per
/// expectation of the table (with its line number and policy findings).
#[pyclass(frozen, eq, hash, module = "netfilter_helpers", name = "AuditReport")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PyAuditReport(pub(crate) AuditReport);

#[pymethods]
impl PyAuditReport {
    #[new]
    #[pyo3(signature = (*, kernel=None, options=None, findings=ListArg::default(), expectations=ListArg::default()))]
    fn new(
        kernel: Option<KernelArg>,
        options: Option<OptionsArg>,
        findings: ListArg<PyRef<'_, PyAuditFinding>>,
        expectations: ListArg<PyRef<'_, PyVerdict>>,
    ) -> Self {
        PyAuditReport(AuditReport {
            kernel: kernel.map(|k| k.0),
            options: options.map(|o| o.0).unwrap_or_default(),
            findings: findings.0.iter().map(|f| f.0.clone()).collect(),
            expectations: expectations
                .0
                .iter()
                .map(|v| LineVerdict {
                    line: v.line.unwrap_or(0),
                    verdict: v.judgement.verdict.clone(),
                    policy: v.judgement.policy.clone(),
                })
                .collect(),
            ruleset: None,
        })
    }

    /// The kernel version, when known.
    #[getter]
    fn kernel(&self) -> Option<PyKernelVersion> {
        self.0.kernel.map(PyKernelVersion)
    }

    /// The module options in force.
    #[getter]
    fn options(&self) -> PyModuleOptions {
        PyModuleOptions(self.0.options.clone())
    }

    /// Every finding about the host, its options and its expectations.
    #[getter]
    fn findings(&self) -> Vec<PyAuditFinding> {
        self.0
            .findings
            .iter()
            .cloned()
            .map(PyAuditFinding)
            .collect()
    }

    /// One verdict per expectation, with its line number.
    #[getter]
    fn expectations(&self) -> Vec<PyVerdict> {
        self.0
            .expectations
            .iter()
            .map(|l| {
                PyVerdict::of(
                    Some(l.line),
                    Judgement::new(l.verdict.clone(), l.policy.clone()),
                )
            })
            .collect()
    }

    /// Whether anything worse than info was found.
    fn has_problems(&self) -> bool {
        self.0.has_problems()
    }

    /// The report as a dict (the JSON document `nfh audit --json` prints).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let v = serde_json::to_value(&self.0).map_err(|e| PyValueError::new_err(e.to_string()))?;
        from_json(py, &v)
    }

    fn __repr__(&self) -> String {
        let r = &self.0;
        let verdicts: Vec<PyVerdict> = self.expectations();
        Repr::new("AuditReport")
            .kw(
                "kernel",
                opt_repr(r.kernel, |k| {
                    format!("KernelVersion({}, {}, {})", k.major(), k.minor(), k.patch())
                }),
            )
            .kw("options", PyModuleOptions::repr_of(&r.options))
            .kw("findings", list_repr(&r.findings, audit_finding_repr))
            .kw("expectations", list_repr(&verdicts, |v| v.repr()))
            .finish()
    }
}

/// What to audit: a root directory (`str` or `os.PathLike`) or a `HostSnapshot`.
pub(crate) enum RootArg {
    /// Files under this directory.
    Path(PathBuf),
    /// A snapshot already taken.
    Snapshot(HostSnapshot),
}

impl<'a, 'py> FromPyObject<'a, 'py> for RootArg {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(s) = obj.cast::<PyHostSnapshot>() {
            return Ok(RootArg::Snapshot(s.get().0.clone()));
        }
        Ok(RootArg::Path(obj.extract()?))
    }
}

/// Audits a host: reads its files under `root` (default `/`; without holding the GIL) or
/// takes a `HostSnapshot`, and judges options, kernel and expectation table, against a site
/// policy when one is given (a `SitePolicy`, TOML or JSON text, or a dict).
///
/// `ruleset` adds the ruleset audit (helper hazards of the rules): the text of
/// `nft -j list ruleset` and/or `iptables-save`/`ip6tables-save`, one text or a list of them
/// (the format of each is recognised); a text starting with `{` that is not an nft JSON
/// document raises `ValueError`.
///
/// `site` (a `Site`, or TOML or JSON text or a dict) adds its drift against the ruleset:
/// `drift-missing` for each rule the site renders that is not loaded, `drift-extra` for each
/// loaded rule of its table (nft) or its `PREFIX-*` chains (iptables) it does not render.
#[pyfunction(name = "audit")]
#[pyo3(
    signature = (root=RootArg::Path(PathBuf::from("/")), policy=None, ruleset=None, *, site=None, max_file_bytes=DEFAULT_MAX_FILE_BYTES),
    text_signature = "(root='/', policy=None, ruleset=None, *, site=None, max_file_bytes=268435456)"
)]
pub(crate) fn py_audit(
    py: Python<'_>,
    root: RootArg,
    policy: Option<PolicyArg>,
    ruleset: Option<RulesetArg>,
    site: Option<SiteArg>,
    max_file_bytes: u64,
) -> Result<PyAuditReport> {
    check_limit(max_file_bytes)?;
    let rules = match ruleset {
        None => None,
        Some(r) => Some(
            read_texts(r.0.iter().map(String::as_str))
                .map_err(|e| PyValueError::new_err(e.to_string()))?,
        ),
    };
    let snap = match root {
        RootArg::Snapshot(s) => s,
        RootArg::Path(path) => {
            check_root(&path)?;
            py.detach(|| guard(|| read_root(&path, max_file_bytes)))?
        }
    };
    let policy = policy.map(|p| p.0);
    Ok(PyAuditReport(py.detach(|| {
        guard(|| {
            let site = site.map(|s| synthesize(&s.0));
            Ok(audit_with_site(
                &snap,
                policy.as_ref(),
                rules.as_ref(),
                site.as_ref(),
            )?)
        })
    })?))
}

/// Audits a host as `nfh audit` does, with the same reader. `root` None (the default) is
/// the live host: `/` is read, `nft -j list ruleset`, `iptables-save`, `ip6tables-save` and
/// `ip -j addr show` are run, and the expectation table is dumped over ctnetlink (falling
/// back to `/proc` without CAP_NET_ADMIN: a finding says so). A `root` directory is a copy
/// of a host (`proc/`, `sys/`, and at its top `nft-ruleset.json`, `iptables-save.txt`,
/// `ip6tables-save.txt`, `ip-addr.json`): files only, no command is run. `read_rulesets`
/// False reads no ruleset; `max_file_bytes` is the limit of every file and command output
/// (256 MiB by default). `site` adds its drift against the rulesets read, `policy` judges
/// the expectations (as in `audit`). Runs without holding the GIL.
#[pyfunction(name = "audit_host")]
#[pyo3(
    signature = (root=None, *, site=None, policy=None, read_rulesets=true, max_file_bytes=DEFAULT_MAX_FILE_BYTES),
    text_signature = "(root=None, *, site=None, policy=None, read_rulesets=True, max_file_bytes=268435456)"
)]
pub(crate) fn py_audit_host(
    py: Python<'_>,
    root: Option<PathBuf>,
    site: Option<SiteArg>,
    policy: Option<PolicyArg>,
    read_rulesets: bool,
    max_file_bytes: u64,
) -> Result<PyAuditReport> {
    let mut options = match &root {
        None => HostOptions::live(),
        Some(r) => {
            check_root(r)?;
            HostOptions::under(r)
        }
    };
    options.read_rulesets = read_rulesets;
    options.max_file_bytes = check_limit(max_file_bytes)?;
    let policy = policy.map(|p| p.0);
    Ok(PyAuditReport(py.detach(|| {
        guard(|| {
            let host = read(&options)?;
            let site = site.map(|s| synthesize(&s.0));
            Ok(audit_with_site(
                &host.snapshot,
                policy.as_ref(),
                host.ruleset.as_ref(),
                site.as_ref(),
            )?)
        })
    })?))
}

/// A site for drift: a `Site`, or TOML or JSON text or a dict (validated).
pub(crate) struct SiteArg(netfilter_helpers_core::site::ValidSite);

impl<'a, 'py> FromPyObject<'a, 'py> for SiteArg {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        Ok(SiteArg(PySite::from_arg(&obj)?.valid))
    }
}

/// Ruleset texts: one `str`/`bytes` or an iterable of them.
pub(crate) struct RulesetArg(Vec<String>);

impl<'a, 'py> FromPyObject<'a, 'py> for RulesetArg {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(t) = obj.extract::<TextArg>() {
            return Ok(RulesetArg(vec![t.0]));
        }
        let l: ListArg<TextArg> = obj.extract()?;
        Ok(RulesetArg(l.0.into_iter().map(|t| t.0).collect()))
    }
}
