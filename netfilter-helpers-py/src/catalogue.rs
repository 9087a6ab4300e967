//! The helper catalogue: the enums `Helper`, `Module` and `ExpectClass` (which refer to each
//! other and to `HelperInfo`), `HelperInfo`, `ClassPolicy`, `HelperName`, `Registration`.

use netfilter_helpers_core::catalogue::{
    ClassPolicy, ExpectClass, HELPERS, Helper, HelperName, Module,
};
use netfilter_helpers_core::registry::Registration;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyString, PyType};

use crate::enums::{
    CoreEnum, PyExpectationKind, PyFamily, PyNaming, core_parse, core_repr, enum_repr, l4_out,
    py_enum,
};
use crate::error::Result;
use crate::repr::{Repr, opt_repr, str_repr};

py_enum! {
    /// A conntrack helper as the kernel registers it (`Helper('ftp')`, `Helper('Q.931')`).
    PyHelper("Helper") <=> #[non_exhaustive] Helper, alias = (core_parse::<PyHelper>) {
        AMANDA <=> Amanda,
        FTP <=> Ftp,
        IRC <=> Irc,
        NETBIOS_NS <=> NetbiosNs,
        SNMP <=> Snmp,
        PPTP <=> Pptp,
        SANE <=> Sane,
        SIP <=> Sip,
        TFTP <=> Tftp,
        RAS <=> Ras,
        Q931 <=> Q931,
        H245 <=> H245,
    }
    methods {
        /// The kernel facts about this helper.
        fn info(&self) -> PyHelperInfo {
            PyHelperInfo(Helper::from(*self))
        }

        /// The module that registers this helper.
        #[getter]
        fn module(&self) -> Result<PyHelperModule> {
            PyHelperModule::from_core(Helper::from(*self).module())
        }

        /// The kinds of expectation this helper creates.
        fn kinds(&self) -> Result<Vec<PyExpectationKind>> {
            netfilter_helpers_core::dof::kinds_of((*self).into())
                .into_iter()
                .map(PyExpectationKind::from_core)
                .collect()
        }
    }
}

py_enum! {
    /// A kernel module that registers helpers (`Module('nf_conntrack_ftp')`, `Module('ftp')`).
    PyHelperModule("Module") <=> #[non_exhaustive] Module, alias = (core_parse::<PyHelperModule>) {
        CONNTRACK <=> Conntrack,
        AMANDA <=> Amanda,
        FTP <=> Ftp,
        H323 <=> H323,
        IRC <=> Irc,
        NETBIOS_NS <=> NetbiosNs,
        PPTP <=> Pptp,
        SANE <=> Sane,
        SIP <=> Sip,
        SNMP <=> Snmp,
        TFTP <=> Tftp,
    }
    methods {
        /// The short name (`ftp`, `h323`, `conntrack`).
        #[getter]
        fn short_name(&self) -> &'static str {
            Module::from(*self).short_name()
        }

        /// The helpers this module registers.
        fn helpers(&self) -> Result<Vec<PyHelper>> {
            Module::from(*self)
                .helpers()
                .into_iter()
                .map(PyHelper::from_core)
                .collect()
        }
    }
}

py_enum! {
    /// An expectation class (`class=` in conntrack lines, `/audio` in `/proc` lines).
    PyExpectClass("ExpectClass") <=> ExpectClass, alias = (core_parse::<PyExpectClass>) {
        DEFAULT <=> Default,
        SIGNALLING <=> Signalling,
        AUDIO <=> Audio,
        VIDEO <=> Video,
        IMAGE <=> Image,
    }
    methods {
        /// The class number the kernel prints as `class=`.
        #[getter]
        fn number(&self) -> u8 {
            ExpectClass::from(*self).number()
        }

        /// The policy name `/proc` appends (`audio`), None for the default class.
        #[getter]
        fn policy_name(&self) -> Option<&'static str> {
            ExpectClass::from(*self).policy_name()
        }

        /// The class with this number for this helper.
        #[staticmethod]
        fn from_number(helper: PyHelper, number: u8) -> Result<PyExpectClass> {
            Ok(ExpectClass::from_number(helper.into(), number)?.into())
        }
    }
}

