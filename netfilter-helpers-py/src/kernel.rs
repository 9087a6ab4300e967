//! Kernel versions and the helper mechanisms each one offers.

use netfilter_helpers_core::kernel::{Capabilities, KernelVersion, Recommendation};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyString, PyType};

use crate::enums::{PyAutoAssignment, PyPortsEffect};
use crate::error::Result;
use crate::repr::{Repr, str_repr};

/// A Linux kernel version (`KernelVersion(6, 1)`, `KernelVersion.parse('6.1.0-18-amd64')`),
/// ordered.
#[pyclass(
    frozen,
    eq,
    ord,
    hash,
    module = "netfilter_helpers",
    name = "KernelVersion"
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct PyKernelVersion(pub(crate) KernelVersion);

/// A kernel version argument: a `KernelVersion` or its text.
pub(crate) struct KernelArg(pub(crate) KernelVersion);

impl<'a, 'py> FromPyObject<'a, 'py> for KernelArg {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(k) = obj.cast::<PyKernelVersion>() {
            return Ok(KernelArg(k.get().0));
        }
        if let Ok(s) = obj.cast::<PyString>() {
            let k = KernelVersion::from_proc_version(&s.to_cow()?)
                .map_err(crate::error::Error::from)?;
            return Ok(KernelArg(k));
        }
        Err(PyTypeError::new_err(format!(
            "expected KernelVersion or str, got {}",
            obj.get_type().name()?
        )))
    }
}

#[pymethods]
impl PyKernelVersion {
    #[new]
    #[pyo3(signature = (major, minor, patch=0))]
    fn new(major: u32, minor: u32, patch: u32) -> Self {
        PyKernelVersion(KernelVersion::new(major, minor, patch))
    }

    /// Parses `MAJOR.MINOR[.PATCH][suffix]` (`6.1.0-18-amd64`).
    #[staticmethod]
    fn parse(text: &str) -> Result<Self> {
        Ok(PyKernelVersion(text.parse()?))
    }

    /// Reads the version from `/proc/version` text or `uname -r` output.
    #[staticmethod]
    fn from_proc_version(text: &str) -> Result<Self> {
        Ok(PyKernelVersion(KernelVersion::from_proc_version(text)?))
    }

    /// The major number.
    #[getter]
    fn major(&self) -> u32 {
        self.0.major()
    }

    /// The minor number.
    #[getter]
    fn minor(&self) -> u32 {
        self.0.minor()
    }

    /// The patch number.
    #[getter]
    fn patch(&self) -> u32 {
        self.0.patch()
    }

    /// What this version offers.
    fn capabilities(&self) -> PyCapabilities {
        PyCapabilities(self.0.capabilities())
    }

    fn __str__(&self) -> String {
        self.0.to_string()
    }

    fn __repr__(&self) -> String {
        format!(
            "KernelVersion({}, {}, {})",
            self.0.major(),
            self.0.minor(),
            self.0.patch()
        )
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> (Bound<'py, PyType>, (u32, u32, u32)) {
        let k = slf.get().0;
        (slf.get_type(), (k.major(), k.minor(), k.patch()))
    }
}

/// The helper-related mechanisms of one kernel version
/// (`KernelVersion(6, 1, 0).capabilities()`).
#[pyclass(frozen, eq, hash, module = "netfilter_helpers", name = "Capabilities")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct PyCapabilities(pub(crate) Capabilities);

#[pymethods]
impl PyCapabilities {
    #[new]
    fn new(version: KernelArg) -> Self {
        PyCapabilities(version.0.capabilities())
    }

    /// The version described.
    #[getter]
    fn version(&self) -> PyKernelVersion {
        PyKernelVersion(self.0.version)
    }

    /// The iptables CT target (2.6.34).
    #[getter]
    fn ct_target(&self) -> bool {
        self.0.ct_target
    }

    /// The iptables `rpfilter` match (3.3).
    #[getter]
    fn rpfilter_match(&self) -> bool {
        self.0.rpfilter_match
    }

    /// The nftables `fib` expression (4.10).
    #[getter]
    fn nft_fib(&self) -> bool {
        self.0.nft_fib
    }

    /// nftables `ct helper` objects (4.12).
    #[getter]
    fn nft_ct_helper(&self) -> bool {
        self.0.nft_ct_helper
    }

    /// The SIP `sip_external_media` parameter (5.1).
    #[getter]
    fn sip_external_media(&self) -> bool {
        self.0.sip_external_media
    }

    /// Automatic helper assignment.
    #[getter]
    fn auto_assignment(&self) -> PyAutoAssignment {
        self.0.auto_assignment.into()
    }

    /// What `ports=` does.
    #[getter]
    fn ports_effect(&self) -> PyPortsEffect {
        self.0.ports_effect.into()
    }

    /// What to do on this kernel.
    fn recommendations(&self) -> Vec<PyRecommendation> {
        self.0
            .recommendations()
            .into_iter()
            .map(PyRecommendation::from)
            .collect()
    }

    fn __repr__(&self) -> String {
        format!(
            "Capabilities(KernelVersion({}, {}, {}))",
            self.0.version.major(),
            self.0.version.minor(),
            self.0.version.patch()
        )
    }
}

/// A recommendation for a kernel version, with a stable code.
#[pyclass(
    frozen,
    eq,
    hash,
    module = "netfilter_helpers",
    name = "Recommendation"
)]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PyRecommendation {
    code: String,
    text: String,
}

impl From<Recommendation> for PyRecommendation {
    fn from(r: Recommendation) -> Self {
        PyRecommendation {
            code: r.code.to_string(),
            text: r.text,
        }
    }
}

#[pymethods]
impl PyRecommendation {
    #[new]
    fn new(code: String, text: String) -> Self {
        PyRecommendation { code, text }
    }

    /// The stable code.
    #[getter]
    fn code(&self) -> &str {
        &self.code
    }

    /// What to do, in words.
    #[getter]
    fn text(&self) -> &str {
        &self.text
    }

    fn __str__(&self) -> String {
        format!("[{}] {}", self.code, self.text)
    }

    fn __repr__(&self) -> String {
        Repr::new("Recommendation")
            .kw("code", str_repr(&self.code))
            .kw("text", str_repr(&self.text))
            .finish()
    }
}
