//! Module options: the enum `Param`, `ModuleOptions` (immutable: every change returns new
//! options), `ParamSpec`, `Danger`, `OptionFinding`, `OptionsReport`.

use std::hash::Hash;

use netfilter_helpers_core::options::{
    MAX_CHARP, MAX_PORTS, ModuleOptions, OptionFinding, OptionsReport, PARAMS, Param, Value,
};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyInt, PyList, PyMapping, PyString, PyTuple, PyType};

use crate::catalogue::PyHelperModule;
use crate::enums::{
    CoreEnum, PyOptionCode, PyParamKind, PySeverity, core_parse, core_repr, enum_repr, py_enum,
};
use crate::error::Result;
use crate::repr::{Repr, bool_repr, list_repr, opt_repr, str_repr};
use crate::util::{ListArg, check_signals_at, guard};

py_enum! {
    /// A module parameter (`Param('nf_conntrack_ftp.loose')`, `Param('ftp.loose')`).
    PyParam("Param") <=> #[non_exhaustive] Param, alias = (core_parse::<PyParam>) {
        CONNTRACK_HELPER <=> ConntrackHelper,
        AMANDA_MASTER_TIMEOUT <=> AmandaMasterTimeout,
        AMANDA_TS_ALGO <=> AmandaTsAlgo,
        FTP_PORTS <=> FtpPorts,
        FTP_LOOSE <=> FtpLoose,
        H323_DEFAULT_RRQ_TTL <=> H323DefaultRrqTtl,
        H323_GKROUTED_ONLY <=> H323GkroutedOnly,
        H323_CALLFORWARD_FILTER <=> H323CallforwardFilter,
        IRC_PORTS <=> IrcPorts,
        IRC_MAX_DCC_CHANNELS <=> IrcMaxDccChannels,
        IRC_DCC_TIMEOUT <=> IrcDccTimeout,
        NETBIOS_NS_TIMEOUT <=> NetbiosNsTimeout,
        SANE_PORTS <=> SanePorts,
        SIP_PORTS <=> SipPorts,
        SIP_TIMEOUT <=> SipTimeout,
        SIP_DIRECT_SIGNALLING <=> SipDirectSignalling,
        SIP_DIRECT_MEDIA <=> SipDirectMedia,
        SIP_EXTERNAL_MEDIA <=> SipExternalMedia,
        SNMP_TIMEOUT <=> SnmpTimeout,
        TFTP_PORTS <=> TftpPorts,
    }
    methods {
        /// The parameter's declaration.
        fn spec(&self) -> PyParamSpec {
            PyParamSpec(Param::from(*self))
        }

        /// The module the parameter belongs to.
        #[getter]
        fn module(&self) -> Result<PyHelperModule> {
            PyHelperModule::from_core(Param::from(*self).spec().module)
        }

        /// The parameter's name in `modprobe.d` and `/sys` (`loose`).
        #[getter]
        fn param_name(&self) -> &'static str {
            Param::from(*self).spec().name
        }

        /// Finds a parameter by module (`nf_conntrack_ftp`, `ftp`) and parameter name.
        #[staticmethod]
        fn lookup(module: &str, param: &str) -> Result<PyParam> {
            PyParam::from_core(Param::lookup(module, param)?)
        }

        /// Parses a value the way the kernel does and checks its range.
        fn parse_value<'py>(&self, py: Python<'py>, text: &str) -> Result<Bound<'py, PyAny>> {
            Ok(value_out(py, &Param::from(*self).parse_value(text)?)?)
        }

        /// The kernel default.
        fn default_value<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            value_out(py, &Param::from(*self).default_value())
        }

        /// Checks a value (bool, int, list of ports or str) against the type and range;
        /// raises OptionError when the kernel refuses it.
        fn check(&self, value: &Bound<'_, PyAny>) -> Result<()> {
            let p = Param::from(*self);
            let v = p.parse_value(&value_text(value)?)?;
            p.check(&v)?;
            Ok(())
        }

        /// Why a value is dangerous, or None.
        fn danger_of(&self, value: &Bound<'_, PyAny>) -> Result<Option<&'static str>> {
            let p = Param::from(*self);
            let v = p.parse_value(&value_text(value)?)?;
            Ok(p.danger_of(&v))
        }
    }
}

