//! Conformance and policy: `Finding`, `Verdict`, `Validator` (with batch functions that run
//! without the GIL), `SitePolicy`, `HelperPolicy`.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;

use netfilter_helpers_core::catalogue::Helper;
use netfilter_helpers_core::conform::{Finding, Validator, Verdict, is_master_endpoint};
use netfilter_helpers_core::parse::{ParseError, ParsedLine, parse_line, parse_lines};
use netfilter_helpers_core::policy::{HelperPolicy, PolicyError, Problem, SitePolicy};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};

use crate::catalogue::PyHelperName;
use crate::enums::{
    PyAttribute, PyCode, PyDefaultRule, PyExpectClass, PyExpectationKind, PyHelper, PySeverity,
    enum_repr,
};
use crate::error::{Error, Result};
use crate::expect::{PyConnTuple, PyExpectation, PyParsedLine};
use crate::options::{OptionsArg, PyModuleOptions};
use crate::util::{
    CidrArg, LineArg, Lines, Repr, Source, bool_repr, cidrs_out, from_json, list_repr,
    looks_like_json, par_chunks, split_lines, str_repr,
};

/// One finding about an expectation: a stable code, a severity, the attribute concerned and
/// a message naming values and the options that decide.
#[pyclass(frozen, eq, module = "netfilter_helpers", name = "Finding")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PyFinding(pub(crate) Finding);

pub(crate) fn hash_finding<H: Hasher>(f: &Finding, h: &mut H) {
    f.code.hash(h);
    f.severity.hash(h);
    f.attribute.hash(h);
    f.message.hash(h);
}

