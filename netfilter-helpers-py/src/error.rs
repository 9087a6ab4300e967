//! The exception hierarchy and the mapping of every core error onto it.
//!
//! `NetfilterHelpersError(ValueError)` is the base; each core error family has its subclass,
//! and the structured details of the core error become attributes of the exception
//! (`SiteError.problems`, `OptionError.code`, `ParseError.line`, ...).

use netfilter_helpers_core::catalogue::CatalogueError as CoreCatalogueError;
use netfilter_helpers_core::dof::Refusal;
use netfilter_helpers_core::expect::TupleError as CoreTupleError;
use netfilter_helpers_core::kernel::KernelVersionError as CoreKernelVersionError;
use netfilter_helpers_core::net::CidrError as CoreCidrError;
use netfilter_helpers_core::options::{OptionCode, OptionError as CoreOptionError};
use netfilter_helpers_core::parse::ParseError as CoreParseError;
use netfilter_helpers_core::policy::PolicyError as CorePolicyError;
use netfilter_helpers_core::render::RenderError as CoreRenderError;
use netfilter_helpers_core::report::Problem;
use netfilter_helpers_core::site::SiteError as CoreSiteError;
use pyo3::create_exception;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

use crate::enums::{PyBackend, PyExpectationKind, PyHelper, PyHelperModule, PyOptionCode};
use crate::expect::PyLineError;

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

/// Every error the binding returns: the core's, plus Python errors raised on the way.
#[derive(Debug)]
pub(crate) enum Error {
    /// `catalogue::CatalogueError`.
    Catalogue(CoreCatalogueError),
    /// `options::OptionError`.
    Option(CoreOptionError),
    /// `parse::ParseError`, with every error of the batch it came from.
    Parse(CoreParseError, Vec<CoreParseError>),
    /// `policy::PolicyError`.
    Policy(CorePolicyError),
    /// `site::SiteError`.
    Site(CoreSiteError),
    /// `render::RenderError`.
    Render(CoreRenderError),
    /// `kernel::KernelVersionError`.
    Kernel(CoreKernelVersionError),
    /// `expect::TupleError`.
    Tuple(CoreTupleError),
    /// `policy::CidrError`.
    Cidr(CoreCidrError),
    /// `dof::Refusal`.
    Refusal(Refusal),
    /// A value of a closed set the binding names (`Severity('bogus')`).
    UnknownValue {
        /// The Python class.
        class: &'static str,
        /// The text given.
        text: String,
        /// The accepted values, comma separated.
        expected: String,
    },
    /// A panic caught at the boundary (its message).
    Internal(String),
    /// An error raised by Python.
    Py(PyErr),
}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

macro_rules! from_core {
    ($($variant:ident($ty:ty)),* $(,)?) => {
        $(impl From<$ty> for Error {
            fn from(e: $ty) -> Self {
                Error::$variant(e)
            }
        })*
    };
}

from_core!(
    Catalogue(CoreCatalogueError),
    Option(CoreOptionError),
    Policy(CorePolicyError),
    Site(CoreSiteError),
    Render(CoreRenderError),
    Kernel(CoreKernelVersionError),
    Tuple(CoreTupleError),
    Cidr(CoreCidrError),
    Refusal(Refusal),
    Py(PyErr),
);

impl From<netfilter_helpers_core::net::NameError> for Error {
    fn from(e: netfilter_helpers_core::net::NameError) -> Self {
        Error::Catalogue(CoreCatalogueError::from(e))
    }
}

impl From<CoreParseError> for Error {
    fn from(e: CoreParseError) -> Self {
        Error::Parse(e.clone(), vec![e])
    }
}

pub(crate) fn problems(problems: &[Problem]) -> Vec<(String, String)> {
    problems
        .iter()
        .map(|p| (p.path.clone(), p.message.clone()))
        .collect()
}

fn set_attrs(py: Python<'_>, err: &PyErr, attrs: Vec<(&str, Bound<'_, PyAny>)>) -> PyResult<()> {
    let value = err.value(py);
    for (name, v) in attrs {
        value.setattr(name, v)?;
    }
    Ok(())
}

/// The option error's (module, param, value).
fn option_parts(e: &CoreOptionError) -> (Option<&str>, Option<&str>, Option<&str>) {
    match e {
        CoreOptionError::UnknownModule { module } => (Some(module), None, None),
        CoreOptionError::UnknownParameter { module, param, .. }
        | CoreOptionError::TooManyValues { module, param, .. }
        | CoreOptionError::DuplicatePort { module, param, .. }
        | CoreOptionError::MissingValue { module, param } => (Some(module), Some(param), None),
        CoreOptionError::InvalidValue {
            module,
            param,
            value,
            ..
        }
        | CoreOptionError::OutOfRange {
            module,
            param,
            value,
            ..
        } => (Some(module), Some(param), Some(value)),
        CoreOptionError::Malformed { text, .. } => (None, None, Some(text)),
        _ => (None, None, None),
    }
}

