//! Conformance and policy: `Finding`, `Verdict`, `Validator` (with batch functions that run
//! without the GIL), `SitePolicy`, `HelperPolicy`.
//!
//! Judging is the core's: a `Validator` wraps a core `Judge` (options and policy), a `Verdict`
//! wraps a core `Judgement` (whose `conforms` is the one rule), and the batches hand the whole
//! buffer to the `Judge`, which splits it into lines and spreads it over threads.

use std::net::IpAddr;

use netfilter_helpers_core::catalogue::Helper;
use netfilter_helpers_core::conform::{Finding, Verdict, is_master_endpoint};
use netfilter_helpers_core::judge::{Detail, Judge, Judgement};
use netfilter_helpers_core::policy::{HelperPolicy, PolicyError, SitePolicy};
use netfilter_helpers_core::report::Problem;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};

use crate::catalogue::PyHelperName;
use crate::catalogue::{PyExpectClass, PyHelper};
use crate::document::{DocKind, Source, from_json};
use crate::enums::{
    CoreEnum, PyAttribute, PyCode, PyDefaultRule, PyExpectationKind, PySeverity, core_repr,
    enum_repr,
};
use crate::error::{Error, Result};
use crate::expect::{PyConnTuple, PyExpectation, PyParsedLine};
use crate::options::{OptionsArg, PyModuleOptions};
use crate::repr::{Repr, bool_repr, list_repr, str_repr};
use crate::util::{CidrArg, LineArg, Lines, ListArg, cidrs_out, guard, run_batch};

/// One finding about an expectation: a stable code, a severity, the attribute concerned and
/// a message naming values and the options that decide.
#[pyclass(frozen, eq, hash, module = "netfilter_helpers", name = "Finding")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PyFinding(pub(crate) Finding);

fn finding_repr(f: &Finding) -> String {
    let mut r = Repr::new("Finding")
        .arg(core_repr::<PyCode>(f.code))
        .arg(enum_repr(PySeverity::from(f.severity)))
        .arg(str_repr(&f.message));
    if let Some(a) = f.attribute {
        r = r.kw("attribute", enum_repr(PyAttribute::from(a)));
    }
    r.finish()
}

#[pymethods]
impl PyFinding {
    #[new]
    #[pyo3(signature = (code, severity, message, *, attribute=None))]
    fn new(
        code: PyCode,
        severity: PySeverity,
        message: String,
        attribute: Option<PyAttribute>,
    ) -> Self {
        PyFinding(Finding::new(
            code.into(),
            severity.into(),
            attribute.map(Into::into),
            message,
        ))
    }

    /// The stable code (`Code.DESTINATION_ADDRESS`, whose value is `destination-address`).
    #[getter]
    fn code(&self) -> Result<PyCode> {
        PyCode::from_core(self.0.code)
    }

    /// How serious it is.
    #[getter]
    fn severity(&self) -> PySeverity {
        self.0.severity.into()
    }

    /// The attribute concerned, if one.
    #[getter]
    fn attribute(&self) -> Option<PyAttribute> {
        self.0.attribute.map(Into::into)
    }

    /// What is wrong.
    #[getter]
    fn message(&self) -> &str {
        &self.0.message
    }

    fn __str__(&self) -> String {
        self.0.to_string()
    }

    fn __repr__(&self) -> String {
        finding_repr(&self.0)
    }
}

/// The verdict on one expectation: the helper and kind it matched (or came closest to), every
/// conformance finding, the policy findings (when a policy was given) and the line number
/// (for batches and audits).
#[pyclass(frozen, eq, hash, module = "netfilter_helpers", name = "Verdict")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PyVerdict {
    pub(crate) line: Option<usize>,
    pub(crate) judgement: Judgement,
}

#[pymethods]
impl PyVerdict {
    #[new]
    #[pyo3(signature = (*, helper=None, kind=None, findings=ListArg::default(), policy_findings=ListArg::default(), line=None))]
    fn new(
        helper: Option<PyRef<'_, PyHelperName>>,
        kind: Option<PyExpectationKind>,
        findings: ListArg<PyRef<'_, PyFinding>>,
        policy_findings: ListArg<PyRef<'_, PyFinding>>,
        line: Option<usize>,
    ) -> Self {
        PyVerdict {
            line,
            judgement: Judgement::new(
                Verdict {
                    helper: helper.map(|h| h.0),
                    kind: kind.map(Into::into),
                    findings: findings.0.iter().map(|f| f.0.clone()).collect(),
                },
                policy_findings.0.iter().map(|f| f.0.clone()).collect(),
            ),
        }
    }