/// The kernel facts about one helper (`Helper.FTP.info()`).
#[pyclass(frozen, eq, hash, module = "netfilter_helpers", name = "HelperInfo")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct PyHelperInfo(pub(crate) Helper);

#[pymethods]
impl PyHelperInfo {
    /// The facts about a helper.
    #[new]
    fn new(helper: PyHelper) -> Self {
        PyHelperInfo(helper.into())
    }

    /// The helper.
    #[getter]
    fn helper(&self) -> Result<PyHelper> {
        PyHelper::from_core(self.0)
    }

    /// The module that registers it.
    #[getter]
    fn module(&self) -> Result<PyHelperModule> {
        PyHelperModule::from_core(self.0.info().module)
    }

    /// Master connection protocols it is registered for.
    #[getter]
    fn master_protocols<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        self.0
            .info()
            .master_protocols
            .iter()
            .map(|p| l4_out(py, *p))
            .collect()
    }

    /// The protocols a CT rule can assign it for (its registrations).
    #[getter]
    fn registered_protocols<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        self.0
            .info()
            .registered_protocols()
            .iter()
            .map(|p| l4_out(py, *p))
            .collect()
    }

    /// The registered master port (None for H.245).
    #[getter]
    fn default_port(&self) -> Option<u16> {
        self.0.info().default_port
    }

    /// Address families it is registered for.
    #[getter]
    fn families(&self) -> Vec<PyFamily> {
        self.0.info().families.iter().map(|f| (*f).into()).collect()
    }

    /// How `ports=` names its extra registrations.
    #[getter]
    fn naming(&self) -> PyNaming {
        self.0.info().naming.into()
    }

    /// Expectation classes and their default policies.
    #[getter]
    fn classes(&self) -> Vec<PyClassPolicy> {
        self.0
            .info()
            .classes
            .iter()
            .map(|c| PyClassPolicy(*c))
            .collect()
    }

    /// A short description.
    #[getter]
    fn description(&self) -> &'static str {
        self.0.info().description
    }

    /// The kernel source file.
    #[getter]
    fn source(&self) -> &'static str {
        self.0.info().source
    }

    /// The policy of one class, or None when the helper has no such class.
    fn class_policy(&self, expect_class: PyExpectClass) -> Option<PyClassPolicy> {
        self.0
            .info()
            .class(expect_class.into())
            .map(|c| PyClassPolicy(*c))
    }

    /// Whether the helper is registered for this family.
    fn supports(&self, family: PyFamily) -> bool {
        self.0.info().supports(family.into())
    }

    fn __repr__(&self) -> String {
        format!("{}.info()", core_repr::<PyHelper>(self.0))
    }
}

/// The expectation policy of one class: per-master limit and lifetime.
#[pyclass(frozen, eq, hash, module = "netfilter_helpers", name = "ClassPolicy")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct PyClassPolicy(pub(crate) ClassPolicy);

#[pymethods]
impl PyClassPolicy {
    #[new]
    fn new(expect_class: PyExpectClass, max_expected: u32, timeout_secs: u32) -> Self {
        PyClassPolicy(ClassPolicy {
            class: expect_class.into(),
            max_expected,
            timeout_secs,
        })
    }

    /// The class.
    #[getter]
    fn expect_class(&self) -> PyExpectClass {
        self.0.class.into()
    }

    /// How many expectations of the class a master may hold.
    #[getter]
    fn max_expected(&self) -> u32 {
        self.0.max_expected
    }

    /// How long a new expectation lives, in seconds.
    #[getter]
    fn timeout_secs(&self) -> u32 {
        self.0.timeout_secs
    }

