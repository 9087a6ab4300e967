//! The exception hierarchy: `NetfilterHelpersError(ValueError)` and one subclass per core
//! error family, plus `InternalError` for caught panics. A leaf module: it imports nothing
//! from this crate. How each core error becomes one of these is `raise.rs`.

use pyo3::create_exception;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

create_exception!(
    netfilter_helpers,
    NetfilterHelpersError,
    PyValueError,
    "Base class of every error netfilter_helpers raises (a ValueError)."
);
create_exception!(
    netfilter_helpers,
    CatalogueError,
    NetfilterHelpersError,
    "A name that is no helper, module, family, protocol or class (attributes: name, helper, module)."
);
create_exception!(
    netfilter_helpers,
    OptionError,
    NetfilterHelpersError,
    "A module option the kernel refuses (attributes: code, module, param, value)."
);
create_exception!(
    netfilter_helpers,
    ParseError,
    NetfilterHelpersError,
    "An expectation line that does not parse (attributes: line, kind, field, near, errors)."
);
create_exception!(
    netfilter_helpers,
    PolicyError,
    NetfilterHelpersError,
    "An invalid site policy (attributes: problems, a list of (path, message) tuples; syntax, whether the text did not parse)."
);
create_exception!(
    netfilter_helpers,
    SiteError,
    NetfilterHelpersError,
    "An invalid site (attribute: problems, a list of (path, message) tuples)."
);
create_exception!(
    netfilter_helpers,
    RenderError,
    NetfilterHelpersError,
    "A ruleset that cannot be rendered for a backend (attributes: name, backend, needs, kernel)."
);
create_exception!(
    netfilter_helpers,
    KernelVersionError,
    NetfilterHelpersError,
    "Text that is no kernel version (attribute: text)."
);
create_exception!(
    netfilter_helpers,
    TupleError,
    NetfilterHelpersError,
    "Addresses of different families in one tuple or expectation (attribute: addresses)."
);
create_exception!(
    netfilter_helpers,
    CidrError,
    NetfilterHelpersError,
    "Text that is no network, or a network with host bits set (attribute: text)."
);
create_exception!(
    netfilter_helpers,
    RefusalError,
    NetfilterHelpersError,
    "The kernel creates no expectation for an announcement (attributes: kind, reason)."
);

/// `InternalError(NetfilterHelpersError, RuntimeError)`: a bug in the library (a Rust panic),
/// caught at the boundary so that it is a regular exception (pyo3's own `PanicException`
/// derives from `BaseException`, which `except Exception` does not catch). Built with `type()`
/// since `create_exception!` takes one base.
pub(crate) fn internal_error_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    static TYPE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    TYPE.get_or_try_init(py, || {
        let bases = PyTuple::new(
            py,
            [
                py.get_type::<NetfilterHelpersError>(),
                py.get_type::<PyRuntimeError>(),
            ],
        )?;
        let namespace = PyDict::new(py);
        namespace.set_item("__module__", "netfilter_helpers")?;
        namespace.set_item(
            "__doc__",
            "A bug in netfilter_helpers (a panic in its Rust code), raised instead of crashing; please report it with the input that caused it.",
        )?;
        let ty = py
            .get_type::<PyType>()
            .call1(("InternalError", bases, namespace))?
            .cast_into::<PyType>()?;
        Ok(ty.unbind())
    })
    .map(|t| t.bind(py))
}
