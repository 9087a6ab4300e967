//! The names helpers register under the module options in force (the core's `registry`):
//! `registered_names` and `resolve_name`.

use netfilter_helpers_core::registry::{registered_names, resolve_name};
use pyo3::prelude::*;

use crate::catalogue::{PyHelper, PyRegistration};
use crate::error::Result;
use crate::options::OptionsArg;

/// The names the kernel registers for a helper under the module options in force.
#[pyfunction(name = "registered_names")]
#[pyo3(signature = (helper, options=None))]
pub(crate) fn py_registered_names(
    helper: PyHelper,
    options: Option<OptionsArg>,
) -> Vec<PyRegistration> {
    let options = options.map(|o| o.0).unwrap_or_default();
    registered_names(helper.into(), &options)
        .into_iter()
        .map(PyRegistration)
        .collect()
}

/// Resolves a helper name (`ftp-2121`, `sip-1`) against the module options in force; raises
/// CatalogueError when the kernel registers no such name.
#[pyfunction(name = "resolve_name")]
#[pyo3(signature = (name, options=None))]
pub(crate) fn py_resolve_name(name: &str, options: Option<OptionsArg>) -> Result<PyRegistration> {
    let options = options.map(|o| o.0).unwrap_or_default();
    Ok(PyRegistration(resolve_name(name, &options)?))
}