/// Most entries a `ports=` array accepts.
pub(crate) const PY_MAX_PORTS: usize = MAX_PORTS;
/// Longest `charp` value the kernel stores.
pub(crate) const PY_MAX_CHARP: usize = MAX_CHARP;

/// A value as Python sees it: bool, int, list of ports or str.
pub(crate) fn value_out<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Int(n) => n.into_pyobject(py)?.into_any(),
        Value::Uint(n) => n.into_pyobject(py)?.into_any(),
        Value::Ports(p) => PyList::new(py, p)?.into_any(),
        Value::Text(s) => PyString::new(py, s).into_any(),
    })
}

/// A Python value as the text `modprobe` would take (`True` is `1`, `[21, 2121]` is
/// `21,2121`); the kernel-style parsing is the core's.
pub(crate) fn value_text(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(if b.is_true() { "1" } else { "0" }.to_string());
    }
    if obj.cast::<PyInt>().is_ok() {
        return Ok(obj.str()?.to_cow()?.into_owned());
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(s.to_cow()?.into_owned());
    }
    if obj.cast::<PyList>().is_ok() || obj.cast::<PyTuple>().is_ok() {
        let mut parts = Vec::new();
        for item in obj.try_iter()? {
            let item = item?;
            if item.cast::<PyInt>().is_err() || item.cast::<PyBool>().is_ok() {
                return Err(PyTypeError::new_err(format!(
                    "ports must be int, got {}",
                    item.get_type().name()?
                )));
            }
            parts.push(item.str()?.to_cow()?.into_owned());
        }
        return Ok(parts.join(","));
    }
    Err(PyTypeError::new_err(format!(
        "expected bool, int, str or a list of ports, got {}",
        obj.get_type().name()?
    )))
}

/// An options argument: `ModuleOptions`, a mapping of `MODULE.PARAM` (or `Param`) to values,
/// or an iterable of `MODULE.PARAM=VALUE` assignments.
pub(crate) struct OptionsArg(pub(crate) ModuleOptions);

impl<'a, 'py> FromPyObject<'a, 'py> for OptionsArg {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(o) = obj.cast::<PyModuleOptions>() {
            return Ok(OptionsArg(o.get().0.clone()));
        }
        Ok(OptionsArg(build_options(&obj.to_owned())?))
    }
}

fn build_options(obj: &Bound<'_, PyAny>) -> Result<ModuleOptions> {
    let mut o = ModuleOptions::new();
    if obj.cast::<PyString>().is_ok() {
        return Err(PyTypeError::new_err(
            "expected a mapping or a list of MODULE.PARAM=VALUE assignments, got str (use ModuleOptions.from_modprobe for modprobe.d text)",
        )
        .into());
    }
    if obj.cast::<PyDict>().is_ok() || obj.cast::<PyMapping>().is_ok() {
        let items = obj.call_method0("items")?;
        for (i, item) in items.try_iter()?.enumerate() {
            check_signals_at(obj.py(), i)?;
            let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
            let param: PyParam = k.extract()?;
            let spec = Param::from(param).spec();
            o.set_text(spec.module.name(), spec.name, &value_text(&v)?)?;
        }
        return Ok(o);
    }
    for (i, item) in obj.try_iter()?.enumerate() {
        check_signals_at(obj.py(), i)?;
        let item = item?;
        let text: String = item.extract().map_err(|_| {
            PyTypeError::new_err("every assignment must be a str MODULE.PARAM=VALUE")
        })?;
        o.set_assignment(&text)?;
    }
    Ok(o)
}

/// Module options in force: explicit settings over the kernel defaults. Immutable: the
/// `with_*` and `without` methods return new options.
#[pyclass(frozen, eq, hash, module = "netfilter_helpers", name = "ModuleOptions")]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub(crate) struct PyModuleOptions(pub(crate) ModuleOptions);

impl PyModuleOptions {
    /// The explicit settings as `MODULE.PARAM=VALUE` assignments.
    pub(crate) fn assignments_of(o: &ModuleOptions) -> Vec<String> {
        o.explicit().map(|(p, v)| format!("{p}={v}")).collect()
    }

    /// The repr of options.
    pub(crate) fn repr_of(o: &ModuleOptions) -> String {
        let a = Self::assignments_of(o);
        if a.is_empty() {
            "ModuleOptions()".to_string()
        } else {
            format!("ModuleOptions({})", list_repr(a, |s| str_repr(&s)))
        }
    }
}

