//! Raising: every binding error becomes the exception of its family (`exceptions.rs`), with
//! the core error's structured details as attributes (`SiteError.problems`,
//! `OptionError.code`, `ParseError.line`, ...). Nothing imports this module: it holds the
//! `From<Error> for PyErr` that `?` uses.

use netfilter_helpers_core::catalogue::CatalogueError as CoreCatalogueError;
use netfilter_helpers_core::expect::TupleError as CoreTupleError;
use netfilter_helpers_core::net::CidrError as CoreCidrError;
use netfilter_helpers_core::options::{OptionCode, OptionError as CoreOptionError};
use netfilter_helpers_core::render::RenderError as CoreRenderError;
use pyo3::prelude::*;

use crate::catalogue::{PyHelper, PyHelperModule};
use crate::enums::{CoreEnum, PyBackend, PyExpectationKind, PyOptionCode};
use crate::error::{Error, problems};
use crate::exceptions::{
    CatalogueError, CidrError, KernelVersionError, NetfilterHelpersError, OptionError, ParseError,
    PolicyError, RefusalError, RenderError, SiteError, TupleError, internal_error_type,
};
use crate::expect::PyLineError;

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
                        helper
                            .and_then(|h| PyHelper::from_core(h).ok())
                            .into_pyobject(py)?
                            .into_any(),
                    ),
                    (
                        "module",
                        module
                            .and_then(|m| PyHelperModule::from_core(m).ok())
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
                        PyOptionCode::from_core(OptionCode::from(&e))
                            .ok()
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
                    PyBackend::from_core(*backend).ok(),
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
                        PyExpectationKind::from_core(e.kind)
                            .ok()
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
