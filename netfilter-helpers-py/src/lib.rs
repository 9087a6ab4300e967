//! Python bindings for netfilter-helpers (`import netfilter_helpers`).
//!
//! Thin wrappers over `netfilter-helpers-core`; no logic lives here. The extension module is
//! `netfilter_helpers._netfilter_helpers`; the package `netfilter_helpers` re-exports it.
//!
//! * Values are frozen, hashable, comparable classes with an eval-able `repr`; closed sets
//!   are enums; addresses and networks are `ipaddress` objects.
//! * Every core error family has its exception, a subclass of `NetfilterHelpersError`
//!   (itself a `ValueError`), with the core's structured details as attributes.
//! * Batch functions (`parse_lines`, `Validator.check_lines`, `Validator.count_conforming`,
//!   `Validator.conforms_many`, `audit`) release the GIL while they work; the line batches
//!   run the core's `Judge` on a worker thread while the calling thread takes the GIL back
//!   every 50 ms to run signal handlers, so Ctrl-C stops them.
//! * No input crashes the interpreter: documents given as dicts are limited in depth and
//!   checked for cycles, nothing is pre-allocated from `__len__`, list arguments and gathered
//!   lines are bounded (`MAX_DOCUMENT_DEPTH`, `MAX_ITEMS`, `MAX_BATCH_BYTES`), and a panic is
//!   raised as `InternalError` rather than pyo3's `PanicException`. See `util.rs`.
//!
//! Modules, bottom up; each imports only from those before it (no circle):
//!
//! * leaves: `error` (the binding's error type), `exceptions` (the exception classes),
//!   `repr` (`repr` and hash helpers);
//! * `util` (limits, text, line and list arguments, the batch runner, the panic boundary);
//! * `enums` (the enum machinery, `py_enum!`, and the enums that refer to no class of their
//!   own: their text is the core's [`Spelling`](netfilter_helpers_core::spelling::Spelling));
//! * `catalogue` (`Helper`, `Module`, `ExpectClass` and the classes they refer to), `kernel`,
//!   `expect`, `options` (`Param` and module options), `registry`;
//! * `document` (dicts to JSON and back; it knows no binding class: the caller passes a hook),
//!   `values` (that hook: the binding's values inside a document), `dof`, `conform`, `audit`,
//!   `site`, `watch` (conntrack events);
//! * `raise` (each error as the exception of its family, with its attributes), imported by
//!   nobody: it holds the `From<Error> for PyErr` that `?` uses.

use pyo3::prelude::*;

mod audit;
mod catalogue;
mod conform;
mod document;
mod dof;
mod enums;
mod error;
mod exceptions;
mod expect;
mod kernel;
mod options;
mod raise;
mod registry;
mod repr;
mod site;
mod util;
mod values;
mod watch;

/// Conntrack helpers, safely: the helper catalogue, the degree-of-freedom model, module
/// options, expectation parsing and validation, site policies, host audits, and rules for a
/// site in every backend.
#[pymodule]
pub mod _netfilter_helpers {
    use pyo3::prelude::*;

    #[pymodule_export]
    use crate::exceptions::{
        CatalogueError, CidrError, KernelVersionError, NetfilterHelpersError, OptionError,
        ParseError, PolicyError, RefusalError, RenderError, SiteError, TupleError,
    };

    #[pymodule_export]
    use crate::enums::{
        PyAttribute, PyAuditCode, PyAutoAssignment, PyBackend, PyChainKind, PyCode, PyCommandFrom,
        PyDefaultRule, PyDirection, PyEndpoint, PyEvent, PyExpectationKind, PyFamily, PyFormat,
        PyFreedomKind, PyL4Proto, PyMode, PyNameMatch, PyNaming, PyOptionCode, PyParamKind,
        PyParseErrorKind, PyPortRule, PyPortsEffect, PyRpFilter, PySeverity, PySide,
        PyUnknownInterfaces,
    };

    #[pymodule_export]
    use crate::catalogue::{
        PyClassPolicy, PyExpectClass, PyHelper, PyHelperInfo, PyHelperModule, PyHelperName,
        PyRegistration, helpers,
    };