    /// The 1-based line number, for batches and audits.
    #[getter]
    fn line(&self) -> Option<usize> {
        self.line
    }

    /// The helper, when the name resolved.
    #[getter]
    fn helper(&self) -> Option<PyHelperName> {
        self.judgement.verdict.helper.map(PyHelperName)
    }

    /// The kind of expectation it matched or came closest to.
    #[getter]
    fn kind(&self) -> Result<Option<PyExpectationKind>> {
        self.judgement
            .verdict
            .kind
            .map(PyExpectationKind::from_core)
            .transpose()
    }

    /// Every conformance finding (empty when it conforms fully).
    #[getter]
    fn findings(&self) -> Vec<PyFinding> {
        self.judgement
            .verdict
            .findings
            .iter()
            .cloned()
            .map(PyFinding)
            .collect()
    }

    /// The policy findings (empty without a policy, or when the policy allows it).
    #[getter]
    fn policy_findings(&self) -> Vec<PyFinding> {
        self.judgement
            .policy
            .iter()
            .cloned()
            .map(PyFinding)
            .collect()
    }

    /// Whether nothing worse than info was found, by the model and by the policy (the
    /// core's one rule, `Judgement::conforms`).
    #[getter]
    fn conforms(&self) -> bool {
        self.judgement.conforms()
    }

    /// The codes of every finding, conformance then policy.
    #[getter]
    fn codes(&self) -> Result<Vec<PyCode>> {
        self.judgement
            .findings()
            .map(|f| PyCode::from_core(f.code))
            .collect()
    }

    fn __repr__(&self) -> String {
        self.repr()
    }
}

impl PyVerdict {
    pub(crate) fn of(line: Option<usize>, judgement: Judgement) -> PyVerdict {
        PyVerdict { line, judgement }
    }

    pub(crate) fn repr(&self) -> String {
        let Judgement {
            verdict, policy, ..
        } = &self.judgement;
        let mut r = Repr::new("Verdict");
        if let Some(h) = verdict.helper {
            r = r.kw(
                "helper",
                format!("HelperName({})", str_repr(&h.to_string())),
            );
        }
        if let Some(k) = verdict.kind {
            r = r.kw("kind", core_repr::<PyExpectationKind>(k));
        }
        r = r.kw("findings", list_repr(&verdict.findings, finding_repr));
        if !policy.is_empty() {
            r = r.kw("policy_findings", list_repr(policy, finding_repr));
        }
        if let Some(l) = self.line {
            r = r.kw("line", l.to_string());
        }
        r.finish()
    }
}

/// A policy argument: a `SitePolicy`, TOML or JSON text, or a dict.
pub(crate) struct PolicyArg(pub(crate) SitePolicy);

impl<'a, 'py> FromPyObject<'a, 'py> for PolicyArg {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(p) = obj.cast::<PySitePolicy>() {
            return Ok(PolicyArg(p.get().0.clone()));
        }
        let source = Source::extract(&obj.to_owned(), DocKind::Policy, in_policy)?;
        Ok(PolicyArg(guard(|| policy_from_source(source))?))
    }
}

/// A value in a policy document: a `HelperPolicy` as its table, or one a site may hold.
fn in_policy(obj: &Bound<'_, PyAny>) -> Option<PyResult<serde_json::Value>> {
    if let Ok(p) = obj.cast::<PyHelperPolicy>() {
        return Some(
            serde_json::to_value(&p.get().0).map_err(|e| PyValueError::new_err(e.to_string())),
        );
    }
    crate::values::in_site(obj)
}

fn policy_from_source(source: Source) -> Result<SitePolicy> {
    match source {
        Source::Text(t) => Ok(SitePolicy::from_text(None, &t)?),
        Source::Value(v) => {
            let p: SitePolicy = serde_json::from_value(v).map_err(|e| PolicyError {
                syntax: true,
                problems: vec![Problem {
                    path: "policy".into(),
                    message: e.to_string(),
                }],
            })?;
            p.validate()?;
            Ok(p)
        }
    }
}