#[pymethods]
impl PyModuleOptions {
    /// Options from a mapping (`{'ftp.loose': True, 'sip.ports': [5060, 5070]}`) or an
    /// iterable of assignments (`['ftp.loose=1']`); none: every parameter at its default.
    #[new]
    #[pyo3(signature = (settings=None))]
    fn new(settings: Option<&Bound<'_, PyAny>>) -> Result<Self> {
        match settings {
            None => Ok(PyModuleOptions(ModuleOptions::new())),
            Some(s) => {
                if let Ok(o) = s.cast::<PyModuleOptions>() {
                    return Ok(o.get().clone());
                }
                Ok(PyModuleOptions(build_options(s)?))
            }
        }
    }

    /// Parses `modprobe.d` text: the options accepted and every finding, by line.
    #[staticmethod]
    fn from_modprobe(text: &str) -> Result<PyOptionsReport> {
        parse_modprobe(text)
    }

    /// New options with a `MODULE.PARAM=VALUE` assignment applied (`ftp.loose=1`).
    fn with_assignment(&self, assignment: &str) -> Result<Self> {
        let mut o = self.0.clone();
        o.set_assignment(assignment)?;
        Ok(PyModuleOptions(o))
    }

    /// New options with a parameter set to a value (bool, int, list of ports or str).
    fn with_value(&self, param: PyParam, value: &Bound<'_, PyAny>) -> Result<Self> {
        let spec = Param::from(param).spec();
        let mut o = self.0.clone();
        o.set_text(spec.module.name(), spec.name, &value_text(value)?)?;
        Ok(PyModuleOptions(o))
    }

    /// New options with a value as `/sys/module/<module>/parameters/<param>` shows it.
    fn with_sysfs(&self, module: &str, param: &str, raw: &str) -> Result<Self> {
        let mut o = self.0.clone();
        o.set_sysfs(module, param, raw)?;
        Ok(PyModuleOptions(o))
    }

    /// New options with a parameter back at its default.
    fn without(&self, param: PyParam) -> Self {
        let mut o = self.0.clone();
        o.unset(param.into());
        PyModuleOptions(o)
    }

    /// The value in force (explicit or default).
    fn get<'py>(&self, py: Python<'py>, param: PyParam) -> PyResult<Bound<'py, PyAny>> {
        value_out(py, &self.0.get(param.into()))
    }

    /// The explicitly set values.
    fn explicit<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (p, v) in self.0.explicit() {
            d.set_item(PyParam::from_core(p)?, value_out(py, v)?)?;
        }
        Ok(d)
    }

    /// The explicit settings as `MODULE.PARAM=VALUE` assignments.
    fn assignments(&self) -> Vec<String> {
        Self::assignments_of(&self.0)
    }

    /// The `ports=` in force for a module (empty for modules without `ports=`).
    fn ports(&self, module: PyHelperModule) -> Vec<u16> {
        self.0.ports(module.into())
    }

    /// Every setting in force that enables a dangerous feature, with the reason.
    fn dangerous(&self) -> Result<Vec<(PyParam, &'static str)>> {
        self.0
            .dangerous()
            .into_iter()
            .map(|(p, why)| Ok((PyParam::from_core(p)?, why)))
            .collect()
    }

    /// The explicit settings as `modprobe.d` text.
    fn render_modprobe(&self) -> String {
        self.0.render_modprobe()
    }

    /// The `/sys` writes that apply the run-time writable settings: (path, value) pairs.
    fn sysfs_writes(&self) -> Vec<(String, String)> {
        self.0.sysfs_writes()
    }

    /// `nf_conntrack_ftp loose`.
    #[getter]
    fn ftp_loose(&self) -> bool {
        self.0.ftp_loose()
    }

    /// `nf_conntrack_sip sip_direct_signalling` (non-zero).
    #[getter]
    fn sip_direct_signalling(&self) -> bool {
        self.0.sip_direct_signalling()
    }

    /// `nf_conntrack_sip sip_direct_media` (non-zero).
    #[getter]
    fn sip_direct_media(&self) -> bool {
        self.0.sip_direct_media()
    }

    /// `nf_conntrack_sip sip_external_media` (non-zero).
    #[getter]
    fn sip_external_media(&self) -> bool {
        self.0.sip_external_media()
    }

    /// `nf_conntrack_h323 gkrouted_only` (non-zero).
    #[getter]
    fn h323_gkrouted_only(&self) -> bool {
        self.0.h323_gkrouted_only()
    }

    /// `nf_conntrack_h323 callforward_filter`.
    #[getter]
    fn h323_callforward_filter(&self) -> bool {
        self.0.h323_callforward_filter()
    }

    /// `nf_conntrack_irc max_dcc_channels`.
    #[getter]
    fn irc_max_dcc_channels(&self) -> u32 {
        self.0.irc_max_dcc_channels()
    }

    /// `nf_conntrack_irc dcc_timeout`.
    #[getter]
    fn irc_dcc_timeout(&self) -> u32 {
        self.0.irc_dcc_timeout()
    }

    /// `nf_conntrack_netbios_ns timeout`.
    #[getter]
    fn netbios_ns_timeout(&self) -> u32 {
        self.0.netbios_ns_timeout()
    }

    /// `nf_conntrack_snmp timeout`.
    #[getter]
    fn snmp_timeout(&self) -> u32 {
        self.0.snmp_timeout()
    }

    fn __len__(&self) -> usize {
        self.0.explicit().count()
    }

    fn __repr__(&self) -> String {
        Self::repr_of(&self.0)
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> (Bound<'py, PyType>, (Vec<String>,)) {
        (slf.get_type(), (Self::assignments_of(&slf.get().0),))
    }
}