    #[pymodule_export]
    use crate::registry::{py_registered_names, py_resolve_name};

    #[pymodule_export]
    use crate::options::{
        PyDanger, PyModuleOptions, PyOptionFinding, PyOptionsReport, PyParam, PyParamSpec, params,
        parse_modprobe,
    };

    #[pymodule_export]
    use crate::dof::{
        PyAnnouncement, PyExpectationRule, PyFreedom, PyFreedoms, PyMaster, PyTable, py_all_rules,
        py_class_policy, py_kinds_of, py_rule, py_rules_for,
    };

    #[pymodule_export]
    use crate::kernel::{PyCapabilities, PyKernelVersion, PyRecommendation};

    #[pymodule_export]
    use crate::watch::{PyWatch, PyWatchEvent};

    #[pymodule_export]
    use crate::expect::{
        PyConnTuple, PyExpectFlags, PyExpectation, PyLineError, PyParsedLine, py_parse_line,
        py_parse_lines,
    };

    #[pymodule_export]
    use crate::conform::{
        PyFinding, PyHelperPolicy, PySitePolicy, PyValidator, PyVerdict, py_is_master_endpoint,
    };

    #[pymodule_export]
    use crate::audit::{PyAuditFinding, PyAuditReport, PyHostSnapshot, py_audit, py_audit_host};