/// Checks expectations against the degree-of-freedom model under one set of module options,
/// and against a site policy when one is given: the core's `Judge`.
#[pyclass(frozen, eq, hash, module = "netfilter_helpers", name = "Validator")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PyValidator {
    judge: Judge,
}

impl PyValidator {
    /// The core judge (for the `Watch` binding).
    pub(crate) fn judge(&self) -> &Judge {
        &self.judge
    }
}

/// How a batch treats lines that do not parse.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OnError {
    Raise,
    Skip,
}

#[pymethods]
impl PyValidator {
    /// A validator for these module options (default: kernel defaults) and, optionally, a
    /// site policy (a `SitePolicy`, TOML or JSON text, or a dict).
    #[new]
    #[pyo3(signature = (options=None, *, policy=None))]
    fn new(options: Option<OptionsArg>, policy: Option<PolicyArg>) -> Result<Self> {
        let options = options.map(|o| o.0).unwrap_or_default();
        let policy = policy.map(|p| p.0);
        Ok(PyValidator {
            judge: guard(|| Ok(Judge::new(&options, policy)))?,
        })
    }

    /// The options this validator judges by.
    #[getter]
    fn options(&self) -> PyModuleOptions {
        PyModuleOptions(self.judge.validator().options().clone())
    }

    /// The site policy, if one was given.
    #[getter]
    fn policy(&self) -> Option<PySitePolicy> {
        self.judge.policy().cloned().map(PySitePolicy)
    }

    /// Checks one expectation (no timeout, conntrack semantics).
    fn check(&self, expectation: PyRef<'_, PyExpectation>) -> Result<PyVerdict> {
        guard(|| Ok(PyVerdict::of(None, self.judge.judge(&expectation.0))))
    }

    /// Checks one line (`str`, `bytes` or a `ParsedLine`); raises ParseError when it does
    /// not parse.
    fn check_line(&self, line: &Bound<'_, PyAny>) -> Result<PyVerdict> {
        if let Ok(p) = line.cast::<PyParsedLine>() {
            let p = p.get();
            return guard(|| Ok(PyVerdict::of(None, self.judge.judge_parsed(&p.0))));
        }
        let text: LineArg<'_> = line.extract()?;
        guard(|| {
            let (_, judgement) = self.judge.judge_line(text.as_bytes())?;
            Ok(PyVerdict::of(None, judgement))
        })
    }

    /// Checks many lines (one text, or an iterable of `str`/`bytes` lines) without holding
    /// the GIL; one verdict per expectation line, with its line number. Blank lines and the
    /// conntrack summary are skipped; lines that do not parse raise ParseError (listing every
    /// bad line) unless `errors="skip"`. Ctrl-C stops it.
    #[pyo3(signature = (lines, *, errors="raise"))]
    fn check_lines(
        &self,
        py: Python<'_>,
        lines: Lines<'_>,
        errors: &str,
    ) -> Result<Vec<PyVerdict>> {
        let on_error = match errors {
            "raise" => OnError::Raise,
            "skip" => OnError::Skip,
            other => {
                return Err(PyValueError::new_err(format!(
                    "errors must be \"raise\" or \"skip\", not {other:?}"
                ))
                .into());
            }
        };
        let buf = lines.as_bytes();
        let (verdicts, bad) = run_batch(py, |stop| {
            let mut verdicts = Vec::new();
            let mut bad = Vec::new();
            self.judge
                .judge_buffer_until(buf, 0, Detail::Full, stop, |r| match r.outcome {
                    Ok((_, j)) => {
                        verdicts.push(PyVerdict::of(Some(r.line), j.unwrap_or_default()));
                    }
                    Err(e) => bad.push(e),
                });
            (verdicts, bad)
        })?;
        if on_error == OnError::Raise
            && let Some(first) = bad.first()
        {
            return Err(Error::Parse(first.clone(), bad));
        }
        Ok(verdicts)
    }

    /// How many lines conform (to the model, and to the policy when one is given); lines
    /// that do not parse do not conform. Runs without the GIL, in parallel for large inputs;
    /// Ctrl-C stops it.
    fn count_conforming(&self, py: Python<'_>, lines: Lines<'_>) -> Result<usize> {
        let buf = lines.as_bytes();
        let counts = run_batch(py, |stop| self.judge.count_buffer_until(buf, 0, stop))?;
        // `None` only when stopped, and then `run_batch` has raised already.
        counts
            .map(|c| c.conforming)
            .ok_or_else(|| Error::Internal("count_conforming stopped without a reason".into()))
    }