/// The declaration of a module parameter (`Param.FTP_LOOSE.spec()`).
#[pyclass(frozen, eq, hash, module = "netfilter_helpers", name = "ParamSpec")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct PyParamSpec(pub(crate) Param);

#[pymethods]
impl PyParamSpec {
    #[new]
    fn new(param: PyParam) -> Self {
        PyParamSpec(param.into())
    }

    /// The parameter.
    #[getter]
    fn param(&self) -> Result<PyParam> {
        PyParam::from_core(self.0)
    }

    /// Its module.
    #[getter]
    fn module(&self) -> Result<PyHelperModule> {
        PyHelperModule::from_core(self.0.spec().module)
    }

    /// Its name in `modprobe.d` and `/sys`.
    #[getter]
    fn name(&self) -> &'static str {
        self.0.spec().name
    }

    /// Its type.
    #[getter]
    fn kind(&self) -> PyParamKind {
        self.0.spec().kind.into()
    }

    /// The default, as `modprobe` accepts it.
    #[getter]
    fn default(&self) -> &'static str {
        self.0.spec().default
    }

    /// The accepted numeric range (inclusive), where the kernel enforces one.
    #[getter]
    fn range(&self) -> Option<(i64, i64)> {
        self.0.spec().range
    }

    /// Whether root can change it at run time through `/sys`.
    #[getter]
    fn writable(&self) -> bool {
        self.0.spec().writable
    }

    /// The value that enables a dangerous feature, if any.
    #[getter]
    fn danger(&self) -> Option<PyDanger> {
        self.0.spec().danger.map(|d| PyDanger {
            when_true: d.when_true,
            why: d.why.to_string(),
        })
    }

    /// The first kernel version (major, minor) without this parameter, if it was removed.
    #[getter]
    fn removed_in(&self) -> Option<(u32, u32)> {
        self.0.spec().removed_in
    }

    /// What it does.
    #[getter]
    fn description(&self) -> &'static str {
        self.0.spec().description
    }

    fn __repr__(&self) -> String {
        format!("{}.spec()", core_repr::<PyParam>(self.0))
    }
}

/// What the kernel does with a parameter value that weakens a helper.
#[pyclass(frozen, eq, hash, module = "netfilter_helpers", name = "Danger")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PyDanger {
    when_true: bool,
    why: String,
}

#[pymethods]
impl PyDanger {
    #[new]
    fn new(when_true: bool, why: String) -> Self {
        PyDanger { when_true, why }
    }

    /// Dangerous when the parameter is true (non-zero) rather than false.
    #[getter]
    fn when_true(&self) -> bool {
        self.when_true
    }

    /// Why.
    #[getter]
    fn why(&self) -> &str {
        &self.why
    }

    fn __repr__(&self) -> String {
        Repr::new("Danger")
            .kw("when_true", bool_repr(self.when_true))
            .kw("why", str_repr(&self.why))
            .finish()
    }
}

/// One finding about module options.
#[pyclass(frozen, eq, hash, module = "netfilter_helpers", name = "OptionFinding")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PyOptionFinding(pub(crate) OptionFinding);