fn finding_repr(f: &Finding) -> String {
    let mut r = Repr::new("Finding")
        .arg(enum_repr(PyCode::from(f.code)))
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
        PyFinding(Finding {
            code: code.into(),
            severity: severity.into(),
            attribute: attribute.map(Into::into),
            message: message.into(),
        })
    }

    /// The stable code (`Code.DESTINATION_ADDRESS`, whose value is `destination-address`).
    #[getter]
    fn code(&self) -> PyCode {
        self.0.code.into()
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

    fn __hash__(&self) -> u64 {
        let mut h = DefaultHasher::new();
        hash_finding(&self.0, &mut h);
        h.finish()
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
#[pyclass(frozen, eq, module = "netfilter_helpers", name = "Verdict")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PyVerdict {
    pub(crate) line: Option<usize>,
    pub(crate) verdict: Verdict,
    pub(crate) policy: Vec<Finding>,
}

impl PyVerdict {
    pub(crate) fn both_conform(verdict: &Verdict, policy: &[Finding]) -> bool {
        verdict.conforms() && policy.is_empty()
    }
}

#[pymethods]
impl PyVerdict {
    #[new]
    #[pyo3(signature = (*, helper=None, kind=None, findings=Vec::new(), policy_findings=Vec::new(), line=None))]
    fn new(
        helper: Option<PyRef<'_, PyHelperName>>,
        kind: Option<PyExpectationKind>,
        findings: Vec<PyRef<'_, PyFinding>>,
        policy_findings: Vec<PyRef<'_, PyFinding>>,
        line: Option<usize>,
    ) -> Self {
        PyVerdict {
            line,
            verdict: Verdict {
                helper: helper.map(|h| h.0),
                kind: kind.map(Into::into),
                findings: findings.iter().map(|f| f.0.clone()).collect(),
            },
            policy: policy_findings.iter().map(|f| f.0.clone()).collect(),
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
        self.verdict.helper.map(PyHelperName)
    }

    /// The kind of expectation it matched or came closest to.
    #[getter]
    fn kind(&self) -> Option<PyExpectationKind> {
        self.verdict.kind.map(Into::into)
    }

    /// Every conformance finding (empty when it conforms fully).
    #[getter]
    fn findings(&self) -> Vec<PyFinding> {
        self.verdict
            .findings
            .iter()
            .cloned()
            .map(PyFinding)
            .collect()
    }

    /// The policy findings (empty without a policy, or when the policy allows it).
    #[getter]
    fn policy_findings(&self) -> Vec<PyFinding> {
        self.policy.iter().cloned().map(PyFinding).collect()
    }

    /// Whether nothing worse than info was found, by the model and by the policy.
    #[getter]
    fn conforms(&self) -> bool {
        Self::both_conform(&self.verdict, &self.policy)
    }

    /// The codes of every finding, conformance then policy.
    #[getter]
    fn codes(&self) -> Vec<PyCode> {
        self.verdict
            .findings
            .iter()
            .chain(&self.policy)
            .map(|f| f.code.into())
            .collect()
    }

    fn __hash__(&self) -> u64 {
        let mut h = DefaultHasher::new();
        self.line.hash(&mut h);
        self.verdict.helper.hash(&mut h);
        self.verdict.kind.hash(&mut h);
        for f in self.verdict.findings.iter().chain(&self.policy) {
            hash_finding(f, &mut h);
        }
        h.finish()
    }

    fn __repr__(&self) -> String {
        self.repr()
    }
}

impl PyVerdict {
    pub(crate) fn repr(&self) -> String {
        let mut r = Repr::new("Verdict");
        if let Some(h) = self.verdict.helper {
            r = r.kw(
                "helper",
                format!("HelperName({})", str_repr(&h.to_string())),
            );
        }
        if let Some(k) = self.verdict.kind {
            r = r.kw("kind", enum_repr(PyExpectationKind::from(k)));
        }
        r = r.kw("findings", list_repr(&self.verdict.findings, finding_repr));
        if !self.policy.is_empty() {
            r = r.kw("policy_findings", list_repr(&self.policy, finding_repr));
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
        Ok(PolicyArg(policy_from_source(Source::extract(
            &obj.to_owned(),
        )?)?))
    }
}

fn policy_from_source(source: Source) -> Result<SitePolicy> {
    match source {
        Source::Text(t) if looks_like_json(&t) => Ok(SitePolicy::from_json(&t)?),
        Source::Text(t) => Ok(SitePolicy::from_toml(&t)?),
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
/// and against a site policy when one is given.
#[pyclass(frozen, module = "netfilter_helpers", name = "Validator")]
#[derive(Debug, Clone)]
pub(crate) struct PyValidator {
    validator: Validator,
    policy: Option<SitePolicy>,
}

/// How a batch treats lines that do not parse.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OnError {
    Raise,
    Skip,
}

type Checked = (usize, Verdict, Vec<Finding>);

impl PyValidator {
    fn verdict(&self, line: Option<usize>, p: &ParsedLine) -> PyVerdict {
        PyVerdict {
            line,
            verdict: self.validator.check_line(p),
            policy: self.policy_findings(p),
        }
    }

    fn policy_findings(&self, p: &ParsedLine) -> Vec<Finding> {
        self.policy
            .as_ref()
            .map(|pol| pol.check(&p.expectation))
            .unwrap_or_default()
    }

    fn line_conforms(&self, line: &[u8]) -> bool {
        match parse_line(line) {
            Ok(p) => {
                self.validator.conforms(&p)
                    && self
                        .policy
                        .as_ref()
                        .is_none_or(|pol| pol.allows(&p.expectation))
            }
            Err(_) => false,
        }
    }

    /// Parses and checks a buffer, in parallel chunks for large ones; line numbers are those
    /// of the whole buffer.
    fn check_buffer(&self, buf: &[u8]) -> (Vec<Checked>, Vec<ParseError>) {
        let parts = par_chunks(buf, |chunk| {
            let (ok, bad) = parse_lines(chunk);
            let checked: Vec<Checked> = ok
                .iter()
                .map(|(n, p)| (*n, self.validator.check_line(p), self.policy_findings(p)))
                .collect();
            (checked, bad, memchr::memchr_iter(b'\n', chunk).count())
        });
        let mut all_ok = Vec::new();
        let mut all_bad = Vec::new();
        let mut offset = 0;
        for (ok, bad, newlines) in parts {
            all_ok.extend(ok.into_iter().map(|(n, v, p)| (n + offset, v, p)));
            all_bad.extend(bad.into_iter().map(|mut e| {
                e.line += offset;
                e
            }));
            offset += newlines;
        }
        (all_ok, all_bad)
    }
}

#[pymethods]
impl PyValidator {
    /// A validator for these module options (default: kernel defaults) and, optionally, a
    /// site policy (a `SitePolicy`, TOML or JSON text, or a dict).
    #[new]
    #[pyo3(signature = (options=None, *, policy=None))]
    fn new(options: Option<OptionsArg>, policy: Option<PolicyArg>) -> Self {
        let options = options.map(|o| o.0).unwrap_or_default();
        PyValidator {
            validator: Validator::new(&options),
            policy: policy.map(|p| p.0),
        }
    }

    /// The options this validator judges by.
    #[getter]
    fn options(&self) -> PyModuleOptions {
        PyModuleOptions(self.validator.options().clone())
    }

    /// The site policy, if one was given.
    #[getter]
    fn policy(&self) -> Option<PySitePolicy> {
        self.policy.clone().map(PySitePolicy)
    }

    /// Checks one expectation (no timeout, conntrack semantics).
    fn check(&self, expectation: PyRef<'_, PyExpectation>) -> PyVerdict {
        PyVerdict {
            line: None,
            verdict: self.validator.check(&expectation.0),
            policy: self
                .policy
                .as_ref()
                .map(|pol| pol.check(&expectation.0))
                .unwrap_or_default(),
        }
    }

    /// Checks one line (`str`, `bytes` or a `ParsedLine`); raises ParseError when it does
    /// not parse.
    fn check_line(&self, line: &Bound<'_, PyAny>) -> Result<PyVerdict> {
        if let Ok(p) = line.cast::<PyParsedLine>() {
            return Ok(self.verdict(None, &p.get().0));
        }
        let text: LineArg<'_> = line.extract()?;
        let parsed = parse_line(text.as_bytes())?;
        Ok(self.verdict(None, &parsed))
    }

    /// Checks many lines (one text, or an iterable of `str`/`bytes` lines) without holding
    /// the GIL; one verdict per expectation line, with its line number. Blank lines and the
    /// conntrack summary are skipped; lines that do not parse raise ParseError (listing every
    /// bad line) unless `errors="skip"`.
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
        let (ok, bad) = py.detach(|| self.check_buffer(buf));
        if on_error == OnError::Raise
            && let Some(first) = bad.first()
        {
            return Err(Error::Parse(first.clone(), bad));
        }
        Ok(ok
            .into_iter()
            .map(|(line, verdict, policy)| PyVerdict {
                line: Some(line),
                verdict,
                policy,
            })
            .collect())
    }

    /// How many lines conform (to the model, and to the policy when one is given); lines
    /// that do not parse do not conform. Runs without the GIL, in parallel for large inputs.
    fn count_conforming(&self, py: Python<'_>, lines: Lines<'_>) -> usize {
        let buf = lines.as_bytes();
        py.detach(|| {
            par_chunks(buf, |chunk| {
                split_lines(chunk).filter(|l| self.line_conforms(l)).count()
            })
            .into_iter()
            .sum()
        })
    }

    /// One bool per line (per item of an iterable; blank and unparsable lines are False).
    /// Runs without the GIL, in parallel for large inputs.
    fn conforms_many(&self, py: Python<'_>, lines: Lines<'_>) -> Vec<bool> {
        let buf = lines.as_bytes();
        py.detach(|| {
            par_chunks(buf, |chunk| {
                split_lines(chunk)
                    .map(|l| self.line_conforms(l))
                    .collect::<Vec<bool>>()
            })
            .concat()
        })
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        match other.cast::<PyValidator>() {
            Ok(o) => {
                let o = o.get();
                self.validator.options() == o.validator.options() && self.policy == o.policy
            }
            Err(_) => false,
        }
    }

    fn __hash__(&self) -> u64 {
        let mut h = DefaultHasher::new();
        self.validator.options().hash(&mut h);
        self.policy.as_ref().map(SitePolicy::to_toml).hash(&mut h);
        h.finish()
    }

    fn __repr__(&self) -> String {
        let mut r = Repr::new("Validator");
        if self.validator.options().explicit().next().is_some() {
            r = r.arg(PyModuleOptions::repr_of(self.validator.options()));
        }
        if let Some(p) = &self.policy {
            r = r.kw("policy", policy_repr(p));
        }
        r.finish()
    }
}

/// The policy for one helper's RELATED flows.
#[pyclass(frozen, eq, module = "netfilter_helpers", name = "HelperPolicy")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PyHelperPolicy(pub(crate) HelperPolicy);

fn hash_helper_policy<H: Hasher>(p: &HelperPolicy, h: &mut H) {
    p.destinations.hash(h);
    p.sources.hash(h);
    p.min_port.hash(h);
    p.allow_third_party.hash(h);
    p.classes.hash(h);
}

#[pymethods]
impl PyHelperPolicy {
    /// Networks are `ipaddress` networks or their text; None allows any.
    #[new]
    #[pyo3(signature = (*, destinations=None, sources=None, min_port=None, allow_third_party=false, classes=None))]
    fn new(
        destinations: Option<Vec<CidrArg>>,
        sources: Option<Vec<CidrArg>>,
        min_port: Option<u16>,
        allow_third_party: bool,
        classes: Option<Vec<PyExpectClass>>,
    ) -> Self {
        PyHelperPolicy(HelperPolicy {
            destinations: destinations.map(|v| v.into_iter().map(|c| c.0).collect()),
            sources: sources.map(|v| v.into_iter().map(|c| c.0).collect()),
            min_port,
            allow_third_party,
            classes: classes.map(|v| v.into_iter().map(Into::into).collect()),
        })
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

    fn __hash__(&self) -> u64 {
        let mut h = DefaultHasher::new();
        hash_helper_policy(&self.0, &mut h);
        h.finish()
    }

    fn __repr__(&self) -> String {
        let nets = |v: &Vec<netfilter_helpers_core::policy::Cidr>| {
            list_repr(v, |c| str_repr(&c.to_string()))
        };
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
#[pyclass(frozen, eq, module = "netfilter_helpers", name = "SitePolicy")]
#[derive(Debug, Clone, PartialEq, Eq)]
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
            for (k, v) in hs.iter() {
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
        Ok(PySitePolicy(SitePolicy::from_toml(text)?))
    }

    /// Reads and validates JSON text.
    #[classmethod]
    fn from_json(_cls: &Bound<'_, PyType>, text: &str) -> Result<Self> {
        Ok(PySitePolicy(SitePolicy::from_json(text)?))
    }

    /// Reads and validates a dict shaped like the TOML document (networks may be `ipaddress`
    /// objects, helpers `Helper` members).
    #[classmethod]
    fn from_dict(_cls: &Bound<'_, PyType>, document: &Bound<'_, PyDict>) -> Result<Self> {
        Ok(PySitePolicy(policy_from_source(Source::extract(
            document.as_any(),
        )?)?))
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
            d.set_item(PyHelper::from(*h), PyHelperPolicy(p.clone()))?;
        }
        Ok(d)
    }

    /// The policy findings for one expectation (empty when the policy allows it).
    fn check(&self, expectation: PyRef<'_, PyExpectation>) -> Vec<PyFinding> {
        self.0
            .check(&expectation.0)
            .into_iter()
            .map(PyFinding)
            .collect()
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

    fn __hash__(&self) -> u64 {
        crate::util::hash_of(&self.0.to_toml())
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