    /// One bool per line (per item of an iterable; blank and unparsable lines are False).
    /// Runs without the GIL, in parallel for large inputs; Ctrl-C stops it.
    fn conforms_many(&self, py: Python<'_>, lines: Lines<'_>) -> Result<Vec<bool>> {
        let buf = lines.as_bytes();
        run_batch(py, |stop| {
            let mut flags = Vec::new();
            let finished = self
                .judge
                .judge_buffer_until(buf, 0, Detail::Findings, stop, |r| {
                    // Results come in line order; the lines the judge skips (blank, the
                    // conntrack summary) are False.
                    flags.resize(flags.len().max(r.line - 1), false);
                    flags.push(r.conforms);
                });
            // The lines after the last result (interrupted: never returned, so never counted).
            if let Some(lines) = finished {
                flags.resize(lines, false);
            }
            flags
        })
    }

    fn __repr__(&self) -> String {
        let mut r = Repr::new("Validator");
        let options = self.judge.validator().options();
        if options.explicit().next().is_some() {
            r = r.arg(PyModuleOptions::repr_of(options));
        }
        if let Some(p) = self.judge.policy() {
            r = r.kw("policy", policy_repr(p));
        }
        r.finish()
    }
}

/// The policy for one helper's RELATED flows.
#[pyclass(frozen, eq, hash, module = "netfilter_helpers", name = "HelperPolicy")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PyHelperPolicy(pub(crate) HelperPolicy);

#[pymethods]
impl PyHelperPolicy {
    /// Networks are `ipaddress` networks or their text; None allows any.
    #[new]
    #[pyo3(signature = (*, destinations=None, sources=None, min_port=None, allow_third_party=false, classes=None))]
    fn new(
        destinations: Option<ListArg<CidrArg>>,
        sources: Option<ListArg<CidrArg>>,
        min_port: Option<u16>,
        allow_third_party: bool,
        classes: Option<ListArg<PyExpectClass>>,
    ) -> Self {
        let mut p = HelperPolicy::default();
        p.destinations = destinations.map(|v| v.0.into_iter().map(|c| c.0).collect());
        p.sources = sources.map(|v| v.0.into_iter().map(|c| c.0).collect());
        p.min_port = min_port;
        p.allow_third_party = allow_third_party;
        p.classes = classes.map(|v| v.0.into_iter().map(Into::into).collect());
        PyHelperPolicy(p)
    }

    /// Networks the expected connection may go to (None: any).
    #[getter]
    fn destinations<'py>(&self, py: Python<'py>) -> PyResult<Option<Vec<Bound<'py, PyAny>>>> {
        self.0
            .destinations
            .as_deref()
            .map(|d| cidrs_out(py, d))
            .transpose()
    }

    /// Networks the expected connection may come from (None: any).
    #[getter]
    fn sources<'py>(&self, py: Python<'py>) -> PyResult<Option<Vec<Bound<'py, PyAny>>>> {
        self.0
            .sources
            .as_deref()
            .map(|d| cidrs_out(py, d))
            .transpose()
    }

    /// Lowest destination port allowed.
    #[getter]
    fn min_port(&self) -> Option<u16> {
        self.0.min_port
    }

    /// Whether the destination may be neither end of the master connection.
    #[getter]
    fn allow_third_party(&self) -> bool {
        self.0.allow_third_party
    }

    /// Expectation classes allowed (None: all).
    #[getter]
    fn classes(&self) -> Option<Vec<PyExpectClass>> {
        self.0
            .classes
            .as_ref()
            .map(|c| c.iter().map(|x| (*x).into()).collect())
    }

    fn __repr__(&self) -> String {
        let nets =
            |v: &Vec<netfilter_helpers_core::net::Cidr>| list_repr(v, |c| str_repr(&c.to_string()));
        let mut r = Repr::new("HelperPolicy");
        if let Some(d) = &self.0.destinations {
            r = r.kw("destinations", nets(d));
        }
        if let Some(s) = &self.0.sources {
            r = r.kw("sources", nets(s));
        }
        if let Some(m) = self.0.min_port {
            r = r.kw("min_port", m.to_string());
        }
        if self.0.allow_third_party {
            r = r.kw("allow_third_party", bool_repr(true));
        }
        if let Some(c) = &self.0.classes {
            r = r.kw(
                "classes",
                list_repr(c, |x| enum_repr(PyExpectClass::from(*x))),
            );
        }
        r.finish()
    }
}

