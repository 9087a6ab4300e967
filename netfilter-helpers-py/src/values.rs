//! The binding's own values inside documents given as Python objects: what a site or policy
//! dict may hold besides plain Python values (`document.rs` calls this hook; a policy adds
//! `HelperPolicy`, in `conform.rs`).

use pyo3::prelude::*;
use serde_json::Value;

use crate::catalogue::{PyExpectClass, PyHelper, PyHelperModule, PyHelperName};
use crate::enums::{
    PyBackend, PyDefaultRule, PyDirection, PyFamily, PyL4Proto, PyMode, PyNameMatch, PyRpFilter,
    PyUnknownInterfaces,
};
use crate::kernel::PyKernelVersion;
use crate::options::{PyModuleOptions, PyParam};

/// A value in a site document: enum members, helper names and kernel versions as their text,
/// `ModuleOptions` as the table of its explicit settings.
pub(crate) fn in_site(obj: &Bound<'_, PyAny>) -> Option<PyResult<Value>> {
    if let Ok(o) = obj.cast::<PyModuleOptions>() {
        let map = o
            .get()
            .0
            .explicit()
            .map(|(p, v)| (p.to_string(), Value::String(v.to_string())))
            .collect();
        return Some(Ok(Value::Object(map)));
    }
    let text_like = obj.is_instance_of::<PyHelper>()
        || obj.is_instance_of::<PyHelperModule>()
        || obj.is_instance_of::<PyFamily>()
        || obj.is_instance_of::<PyL4Proto>()
        || obj.is_instance_of::<PyExpectClass>()
        || obj.is_instance_of::<PyParam>()
        || obj.is_instance_of::<PyDirection>()
        || obj.is_instance_of::<PyRpFilter>()
        || obj.is_instance_of::<PyNameMatch>()
        || obj.is_instance_of::<PyUnknownInterfaces>()
        || obj.is_instance_of::<PyMode>()
        || obj.is_instance_of::<PyDefaultRule>()
        || obj.is_instance_of::<PyBackend>()
        || obj.is_instance_of::<PyHelperName>()
        || obj.is_instance_of::<PyKernelVersion>();
    text_like.then(|| Ok(Value::String(obj.str()?.to_cow()?.into_owned())))
}