    #[pymodule_export]
    use crate::site::{
        PyHelperObject, PyInterface, PyRuleset, PyService, PySite, check_interface_name,
        check_rule_name, py_aggregate,
    };

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("__version__", env!("CARGO_PKG_VERSION"))?;
        m.add("MAX_PORTS", crate::options::PY_MAX_PORTS)?;
        m.add("MAX_CHARP", crate::options::PY_MAX_CHARP)?;
        m.add("MAX_DOCUMENT_DEPTH", crate::util::MAX_DOCUMENT_DEPTH)?;
        m.add("MAX_ITEMS", crate::util::MAX_ITEMS)?;
        m.add("MAX_BATCH_BYTES", crate::util::MAX_BATCH_BYTES)?;
        m.add(
            "InternalError",
            crate::exceptions::internal_error_type(m.py())?,
        )?;
        m.add("IFNAME_MAX", netfilter_helpers_core::net::IFNAME_MAX)?;
        m.add("TABLE_MAX", netfilter_helpers_core::site::TABLE_MAX)?;
        m.add(
            "DEFAULT_LOG_RATE",
            netfilter_helpers_core::site::DEFAULT_LOG_RATE,
        )?;
        m.add(
            "DEFAULT_KERNEL",
            PyKernelVersion(netfilter_helpers_core::kernel::DEFAULT_KERNEL),
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use pyo3::prelude::*;

    use crate::catalogue::{PyHelper, PyHelperModule};
    use crate::enums::{
        CoreEnum, PyAuditCode, PyBackend, PyCode, PyEnum, PyExpectationKind, PyOptionCode,
    };
    use crate::options::PyParam;
    use netfilter_helpers_core::catalogue::Helper;
    use netfilter_helpers_core::options::Param;
    use netfilter_helpers_core::spelling::Spelling;

    /// The binding enums over `#[non_exhaustive]` core enums, which Rust cannot check at
    /// compile time: every core value must have a member. (Those over exhaustive core enums
    /// have an exhaustive `From<Core>` and do not compile when one lacks a member.)
    #[test]
    fn every_core_value_has_a_member() {
        let missing: Vec<(&str, Vec<&str>)> = vec![
            ("Helper", PyHelper::core_values_without_member()),
            ("Module", PyHelperModule::core_values_without_member()),
            ("Param", PyParam::core_values_without_member()),
            ("OptionCode", PyOptionCode::core_values_without_member()),
            (
                "ExpectationKind",
                PyExpectationKind::core_values_without_member(),
            ),
            ("Code", PyCode::core_values_without_member()),
            ("Backend", PyBackend::core_values_without_member()),
            ("AuditCode", PyAuditCode::core_values_without_member()),
        ];
        for (class, values) in missing {
            assert!(
                values.is_empty(),
                "the core's {class} values {values:?} have no member in netfilter_helpers.{class}: add them"
            );
        }
    }

    #[test]
    fn members_carry_the_core_spelling_and_map_back() {
        for h in PyHelper::MEMBERS {
            assert_eq!(PyHelper::from_core(h.to_core()).unwrap(), *h);
            assert_eq!(h.value(), Helper::from(*h).name());
        }
        assert_eq!(PyHelper::MEMBERS.len(), Helper::VALUES.len());
        assert_eq!(PyParam::MEMBERS.len(), Param::VALUES.len());
        assert_eq!(PyParam::FTP_LOOSE.value(), "nf_conntrack_ftp.loose");
        assert_eq!(PyHelper::parse_text("ras").unwrap(), PyHelper::RAS);
        assert_eq!(PyHelper::parse_text("Q.931").unwrap(), PyHelper::Q931);
        assert!(matches!(
            PyHelper::parse_text("bogus"),
            Err(crate::error::Error::Catalogue(_))
        ));
    }

    #[test]
    fn module_builds_and_maps_errors() {
        Python::attach(|py| {
            let m = pyo3::wrap_pymodule!(super::_netfilter_helpers)(py);
            let m = m.bind(py);
            assert_eq!(
                m.getattr("__version__")
                    .unwrap()
                    .extract::<String>()
                    .unwrap(),
                env!("CARGO_PKG_VERSION")
            );
            let err = m
                .getattr("Site")
                .unwrap()
                .call1(("[[interfaces]]\nname = \"a b\"\n",))
                .unwrap_err();
            assert!(err.is_instance_of::<crate::exceptions::SiteError>(py));
            assert!(err.is_instance_of::<crate::exceptions::NetfilterHelpersError>(py));
            assert!(err.is_instance_of::<pyo3::exceptions::PyValueError>(py));
            let problems: Vec<(String, String)> = err
                .value(py)
                .getattr("problems")
                .unwrap()
                .extract()
                .unwrap();
            assert_eq!(problems[0].0, "interfaces[0].name");
        });
    }

    #[test]
    fn every_core_error_family_has_its_exception() {
        use crate::error::Error;
        use crate::exceptions as error;
        use netfilter_helpers_core as core;
        Python::attach(|py| {
            let cases: Vec<(Error, Bound<'_, pyo3::types::PyType>)> = vec![
                (
                    "bogus".parse::<Helper>().unwrap_err().into(),
                    py.get_type::<error::CatalogueError>(),
                ),
                (
                    Param::FtpPorts.parse_value("21,21").unwrap_err().into(),
                    py.get_type::<error::OptionError>(),
                ),
                (
                    core::parse::parse_line(b"").unwrap_err().into(),
                    py.get_type::<error::ParseError>(),
                ),
                (
                    core::policy::SitePolicy::from_toml("x = 1")
                        .unwrap_err()
                        .into(),
                    py.get_type::<error::PolicyError>(),
                ),
                (
                    core::site::Site::from_toml("x = 1").unwrap_err().into(),
                    py.get_type::<error::SiteError>(),
                ),
                (
                    "pf".parse::<core::render::Backend>().unwrap_err().into(),
                    py.get_type::<error::RenderError>(),
                ),
                (
                    "six"
                        .parse::<core::kernel::KernelVersion>()
                        .unwrap_err()
                        .into(),
                    py.get_type::<error::KernelVersionError>(),
                ),
                (
                    "10.0.0.1/8".parse::<core::net::Cidr>().unwrap_err().into(),
                    py.get_type::<error::CidrError>(),
                ),
            ];
            for (e, ty) in cases {
                let err = PyErr::from(e);
                assert!(err.get_type(py).is(&ty), "{err}");
                assert!(err.is_instance_of::<error::NetfilterHelpersError>(py));
            }
            let policy = PyErr::from(Error::from(
                core::policy::SitePolicy::from_toml("x = 1").unwrap_err(),
            ));
            let syntax: bool = policy
                .value(py)
                .getattr("syntax")
                .unwrap()
                .extract()
                .unwrap();
            assert!(syntax);
        });
    }
}