/// A site policy for RELATED flows, from TOML or JSON text or a dict (validated: every
/// problem is reported with its path in `PolicyError.problems`).
#[pyclass(frozen, eq, hash, module = "netfilter_helpers", name = "SitePolicy")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PySitePolicy(pub(crate) SitePolicy);

fn policy_repr(p: &SitePolicy) -> String {
    format!("SitePolicy.from_toml({})", str_repr(&p.to_toml()))
}

#[pymethods]
impl PySitePolicy {
    /// A policy from TOML or JSON text or a dict; none: deny every helper.
    #[new]
    #[pyo3(signature = (source=None, *, default=None, helpers=None))]
    fn new(
        source: Option<&Bound<'_, PyAny>>,
        default: Option<PyDefaultRule>,
        helpers: Option<&Bound<'_, PyDict>>,
    ) -> Result<Self> {
        let mut p = match source {
            Some(s) => PolicyArg::extract(s.as_borrowed())?.0,
            None => SitePolicy::default(),
        };
        if let Some(d) = default {
            p.default = d.into();
        }
        if let Some(hs) = helpers {
            for item in hs.items().iter() {
                let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item.extract()?;
                let helper: PyHelper = k.extract()?;
                let hp = v.cast::<PyHelperPolicy>().map_err(PyErr::from)?;
                p.helpers.insert(Helper::from(helper), hp.get().0.clone());
            }
            p.validate()?;
        }
        Ok(PySitePolicy(p))
    }

    /// Reads and validates TOML text.
    #[classmethod]
    fn from_toml(_cls: &Bound<'_, PyType>, text: &str) -> Result<Self> {
        Ok(PySitePolicy(guard(|| Ok(SitePolicy::from_toml(text)?))?))
    }

    /// Reads and validates JSON text.
    #[classmethod]
    fn from_json(_cls: &Bound<'_, PyType>, text: &str) -> Result<Self> {
        Ok(PySitePolicy(guard(|| Ok(SitePolicy::from_json(text)?))?))
    }

    /// Reads and validates a dict shaped like the TOML document (networks may be `ipaddress`
    /// objects, helpers `Helper` members).
    #[classmethod]
    fn from_dict(_cls: &Bound<'_, PyType>, document: &Bound<'_, PyDict>) -> Result<Self> {
        let source = Source::extract(document.as_any(), DocKind::Policy, in_policy)?;
        Ok(PySitePolicy(guard(|| policy_from_source(source))?))
    }

    /// What the policy does with helpers it does not list.
    #[getter]
    fn default(&self) -> PyDefaultRule {
        self.0.default.into()
    }

    /// The per-helper policies.
    #[getter]
    fn helpers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (h, p) in &self.0.helpers {
            d.set_item(PyHelper::from_core(*h)?, PyHelperPolicy(p.clone()))?;
        }
        Ok(d)
    }

    /// The policy findings for one expectation (empty when the policy allows it).
    fn check(&self, expectation: PyRef<'_, PyExpectation>) -> Result<Vec<PyFinding>> {
        guard(|| {
            Ok(self
                .0
                .check(&expectation.0)
                .into_iter()
                .map(PyFinding)
                .collect())
        })
    }

    /// The policy as TOML.
    fn to_toml(&self) -> String {
        self.0.to_toml()
    }

    /// The policy as a dict (the JSON document).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let v = serde_json::to_value(&self.0).map_err(|e| PyValueError::new_err(e.to_string()))?;
        from_json(py, &v)
    }

    fn __repr__(&self) -> String {
        policy_repr(&self.0)
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> (Bound<'py, PyType>, (String,)) {
        (slf.get_type(), (slf.get().0.to_toml(),))
    }
}

/// Whether an address is one end of a master connection.
#[pyfunction(name = "is_master_endpoint")]
pub(crate) fn py_is_master_endpoint(master: PyRef<'_, PyConnTuple>, address: IpAddr) -> bool {
    is_master_endpoint(&master.0, address)
}