    fn __repr__(&self) -> String {
        Repr::new("ClassPolicy")
            .arg(enum_repr(PyExpectClass::from(self.0.class)))
            .kw("max_expected", self.0.max_expected.to_string())
            .kw("timeout_secs", self.0.timeout_secs.to_string())
            .finish()
    }
}

/// A helper name as the kernel registers it (`HelperName('ftp-2121')`, `HelperName('sip')`,
/// or `HelperName(Helper.SIP, 1)`).
#[pyclass(
    frozen,
    eq,
    ord,
    hash,
    module = "netfilter_helpers",
    name = "HelperName"
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct PyHelperName(pub(crate) HelperName);

/// A helper name argument: a `HelperName`, a `Helper` or text.
pub(crate) struct HelperNameArg(pub(crate) HelperName);

impl<'a, 'py> FromPyObject<'a, 'py> for HelperNameArg {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(n) = obj.cast::<PyHelperName>() {
            return Ok(HelperNameArg(n.get().0));
        }
        if let Ok(h) = obj.cast::<PyHelper>() {
            return Ok(HelperNameArg(HelperName {
                helper: (*h.get()).into(),
                suffix: None,
            }));
        }
        if let Ok(s) = obj.cast::<PyString>() {
            let n: HelperName = s.to_cow()?.parse().map_err(crate::error::Error::from)?;
            return Ok(HelperNameArg(n));
        }
        Err(PyTypeError::new_err(format!(
            "expected HelperName, Helper or str, got {}",
            obj.get_type().name()?
        )))
    }
}

#[pymethods]
impl PyHelperName {
    /// A name from its text, or from a helper and a suffix (checked as the kernel would
    /// register it).
    #[new]
    #[pyo3(signature = (name, suffix=None))]
    fn new(name: HelperNameArg, suffix: Option<u16>) -> Result<Self> {
        match suffix {
            None => Ok(PyHelperName(name.0)),
            Some(n) => {
                let text = format!("{}-{n}", name.0.helper.name());
                Ok(PyHelperName(text.parse()?))
            }
        }
    }

    /// The helper.
    #[getter]
    fn helper(&self) -> Result<PyHelper> {
        PyHelper::from_core(self.0.helper)
    }

    /// The port (ftp, sane) or index (irc, sip, tftp) suffix, or None.
    #[getter]
    fn suffix(&self) -> Option<u16> {
        self.0.suffix
    }

    fn __str__(&self) -> String {
        self.0.to_string()
    }

    fn __repr__(&self) -> String {
        format!("HelperName({})", str_repr(&self.0.to_string()))
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> (Bound<'py, PyType>, (String,)) {
        (slf.get_type(), (slf.get().0.to_string(),))
    }
}

/// One helper registration: its name and master port.
#[pyclass(frozen, eq, hash, module = "netfilter_helpers", name = "Registration")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PyRegistration(pub(crate) Registration);

#[pymethods]
impl PyRegistration {
    #[new]
    #[pyo3(signature = (name, port=None))]
    fn new(name: HelperNameArg, port: Option<u16>) -> Self {
        PyRegistration(Registration { name: name.0, port })
    }

    /// The registered name.
    #[getter]
    fn name(&self) -> PyHelperName {
        PyHelperName(self.0.name)
    }

    /// The master port of this registration (None for H.245).
    #[getter]
    fn port(&self) -> Option<u16> {
        self.0.port
    }

    fn __repr__(&self) -> String {
        Repr::new("Registration")
            .arg(format!(
                "HelperName({})",
                str_repr(&self.0.name.to_string())
            ))
            .kw("port", opt_repr(self.0.port, |p| p.to_string()))
            .finish()
    }
}

/// Every helper's kernel facts, in catalogue order.
#[pyfunction]
pub(crate) fn helpers() -> Vec<PyHelperInfo> {
    HELPERS.iter().map(|i| PyHelperInfo(i.helper)).collect()
}