fn build(py: Python<'_>, e: Error) -> PyResult<PyErr> {
    let none = || py.None().into_bound(py);
    Ok(match e {
        Error::Py(e) => e,
        Error::Catalogue(e) => {
            let err = CatalogueError::new_err(e.to_string());
            let (name, helper, module) = match &e {
                CoreCatalogueError::UnknownHelper { name }
                | CoreCatalogueError::UnknownClass { name }
                | CoreCatalogueError::UnknownModule { name }
                | CoreCatalogueError::Name(
                    netfilter_helpers_core::net::NameError::UnknownFamily { name }
                    | netfilter_helpers_core::net::NameError::UnknownProtocol { name },
                ) => (Some(name.clone()), None, None),
                CoreCatalogueError::UnexpectedSuffix { name, helper } => {
                    (Some(name.clone()), Some(*helper), Some(helper.module()))
                }
                CoreCatalogueError::NotRegistered { name, module, .. } => {
                    (Some(name.clone()), None, Some(*module))
                }
                CoreCatalogueError::UnknownClassNumber { helper, .. }
                | CoreCatalogueError::ClassNotInHelper { helper, .. } => {
                    (None, Some(*helper), Some(helper.module()))
                }
                _ => (None, None, None),
            };
            set_attrs(
                py,
                &err,
                vec![
                    ("name", name.into_pyobject(py)?.into_any()),
                    (
                        "helper",
                        helper.map(PyHelper::from).into_pyobject(py)?.into_any(),
                    ),
                    (
                        "module",
                        module
                            .map(PyHelperModule::from)
                            .into_pyobject(py)?
                            .into_any(),
                    ),
                ],
            )?;
            err
        }
        Error::Option(e) => {
            let err = OptionError::new_err(e.to_string());
            let (module, param, value) = option_parts(&e);
            set_attrs(
                py,
                &err,
                vec![
                    (
                        "code",
                        PyOptionCode::from(OptionCode::from(&e))
                            .into_pyobject(py)?
                            .into_any(),
                    ),
                    ("module", module.into_pyobject(py)?.into_any()),
                    ("param", param.into_pyobject(py)?.into_any()),
                    ("value", value.into_pyobject(py)?.into_any()),
                ],
            )?;
            err
        }
        Error::Parse(first, all) => {
            let message = if all.len() > 1 {
                format!("{first} (and {} more)", all.len() - 1)
            } else {
                first.to_string()
            };
            let err = ParseError::new_err(message);
            let line = PyLineError::from_core(&first);
            let errors: Vec<PyLineError> = all.iter().map(PyLineError::from_core).collect();
            set_attrs(
                py,
                &err,
                vec![
                    ("line", line.line.into_pyobject(py)?.into_any()),
                    ("kind", line.kind.into_pyobject(py)?.into_any()),
                    ("field", line.field.into_pyobject(py)?.into_any()),
                    ("near", line.near.clone().into_pyobject(py)?.into_any()),
                    ("errors", errors.into_pyobject(py)?.into_any()),
                ],
            )?;
            err
        }
        Error::Policy(e) => {
            let err = PolicyError::new_err(e.to_string());
            set_attrs(
                py,
                &err,
                vec![
                    (
                        "problems",
                        problems(&e.problems).into_pyobject(py)?.into_any(),
                    ),
                    (
                        "syntax",
                        pyo3::types::PyBool::new(py, e.syntax).to_owned().into_any(),
                    ),
                ],
            )?;
            err
        }
        Error::Site(e) => {
            let err = SiteError::new_err(e.to_string());
            set_attrs(
                py,
                &err,
                vec![(
                    "problems",
                    problems(&e.problems).into_pyobject(py)?.into_any(),
                )],
            )?;
            err
        }
        Error::Render(e) => {
            let err = RenderError::new_err(e.to_string());
            let (name, backend, needs, kernel) = match &e {
                CoreRenderError::UnknownBackend { name } => (Some(name.clone()), None, None, None),
                CoreRenderError::KernelTooOld {
                    backend,
                    needs,
                    kernel,
                    ..
                } => (
                    None,
                    Some(PyBackend::from(*backend)),
                    Some(*needs),
                    Some(kernel.clone()),
                ),
                _ => (None, None, None, None),
            };
            set_attrs(
                py,
                &err,
                vec![
                    ("name", name.into_pyobject(py)?.into_any()),
                    ("backend", backend.into_pyobject(py)?.into_any()),
                    ("needs", needs.into_pyobject(py)?.into_any()),
                    ("kernel", kernel.into_pyobject(py)?.into_any()),
                ],
            )?;
            err
        }
        Error::Kernel(e) => {
            let err = KernelVersionError::new_err(e.to_string());
            set_attrs(
                py,
                &err,
                vec![("text", e.text.clone().into_pyobject(py)?.into_any())],
            )?;
            err
        }
        Error::Tuple(e) => {
            let err = TupleError::new_err(e.to_string());
            let addresses = match &e {
                CoreTupleError::FamilyMismatch { a, b } => (*a, *b).into_pyobject(py)?.into_any(),
                _ => none(),
            };
            set_attrs(py, &err, vec![("addresses", addresses)])?;
            err
        }
        Error::Cidr(e) => {
            let err = CidrError::new_err(e.to_string());
            let text = match &e {
                CoreCidrError::Syntax { text } | CoreCidrError::HostBits { text, .. } => {
                    text.clone().into_pyobject(py)?.into_any()
                }
                _ => none(),
            };
            set_attrs(py, &err, vec![("text", text)])?;
            err
        }
        Error::Refusal(e) => {
            let err = RefusalError::new_err(e.to_string());
            set_attrs(
                py,
                &err,
                vec![
                    (
                        "kind",
                        PyExpectationKind::from(e.kind)
                            .into_pyobject(py)?
                            .into_any(),
                    ),
                    ("reason", e.reason.clone().into_pyobject(py)?.into_any()),
                ],
            )?;
            err
        }
        Error::UnknownValue {
            class,
            text,
            expected,
        } => NetfilterHelpersError::new_err(format!(
            "{text:?} is not a valid {class}: expected one of {expected}"
        )),
        Error::Internal(what) => PyErr::from_type(
            internal_error_type(py)?.clone(),
            format!("internal error in netfilter_helpers (please report it): {what}"),
        ),
    })
}

impl From<Error> for PyErr {
    fn from(e: Error) -> PyErr {
        Python::attach(|py| build(py, e).unwrap_or_else(|err| err))
    }
}