#[pymethods]
impl PyOptionFinding {
    #[new]
    #[pyo3(signature = (severity, code, message, *, line=None, module=None, param=None, value=None))]
    fn new(
        severity: PySeverity,
        code: PyOptionCode,
        message: String,
        line: Option<usize>,
        module: Option<String>,
        param: Option<String>,
        value: Option<String>,
    ) -> Self {
        PyOptionFinding(OptionFinding {
            severity: severity.into(),
            code: code.into(),
            line,
            module,
            param,
            value,
            message,
        })
    }

    /// How serious it is.
    #[getter]
    fn severity(&self) -> PySeverity {
        self.0.severity.into()
    }

    /// The stable code.
    #[getter]
    fn code(&self) -> Result<PyOptionCode> {
        PyOptionCode::from_core(self.0.code)
    }

    /// The 1-based line of the input, when the options came from text.
    #[getter]
    fn line(&self) -> Option<usize> {
        self.0.line
    }

    /// The module, when known.
    #[getter]
    fn module(&self) -> Option<&str> {
        self.0.module.as_deref()
    }

    /// The parameter, when known.
    #[getter]
    fn param(&self) -> Option<&str> {
        self.0.param.as_deref()
    }

    /// The value, when known.
    #[getter]
    fn value(&self) -> Option<&str> {
        self.0.value.as_deref()
    }

    /// What is wrong, naming the input and the accepted range.
    #[getter]
    fn message(&self) -> &str {
        &self.0.message
    }

    fn __str__(&self) -> String {
        self.0.to_string()
    }

    fn __repr__(&self) -> String {
        option_finding_repr(&self.0)
    }
}

fn option_finding_repr(f: &OptionFinding) -> String {
    Repr::new("OptionFinding")
        .arg(enum_repr(PySeverity::from(f.severity)))
        .arg(core_repr::<PyOptionCode>(f.code))
        .arg(str_repr(&f.message))
        .kw("line", opt_repr(f.line, |l| l.to_string()))
        .kw("module", opt_repr(f.module.as_deref(), str_repr))
        .kw("param", opt_repr(f.param.as_deref(), str_repr))
        .kw("value", opt_repr(f.value.as_deref(), str_repr))
        .finish()
}

/// The result of reading module options: the options accepted and every finding.
#[pyclass(frozen, eq, hash, module = "netfilter_helpers", name = "OptionsReport")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PyOptionsReport(pub(crate) OptionsReport);

#[pymethods]
impl PyOptionsReport {
    #[new]
    #[pyo3(signature = (options, findings=ListArg::default()))]
    fn new(options: OptionsArg, findings: ListArg<PyRef<'_, PyOptionFinding>>) -> Self {
        PyOptionsReport(OptionsReport {
            options: options.0,
            findings: findings.0.iter().map(|f| f.0.clone()).collect(),
        })
    }

    /// The options accepted (invalid settings are left at their previous value).
    #[getter]
    fn options(&self) -> PyModuleOptions {
        PyModuleOptions(self.0.options.clone())
    }

    /// Every finding, in input order.
    #[getter]
    fn findings(&self) -> Vec<PyOptionFinding> {
        self.0
            .findings
            .iter()
            .cloned()
            .map(PyOptionFinding)
            .collect()
    }

    /// Whether any finding is an error.
    fn has_errors(&self) -> bool {
        self.0.has_errors()
    }

    /// Whether any finding is a warning or an error.
    fn has_problems(&self) -> bool {
        self.0.has_problems()
    }

    fn __repr__(&self) -> String {
        Repr::new("OptionsReport")
            .arg(PyModuleOptions::repr_of(&self.0.options))
            .kw("findings", list_repr(&self.0.findings, option_finding_repr))
            .finish()
    }
}

/// Parses `modprobe.d` text (the same as `ModuleOptions.from_modprobe`).
#[pyfunction]
pub(crate) fn parse_modprobe(text: &str) -> Result<PyOptionsReport> {
    guard(|| Ok(PyOptionsReport(ModuleOptions::from_modprobe(text))))
}

/// Every parameter's declaration, in `Param` order.
#[pyfunction]
pub(crate) fn params() -> Vec<PyParamSpec> {
    PARAMS.iter().map(|s| PyParamSpec(s.param)).collect()
}
